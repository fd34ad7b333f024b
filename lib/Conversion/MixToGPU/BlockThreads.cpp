//===- BlockThreads.cpp - the chunked form on a block of threads ----------===//
//
// See BlockThreads.h for the mapping.
//
//===----------------------------------------------------------------------===//
#include "BlockThreads.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace mixir::gpu_lowering {
bool insideParallel(Operation *op, Operation *stopAt) {
  for (Operation *p = op->getParentOp(); p && p != stopAt; p = p->getParentOp())
    if (isa<scf::ParallelOp>(p))
      return true;
  return false;
}

bool containsParallel(Operation *op) {
  WalkResult r = op->walk([&](Operation *inner) {
    return inner != op && isa<scf::ParallelOp, linalg::MatmulOp>(inner)
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  return r.wasInterrupted();
}

Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

namespace {

/// True when `op` or an op nested in it may write memory.
bool writesMemory(Operation *op) {
  WalkResult r = op->walk([](Operation *inner) {
    if (mightHaveEffect<MemoryEffects::Write>(inner))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return r.wasInterrupted();
}

/// The memref and indices an op reads or writes, for the row-loop test;
/// `rowOnly` when it touches nothing beyond the row its first index names
/// (a vector access spans the memref's trailing dims only).
struct Access {
  Value memref;
  ValueRange indices;
  bool write;
  bool rowOnly = true;
};
bool trailing(Value memref, VectorType v) {
  return cast<MemRefType>(memref.getType()).getRank() > v.getRank();
}
std::optional<Access> accessOf(Operation *op) {
  if (auto x = dyn_cast<memref::LoadOp>(op))
    return Access{x.getMemRef(), x.getIndices(), false};
  if (auto x = dyn_cast<memref::StoreOp>(op))
    return Access{x.getMemRef(), x.getIndices(), true};
  if (auto x = dyn_cast<vector::TransferReadOp>(op))
    return Access{x.getBase(), x.getIndices(), false,
                  x.getPermutationMap().isMinorIdentity() &&
                      trailing(x.getBase(), x.getVectorType())};
  if (auto x = dyn_cast<vector::TransferWriteOp>(op))
    return Access{x.getBase(), x.getIndices(), true,
                  x.getPermutationMap().isMinorIdentity() &&
                      trailing(x.getBase(), x.getVectorType())};
  if (auto x = dyn_cast<vector::LoadOp>(op))
    return Access{x.getBase(), x.getIndices(), false,
                  trailing(x.getBase(), x.getVectorType())};
  if (auto x = dyn_cast<vector::StoreOp>(op))
    return Access{x.getBase(), x.getIndices(), true,
                  trailing(x.getBase(), x.getVectorType())};
  return std::nullopt;
}

/// A loop whose iteration i writes only row i of buffers from outside the
/// loop and reads those buffers only at row i: its iterations are
/// independent.
bool rowParallel(scf::ForOp loop) {
  if (loop.getNumResults() != 0)
    return false;
  Value iv = loop.getInductionVar();
  llvm::SmallPtrSet<Value, 4> writtenRoots;
  SmallVector<Access> accesses;
  WalkResult r = loop.getBody()->walk([&](Operation *op) {
    if (auto a = accessOf(op)) {
      accesses.push_back(*a);
      if (a->write)
        writtenRoots.insert(rootOf(a->memref));
      return WalkResult::advance();
    }
    if (mightHaveEffect<MemoryEffects::Write>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (r.wasInterrupted() || writtenRoots.empty())
    return false;
  // Each written buffer is reached through one view defined outside the
  // loop, only at row iv, and by nothing but loads and stores.
  llvm::DenseMap<Value, Value> viewOf;
  for (const Access &a : accesses) {
    Value root = rootOf(a.memref);
    if (!writtenRoots.contains(root))
      continue;
    auto [it, fresh] = viewOf.try_emplace(root, a.memref);
    if (it->second != a.memref || a.indices.empty() ||
        a.indices.front() != iv || !a.rowOnly)
      return false;
    if (fresh)
      for (Operation *user : a.memref.getUsers())
        if (loop->isAncestor(user) && !accessOf(user))
          return false;
  }
  for (auto [root, view] : viewOf)
    if (Operation *def = view.getDefiningOp(); def && loop->isAncestor(def))
      return false;
  return true;
}

} // namespace

int64_t tileBytes(MemRefType t) {
  Type e = t.getElementType();
  int64_t bits = 64;
  if (e.isIntOrFloat())
    bits = e.getIntOrFloatBitWidth();
  else if (auto v = dyn_cast<VectorType>(e);
           v && v.getElementType().isIntOrFloat())
    bits = v.getNumElements() * v.getElementType().getIntOrFloatBitWidth();
  return t.getNumElements() * std::max<int64_t>(bits / 8, 1);
}

void copyAsLoops(memref::CopyOp copy, bool parallel) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value src = copy.getSource(), dst = copy.getTarget();
  int64_t rank = cast<MemRefType>(src.getType()).getRank();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> ubs;
  for (int64_t d = 0; d < rank; ++d)
    ubs.push_back(memref::DimOp::create(b, loc, src, d));
  SmallVector<Value> lbs(rank, zero), steps(rank, one);
  auto body = [&](OpBuilder &nb, Location l, ValueRange ivs) {
    Value x = memref::LoadOp::create(nb, l, src, ivs);
    memref::StoreOp::create(nb, l, x, dst, ivs);
  };
  if (parallel)
    scf::ParallelOp::create(b, loc, lbs, ubs, steps, body);
  else
    scf::buildLoopNest(b, loc, lbs, ubs, steps, body);
  copy.erase();
}

namespace {

/// Bytes of `alloc` (static or not) rounded up to 128, built at `b`.
Value paddedBytes(OpBuilder &b, Location loc, memref::AllocOp alloc) {
  MemRefType t = alloc.getType();
  int64_t staticPart = tileBytes(MemRefType::get(
      llvm::to_vector(llvm::map_range(
          t.getShape(),
          [](int64_t d) { return ShapedType::isDynamic(d) ? int64_t(1) : d; })),
      t.getElementType()));
  Value bytes = arith::ConstantIndexOp::create(b, loc, staticPart);
  for (Value size : alloc.getDynamicSizes())
    bytes = arith::MulIOp::create(b, loc, bytes, size);
  Value c127 = arith::ConstantIndexOp::create(b, loc, 127);
  Value c128 = arith::ConstantIndexOp::create(b, loc, 128);
  return arith::MulIOp::create(
      b, loc,
      arith::DivUIOp::create(b, loc, arith::AddIOp::create(b, loc, bytes, c127),
                             c128),
      c128);
}

/// Iteration i of `par` as ivs (lower bounds, steps and counts given).
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value i,
                               ValueRange lbs, ValueRange steps,
                               ArrayRef<Value> counts) {
  SmallVector<Value> ivs(counts.size());
  Value rest = i;
  for (int64_t d = counts.size() - 1; d >= 0; --d) {
    Value r = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, counts[d]);
    ivs[d] = arith::AddIOp::create(b, loc, lbs[d],
                                   arith::MulIOp::create(b, loc, r, steps[d]));
    if (d > 0)
      rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
  }
  return ivs;
}

/// Runs `par` as a sequential loop nest (inside a thread's share).
void serialize(scf::ParallelOp par) {
  OpBuilder b(par);
  IRMapping map;
  scf::buildLoopNest(
      b, par.getLoc(), par.getLowerBound(), par.getUpperBound(), par.getStep(),
      [&](OpBuilder &nb, Location, ValueRange ivs) {
        for (auto [from, to] : llvm::zip(par.getInductionVars(), ivs))
          map.map(from, to);
        for (Operation &op : par.getBody()->without_terminator())
          nb.clone(op, map);
      });
  par.erase();
}

class BlockMapper {
public:
  BlockMapper(gpu::LaunchOp launch, int64_t threads)
      : launch(launch), threads(threads) {}

  LogicalResult run(const TilePlan &plan, Value scratch, Value sliceBytes);

private:
  void placeTiles(const TilePlan &plan, Value scratch, Value sliceBytes);
  LogicalResult mapBlock(Block &block);
  void spread(scf::ParallelOp par);
  LogicalResult guard(Operation *op);
  void barrierAround(Operation *op);
  Value sharedSlot(MemRefType type);

  gpu::LaunchOp launch;
  int64_t threads;
  Value tid, isFirst;
};

Value BlockMapper::sharedSlot(MemRefType type) {
  auto space = gpu::AddressSpaceAttr::get(launch.getContext(),
                                          gpu::AddressSpace::Workgroup);
  auto sharedType = MemRefType::get(type.getShape(), type.getElementType(),
                                    MemRefLayoutAttrInterface(), space);
  BlockArgument arg =
      launch.addWorkgroupAttribution(sharedType, launch.getLoc());
  OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
  return memref::MemorySpaceCastOp::create(b, launch.getLoc(), type, arg);
}

void BlockMapper::placeTiles(const TilePlan &plan, Value scratch,
                             Value sliceBytes) {
  for (memref::AllocOp alloc : plan.shared) {
    alloc.replaceAllUsesWith(sharedSlot(alloc.getType()));
    alloc.erase();
  }
  if (!plan.needsScratch())
    return;
  OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
  Location loc = launch.getLoc();
  // This block's slice: the launch's blocks run along x only.
  Value at = arith::MulIOp::create(b, loc, launch.getBlockIds().x, sliceBytes);
  Value base = at;
  auto placeAt = [&](memref::AllocOp alloc, Value offset) {
    Value view = memref::ViewOp::create(b, loc, alloc.getType(), scratch,
                                        offset, alloc.getDynamicSizes());
    alloc.replaceAllUsesWith(view);
    alloc.erase();
  };
  for (auto [alloc, offset] : plan.global)
    placeAt(alloc,
            arith::AddIOp::create(
                b, loc, base, arith::ConstantIndexOp::create(b, loc, offset)));
  at = arith::AddIOp::create(
      b, loc, base, arith::ConstantIndexOp::create(b, loc, plan.globalBytes));
  for (memref::AllocOp alloc : plan.dynamic) {
    Value next = arith::AddIOp::create(b, loc, at, paddedBytes(b, loc, alloc));
    placeAt(alloc, at);
    at = next;
  }
}

void BlockMapper::spread(scf::ParallelOp par) {
  OpBuilder b(par);
  Location loc = par.getLoc();
  SmallVector<Value> counts;
  Value total = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(par.getLowerBound(), par.getUpperBound(), par.getStep())) {
    // An empty range (ub < lb) counts 0 iterations, not 2^64 - k.
    Value span =
        arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb),
                               arith::ConstantIndexOp::create(b, loc, 0));
    Value n = arith::CeilDivUIOp::create(b, loc, span, step);
    counts.push_back(n);
    total = arith::MulIOp::create(b, loc, total, n);
  }
  // Thread i takes iterations i, i + N, ...; a warp tile goes to all 32
  // lanes of warp w (iterations w, w + N / 32, ...).
  bool warpTile = par->hasAttr(kWarpTileAttr);
  Value first =
      warpTile ? arith::DivUIOp::create(
                     b, loc, tid, arith::ConstantIndexOp::create(b, loc, 32))
               : tid;
  Value stride =
      arith::ConstantIndexOp::create(b, loc, warpTile ? threads / 32 : threads);
  auto loop = scf::ForOp::create(b, loc, first, total, stride);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  SmallVector<Value> ivs =
      delinearize(b, loc, loop.getInductionVar(), par.getLowerBound(),
                  par.getStep(), counts);
  IRMapping map;
  for (auto [from, to] : llvm::zip(par.getInductionVars(), ivs))
    map.map(from, to);
  for (Operation &op : par.getBody()->without_terminator())
    b.clone(op, map);
  par.erase();
  // A thread's share runs its inner parallel loops in sequence.
  // Innermost first (the walk's post-order): an outer loop's clone then
  // copies the inner one's scf.for nest, not a loop already erased.
  SmallVector<scf::ParallelOp> inner;
  loop.getBody()->walk([&](scf::ParallelOp p) { inner.push_back(p); });
  for (scf::ParallelOp p : inner)
    serialize(p);
  barrierAround(loop);
}

LogicalResult BlockMapper::guard(Operation *op) {
  Location loc = op->getLoc();
  OpBuilder b(op);
  SmallVector<Value> slots;
  for (Value r : op->getResults()) {
    Type t = r.getType();
    if (auto v = dyn_cast<VectorType>(t); v && v.getRank() == 1)
      slots.push_back(
          sharedSlot(MemRefType::get(v.getShape(), v.getElementType())));
    else if (t.isIntOrIndexOrFloat())
      slots.push_back(sharedSlot(MemRefType::get({1}, t)));
    else
      return op->emitOpError("writes memory and yields a ")
             << t << ", which a block cannot share";
  }
  auto ifOp = scf::IfOp::create(b, loc, isFirst, /*withElseRegion=*/false);
  op->moveBefore(ifOp.thenBlock()->getTerminator());
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  for (auto [r, slot] : llvm::zip(op->getResults(), slots)) {
    if (isa<VectorType>(r.getType()))
      vector::StoreOp::create(b, loc, r, slot, ValueRange{zero});
    else
      memref::StoreOp::create(b, loc, r, slot, ValueRange{zero});
  }
  barrierAround(ifOp);
  b.setInsertionPointAfter(ifOp->getNextNode()); // after the barrier
  zero = arith::ConstantIndexOp::create(b, loc, 0);
  for (auto [r, slot] : llvm::zip(op->getResults(), slots)) {
    Value shared;
    if (auto v = dyn_cast<VectorType>(r.getType()))
      shared = vector::LoadOp::create(b, loc, v, slot, ValueRange{zero});
    else
      shared = memref::LoadOp::create(b, loc, slot, ValueRange{zero});
    r.replaceUsesWithIf(shared, [&](OpOperand &use) {
      return !ifOp->isAncestor(use.getOwner());
    });
  }
  return success();
}

void BlockMapper::barrierAround(Operation *op) {
  OpBuilder b(op);
  gpu::BarrierOp::create(b, op->getLoc());
  b.setInsertionPointAfter(op);
  gpu::BarrierOp::create(b, op->getLoc());
}

/// Maps the ops of `block`, which every thread runs.
LogicalResult BlockMapper::mapBlock(Block &block) {
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    ops.push_back(&op);
  for (Operation *op : ops) {
    if (auto par = dyn_cast<scf::ParallelOp>(op)) {
      spread(par);
      continue;
    }
    if (containsParallel(op)) {
      if (!isa<scf::ForOp, scf::IfOp, scf::WhileOp>(op))
        return op->emitOpError("holds parallel loops but is not structured "
                               "control flow a block can run together");
      for (Region &region : op->getRegions())
        for (Block &inner : region)
          if (failed(mapBlock(inner)))
            return failure();
      continue;
    }
    if (writesMemory(op) && failed(guard(op)))
      return failure();
  }
  return success();
}

/// Drops barriers with nothing but memory-effect-free ops since the
/// previous barrier of the same block.
void dropRedundantBarriers(Region &region) {
  region.walk([](Block *block) {
    bool clean = false;
    SmallVector<Operation *> dead;
    for (Operation &op : *block) {
      if (isa<gpu::BarrierOp>(op)) {
        if (clean)
          dead.push_back(&op);
        clean = true;
      } else if (!isMemoryEffectFree(&op)) {
        clean = false;
      }
    }
    for (Operation *op : dead)
      op->erase();
  });
}

LogicalResult BlockMapper::run(const TilePlan &plan, Value scratch,
                               Value sliceBytes) {
  Block &body = launch.getBody().front();
  placeTiles(plan, scratch, sliceBytes);
  // Thread-private temporaries (inside parallel loops): one alloca each at
  // the top of the kernel.
  SmallVector<memref::AllocOp> privates;
  body.walk([&](memref::AllocOp a) { privates.push_back(a); });
  for (memref::AllocOp a : privates) {
    OpBuilder ab = OpBuilder::atBlockBegin(&body);
    auto alloca = memref::AllocaOp::create(ab, a.getLoc(), a.getType(),
                                           a.getAlignmentAttr());
    a.replaceAllUsesWith(alloca.getResult());
    a.erase();
  }
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  Location loc = launch.getLoc();
  tid = launch.getThreadIds().x;
  isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid,
                                  arith::ConstantIndexOp::create(b, loc, 0));
  if (failed(mapBlock(body)))
    return failure();
  dropRedundantBarriers(launch.getBody());
  return success();
}

/// A bf16 fragment row (two elements) and its low part: x = hi + lo.
std::pair<Value, Value> splitPair(OpBuilder &b, Location loc, Value x0,
                                  Value x1) {
  Type bf16 = b.getBF16Type(), f32 = b.getF32Type();
  auto row = VectorType::get({2}, bf16);
  SmallVector<Value> hi, lo;
  for (Value x : {x0, x1}) {
    Value h = arith::TruncFOp::create(b, loc, bf16, x);
    Value rest =
        arith::SubFOp::create(b, loc, x, arith::ExtFOp::create(b, loc, f32, h));
    hi.push_back(h);
    lo.push_back(arith::TruncFOp::create(b, loc, bf16, rest));
  }
  return {vector::FromElementsOp::create(b, loc, row, hi),
          vector::FromElementsOp::create(b, loc, row, lo)};
}

/// Where a matrix's tiles reach past its dims (a dim the tile does not
/// divide): which of its two dims an access must check.
struct Overhang {
  bool rows = false, cols = false;
};

/// Whether (row, col) lies inside `m`, for the dims `over` names; null when
/// neither can be outside.
Value insideTile(OpBuilder &b, Location loc, Value m, Value row, Value col,
                 Overhang over) {
  auto type = cast<MemRefType>(m.getType());
  Value inside;
  auto both = [&](Value c) {
    inside = inside ? arith::AndIOp::create(b, loc, inside, c) : c;
  };
  for (auto [check, at, dim] :
       {std::tuple{over.rows, row, 0}, std::tuple{over.cols, col, 1}})
    if (check)
      both(arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ult, at,
          arith::ConstantIndexOp::create(b, loc, type.getDimSize(dim))));
  return inside;
}

