//===- LoweringUtils.h - builders shared by the mix lowerings ---*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOLOOPS_LOWERINGUTILS_H
#define MIXIR_LIB_CONVERSION_MIXTOLOOPS_LOWERINGUTILS_H

#include "Conversion/Utils/ShapeChecks.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringMap.h"

#include <functional>

namespace mixir::lowering {
using mlir::ImplicitLocOpBuilder;
using mlir::Value;
using mlir::ValueRange;

Value indexConst(ImplicitLocOpBuilder &b, int64_t v);
/// Static size of dimension `i` of a shaped value.
int64_t dimSize(Value v, unsigned i);
Value f32Const(ImplicitLocOpBuilder &b, float v);
/// A vector<len x f32> of `v`.
Value f32Splat(ImplicitLocOpBuilder &b, float v, int64_t len);
/// Broadcasts an f32 scalar to vector<len x f32>.
Value splat(ImplicitLocOpBuilder &b, Value scalar, int64_t len);

/// Extends (or keeps) a float scalar or vector to f32.
Value toF32(ImplicitLocOpBuilder &b, Value v);
/// Reads one element of `tensor` as f32.
Value readF32(ImplicitLocOpBuilder &b, Value tensor, ValueRange indices);
/// Reads `len` consecutive innermost elements starting at `indices` as
/// vector<len x f32>; the range must be in bounds.
Value readF32Vector(ImplicitLocOpBuilder &b, Value tensor, ValueRange indices,
                    int64_t len);
/// Writes an f32 vector into `tensor` at `indices`, truncated to the tensor's
/// element type; returns the updated tensor.
Value writeVector(ImplicitLocOpBuilder &b, Value vec, Value tensor,
                  ValueRange indices);
/// Inserts the f32 scalar `x` at `indices`, converted to the tensor's type.
Value storeScalar(ImplicitLocOpBuilder &b, Value x, Value tensor,
                  ValueRange indices);
/// sum(v) of an f32 vector.
Value reduceAdd(ImplicitLocOpBuilder &b, Value vec);
/// cap * tanh(x / cap) of an f32 scalar: mix.attention's logit soft-cap.
Value softcapped(ImplicitLocOpBuilder &b, Value x, float cap);
/// 1 / sqrt(sum(x^2) + 1e-6) of an f32 vector: the qk_l2norm factor.
Value inverseL2Norm(ImplicitLocOpBuilder &b, Value x);
/// 1 / sqrt(squares + 1e-6) of an f32 scalar (a sum of squares).
Value inverseNorm(mlir::OpBuilder &b, mlir::Location loc, Value squares);

/// Body of a loop: gets the induction variable and the loop-carried values
/// and returns the values to carry on.
using LoopBody = std::function<llvm::SmallVector<Value>(ImplicitLocOpBuilder &,
                                                        Value, ValueRange)>;
/// scf.for from `lb` to `ub` (step 1) carrying `iterArgs`; returns results.
llvm::SmallVector<Value> forLoop(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                 ValueRange iterArgs, const LoopBody &body);

/// Body of one vector tile: offset into the tiled axis, static tile width.
using TileBody = std::function<llvm::SmallVector<Value>(
    ImplicitLocOpBuilder &, Value, int64_t, ValueRange)>;
/// Covers [0, size) with tiles of `width` (a loop over full tiles, then one
/// static remainder tile), so the vector length stays bounded for wide axes.
llvm::SmallVector<Value> forEachTile(ImplicitLocOpBuilder &b, int64_t size,
                                     int64_t width, ValueRange iterArgs,
                                     const TileBody &body);

/// tensor.empty of `type` whose dynamic dims are taken from `sizes` by the
/// symbols of `dims`.
Value emptyLike(ImplicitLocOpBuilder &b, mlir::RankedTensorType type,
                llvm::ArrayRef<llvm::StringRef> dims, const SymbolSizes &sizes);

/// The [K, V] f32 state of (batch bi, state head s) as a slice of `states`
/// [B, Hv, K, V], initialised from `init` (same shape) or zero.
Value beginStateSlice(ImplicitLocOpBuilder &b, Value states, Value init,
                      Value bi, Value s);
/// Inserts the updated slice back into `states`.
Value endStateSlice(ImplicitLocOpBuilder &b, Value slice, Value states,
                    Value bi, Value s);

/// A slice a parallel iteration writes into one shared output.
struct ParallelSlice {
  Value value;
  llvm::SmallVector<mlir::OpFoldResult> offsets, sizes;
};
/// One scf.forall over [0, bounds) sharing `outputs`; each iteration returns
/// one slice per output (unit strides). The CPU pipeline maps the forall onto
/// OpenMP threads.
llvm::SmallVector<Value>
forallSlices(ImplicitLocOpBuilder &b, llvm::ArrayRef<mlir::OpFoldResult> bounds,
             ValueRange outputs,
             const std::function<llvm::SmallVector<ParallelSlice>(
                 ImplicitLocOpBuilder &, ValueRange, ValueRange)> &body);

/// The tokens of one independent sequence: batch row `batch`, tokens
/// [start, start + length). Without packing a whole batch row (start 0,
/// length T); with `cu_seqlens`, sequence n of the one packed row
/// (cu_seqlens[n] to cu_seqlens[n + 1]).
struct SequenceSpan {
  Value batch, start, length;
  /// start + length (folded for a whole batch row).
  Value end(ImplicitLocOpBuilder &b) const;
  /// The input token of row i of the sequence: start + i.
  Value token(ImplicitLocOpBuilder &b, Value i) const;
};
/// The span of iteration `i` of the loop over sequences: batch row i, or
/// packed sequence i when `cuSeqlens` is set.
SequenceSpan sequenceSpan(ImplicitLocOpBuilder &b, Value cuSeqlens, Value i,
                          const SymbolSizes &sizes);
/// The number of independent sequences: B, or N with packed sequences.
Value sequenceCount(const SymbolSizes &sizes, Value cuSeqlens);

// The lowering of each op kind (one file each).
mlir::LogicalResult lowerLinearAttention(mlir::RewriterBase &rewriter,
                                         mix::LinearAttentionOp op);
mlir::LogicalResult lowerDeltaRule(mlir::RewriterBase &rewriter,
                                   mix::DeltaRuleOp op);
mlir::LogicalResult lowerAttention(mlir::RewriterBase &rewriter,
                                   mix::AttentionOp op);
/// The flash-attention form of `op`: per (batch, query head, block of
/// `blockQ` query rows), in parallel (with a forget gate per (batch, query
/// head), its query blocks in turn), blocks of `blockK` keys with an online
/// softmax; key blocks wholly outside the causal mask or window are skipped.
mlir::LogicalResult lowerFlashAttention(mlir::RewriterBase &rewriter,
                                        mix::AttentionOp op, int64_t blockQ,
                                        int64_t blockK);
/// The flash-attention backward (mix.attention_grad) on the forward's
/// blocks: per (batch, query head), the query blocks (lse, D, dq) then the
/// key blocks (dk, dv, dG).
mlir::LogicalResult lowerFlashAttentionGrad(mlir::RewriterBase &rewriter,
                                            mix::AttentionGradOp op,
                                            int64_t blockQ, int64_t blockK);
/// With `gpuBlocks` the unpacked scan takes the form GPU blocks run
/// (buildScanOnBlocks in Scan.cpp): a parallel loop over (batch, channel
/// groups).
mlir::LogicalResult lowerScan(mlir::RewriterBase &rewriter, mix::ScanOp op,
                              bool gpuBlocks = false);
/// Lowers mix.rnn: per (batch, head) in parallel, the steps in order with the
/// head's recurrent weights copied once (f32, transposed).
mlir::LogicalResult lowerRnn(mlir::RewriterBase &rewriter, mix::RnnOp op);
/// Lowers mix.rnn for convert-chunked-to-gpu: per (batch, head) in
/// parallel (a thread block each), the steps in order with the head's
/// weights in one tile and each step's work as linalg ops the block's
/// threads share.
mlir::LogicalResult lowerRnnOnBlocks(mlir::RewriterBase &rewriter,
                                     mix::RnnOp op);
/// Lowers mix.causal_conv1d: per sequence (batch row, or packed sequence)
/// in parallel and channel tile, the taps and the last W - 1 inputs in
/// registers across the tokens; a state pool is gathered before and
/// scattered after.
mlir::LogicalResult lowerCausalConv1d(mlir::RewriterBase &rewriter,
                                      mix::CausalConv1dOp op);
/// Lowers mix.recurrence to its recurrent form.
mlir::LogicalResult lowerRecurrence(mlir::RewriterBase &rewriter,
                                    mix::RecurrenceOp op);
/// What the lowerings of mix.linear_attention, mix.delta_rule and
/// mix.recurrence need from the op; `beta` is set only for the delta rule,
/// the low-rank terms a, b [B, T, Hv, R, K] (R = `rank`) only for
/// mix.recurrence, which may also take the gate as the decay itself
/// (`signedDecay`) instead of its logarithm; `cuSeqlens` when the op packs
/// sequences, `stateIndices` when `init` is a state pool.
struct RecurrenceOperands {
  Value q, k, v, g, init, beta, cuSeqlens, stateIndices;
  Value lowRankA, lowRankB;
  int64_t rank = 0;
  mix::GateKind gate = mix::GateKind::none;
  float scale = 1.0f;
  bool l2norm = false, negEigval = false, signedDecay = false;
  /// mix.recurrence's `read transposed`: o_t = S_t q_t (q [.., V], o [.., K]).
  bool transposedRead = false;
  /// `all_states`: the state result is the state after every token,
  /// [B, T, Hv, K, V] (`stateType`), and a pool is read, not written.
  bool allStates = false;
  /// Schedule of the chunked form (not an operand): factor the diagonal
  /// 16-token blocks of per-channel gates where their exponents allow.
  bool factorBlocks = true;
  mlir::RankedTensorType oType, stateType;
};
RecurrenceOperands recurrenceOperands(mix::LinearAttentionOp op);
RecurrenceOperands recurrenceOperands(mix::DeltaRuleOp op);
RecurrenceOperands recurrenceOperands(mix::RecurrenceOp op);

/// The tiles of one (sequence, state head) pair: its output rows
/// o[batch, start : start + length, s*G : (s+1)*G, :] as a [length, G, V]
/// tensor (row 0 is token `start`), its [K, V] state, and with `all_states`
/// its rows of the per-token states, [length, K, V] (null otherwise).
struct StateHeadTiles {
  Value rows, state, stateRows;
};
/// Body of one (sequence, state head) pair: gets the sequence's span, the
/// state head and its tiles (the state initialised); returns them updated.
using StateHeadBody = std::function<StateHeadTiles(
    ImplicitLocOpBuilder &, const SequenceSpan &, Value, StateHeadTiles)>;
/// Runs `body` for every (sequence, state head) pair of the op `r` describes
/// as one scf.forall (the pairs are independent; the CPU pipeline maps it
/// onto OpenMP threads) and returns the assembled output [B, T, Ho, V] and
/// state result: the final states [B or N, Hv, K, V], the updated pool
/// [P, Hv, K, V] with `r.stateIndices`, or with `r.allStates` the state
/// after every token [B, T, Hv, K, V] (zero for padding sequences; the pool
/// is not written). `group` is the number of output heads per state head;
/// a sequence is a batch row, or with `r.cuSeqlens` one of the N packed
/// sequences. `o` and `states` come from emptyOutputs and emptyFinalStates.
llvm::SmallVector<Value> forEachStateHead(ImplicitLocOpBuilder &b,
                                          const SymbolSizes &sizes,
                                          const RecurrenceOperands &r,
                                          int64_t group, Value o, Value states,
                                          const StateHeadBody &body);

/// The slot of sequence n in a state pool: its index and whether it is
/// padding (negative).
struct PoolSlot {
  Value index, padding;
};
PoolSlot poolSlot(ImplicitLocOpBuilder &b, Value indices, Value n);
/// The [K, V] slice (sequence n, state head s) of `states` [N, Hv, K, V],
/// initialised from pool[slot, s], or zero for padding.
Value beginPooledStateSlice(ImplicitLocOpBuilder &b, Value states, Value pool,
                            const PoolSlot &slot, Value n, Value s);
/// The states [count, ...] of `count` sequences read from `pool` [P, ...]:
/// row n is pool[indices[n]], or zeros for padding.
Value gatherFromPool(ImplicitLocOpBuilder &b, Value pool, Value indices,
                     Value count);
/// A copy of `pool` (as `poolType`, any rank, dim 0 P) with the final state
/// (row n of `states`) of each sequence n < `count` that is not padding in
/// its slot indices[n].
Value scatterToPool(ImplicitLocOpBuilder &b, mlir::RankedTensorType poolType,
                    Value pool, Value indices, Value states, Value count,
                    const SymbolSizes &sizes);

/// The output [B, T, Ho, V] of the op `r` describes: uninitialised, or zero
/// with a state pool (the rows of padding sequences are never written).
Value emptyOutputs(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                   const SymbolSizes &sizes);
/// The uninitialised final states [B or N, Hv, K, V] of the op `r` describes
/// (one per sequence, also with a state pool or all_states).
Value emptyFinalStates(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                       const SymbolSizes &sizes);
/// The recurrent form of the results of the op `r` describes (shape checks
/// are the caller's).
llvm::SmallVector<Value> buildRecurrent(ImplicitLocOpBuilder &b,
                                        const RecurrenceOperands &r,
                                        const SymbolSizes &sizes);
/// Lowers a mix.linear_attention, mix.delta_rule or mix.recurrence to the
/// chunkwise form with chunks of `chunk` tokens when the sequence has at
/// least `minChunkedLength` tokens (decided statically for a static length,
/// by a run-time branch to the recurrent form otherwise).
mlir::LogicalResult lowerChunkedRecurrence(mlir::RewriterBase &rewriter,
                                           mlir::Operation *op, int64_t chunk,
                                           int64_t minChunkedLength,
                                           bool factorBlocks = true);
/// Rewrites the f32 tile products (linalg.matmul and TileOps' `contract`)
/// inside `roots` to bf16 operands with f32 accumulation
/// (NarrowProducts.cpp): convert-mix-to-chunked's bf16-products.
void narrowProducts(mlir::RewriterBase &rewriter,
                    llvm::ArrayRef<mlir::Operation *> roots);
/// The chunked scan: per chunk in parallel a local scan, then the carries
/// across chunks, then the outputs per chunk from its carry.
mlir::LogicalResult lowerChunkedScan(mlir::RewriterBase &rewriter,
                                     mix::ScanOp op, int64_t chunk);

} // namespace mixir::lowering

#endif
