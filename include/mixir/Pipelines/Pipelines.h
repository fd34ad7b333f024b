//===- Pipelines.h - named compilation pipelines ----------------*- C++ -*-===//
#ifndef MIXIR_PIPELINES_PIPELINES_H
#define MIXIR_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mixir {

/// Tokens per chunk of the chunkwise-parallel lowering unless told otherwise.
constexpr int64_t kDefaultChunkSize = 64;
/// The largest chunk: the chunked delta rule unrolls (C/16)^3 block merges.
constexpr int64_t kMaxChunkSize = 128;

/// The passes from `mix` ops on tensors down to the LLVM dialect for the host
/// CPU, as a textual pipeline (the body of `mixir-cpu-pipeline`). With
/// `chunkSize` > 0, ops the chunked lowering handles use chunks of that many
/// tokens; the rest (and everything when 0) use the recurrent form.
std::string cpuPipelineText(int64_t chunkSize = kDefaultChunkSize);

/// Adds the CPU pipeline to `pm` (which must anchor on builtin.module).
mlir::LogicalResult buildCPUPipeline(mlir::OpPassManager &pm,
                                     int64_t chunkSize = kDefaultChunkSize);

/// Options of the CUDA pipeline (`mixir-cuda-pipeline`).
struct CUDAPipelineOptions {
  /// sm_80, sm_86, sm_89, sm_90 or sm_90a.
  std::string chip = "sm_80";
  /// Tokens per chunk (see the CPU pipeline).
  int64_t chunkSize = kDefaultChunkSize;
  /// What the device code becomes: "isa" (PTX text), "bin" (cubin through
  /// ptxas) or "fatbin".
  std::string format = "bin";
  /// CUDA toolkit root (ptxas, libdevice); empty: $CUDA_HOME, then
  /// /usr/local/cuda.
  std::string toolkit;
};

/// Adds the CUDA pipeline to `pm` (fails for an unknown chip or format): `mix` ops to GPU kernels (tensor-core
/// matmuls), device code to PTX/cubin embedded in the module, host code to
/// the LLVM dialect calling the `mgpu*` runtime functions (mixrt's CUDA
/// runtime implements them over the driver API loaded with dlopen).
mlir::LogicalResult buildCUDAPipeline(mlir::OpPassManager &pm,
                                      const CUDAPipelineOptions &options);

/// The CUDA lowering with its kernels emulated on CPU threads
/// (`mix-emulate-gpu`) and everything then lowered like the CPU pipeline:
/// runs the GPU kernels' IR without a GPU, for testing (JIT target
/// "cuda-emulation", `mixir-cuda-emulation-pipeline`).
mlir::LogicalResult buildCUDAEmulationPipeline(mlir::OpPassManager &pm,
                                               int64_t chunkSize);

/// Registers `mixir-cuda-pipeline` and `mixir-cuda-emulation-pipeline`
/// (called by registerPipelines).
void registerCUDAPipeline();

/// Registers `mixir-cpu-pipeline` and `mixir-cuda-pipeline` with the pass
/// registry (for mixir-opt).
void registerPipelines();

} // namespace mixir

#endif