/// m[row, col], or 0 where the tile reaches past `m` (the load then reads
/// the nearest element inside, so it stays in bounds).
Value loadOrZero(OpBuilder &b, Location loc, Value m, Value row, Value col,
                 Overhang over) {
  Value inside = insideTile(b, loc, m, row, col, over);
  if (!inside)
    return memref::LoadOp::create(b, loc, m, ValueRange{row, col});
  auto type = cast<MemRefType>(m.getType());
  auto clamp = [&](Value at, int64_t dim, bool check) -> Value {
    if (!check)
      return at;
    return arith::MinUIOp::create(
        b, loc, at,
        arith::ConstantIndexOp::create(b, loc, type.getDimSize(dim) - 1));
  };
  Value x = memref::LoadOp::create(
      b, loc, m,
      ValueRange{clamp(row, 0, over.rows), clamp(col, 1, over.cols)});
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return arith::SelectOp::create(b, loc, inside, x, zero);
}

/// The fragment of `rows` rows of two elements, element (r, c) read by
/// `at(r)` as (row, col) of `m` (cols col, col + 1), split into high and
/// low bf16 parts; elements past `m`'s dims (`over`) are 0.
std::pair<Value, Value>
fragment(OpBuilder &b, Location loc, Value m, int64_t rows,
         llvm::function_ref<std::pair<Value, Value>(int64_t)> at,
         bool pairAlongRows, Overhang over) {
  Type bf16 = b.getBF16Type();
  auto type = VectorType::get({rows, 2}, bf16);
  Value zero = arith::ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, b.getZeroAttr(bf16)));
  Value hi = zero, lo = zero;
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t r = 0; r < rows; ++r) {
    auto [row, col] = at(r);
    Value x0 = loadOrZero(b, loc, m, row, col, over);
    Value x1 =
        pairAlongRows
            ? loadOrZero(b, loc, m, arith::AddIOp::create(b, loc, row, one),
                         col, over)
            : loadOrZero(b, loc, m, row,
                         arith::AddIOp::create(b, loc, col, one), over);
    auto [h, l] = splitPair(b, loc, x0, x1);
    hi = vector::InsertOp::create(b, loc, h, hi, ArrayRef<int64_t>{r});
    lo = vector::InsertOp::create(b, loc, l, lo, ArrayRef<int64_t>{r});
  }
  return {hi, lo};
}

} // namespace

