//===- FlashAttention.cpp - flash-attention form of mix.attention ---------===//
//
// MIXERS.md "Softmax attention: flash-attention tiling with an online softmax
// across key chunks". The queries are cut into blocks of `blockQ` rows (the
// last one zero-padded), and each (batch, query head, query block) is one
// iteration of an scf.forall -- OpenMP threads on the CPU, thread blocks on
// the GPU, so every one works even when B x Hq is small. (With a forget
// gate, the iteration is a (batch, query head) that sums G = cumsum(g) once
// and runs its query blocks in sequence: per query block, the sum would
// cost O(T) sequential steps.) Per query block, the keys are cut into
// blocks of `blockK` (the last one zero-padded and masked). Per key block,
// in f32:
//   S  = (scale Q) K^T (+ G_i - G_j), -inf where masked
//   m' = max(m, rowmax(S)),  a = exp(m - m'),  P = exp(S - m')
//   l' = a l + rowsum(P),    O = a O + P V
// and finally o = O / l (0 for rows with no allowed key, like the reference
// lowering). Key blocks that the causal mask, the window or the block mask
// exclude entirely are never visited: the key-block loop bounds are computed
// from the query block; only blocks straddling a mask boundary evaluate the
// mask.
//
// The score tile is kept transposed, S^T [blockK, blockQ] = K (scale Q)^T: a
// plain matmul of the key tile with Q^T (transposed once per query block
// rather than K once per key block), the row max and row sum reduce over
// contiguous rows, and P V reads P^T through a transposed map. The running
// max and sum are 1-D [blockQ] tensors, broadcast into the tiles through
// (j, i) -> (i) maps. Every tile is static so mix-vectorize-tiles tiles and
// vectorises all of it.
//
//===----------------------------------------------------------------------===//
#include "FlashAttention.h"
#include "Conversion/Utils/GateFloor.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"

#include <limits>

using namespace mlir;

