//===- TensorUtils.cpp - small tensor builders of the raisers -------------===//
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
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

Value reversedAlong(OpBuilder &b, Location loc, Value x, int64_t dim) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), last = type.getDimSize(dim) - 1;
  if (last <= 0)
    return x;
  // Each element reads x[..., last - i, ...] (a gather: an affine map
  // `last - d` would be taken for an out-of-range read by later passes).
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{}, init, b.getMultiDimIdentityMap(rank),
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               SmallVector<Value> at;
               for (int64_t d = 0; d < rank; ++d)
                 at.push_back(linalg::IndexOp::create(nb, nl, d));
               at[dim] = arith::SubIOp::create(
                   nb, nl, arith::ConstantIndexOp::create(nb, nl, last),
                   at[dim]);
               linalg::YieldOp::create(
                   nb, nl,
                   tensor::ExtractOp::create(nb, nl, x, at).getResult());
             })
      .getResult(0);
}

Value broadcastTrailing(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> shape) {
  SmallVector<int64_t> in = staticShapeOf(x);
  if (in == shape)
    return x;
  Value init = tensor::EmptyOp::create(b, loc, shape, elementTypeOf(x));
  auto added = llvm::to_vector(llvm::seq<int64_t>(in.size(), shape.size()));
  return linalg::BroadcastOp::create(b, loc, x, init, added).getResult()[0];
}

Value splatTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elem, double value) {
  auto type = RankedTensorType::get(shape, elem);
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getFloatAttr(elem, value)));
}

/// `f(elements of xs)` element-wise over the (common, identity-mapped)
/// shape of `xs`, in `elem` (xs[0]'s element type when null).
static Value mapped(OpBuilder &b, Location loc, ValueRange xs,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> f,
                    Type elem = {}) {
  auto type = cast<RankedTensorType>(xs[0].getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, xs[0]);
  Value init = tensor::EmptyOp::create(b, loc, sizes,
                                       elem ? elem : type.getElementType());
  SmallVector<AffineMap> maps(xs.size() + 1,
                              b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), xs, init, maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, f(nb, nl, args));
             })
      .getResult(0);
}

Value multiplied(OpBuilder &b, Location loc, Value x, Value y) {
  return mapped(b, loc, {x, y}, [](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::MulFOp::create(nb, nl, a[0], a[1]).getResult();
  });
}

Value negated(OpBuilder &b, Location loc, Value x) {
  return mapped(b, loc, {x}, [](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::NegFOp::create(nb, nl, a[0]).getResult();
  });
}

Value castedTo(OpBuilder &b, Location loc, Value x, Type elem) {
  Type from = elementTypeOf(x);
  if (from == elem)
    return x;
  bool widen = from.getIntOrFloatBitWidth() < elem.getIntOrFloatBitWidth();
  return mapped(
      b, loc, {x},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        if (widen)
          return arith::ExtFOp::create(nb, nl, elem, a[0]);
        return arith::TruncFOp::create(nb, nl, elem, a[0]);
      },
      elem);
}

/// The exp whose result the generic `g` yields, or null.
static math::ExpOp yieldedExp(linalg::GenericOp g) {
  auto yield = cast<linalg::YieldOp>(g.getRegion().front().getTerminator());
  return yield.getOperand(0).getDefiningOp<math::ExpOp>();
}

linalg::GenericOp expGeneric(Operation *def) {
  auto g = dyn_cast_or_null<linalg::GenericOp>(def);
  if (!g || g.getNumDpsInputs() != 1 || g->getNumResults() != 1 ||
      g.getNumReductionLoops() != 0 || !yieldedExp(g))
    return {};
  return g;
}

Value logOfExp(OpBuilder &b, Value decay) {
  auto copy = cast<linalg::GenericOp>(b.clone(*decay.getDefiningOp()));
  math::ExpOp exp = yieldedExp(copy);
  exp.getResult().replaceAllUsesWith(exp.getOperand());
  exp.erase();
  return copy.getResult(0);
}

} // namespace mixir::raise
