//===- LinearAttentionGrad.cpp - backward of mix.linear_attention ---------===//
//
// With S_t = D_t S_{t-1} + k_t v_t^T and o_t = s S_t^T q_t, and R_u the
// state gradient (R_u = D_{u+1}^T R_{u+1} + s q_u do_u^T, R_{T-1} including
// d final_state), the gradients are three linear recurrences:
//
//   dq_t = s S_t do_t     the forward recurrence read through its transpose
//                         (keys v, values k, queries do);
//   dv_u = R_u^T k_u      the reverse recurrence (keys s q, values do);
//   dk_u = R_u v_u        the same, transposed (keys do, values s q);
//
// plus d initial_state = D_0 R_0 and, for the gates, the reverse cumulative
// sum of q_t . dq_t - k_t . dk_t (per key channel for the vector gate; the
// final state adds <dS, S_T> at the last step). Each is a
// mix.linear_attention, so the chunking passes give the backward the same
// chunkwise algorithm as the forward. A vector gate decays the key axis,
// which the transposed reads put on the value axis; there each key channel
// becomes its own head with a scalar gate and a value of width 1.
//
// Shared heads (GQA/GVA) are expanded to one copy of the state per output
// head; the gradients of shared inputs are summed over the copies, and d
// final_state enters one copy only.
//
//===----------------------------------------------------------------------===//
#include "GradBuilders.h"
#include "Grads.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::grad {
namespace {

/// The recurrence S = D S + k v^T, o = S^T (scale q) on f32 operands, as
/// the general op (mix.recurrence without low-rank terms): its chunked form
/// is the one every target lowers; returns (o, final_state).
std::pair<Value, Value> linearAttention(OpBuilder &b, Location loc, Value q,
                                        Value k, Value v, Value g, Value s0,
                                        GateKind kind, double scale) {
  int64_t ho = std::max(dimOf(q, 2), dimOf(v, 2));
  Type f32 = b.getF32Type();
  auto oType =
      RankedTensorType::get({dimOf(q, 0), dimOf(q, 1), ho, dimOf(v, 3)}, f32);
  auto sType = RankedTensorType::get(
      {dimOf(q, 0), dimOf(v, 2), dimOf(q, 3), dimOf(v, 3)}, f32);
  auto op = mix::RecurrenceOp::create(
      b, loc, oType, sType, q, k, v, Value(), Value(), g, s0, Value(), Value(),
      mix::GateKindAttr::get(b.getContext(), kind),
      mix::DecayKindAttr::get(b.getContext(), mix::DecayKind::log),
      b.getF32FloatAttr(static_cast<float>(scale)), IntegerAttr());
  return {op.getO(), op.getFinalState()};
}

/// `x` with dims [from, from + 1] merged (a head per key channel) and,
/// when `unit`, a trailing dim of 1 (a value of width 1).
Value headPerChannel(OpBuilder &b, Location loc, Value x, int64_t from,
                     bool unit) {
  if (!x)
    return x;
  Value merged = mergeDims(b, loc, x, from);
  if (!unit)
    return merged;
  int64_t last = cast<RankedTensorType>(merged.getType()).getRank() - 1;
  return splitDim(b, loc, merged, last, 1);
}

Value transposeState(OpBuilder &b, Location loc, Value s) {
  return s ? build::transpose(b, loc, s, {0, 1, 3, 2}) : s;
}

/// Everything the derivation reads, with heads expanded to Ho and f32.
struct Expanded {
  int64_t cq, ck, cv, ho;
  double scale;
  GateKind kind, reverseKind;
  Value q, k, v, d, g, gReverse, s0, dS;
  Value qsF, kF, vF, dF; // scale * q, k, v, do read backwards in time
};

Expanded expand(OpBuilder &b, Location loc, mix::LinearAttentionOp op, Value dO,
                Value dS) {
  Expanded e;
  int64_t hq = dimOf(op.getQ(), 2), hk = dimOf(op.getK(), 2),
          hv = dimOf(op.getV(), 2);
  e.ho = std::max(hq, hv);
  e.cq = e.ho / hq, e.ck = e.ho / hk, e.cv = e.ho / hv;
  e.scale = op.getScaleOrDefault();
  e.kind = op.getGateKind();
  e.q = repeatHeads(b, loc, toF32(b, loc, op.getQ()), 2, e.cq);
  e.k = repeatHeads(b, loc, toF32(b, loc, op.getK()), 2, e.ck);
  e.v = repeatHeads(b, loc, toF32(b, loc, op.getV()), 2, e.cv);
  e.d = outputCotangent(b, loc, dO, e.q, dimOf(e.v, 3));
  e.reverseKind = e.kind == GateKind::head ? GateKind::scalar : e.kind;
  if (e.kind != GateKind::none) {
    e.g =
        repeatHeads(b, loc, op.getG(), e.kind == GateKind::head ? 0 : 2, e.cv);
    Value perStep = e.g;
    if (e.kind == GateKind::head) {
      SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, e.q);
      sizes.pop_back();
      perStep = build::elementwise(
          b, loc, ValueRange{e.g}, b.getF32Type(),
          [](OpBuilder &, Location, ValueRange a) { return a[0]; }, sizes);
    }
    e.gReverse = reverseShiftedGate(b, loc, perStep);
  }
  if (op.getInitialState())
    e.s0 = repeatHeads(b, loc, op.getInitialState(), 1, e.cv);
  if (dS)
    e.dS = firstCopy(b, loc, dS, 1, e.cv);
  e.qsF = reverseTime(b, loc, scaled(b, loc, e.q, e.scale));
  e.kF = reverseTime(b, loc, e.k);
  e.vF = reverseTime(b, loc, e.v);
  e.dF = reverseTime(b, loc, e.d);
  return e;
}