namespace mixir::lowering {
namespace {

using utils::IteratorType;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Value constF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value emptyTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape) {
  return tensor::EmptyOp::create(b, shape, b.getF32Type());
}

/// The f64 1-D tensor [tokens + pad] of G = cumsum(g[bi, base + t, h]) over
/// the sequence's T tokens t, zero for the `pad` after them, so static
/// [block] slices at any block start before T stay in bounds (f64: see
/// GateFloor.h). Its length is `tokens`, the longest sequence's, not this
/// one's: one size for every sequence of a packed row, set before the
/// kernel (a GPU block's scratch).
Value cumulativeGate(ImplicitLocOpBuilder &b, Value g, Value bi, Value base,
                     Value h, Value T, Value tokens, int64_t pad) {
  Value len = arith::AddIOp::create(b, tokens, indexConst(b, pad));
  Value G = tensor::EmptyOp::create(b, ArrayRef<int64_t>{ShapedType::kDynamic},
                                    b.getF64Type(), ValueRange{len});
  Value zero = arith::ConstantOp::create(b, b.getF64FloatAttr(0.0));
  // Zeros at [T, T + pad), the padding a block slice reads; [0, T) is
  // written below and nothing reads beyond T + pad.
  Value zeros =
      linalg::FillOp::create(b, ValueRange{zero},
                             ValueRange{tensor::EmptyOp::create(
                                 b, ArrayRef<int64_t>{pad}, b.getF64Type())})
          .getResult(0);
  G = tensor::InsertSliceOp::create(b, zeros, G, ArrayRef<OpFoldResult>{T},
                                    ArrayRef<OpFoldResult>{b.getIndexAttr(pad)},
                                    ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  return forLoop(b, indexConst(b, 0), T, {G, zero},
                 [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
                   Value at = arith::AddIOp::create(b, base, t);
                   Value run = addGateF64(b, a[1], readF32(b, g, {bi, at, h}));
                   return SmallVector<Value>{
                       tensor::InsertOp::create(b, run, a[0], ValueRange{t}),
                       run};
                 })[0];
}

} // namespace

void FlashAttentionBuilder::initMaps(MLIRContext *ctx) {
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  keyMap = AffineMap::get(2, 0, {d0}, ctx);
  queryMap = AffineMap::get(2, 0, {d1}, ctx);
  id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
  id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  rowMap = AffineMap::get(2, 0, {d0}, ctx);
  pMap = AffineMap::get(3, 0, {d2, d0}, ctx);
  vMap = AffineMap::get(3, 0, {d2, d1}, ctx);
}

/// acc[i] = combine(acc[i], tile[j, i]) for every j: reduces the rows (keys)
/// of a [BK, BQ] score tile into the per-query 1-D `acc`, so every step reads
/// one contiguous row.
Value FlashAttentionBuilder::reduceKeys(
    ImplicitLocOpBuilder &b, Value tile, Value acc,
    const std::function<Value(OpBuilder &, Location, Value, Value)> &combine) {
  return reduceTile(b, tile, acc, /*keptDim=*/1, combine);
}

/// Elements [start, start + n) of a 1-D tensor as a static tensor<n x elem>.
Value FlashAttentionBuilder::sliceOf(ImplicitLocOpBuilder &b, Value vec,
                                     Value start, int64_t n) {
  Type elem = cast<ShapedType>(vec.getType()).getElementType();
  return tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({n}, elem), vec, ArrayRef<OpFoldResult>{start},
      ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

void FlashAttentionBuilder::setLengths(ImplicitLocOpBuilder &b,
                                       const SymbolSizes &sizes) {
  // A forget gate or a block mask ties the key length to the query length
  // (shape contract).
  T = tokens = sizes.lookup("T");
  S = sizes.lookup(keysAreQueries ? "T" : "S");
  // With packed sequences, `tokens` bounds the forall's query blocks and
  // sizes G.
  if (!cu)
    return;
  // The longest packed sequence, read before the loops (N is 0 when the
  // packing failed its checks, and nothing is read then).
  tokens = forLoop(b, indexConst(b, 0), sizes.lookup("N"), {indexConst(b, 0)},
                   [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
                     SequenceSpan span = sequenceSpan(b, cu, n, sizes);
                     return SmallVector<Value>{
                         arith::MaxSIOp::create(b, a[0], span.length)};
                   })[0];
}

SmallVector<OpFoldResult>
FlashAttentionBuilder::headBounds(ImplicitLocOpBuilder &b,
                                  const SymbolSizes &sizes) {
  return {sequenceCount(sizes, cu), b.getIndexAttr(hq)};
}

void FlashAttentionBuilder::beginSequence(ImplicitLocOpBuilder &b, Value seq,
                                          const SymbolSizes &sizes) {
  SequenceSpan span = sequenceSpan(b, cu, seq, sizes);
  bi = span.batch;
  base = span.start;
  shift = indexConst(b, 0);
  if (cu)
    T = S = span.length;
  if (kvLens) {
    // Row bi's keys, kv_lens[bi] in [T, S] (checked before the loops).
    S = offsetAt(b, kvLens, bi);
    shift = arith::SubIOp::create(b, S, T);
  }
}

Value FlashAttentionBuilder::token(ImplicitLocOpBuilder &b, Value pos) {
  return b.createOrFold<arith::AddIOp>(base, pos);
}

Value FlashAttentionBuilder::position(ImplicitLocOpBuilder &b, Value row) {
  return b.createOrFold<arith::AddIOp>(shift, row);
}

void FlashAttentionBuilder::beginHead(ImplicitLocOpBuilder &b, Value head) {
  h = head;
  zero = indexConst(b, 0);
  kvHead = arith::DivUIOp::create(b, h, indexConst(b, share));
  G = g ? cumulativeGate(b, g, bi, base, h, T, tokens, std::max(BQ, BK))
        : Value();
}

SmallVector<Value> FlashAttentionBuilder::build(ImplicitLocOpBuilder &b,
                                                const SymbolSizes &sizes) {
  setLengths(b, sizes);
  SmallVector<Value> outs = {emptyLike(b, oType, {"B", "T", "Hq", "V"}, sizes)};
  if (lseType)
    outs.push_back(emptyLike(b, lseType, {"B", "T", "Hq"}, sizes));
  SmallVector<OpFoldResult> bounds = headBounds(b, sizes);
  if (g)
    return forallSlices(
        b, bounds, outs,
        [&](ImplicitLocOpBuilder &hb, ValueRange ivs, ValueRange all) {
          beginSequence(hb, ivs[0], sizes);
          h = ivs[1];
          return buildHead(hb, all);
        });
  // (sequence, query head, query block): the longest sequence's blocks;
  // those past a shorter packed sequence's end do nothing.
  bounds.push_back(
      arith::CeilDivUIOp::create(b, tokens, indexConst(b, BQ)).getResult());
  return forallSlices(
      b, bounds, outs,
      [&](ImplicitLocOpBuilder &hb, ValueRange ivs, ValueRange all) {
        beginSequence(hb, ivs[0], sizes);
        h = ivs[1];
        return buildQueryBlock(hb, ivs[2], all);
      });
}

ParallelSlice FlashAttentionBuilder::headRows(ImplicitLocOpBuilder &b,
                                              Value all, Value n, Value first) {
  auto type = cast<RankedTensorType>(all.getType());
  OpFoldResult one = b.getIndexAttr(1);
  ParallelSlice r;
  r.offsets = {bi, getAsOpFoldResult(first ? token(b, first) : base), h};
  r.sizes = {one, n, one};
  SmallVector<int64_t> shape = {ShapedType::kDynamic};
  if (type.getRank() == 4) {
    r.offsets.push_back(b.getIndexAttr(0));
    r.sizes.push_back(b.getIndexAttr(type.getDimSize(3)));
    shape.push_back(type.getDimSize(3));
  }
  SmallVector<OpFoldResult> unit(r.offsets.size(), one);
  r.value = tensor::ExtractSliceOp::create(
      b, RankedTensorType::get(shape, type.getElementType()), all, r.offsets,
      r.sizes, unit);
  return r;
}

/// The forall body with a forget gate: this head's output rows
/// o[bi, base:base+T, h, :] as a [T, V] tensor (and its lse rows, a [T]
/// tensor), filled one query block at a time, as the slices to insert into
/// `all` (o, then lse).
SmallVector<ParallelSlice>
FlashAttentionBuilder::buildHead(ImplicitLocOpBuilder &b, ValueRange all) {
  SmallVector<ParallelSlice> slices;
  SmallVector<Value> rows;
  for (Value whole : all) {
    slices.push_back(headRows(b, whole, T));
    rows.push_back(slices.back().value);
  }
  beginHead(b, h);
  Value numQBlocks = arith::CeilDivUIOp::create(b, T, indexConst(b, BQ));
  auto qLoop = forLoop(b, zero, numQBlocks, rows,
                       [&](ImplicitLocOpBuilder &b, Value qb, ValueRange a) {
                         return queryBlock(b, qb, a, /*intoHead=*/true);
                       });
  for (auto [slice, filled] : llvm::zip_equal(slices, qLoop))
    slice.value = filled;
  return slices;
}

/// The forall body otherwise: query block `qb`'s output rows o[bi, base+q0 :
/// base+q0+n, h, :] as an [n, V] tensor (and its lse rows, an [n] tensor), n =
/// the sequence's rows in the block (0 past its end), as the slices to insert
/// into `all` (o, then lse).
SmallVector<ParallelSlice>
FlashAttentionBuilder::buildQueryBlock(ImplicitLocOpBuilder &b, Value qb,
                                       ValueRange all) {
  Value q0 = arith::MulIOp::create(b, qb, indexConst(b, BQ));
  Value n = rowsFrom(b, q0);
  Value any =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ne, n, indexConst(b, 0));
  // An empty block's (empty) slice starts at the sequence's start, in
  // bounds.
  Value first = arith::SelectOp::create(b, any, q0, indexConst(b, 0));
  SmallVector<ParallelSlice> slices;
  SmallVector<Value> rows;
  for (Value whole : all) {
    slices.push_back(headRows(b, whole, n, first));
    rows.push_back(slices.back().value);
  }
  auto branch = scf::IfOp::create(b, ValueRange(rows).getTypes(), any,
                                  /*withElseRegion=*/true);
  {
    auto tb = ImplicitLocOpBuilder::atBlockBegin(
        b.getLoc(), &branch.getThenRegion().front());
    beginHead(tb, h);
    scf::YieldOp::create(tb, queryBlock(tb, qb, rows, /*intoHead=*/false));
    auto eb = ImplicitLocOpBuilder::atBlockBegin(
        b.getLoc(), &branch.getElseRegion().front());
    scf::YieldOp::create(eb, rows);
  }
  for (auto [slice, filled] : llvm::zip_equal(slices, branch.getResults()))
    slice.value = filled;
  return slices;
}

Value FlashAttentionBuilder::rowsFrom(ImplicitLocOpBuilder &b, Value q0) {
  Value past = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, q0, T);
  Value left = arith::SelectOp::create(b, past, indexConst(b, 0),
                                       arith::SubIOp::create(b, T, q0));
  return arith::MinUIOp::create(b, indexConst(b, BQ), left);
}

