//===- Stages.h - the steps of the StableHLO back stage ---------*- C++ -*-===//
//
// Internal to lib/Import/StableHLO. Each step works on the module parsed
// from the flat form (unregistered `stablehlo.*` ops inside func.func) and
// returns failure with `error` set to one line naming the op it could not
// handle. Order (StableHLOImporter.cpp):
//
//   inlineCalls -> foldConstantSubgraphs -> convertToUpstream
//   -> mix-raise + canonicalize (when raising; mix-raise also raises the
//      lax.scan loops, now scf.while, whose step is a mix recurrence)
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_IMPORT_STABLEHLO_STAGES_H
#define MIXIR_LIB_IMPORT_STABLEHLO_STAGES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mixir::stablehlo_import {

/// "'OP' at LOC: MESSAGE" for one-line errors.
std::string describe(mlir::Operation *op, const llvm::Twine &message);

/// Inlines every func.call and every composite not named `mixir.*` (its
/// `decomposition` function) into the caller, then erases functions that
/// are no longer referenced (the public entry functions stay).
mlir::LogicalResult inlineCalls(mlir::ModuleOp module, std::string &error);

/// Replaces ops whose operands are all constants (iota, compare, select,
/// broadcast, arithmetic on constants: masks and position tables) by one
/// `stablehlo.constant`, up to a size limit.
mlir::LogicalResult foldConstantSubgraphs(mlir::ModuleOp module,
                                          std::string &error);

/// Converts every remaining `stablehlo.*` op (and `mixir.*` composites) into
/// mix / linalg / tensor / arith / math / scf ops.
mlir::LogicalResult convertToUpstream(mlir::ModuleOp module,
                                      std::string &error);

} // namespace mixir::stablehlo_import

#endif
