//===- RecurrenceGrad.cpp - backward of mix.recurrence --------------------===//
//
// Forward: S_t = A_t S_{t-1} + k_t v_t^T with A_t = D_t + sum_r b_tr a_tr^T,
// o_t = s S_t^T q_t. The state gradient R_t = dL/dS_t runs backwards,
//
//   R_t = A_{t+1}^T R_{t+1} + s q_t do_t^T,   R_{T-1} including d final_state,
//
// and A^T = D + sum_r a_r b_r^T, so it is again a mix.recurrence: over
// reversed time, with lowrank(b, a) swapped and the gate and low-rank terms
// shifted by one step (the transition of step t + 1 acts between t + 1 and
// t), keys s q and values do. With u_tr = S_{t-1}^T a_tr and
// y_tr = R_t^T b_tr:
//
//   dq_t = s S_t do_t    dk_t = R_t v_t    dv_t = R_t^T k_t
//   db_tr = R_t u_tr     da_tr = S_{t-1} y_tr
//   d initial_state = A_0^T R_0 = D_0 R_0 + sum_r a_0r y_0r^T
//   dg_t = sum_{u >= t} X_u - sum_r a_tr * da_tr  (per key channel), with
//   X_u = q*dq - k*dk - sum_r b*db + sum_r a*da (+ rowsum(dS * S_T) last)
//
// S_{t-1} is the forward recurrence on inputs shifted by one step. The
// transposed reads (dq, dk, db, da) use mix.recurrence's `read transposed`;
// reads of one state with several query sets run as one op with the sets
// stacked as extra output heads. Shared heads are expanded to one copy of
// the state per output head (the backward is linear in each copy's do and
// dS); the gradients of shared inputs are summed over the copies.
//
// Packed sequences (cu_seqlens) are the same code: every recurrence runs
// packed (over reversed time, on the reversed packing, with d final_state
// and R_0 in its sequence order), and the shifts, first and last tokens and
// gate sums stop at sequence boundaries (Sequences.h).
//
//===----------------------------------------------------------------------===//
#include "GradBuilders.h"
#include "Grads.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::grad {
namespace {

/// One mix.recurrence on f32 operands (null a/b: R = 0; null g: gate none)
/// over the sequences `seqs`, in forward or reversed time.
struct Rec {
  Value q, k, v, a, b, g, s0;
  GateKind kind = GateKind::none;
  const Sequences *seqs = nullptr;
  bool reversedTime = false;
  double scale = 1.0;
  bool transposed = false;
};

std::pair<Value, Value> run(OpBuilder &b, Location loc, const Rec &r) {
  int64_t ho = std::max(dimOf(r.q, 2), dimOf(r.v, 2));
  int64_t K = dimOf(r.k, 3), V = dimOf(r.v, 3);
  Type f32 = b.getF32Type();
  auto oType = RankedTensorType::get(
      {dimOf(r.q, 0), dimOf(r.q, 1), ho, r.transposed ? K : V}, f32);
  auto sType =
      RankedTensorType::get({r.seqs->staticCount(), dimOf(r.v, 2), K, V}, f32);
  Value cu = r.reversedTime ? r.seqs->reversed() : r.seqs->forward();
  auto op = mix::RecurrenceOp::create(
      b, loc, oType, sType, r.q, r.k, r.v, r.a, r.b,
      r.kind == GateKind::none ? Value() : r.g, r.s0, cu, Value(),
      mix::GateKindAttr::get(b.getContext(), r.kind),
      mix::DecayKindAttr::get(b.getContext(), mix::DecayKind::log),
      b.getF32FloatAttr(static_cast<float>(r.scale)), IntegerAttr(),
      r.transposed ? b.getUnitAttr() : UnitAttr());
  return {op.getO(), op.getFinalState()};
}

/// The op's inputs with one state per output head, f32; a head gate is
/// given per step (as a scalar gate).
struct Expanded {
  int64_t cq, ck, cv, rank;
  double scale;
  GateKind kind;     // the op's
  GateKind stepKind; // of g below: head becomes scalar
  Value q, k, v, a, b, g, s0, dS, d;
};

Expanded expand(OpBuilder &b, Location loc, mix::RecurrenceOp op, Value dO,
                Value dS) {
  Expanded e;
  int64_t hq = dimOf(op.getQ(), 2), hk = dimOf(op.getK(), 2),
          hv = dimOf(op.getV(), 2), ho = std::max(hq, hv);
  e.cq = ho / hq, e.ck = ho / hk, e.cv = ho / hv, e.rank = op.getRank();
  e.scale = op.getScaleOrDefault();
  e.kind = op.getGateKind();
  e.stepKind = e.kind == GateKind::head ? GateKind::scalar : e.kind;
  e.q = repeatHeads(b, loc, toF32(b, loc, op.getQ()), 2, e.cq);
  e.k = repeatHeads(b, loc, toF32(b, loc, op.getK()), 2, e.ck);
  e.v = repeatHeads(b, loc, toF32(b, loc, op.getV()), 2, e.cv);
  if (e.rank) {
    e.a = repeatHeads(b, loc, toF32(b, loc, op.getA()), 2, e.cv);
    e.b = repeatHeads(b, loc, toF32(b, loc, op.getB()), 2, e.cv);
  }
  if (e.kind != GateKind::none) {
    Value g = toF32(b, loc, op.getG());
    e.g = repeatHeads(b, loc, g, e.kind == GateKind::head ? 0 : 2, e.cv);
    if (e.kind == GateKind::head) {
      SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, e.q);
      sizes.pop_back();
      e.g = build::elementwise(
          b, loc, ValueRange{e.g}, b.getF32Type(),
          [](OpBuilder &, Location, ValueRange a) { return a[0]; }, sizes);
    }
  }
  if (op.getInitialState())
    e.s0 = repeatHeads(b, loc, op.getInitialState(), 1, e.cv);
  if (dS)
    e.dS = firstCopy(b, loc, dS, 1, e.cv);
  e.d = outputCotangent(b, loc, dO, e.q, dimOf(e.v, 3));
  return e;
}

