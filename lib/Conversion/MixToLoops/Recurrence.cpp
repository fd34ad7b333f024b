//===- Recurrence.cpp - recurrent form of the linear recurrences ----------===//
//
// Per (batch, state head) the f32 state S [K, V] is a slice of the final-state
// result, updated in place token by token. Rows of S are vectors over V; the
// outputs of every query head reading this state are accumulated while the
// updated rows stream by, so S is read about once per token (twice for the
// delta rule, which needs S^T k before the update, and for mix.recurrence
// with low-rank terms, which needs S^T a_j). mix.linear_attention and
// mix.delta_rule are the special cases of one builder.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::lowering {

/// `states` [length, K, V] with row `row` set to the state `S` [K, V].
static Value insertStateRow(ImplicitLocOpBuilder &b, Value S, Value states,
                            Value row) {
  auto type = cast<RankedTensorType>(S.getType());
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  return tensor::InsertSliceOp::create(
      b, S, states, ArrayRef<OpFoldResult>{row, zero, zero},
      ArrayRef<OpFoldResult>{one, b.getIndexAttr(type.getDimSize(0)),
                             b.getIndexAttr(type.getDimSize(1))},
      ArrayRef<OpFoldResult>{one, one, one});
}

namespace {
/// The recurrent form of one op: per (sequence, state head) a loop over the
/// tokens, and per token one or two passes over the K rows of the state.
class RecurrentForm {
public:
  RecurrentForm(ImplicitLocOpBuilder &b, const RecurrenceOperands &r)
      : r(r), hq(dimSize(r.q, 2)), hk(dimSize(r.k, 2)), hv(dimSize(r.v, 2)),
        K(dimSize(r.k, 3)), V(dimSize(r.v, 3)), ho(std::max(hq, hv)),
        group(ho / hv), qShare(ho / hq), kShare(hv / hk),
        gated(r.gate != GateKind::none),
        rowType(VectorType::get({V}, b.getF32Type())) {}

  SmallVector<Value> build(ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
    zero = indexConst(b, 0);
    Value o0 = emptyOutputs(b, r, sizes);
    Value s0 = emptyFinalStates(b, r, sizes);
    return forEachStateHead(
        b, sizes, r, group, o0, s0,
        [&](ImplicitLocOpBuilder &b, const SequenceSpan &span, Value s,
            StateHeadTiles tiles) { return stateHead(b, span, s, tiles); });
  }

private:
  /// What one token's passes read: its position, the state head, the key
  /// head, its decay (head and scalar gates), the factor of its key (with
  /// qk_l2norm), and the output heads reading the state with their query
  /// heads and factors.
  struct Token {
    Value bi, t, s, kHead, decay, kFactor;
    SmallVector<Value> qHeads, qFactors;
  };

  const RecurrenceOperands &r;
  const int64_t hq, hk, hv, K, V, ho;
  const int64_t group;  // output heads per state head
  const int64_t qShare; // output heads per query head
  const int64_t kShare; // state heads per key head
  const bool gated;
  const VectorType rowType;
  Value zero;

  /// The decay a gate value gives: exp(g), or g itself for signed decays.
  Value decayOf(ImplicitLocOpBuilder &b, Value g) const {
    return r.signedDecay ? g : Value(math::ExpOp::create(b, g));
  }
  Value readRow(ImplicitLocOpBuilder &b, Value S, Value i) const {
    return vector::TransferReadOp::create(b, rowType, S, ValueRange{i, zero},
                                          f32Const(b, 0.0f),
                                          ArrayRef<bool>{true});
  }
  Value writeRow(ImplicitLocOpBuilder &b, Value row, Value S, Value i) const {
    return vector::TransferWriteOp::create(b, row, S, ValueRange{i, zero},
                                           ArrayRef<bool>{true})
        .getResult();
  }
  /// The decay of state row i at this token.
  Value rowDecay(ImplicitLocOpBuilder &b, const Token &tok, Value i) const {
    if (r.gate == GateKind::vector)
      return decayOf(b, readF32(b, r.g, {tok.bi, tok.t, tok.s, i}));
    return tok.decay;
  }
  Value keyAt(ImplicitLocOpBuilder &b, const Token &tok, Value i) const {
    Value ki = readF32(b, r.k, {tok.bi, tok.t, tok.kHead, i});
    return tok.kFactor ? Value(arith::MulFOp::create(b, ki, tok.kFactor)) : ki;
  }
  /// Element i of the low-rank vector `ab` (a or b) of term j.
  Value lowRankAt(ImplicitLocOpBuilder &b, const Token &tok, Value ab,
                  int64_t j, Value i) const {
    return readF32(b, ab, {tok.bi, tok.t, tok.s, indexConst(b, j), i});
  }

