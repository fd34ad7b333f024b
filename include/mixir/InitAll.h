//===- InitAll.h - register mix and upstream dialects and -------*- C++ -*-===//
// passes
#ifndef MIXIR_INITALL_H
#define MIXIR_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace mixir {
/// The mix dialect plus every upstream dialect and interface extension.
void registerAllDialects(mlir::DialectRegistry &registry);
/// mix passes, pipelines and every upstream pass.
void registerAllPasses();
} // namespace mixir

#endif
