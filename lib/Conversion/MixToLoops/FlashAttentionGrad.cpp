//===- FlashAttentionGrad.cpp - flash form of mix.attention_grad ----------===//
//
// The flash-attention backward (MIXERS.md "Gradients"), on the forward's
// tiles: the same query and key blocks, key-block ranges, masks, soft-cap
// and gate bias (FlashAttentionBuilder), with the scores recomputed rather
// than saved. Per (batch, query head), one scf.forall iteration, in f32:
//
// 1. per query block: the forward's online softmax over its key blocks
//    gives the row max m, sum l and O; lse = m + log l and
//    D = rowsum(dO * O) / l are kept for the whole head; then, over the
//    same key blocks, with P^T = exp(S^T - lse), dP^T = V dO^T and
//    dS^T = P^T * (dP^T - D) (dS' through the soft-cap's derivative),
//    dQ = scale dS' K is written for the block's rows;
// 2. per key block: over the query blocks whose key range holds it,
//    dV += P^T dO, dK += dS'^T (scale Q) and, with a forget gate,
//    dG -= colsum(dS) (the gradient of G = cumsum(g): the rows of dS sum
//    to 0, so only the key side remains).
//
// Padded query rows have dO = 0, hence D = 0 and dS = 0, and padded keys
// are masked, so neither reaches a sum. Rows with no allowed key have
// lse = +inf and P = 0.
//
//===----------------------------------------------------------------------===//
#include "FlashAttention.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>
#include <tuple>

using namespace mlir;

namespace mixir::lowering {
namespace {

using utils::IteratorType;

constexpr float kInf = std::numeric_limits<float>::infinity();

Value constF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// acc[r] + sum_c tile[r, c]: the row sums of a 2-D tile into 1-D `acc`.
Value addRowSums(ImplicitLocOpBuilder &b, Value tile, Value acc, bool negate) {
  return reduceTile(
      b, tile, acc, /*keptDim=*/0,
      [&](OpBuilder &nb, Location loc, Value sum, Value x) -> Value {
        if (negate)
          return arith::SubFOp::create(nb, loc, sum, x);
        return arith::AddFOp::create(nb, loc, sum, x);
      });
}

/// Rows [0, valid) of the f32 tile [n, W] (times `factor`) written into
/// `rows` [*, W] from row r0; a 1-D tile writes elements.
Value storeRows(ImplicitLocOpBuilder &b, Value tile, Value valid, Value rows,
                Value r0, float factor = 1.0f) {
  auto type = cast<RankedTensorType>(tile.getType());
  Value zero = indexConst(b, 0);
  return forLoop(
      b, zero, valid, {rows},
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value at = arith::AddIOp::create(b, r0, i);
        if (type.getRank() == 1) {
          Value x = tensor::ExtractOp::create(b, tile, ValueRange{i});
          return SmallVector<Value>{storeScalar(b, x, a[0], {at})};
        }
        int64_t W = type.getDimSize(1);
        Value row = vector::TransferReadOp::create(
            b, VectorType::get({W}, b.getF32Type()), tile, ValueRange{i, zero},
            f32Const(b, 0.0f), ArrayRef<bool>{true});
        if (factor != 1.0f)
          row = arith::MulFOp::create(b, row, f32Splat(b, factor, W));
        return SmallVector<Value>{writeVector(b, row, a[0], {at, zero})};
      })[0];
}

/// One query block's tiles of the cotangent: dO [BQ, V] and dO^T, and the
/// block's rows of lse and D.
struct CotangentBlock {
  Value dO, dOT, lse, D;
};

/// Builds the backward's forall (see the file comment).
class FlashAttentionGradBuilder : public FlashAttentionBuilder {
public:
  FlashAttentionGradBuilder(mix::AttentionGradOp op, int64_t blockQ,
                            int64_t blockK)
      : FlashAttentionBuilder(op, blockQ, blockK), dout(op.getDout()), op(op) {}

  SmallVector<Value> buildGrad(ImplicitLocOpBuilder &b,
                               const SymbolSizes &sizes);

private:
  SmallVector<ParallelSlice> head(ImplicitLocOpBuilder &b, Value h,
                                  ValueRange outs);
  SmallVector<Value> queryPass(ImplicitLocOpBuilder &b, Value qb,
                               ValueRange carried);
  SmallVector<Value> keyPass(ImplicitLocOpBuilder &b, Value kb,
                             ValueRange carried, Value lse, Value D);
  SmallVector<Value> keyAgainstQueries(ImplicitLocOpBuilder &b,
                                       const KeyBlock &kblk, Value qb,
                                       ValueRange acc, Value lse, Value D);
  Value loadCotangent(ImplicitLocOpBuilder &b, const QueryBlock &qblk);
  std::pair<Value, Value> lseAndD(ImplicitLocOpBuilder &b, ValueRange softmax,
                                  Value dO);
  std::pair<Value, Value> scoreGrads(ImplicitLocOpBuilder &b,
                                     const QueryBlock &qblk,
                                     const KeyBlock &kblk,
                                     const CotangentBlock &cot, Value &P);

