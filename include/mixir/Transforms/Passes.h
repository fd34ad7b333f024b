//===- Passes.h - front-end passes on the upstream form ---------*- C++ -*-===//
#ifndef MIXIR_TRANSFORMS_PASSES_H
#define MIXIR_TRANSFORMS_PASSES_H

#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mixir {
#define GEN_PASS_DECL
#include "mixir/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mixir/Transforms/Passes.h.inc"

/// Turns mix-raise's `report` on for every instance of the pass that does
/// not set it (mixir-opt's `--report-raising`).
void setReportRaisingByDefault(bool report);
bool reportRaisingByDefault();

/// What both importers run on their converted module before handing it
/// out: CSE (after a canonicalisation when `canonicalizeFirst`), mix-raise
/// on every function (`report`: its --report-raising lines), then
/// canonicalisation and CSE.
void addImportRaisingPasses(mlir::OpPassManager &pm, bool report,
                            bool canonicalizeFirst);
} // namespace mixir

#endif
