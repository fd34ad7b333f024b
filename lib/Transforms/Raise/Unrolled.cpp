//===- Unrolled.cpp - recurrences an exporter unrolled --------------------===//
//
// torch.onnx traces Python loops: a per-token recurrence (RecurrentGemma's
// RG-LRU), a per-block carry (MiniMax's lightning attention) or a row-by-row
// triangular solve (Qwen3-Next's chunked delta rule) arrives as straight-line
// copies of the loop body, whose results are assembled by Concat, or by
// ScatterElements / ScatterND writes, into one tensor. The importer writes
// both as a chain of tensor.insert_slice ops, each into the result of the one
// before. A chain is an unrolled recurrence when its pieces step along one
// dimension and each piece is computed from what the copy before it
// computed (a piece of independent values, e.g. the heads of a projection,
// is not). mix-raise does not re-roll such copies into a loop; with the
// report on, this names them so that the user knows why the recurrence
// stayed written out. It also names the segment-sum decay of a chunked SSD
// (exp of a masked cumulative sum, as Mamba2's torch path writes it), which
// mix-raise does not read as chunks of linear attention either.
//
//===----------------------------------------------------------------------===//
#include "Unrolled.h"

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace mixir::raise {
namespace {

// Fewer copies are too weak a sign (rotary embeddings concatenate two
// halves, one computed from the other's source).
constexpr size_t kMinCopies = 3;

using OpSet = llvm::DenseSet<Operation *>;

/// The ops `v` is computed from, its own defining op included.
OpSet ancestors(Value v) {
  OpSet seen;
  SmallVector<Operation *> work;
  if (Operation *def = v.getDefiningOp())
    work.push_back(def);
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!seen.insert(op).second)
      continue;
    for (Value x : op->getOperands())
      if (Operation *def = x.getDefiningOp())
        work.push_back(def);
  }
  return seen;
}

/// The chains of insert_slices under `root`: each one's destination is the
/// result of the one before, and it is the only insert_slice into it.
SmallVector<SmallVector<tensor::InsertSliceOp>> insertChains(Operation *root) {
  auto nextOf = [](tensor::InsertSliceOp op) {
    tensor::InsertSliceOp next;
    for (Operation *user : op->getUsers()) {
      auto ins = dyn_cast<tensor::InsertSliceOp>(user);
      if (!ins || ins.getDest() != op.getResult())
        continue;
      if (next)
        return tensor::InsertSliceOp(); // branches
      next = ins;
    }
    return next;
  };
  SmallVector<SmallVector<tensor::InsertSliceOp>> chains;
  root->walk([&](tensor::InsertSliceOp op) {
    auto prev = op.getDest().getDefiningOp<tensor::InsertSliceOp>();
    if (prev && nextOf(prev) == op)
      return; // not the first of its chain
    SmallVector<tensor::InsertSliceOp> chain = {op};
    while (tensor::InsertSliceOp next = nextOf(chain.back()))
      chain.push_back(next);
    if (chain.size() >= kMinCopies)
      chains.push_back(std::move(chain));
  });
  return chains;
}

/// The one dimension along which the static offsets of `chain` step
/// (strictly monotonically; the other offsets fixed), or -1.
int64_t steppingDim(MutableArrayRef<tensor::InsertSliceOp> chain) {
  ArrayRef<int64_t> first = chain.front().getStaticOffsets();
  if (llvm::any_of(first, ShapedType::isDynamic))
    return -1;
  int64_t dim = -1, sign = 0;
  for (size_t i = 1; i < chain.size(); ++i) {
    ArrayRef<int64_t> a = chain[i - 1].getStaticOffsets(),
                      b = chain[i].getStaticOffsets();
    if (b.size() != a.size() || llvm::any_of(b, ShapedType::isDynamic))
      return -1;
    for (size_t d = 0; d < a.size(); ++d) {
      if (a[d] == b[d])
        continue;
      int64_t s = b[d] > a[d] ? 1 : -1;
      if ((dim >= 0 && dim != (int64_t)d) || (sign && sign != s))
        return -1;
      dim = d;
      sign = s;
    }
    if (dim >= 0 && a[dim] == b[dim])
      return -1; // two pieces at one place
  }
  return dim;
}

