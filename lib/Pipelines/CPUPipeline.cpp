//===- CPUPipeline.cpp - mix on tensors to LLVM for the host ---------------===//
#include "mixir/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

std::string mixir::cpuPipelineText() {
  // Function results come back as identity-layout memrefs owned by the
  // caller (the runtime frees them), so the packed ABI stays simple.
  return "convert-mix-to-loops,"
         "canonicalize,cse,"
         "one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-deallocation-pipeline,"
         "convert-linalg-to-loops,"
         "func.func(convert-vector-to-scf),"
         "lower-affine,convert-scf-to-cf,"
         "expand-strided-metadata,lower-affine,"
         "arith-expand{include-bf16},"
         "convert-vector-to-llvm,"
         "convert-math-to-llvm,"
         "finalize-memref-to-llvm,"
         "convert-arith-to-llvm,convert-index-to-llvm,"
         "convert-cf-to-llvm,convert-func-to-llvm,"
         "reconcile-unrealized-casts";
}

LogicalResult mixir::buildCPUPipeline(OpPassManager &pm) {
  return parsePassPipeline(cpuPipelineText(), pm);
}

void mixir::registerPipelines() {
  PassPipelineRegistration<>(
      "mixir-cpu-pipeline",
      "Lower mix ops (recurrent form) and upstream tensor code to the LLVM "
      "dialect for the host CPU",
      [](OpPassManager &pm) {
        if (failed(buildCPUPipeline(pm)))
          llvm::report_fatal_error("mixir-cpu-pipeline is malformed");
      });
}