/// Query block `qb`: the online softmax over its key blocks, then its rows
/// of the output (and of the log-sum-exp) written into `rows`: the head's
/// rows when `intoHead`, else the block's own.
SmallVector<Value> FlashAttentionBuilder::queryBlock(ImplicitLocOpBuilder &b,
                                                     Value qb, ValueRange rows,
                                                     bool intoHead) {
  QueryBlock qblk = loadQueryBlock(b, qb);
  qblk.r0 = intoHead ? qblk.q0 : zero;
  auto [kbLo, kbHi] = keyBlockRange(b, qblk);
  auto kLoop = forLoop(b, kbLo, kbHi, emptySoftmax(b),
                       [&](ImplicitLocOpBuilder &b, Value kb, ValueRange a) {
                         return keyBlock(b, qblk, kb, a);
                       });
  SmallVector<Value> out = {
      normalizedRows(b, qblk, kLoop[1], kLoop[2], rows[0])};
  if (rows.size() > 1)
    out.push_back(lseRows(b, qblk, kLoop[0], kLoop[1], rows[1]));
  return out;
}

/// lse = m + log l for the query block's valid rows, written into `rows`;
/// -inf (the log of an empty sum) for rows with no allowed key.
Value FlashAttentionBuilder::lseRows(ImplicitLocOpBuilder &b,
                                     const QueryBlock &qblk, Value m, Value l,
                                     Value rows) {
  return forLoop(b, zero, qblk.validQ, {rows},
                 [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
                   Value li = tensor::ExtractOp::create(b, l, ValueRange{i});
                   Value mi = tensor::ExtractOp::create(b, m, ValueRange{i});
                   Value any = arith::CmpFOp::create(
                       b, arith::CmpFPredicate::OGT, li, f32Const(b, 0.0f));
                   Value lse = arith::SelectOp::create(
                       b, any,
                       arith::AddFOp::create(b, mi, math::LogOp::create(b, li)),
                       f32Const(b, kNegInf));
                   return SmallVector<Value>{tensor::InsertOp::create(
                       b, lse, a[0],
                       ValueRange{b.createOrFold<arith::AddIOp>(qblk.r0, i)})};
                 })[0];
}

