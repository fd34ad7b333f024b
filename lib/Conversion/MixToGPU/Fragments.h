//===- Fragments.h - warp-level mma.sync fragments --------------*- C++ -*-===//
//
// Builders for the register fragments of `mma.sync.m16n8k16` (f16/bf16
// operands, f32 accumulators) and the `ldmatrix` loads that fill them from
// shared memory. Lane `l` of a warp holds, of a 16 x 8 accumulator, the
// elements (row g, cols 2q, 2q+1) and (row g+8, the same cols) with
// g = l / 4 and q = l % 4; the operand layouts follow the PTX ISA.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOGPU_FRAGMENTS_H
#define MIXIR_LIB_CONVERSION_MIXTOGPU_FRAGMENTS_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>
#include <utility>

namespace mixir::gpu_lowering {
using mlir::ImplicitLocOpBuilder;
using mlir::Value;

/// Index arithmetic (canonicalisation folds the constants).
struct Ix {
  ImplicitLocOpBuilder &b;
  Value c(int64_t v);
  Value add(Value x, Value y);
  Value add(Value x, int64_t v) { return add(x, c(v)); }
  Value mul(Value x, Value y);
  Value mul(Value x, int64_t v) { return mul(x, c(v)); }
  Value div(Value x, int64_t v);
  Value rem(Value x, int64_t v);
  Value sub(Value x, Value y);
  Value min(Value x, Value y);
  Value min(Value x, int64_t v) { return min(x, c(v)); }
  Value ceilDiv(Value x, int64_t v);
  /// x < y (unsigned).
  Value lt(Value x, Value y);
  Value lt(Value x, int64_t v) { return lt(x, c(v)); }
  /// x <= y (unsigned).
  Value le(Value x, Value y);
  Value both(Value p, Value q);
  Value f32(float v);
};

/// The lane's coordinates in the fragments.
struct Lane {
  Value lane;  // 0..31
  Value group; // lane / 4: accumulator rows group and group + 8
  Value quad;  // lane % 4: accumulator columns 2 quad, 2 quad + 1
};
Lane laneOf(Ix &ix, Value threadId);

/// vector<2x2xf32> zeros: a 16 x 8 accumulator.
Value zeroAcc(ImplicitLocOpBuilder &b);
/// The 16 x 16 A operand at (m0, k0) of `smem` stored row-major [M][K].
Value loadA(Ix &ix, Value smem, Value m0, Value k0, const Lane &l);
/// The 16 x 16 A operand at (m0, k0) of the transpose of `smem`, which is
/// stored [K][M] (ldmatrix .trans).
Value loadATransposed(Ix &ix, Value smem, Value k0, Value m0, const Lane &l);
/// The 16 x 8 B operands of columns n0.. and n0+8.. (rows k0..k0+15) of
/// `smem` stored [N][K] (one ldmatrix .x4).
std::pair<Value, Value> loadBPair(Ix &ix, Value smem, Value n0, Value k0,
                                  const Lane &l);
/// The same from `smem` stored [K][N] (ldmatrix .x4 .trans).
std::pair<Value, Value> loadBPairTransposed(Ix &ix, Value smem, Value k0,
                                            Value n0, const Lane &l);
/// acc + a * bFrag on the tensor cores (nvgpu.mma.sync m16n8k16).
Value mma(ImplicitLocOpBuilder &b, Value a, Value bFrag, Value acc);
/// The 16 x 16 A operand made of two 16 x 8 accumulators (columns 0-7 and
/// 8-15), rounded to `elemType`: the accumulator and A layouts line up, so
/// a product feeds the next matmul without leaving registers.
Value packA(ImplicitLocOpBuilder &b, Value acc0, Value acc1,
            mlir::Type elemType);
/// Applies `f(row, col, value)` to each element this lane holds of the
/// accumulator whose top-left element is at (m0, n0).
using ElementFn = std::function<Value(Value row, Value col, Value v)>;
Value mapAcc(Ix &ix, Value acc, Value m0, Value n0, const Lane &l,
             const ElementFn &f);
/// Applies `f(row, col, value)` (in f32) to each element this lane holds of
/// the 16 x 16 A operand whose top-left element is at (m0, k0); the result
/// is rounded back to the operand's type.
Value mapA(Ix &ix, Value frag, Value m0, Value k0, const Lane &l,
           const ElementFn &f);
/// Calls `f(r, row, col)` for the lane's two accumulator rows (r = 0, 1;
/// the first of the two columns).
void forAccRows(Ix &ix, Value m0, Value n0, const Lane &l,
                const std::function<void(int64_t, Value, Value)> &f);

} // namespace mixir::gpu_lowering

#endif
