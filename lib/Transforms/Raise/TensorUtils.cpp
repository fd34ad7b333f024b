//===- TensorUtils.cpp - small tensor builders of the raisers -------------===//
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <numeric>

using namespace mlir;

namespace mixir::raise {

SmallVector<int64_t> staticShapeOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape())
    return {};
  return SmallVector<int64_t>(t.getShape());
}

Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

Value transposed(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> perm) {
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return x;
  SmallVector<OpFoldResult> in = tensor::getMixedSizes(b, loc, x), out;
  for (int64_t p : perm)
    out.push_back(in[p]);
  Value init = tensor::EmptyOp::create(b, loc, out, elementTypeOf(x));
  return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
}

Value movedDim(OpBuilder &b, Location loc, Value x, int64_t from, int64_t to) {
  SmallVector<int64_t> perm;
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  for (int64_t d = 0; d < rank; ++d)
    if (d != from)
      perm.push_back(d);
  perm.insert(perm.begin() + to, from);
  return transposed(b, loc, x, perm);
}

Value swappedLastDims(OpBuilder &b, Location loc, Value x) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  return movedDim(b, loc, x, rank - 1, rank - 2);
}

Value reshaped(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> in = staticShapeOf(x);
  if (in == shape)
    return x;
  Type elem = elementTypeOf(x);
  auto all = [](size_t n) {
    ReassociationIndices r(n);
    std::iota(r.begin(), r.end(), 0);
    return SmallVector<ReassociationIndices>{r};
  };
  if (in.size() > 1)
    x = tensor::CollapseShapeOp::create(b, loc, x, all(in.size()));
  if (shape.size() == 1)
    return x;
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, elem), x, all(shape.size()));
}

Value castedTo(OpBuilder &b, Location loc, Value x, Type elem) {
  Type from = elementTypeOf(x);
  if (from == elem)
    return x;
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elem);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  bool widen = from.getIntOrFloatBitWidth() < elem.getIntOrFloatBitWidth();
  return linalg::GenericOp::create(
             b, loc, init.getType(), x, init, ArrayRef<AffineMap>{id, id},
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value r = widen ? arith::ExtFOp::create(nb, nl, elem, args[0])
                                     .getResult()
                               : arith::TruncFOp::create(nb, nl, elem, args[0])
                                     .getResult();
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

} // namespace mixir::raise