QueryBlock FlashAttentionBuilder::loadQueryBlock(ImplicitLocOpBuilder &b,
                                                 Value qb) {
  QueryBlock qblk;
  qblk.q0 = arith::MulIOp::create(b, qb, indexConst(b, BQ));
  qblk.p0 = position(b, qblk.q0);
  qblk.validQ = rowsFrom(b, qblk.q0);
  Value Qt =
      loadTile(b, q, BQ, K, qblk.validQ, [&](ImplicitLocOpBuilder &b, Value i) {
        return SmallVector<Value>{
            bi, token(b, arith::AddIOp::create(b, qblk.q0, i)), h, zero};
      });
  // (scale Q)^T [K, BQ], once per query block.
  qblk.Qs = mapN(b, Qt, {},
                 [&](OpBuilder &nb, Location loc, ValueRange args) -> Value {
                   return arith::MulFOp::create(nb, loc, args[0],
                                                constF32(nb, loc, scale));
                 });
  qblk.QtT = transposed(b, qblk.Qs);
  qblk.Gq = G ? sliceOf(b, G, qblk.q0, BQ) : Value();
  return qblk;
}

SmallVector<Value>
FlashAttentionBuilder::emptySoftmax(ImplicitLocOpBuilder &b) {
  return {filledTile(b, {BQ}, kNegInf), filledTile(b, {BQ}, 0.0f),
          filledTile(b, {BQ, V}, 0.0f)};
}

