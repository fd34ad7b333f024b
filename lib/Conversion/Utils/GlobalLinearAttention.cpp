//===- GlobalLinearAttention.cpp - non-causal, ungated linear attention ---===//
//
// MIXERS.md "Non-causal and normalised linear attention": without a gate
// every query reads every key with weight 1, so per batch `b`
//
//   S[b, s]    = sum over all t of k[b, t, s/(Hv/Hk)] v[b, t, s]^T  [K, V]
//   o[b, t, h] = S[b, h/(Ho/Hv)]^T (scale q[b, t, h/(Ho/Hq)])
//
// and with `normalize` each output row is divided by the same with v = 1,
// scale q . z with z = sum over all t of k (0 where that divisor is 0).
// S is the final state (the forward recurrence's).
//
// The head sharing is spelled out by reshapes, so that every contraction
// is a linalg.generic with plain dimension maps: v splits its Hv heads into
// [Hk, Hv/Hk] (the states of one key head), q its Hq heads and the states
// their Hv into [G, Hq/G] and [G, Hv/G] with G = min(Hq, Hv), and the
// output [G, Hq/G, Hv/G] collapses into its Ho heads in order (one of the
// two ratios is 1). Products and sums are f32; the output is rounded once.
//
//===----------------------------------------------------------------------===//
#include "GlobalLinearAttention.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>

using namespace mlir;

namespace mixir::lowering {
namespace {

constexpr utils::IteratorType P = utils::IteratorType::parallel;
constexpr utils::IteratorType R = utils::IteratorType::reduction;

class GlobalForm {
public:
  GlobalForm(ImplicitLocOpBuilder &b, mix::LinearAttentionOp op)
      : b(b), op(op), oType(cast<RankedTensorType>(op.getO().getType())),
        sType(cast<RankedTensorType>(op.getFinalState().getType())) {
    auto dim = [&](Value x, unsigned d) {
      return cast<RankedTensorType>(x.getType()).getDimSize(d);
    };
    hq = dim(op.getQ(), 2);
    hk = dim(op.getK(), 2);
    hv = dim(op.getV(), 2);
    kd = dim(op.getQ(), 3);
    vd = dim(op.getV(), 3);
    groups = std::min(hq, hv);
  }
  std::pair<Value, Value> build();

private:
  /// Dim `d` of the result `like` (static, or taken from q's dim `qDim`).
  OpFoldResult size(RankedTensorType like, unsigned d, unsigned qDim) {
    if (!like.isDynamicDim(d))
      return b.getIndexAttr(like.getDimSize(d));
    return tensor::DimOp::create(b, op.getQ(), qDim).getResult();
  }
  Value zeros(ArrayRef<OpFoldResult> sizes);
  Value split(Value x, unsigned d, int64_t outer);
  Value merge(Value x, unsigned d, unsigned count);
  AffineMap map(unsigned loops, ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(loops, 0, exprs, b.getContext());
  }
  Value sumOfProducts(ValueRange ins, Value init, ArrayRef<AffineMap> maps,
                      ArrayRef<utils::IteratorType> iters);
  Value finish(Value num, Value den);

  ImplicitLocOpBuilder &b;
  mix::LinearAttentionOp op;
  RankedTensorType oType, sType;
  int64_t hq, hk, hv, kd, vd, groups;
};

Value GlobalForm::zeros(ArrayRef<OpFoldResult> sizes) {
  Value empty = tensor::EmptyOp::create(b, sizes, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  return linalg::FillOp::create(b, zero, empty).getResult(0);
}

/// `x` with dim `d` split into [outer, size / outer].
Value GlobalForm::split(Value x, unsigned d, int64_t outer) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, b.getLoc(), x);
  SmallVector<int64_t> shape(type.getShape());
  int64_t inner = shape[d] / outer;
  sizes[d] = b.getIndexAttr(inner);
  sizes.insert(sizes.begin() + d, b.getIndexAttr(outer));
  shape[d] = inner;
  shape.insert(shape.begin() + d, outer);
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    int64_t at = i > static_cast<int64_t>(d) ? i + 1 : i;
    groups.push_back(i == static_cast<int64_t>(d)
                         ? ReassociationIndices{at, at + 1}
                         : ReassociationIndices{at});
  }
  return tensor::ExpandShapeOp::create(b, type.clone(shape), x, groups, sizes);
}

/// `x` with dims d .. d + count - 1 merged into one.
Value GlobalForm::merge(Value x, unsigned d, unsigned count) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank; ++i) {
    if (i <= static_cast<int64_t>(d) || i >= static_cast<int64_t>(d + count))
      groups.push_back({i});
    else
      groups.back().push_back(i);
  }
  return tensor::CollapseShapeOp::create(b, x, groups);
}

/// init + the sum over the reduction loops of the product of `ins`, each
/// widened to f32 (one linalg.generic; `maps` end with init's).
Value GlobalForm::sumOfProducts(ValueRange ins, Value init,
                                ArrayRef<AffineMap> maps,
                                ArrayRef<utils::IteratorType> iters) {
  return linalg::GenericOp::create(
             b, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               auto f32 = [&](Value x) -> Value {
                 return x.getType().isF32() ? x
                                            : arith::ExtFOp::create(
                                                  nb, loc, nb.getF32Type(), x);
               };
               Value p = f32(args[0]);
               for (Value x : args.drop_front().drop_back())
                 p = arith::MulFOp::create(nb, loc, p, f32(x));
               Value sum = arith::AddFOp::create(nb, loc, args.back(), p);
               linalg::YieldOp::create(nb, loc, sum);
             })
      .getResult(0);
}

