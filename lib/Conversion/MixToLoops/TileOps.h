//===- TileOps.h - linalg builders on the static tiles of the chunked form -*- C++ -*-===//
//
// The chunkwise lowerings express their work as linalg ops on static tiles
// ([C, K], [C, V], [C, C], [K, V]); mix-vectorize-tiles turns them into
// register tiles on the CPU, and the same IR is meant for tensor cores.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOLOOPS_TILEOPS_H
#define MIXIR_LIB_CONVERSION_MIXTOLOOPS_TILEOPS_H

#include "LoweringUtils.h"

namespace mixir::lowering {
using mlir::ArrayRef;
using mlir::Location;
using mlir::OpBuilder;

/// Tokens per secondary sub-chunk for per-channel gates (GLA paper).
constexpr int64_t kSubChunk = 16;

/// A static f32 tile of `shape` filled with `value`.
Value filledTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                 float value);
/// A zero-filled f32 tile.
Value zeroTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape);

/// A [C, W] f32 tile whose row i is src[index(i)] for i < valid, else 0.
/// With `l2norm`, each loaded row is scaled by 1/sqrt(sum x^2 + 1e-6).
Value loadTile(ImplicitLocOpBuilder &b, Value src, int64_t C, int64_t W,
               Value valid,
               const std::function<llvm::SmallVector<Value>(
                   ImplicitLocOpBuilder &, Value)> &index,
               bool l2norm = false);

/// lhs * rhs + acc (linalg.matmul).
Value matmul(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value acc);

/// init[i, j] + sum_r lhs * rhs over loops (i, j, r), the operands read
/// through the given maps: a matmul with transposed operands.
Value contract(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value init,
               mlir::AffineMap lhsMap, mlir::AffineMap rhsMap);

/// fn(i, j, tile[i, j], G[i], G[j]) over a 2-D tile; `G` (a per-row f32
/// vector, may be null) is read through a row map and, with `withColumn`
/// (square tiles), a column map.
Value mapTile(ImplicitLocOpBuilder &b, Value tile, Value G, bool withColumn,
              const std::function<Value(OpBuilder &, Location, Value, Value,
                                        Value, Value, Value)> &fn);

/// out[idx] = fn(inputs..., out[idx]) over every (parallel) loop of `out`.
Value mapN(ImplicitLocOpBuilder &b, Value out,
           ArrayRef<std::pair<Value, mlir::AffineMap>> inputs,
           const std::function<Value(OpBuilder &, Location, mlir::ValueRange)>
               &fn);

/// fn(G[i]) over a 1-D f32 tile.
Value mapVector(ImplicitLocOpBuilder &b, Value G,
                const std::function<Value(OpBuilder &, Location, Value)> &fn);

Value rowsOf(ImplicitLocOpBuilder &b, Value tile, int64_t r0, int64_t n);
Value rowOf(ImplicitLocOpBuilder &b, Value tile, int64_t r);
Value insertBlock(ImplicitLocOpBuilder &b, Value block, Value into, int64_t r0,
                  int64_t c0);
Value transposed(ImplicitLocOpBuilder &b, Value tile);

/// Keeps the lower triangle of a square tile (j <= i, or j < i when
/// `strictlyLower`), zeroes the rest; with `G` (a per-row log gate) also
/// multiplies by exp(G_i - G_j).
Value causalDecayMask(ImplicitLocOpBuilder &b, Value scores, Value G,
                      bool strictlyLower);

/// Per-channel gated scores sum_k X_ik Y_jk exp(Gc_ik - Gc_jk) on and below
/// the diagonal (strictly below with `strictlyLower`), zero above, for [C, K]
/// tiles X, Y and the [C, K] in-chunk cumulative gate Gc. Computed per
/// 16-token key block p: directly on the diagonal block, below it as
/// (X * exp(Gc - R_p)) (Y_p * exp(R_p - Gc_p))^T with R_p the gate at the
/// block's last token, so every exponent is <= 0.
Value perChannelGatedScores(ImplicitLocOpBuilder &b, Value X, Value Y,
                            Value Gc, bool strictlyLower);

/// Solves (I + A) Z = R for Z by forward substitution, A strictly lower
/// triangular [C, C], R [C, W]: row i is R_i - sum_{j<i} A_ij Z_j.
Value forwardSubstitute(ImplicitLocOpBuilder &b, Value A, Value R);

/// The [n, m] block of a 2-D tile at (r0, c0).
Value blockOf(ImplicitLocOpBuilder &b, Value tile, int64_t r0, int64_t c0,
              int64_t n, int64_t m);

/// (I + A)^-1 for A strictly lower triangular [C, C], blocked: each
/// `block` x `block` diagonal block by forward substitution, the blocks
/// below merged with matmuls, T_pq = -T_pp sum_{r=q}^{p-1} A_pr T_rq.
Value invertUnitLower(ImplicitLocOpBuilder &b, Value A, int64_t block);

} // namespace mixir::lowering

#endif
