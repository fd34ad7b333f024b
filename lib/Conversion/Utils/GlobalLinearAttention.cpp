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
// Per batch, two passes over the sequence in tiles of kChunk tokens (the
// last one padded with zero rows, which add nothing to S and whose outputs
// are dropped), so that every contraction has static shapes and takes the
// CPU's register tiles (vectorize-tiles): the first sums S (and z), the
// second multiplies each tile of q by S. The head sharing is spelled out by
// reshapes, so that every contraction is a linalg.generic with plain
// dimension maps: v splits its Hv heads into [Hk, Hv/Hk] (the states of one
// key head), q its Hq heads and the states their Hv into [G, Hq/G] and
// [G, Hv/G] with G = min(Hq, Hv), and the output [G, Hq/G, Hv/G] collapses
// into its Ho heads in order (one of the two ratios is 1). Products and
// sums are f32; the output is rounded once.
//
//===----------------------------------------------------------------------===//
#include "GlobalLinearAttention.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>
#include <functional>

using namespace mlir;

namespace mixir::lowering {
namespace {

constexpr utils::IteratorType P = utils::IteratorType::parallel;
constexpr utils::IteratorType R = utils::IteratorType::reduction;

/// Tokens per tile of the sequence.
constexpr int64_t kChunk = 64;

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
    T = tensor::DimOp::create(b, op.getQ(), 1);
  }
  std::pair<Value, Value> build();

private:
  using LoopBody = std::function<SmallVector<Value>(Value, ValueRange)>;
  OpFoldResult idx(int64_t n) { return b.getIndexAttr(n); }
  Value cst(int64_t n) { return arith::ConstantIndexOp::create(b, n); }
  /// Dim `d` of the result `like` (static, or taken from q's dim `qDim`).
  OpFoldResult size(RankedTensorType like, unsigned d, unsigned qDim) {
    if (!like.isDynamicDim(d))
      return idx(like.getDimSize(d));
    return tensor::DimOp::create(b, op.getQ(), qDim).getResult();
  }
  Value zeros(ArrayRef<OpFoldResult> sizes, Type elem);
  SmallVector<Value> loop(Value upper, int64_t step, ValueRange inits,
                          const LoopBody &body);
  Value tile(Value x, Value batch, Value t0, Value rows);
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
  std::pair<Value, Value> sums(Value batch);
  Value outputTile(Value qt, Value state, Value z);

  ImplicitLocOpBuilder &b;
  mix::LinearAttentionOp op;
  RankedTensorType oType, sType;
  int64_t hq, hk, hv, kd, vd, groups;
  Value T;
};

Value GlobalForm::zeros(ArrayRef<OpFoldResult> sizes, Type elem) {
  Value empty = tensor::EmptyOp::create(b, sizes, elem);
  Value zero = arith::ConstantOp::create(b, b.getZeroAttr(elem));
  return linalg::FillOp::create(b, zero, empty).getResult(0);
}

/// scf.for from 0 to `upper` by `step` carrying `inits`; `body` builds at
/// `b` and returns the values to carry on.
SmallVector<Value> GlobalForm::loop(Value upper, int64_t step, ValueRange inits,
                                    const LoopBody &body) {
  auto forOp = scf::ForOp::create(b, cst(0), upper, cst(step), inits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  SmallVector<Value> next =
      body(forOp.getInductionVar(), forOp.getRegionIterArgs());
  scf::YieldOp::create(b, next);
  return SmallVector<Value>(forOp.getResults());
}

/// Tokens t0 .. t0 + rows - 1 of x[batch] ([B, T, H, D]) as a [kChunk, H, D]
/// tile, zero from row `rows` on.
Value GlobalForm::tile(Value x, Value batch, Value t0, Value rows) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t h = type.getDimSize(2), d = type.getDimSize(3);
  auto sliceType = RankedTensorType::get({ShapedType::kDynamic, h, d},
                                         type.getElementType());
  Value slice = tensor::ExtractSliceOp::create(
      b, sliceType, x, ArrayRef<OpFoldResult>{batch, t0, idx(0), idx(0)},
      ArrayRef<OpFoldResult>{idx(1), rows, idx(h), idx(d)},
      ArrayRef<OpFoldResult>{idx(1), idx(1), idx(1), idx(1)});
  Value padded = zeros({idx(kChunk), idx(h), idx(d)}, type.getElementType());
  return tensor::InsertSliceOp::create(
      b, slice, padded, ArrayRef<OpFoldResult>{idx(0), idx(0), idx(0)},
      ArrayRef<OpFoldResult>{rows, idx(h), idx(d)},
      ArrayRef<OpFoldResult>{idx(1), idx(1), idx(1)});
}