  Value dout;
  mix::AttentionGradOp op;
};

SmallVector<Value>
FlashAttentionGradBuilder::buildGrad(ImplicitLocOpBuilder &b,
                                     const SymbolSizes &sizes) {
  setLengths(b, sizes);
  SmallVector<Value> outs;
  StringRef keyLen = keysAreQueries ? "T" : "S";
  outs.push_back(
      emptyLike(b, op.getDq().getType(), {"B", "T", "Hq", "K"}, sizes));
  outs.push_back(
      emptyLike(b, op.getDk().getType(), {"B", keyLen, "Hq", "K"}, sizes));
  outs.push_back(
      emptyLike(b, op.getDv().getType(), {"B", keyLen, "Hq", "V"}, sizes));
  if (g)
    outs.push_back(emptyLike(b, op.getDg().getType(), {"B", "T", "Hq"}, sizes));
  return forallSlices(
      b, headBounds(b, sizes), outs,
      [&](ImplicitLocOpBuilder &hb, ValueRange ivs, ValueRange all) {
        beginSequence(hb, ivs[0], sizes);
        return head(hb, ivs[1], all);
      });
}

/// One (sequence, query head): the query pass (dq, lse, D), then the key
/// pass (dk, dv, dG).
SmallVector<ParallelSlice>
FlashAttentionGradBuilder::head(ImplicitLocOpBuilder &b, Value queryHead,
                                ValueRange outs) {
  beginHead(b, queryHead);
  SmallVector<ParallelSlice> rows;
  for (auto [i, out] : llvm::enumerate(outs))
    rows.push_back(headRows(b, out, i == 0 || i == 3 ? T : S));
  // lse and D of every query row, padded to whole blocks, sized for the
  // longest sequence (one size for every packed sequence; see
  // cumulativeGate). The query pass writes whole blocks [q0, q0 + BQ)
  // before the key pass reads them, so they start uninitialised.
  Value padded = arith::AddIOp::create(b, tokens, indexConst(b, BQ));
  auto vec = [&]() -> Value {
    return tensor::EmptyOp::create(b, ArrayRef<int64_t>{ShapedType::kDynamic},
                                   b.getF32Type(), ValueRange{padded});
  };
  Value numQBlocks = arith::CeilDivUIOp::create(b, T, indexConst(b, BQ));
  auto qLoop = forLoop(b, zero, numQBlocks, {rows[0].value, vec(), vec()},
                       [&](ImplicitLocOpBuilder &b, Value qb, ValueRange a) {
                         return queryPass(b, qb, a);
                       });
  SmallVector<Value> keyRows = {rows[1].value, rows[2].value};
  if (g)
    keyRows.push_back(rows[3].value);
  Value numKBlocks = arith::CeilDivUIOp::create(b, S, indexConst(b, BK));
  auto kLoop = forLoop(b, zero, numKBlocks, keyRows,
                       [&](ImplicitLocOpBuilder &b, Value kb, ValueRange a) {
                         return keyPass(b, kb, a, qLoop[1], qLoop[2]);
                       });
  rows[0].value = qLoop[0];
  for (auto [i, r] : llvm::enumerate(kLoop))
    rows[i + 1].value = r;
  return rows;
}

Value FlashAttentionGradBuilder::loadCotangent(ImplicitLocOpBuilder &b,
                                               const QueryBlock &qblk) {
  return loadTile(
      b, dout, BQ, V, qblk.validQ, [&](ImplicitLocOpBuilder &b, Value i) {
        return SmallVector<Value>{
            bi, token(b, arith::AddIOp::create(b, qblk.q0, i)), h, zero};
      });
}

/// From the forward's (m, l, O): lse = m + log l and D = rowsum(dO * O) / l,
/// +inf and 0 for rows with no allowed key.
std::pair<Value, Value>
FlashAttentionGradBuilder::lseAndD(ImplicitLocOpBuilder &b, ValueRange softmax,
                                   Value dO) {
  Value m = softmax[0], l = softmax[1], acc = softmax[2];
  Value lse = mapN(
      b, filledTile(b, {BQ}, 0.0f), {{m, id1}, {l, id1}},
      [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
        Value any = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OGT,
                                          a[1], constF32(nb, loc, 0.0f));
        Value v = arith::AddFOp::create(nb, loc, a[0],
                                        math::LogOp::create(nb, loc, a[1]));
        return arith::SelectOp::create(nb, loc, any, v,
                                       constF32(nb, loc, kInf));
      });
  Value prod = mapN(b, filledTile(b, {BQ, V}, 0.0f), {{dO, id2}, {acc, id2}},
                    [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                      return arith::MulFOp::create(nb, loc, a[0], a[1]);
                    });
  Value D = addRowSums(b, prod, filledTile(b, {BQ}, 0.0f), false);
  D = mapN(
      b, D, {{l, id1}}, [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
        Value any = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OGT,
                                          a[0], constF32(nb, loc, 0.0f));
        Value v = arith::DivFOp::create(nb, loc, a[1], a[0]);
        return arith::SelectOp::create(nb, loc, any, v,
                                       constF32(nb, loc, 0.0f));
      });
  return {lse, D};
}

