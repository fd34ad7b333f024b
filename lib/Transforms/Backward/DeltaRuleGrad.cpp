//===- DeltaRuleGrad.cpp - backward of mix.delta_rule ---------------------===//
//
// The delta rule is mix.recurrence with R = 1 (MIXERS.md): with k^ and q^
// the keys and queries (L2-normalised with qk_l2norm), beta' = beta (2 beta
// with allow_neg_eigval), k_s the key of state head s and d = exp(g),
//
//   a = d * k_s,   b = -beta' k_s,   v' = beta' v,   keys k^, queries q^.
//
// The backward builds that mix.recurrence and takes its gradients
// (RecurrenceGrad.cpp), then applies the chain rule through the cast:
//
//   dv = beta' dv'                   dbeta' = v . dv' - k_s . db
//   dk_s += d * da - beta' db        dg += d * k_s * da (summed over K for
//                                    a scalar gate)
//
// and through the normalisation, x^ = x r with r = (|x|^2 + 1e-6)^-1/2:
// dx = r (dx^ - x^ (x^ . dx^)).
//
//===----------------------------------------------------------------------===//
#include "GradBuilders.h"
#include "Grads.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::grad {
namespace {

/// sum of x * y over the last dim.
Value dotLast(OpBuilder &b, Location loc, Value x, Value y) {
  int64_t last = cast<RankedTensorType>(x.getType()).getRank() - 1;
  return build::reduce(b, loc, mul(b, loc, x, y), {last}, false,
                       build::ReduceKind::sum);
}

/// `x` with a dim of 1 inserted after dim `d`.
Value unsqueezeAfter(OpBuilder &b, Location loc, Value x, int64_t d) {
  return splitDim(b, loc, x, d, 1);
}

/// `x` [.., n] as [.., n, 1], to broadcast over another last dim.
Value unsqueezeLast(OpBuilder &b, Location loc, Value x) {
  return unsqueezeAfter(b, loc, x,
                        cast<RankedTensorType>(x.getType()).getRank() - 1);
}

/// 1 / sqrt(sum x^2 + 1e-6) over the last dim, with a trailing 1.
Value inverseNorm(OpBuilder &b, Location loc, Value x) {
  Value sq = dotLast(b, loc, x, x);
  Value r = build::elementwise(
      b, loc, ValueRange{sq}, b.getF32Type(),
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value eps = build::scalarConstant(nb, l, nb.getF32Type(), 1e-6);
        return math::RsqrtOp::create(nb, l,
                                     arith::AddFOp::create(nb, l, a[0], eps))
            .getResult();
      });
  return unsqueezeLast(b, loc, r);
}

/// d x from d x^ through x^ = x r: r (dx^ - x^ (x^ . dx^)).
Value normBackward(OpBuilder &b, Location loc, Value xHat, Value r,
                   Value dHat) {
  Value along = unsqueezeLast(b, loc, dotLast(b, loc, xHat, dHat));
  return mul(b, loc, r, sub(b, loc, dHat, mul(b, loc, xHat, along)));
}

/// The exp of a log gate, shaped to scale [B, T, Hv, K].
Value decayFactor(OpBuilder &b, Location loc, Value g, GateKind kind) {
  Value d =
      build::elementwise(b, loc, ValueRange{toF32(b, loc, g)}, b.getF32Type(),
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           return math::ExpOp::create(nb, l, a[0]).getResult();
                         });
  return kind == GateKind::vector ? d : unsqueezeLast(b, loc, d);
}

} // namespace

FailureOr<SmallVector<Value>> deltaRuleGrad(OpBuilder &b, mix::DeltaRuleOp op,
                                            Value dO, Value dS,
                                            std::string &why) {
  Location loc = op.getLoc();
  GateKind kind = op.getGateKind();
  int64_t hk = dimOf(op.getK(), 2), hv = dimOf(op.getV(), 2);
  bool norm = op.getQkL2norm();
  Value q = toF32(b, loc, op.getQ()), k = toF32(b, loc, op.getK());
  Value rq, rk;
  if (norm) {
    rq = inverseNorm(b, loc, q), rk = inverseNorm(b, loc, k);
    q = mul(b, loc, q, rq), k = mul(b, loc, k, rk);
  }
  Value beta = toF32(b, loc, op.getBeta());
  if (op.getAllowNegEigval())
    beta = scaled(b, loc, beta, 2.0);
  Value betaCol = unsqueezeLast(b, loc, beta); // [B, T, Hv, 1]
  Value ks = repeatHeads(b, loc, k, 2, hv / hk);
  Value d =
      kind == GateKind::none ? Value() : decayFactor(b, loc, op.getG(), kind);
  Value a = d ? mul(b, loc, ks, d) : ks;
  Value bb = scaled(b, loc, mul(b, loc, ks, betaCol), -1.0);
  Value v = toF32(b, loc, op.getV());
  Value vb = mul(b, loc, v, betaCol);

  auto rec = mix::RecurrenceOp::create(
      b, loc,
      RankedTensorType::get(op.getO().getType().getShape(), b.getF32Type()),
      op.getFinalState().getType(), q, k, vb, unsqueezeAfter(b, loc, a, 2),
      unsqueezeAfter(b, loc, bb, 2),
      op.getG() ? toF32(b, loc, op.getG()) : Value(), op.getInitialState(),
      op.getCuSeqlens(), Value(), mix::GateKindAttr::get(b.getContext(), kind),
      mix::DecayKindAttr::get(b.getContext(), mix::DecayKind::log),
      b.getF32FloatAttr(op.getScaleOrDefault()), IntegerAttr());
  FailureOr<SmallVector<Value>> rg =
      recurrenceGrad(b, rec, dO ? toF32(b, loc, dO) : dO, dS, why);
  if (failed(rg))
    return failure();
  // Gradients of rec's operands: q, k, v', a, b, [g], [initial_state].
  Value dq = (*rg)[0], dk = (*rg)[1], dvb = (*rg)[2];
  Value da = mergeDims(b, loc, (*rg)[3], 2),
        db = mergeDims(b, loc, (*rg)[4], 2);
  Value dks =
      sub(b, loc, d ? mul(b, loc, d, da) : da, mul(b, loc, betaCol, db));
  dk = add(b, loc, dk, sumHeads(b, loc, dks, 2, hv / hk));
  Value dbeta = sub(b, loc, dotLast(b, loc, v, dvb), dotLast(b, loc, ks, db));
  if (op.getAllowNegEigval())
    dbeta = scaled(b, loc, dbeta, 2.0);
  if (norm) {
    dq = normBackward(b, loc, q, rq, dq);
    dk = normBackward(b, loc, k, rk, dk);
  }
  SmallVector<Value> grads = {
      castLike(b, loc, dq, op.getQ()), castLike(b, loc, dk, op.getK()),
      castLike(b, loc, mul(b, loc, dvb, betaCol), op.getV()),
      castLike(b, loc, dbeta, op.getBeta())};
  size_t next = 5;
  if (kind != GateKind::none) {
    Value dg = mul(b, loc, mul(b, loc, d, ks), da);
    if (kind != GateKind::vector)
      dg = build::reduce(b, loc, dg, {3}, false, build::ReduceKind::sum);
    grads.push_back(castLike(
        b, loc, add(b, loc, toF32(b, loc, (*rg)[next++]), dg), op.getG()));
  }
  if (op.getInitialState())
    grads.push_back((*rg)[next]);
  if (rec->use_empty())
    rec->erase();
  return grads;
}

} // namespace mixir::grad