/// Key blocks [kbLo, kbHi): causal stops at the block holding the query
/// block's last row; a window starts at the block holding the first row's
/// first allowed key, q0 - window + 1.
std::pair<Value, Value>
FlashAttentionBuilder::keyBlockRange(ImplicitLocOpBuilder &b,
                                     const QueryBlock &qblk) {
  Value keyEnd = S;
  if (causal)
    keyEnd = arith::MinUIOp::create(
        b, S, arith::AddIOp::create(b, qblk.p0, qblk.validQ));
  Value kbHi = arith::CeilDivUIOp::create(b, keyEnd, indexConst(b, BK));
  Value kbLo = zero;
  if (window > 0) {
    Value q1 = arith::AddIOp::create(b, qblk.p0, indexConst(b, 1));
    Value w = indexConst(b, window);
    Value past = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, q1, w);
    Value first =
        arith::SelectOp::create(b, past, arith::SubIOp::create(b, q1, w), zero);
    kbLo = arith::DivUIOp::create(b, first, indexConst(b, BK));
  }
  if (block > 0) {
    // Keys from the block of the first row to the end of the last row's.
    Value n = indexConst(b, block);
    Value lastRow = arith::SubIOp::create(
        b, arith::AddIOp::create(b, qblk.q0, qblk.validQ), indexConst(b, 1));
    Value first =
        arith::MulIOp::create(b, arith::DivUIOp::create(b, qblk.q0, n), n);
    Value end = arith::MulIOp::create(
        b,
        arith::AddIOp::create(b, arith::DivUIOp::create(b, lastRow, n),
                              indexConst(b, 1)),
        n);
    kbLo = arith::MaxUIOp::create(
        b, kbLo, arith::DivUIOp::create(b, first, indexConst(b, BK)));
    kbHi = arith::MinUIOp::create(
        b, kbHi, arith::CeilDivUIOp::create(b, end, indexConst(b, BK)));
  }
  return {kbLo, kbHi};
}

/// Key block `kb` against the query block: its scores, then the online
/// softmax update of the running (max, sum, output) `running`.
SmallVector<Value> FlashAttentionBuilder::keyBlock(ImplicitLocOpBuilder &b,
                                                   const QueryBlock &qblk,
                                                   Value kb,
                                                   ValueRange running) {
  KeyBlock kblk = loadKeyBlock(b, kb);
  Value scores = maskedScores(b, qblk, kblk, rawScores(b, qblk, kblk));
  return onlineSoftmax(b, scores, kblk.Vt, running);
}