/// The forward recurrence (its states S_t), the same on inputs shifted by
/// one step (S_{t-1}), and the reverse one (R_t, read over reversed time).
struct Recurrences {
  Rec forward, before, reverse;
};

Recurrences recurrences(OpBuilder &b, Location loc, const Expanded &e,
                        const Sequences &seqs) {
  auto rec = [&](Value k, Value v, Value a, Value bb, Value g, Value s0,
                 bool reversedTime = false) {
    return Rec{Value(), k, v, a, bb, g, s0, e.stepKind, &seqs, reversedTime};
  };
  // Within each sequence: x[t - 1] (zeros first), and the next token's x
  // read backwards (zeros first).
  auto before = [&](Value x) {
    return x ? shiftForwardZero(b, loc, x, seqs) : x;
  };
  auto after = [&](Value x) {
    return x ? reverseShiftedGate(b, loc, x, seqs) : x;
  };
  Recurrences r;
  r.forward = rec(e.k, e.v, e.a, e.b, e.g, e.s0);
  r.before = rec(before(e.k), before(e.v), before(e.a), before(e.b),
                 before(e.g), e.s0);
  r.reverse = rec(reverseTime(b, loc, scaled(b, loc, e.q, e.scale)),
                  reverseTime(b, loc, e.d), after(e.b), after(e.a), after(e.g),
                  seqs.reversedRows(b, loc, e.dS),
                  /*reversedTime=*/true);
  return r;
}

/// `rec` read with queries `q`, transposed or not, scaled by `scale`.
/// Without low-rank terms and with one decay per token (gate none, head or
/// scalar), S^T follows the same recurrence with keys and values swapped,
/// so a transposed read is that recurrence's normal read, whose chunked
/// form is the faster one (bench/bench_backward.py: 1.5x for the whole
/// backward with a scalar gate). The final state comes back as [K, V].
std::pair<Value, Value> read(OpBuilder &b, Location loc, Rec rec, Value q,
                             bool transposed, double scale = 1.0) {
  rec.q = q, rec.scale = scale;
  if (transposed && !rec.a && rec.kind != GateKind::vector) {
    auto swapLast = [&](Value s) {
      return s ? build::transpose(b, loc, s, {0, 1, 3, 2}) : s;
    };
    std::swap(rec.k, rec.v);
    rec.s0 = swapLast(rec.s0);
    auto [o, last] = run(b, loc, rec);
    return {o, swapLast(last)};
  }
  rec.transposed = transposed;
  return run(b, loc, rec);
}

/// The reverse recurrence read with `q` (given in forward time), its
/// outputs back in forward time; and R_0, its final state.
std::pair<Value, Value> readReverse(OpBuilder &b, Location loc, const Rec &rev,
                                    Value q, bool transposed) {
  auto [o, last] = read(b, loc, rev, reverseTime(b, loc, q), transposed);
  return {reverseTime(b, loc, o), rev.seqs->reversedRows(b, loc, last)};
}

/// sum over the low-rank axis (3) of x * y, [B, T, H, R, K] -> [B, T, H, K].
Value dotTerms(OpBuilder &b, Location loc, Value x, Value y) {
  return build::reduce(b, loc, mul(b, loc, x, y), {3}, false,
                       build::ReduceKind::sum);
}