/// The gradient tiles of one (query block, key block) pair: P^T (through
/// `P`), dS^T (the gradient of the biased scores) and dS'^T (that of the
/// scaled scores q.k, through the soft-cap), all [BK, BQ].
std::pair<Value, Value> FlashAttentionGradBuilder::scoreGrads(
    ImplicitLocOpBuilder &b, const QueryBlock &qblk, const KeyBlock &kblk,
    const CotangentBlock &cot, Value &P) {
  Value raw = rawScores(b, qblk, kblk);
  Value scores = maskedScores(b, qblk, kblk, raw);
  P = mapN(b, scores, {{cot.lse, queryMap}},
           [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
             Value x = a[1];
             Value masked =
                 arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ, x,
                                       constF32(nb, loc, -kInf));
             Value e = math::ExpOp::create(
                 nb, loc, arith::SubFOp::create(nb, loc, x, a[0]));
             return arith::SelectOp::create(nb, loc, masked,
                                            constF32(nb, loc, 0.0f), e);
           });
  Value dP = matmul(b, kblk.Vt, cot.dOT, filledTile(b, {BK, BQ}, 0.0f));
  Value dS = mapN(b, dP, {{P, id2}, {cot.D, queryMap}},
                  [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                    Value d = arith::SubFOp::create(nb, loc, a[2], a[1]);
                    return arith::MulFOp::create(nb, loc, a[0], d);
                  });
  if (softcap == 0.0f)
    return {dS, dS};
  // d(c tanh(x / c)) / dx = 1 - tanh(x / c)^2.
  float cap = softcap;
  Value dSraw =
      mapN(b, filledTile(b, {BK, BQ}, 0.0f), {{dS, id2}, {raw, id2}},
           [cap](OpBuilder &nb, Location loc, ValueRange a) -> Value {
             Value t = math::TanhOp::create(
                 nb, loc,
                 arith::MulFOp::create(nb, loc, a[1],
                                       constF32(nb, loc, 1.0f / cap)));
             Value d =
                 arith::SubFOp::create(nb, loc, constF32(nb, loc, 1.0f),
                                       arith::MulFOp::create(nb, loc, t, t));
             return arith::MulFOp::create(nb, loc, a[0], d);
           });
  return {dS, dSraw};
}

/// Query block `qb`: its lse and D (kept in carried[1], carried[2]) and its
/// rows of dq (carried[0]).
SmallVector<Value> FlashAttentionGradBuilder::queryPass(ImplicitLocOpBuilder &b,
                                                        Value qb,
                                                        ValueRange carried) {
  QueryBlock qblk = loadQueryBlock(b, qb);
  auto [kbLo, kbHi] = keyBlockRange(b, qblk);
  auto softmax = forLoop(b, kbLo, kbHi, emptySoftmax(b),
                         [&](ImplicitLocOpBuilder &b, Value kb, ValueRange a) {
                           return keyBlock(b, qblk, kb, a);
                         });
  CotangentBlock cot;
  cot.dO = loadCotangent(b, qblk);
  cot.dOT = transposed(b, cot.dO);
  std::tie(cot.lse, cot.D) = lseAndD(b, softmax, cot.dO);
  if (Value dlse = op.getDlse()) {
    // The log-sum-exp's cotangent: dS = P (dP - D + dlse), so D -= dlse.
    cot.D = forLoop(b, zero, qblk.validQ, {cot.D},
                    [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
                      Value at = token(b, arith::AddIOp::create(b, qblk.q0, i));
                      Value d = tensor::ExtractOp::create(b, a[0], i);
                      Value x = tensor::ExtractOp::create(
                          b, dlse, ValueRange{bi, at, h});
                      return SmallVector<Value>{tensor::InsertOp::create(
                          b, arith::SubFOp::create(b, d, x), a[0], i)};
                    })[0];
  }
  auto dQ = forLoop(b, kbLo, kbHi, {filledTile(b, {BQ, K}, 0.0f)},
                    [&](ImplicitLocOpBuilder &b, Value kb, ValueRange a) {
                      KeyBlock kblk = loadKeyBlock(b, kb);
                      Value P;
                      Value dSraw = scoreGrads(b, qblk, kblk, cot, P).second;
                      // dQ[i, c] += sum_j dS'^T[j, i] K[j, c].
                      return SmallVector<Value>{
                          contract(b, dSraw, kblk.Kt, a[0], pMap, vMap)};
                    });
  auto insert = [&](Value tile, Value into) {
    return tensor::InsertSliceOp::create(
               b, tile, into, ArrayRef<OpFoldResult>{qblk.q0},
               ArrayRef<OpFoldResult>{b.getIndexAttr(BQ)},
               ArrayRef<OpFoldResult>{b.getIndexAttr(1)})
        .getResult();
  };
  return {storeRows(b, dQ[0], qblk.validQ, carried[0], qblk.q0, scale),
          insert(cot.lse, carried[1]), insert(cot.D, carried[2])};
}

