//===- VectorLanes.cpp - wide row vectors split across a block's threads --===//
//
// The chunked form works on tile rows as 1-D vectors (a row of q or of the
// output is one vector<D x f32>), which the CPU's back end cuts to its
// register width. On the GPU a vector is one thread's registers: a row of
// D = 128 lanes pins 128 registers in every thread that copies a row, and a
// loop carrying whole rows (the cumulative sum of a vector gate) runs on a
// single thread of the block. splitVectorLanes cuts such code into segments
// of a few lanes, each segment an iteration of a parallel loop that the
// block's threads share, where the lanes of the code are independent:
//   - a parallel loop over rows gains a last dim over the segments (so
//     neighbouring threads take neighbouring segments of a row: coalesced);
//   - a run of ops outside any parallel loop (what thread 0 would run
//     alone) becomes a parallel loop over the segments.
// Lanes are independent when every op is element-wise, a splat, a broadcast
// of a scalar, structured control flow or a row access (along the last
// dim), and no lane reads what another lane of the run writes.
//
//===----------------------------------------------------------------------===//
#include "BlockThreads.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace mixir::gpu_lowering {
namespace {

bool isAllocation(Value root) {
  return root.getDefiningOp<memref::AllocOp>() ||
         root.getDefiningOp<memref::AllocaOp>();
}

/// Whether two buffers (roots of views) may overlap. Distinct allocations
/// do not; nor does an allocation and a buffer from outside `body` (an
/// argument, or one allocated before the loop). A buffer made inside the
/// body another way (an iter_arg, a select of buffers) might be any.
bool mayAlias(Value rootA, Value rootB, Region &body) {
  if (rootA == rootB)
    return true;
  bool allocA = isAllocation(rootA), allocB = isAllocation(rootB);
  if (allocA && allocB)
    return false;
  if (allocA || allocB) {
    Value other = allocA ? rootB : rootA;
    return body.isAncestor(other.getParentRegion());
  }
  return true;
}

/// A splat constant or a broadcast of a scalar: a vector whose lanes are all
/// one value, which a segment rebuilds with fewer lanes.
bool splatOrBroadcast(Operation *op) {
  if (auto c = dyn_cast<arith::ConstantOp>(op))
    return isa<SplatElementsAttr>(c.getValue());
  if (auto bc = dyn_cast<vector::BroadcastOp>(op))
    return !isa<VectorType>(bc.getSourceType());
  return false;
}

/// A row access: the memref, its root and the index of the first lane
/// (the last index); `vector` when it reads or writes a row vector.
struct RowAccess {
  Operation *op;
  Value memref, root, first;
  bool write, vector;
};

/// The 1-D vector a row access moves (null for another access).
VectorType rowVectorOf(Operation *op) {
  auto rowTransfer = [](VectorTransferOpInterface t) -> VectorType {
    if (t.getMask() || !t.getPermutationMap().isMinorIdentity())
      return nullptr;
    return t.getVectorType();
  };
  if (auto x = dyn_cast<vector::TransferReadOp>(op))
    return rowTransfer(x);
  if (auto x = dyn_cast<vector::TransferWriteOp>(op))
    return rowTransfer(x);
  if (auto x = dyn_cast<vector::LoadOp>(op))
    return x.getVectorType();
  if (auto x = dyn_cast<vector::StoreOp>(op))
    return x.getVectorType();
  return nullptr;
}

/// The base and indices of a vector row access (null base otherwise).
std::pair<Value, MutableOperandRange> rowIndices(Operation *op) {
  if (auto x = dyn_cast<vector::TransferReadOp>(op))
    return {x.getBase(), x.getIndicesMutable()};
  if (auto x = dyn_cast<vector::TransferWriteOp>(op))
    return {x.getBase(), x.getIndicesMutable()};
  if (auto x = dyn_cast<vector::LoadOp>(op))
    return {x.getBase(), x.getIndicesMutable()};
  auto x = cast<vector::StoreOp>(op);
  return {x.getBase(), x.getIndicesMutable()};
}

/// Decides whether ops (a run of one block, or a parallel loop's body) have
/// independent lanes, all vectors of one length `lanes`.
class LaneCheck {
public:
  /// Adds `op` (and what it nests) to the code checked; false when it
  /// cannot be cut into segments.
  bool add(Operation *op);
  /// Whether the ops added so far, as one piece of code, keep each lane's
  /// memory to itself; `varies` says whether a value changes while the
  /// code runs, `body` is the forall's region.
  bool independent(llvm::function_ref<bool(Value)> varies, Region &body) const;
  int64_t lanes = 0;
  bool anyVector = false;

private:
  bool laneType(Type t);
  SmallVector<RowAccess> accesses;
};

bool LaneCheck::laneType(Type t) {
  auto v = dyn_cast<VectorType>(t);
  if (!v)
    return true;
  if (v.getRank() != 1 || v.isScalable())
    return false;
  anyVector = true;
  if (lanes == 0)
    lanes = v.getDimSize(0);
  return v.getDimSize(0) == lanes;
}

bool LaneCheck::add(Operation *op) {
  bool hasVector = false;
  for (Type t :
       llvm::concat<const Type>(op->getOperandTypes(), op->getResultTypes())) {
    if (!laneType(t))
      return false;
    hasVector |= isa<VectorType>(t);
  }
  for (Region &r : op->getRegions())
    for (Block &b : r)
      for (BlockArgument a : b.getArguments())
        if (!laneType(a.getType()))
          return false;
  if (rowVectorOf(op)) {
    auto [base, indices] = rowIndices(op);
    if (indices.empty())
      return false;
    bool write = isa<vector::TransferWriteOp, vector::StoreOp>(op);
    // Lane l is element first + l of the row: a unit stride.
    auto memref = dyn_cast<MemRefType>(base.getType());
    if (!memref || !memref.getElementType().isIntOrFloat() ||
        !memref.isLastDimUnitStride())
      return false;
    accesses.push_back({op, base, rootOf(base),
                        indices[indices.size() - 1].get(), write, true});
    return true;
  }
  if (isa<vector::TransferReadOp, vector::TransferWriteOp>(op))
    return false; // masked or permuted
  if (auto load = dyn_cast<memref::LoadOp>(op)) {
    Value first =
        load.getIndices().empty() ? Value() : load.getIndices().back();
    accesses.push_back({op, load.getMemRef(), rootOf(load.getMemRef()), first,
                        /*write=*/false, /*vector=*/false});
    return true;
  }
  if (isa<scf::ForOp, scf::IfOp, scf::YieldOp>(op)) {
    for (Region &r : op->getRegions())
      for (Block &b : r)
        for (Operation &inner : b)
          if (!add(&inner))
            return false;
    return true;
  }
  if (hasVector)
    return splatOrBroadcast(op) ||
           (op->hasTrait<OpTrait::Elementwise>() && op->getNumRegions() == 0 &&
            isMemoryEffectFree(op));
  return op->getNumRegions() == 0 && isMemoryEffectFree(op);
}

/// Whether a row access of `lanes` lanes starting at `first` stays within
/// the row of `memref` (a 1-D memref has one row; else a static last dim
/// and a constant start), or says so.
bool withinRow(Operation *op, Value memref, Value first, int64_t lanes) {
  if (auto t = dyn_cast<VectorTransferOpInterface>(op); t && t.isDimInBounds(0))
    return true;
  auto type = cast<MemRefType>(memref.getType());
  if (type.getRank() == 1)
    return true;
  int64_t last = type.getShape().back();
  std::optional<int64_t> at = getConstantIntValue(first);
  return !ShapedType::isDynamic(last) && at && *at + lanes <= last;
}

/// Whether `first` is iv * c for the induction variable of a loop stepping
/// by s from a start fixed while the code runs, with c * s >= lanes: each
/// step then reaches columns of its own (channel groups of a scan), the
/// same ones whenever the loop runs, so a segment's columns stay its own.
bool disjointSteps(Value first, int64_t lanes,
                   llvm::function_ref<bool(Value)> varies) {
  auto mul = first.getDefiningOp<arith::MulIOp>();
  if (!mul)
    return false;
  for (auto [iv, factor] : {std::pair(mul.getLhs(), mul.getRhs()),
                            std::pair(mul.getRhs(), mul.getLhs())}) {
    auto loop = scf::getForInductionVarOwner(iv);
    std::optional<int64_t> c = getConstantIntValue(factor);
    std::optional<int64_t> step =
        loop ? getConstantIntValue(loop.getStep()) : std::nullopt;
    if (loop && c && step && *c > 0 && *step > 0 &&
        *c >= llvm::divideCeil(lanes, *step) && !varies(loop.getLowerBound()))
      return true;
  }
  return false;
}

bool LaneCheck::independent(llvm::function_ref<bool(Value)> varies,
                            Region &body) const {
  // Every write reaches the same columns of the same view each time it
  // runs (its view and first lane fixed while the code runs, or the first
  // lane moved past the last one each step), within bounds, and any other
  // access of memory it may overlap is a row of that view from the same
  // column: lane l of each is then the same element, which stays in one
  // segment.
  for (const RowAccess &w : accesses) {
    if (!w.write)
      continue;
    if (!w.vector || varies(w.memref) ||
        (varies(w.first) && !disjointSteps(w.first, lanes, varies)) ||
        !withinRow(w.op, w.memref, w.first, lanes))
      return false;
    for (const RowAccess &a : accesses)
      if (&a != &w && mayAlias(w.root, a.root, body) &&
          !(a.vector && a.memref == w.memref &&
            isEqualConstantIntOrValue(a.first, w.first)))
        return false;
  }
  return true;
}

/// Lanes of a segment: 16 bytes of f32 where the length allows.
int64_t segmentLanes(int64_t lanes) {
  for (int64_t w : {4, 2})
    if (lanes % w == 0)
      return w;
  return 1;
}

/// True when `op` or what it nests defines or uses a vector.
bool touchesVectors(Operation *op) {
  WalkResult w = op->walk([](Operation *inner) {
    auto vec = llvm::IsaPred<VectorType>;
    return llvm::any_of(inner->getOperandTypes(), vec) ||
                   llvm::any_of(inner->getResultTypes(), vec)
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  return w.wasInterrupted();
}

/// Whether `v`, used inside `top` (an op of the code being cut, which is
/// `inBlock` ops of one block), comes from before the code.
bool fromBefore(Value v, Operation *top,
                llvm::function_ref<bool(Operation *)> inBlock) {
  if (Operation *def = v.getDefiningOp()) {
    Operation *owner = top->getBlock()->findAncestorOpInBlock(*def);
    return !owner || !inBlock(owner);
  }
  return !top->isAncestor(v.getParentBlock()->getParentOp());
}

/// Whether a result of `op` (one of the consecutive ops `set` of its block)
/// is used outside them.
bool escapes(Operation *op, const llvm::SmallPtrSetImpl<Operation *> &set) {
  return llvm::any_of(op->getUsers(), [&](Operation *user) {
    Operation *top = op->getBlock()->findAncestorOpInBlock(*user);
    return !top || !set.contains(top);
  });
}

/// True when every vector that `ops` (consecutive ops of one block) use but
/// do not define can be rebuilt in them, and nothing they define is used
/// after them.
bool closed(ArrayRef<Operation *> ops) {
  llvm::SmallPtrSet<Operation *, 16> set(ops.begin(), ops.end());
  auto inBlock = [&](Operation *op) { return set.contains(op); };
  for (Operation *op : ops) {
    if (escapes(op, set))
      return false;
    WalkResult w = op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (isa<VectorType>(v.getType()) && fromBefore(v, op, inBlock) &&
            !(v.getDefiningOp() && splatOrBroadcast(v.getDefiningOp())))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (w.wasInterrupted())
      return false;
  }
  return true;
}

/// Cuts `ops` (consecutive ops of one block, all their vectors of one
/// length) to the segment `segment` of `width` lanes.
void cutToSegment(ArrayRef<Operation *> ops, Value segment, int64_t width) {
  llvm::SmallPtrSet<Operation *, 16> set(ops.begin(), ops.end());
  auto inBlock = [&](Operation *op) { return set.contains(op); };
  Location loc = segment.getLoc();
  OpBuilder b(ops.front());
  Value offset = arith::MulIOp::create(
      b, loc, segment, arith::ConstantIndexOp::create(b, loc, width));
  auto narrow = [&](Type t) -> Type {
    if (auto v = dyn_cast<VectorType>(t))
      return VectorType::get({width}, v.getElementType());
    return t;
  };
  auto splatOf = [&](arith::ConstantOp c, Type type) {
    return SplatElementsAttr::get(
        cast<ShapedType>(type),
        cast<SplatElementsAttr>(c.getValue()).getSplatValue<Attribute>());
  };
  // Vectors from before the code, rebuilt as segments at its start.
  llvm::DenseMap<Value, Value> rebuilt;
  auto rebuild = [&](Value v) -> Value {
    auto [it, fresh] = rebuilt.try_emplace(v);
    if (!fresh)
      return it->second;
    Type type = narrow(v.getType());
    if (auto c = v.getDefiningOp<arith::ConstantOp>())
      it->second = arith::ConstantOp::create(b, loc, splatOf(c, type));
    else
      it->second = vector::BroadcastOp::create(
          b, loc, type, v.getDefiningOp<vector::BroadcastOp>().getSource());
    return it->second;
  };
  SmallVector<arith::ConstantOp> constants;
  for (Operation *top : ops) {
    top->walk([&](Operation *op) {
      for (OpOperand &use : op->getOpOperands())
        if (isa<VectorType>(use.get().getType()) &&
            fromBefore(use.get(), top, inBlock))
          use.set(rebuild(use.get()));
      for (Value r : op->getResults())
        r.setType(narrow(r.getType()));
      for (Region &region : op->getRegions())
        for (Block &inner : region)
          for (BlockArgument a : inner.getArguments())
            a.setType(narrow(a.getType()));
      if (auto c = dyn_cast<arith::ConstantOp>(op);
          c && isa<VectorType>(c.getType()))
        constants.push_back(c);
      if (rowVectorOf(op)) {
        MutableOperandRange indices = rowIndices(op).second;
        OpOperand &first = indices[indices.size() - 1];
        OpBuilder at(op);
        first.set(arith::AddIOp::create(at, op->getLoc(), first.get(), offset));
      }
    });
  }
  for (arith::ConstantOp c : constants)
    c.setValueAttr(splatOf(c, c.getType()));
}

/// The check of `ops` as one piece of code, if it can be cut: vectors of
/// more lanes than a segment, independent lanes, closed. The code is `ops`
/// themselves, or with `holder` the op whose body they are.
std::optional<LaneCheck> cuttable(ArrayRef<Operation *> ops, Operation *holder,
                                  Region &body) {
  LaneCheck check;
  for (Operation *op : ops)
    if (!check.add(op))
      return std::nullopt;
  // A value varies within the code when a loop of the code defines it (its
  // induction variable or iter_args) or holds its definition; values the
  // code computes once (or the iteration of the parallel loop `holder`
  // fixes, whose iterations are independent) do not.
  Region *code =
      holder ? &holder->getRegion(0) : ops.front()->getParentRegion();
  auto varies = [&](Value v) {
    Operation *at = v.getDefiningOp();
    if (!at)
      at = v.getParentBlock()->getParentOp();
    else
      at = at->getParentOp();
    for (; at && code->isAncestor(at->getParentRegion()) && at != holder;
         at = at->getParentOp())
      if (isa<LoopLikeOpInterface>(at))
        return true;
    return false;
  };
  if (!check.anyVector || check.lanes <= segmentLanes(check.lanes) ||
      !check.independent(varies, body) || !closed(ops))
    return std::nullopt;
  return check;
}

/// A parallel loop over rows whose body has independent lanes gains a last
/// dim over segments.
void splitParallel(scf::ParallelOp par, Region &body) {
  if (par.getNumResults() != 0 || par->hasAttr(kWarpTileAttr) ||
      par->hasAttr(kWarpgroupAttr))
    return;
  SmallVector<Operation *> ops;
  for (Operation &op : par.getBody()->without_terminator())
    ops.push_back(&op);
  if (ops.empty())
    return;
  std::optional<LaneCheck> check = cuttable(ops, par, body);
  if (!check)
    return;
  int64_t width = segmentLanes(check->lanes);
  OpBuilder b(par);
  Location loc = par.getLoc();
  auto plus = [&](ValueRange old, int64_t extra) {
    SmallVector<Value> all(old);
    all.push_back(arith::ConstantIndexOp::create(b, loc, extra));
    return all;
  };
  auto wide = scf::ParallelOp::create(
      b, loc, plus(par.getLowerBound(), 0),
      plus(par.getUpperBound(), check->lanes / width), plus(par.getStep(), 1));
  Block *from = par.getBody(), *to = wide.getBody();
  for (auto [x, y] : llvm::zip(par.getInductionVars(), wide.getInductionVars()))
    x.replaceAllUsesWith(y);
  to->getOperations().splice(to->getTerminator()->getIterator(),
                             from->getOperations(), from->begin(),
                             std::prev(from->end()));
  par.erase();
  cutToSegment(ops, wide.getInductionVars().back(), width);
}

/// Runs `ops` (consecutive ops of one block, outside parallel loops) as a
/// parallel loop over segments where they can be cut. A scalar op whose
/// result is used after them moves ahead of them when its operands allow;
/// any other op that is used after them splits them.
void cutRun(SmallVector<Operation *> ops, Region &body) {
  while (!ops.empty() && !touchesVectors(ops.back()))
    ops.pop_back();
  while (!ops.empty() && !touchesVectors(ops.front()))
    ops.erase(ops.begin());
  if (ops.empty())
    return;
  llvm::SmallPtrSet<Operation *, 16> set(ops.begin(), ops.end());
  for (auto [i, op] : llvm::enumerate(ops)) {
    if (!escapes(op, set))
      continue;
    bool movable = !touchesVectors(op) && isMemoryEffectFree(op) &&
                   op->getNumRegions() == 0 &&
                   llvm::none_of(op->getOperands(), [&](Value v) {
                     Operation *def = v.getDefiningOp();
                     return def && set.contains(def);
                   });
    if (movable) {
      op->moveBefore(ops.front());
      SmallVector<Operation *> rest(ops);
      rest.erase(rest.begin() + i);
      return cutRun(rest, body);
    }
    cutRun(SmallVector<Operation *>(ArrayRef(ops).take_front(i)), body);
    cutRun(SmallVector<Operation *>(ArrayRef(ops).drop_front(i + 1)), body);
    return;
  }
  std::optional<LaneCheck> check = cuttable(ops, nullptr, body);
  if (!check) {
    // Then each op that can be cut on its own.
    if (ops.size() > 1)
      for (Operation *op : ops)
        cutRun({op}, body);
    return;
  }
  int64_t width = segmentLanes(check->lanes);
  OpBuilder b(ops.front());
  Location loc = ops.front()->getLoc();
  auto par = scf::ParallelOp::create(
      b, loc, ValueRange{arith::ConstantIndexOp::create(b, loc, 0)},
      ValueRange{arith::ConstantIndexOp::create(b, loc, check->lanes / width)},
      ValueRange{arith::ConstantIndexOp::create(b, loc, 1)});
  for (Operation *op : ops)
    op->moveBefore(par.getBody()->getTerminator());
  cutToSegment(ops, par.getInductionVars()[0], width);
}

/// The lanes of the vectors `op` touches (0 if none), or -1 when it is no
/// piece of code with independent lanes.
int64_t lanesOf(Operation *op) {
  LaneCheck one;
  return one.add(op) ? one.lanes : -1;
}

/// Cuts the runs of `block`, which every thread of a block runs, and of
/// the blocks nested in it that every thread runs too (those of control
/// flow holding parallel work); what thread 0 runs alone is a run.
void splitRuns(Block &block, Region &body) {
  SmallVector<SmallVector<Operation *>> runs(1);
  int64_t lanes = 0;
  for (Operation &op : block.without_terminator()) {
    int64_t n = isa<scf::ParallelOp>(op) ? -1 : lanesOf(&op);
    if (n > 0 && lanes > 0 && n != lanes)
      runs.emplace_back();
    if (n < 0) {
      runs.emplace_back();
      lanes = 0;
      if (!isa<scf::ParallelOp>(op) && containsParallel(&op))
        for (Region &r : op.getRegions())
          for (Block &inner : r)
            splitRuns(inner, body);
      continue;
    }
    if (n > 0)
      lanes = n;
    runs.back().push_back(&op);
  }
  for (SmallVector<Operation *> &run : runs)
    if (!run.empty())
      cutRun(run, body);
}

} // namespace

void splitVectorLanes(Region &body) {
  SmallVector<scf::ParallelOp> rows;
  body.walk([&](scf::ParallelOp par) {
    if (!insideParallel(par, body.getParentOp()))
      rows.push_back(par);
  });
  for (scf::ParallelOp par : rows)
    splitParallel(par, body);
  for (Block &block : body)
    splitRuns(block, body);
}

} // namespace mixir::gpu_lowering
