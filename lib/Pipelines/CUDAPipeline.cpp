//===- CUDAPipeline.cpp - mix on tensors to host LLVM + embedded cubin ----===//
#include "mixir/Conversion/Passes.h"
#include "mixir/Pipelines/Pipelines.h"
#include "mixir/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;

namespace {
std::string toolkitPath(const mixir::CUDADeviceCode &deviceCode) {
  if (!deviceCode.toolkit.empty())
    return deviceCode.toolkit;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  return "/usr/local/cuda";
}
} // namespace

void mixir::addCUDAKernels(OpPassManager &pm, const CompileOptions &options) {
  // Every mix op takes the chunked form the CPU uses, mapped onto the GPU
  // by convert-chunked-to-gpu: a block of 128 threads per independent
  // problem (batch, state head; attention's query blocks), with its tiles
  // in shared memory or a global scratch slice, which grow with the chunk;
  // hence 16 tokens unless asked otherwise. The rest of the function is
  // bufferized and lowered for the host.
  pm.addPass(createDeriveBackward());
  int64_t chunk = options.chunkSize.value_or(kCudaMinChunkSize);
  if (chunk > 0) {
    // Each op's chunk (16 unless asked; mix.scan its one-kernel recurrent
    // form), and an op's own chunk_size checked against the kernels.
    pm.addPass(createSelectAlgorithm({options.chunkSizeOrUnset(),
                                      /*shortRecurrent=*/false,
                                      /*cudaChunks=*/true}));
    // The exact diagonal blocks: the factored ones' run-time branch keeps
    // both forms' values live and spills on sm_90 (GLA's chunked kernel).
    // Short sequences (decode) keep the chunked form too: one kernel per
    // op, its state in the block's shared tiles, where the recurrent form
    // would be a second kernel holding a state row per thread in registers
    // (spilling at K = V = 128).
    pm.addPass(createConvertMixToChunked({chunk, /*factorBlocks=*/false,
                                          /*shortRecurrent=*/false}));
  }
  // mix.rnn and the recurrent mix.scan in the form thread blocks run.
  pm.addPass(createConvertMixToLoops({/*gpuBlocks=*/true}));
  // Gate prologues move into the loops, and so into the kernels (they
  // would otherwise run on the host between the copies).
  pm.addNestedPass<func::FuncOp>(createFuseElementwiseIntoExtracts());
  // On sm_90a the block of the cooperative mapping is one warpgroup, and
  // its tile products run as wgmma.
  pm.addPass(createConvertChunkedToGPU(
      {/*blockThreads=*/128,
       /*warpgroupMma=*/options.chipOrDefault() == "sm_90a"}));
}

llvm::Error mixir::checkDeviceCode(const CUDADeviceCode &deviceCode) {
  if (!llvm::is_contained(ArrayRef<StringRef>{"isa", "bin", "fatbin"},
                          deviceCode.format))
    return llvm::createStringError("unknown device code format '" +
                                   deviceCode.format +
                                   "' (expected isa, bin or fatbin)");
  return llvm::Error::success();
}

llvm::Error mixir::buildCUDAPipeline(OpPassManager &pm,
                                     const CompileOptions &options,
                                     const CUDADeviceCode &deviceCode) {
  if (llvm::Error e = checkDeviceCode(deviceCode))
    return e;
  addCUDAKernels(pm, options);
  pm.addPass(createConvertElementwiseToLinalgPass());
  addBufferization(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createLegalizeExpandShape());
  pm.addPass(createMarkHostReadArgs());
  pm.addPass(createLowerMmaSync());
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());

  GpuNVVMAttachTargetOptions target;
  target.chip = options.chipOrDefault();
  // PTX ISA 8.0 covers sm_80 .. sm_90a and is what CUDA 12+ ptxas accepts.
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));

  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  {
    OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
    device.addPass(createConvertGpuOpsToNVVMOps());
    device.addPass(createCanonicalizerPass());
    device.addPass(createCSEPass());
    device.addPass(createReconcileUnrealizedCastsPass());
  }
  pm.addPass(createGpuToLLVMConversionPass());

  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = toolkitPath(deviceCode);
  binary.compilationTarget = deviceCode.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));

  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  return llvm::Error::success();
}
