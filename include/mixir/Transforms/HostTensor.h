//===- HostTensor.h - float64 tensors for probes ----------------*- C++ -*-===//
//
// The raisers recognise a computation by evaluating it in float64 on random
// inputs (the loop raising of mix-raise) or on constants (the StableHLO
// importer's constant folding); both hold values as HostTensor. Integers are
// held exactly (|x| < 2^53); floats are not rounded to their element type.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_TRANSFORMS_HOSTTENSOR_H
#define MIXIR_TRANSFORMS_HOSTTENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace mixir::raise {

struct HostTensor {
  llvm::SmallVector<int64_t> shape;
  std::vector<double> data; // row-major

  int64_t numElements() const;
};

/// The static shape of a ranked tensor type (false for dynamic or unranked).
bool staticShape(mlir::Type type, llvm::SmallVector<int64_t> &shape);

/// The values of a dense int/float/bool elements attribute.
HostTensor fromAttr(mlir::DenseElementsAttr attr);
/// A dense elements attribute of `type` (a static tensor type) holding
/// `values`, rounded to the element type; splat when all values are equal.
mlir::DenseElementsAttr toAttr(mlir::RankedTensorType type,
                               const HostTensor &values);

/// Row-major strides of `shape`.
llvm::SmallVector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);
/// Calls `f(linear index, multi-index)` for every element of `shape`.
void forEachIndex(llvm::ArrayRef<int64_t> shape,
                  llvm::function_ref<void(int64_t, llvm::ArrayRef<int64_t>)> f);

} // namespace mixir::raise

#endif