  StateHeadTiles stateHead(ImplicitLocOpBuilder &b, const SequenceSpan &span,
                           Value s, StateHeadTiles tiles);
  Token token(ImplicitLocOpBuilder &b, Value bi, Value t, Value s, Value kHead,
              Value headDecay);
  SmallVector<Value> project(ImplicitLocOpBuilder &b, const Token &tok,
                             Value &S);
  Value update(ImplicitLocOpBuilder &b, const Token &tok, Value v,
               ArrayRef<Value> projections);
  SmallVector<Value> updateRows(ImplicitLocOpBuilder &b, const Token &tok,
                                Value S, Value o, Value outRow, Value update,
                                ArrayRef<Value> lowRankProjections);
};

StateHeadTiles RecurrentForm::stateHead(ImplicitLocOpBuilder &b,
                                        const SequenceSpan &span, Value s,
                                        StateHeadTiles tiles) {
  Value bi = span.batch;
  Value kHead = arith::DivUIOp::create(b, s, indexConst(b, kShare));
  Value headDecay;
  if (r.gate == GateKind::head)
    headDecay = decayOf(b, readF32(b, r.g, {s}));

  // Row i of this sequence's rows is token t = start + i of the inputs.
  SmallVector<Value> carriedTiles = {tiles.rows, tiles.state};
  if (tiles.stateRows)
    carriedTiles.push_back(tiles.stateRows);
  auto tokens =
      forLoop(b, zero, span.length, carriedTiles,
              [&](ImplicitLocOpBuilder &b, Value row, ValueRange a) {
                Value t = span.token(b, row);
                Value o = a[0], S = a[1];
                Token tok = token(b, bi, t, s, kHead, headDecay);
                Value v = readF32Vector(b, r.v, {bi, t, s, zero}, V);
                SmallVector<Value> projections = project(b, tok, S);
                Value u = update(b, tok, v, projections);
                // The projections S^T a_j of the low-rank terms.
                SmallVector<Value> next =
                    updateRows(b, tok, S, o, row, u,
                               ArrayRef<Value>(projections).take_back(r.rank));
                // With all_states, the updated state is also row `row` of the
                // per-token states.
                if (tiles.stateRows)
                  next.push_back(insertStateRow(b, next[1], a[2], row));
                return next;
              });
  return StateHeadTiles{tokens[0], tokens[1],
                        tiles.stateRows ? tokens[2] : Value()};
}

RecurrentForm::Token RecurrentForm::token(ImplicitLocOpBuilder &b, Value bi,
                                          Value t, Value s, Value kHead,
                                          Value headDecay) {
  Token tok{bi, t, s, kHead, headDecay, Value(), {}, {}};
  if (r.gate == GateKind::scalar)
    tok.decay = decayOf(b, readF32(b, r.g, {bi, t, s}));
  if (r.l2norm)
    tok.kFactor =
        inverseL2Norm(b, readF32Vector(b, r.k, {bi, t, kHead, zero}, K));
  for (int64_t g = 0; g < group; ++g) {
    Value oh = arith::AddIOp::create(
        b, arith::MulIOp::create(b, s, indexConst(b, group)), indexConst(b, g));
    Value qh = arith::DivUIOp::create(b, oh, indexConst(b, qShare));
    Value factor = f32Const(b, r.scale);
    if (r.l2norm)
      factor = arith::MulFOp::create(
          b, factor,
          inverseL2Norm(b, readF32Vector(b, r.q, {bi, t, qh, zero}, K)));
    tok.qHeads.push_back(qh);
    tok.qFactors.push_back(factor);
  }
  return tok;
}

/// Pass 1, when the update reads the state: its projections S^T x. The
/// delta rule projects on k after decaying S in place (updating `S`); the
/// low-rank terms of mix.recurrence project on each a_j, on the undecayed
/// S_{t-1}. Returns the projections: the delta rule's first, then one per
/// low-rank term.
SmallVector<Value> RecurrentForm::project(ImplicitLocOpBuilder &b,
                                          const Token &tok, Value &S) {
  SmallVector<std::function<Value(ImplicitLocOpBuilder &, Value)>> along;
  if (r.beta)
    along.push_back(
        [&](ImplicitLocOpBuilder &b, Value i) { return keyAt(b, tok, i); });
  for (int64_t j = 0; j < r.rank; ++j)
    along.push_back([&, j](ImplicitLocOpBuilder &b, Value i) {
      return lowRankAt(b, tok, r.lowRankA, j, i);
    });
  const bool decayFirst = gated && r.beta;
  if (along.empty())
    return {};
  SmallVector<Value> carried = {S};
  carried.append(along.size(), f32Splat(b, 0.0f, V));
  auto pass = forLoop(
      b, zero, indexConst(b, K), carried,
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value S = a[0];
        Value row = readRow(b, S, i);
        if (decayFirst) {
          row = arith::MulFOp::create(b, row, splat(b, rowDecay(b, tok, i), V));
          S = writeRow(b, row, S, i);
        }
        SmallVector<Value> next = {S};
        for (auto [x, acc] : llvm::zip_equal(along, a.drop_front()))
          next.push_back(
              vector::FMAOp::create(b, splat(b, x(b, i), V), row, acc));
        return next;
      });
  S = pass[0];
  return SmallVector<Value>(pass.begin() + 1, pass.end());
}