/// `x` with dim `d` split into [outer, size / outer].
Value GlobalForm::split(Value x, unsigned d, int64_t outer) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, b.getLoc(), x);
  SmallVector<int64_t> shape(type.getShape());
  int64_t inner = shape[d] / outer;
  sizes[d] = idx(inner);
  sizes.insert(sizes.begin() + d, idx(outer));
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

/// S[Hk, Hv/Hk, K, V] of batch `batch` (the sum over every token of k v^T
/// per state) and, for `normalize`, z[Hk, Hv/Hk, K] (the sum of k).
std::pair<Value, Value> GlobalForm::sums(Value batch) {
  int64_t perKey = hv / hk;
  SmallVector<Value> inits{
      zeros({idx(hk), idx(perKey), idx(kd), idx(vd)}, b.getF32Type())};
  if (op.getNormalize())
    inits.push_back(zeros({idx(hk), idx(perKey), idx(kd)}, b.getF32Type()));
  SmallVector<Value> out =
      loop(T, kChunk, inits, [&](Value t0, ValueRange acc) {
        Value rows = arith::MinSIOp::create(b, cst(kChunk),
                                            arith::SubIOp::create(b, T, t0));
        Value kt = tile(op.getK(), batch, t0, rows);
        Value vt = split(tile(op.getV(), batch, t0, rows), 1, hk);
        // Loops (key head, state, K, V, token): the token innermost.
        SmallVector<Value> next{sumOfProducts(
            {kt, vt}, acc[0],
            {map(5, {4, 0, 2}), map(5, {4, 0, 1, 3}), map(5, {0, 1, 2, 3})},
            {P, P, P, P, R})};
        if (op.getNormalize())
          next.push_back(sumOfProducts({kt}, acc[1],
                                       {map(4, {3, 0, 2}), map(4, {0, 1, 2})},
                                       {P, P, P, R}));
        return next;
      });
  return {out[0], op.getNormalize() ? out[1] : Value()};
}

