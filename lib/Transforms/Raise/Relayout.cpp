//===- Relayout.cpp - dims of a relayout as named factors -----------------===//
#include "Relayout.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::raise {

FactorLayout factorLayout(ArrayRef<std::string> dims,
                          const llvm::DenseMap<char, int64_t> &sizes) {
  FactorLayout l;
  l.sizes = sizes;
  for (const std::string &d : dims) {
    std::string kept;
    for (char f : d)
      if (sizes.lookup(f) != 1)
        kept.push_back(f);
    l.dims.push_back(kept);
  }
  return l;
}

Operation *relayoutOf(Value v) {
  Operation *def = v.getDefiningOp();
  return isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                         linalg::TransposeOp>(def)
             ? def
             : nullptr;
}

static SmallVector<int64_t> nonUnitDims(Value v) {
  SmallVector<int64_t> s;
  for (int64_t d : cast<RankedTensorType>(v.getType()).getShape())
    if (d != 1)
      s.push_back(d);
  return s;
}

bool movesOnlyUnitDims(Operation *op) {
  if (auto tr = dyn_cast<linalg::TransposeOp>(op)) {
    // The non-unit input dims must come out in their order.
    auto in = cast<RankedTensorType>(tr.getInput().getType());
    int64_t last = -1;
    for (int64_t p : tr.getPermutation()) {
      if (in.getDimSize(p) == 1)
        continue;
      if (p < last)
        return false;
      last = p;
    }
    return true;
  }
  return nonUnitDims(op->getOperand(0)) == nonUnitDims(op->getResult(0));
}

/// Splits the factors of one dim over the result dims `sizes`, in order.
static LogicalResult splitFactors(const std::string &factors,
                                  ArrayRef<int64_t> sizes,
                                  const FactorLayout &l,
                                  SmallVector<std::string> &out) {
  size_t next = 0;
  for (int64_t want : sizes) {
    if (ShapedType::isDynamic(want))
      return failure();
    std::string dim;
    int64_t have = 1;
    while (have < want && next < factors.size()) {
      have *= l.sizes.lookup(factors[next]);
      dim.push_back(factors[next++]);
    }
    if (have != want)
      return failure(); // the split cuts through a factor
    out.push_back(dim);
  }
  return success(next == factors.size());
}

LogicalResult applyRelayout(Operation *op, FactorLayout &l) {
  SmallVector<std::string> out;
  if (auto tr = dyn_cast<linalg::TransposeOp>(op)) {
    for (int64_t p : tr.getPermutation())
      out.push_back(l.dims[p]);
  } else if (auto co = dyn_cast<tensor::CollapseShapeOp>(op)) {
    for (const ReassociationIndices &group : co.getReassociationIndices()) {
      std::string dim;
      for (int64_t i : group)
        dim += l.dims[i];
      out.push_back(dim);
    }
  } else if (auto ex = dyn_cast<tensor::ExpandShapeOp>(op)) {
    ArrayRef<int64_t> shape = ex.getResultType().getShape();
    for (auto [i, group] : llvm::enumerate(ex.getReassociationIndices())) {
      SmallVector<int64_t> sizes;
      for (int64_t j : group)
        sizes.push_back(shape[j]);
      if (failed(splitFactors(l.dims[i], sizes, l, out)))
        return failure();
    }
  } else {
    return failure();
  }
  l.dims = std::move(out);
  return success();
}

} // namespace mixir::raise
