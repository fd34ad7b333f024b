//===- GradBuilders.h - tensor pieces of backward passes --------*- C++ -*-===//
//
// Internal to lib/Transforms/Backward. The backward of a linear recurrence
// is the same recurrence run in reverse time on the cotangents; these
// builders give the index plumbing around the mix ops that compute it: time
// reversal, head expansion for shared heads and the sum back, and casts.
// What depends on where sequences start and end (the one-step gate shift
// of a reversed recurrence, the reverse cumulative sum of gate gradients,
// a sequence's first and last token) is in Sequences.h. Every tensor is
// sequence-first, [B, T, ...], with dynamic B and T allowed.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_BACKWARD_GRADBUILDERS_H
#define MIXIR_LIB_TRANSFORMS_BACKWARD_GRADBUILDERS_H

#include "Sequences.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mixir::grad {

using mlir::Location;
using mlir::OpBuilder;
using mlir::Value;

/// The cotangent of o in f32, or zeros [B, T, Ho, V] (the sizes of `q`
/// with V as the last) when o has none.
Value outputCotangent(OpBuilder &b, Location loc, Value dO, Value q, int64_t V);
/// A tensor of `sizes` whose element at `idx` is `fn(idx)` (one
/// linalg.generic; `idx` are its loop indices).
using IndexBody =
    llvm::function_ref<Value(OpBuilder &, Location, llvm::ArrayRef<Value>)>;
Value generate(OpBuilder &b, Location loc,
               llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elem,
               IndexBody fn);
/// An index constant.
Value indexConst(OpBuilder &b, Location loc, int64_t v);
/// `x[idx]` with `idx[1]` (the time index) replaced by `t`.
Value readAtTime(OpBuilder &b, Location loc, Value x, llvm::ArrayRef<Value> idx,
                 Value t);
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