/// The output [B, T, G, Hq/G, Hv/G, V] in o's element type: scale * num,
/// divided by scale * den (0 where that is 0) when `den` is given.
Value GlobalForm::finish(Value num, Value den) {
  auto numType = cast<RankedTensorType>(num.getType());
  Value init = tensor::EmptyOp::create(
      b, tensor::getMixedSizes(b, b.getLoc(), num), oType.getElementType());
  SmallVector<Value> ins{num};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(6)};
  if (den) {
    ins.push_back(den);
    maps.push_back(map(6, {0, 1, 2, 3, 4}));
  }
  maps.push_back(b.getMultiDimIdentityMap(6));
  float scale = op.getScaleOrDefault();
  Type elem = oType.getElementType();
  return linalg::GenericOp::create(
             b, TypeRange{numType.clone(elem)}, ins, ValueRange{init}, maps,
             SmallVector<utils::IteratorType>(6, P),
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               auto f32 = [&](float x) -> Value {
                 return arith::ConstantOp::create(nb, loc,
                                                  nb.getF32FloatAttr(x));
               };
               Value x = arith::MulFOp::create(nb, loc, f32(scale), args[0]);
               if (den) {
                 Value d = arith::MulFOp::create(nb, loc, f32(scale), args[1]);
                 Value nonzero = arith::CmpFOp::create(
                     nb, loc, arith::CmpFPredicate::ONE, d, f32(0.0f));
                 Value safe =
                     arith::SelectOp::create(nb, loc, nonzero, d, f32(1.0f));
                 x = arith::SelectOp::create(
                     nb, loc, nonzero, arith::DivFOp::create(nb, loc, x, safe),
                     f32(0.0f));
               }
               if (elem != x.getType())
                 x = arith::TruncFOp::create(nb, loc, elem, x);
               linalg::YieldOp::create(nb, loc, x);
             })
      .getResult(0);
}

std::pair<Value, Value> GlobalForm::build() {
  Value q = op.getQ(), k = op.getK(), v = op.getV();
  OpFoldResult bs = size(sType, 0, 0);
  auto idx = [&](int64_t n) -> OpFoldResult { return b.getIndexAttr(n); };
  int64_t perKey = hv / hk, qs = hq / groups, ss = hv / groups;
  // S[b, Hk, Hv/Hk, K, V] = sum over t of k[b, t, Hk, K] v[b, t, Hk, Hv/Hk, V]
  // on loops (b, key head, state, t, K, V).
  Value s5 = sumOfProducts(
      {k, split(v, 2, hk)}, zeros({bs, idx(hk), idx(perKey), idx(kd), idx(vd)}),
      {map(6, {0, 3, 1, 4}), map(6, {0, 3, 1, 2, 5}), map(6, {0, 1, 2, 4, 5})},
      {P, P, P, R, P, P});
  Value state = merge(s5, 1, 2);
  // num[b, t, G, Hq/G, Hv/G, V] = sum over K of q[b, t, G, Hq/G, K]
  // S[b, G, Hv/G, K, V] on loops (b, t, G, Hq/G, Hv/G, K, V).
  Value qg = split(q, 2, groups);
  SmallVector<OpFoldResult> outSizes{size(oType, 0, 0), size(oType, 1, 1),
                                     idx(groups), idx(qs), idx(ss)};
  SmallVector<OpFoldResult> numSizes(outSizes);
  numSizes.push_back(idx(vd));
  Value num = sumOfProducts({qg, split(state, 1, groups)}, zeros(numSizes),
                            {map(7, {0, 1, 2, 3, 5}), map(7, {0, 2, 4, 5, 6}),
                             map(7, {0, 1, 2, 3, 4, 6})},
                            {P, P, P, P, P, R, P});
  Value den;
  if (op.getNormalize()) {
    // z[b, Hk, Hv/Hk, K] = sum over t of k, then den = q . z per state.
    Value z5 = sumOfProducts({k}, zeros({bs, idx(hk), idx(perKey), idx(kd)}),
                             {map(5, {0, 3, 1, 4}), map(5, {0, 1, 2, 4})},
                             {P, P, P, R, P});
    Value z = split(merge(z5, 1, 2), 1, groups);
    den = sumOfProducts({qg, z}, zeros(outSizes),
                        {map(6, {0, 1, 2, 3, 5}), map(6, {0, 2, 4, 5}),
                         map(6, {0, 1, 2, 3, 4})},
                        {P, P, P, P, P, R});
  }
  return {merge(finish(num, den), 2, 3), state};
}

} // namespace

std::pair<Value, Value> buildGlobalLinearAttention(ImplicitLocOpBuilder &b,
                                                   mix::LinearAttentionOp op) {
  return GlobalForm(b, op).build();
}

} // namespace mixir::lowering