bool tensorCoreMatmul(linalg::MatmulOp mm) {
  if (mm.hasUserDefinedMaps() || !mm.hasPureBufferSemantics())
    return false;
  auto a = dyn_cast<MemRefType>(mm.getDpsInputs()[0].getType());
  auto b = dyn_cast<MemRefType>(mm.getDpsInputs()[1].getType());
  auto c = dyn_cast<MemRefType>(mm.getDpsInits()[0].getType());
  if (!a || !b || !c || !a.hasStaticShape() || !b.hasStaticShape() ||
      !c.hasStaticShape())
    return false;
  for (MemRefType t : {a, b, c})
    if (!t.getElementType().isF32())
      return false;
  // Dims the tile does not divide are padded with zeros; worth it while the
  // padded product is at most twice the real one (K = 100, V = 60: 1.2x).
  int64_t m = a.getDimSize(0), k = a.getDimSize(1), n = b.getDimSize(1);
  auto padded = [](int64_t x, int64_t step) {
    return llvm::divideCeil(x, step) * step;
  };
  return m > 0 && n > 0 && k > 0 &&
         padded(m, 16) * padded(n, 8) * padded(k, 16) <= 2 * m * n * k;
}

namespace {

/// C += A B as a parallel loop over C's 16 x 8 tiles (kWarpTileAttr), each
/// accumulated over K in steps of 16 by three mma.sync. Dims the tiles do
/// not divide are padded: reads past them give 0, writes past them are
/// skipped.
void matmulOnTensorCores(linalg::MatmulOp mm) {
  OpBuilder b(mm);
  Location loc = mm.getLoc();
  Value A = mm.getDpsInputs()[0], B = mm.getDpsInputs()[1];
  Value C = mm.getDpsInits()[0];
  auto aType = cast<MemRefType>(A.getType());
  int64_t M = aType.getDimSize(0), K = aType.getDimSize(1);
  int64_t N = cast<MemRefType>(B.getType()).getDimSize(1);
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Overhang overA{M % 16 != 0, K % 16 != 0}, overB{K % 16 != 0, N % 8 != 0},
      overC{M % 16 != 0, N % 8 != 0};
  auto par = scf::ParallelOp::create(
      b, loc, ValueRange{cst(0), cst(0)},
      ValueRange{cst(llvm::divideCeil(M, 16)), cst(llvm::divideCeil(N, 8))},
      ValueRange{cst(1), cst(1)});
  par->setAttr(kWarpTileAttr, b.getUnitAttr());
  b.setInsertionPoint(par.getBody()->getTerminator());
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, int64_t y) -> Value {
    return arith::MulIOp::create(b, loc, x, cst(y));
  };
  Value m0 = mul(par.getInductionVars()[0], 16);
  Value n0 = mul(par.getInductionVars()[1], 8);
  Value lane = arith::RemUIOp::create(
      b, loc, gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x), cst(32));
  Value g = arith::DivUIOp::create(b, loc, lane, cst(4));
  Value q2 = mul(arith::RemUIOp::create(b, loc, lane, cst(4)), 2);
  // The accumulator: rows g and g + 8, columns 2q and 2q + 1.
  auto accType = VectorType::get({2, 2}, b.getF32Type());
  Value acc = arith::ConstantOp::create(b, loc, accType,
                                        DenseElementsAttr::get(accType, 0.0f));
  auto accRow = [&](int64_t r) { return add(add(m0, g), cst(8 * r)); };
  Value col = add(n0, q2), col1 = add(col, cst(1));
  for (int64_t r = 0; r < 2; ++r) {
    Value x0 = loadOrZero(b, loc, C, accRow(r), col, overC);
    Value x1 = loadOrZero(b, loc, C, accRow(r), col1, overC);
    acc = vector::InsertOp::create(
        b, loc,
        vector::FromElementsOp::create(
            b, loc, VectorType::get({2}, b.getF32Type()), ValueRange{x0, x1}),
        acc, ArrayRef<int64_t>{r});
  }
  auto loop =
      scf::ForOp::create(b, loc, cst(0), cst(llvm::divideCeil(K, 16) * 16),
                         cst(16), ValueRange{acc});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    // A (16 x 16): rows g, g + 8; columns 2q, 2q + 1 (+ 8 for rows 2, 3).
    auto [aHi, aLo] = fragment(
        b, loc, A, 4,
        [&](int64_t r) {
          return std::pair<Value, Value>{add(add(m0, g), cst(8 * (r % 2))),
                                         add(add(k0, q2), cst(8 * (r / 2)))};
        },
        /*pairAlongRows=*/false, overA);
    // B (16 x 8): rows (k) 2q, 2q + 1 (+ 8 for row 1); column g.
    auto [bHi, bLo] = fragment(
        b, loc, B, 2,
        [&](int64_t r) {
          return std::pair<Value, Value>{add(add(k0, q2), cst(8 * r)),
                                         add(n0, g)};
        },
        /*pairAlongRows=*/true, overB);
    Value c = loop.getRegionIterArgs()[0];
    const int64_t shape[] = {16, 8, 16};
    c = nvgpu::MmaSyncOp::create(b, loc, aHi, bHi, c, shape);
    c = nvgpu::MmaSyncOp::create(b, loc, aHi, bLo, c, shape);
    c = nvgpu::MmaSyncOp::create(b, loc, aLo, bHi, c, shape);
    scf::YieldOp::create(b, loc, c);
  }
  acc = loop.getResult(0);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t e = 0; e < 2; ++e) {
      Value row = accRow(r), at = e ? col1 : col;
      OpBuilder::InsertionGuard guard(b);
      if (Value inside = insideTile(b, loc, C, row, at, overC)) {
        auto ifInside = scf::IfOp::create(b, loc, inside);
        b.setInsertionPoint(ifInside.thenBlock()->getTerminator());
      }
      memref::StoreOp::create(
          b, loc,
          vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{r, e}), C,
          ValueRange{row, at});
    }
  mm.erase();
}

