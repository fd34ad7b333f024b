//===- Relayout.h - dims of a relayout as named factors ---------*- C++ -*-===//
//
// Internal to lib/Transforms/Raise: follows which named factors (batch,
// tokens, key/value heads, head groups, ...) each dim of a tensor is made of
// through expand_shape, collapse_shape and transpose, so a raiser can check
// where a value's elements came from without guessing from sizes.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_RELAYOUT_H
#define MIXIR_LIB_TRANSFORMS_RAISE_RELAYOUT_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mixir::raise {

/// Each dim as the factors it is made of, outer to inner, one char per
/// factor; factors of size 1 are left out (a unit dim is "").
struct FactorLayout {
  llvm::SmallVector<std::string> dims;
  llvm::DenseMap<char, int64_t> sizes;
};

/// The layout whose dims are made of `dims` (e.g. {"b", "t", "kg", "d"})
/// with the factor sizes `sizes`.
FactorLayout factorLayout(llvm::ArrayRef<std::string> dims,
                          const llvm::DenseMap<char, int64_t> &sizes);

/// The tensor.expand_shape, tensor.collapse_shape or linalg.transpose
/// defining `v`, or null.
mlir::Operation *relayoutOf(mlir::Value v);

/// Whether the relayout `op` only adds, drops or moves unit dims (its
/// result holds its input's elements in their order).
bool movesOnlyUnitDims(mlir::Operation *op);

/// `l`, the layout of `op`'s input, becomes that of its result. Fails when
/// a reshape would split a factor or a size is dynamic.
mlir::LogicalResult applyRelayout(mlir::Operation *op, FactorLayout &l);

} // namespace mixir::raise

#endif