KeyBlock FlashAttentionBuilder::loadKeyBlock(ImplicitLocOpBuilder &b,
                                             Value kb) {
  KeyBlock kblk;
  kblk.k0 = arith::MulIOp::create(b, kb, indexConst(b, BK));
  kblk.validK = arith::MinUIOp::create(b, indexConst(b, BK),
                                       arith::SubIOp::create(b, S, kblk.k0));
  auto key = [&](ImplicitLocOpBuilder &b, Value j) {
    return SmallVector<Value>{
        bi, token(b, arith::AddIOp::create(b, kblk.k0, j)), kvHead, zero};
  };
  kblk.Kt = loadTile(b, k, BK, K, kblk.validK, key);
  kblk.Vt = loadTile(b, v, BK, V, kblk.validK, key);
  return kblk;
}

Value FlashAttentionBuilder::rawScores(ImplicitLocOpBuilder &b,
                                       const QueryBlock &qblk,
                                       const KeyBlock &kblk) {
  return matmul(b, kblk.Kt, qblk.QtT, filledTile(b, {BK, BQ}, 0.0f));
}

/// The scores with the gate's bias and the mask. Only blocks straddling a
/// mask boundary (the causal diagonal, the window's edge, the last partial
/// key block) evaluate the mask; blocks wholly inside it take the plain
/// path.
Value FlashAttentionBuilder::maskedScores(ImplicitLocOpBuilder &b,
                                          const QueryBlock &qblk,
                                          const KeyBlock &kblk, Value scores) {
  SmallVector<std::pair<Value, AffineMap>> biasIns;
  if (G)
    biasIns = {{sliceOf(b, G, kblk.k0, BK), keyMap}, {qblk.Gq, queryMap}};
  Value inside = insideMask(b, qblk, kblk);
  auto branch = scf::IfOp::create(b, TypeRange{scores.getType()}, inside,
                                  /*withElseRegion=*/true);
  auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                               &branch.getThenRegion().front());
  scf::YieldOp::create(tb, biasAndMask(tb, qblk, kblk, scores,
                                       /*masked=*/false, biasIns));
  auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                               &branch.getElseRegion().front());
  scf::YieldOp::create(eb, biasAndMask(eb, qblk, kblk, scores,
                                       /*masked=*/true, biasIns));
  return branch.getResult(0);
}

/// Whether the key block lies wholly inside the mask: full, and (causal)
/// its last key <= the first row, k0 + BK - 1 <= q0, and (window) its first
/// key > the last row - window, k0 + window >= q0 + BQ, and (block) the query
/// and key blocks lie in one block of positions.
Value FlashAttentionBuilder::insideMask(ImplicitLocOpBuilder &b,
                                        const QueryBlock &qblk,
                                        const KeyBlock &kblk) {
  Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, kblk.validK,
                                       indexConst(b, BK));
  if (causal)
    inside = arith::AndIOp::create(
        b, inside,
        arith::CmpIOp::create(
            b, arith::CmpIPredicate::ule,
            arith::AddIOp::create(b, kblk.k0, indexConst(b, BK)),
            arith::AddIOp::create(b, qblk.p0, indexConst(b, 1))));
  if (window > 0)
    inside = arith::AndIOp::create(
        b, inside,
        arith::CmpIOp::create(
            b, arith::CmpIPredicate::uge,
            arith::AddIOp::create(b, kblk.k0, indexConst(b, window)),
            arith::AddIOp::create(b, qblk.p0, indexConst(b, BQ))));
  if (block > 0) {
    // Every query row and key in one block: the first query's block holds
    // the last query and the key block's ends.
    Value n = indexConst(b, block);
    auto blockOf = [&](Value pos, int64_t offset) -> Value {
      return arith::DivUIOp::create(
          b, arith::AddIOp::create(b, pos, indexConst(b, offset)), n);
    };
    Value home = blockOf(qblk.q0, 0);
    for (Value other : {blockOf(qblk.q0, BQ - 1), blockOf(kblk.k0, 0),
                        blockOf(kblk.k0, BK - 1)})
      inside = arith::AndIOp::create(
          b, inside,
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, home, other));
  }
  return inside;
}

