//===- Pipelines.cpp - one pipeline per target, and what they share -------===//
#include "mixir/Pipelines/Pipelines.h"

#include "mixrt/TestPlugin.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void mixir::addBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(options));
}

llvm::Error mixir::buildPipeline(OpPassManager &pm,
                                 const CompileOptions &options,
                                 const CUDADeviceCode &deviceCode) {
  switch (options.target) {
  case Target::cpu:
    buildCPUPipeline(pm, options);
    return llvm::Error::success();
  case Target::cuda:
    return buildCUDAPipeline(pm, options, deviceCode);
  case Target::cudaEmulation: {
    // The CUDA kernels, turned into host code by the test plugin's passes,
    // then lowered like target cpu's code (no mix op is left to chunk).
    std::string why;
    auto addPasses = reinterpret_cast<TestPluginAddPassesFn>(
        mixrt::testPluginSymbol(options.target, kTestPluginAddPassesSymbol));
    if (!addPasses) {
      if (mixrt::testPlugin(options.target, &why))
        why =
            std::string("the test plugin has no ") + kTestPluginAddPassesSymbol;
      return llvm::createStringError(why);
    }
    addCUDAKernels(pm, options);
    addPasses(pm);
    CompileOptions host = options;
    host.target = Target::cpu;
    host.chunkSize = 0;
    buildCPUPipeline(pm, host);
    return llvm::Error::success();
  }
  }
  return llvm::createStringError("no pipeline for this target");
}

namespace {
/// The pipelines of targets that run on the host (cpu, and the test target).
struct HostPipelineOptions : PassPipelineOptions<HostPipelineOptions> {
  Option<int64_t> chunkSize{
      *this, "chunk-size",
      llvm::cl::desc("Tokens per chunk: 0 (the recurrent form) or a power of "
                     "two up to kMaxChunkSize; unset: the target's default"),
      llvm::cl::init(mixir::kChunkSizeUnset)};
  Option<std::string> amx{
      *this, "amx",
      llvm::cl::desc("Target cpu: tile products of bf16 ops on the AMX tile "
                     "unit: host (if this CPU has AMX-BF16 and the OS grants "
                     "its tiles), true or false"),
      llvm::cl::init("host")};
  mixir::CompileOptionsInput input() const {
    mixir::CompileOptionsInput in;
    if (chunkSize != mixir::kChunkSizeUnset)
      in.chunkSize = chunkSize;
    in.amx = amx;
    return in;
  }
  mixir::CUDADeviceCode deviceCode() const { return {}; }
};

/// mixir-cuda-pipeline.
struct CUDAPipelineOptions : PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("sm_80 (default), sm_86, sm_89, "
                                          "sm_90 or sm_90a"),
                           llvm::cl::init("")};
  Option<int64_t> chunkSize{
      *this, "chunk-size",
      llvm::cl::desc("Tokens per chunk for ops without a chunk_size, one the "
                     "CUDA kernels run; unset: each kernel's largest that "
                     "fits"),
      llvm::cl::init(mixir::kChunkSizeUnset)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device code: isa (PTX), bin (cubin) or fatbin"),
      llvm::cl::init("bin")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit root (default $CUDA_HOME, then "
                     "/usr/local/cuda)"),
      llvm::cl::init("")};
  mixir::CompileOptionsInput input() const {
    mixir::CompileOptionsInput in;
    in.chip = chip.getValue();
    if (chunkSize != mixir::kChunkSizeUnset)
      in.chunkSize = chunkSize;
    return in;
  }
  mixir::CUDADeviceCode deviceCode() const {
    return {format.getValue(), toolkit.getValue()};
  }
};

/// Registers `mixir-<target>-pipeline`: its options become CompileOptions
/// (checked by validate(), errors reported by mixir-opt) and buildPipeline
/// adds the passes.
template <typename PipelineOptions>
void registerTargetPipeline(mixir::Target target, StringRef description) {
  registerPassPipeline(
      std::string("mixir-") + mixrt::targetName(target) + "-pipeline",
      description,
      [target](OpPassManager &pm, StringRef text,
               function_ref<LogicalResult(const Twine &)> errorHandler) {
        PipelineOptions cl;
        if (failed(cl.parseFromString(text)))
          return failure();
        mixir::CompileOptionsInput input = cl.input();
        input.target = mixrt::targetName(target);
        auto options = mixir::makeCompileOptions(input);
        if (!options)
          return errorHandler(llvm::toString(options.takeError()));
        if (llvm::Error e = mixir::buildPipeline(pm, *options, cl.deviceCode()))
          return errorHandler(llvm::toString(std::move(e)));
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(PipelineOptions());
      });
}
} // namespace

void mixir::registerPipelines() {
  registerTargetPipeline<HostPipelineOptions>(
      Target::cpu, "Lower mix ops and upstream tensor code to the LLVM "
                   "dialect for the host CPU");
  registerTargetPipeline<CUDAPipelineOptions>(
      Target::cuda,
      "Lower mix ops to tensor-core GPU kernels (PTX/cubin embedded in the "
      "module) and the host code to the LLVM dialect");
  registerTargetPipeline<HostPipelineOptions>(
      Target::cudaEmulation,
      "Test builds (needs $MIXIR_TEST_PLUGIN): the CUDA kernels run on CPU "
      "threads, lowered to the LLVM dialect for the host");
}
