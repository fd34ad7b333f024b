//===- FlashAttention.h - flash-attention tiles of mix.attention -*- C++
//-*-===//
//
// Internal to lib/Conversion/MixToLoops. The tiles, masks and online softmax
// of the flash form of mix.attention (FlashAttention.cpp), shared by its
// backward, mix.attention_grad (FlashAttentionGrad.cpp): the backward
// recomputes the forward's scores with the same code and only adds the
// gradient products.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOLOOPS_FLASHATTENTION_H
#define MIXIR_LIB_CONVERSION_MIXTOLOOPS_FLASHATTENTION_H

#include "TileOps.h"

#include "mlir/IR/AffineMap.h"

#include <type_traits>

namespace mixir::lowering {

using llvm::SmallVector;

/// One key block's position and tiles: its first key, how many of its BK
/// rows are keys (the rest is padding), and the key and value tiles.
struct KeyBlock {
  Value k0, validK, Kt, Vt;
};

/// One query block's position and its tiles: the first query row, its
/// position for the masks (the row, or with a KV cache the row's place
/// among the keys), how many of its BQ rows are queries, scale Q [BQ, K],
/// (scale Q)^T and, with a forget gate, its slice of G = cumsum(g).
struct QueryBlock {
  Value q0, p0, validQ, Qs, QtT, Gq;
  /// Where its first row goes in the rows the forward writes.
  Value r0;
};

/// Builds the flash form of one mix.attention (see FlashAttention.cpp). The
/// per-(batch, head) values are set while the forall body is built.
class FlashAttentionBuilder {
public:
  /// `op` is a mix.attention or a mix.attention_grad (the same operands q,
  /// k, v, g and attributes).
  template <typename AttentionLike>
  FlashAttentionBuilder(AttentionLike op, int64_t blockQ, int64_t blockK)
      : q(op.getQ()), k(op.getK()), v(op.getV()), g(op.getG()),
        cu(op.getCuSeqlens()), hq(dimSize(q, 2)), K(dimSize(q, 3)),
        V(dimSize(v, 3)), share(hq / dimSize(k, 2)), BQ(blockQ), BK(blockK),
        scale(op.getScaleOrDefault()), causal(op.getCausal()),
        window(op.getWindowOrZero()), block(op.getBlockOrZero()),
        softcap(op.getSoftcapOrZero()), keysAreQueries(op.keysAreQueries()) {
    if constexpr (std::is_same_v<AttentionLike, mix::AttentionOp>) {
      oType = op.getO().getType();
      kvLens = op.getKvLens();
      if (Value lse = op.getLse())
        lseType = llvm::cast<mlir::RankedTensorType>(lse.getType());
    }
    initMaps(op.getContext());
  }