/// Moves the pure ops that compute `v` above `loop`, when they depend on
/// nothing defined inside it; false when they do.
bool hoistAbove(Value v, Operation *loop) {
  Operation *def = v.getDefiningOp();
  if (!loop->isAncestor(v.getParentRegion()->getParentOp()))
    return true; // defined outside
  if (!def || !isPure(def) || def->getNumRegions() != 0)
    return false;
  for (Value operand : def->getOperands())
    if (!hoistAbove(operand, loop))
      return false;
  def->moveBefore(loop);
  return true;
}

} // namespace

static void toParallelLoops(IRRewriter &rewriter, linalg::LinalgOp op) {
  rewriter.setInsertionPoint(op);
  if (succeeded(linalg::linalgOpToParallelLoops(rewriter, op)))
    rewriter.eraseOp(op);
}

void lowerBodyLinalg(Region &body, bool keepMatmuls) {
  SmallVector<linalg::LinalgOp> ops;
  body.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  IRRewriter rewriter(body.getContext());
  for (linalg::LinalgOp op : ops) {
    auto mm = dyn_cast<linalg::MatmulOp>(op.getOperation());
    if (!(keepMatmuls && mm && tensorCoreMatmul(mm)))
      toParallelLoops(rewriter, op);
  }
}

memref::AllocOp lowerKeptMatmuls(Region &body, KeptMatmuls how) {
  SmallVector<linalg::MatmulOp> ops;
  body.walk([&](linalg::MatmulOp op) { ops.push_back(op); });
  IRRewriter rewriter(body.getContext());
  // One staging buffer serves every warpgroup product of the body (they
  // run one after another).
  memref::AllocOp stage;
  if (how == KeptMatmuls::warpgroup)
    if (int64_t rows = warpgroupStagingRows(body)) {
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      stage = memref::AllocOp::create(
          b, body.getLoc(), warpgroupStagingType(body.getContext(), rows));
    }
  for (linalg::MatmulOp mm : ops) {
    // A warp tile inside another parallel loop would be one thread's
    // share, not a warp's.
    if (how == KeptMatmuls::loops || insideParallel(mm, body.getParentOp()))
      toParallelLoops(rewriter, mm);
    else if (stage && warpgroupMatmul(mm))
      matmulOnWarpgroup(mm, stage);
    else
      matmulOnTensorCores(mm);
  }
  return stage;
}

