//===- GradBuilders.h - tensor pieces of backward passes --------*- C++ -*-===//
//
// Internal to lib/Transforms/Backward. The backward of a linear recurrence
// is the same recurrence run in reverse time on the cotangents; these
// builders give the index plumbing around the mix ops that compute it: time
// reversal (with the one-step gate shift that reversing a recurrence
// needs), head expansion for shared heads and the sum back, the reverse
// cumulative sum of gate gradients (itself a mix.scan), and casts. Every
// tensor is sequence-first, [B, T, ...], with dynamic B and T allowed.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_BACKWARD_GRADBUILDERS_H
#define MIXIR_LIB_TRANSFORMS_BACKWARD_GRADBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mixir::grad {

using mlir::Location;
using mlir::OpBuilder;
using mlir::Value;

/// The cotangent of o in f32, or zeros [B, T, Ho, V] (the sizes of `q`
/// with V as the last) when o has none.
Value outputCotangent(OpBuilder &b, Location loc, Value dO, Value q, int64_t V);
/// Static size of dim `d` of the ranked tensor `x`.
int64_t dimOf(Value x, int64_t d);
/// `x` with f32 elements (a cast when it has another float type).
Value toF32(OpBuilder &b, Location loc, Value x);
/// `x` converted to the element type of `like`.
Value castLike(OpBuilder &b, Location loc, Value x, Value like);
/// Element-wise a * b, a - b, a + b, exp(a) (same shapes).
Value mul(OpBuilder &b, Location loc, Value x, Value y);
Value sub(OpBuilder &b, Location loc, Value x, Value y);
Value add(OpBuilder &b, Location loc, Value x, Value y);
Value scaled(OpBuilder &b, Location loc, Value x, double factor);
/// Zeros with the sizes (and element type) of `like`.
Value zerosLike(OpBuilder &b, Location loc, Value like);

/// `x[:, T-1-t]`: the sequence read backwards along dim 1.
Value reverseTime(OpBuilder &b, Location loc, Value x);
/// The gate of the reversed recurrence: `0` at t = 0, `g[:, T-t]` after.
/// Running `S = exp(g'_t) S + ...` over reversed inputs applies the decay of
/// step u + 1 between steps u + 1 and u, as the state gradient needs.
Value reverseShiftedGate(OpBuilder &b, Location loc, Value g);
/// `x[:, t-1]`, with `first` (x's shape without dim 1) at t = 0.
Value shiftForward(OpBuilder &b, Location loc, Value x, Value first);
/// `x` at dim 1's first step (x's shape without dim 1), or ones when the
/// sequence is empty: the decay applied to the initial state.
Value firstStepDecay(OpBuilder &b, Location loc, Value logGate);
/// `x` plus `term` (x's shape without dim 1) at the last step of dim 1.
Value addAtLastStep(OpBuilder &b, Location loc, Value x, Value term);

/// Each index h of dim `axis` repeated `copies` times (h -> h / copies).
Value repeatHeads(OpBuilder &b, Location loc, Value x, int64_t axis,
                  int64_t copies);
/// The first of each group of `copies` indices of dim `axis` gets
/// `x[h / copies]`, the others zero: a cotangent that must count once.
Value firstCopy(OpBuilder &b, Location loc, Value x, int64_t axis,
                int64_t copies);
/// The sum over each group of `copies` consecutive indices of dim `axis`.
Value sumHeads(OpBuilder &b, Location loc, Value x, int64_t axis,
               int64_t copies);

/// `x` with dims `d` and `d + 1` merged into one (row-major).
Value mergeDims(OpBuilder &b, Location loc, Value x, int64_t d);
/// `x` with dim `d` split into [size / inner, inner] (static sizes).
Value splitDim(OpBuilder &b, Location loc, Value x, int64_t d, int64_t inner);

/// `sum_{u >= t} x[:, u]` along dim 1 (f32), computed by a mix.scan with a
/// zero gate over the reversed sequence.
Value reverseCumsumTime(OpBuilder &b, Location loc, Value x);

/// The gradient of a head gate (one log decay per head for every step) from
/// the per-step terms dG [B, T, H]: sum_{b, t} ((t + 1) dG - minus) with
/// `minus` (same shape) optional. Its terms are large and mostly cancel, so
/// the sum is accumulated in f64; the result is f32 [H].
Value headGateGrad(OpBuilder &b, Location loc, Value dG, Value minus = {});

/// `x[:, 0]` (x's shape without dim 1), or zeros when the sequence is empty.
Value firstStep(OpBuilder &b, Location loc, Value x);
/// `x` with zeros in front along dim 1 and its last step dropped: `x[:, t-1]`
/// with zeros at t = 0.
Value shiftForwardZero(OpBuilder &b, Location loc, Value x);

/// `[first, rest]` stacked as heads: first [B, T, H, W] and rest
/// [B, T, H, R, W] (may be null) give [B, T, H * (1 + R), W], head h's
/// `first` row then its R rows.
Value stackHeads(OpBuilder &b, Location loc, Value first, Value rest);
/// The inverse of stackHeads for x [B, T, H * (1 + R), W]: ([B, T, H, W],
/// [B, T, H, R, W] or null for R = 0).
std::pair<Value, Value> unstackHeads(OpBuilder &b, Location loc, Value x,
                                     int64_t rank);

} // namespace mixir::grad

#endif