/// Key block `kb`: dK, dV (and dG) summed over the query blocks that see it,
/// written into its rows of carried (dk, dv[, dg]).
SmallVector<Value> FlashAttentionGradBuilder::keyPass(ImplicitLocOpBuilder &b,
                                                      Value kb,
                                                      ValueRange carried,
                                                      Value lse, Value D) {
  KeyBlock kblk = loadKeyBlock(b, kb);
  SmallVector<Value> acc = {filledTile(b, {BK, K}, 0.0f),
                            filledTile(b, {BK, V}, 0.0f)};
  if (g)
    acc.push_back(filledTile(b, {BK}, 0.0f));
  Value numQBlocks = arith::CeilDivUIOp::create(b, T, indexConst(b, BQ));
  auto sums = forLoop(b, zero, numQBlocks, acc,
                      [&](ImplicitLocOpBuilder &b, Value qb, ValueRange a) {
                        return keyAgainstQueries(b, kblk, qb, a, lse, D);
                      });
  SmallVector<Value> out;
  for (auto [sum, rows] : llvm::zip(sums, carried))
    out.push_back(storeRows(b, sum, kblk.validK, rows, kblk.k0));
  return out;
}

/// The key block against query block `qb` when the query block's key range
/// (the forward's) holds it; `acc` unchanged otherwise.
SmallVector<Value> FlashAttentionGradBuilder::keyAgainstQueries(
    ImplicitLocOpBuilder &b, const KeyBlock &kblk, Value qb, ValueRange acc,
    Value lse, Value D) {
  // The key range only needs the query block's position.
  QueryBlock pos;
  pos.q0 = arith::MulIOp::create(b, qb, indexConst(b, BQ));
  pos.p0 = position(b, pos.q0);
  pos.validQ = rowsFrom(b, pos.q0);
  auto [kbLo, kbHi] = keyBlockRange(b, pos);
  Value kb = arith::DivUIOp::create(b, kblk.k0, indexConst(b, BK));
  Value seen = arith::AndIOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::ule, kbLo, kb),
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, kb, kbHi));
  auto branch = scf::IfOp::create(b, TypeRange(acc), seen,
                                  /*withElseRegion=*/true);
  auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                               &branch.getElseRegion().front());
  scf::YieldOp::create(eb, acc);
  auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                               &branch.getThenRegion().front());
  QueryBlock qblk = loadQueryBlock(tb, qb);
  CotangentBlock cot;
  cot.dO = loadCotangent(tb, qblk);
  cot.dOT = transposed(tb, cot.dO);
  cot.lse = sliceOf(tb, lse, qblk.q0, BQ);
  cot.D = sliceOf(tb, D, qblk.q0, BQ);
  Value P;
  auto [dS, dSraw] = scoreGrads(tb, qblk, kblk, cot, P);
  SmallVector<Value> next = {matmul(tb, dSraw, qblk.Qs, acc[0]),
                             matmul(tb, P, cot.dO, acc[1])};
  if (g)
    next.push_back(addRowSums(tb, dS, acc[2], /*negate=*/true));
  scf::YieldOp::create(tb, next);
  return SmallVector<Value>(branch.getResults());
}

} // namespace

LogicalResult lowerFlashAttentionGrad(RewriterBase &rewriter,
                                      mix::AttentionGradOp op, int64_t blockQ,
                                      int64_t blockK) {
  if (blockQ <= 0 || blockK <= 0)
    return rewriter.notifyMatchFailure(op, "block sizes must be positive");
  FlashAttentionGradBuilder flash(op, blockQ, blockK);
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        return flash.buildGrad(b, sizes);
      });
}

} // namespace mixir::lowering