/// The gate's gradient from the expanded reads (MIXERS.md "Gradients").
Value gateGrad(OpBuilder &b, Location loc, mix::RecurrenceOp op,
               const Expanded &e, const Sequences &seqs, Value dq, Value dk,
               Value da, Value db, Value dS) {
  Value X = sub(b, loc, mul(b, loc, e.q, dq), mul(b, loc, e.k, dk));
  Value ad;
  if (e.rank) {
    ad = dotTerms(b, loc, e.a, da);
    X = add(b, loc, sub(b, loc, X, dotTerms(b, loc, e.b, db)), ad);
  }
  bool perChannel = e.kind == GateKind::vector;
  auto perStep = [&](Value x) {
    x = perChannel
            ? x
            : build::reduce(b, loc, x, {3}, false, build::ReduceKind::sum);
    return sumHeads(b, loc, x, 2, e.cv);
  };
  X = perStep(X);
  if (ad)
    ad = perStep(ad);
  if (dS) {
    Value term = build::reduce(b, loc, mul(b, loc, dS, op.getFinalState()),
                               perChannel ? SmallVector<int64_t>{3}
                                          : SmallVector<int64_t>{2, 3},
                               false, build::ReduceKind::sum);
    X = addAtLastStep(b, loc, X, term, seqs);
  }
  if (e.kind == GateKind::head)
    return headGateGrad(b, loc, X, seqs, ad);
  Value dg = reverseCumsumTime(b, loc, X, seqs);
  return ad ? sub(b, loc, dg, ad) : dg;
}

/// d initial_state = D_0 R_0 + sum_r a_0r y_0r^T, [N, Ho, K, V], one row per
/// sequence.
Value initialStateGrad(OpBuilder &b, Location loc, const Expanded &e,
                       const Sequences &seqs, Value r0, Value y) {
  Value ds0 = r0;
  if (e.kind != GateKind::none) {
    Value decay = firstStepDecay(b, loc, e.g, seqs);
    // [N, Ho] or [N, Ho, K] as a factor on [N, Ho, K, V].
    SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, decay);
    if (e.kind != GateKind::vector)
      sizes.push_back(b.getIndexAttr(1));
    sizes.push_back(b.getIndexAttr(1));
    ds0 = mul(b, loc, r0, build::reshape(b, loc, decay, sizes));
  }
  if (!e.rank)
    return ds0;
  // a_0 [N, Ho, R, K, 1] times y_0 [N, Ho, R, 1, V], summed over R.
  Value a0 = firstStep(b, loc, e.a, seqs), y0 = firstStep(b, loc, y, seqs);
  Value outer = mul(b, loc, splitDim(b, loc, a0, 3, 1),
                    splitDim(b, loc, y0, 3, dimOf(y0, 3)));
  return add(b, loc, ds0,
             build::reduce(b, loc, outer, {2}, false, build::ReduceKind::sum));
}

} // namespace

FailureOr<SmallVector<Value>> recurrenceGrad(OpBuilder &b, mix::RecurrenceOp op,
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
  if (op.getDecay() == mix::DecayKind::signed_) {
    why = "the gradient of a signed decay ('decay signed') is not derived: "
          "it is dL/dd = dL/dg / d, unusable near d = 0; use 'decay log'";
    return failure();
  }
  if (op.getReadTransposed()) {
    why = "the backward of 'read transposed' is not derived";
    return failure();
  }
  // One sequence per batch row, or the packed sequences of cu_seqlens.
  Sequences seqs(b, loc, op.getCuSeqlens(), op.getQ());
  Expanded e = expand(b, loc, op, dO, dS);
  Recurrences r = recurrences(b, loc, e, seqs);
  // Normal reads of R: dv (queries k) and y (queries b).
  auto [dvy, r0] = readReverse(b, loc, r.reverse, stackHeads(b, loc, e.k, e.b),
                               /*transposed=*/false);
  auto [dv, y] = unstackHeads(b, loc, dvy, e.rank);
  // u = S_{t-1}^T a (normal read of the shifted forward state).
  Value u;
  if (e.rank)
    u = splitDim(b, loc,
                 read(b, loc, r.before, mergeDims(b, loc, e.a, 2), false).first,
                 2, e.rank);
  // Transposed reads of R: dk (queries v) and db (queries u).
  Value dkb =
      readReverse(b, loc, r.reverse, stackHeads(b, loc, e.v, u), true).first;
  auto [dk, db] = unstackHeads(b, loc, dkb, e.rank);
  // dq = s S_t do; da = S_{t-1} y.
  Value dq = read(b, loc, r.forward, e.d, true, e.scale).first;
  Value da;
  if (e.rank)
    da = splitDim(b, loc,
                  read(b, loc, r.before, mergeDims(b, loc, y, 2), true).first,
                  2, e.rank);

  SmallVector<Value> grads = {
      castLike(b, loc, sumHeads(b, loc, dq, 2, e.cq), op.getQ()),
      castLike(b, loc, sumHeads(b, loc, dk, 2, e.ck), op.getK()),
      castLike(b, loc, sumHeads(b, loc, dv, 2, e.cv), op.getV())};
  if (e.rank) {
    grads.push_back(castLike(b, loc, sumHeads(b, loc, da, 2, e.cv), op.getA()));
    grads.push_back(castLike(b, loc, sumHeads(b, loc, db, 2, e.cv), op.getB()));
  }
  if (e.kind != GateKind::none)
    grads.push_back(castLike(
        b, loc, gateGrad(b, loc, op, e, seqs, dq, dk, da, db, dS), op.getG()));
  if (op.getInitialState())
    grads.push_back(
        sumHeads(b, loc, initialStateGrad(b, loc, e, seqs, r0, y), 1, e.cv));
  return grads;
}

} // namespace mixir::grad