/// dq and dk per output head, [B, T, Ho, K].
std::pair<Value, Value> queryKeyGrads(OpBuilder &b, Location loc,
                                      const Expanded &e) {
  if (e.kind != GateKind::vector) {
    Value dq = linearAttention(b, loc, e.d, e.v, e.k, e.g,
                               transposeState(b, loc, e.s0), e.kind, e.scale)
                   .first;
    Value dkF =
        linearAttention(b, loc, e.vF, e.dF, e.qsF, e.gReverse,
                        transposeState(b, loc, e.dS), e.reverseKind, 1.0)
            .first;
    return {dq, reverseTime(b, loc, dkF)};
  }
  int64_t K = dimOf(e.q, 3);
  auto perHead = [&](Value o) { // [B, T, Ho * K, 1] -> [B, T, Ho, K]
    return splitDim(b, loc, mergeDims(b, loc, o, 2), 2, K);
  };
  Value dq =
      linearAttention(b, loc, e.d, e.v, headPerChannel(b, loc, e.k, 2, true),
                      headPerChannel(b, loc, e.g, 2, false),
                      headPerChannel(b, loc, e.s0, 1, true), GateKind::scalar,
                      e.scale)
          .first;
  Value dkF = linearAttention(
                  b, loc, e.vF, e.dF, headPerChannel(b, loc, e.qsF, 2, true),
                  headPerChannel(b, loc, e.gReverse, 2, false),
                  headPerChannel(b, loc, e.dS, 1, true), GateKind::scalar, 1.0)
                  .first;
  return {perHead(dq), reverseTime(b, loc, perHead(dkF))};
}

/// The decay of step 0, shaped to multiply a [B, Ho, K, V] state.
Value initialDecay(OpBuilder &b, Location loc, const Expanded &e) {
  SmallVector<OpFoldResult> sizes;
  Value decay;
  if (e.kind == GateKind::head) {
    decay = build::elementwise(
        b, loc, ValueRange{e.g}, b.getF32Type(),
        [](OpBuilder &nb, Location l, ValueRange a) {
          return math::ExpOp::create(nb, l, a[0]).getResult();
        });
    sizes = {b.getIndexAttr(1), b.getIndexAttr(e.ho), b.getIndexAttr(1),
             b.getIndexAttr(1)};
  } else {
    decay = firstStepDecay(b, loc, e.g);
    sizes = build::sizesOf(b, loc, decay);
    if (e.kind == GateKind::scalar)
      sizes.push_back(b.getIndexAttr(1));
    sizes.push_back(b.getIndexAttr(1));
  }
  return build::reshape(b, loc, decay, sizes);
}

/// d g from the expanded dq, dk (and <dS, S_T> at the last step).
Value gateGrad(OpBuilder &b, Location loc, mix::LinearAttentionOp op,
               const Expanded &e, Value dq, Value dk, Value dS) {
  Value prod = sub(b, loc, mul(b, loc, e.q, dq), mul(b, loc, e.k, dk));
  bool perChannel = e.kind == GateKind::vector;
  if (!perChannel)
    prod = build::reduce(b, loc, prod, {3}, false, build::ReduceKind::sum);
  Value dG = sumHeads(b, loc, prod, 2, e.cv);
  if (dS) {
    Value term = build::reduce(b, loc, mul(b, loc, dS, op.getFinalState()),
                               perChannel ? SmallVector<int64_t>{3}
                                          : SmallVector<int64_t>{2, 3},
                               false, build::ReduceKind::sum);
    dG = addAtLastStep(b, loc, dG, term);
  }
  if (e.kind != GateKind::head)
    return reverseCumsumTime(b, loc, dG);
  // One gate for every step: sum_t (t + 1) dG_t.
  return headGateGrad(b, loc, dG);
}

} // namespace

FailureOr<SmallVector<Value>> linearAttentionGrad(OpBuilder &b,
                                                  mix::LinearAttentionOp op,
                                                  Value dO, Value dS,
                                                  std::string &why) {
  Location loc = op.getLoc();
  for (Value x : {op.getQ(), op.getK(), op.getV()}) {
    auto t = cast<RankedTensorType>(x.getType());
    if (t.isDynamicDim(2) || t.isDynamicDim(3)) {
      why = "head counts and head dims must be static";
      return failure();
    }
  }
  Expanded e = expand(b, loc, op, dO, dS);
  auto [dvF, r0] = linearAttention(b, loc, e.kF, e.qsF, e.dF, e.gReverse, e.dS,
                                   e.reverseKind, 1.0);
  Value dv = reverseTime(b, loc, dvF);
  auto [dq, dk] = queryKeyGrads(b, loc, e);

  SmallVector<Value> grads = {
      castLike(b, loc, sumHeads(b, loc, dq, 2, e.cq), op.getQ()),
      castLike(b, loc, sumHeads(b, loc, dk, 2, e.ck), op.getK()),
      castLike(b, loc, sumHeads(b, loc, dv, 2, e.cv), op.getV())};
  if (e.kind != GateKind::none)
    grads.push_back(gateGrad(b, loc, op, e, dq, dk, dS));
  if (op.getInitialState()) {
    Value ds0 = r0;
    if (e.kind != GateKind::none)
      ds0 = mul(b, loc, r0, initialDecay(b, loc, e));
    grads.push_back(sumHeads(b, loc, ds0, 1, e.cv));
  }
  return grads;
}

} // namespace mixir::grad
