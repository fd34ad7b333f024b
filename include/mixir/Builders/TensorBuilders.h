//===- TensorBuilders.h - upstream tensor code, built once ------*- C++ -*-===//
//
// Builders that emit linalg/tensor/arith/math ops on ranked tensors with
// numpy-style broadcasting. They know nothing about any model format: the ONNX
// and StableHLO importers translate their nodes into calls of these, and the
// derived backward (lib/Transforms/Backward) builds its reversals and sums
// with them, so every producer emits the same upstream form.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_BUILDERS_TENSORBUILDERS_H
#define MIXIR_BUILDERS_TENSORBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace mixir::build {

using mlir::Location;
using mlir::OpBuilder;
using mlir::OpFoldResult;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;

/// Sizes of a ranked tensor value, static ones as attributes.
llvm::SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value t);
/// The static shape (kDynamic for dynamic sizes) of mixed sizes.
llvm::SmallVector<int64_t> staticShapeOf(llvm::ArrayRef<OpFoldResult> sizes);
/// An empty tensor of the given sizes.
Value emptyTensor(OpBuilder &b, Location loc,
                  llvm::ArrayRef<OpFoldResult> sizes, Type elementType);
/// A tensor of the given sizes filled with `value` (a scalar of the element
/// type).
Value filledTensor(OpBuilder &b, Location loc,
                   llvm::ArrayRef<OpFoldResult> sizes, Value value);
/// A scalar constant of a float or integer type.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);

/// The numpy broadcast of the shapes of `inputs` (aligned at the right).
/// Fails (returns nullopt) when two static sizes differ and neither is 1.
std::optional<llvm::SmallVector<OpFoldResult>>
broadcastSizes(OpBuilder &b, Location loc, ValueRange inputs);

/// Computes `body(elements of inputs)` element-wise over the broadcast shape
/// of the inputs (or `outSizes` when given, which must be a broadcast of each
/// input's shape) as one linalg.generic. The body may call linalg.index on
/// the generic's loops (one per result dimension).
using ElementwiseBody =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;
Value elementwise(OpBuilder &b, Location loc, ValueRange inputs,
                  Type resultElementType, ElementwiseBody body,
                  std::optional<llvm::ArrayRef<OpFoldResult>> outSizes = {});

/// Converts every element to `to` (float/int/i1 in any direction).
Value convertScalar(OpBuilder &b, Location loc, Value v, Type to,
                    bool isUnsigned = false);
Value castElements(OpBuilder &b, Location loc, Value t, Type to,
                   bool isUnsigned = false);

enum class ReduceKind { sum, mean, max, min, prod };
/// Reduces `x` over `axes` (non-negative, sorted or not); keeps them as size
/// 1 when `keepDims`.
Value reduce(OpBuilder &b, Location loc, Value x, llvm::ArrayRef<int64_t> axes,
             bool keepDims, ReduceKind kind);

/// numpy.matmul: 1-D operands are promoted, batch dims broadcast.
Value matmul(OpBuilder &b, Location loc, Value lhs, Value rhs);
/// Permutes the dimensions (linalg.transpose).
Value transpose(OpBuilder &b, Location loc, Value x,
                llvm::ArrayRef<int64_t> perm);
/// Softmax over `axis` (linalg.softmax; `mix-decompose-aggregates` expands it).
Value softmax(OpBuilder &b, Location loc, Value x, int64_t axis);
/// Inclusive (or exclusive) prefix sum over `axis`, optionally reversed.
Value cumsum(OpBuilder &b, Location loc, Value x, int64_t axis, bool exclusive,
             bool reverse);
/// Keeps elements with `col - row <= k` (lower) or `>= k` (upper) in the last
/// two dims, zero elsewhere.
Value triangle(OpBuilder &b, Location loc, Value x, int64_t k, bool upper);
/// 1-D grouped convolution, `x: [N, C, T]`, `w: [M, C/groups, K]`, optional
/// `bias: [M]`, with pads [begin, end] along T.
Value conv1d(OpBuilder &b, Location loc, Value x, Value w, Value bias,
             int64_t groups, int64_t stride, int64_t dilation, int64_t padBegin,
             int64_t padEnd);

/// Reshapes to `sizes` (same element count) by collapsing to 1-D and
/// expanding; at most one dynamic size in `sizes` unless they match.
Value reshape(OpBuilder &b, Location loc, Value x,
              llvm::ArrayRef<OpFoldResult> sizes);
/// Strided slice with positive steps; `sizes` is the element count per dim.
Value slice(OpBuilder &b, Location loc, Value x,
            llvm::ArrayRef<OpFoldResult> offsets,
            llvm::ArrayRef<OpFoldResult> sizes,
            llvm::ArrayRef<OpFoldResult> strides);
/// Concatenation along `axis`.
Value concat(OpBuilder &b, Location loc, ValueRange inputs, int64_t axis);
/// `x` read backwards along `axis` (numpy.flip); the size may be dynamic.
Value reverse(OpBuilder &b, Location loc, Value x, int64_t axis);
/// numpy.take(data, indices, axis) with negative indices counted from the end.
Value gather(OpBuilder &b, Location loc, Value data, Value indices,
             int64_t axis);

/// What a loop should yield for its carried tensor `arg` whose new value is
/// `value`: `value` itself when it is `arg` or a chain of slice insertions
/// into it (already updated in place), else `value` copied into `arg`
/// (linalg.copy). One-shot bufferization wants each yielded tensor
/// equivalent to its loop argument, so that it reuses the argument's buffer.
Value yieldedInPlace(OpBuilder &b, Location loc, Value value, Value arg);

} // namespace mixir::build

#endif
