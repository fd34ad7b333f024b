//===- ShapeChecks.h - run-time checks of a mix op's sizes ------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_UTILS_SHAPECHECKS_H
#define MIXIR_LIB_CONVERSION_UTILS_SHAPECHECKS_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <functional>

namespace mixir::lowering {

/// The runtime size of every dimension symbol of a mix op (B, T, Hq, K, ...),
/// read from the first operand that carries it.
using SymbolSizes = llvm::StringMap<mlir::Value>;

/// Generates `if (got != expected) mixrtShapeError(message, got, expected)`
/// (index values; the runtime turns the call into the function's error).
void reportIfDiffers(mlir::ImplicitLocOpBuilder &b, mlir::ModuleOp module,
                     mlir::Value got, mlir::Value expected,
                     llvm::StringRef message);

/// Element `i` of a 1-D i32 or i64 tensor (the offsets of a packing, the
/// slots of a state pool, a KV cache's key lengths) as an index.
mlir::Value offsetAt(mlir::ImplicitLocOpBuilder &b, mlir::Value cuSeqlens,
                     mlir::Value i);

/// Resolves the sizes of `op`'s dimension symbols and wraps `buildResults`
/// so it runs only when every dynamic size agrees across operands and
/// results. On a mismatch the generated code calls `mixrtShapeError` with a
/// message naming the operands and returns uninitialised results. An op with
/// packed sequences (`cu_seqlens`) also gets "N", its number of sequences,
/// and checks of the offsets (B = 1, 0 first, non-decreasing, T last) before
/// anything is read or written; on a failure "B" and "N" are 0. An op with a
/// state pool (`state_indices`) gets "P", its slots, and checks of the
/// indices (one per sequence, each below P or negative, no slot twice).
mlir::LogicalResult lowerWithShapeChecks(
    mlir::RewriterBase &rewriter, mlir::Operation *op,
    const std::function<llvm::SmallVector<mlir::Value>(
        mlir::ImplicitLocOpBuilder &, const SymbolSizes &)> &buildResults);

} // namespace mixir::lowering

#endif // MIXIR_LIB_CONVERSION_UTILS_SHAPECHECKS_H