/// The row every key element scales into the state: v, or for the delta
/// rule beta (v - S^T k).
Value RecurrentForm::update(ImplicitLocOpBuilder &b, const Token &tok, Value v,
                            ArrayRef<Value> projections) {
  if (!r.beta)
    return v;
  Value beta = readF32(b, r.beta, {tok.bi, tok.t, tok.s});
  if (r.negEigval)
    beta = arith::MulFOp::create(b, beta, f32Const(b, 2.0f));
  return arith::MulFOp::create(
      b, arith::SubFOp::create(b, v, projections.front()), splat(b, beta, V));
}

/// Pass 2: S[i] = decay_i S[i] + sum_j b_j[i] (S^T a_j) + k_i update;
/// acc_g += (factor_g q_g[i]) S[i], written to output row `outRow` after
/// the pass, or with a transposed read o_g[i] = factor_g (S[i] . q_g),
/// stored as the rows go by. Returns {o, S}.
SmallVector<Value>
RecurrentForm::updateRows(ImplicitLocOpBuilder &b, const Token &tok, Value S,
                          Value o, Value outRow, Value update,
                          ArrayRef<Value> lowRankProjections) {
  const bool decayFirst = gated && r.beta;
  SmallVector<Value> qRows;
  if (r.transposedRead)
    for (int64_t g = 0; g < group; ++g)
      qRows.push_back(
          readF32Vector(b, r.q, {tok.bi, tok.t, tok.qHeads[g], zero}, V));
  SmallVector<Value> carried = {S};
  for (int64_t g = 0; g < group; ++g)
    carried.push_back(r.transposedRead ? o : f32Splat(b, 0.0f, V));
  if (r.transposedRead)
    carried.resize(2);
  auto rows = forLoop(
      b, zero, indexConst(b, K), carried,
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value S = a[0];
        Value row = readRow(b, S, i);
        if (gated && !decayFirst)
          row = arith::MulFOp::create(b, row, splat(b, rowDecay(b, tok, i), V));
        for (auto [j, p] : llvm::enumerate(lowRankProjections))
          row = vector::FMAOp::create(
              b, splat(b, lowRankAt(b, tok, r.lowRankB, j, i), V), p, row);
        row = vector::FMAOp::create(b, splat(b, keyAt(b, tok, i), V), update,
                                    row);
        SmallVector<Value> next = {writeRow(b, row, S, i)};
        if (r.transposedRead) {
          Value o = a[1];
          for (int64_t g = 0; g < group; ++g)
            o = storeScalar(
                b,
                arith::MulFOp::create(
                    b, reduceAdd(b, arith::MulFOp::create(b, row, qRows[g])),
                    tok.qFactors[g]),
                o, {outRow, indexConst(b, g), i});
          next.push_back(o);
          return next;
        }
        for (int64_t g = 0; g < group; ++g) {
          Value qi = arith::MulFOp::create(
              b, readF32(b, r.q, {tok.bi, tok.t, tok.qHeads[g], i}),
              tok.qFactors[g]);
          next.push_back(
              vector::FMAOp::create(b, splat(b, qi, V), row, a[1 + g]));
        }
        return next;
      });
  if (r.transposedRead)
    return {rows[1], rows[0]};
  for (int64_t g = 0; g < group; ++g)
    o = writeVector(b, rows[1 + g], o, {outRow, indexConst(b, g), zero});
  return {o, rows[0]};
}
} // namespace

