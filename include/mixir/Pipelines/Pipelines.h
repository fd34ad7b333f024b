//===- Pipelines.h - named compilation pipelines ----------------*- C++ -*-===//
#ifndef MIXIR_PIPELINES_PIPELINES_H
#define MIXIR_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mixir {

/// The passes from `mix` ops on tensors down to the LLVM dialect for the host
/// CPU, as a textual pipeline (the body of `mixir-cpu-pipeline`).
std::string cpuPipelineText();

/// Adds the CPU pipeline to `pm` (which must anchor on builtin.module).
mlir::LogicalResult buildCPUPipeline(mlir::OpPassManager &pm);

/// Registers `mixir-cpu-pipeline` with the pass registry (for mixir-opt).
void registerPipelines();

} // namespace mixir

#endif