/// True when `x` and `y` are the same buffer: one value, or subviews of
/// one buffer at the same offsets, sizes and strides.
static bool sameBuffer(Value x, Value y) {
  if (x == y)
    return true;
  auto sx = x.getDefiningOp<memref::SubViewOp>();
  auto sy = y.getDefiningOp<memref::SubViewOp>();
  return sx && sy && sx.getType() == sy.getType() &&
         sameBuffer(sx.getSource(), sy.getSource()) &&
         sx.getMixedOffsets() == sy.getMixedOffsets() &&
         sx.getMixedSizes() == sy.getMixedSizes() &&
         sx.getMixedStrides() == sy.getMixedStrides();
}

void exposeParallelLoops(Region &body) {
  // Buffers that loops carry through unchanged (what bufferizing tensor
  // iter_args leaves) become plain uses of the buffer.
  RewritePatternSet patterns(body.getContext());
  scf::ForOp::getCanonicalizationPatterns(patterns, body.getContext());
  scf::IfOp::getCanonicalizationPatterns(patterns, body.getContext());
  (void)applyPatternsGreedily(body, std::move(patterns));
  // A copy of a buffer onto itself (what bufferizing the insert of a slice
  // written in place leaves) is dropped, not run as a loop and barriers.
  SmallVector<memref::CopyOp> copies;
  body.walk([&](memref::CopyOp c) { copies.push_back(c); });
  for (memref::CopyOp c : copies) {
    if (sameBuffer(c.getSource(), c.getTarget()))
      c.erase();
    else
      copyAsLoops(c, /*parallel=*/true);
  }
  SmallVector<scf::ForOp> rows;
  body.walk([&](scf::ForOp loop) {
    if (!insideParallel(loop, body.getParentOp()) && rowParallel(loop))
      rows.push_back(loop);
  });
  for (scf::ForOp loop : rows) {
    // Not inside another row loop already rewritten.
    if (loop->getParentOfType<scf::ParallelOp>())
      continue;
    OpBuilder b(loop);
    auto par = scf::ParallelOp::create(
        b, loop.getLoc(), ValueRange{loop.getLowerBound()},
        ValueRange{loop.getUpperBound()}, ValueRange{loop.getStep()});
    IRMapping map;
    map.map(loop.getInductionVar(), par.getInductionVars()[0]);
    b.setInsertionPoint(par.getBody()->getTerminator());
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    loop.erase();
  }
}

