//===- TileOps.h - linalg builders on chunk tiles ---------------*- C++ -*-===//
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
Value filledTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape, float value);
/// A zero-filled f32 tile.
Value zeroTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape);

/// A [C, W] f32 tile whose row i is src[index(i)] for i < valid, else 0.
/// With `l2norm`, each loaded row is scaled by 1/sqrt(sum x^2 + 1e-6).
Value loadTile(
    ImplicitLocOpBuilder &b, Value src, int64_t C, int64_t W, Value valid,
    const std::function<llvm::SmallVector<Value>(ImplicitLocOpBuilder &, Value)>
        &index,
    bool l2norm = false);

/// lhs * rhs + acc (linalg.matmul).
Value matmul(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value acc);

/// init[i, j] + sum_r lhs * rhs over loops (i, j, r), the operands read
/// through the given maps: a matmul with transposed operands.
Value contract(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value init,
               mlir::AffineMap lhsMap, mlir::AffineMap rhsMap);

/// fn(i, j, tile[i, j], Grow[i], Gcol[j]) over a 2-D tile; `Grow` and
/// `Gcol` (per-row and per-column f32 vectors) may be null, and then so is
/// the value fn gets for them.
Value mapTile(ImplicitLocOpBuilder &b, Value tile, Value Grow, Value Gcol,
              const std::function<Value(OpBuilder &, Location, Value, Value,
                                        Value, Value, Value)> &fn);

/// tile * factor: per row for a 1-D factor, per element for one of the
/// tile's shape.
Value scaled(ImplicitLocOpBuilder &b, Value tile, Value factor);

/// -tile.
Value negated(ImplicitLocOpBuilder &b, Value tile);

/// Each row of a [C] or [C, W] tile repeated `times` times in a row:
/// [C * times] or [C * times, W] (row i * times + r is row i).
Value repeatRows(ImplicitLocOpBuilder &b, Value tile, int64_t times);

/// acc[i] = combine(acc[i], x) for every element x of a 2-D tile whose
/// dim `keptDim` is i: the other dim is reduced into the 1-D `acc`.
Value reduceTile(
    ImplicitLocOpBuilder &b, Value tile, Value acc, unsigned keptDim,
    const std::function<Value(OpBuilder &, Location, Value, Value)> &combine);

/// out[idx] = fn(inputs..., out[idx]) over every (parallel) loop of `out`.
Value mapN(
    ImplicitLocOpBuilder &b, Value out,
    ArrayRef<std::pair<Value, mlir::AffineMap>> inputs,
    const std::function<Value(OpBuilder &, Location, mlir::ValueRange)> &fn);

Value rowsOf(ImplicitLocOpBuilder &b, Value tile, int64_t r0, int64_t n);
Value rowOf(ImplicitLocOpBuilder &b, Value tile, int64_t r);
Value insertBlock(ImplicitLocOpBuilder &b, Value block, Value into, int64_t r0,
                  int64_t c0);
Value transposed(ImplicitLocOpBuilder &b, Value tile);

/// Which entries of a [n, m] score tile are kept. Row i stands for token
/// i / rowsPerToken and column j for token j / colsPerToken (tiles with
/// several rows per token, such as the low-rank terms of mix.recurrence, are
/// token-major); an entry is kept when its column's token is at or before
/// its row's (strictly before with `strictlyLower`).
struct CausalMask {
  bool strictlyLower = false;
  int64_t rowsPerToken = 1, colsPerToken = 1;
};

/// Keeps the entries of `scores` that `mask` keeps and zeroes the rest (a
/// select, so what is discarded never reaches a sum); with per-row and
/// per-column log gates `Grow` and `Gcol` (1-D, both or neither) also
/// multiplies the kept entries by exp(Grow_i - Gcol_j).
Value causalDecayMask(ImplicitLocOpBuilder &b, Value scores, Value Grow,
                      Value Gcol, CausalMask mask);

/// Per-channel gated scores sum_k X_ik Y_jk exp(Grow_ik - Gcol_jk) on the
/// entries `mask` keeps, zero elsewhere, for X [n, K] with the row gate Grow
/// [n, K] and Y [m, K] with the column gate Gcol [m, K] (n and m being the
/// same number of tokens times the mask's rows and columns per token).
/// Computed per block of 16 tokens p of the columns. The diagonal block is
/// (X_p * exp(Grow_p - F)) (Y_p * exp(F - Gcol_p))^T with F the gate of its
/// first column when every such exponent is within 30 (factors far from
/// f32's limits), else with the exponent inside the sum, exactly; below it,
/// (X * exp(Grow - R_p)) (Y_p * exp(R_p - Gcol_p))^T with R_p the column gate
/// at the block's last token, so every exponent is <= 0 when the gates are
/// cumulative log decays and the row gate of a row after the block is at
/// most R_p.
/// With `factored` false the diagonal blocks always take the exact form
/// (a schedule choice: one branch fewer per block, fewer live values).
Value perChannelGatedScores(ImplicitLocOpBuilder &b, Value X, Value Grow,
                            Value Y, Value Gcol, CausalMask mask,
                            bool factored = true);

/// The per-channel gated read through the transpose: [n, K] with entry
/// (i, k) = sum_j P_ij Y_jk exp(Grow_ik - Gcol_jk) over the columns j whose
/// token (j / colsPerToken) is at or before token i, for P [n, m], Y and
/// Gcol [m, K], Grow [n, K]. Blocked like perChannelGatedScores (16-token
/// column blocks: the diagonal block factored through its first column gate
/// when its exponents are within 30 and its Y finite, else exact; matmuls
/// through the block's last column gate below it), so every exponent is
/// <= 0 for cumulative log decays.
Value perChannelGatedRead(ImplicitLocOpBuilder &b, Value P, Value Grow, Value Y,
                          Value Gcol, int64_t colsPerToken,
                          bool factored = true);

/// Solves (I + A) Z = R for Z by forward substitution, A strictly lower
/// triangular [C, C], R [C, W]: row i is R_i - sum_{j<i} A_ij Z_j.
Value forwardSubstitute(ImplicitLocOpBuilder &b, Value A, Value R);

/// The [n, m] block of a 2-D tile at (r0, c0).
Value blockOf(ImplicitLocOpBuilder &b, Value tile, int64_t r0, int64_t c0,
              int64_t n, int64_t m);

/// (I + A)^-1 for A strictly lower triangular [C, C], blocked: each
/// `block` x `block` diagonal block by forward substitution, the blocks
/// below merged with matmuls, T_pq = -T_pp sum_{r=q}^{p-1} A_pr T_rq. The
/// blocks are unrolled, so the cost of the IR grows with (C / block)^3; a C
/// that `block` does not divide is solved as one block.
Value invertUnitLower(ImplicitLocOpBuilder &b, Value A, int64_t block);

} // namespace mixir::lowering

#endif
