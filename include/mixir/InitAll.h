//===- InitAll.h - register dialects and passes -----------------*- C++ -*-===//
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
