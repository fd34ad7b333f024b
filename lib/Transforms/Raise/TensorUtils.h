//===- TensorUtils.h - small tensor builders of the raisers -----*- C++ -*-===//
//
// Internal to lib/Transforms/Raise: the layout changes a raised op needs
// around it, as linalg/tensor ops on static shapes.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_TENSORUTILS_H
#define MIXIR_LIB_TRANSFORMS_RAISE_TENSORUTILS_H

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

} // namespace mixir::raise

#endif