  /// The op's result: one scf.forall over (batch, query head, query block),
  /// or with a forget gate over (batch, query head).
  SmallVector<Value> build(ImplicitLocOpBuilder &b, const SymbolSizes &sizes);

protected:
  void initMaps(mlir::MLIRContext *ctx);
  /// The sequence lengths T and S (S = T when keys are queries), and
  /// `tokens`, the longest sequence's (T unless packed).
  void setLengths(ImplicitLocOpBuilder &b, const SymbolSizes &sizes);
  /// The bounds of the forall over (sequence, query head): (B, Hq), or
  /// (N, Hq) with packed sequences.
  SmallVector<mlir::OpFoldResult> headBounds(ImplicitLocOpBuilder &b,
                                             const SymbolSizes &sizes);
  /// Inside that forall, for its first index `seq`: the batch row `bi`, the
  /// first token `base` and, with packed sequences, T = S = the sequence's
  /// length. Every position below is then counted from `base`.
  void beginSequence(ImplicitLocOpBuilder &b, Value seq,
                     const SymbolSizes &sizes);
  /// Token `pos` of the current sequence, as an index into q, k, v and g.
  Value token(ImplicitLocOpBuilder &b, Value pos);
  /// The mask position of query row `row`: the row, or with a KV cache
  /// kv_lens[b] - T + row (the queries are the cache's last T positions).
  Value position(ImplicitLocOpBuilder &b, Value row);
  /// Sets the per-(sequence, query head h) values, after beginSequence:
  /// index 0, the key head and G = cumsum(g) over the sequence.
  void beginHead(ImplicitLocOpBuilder &b, Value h);
  /// This (sequence, query head)'s rows [first, first + n) of a [B, T, H, W]
  /// result (W = 0: [B, T, H] and 1-D rows), counted from the sequence's
  /// start (0 when `first` is null): the extracted rows, and where the forall
  /// inserts them back.
  ParallelSlice headRows(ImplicitLocOpBuilder &b, Value all, Value n,
                         Value first = {});
  /// The sequence's rows in the query block starting at row `q0`: BQ, fewer
  /// in its last block, 0 past its end.
  Value rowsFrom(ImplicitLocOpBuilder &b, Value q0);
  /// Query block `qb`: position, scale Q, its transpose, its G slice.
  QueryBlock loadQueryBlock(ImplicitLocOpBuilder &b, Value qb);
  /// Key block `kb`: position, key and value tiles.
  KeyBlock loadKeyBlock(ImplicitLocOpBuilder &b, Value kb);
  /// S^T = K (scale Q)^T [BK, BQ], before the soft-cap, bias and mask.
  Value rawScores(ImplicitLocOpBuilder &b, const QueryBlock &qblk,
                  const KeyBlock &kblk);
  std::pair<Value, Value> keyBlockRange(ImplicitLocOpBuilder &b,
                                        const QueryBlock &qblk);
  Value maskedScores(ImplicitLocOpBuilder &b, const QueryBlock &qblk,
                     const KeyBlock &kblk, Value scores);
  SmallVector<Value> keyBlock(ImplicitLocOpBuilder &b, const QueryBlock &qblk,
                              Value kb, ValueRange running);
  /// The per-query running (max, sum, output) before the first key block.
  SmallVector<Value> emptySoftmax(ImplicitLocOpBuilder &b);
  /// acc[i] = combine(acc[i], tile[j, i]) over the keys j of a [BK, BQ]
  /// score tile.
  static Value reduceKeys(
      ImplicitLocOpBuilder &b, Value tile, Value acc,
      const std::function<Value(OpBuilder &, Location, Value, Value)> &combine);
  /// Elements [start, start + n) of a 1-D tensor as a static tensor<n>.
  static Value sliceOf(ImplicitLocOpBuilder &b, Value vec, Value start,
                       int64_t n);

  Value q, k, v, g;
  Value cu;     // cu_seqlens, null when not packed
  Value kvLens; // kv_lens (a KV cache), null without
  const int64_t hq, K, V, share, BQ, BK;
  const float scale;
  const bool causal;
  const int64_t window;
  const int64_t block; // 0: off
  const float softcap; // 0: off
  const bool keysAreQueries;
  mlir::RankedTensorType oType;   // the forward's o only
  mlir::RankedTensorType lseType; // its log-sum-exp result, when present
  // Score tiles are [BK, BQ]: loop (j, i) with j the key, i the query.
  mlir::AffineMap keyMap;   // (j, i) -> (j)
  mlir::AffineMap queryMap; // (j, i) -> (i)
  mlir::AffineMap id1, id2;
  mlir::AffineMap rowMap; // (i, c) -> (i) on O
  // O[i, c] += sum_j P^T[j, i] V[j, c] over loops (i, c, j).
  mlir::AffineMap pMap, vMap;
  // The sequence lengths, then per (sequence, query head): the batch row,
  // the sequence's first token, the query head, the key/value head,
  // G = cumsum(g) over the sequence (with a forget gate) and index 0.
  // `tokens` is the longest sequence's length (T when not packed).
  Value T, S, tokens;
  Value bi, base, shift, h, kvHead, G, zero;

private:
  SmallVector<ParallelSlice> buildHead(ImplicitLocOpBuilder &b, ValueRange all);
  SmallVector<ParallelSlice> buildQueryBlock(ImplicitLocOpBuilder &b, Value qb,
                                             ValueRange all);
  SmallVector<Value> queryBlock(ImplicitLocOpBuilder &b, Value qb,
                                ValueRange rows, bool intoHead);
  Value lseRows(ImplicitLocOpBuilder &b, const QueryBlock &qblk, Value m,
                Value l, Value rows);
  Value biasAndMask(ImplicitLocOpBuilder &b, const QueryBlock &qblk,
                    const KeyBlock &kblk, Value scores, bool masked,
                    ArrayRef<std::pair<Value, mlir::AffineMap>> biasIns);
  Value insideMask(ImplicitLocOpBuilder &b, const QueryBlock &qblk,
                   const KeyBlock &kblk);
  SmallVector<Value> onlineSoftmax(ImplicitLocOpBuilder &b, Value scores,
                                   Value Vt, ValueRange running);
  Value normalizedRows(ImplicitLocOpBuilder &b, const QueryBlock &qblk, Value l,
                       Value acc, Value rows);
};

} // namespace mixir::lowering

#endif