/// The (soft-capped) scores + G_i - G_j; with `masked` also -inf where the
/// key is padding or outside the causal mask or the window.
Value FlashAttentionBuilder::biasAndMask(
    ImplicitLocOpBuilder &b, const QueryBlock &qblk, const KeyBlock &kblk,
    Value scores, bool masked, ArrayRef<std::pair<Value, AffineMap>> biasIns) {
  if (!G && !masked && softcap == 0.0f)
    return scores;
  return mapN(b, scores, biasIns,
              [&](OpBuilder &nb, Location loc, ValueRange args) -> Value {
                Value s = args.back();
                if (softcap > 0.0f) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  s = softcapped(ib, s, softcap);
                }
                if (G)
                  s = arith::AddFOp::create(
                      nb, loc, s, gateBias(nb, loc, args[1], args[0]));
                if (!masked)
                  return s;
                Value j = linalg::IndexOp::create(nb, loc, 0);
                Value i = linalg::IndexOp::create(nb, loc, 1);
                Value allowed = arith::CmpIOp::create(
                    nb, loc, arith::CmpIPredicate::ult, j, kblk.validK);
                Value row = arith::AddIOp::create(nb, loc, qblk.p0, i);
                Value col = arith::AddIOp::create(nb, loc, kblk.k0, j);
                auto require = [&](arith::CmpIPredicate p, Value x, Value y) {
                  allowed = arith::AndIOp::create(
                      nb, loc, allowed,
                      arith::CmpIOp::create(nb, loc, p, x, y));
                };
                if (causal)
                  require(arith::CmpIPredicate::ule, col, row);
                if (window > 0) {
                  // j > i - window  <=>  j + window > i
                  Value w = arith::ConstantIndexOp::create(nb, loc, window);
                  require(arith::CmpIPredicate::ugt,
                          arith::AddIOp::create(nb, loc, col, w), row);
                }
                if (block > 0) {
                  Value n = arith::ConstantIndexOp::create(nb, loc, block);
                  require(arith::CmpIPredicate::eq,
                          arith::DivUIOp::create(nb, loc, col, n),
                          arith::DivUIOp::create(nb, loc, row, n));
                }
                return arith::SelectOp::create(nb, loc, allowed, s,
                                               constF32(nb, loc, kNegInf));
              });
}