FailureOr<TilePlan> planTiles(Region &body, int64_t reservedShared) {
  SmallVector<memref::AllocOp> tiles;
  body.walk([&](memref::AllocOp a) {
    if (!insideParallel(a, body.getParentOp()))
      tiles.push_back(a);
  });
  TilePlan plan;
  Operation *loop = body.getParentOp();
  for (memref::AllocOp a : llvm::make_early_inc_range(tiles)) {
    if (a.getType().hasStaticShape())
      continue;
    for (Value size : a.getDynamicSizes())
      if (!hoistAbove(size, loop))
        return failure();
    plan.dynamic.push_back(a);
  }
  llvm::erase_if(
      tiles, [](memref::AllocOp a) { return !a.getType().hasStaticShape(); });
  llvm::stable_sort(tiles, [](memref::AllocOp x, memref::AllocOp y) {
    return tileBytes(x.getType()) < tileBytes(y.getType());
  });
  int64_t shared = 0;
  for (memref::AllocOp a : tiles) {
    int64_t bytes = tileBytes(a.getType());
    if (shared + bytes <= kTileSharedBudget - reservedShared) {
      shared += bytes;
      plan.shared.push_back(a);
      continue;
    }
    plan.global.push_back({a, plan.globalBytes});
    plan.globalBytes += (bytes + 127) / 128 * 128;
  }
  return plan;
}

