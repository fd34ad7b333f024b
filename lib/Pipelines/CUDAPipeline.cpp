//===- CUDAPipeline.cpp - mix on tensors to host LLVM + embedded cubin -----===//
#include "mixir/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"

#include <cstdlib>

using namespace mlir;

namespace {
bool isKnownChip(StringRef chip) {
  return llvm::is_contained(
      ArrayRef<StringRef>{"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"}, chip);
}

std::string toolkitPath(const mixir::CUDAPipelineOptions &options) {
  if (!options.toolkit.empty())
    return options.toolkit;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  return "/usr/local/cuda";
}
} // namespace

LogicalResult mixir::buildCUDAPipeline(OpPassManager &pm,
                                       const CUDAPipelineOptions &options) {
  if (!isKnownChip(options.chip) ||
      !llvm::is_contained(ArrayRef<StringRef>{"isa", "bin", "fatbin"},
                          options.format))
    return failure();
  std::string errors;
  llvm::raw_string_ostream os(errors);
  // mix ops become kernels inside gpu.launch on the host function; the rest
  // of the function is bufferized and lowered for the host. Kernels are
  // outlined first: any pattern driver's folder would hoist their constants
  // out of the (not isolated) gpu.launch region and make them kernel
  // arguments.
  std::string front =
      "convert-mix-to-gpu{chunk-size=" + std::to_string(options.chunkSize) +
      "},gpu-kernel-outlining,convert-elementwise-to-linalg,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "convert-bufferization-to-memref,convert-linalg-to-loops,"
      "mix-lower-mma-sync,convert-nvgpu-to-nvvm,"
      "canonicalize,cse,"
      "convert-vector-to-scf,convert-scf-to-cf,convert-nvvm-to-llvm,"
      "convert-func-to-llvm,expand-strided-metadata";
  if (failed(parsePassPipeline(front, pm, os)))
    return failure();

  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  // PTX ISA 8.0 covers sm_80 .. sm_90a and is what CUDA 12+ ptxas accepts.
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));

  std::string middle =
      "lower-affine,convert-arith-to-llvm,convert-index-to-llvm,"
      "canonicalize,cse,"
      "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
      "reconcile-unrealized-casts),"
      "gpu-to-llvm";
  if (failed(parsePassPipeline(middle, pm, os)))
    return failure();

  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = toolkitPath(options);
  binary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));

  return parsePassPipeline(
      "convert-math-to-llvm,canonicalize,cse,reconcile-unrealized-casts", pm,
      os);
}

LogicalResult mixir::buildCUDAEmulationPipeline(OpPassManager &pm,
                                                int64_t chunkSize) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  return parsePassPipeline(
      "convert-mix-to-gpu{chunk-size=" + std::to_string(chunkSize) +
          "},gpu-kernel-outlining,mix-emulate-gpu," + cpuPipelineText(0),
      pm, os);
}

namespace {
struct CUDAPipelineCLOptions : PassPipelineOptions<CUDAPipelineCLOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("sm_80, sm_86, sm_89, sm_90 or "
                                          "sm_90a"),
                           llvm::cl::init("sm_80")};
  Option<int64_t> chunkSize{*this, "chunk-size",
                            llvm::cl::desc("Largest chunk in tokens"),
                            llvm::cl::init(mixir::kDefaultChunkSize)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device code: isa (PTX), bin (cubin) or fatbin"),
      llvm::cl::init("bin")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit root (default $CUDA_HOME, then "
                     "/usr/local/cuda)"),
      llvm::cl::init("")};
};
} // namespace

void mixir::registerCUDAPipeline() {
  PassPipelineRegistration<CUDAPipelineCLOptions>(
      "mixir-cuda-pipeline",
      "Lower mix ops to tensor-core GPU kernels (PTX/cubin embedded in the "
      "module) and the host code to the LLVM dialect",
      [](OpPassManager &pm, const CUDAPipelineCLOptions &o) {
        mixir::CUDAPipelineOptions options;
        options.chip = o.chip;
        options.chunkSize = o.chunkSize;
        options.format = o.format;
        options.toolkit = o.toolkit;
        if (failed(buildCUDAPipeline(pm, options)))
          llvm::report_fatal_error(
              "mixir-cuda-pipeline: unknown chip or format");
      });
  PassPipelineRegistration<CUDAPipelineCLOptions>(
      "mixir-cuda-emulation-pipeline",
      "The CUDA lowering with its kernels run on CPU threads (testing "
      "without a GPU), lowered to the LLVM dialect for the host",
      [](OpPassManager &pm, const CUDAPipelineCLOptions &o) {
        if (failed(buildCUDAEmulationPipeline(pm, o.chunkSize)))
          llvm::report_fatal_error("mixir-cuda-emulation-pipeline is "
                                   "malformed");
      });
}