/// The online softmax update of the running (max m, sum l, output O) for
/// one block of scores S^T [BK, BQ] and values `Vt`.
SmallVector<Value> FlashAttentionBuilder::onlineSoftmax(ImplicitLocOpBuilder &b,
                                                        Value scores, Value Vt,
                                                        ValueRange running) {
  Value m = running[0], l = running[1], acc = running[2];
  // Running max m' = max(m, rowmax(S)). mSafe is m' with 0 for rows that
  // have no allowed key yet, so exp(-inf - -inf) is never formed. m is
  // updated in place after its last read.
  Value blockMax =
      reduceKeys(b, scores, filledTile(b, {BQ}, kNegInf),
                 [](OpBuilder &nb, Location loc, Value acc, Value x) -> Value {
                   return arith::MaximumFOp::create(nb, loc, acc, x);
                 });
  Value mSafe =
      mapN(b, emptyTile(b, {BQ}), {{m, id1}, {blockMax, id1}},
           [](OpBuilder &nb, Location loc, ValueRange args) -> Value {
             Value mx = arith::MaximumFOp::create(nb, loc, args[0], args[1]);
             Value none =
                 arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ, mx,
                                       constF32(nb, loc, kNegInf));
             return arith::SelectOp::create(nb, loc, none,
                                            constF32(nb, loc, 0.0f), mx);
           });
  // alpha = exp(m - m'), 0 while the old max is -inf.
  Value alpha =
      mapN(b, emptyTile(b, {BQ}), {{m, id1}, {mSafe, id1}},
           [](OpBuilder &nb, Location loc, ValueRange args) -> Value {
             Value none =
                 arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ,
                                       args[0], constF32(nb, loc, kNegInf));
             Value e = math::ExpOp::create(
                 nb, loc, arith::SubFOp::create(nb, loc, args[0], args[1]));
             return arith::SelectOp::create(nb, loc, none,
                                            constF32(nb, loc, 0.0f), e);
           });
  Value mNew =
      mapN(b, m, {{blockMax, id1}},
           [](OpBuilder &nb, Location loc, ValueRange args) -> Value {
             return arith::MaximumFOp::create(nb, loc, args[1], args[0]);
           });
  // P^T = exp(S^T - m'), masked entries 0.
  Value P = mapN(b, scores, {{mSafe, queryMap}},
                 [](OpBuilder &nb, Location loc, ValueRange args) -> Value {
                   Value x = args[1];
                   Value masked =
                       arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ,
                                             x, constF32(nb, loc, kNegInf));
                   Value e = math::ExpOp::create(
                       nb, loc, arith::SubFOp::create(nb, loc, x, args[0]));
                   return arith::SelectOp::create(nb, loc, masked,
                                                  constF32(nb, loc, 0.0f), e);
                 });
  // l' = alpha l + rowsum(P).
  Value lNew = mapN(b, l, {{alpha, id1}},
                    [](OpBuilder &nb, Location loc, ValueRange args) -> Value {
                      return arith::MulFOp::create(nb, loc, args[1], args[0]);
                    });
  lNew = reduceKeys(
      b, P, lNew, [](OpBuilder &nb, Location loc, Value acc, Value x) -> Value {
        return arith::AddFOp::create(nb, loc, acc, x);
      });
  // O = alpha O + P V.
  Value accNew =
      mapN(b, acc, {{alpha, rowMap}},
           [](OpBuilder &nb, Location loc, ValueRange args) -> Value {
             return arith::MulFOp::create(nb, loc, args[1], args[0]);
           });
  accNew = contract(b, P, Vt, accNew, pMap, vMap);
  return {mNew, lNew, accNew};
}

/// o = O / l for the query block's valid rows, written into `rows`; rows
/// with no allowed key give 0.
Value FlashAttentionBuilder::normalizedRows(ImplicitLocOpBuilder &b,
                                            const QueryBlock &qblk, Value l,
                                            Value acc, Value rows) {
  return forLoop(
      b, zero, qblk.validQ, {rows},
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value li = tensor::ExtractOp::create(b, l, ValueRange{i});
        Value any = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, li,
                                          f32Const(b, 0.0f));
        Value inv = arith::SelectOp::create(
            b, any, arith::DivFOp::create(b, f32Const(b, 1.0f), li),
            f32Const(b, 0.0f));
        Value row = vector::TransferReadOp::create(
            b, VectorType::get({V}, b.getF32Type()), acc, ValueRange{i, zero},
            f32Const(b, 0.0f), ArrayRef<bool>{true});
        row = arith::MulFOp::create(b, row, splat(b, inv, V));
        return SmallVector<Value>{writeVector(
            b, row, a[0], {b.createOrFold<arith::AddIOp>(qblk.r0, i), zero})};
      })[0];
}

LogicalResult lowerFlashAttention(RewriterBase &rewriter, mix::AttentionOp op,
                                  int64_t blockQ, int64_t blockK) {
  if (blockQ <= 0 || blockK <= 0)
    return rewriter.notifyMatchFailure(op, "block sizes must be positive");
  FlashAttentionBuilder flash(op, blockQ, blockK);
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        return flash.build(b, sizes);
      });
}

} // namespace mixir::lowering