/// What BlockMapper::mapBlock needs of `block`.
static bool mappable(Block &block) {
  for (Operation &op : block.without_terminator()) {
    // A thread-private buffer that thread 0 alone would write.
    if (isa<memref::AllocaOp>(op))
      return false;
    if (isa<linalg::MatmulOp>(op))
      continue; // kept for the tensor cores: a parallel loop
    if (auto par = dyn_cast<scf::ParallelOp>(op)) {
      if (par.getNumResults() != 0)
        return false;
      continue;
    }
    if (containsParallel(&op)) {
      if (!isa<scf::ForOp, scf::IfOp, scf::WhileOp>(op))
        return false;
      for (Region &region : op.getRegions())
        for (Block &inner : region)
          if (!mappable(inner))
            return false;
      continue;
    }
    if (!writesMemory(&op))
      continue;
    for (Type t : op.getResultTypes()) {
      auto v = dyn_cast<VectorType>(t);
      if (!(v && v.getRank() == 1) && !t.isIntOrIndexOrFloat())
        return false;
    }
  }
  return true;
}

bool blockMappable(Region &body) {
  // Without a parallel loop, or rows that splitVectorLanes may cut across
  // the threads (a recurrent form's state row), there is nothing to share.
  bool parallel = false;
  body.walk([&](Operation *op) {
    parallel |= isa<scf::ParallelOp, linalg::MatmulOp>(op);
    for (Type t : op->getResultTypes())
      if (auto v = dyn_cast<VectorType>(t))
        parallel |= v.getRank() == 1 && v.getNumElements() >= 8;
  });
  return parallel && llvm::all_of(body, [](Block &b) { return mappable(b); });
}

LogicalResult mapOntoBlock(gpu::LaunchOp launch, const TilePlan &plan,
                           Value scratch, Value sliceBytes, int64_t threads) {
  return BlockMapper(launch, threads).run(plan, scratch, sliceBytes);
}

Value TilePlan::sliceBytes(OpBuilder &b, Location loc) const {
  Value bytes = arith::ConstantIndexOp::create(b, loc, globalBytes);
  for (memref::AllocOp alloc : dynamic)
    bytes = arith::AddIOp::create(b, loc, bytes, paddedBytes(b, loc, alloc));
  return bytes;
}

} // namespace mixir::gpu_lowering