/// One tile of the output, [kChunk, G, Hq/G, Hv/G, V] in o's element type,
/// from q's tile `qt` ([kChunk, G, Hq/G, K]), the states [G, Hv/G, K, V]
/// and z [G, Hv/G, K] (null without `normalize`): scale * q . S, divided by
/// scale * q . z (0 where that is 0).
Value GlobalForm::outputTile(Value qt, Value state, Value z) {
  int64_t qs = hq / groups, ss = hv / groups;
  SmallVector<OpFoldResult> rowSizes{idx(kChunk), idx(groups), idx(qs),
                                     idx(ss)};
  SmallVector<OpFoldResult> sizes(rowSizes);
  sizes.push_back(idx(vd));
  // Loops (G, Hq/G, Hv/G, token, V, K).
  Value num = sumOfProducts(
      {qt, state}, zeros(sizes, b.getF32Type()),
      {map(6, {3, 0, 1, 5}), map(6, {0, 2, 5, 4}), map(6, {3, 0, 1, 2, 4})},
      {P, P, P, P, P, R});
  SmallVector<Value> ins{num};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(5)};
  if (z) {
    ins.push_back(sumOfProducts(
        {qt, z}, zeros(rowSizes, b.getF32Type()),
        {map(5, {3, 0, 1, 4}), map(5, {0, 2, 4}), map(5, {3, 0, 1, 2})},
        {P, P, P, P, R}));
    maps.push_back(map(5, {0, 1, 2, 3}));
  }
  maps.push_back(b.getMultiDimIdentityMap(5));
  float scale = op.getScaleOrDefault();
  Type elem = oType.getElementType();
  Value init = tensor::EmptyOp::create(b, sizes, elem);
  return linalg::GenericOp::create(
             b, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
             SmallVector<utils::IteratorType>(5, P),
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               auto f32 = [&](float x) -> Value {
                 return arith::ConstantOp::create(nb, loc,
                                                  nb.getF32FloatAttr(x));
               };
               Value x = arith::MulFOp::create(nb, loc, f32(scale), args[0]);
               if (z) {
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
  int64_t ho = oType.getDimSize(2);
  Value oInit = tensor::EmptyOp::create(
      b,
      ArrayRef<OpFoldResult>{size(oType, 0, 0), size(oType, 1, 1), idx(ho),
                             idx(vd)},
      oType.getElementType());
  Value sInit = tensor::EmptyOp::create(
      b, ArrayRef<OpFoldResult>{size(sType, 0, 0), idx(hv), idx(kd), idx(vd)},
      b.getF32Type());
  Value batches = tensor::DimOp::create(b, op.getQ(), 0);
  auto ones = [&](unsigned n) { return SmallVector<OpFoldResult>(n, idx(1)); };
  SmallVector<Value> out =
      loop(batches, 1, {oInit, sInit}, [&](Value batch, ValueRange acc) {
        auto [s5, z5] = sums(batch);
        Value state = merge(s5, 0, 2); // [Hv, K, V]
        Value stateOut = tensor::InsertSliceOp::create(
            b, state, acc[1],
            ArrayRef<OpFoldResult>{batch, idx(0), idx(0), idx(0)},
            ArrayRef<OpFoldResult>{idx(1), idx(hv), idx(kd), idx(vd)}, ones(4));
        Value sg = split(state, 0, groups);
        Value zg = z5 ? split(merge(z5, 0, 2), 0, groups) : Value();
        SmallVector<Value> o =
            loop(T, kChunk, {acc[0]}, [&](Value t0, ValueRange oAcc) {
              Value rows = arith::MinSIOp::create(
                  b, cst(kChunk), arith::SubIOp::create(b, T, t0));
              Value qt = split(tile(op.getQ(), batch, t0, rows), 1, groups);
              Value ot = merge(outputTile(qt, sg, zg), 1, 3); // [kChunk, Ho, V]
              auto rowsType = RankedTensorType::get(
                  {ShapedType::kDynamic, ho, vd}, oType.getElementType());
              Value valid = tensor::ExtractSliceOp::create(
                  b, rowsType, ot,
                  ArrayRef<OpFoldResult>{idx(0), idx(0), idx(0)},
                  ArrayRef<OpFoldResult>{rows, idx(ho), idx(vd)}, ones(3));
              return SmallVector<Value>{tensor::InsertSliceOp::create(
                  b, valid, oAcc[0],
                  ArrayRef<OpFoldResult>{batch, t0, idx(0), idx(0)},
                  ArrayRef<OpFoldResult>{idx(1), rows, idx(ho), idx(vd)},
                  ones(4))};
            });
        return SmallVector<Value>{o[0], stateOut};
      });
  return {out[0], out[1]};
}

} // namespace

std::pair<Value, Value> buildGlobalLinearAttention(ImplicitLocOpBuilder &b,
                                                   mix::LinearAttentionOp op) {
  return GlobalForm(b, op).build();
}

} // namespace mixir::lowering