SmallVector<Value> buildRecurrent(ImplicitLocOpBuilder &b,
                                  const RecurrenceOperands &r,
                                  const SymbolSizes &sizes) {
  return RecurrentForm(b, r).build(b, sizes);
}

namespace {
/// The recurrent form of any op `recurrenceOperands` describes, behind the
/// run-time shape checks.
template <typename OpTy>
LogicalResult lowerRecurrent(RewriterBase &rewriter, OpTy op) {
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        return buildRecurrent(b, recurrenceOperands(op), sizes);
      });
}

/// The operands and attributes every recurrent op has.
template <typename OpTy> RecurrenceOperands commonRecurrenceOperands(OpTy op) {
  RecurrenceOperands r;
  r.q = op.getQ(), r.k = op.getK(), r.v = op.getV(), r.g = op.getG();
  r.init = op.getInitialState(), r.gate = op.getGateKind();
  r.cuSeqlens = op.getCuSeqlens();
  r.stateIndices = op.getStateIndices();
  r.scale = op.getScaleOrDefault();
  r.oType = op.getO().getType(), r.stateType = op.getFinalState().getType();
  r.allStates = op.getAllStates();
  return r;
}
} // namespace

RecurrenceOperands recurrenceOperands(mix::LinearAttentionOp op) {
  return commonRecurrenceOperands(op);
}

RecurrenceOperands recurrenceOperands(mix::DeltaRuleOp op) {
  RecurrenceOperands r = commonRecurrenceOperands(op);
  r.beta = op.getBeta();
  r.l2norm = op.getQkL2norm(), r.negEigval = op.getAllowNegEigval();
  return r;
}

RecurrenceOperands recurrenceOperands(mix::RecurrenceOp op) {
  RecurrenceOperands r = commonRecurrenceOperands(op);
  r.lowRankA = op.getA(), r.lowRankB = op.getB(), r.rank = op.getRank();
  r.signedDecay = op.getDecay() == mix::DecayKind::signed_;
  r.transposedRead = op.getReadTransposed();
  return r;
}

LogicalResult lowerLinearAttention(RewriterBase &rewriter,
                                   mix::LinearAttentionOp op) {
  return lowerRecurrent(rewriter, op);
}

LogicalResult lowerDeltaRule(RewriterBase &rewriter, mix::DeltaRuleOp op) {
  return lowerRecurrent(rewriter, op);
}

LogicalResult lowerRecurrence(RewriterBase &rewriter, mix::RecurrenceOp op) {
  return lowerRecurrent(rewriter, op);
}

} // namespace mixir::lowering
