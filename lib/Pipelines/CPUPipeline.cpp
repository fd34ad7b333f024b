//===- CPUPipeline.cpp - mix on tensors to LLVM for the host ---------------===//
#include "mixir/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

std::string mixir::cpuPipelineText(int64_t chunkSize) {
  std::string chunking;
  if (chunkSize > 0)
    chunking = "mix-select-algorithm{chunk-size=" + std::to_string(chunkSize) +
               "},convert-mix-to-chunked,";
  // Function results come back as identity-layout memrefs owned by the
  // caller (the runtime frees them), so the packed ABI stays simple.
  // Imported models carry linalg.softmax (kept for mix-raise); expand it
  // before tiling and bufferization.
  return "func.func(mix-decompose-aggregates)," + chunking +
         "convert-mix-to-loops,"
         "convert-elementwise-to-linalg,"
         "func.func(mix-vectorize-tiles,"
         "convert-vector-to-scf{full-unroll=true lower-tensors=true}),"
         "canonicalize,cse,"
         "one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map},"
         "func.func(canonicalize,mix-hoist-vector-transfers),"
         "func.func(scf-forall-to-parallel),"
         "buffer-deallocation-pipeline,"
         "convert-bufferization-to-memref,"
         "convert-linalg-to-loops,"
         "func.func(convert-vector-to-scf{full-unroll=true}),"
         // Independent (batch, head) work items become OpenMP threads. This
         // runs late so no canonicalisation moves ops into the loop wrappers
         // OpenMP requires to stay bare, and memrefs are lowered before
         // scf-to-cf so the per-thread alloca scopes are still one block.
         "lower-affine,convert-scf-to-openmp,"
         "expand-strided-metadata,lower-affine,"
         "finalize-memref-to-llvm,"
         "convert-scf-to-cf,"
         "arith-expand{include-bf16},"
         "convert-vector-to-llvm,"
         "convert-math-to-llvm,"
         "convert-arith-to-llvm,convert-index-to-llvm,"
         "convert-ub-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,"
         "convert-openmp-to-llvm,"
         "reconcile-unrealized-casts";
}

LogicalResult mixir::buildCPUPipeline(OpPassManager &pm, int64_t chunkSize) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  return parsePassPipeline(cpuPipelineText(chunkSize), pm, os);
}

namespace {
struct CPUPipelineOptions : PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> chunkSize{
      *this, "chunk-size",
      llvm::cl::desc("Tokens per chunk for the chunked lowering; 0 keeps "
                     "every op in its recurrent form"),
      llvm::cl::init(mixir::kDefaultChunkSize)};
};
} // namespace

void mixir::registerPipelines() {
  registerCUDAPipeline();
  PassPipelineRegistration<CPUPipelineOptions>(
      "mixir-cpu-pipeline",
      "Lower mix ops and upstream tensor code to the LLVM dialect for the "
      "host CPU",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        if (failed(buildCPUPipeline(pm, options.chunkSize)))
          llvm::report_fatal_error("mixir-cpu-pipeline is malformed");
      });
}
