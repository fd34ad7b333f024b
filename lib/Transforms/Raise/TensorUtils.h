//===- TensorUtils.h - small tensor builders of the raisers -----*- C++ -*-===//
//
// Internal to lib/Transforms/Raise: the layout changes a raised op needs
// around it, as linalg/tensor ops on static shapes.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_TENSORUTILS_H
#define MIXIR_LIB_TRANSFORMS_RAISE_TENSORUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace mixir::raise {

/// The static shape of a ranked tensor value (empty otherwise).
llvm::SmallVector<int64_t> staticShapeOf(mlir::Value v);
mlir::Type elementTypeOf(mlir::Value v);
/// x with its dims permuted (linalg.transpose into a new tensor); sizes may
/// be dynamic.
mlir::Value transposed(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       llvm::ArrayRef<int64_t> perm);
/// x with dim `from` moved to position `to`, the others in order.
mlir::Value movedDim(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     int64_t from, int64_t to);
/// x with its last two dims swapped.
mlir::Value swappedLastDims(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value x);
/// x (static, rank >= 1) reshaped to `shape` (rank >= 1, same size).
mlir::Value reshaped(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     llvm::ArrayRef<int64_t> shape);
/// x with float elements converted to `elem` (extf / truncf).
mlir::Value castedTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     mlir::Type elem);

/// x (static) read backwards along `dim`.
mlir::Value reversedAlong(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                          int64_t dim);
/// x[..., None] broadcast to `shape`: x's dims are the leading dims of
/// `shape` (linalg.broadcast).
mlir::Value broadcastTrailing(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value x, llvm::ArrayRef<int64_t> shape);
/// A constant tensor of `shape` in `elem` holding `value` everywhere.
mlir::Value splatTensor(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::ArrayRef<int64_t> shape, mlir::Type elem,
                        double value);
/// The element-wise `x * y`, `-x` or `x + y` (linalg.generic; same shapes).
mlir::Value multiplied(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y);
mlir::Value negated(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// The element-wise linalg.generic computing `exp` of its one input
/// (possibly broadcast or converted on the way), or null.
mlir::linalg::GenericOp expGeneric(mlir::Operation *def);
/// The log of `decay`, the result of an expGeneric: the generic cloned at
/// the builder with its exp dropped.
mlir::Value logOfExp(mlir::OpBuilder &b, mlir::Value decay);

} // namespace mixir::raise

#endif