/// Whether every piece from the third on is computed from what the copy
/// before it computed: some op that only piece i needs reads a value that
/// piece i-1 needs and piece i-2 does not.
bool carriesFromCopyToCopy(MutableArrayRef<tensor::InsertSliceOp> chain) {
  OpSet older = ancestors(chain[0].getSource());
  OpSet old = ancestors(chain[1].getSource());
  for (size_t i = 2; i < chain.size(); ++i) {
    OpSet cur = ancestors(chain[i].getSource());
    bool carried = false;
    for (Operation *op : cur) {
      if (old.contains(op))
        continue; // not piece i's own
      for (Value x : op->getOperands()) {
        Operation *def = x.getDefiningOp();
        carried |= def && old.contains(def) && !older.contains(def);
      }
      if (carried)
        break;
    }
    if (!carried)
      return false;
    older = std::move(old);
    old = std::move(cur);
  }
  return true;
}

std::string describe(MutableArrayRef<tensor::InsertSliceOp> chain,
                     int64_t dim) {
  auto piece = cast<RankedTensorType>(chain.front().getSourceType());
  int64_t size = chain.front().getStaticSizes()[dim];
  std::string s;
  llvm::raw_string_ostream os(s);
  os << chain.size() << " straight-line copies of a step, each writing ";
  if (size == 1)
    os << "one position";
  else if (ShapedType::isDynamic(size))
    os << "a block of dynamic size";
  else
    os << "a block of " << size;
  os << " (a " << piece << " piece) of " << chain.back().getResultType()
     << " along dim " << dim
     << " from what the copy before it computed (an exported loop "
        "unrolled); not re-rolled into a loop, so not raised";
  return s;
}

/// The constant float splat `v` holds, if any.
std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// For exp(where(mask, -inf, x)) (either branch order) as element-wise
/// generics, with a constant mask and x a reshape of a mix.scan result:
/// the length of the masked rows. 0 otherwise.
int64_t segmentSumLength(linalg::GenericOp exp) {
  Block &body = exp.getRegion().front();
  if (exp.getNumDpsInputs() != 1 || body.getOperations().size() != 2 ||
      !isa<math::ExpOp>(body.front()))
    return 0;
  auto sel = exp.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!sel || sel.getNumDpsInputs() != 3)
    return 0;
  Block &sb = sel.getRegion().front();
  auto s = dyn_cast<arith::SelectOp>(&sb.front());
  if (!s || sb.getOperations().size() != 2)
    return 0;
  auto input = [&](Value x) -> Value {
    auto arg = dyn_cast<BlockArgument>(x);
    return arg && arg.getOwner() == &sb && arg.getArgNumber() < 3
               ? sel.getDpsInputs()[arg.getArgNumber()]
               : Value();
  };
  Value cond = input(s.getCondition()), a = input(s.getTrueValue()),
        b = input(s.getFalseValue());
  if (!cond || !a || !b || !matchPattern(cond, m_Constant()))
    return 0;
  auto fillA = splatValue(a);
  Value fill = fillA ? a : b, sum = fillA ? b : a;
  auto f = splatValue(fill);
  if (!f || !(*f <= -1e4))
    return 0;
  while (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
      sum.getDefiningOp()))
    sum = sum.getDefiningOp()->getOperand(0);
  if (!sum.getDefiningOp<mix::ScanOp>())
    return 0;
  auto type = cast<RankedTensorType>(exp.getResult(0).getType());
  return type.getRank() >= 2 ? type.getDimSize(type.getRank() - 1) : 0;
}

} // namespace

void reportUnrolled(Operation *root, Report &report) {
  if (!report.isEnabled())
    return;
  root->walk([&](linalg::GenericOp g) {
    int64_t length = segmentSumLength(g);
    if (!length)
      return;
    std::string why;
    llvm::raw_string_ostream os(why);
    os << "exp of a cumulative sum masked to causal blocks of " << length
       << " (the chunked SSD of Mamba2's torch path); the broadcast "
          "contractions it scales are not read as chunks of linear "
          "attention, so not raised to mix.linear_attention";
    report.left(g, "segment-sum decay", why);
  });
  for (auto &chain : insertChains(root)) {
    int64_t dim = steppingDim(chain);
    if (dim < 0 || !carriesFromCopyToCopy(chain))
      continue;
    report.left(chain.front(), "unrolled recurrence", describe(chain, dim));
  }
}

} // namespace mixir::raise
