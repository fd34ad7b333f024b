//===- Pipelines.h - the compilation pipeline of each target ----*- C++ -*-===//
//
// Each target's pipeline is built in C++ on an OpPassManager from
// CompileOptions (mixir/Compiler/CompileOptions.h), anchored on
// builtin.module: mix ops and upstream tensor code down to the LLVM dialect.
// mixir-opt has them as `mixir-<target>-pipeline`, one per mixrt::Target
// (a test target's needs its test plugin).
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_PIPELINES_PIPELINES_H
#define MIXIR_PIPELINES_PIPELINES_H

#include "mixir/Compiler/CompileOptions.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mixir {

/// What the CUDA pipeline makes of the device code.
struct CUDADeviceCode {
  /// "isa" (PTX text), "bin" (cubin through ptxas) or "fatbin".
  std::string format = "bin";
  /// CUDA toolkit root (ptxas, libdevice); empty: $CUDA_HOME, then
  /// /usr/local/cuda.
  std::string toolkit;
};

/// An error naming an unknown `deviceCode.format`.
llvm::Error checkDeviceCode(const CUDADeviceCode &deviceCode);

/// Adds the pipeline of `options.target` to `pm`; `options` must be valid
/// (validate()), `deviceCode` is for target cuda. Fails for an unknown
/// device code format, or a test target without its plugin.
llvm::Error buildPipeline(mlir::OpPassManager &pm,
                          const CompileOptions &options,
                          const CUDADeviceCode &deviceCode = {});

/// The CPU pipeline's first half (CPUPipeline.cpp): aggregates decomposed,
/// backward functions derived, then every mix op to loops and tile ops on
/// tensors (the chunked or the recurrent form, as buildCPUPipeline says).
/// Afterwards no mix op is left; the rest is upstream lowering. (The mlir
/// fuzz target runs just this half.)
void addMixLoweringPasses(mlir::OpPassManager &pm,
                          const CompileOptions &options);

/// Target cpu (CPUPipeline.cpp): with a chunk length > 0, the ops the
/// chunked lowering handles use chunks of that many tokens; unset,
/// mix-select-algorithm's cost model picks each op's form and chunk (and
/// attention takes blocks of kDefaultChunkSize); the rest (and everything
/// for 0) the recurrent form;
/// then tiling, vectorisation, OpenMP threads and the LLVM dialect.
void buildCPUPipeline(mlir::OpPassManager &pm, const CompileOptions &options);

/// The CUDA kernels (CUDAPipeline.cpp): mix ops become GPU kernels inside
/// gpu.launch, outlined into gpu.module (shared by target cuda and the test
/// target that emulates the kernels).
void addCUDAKernels(mlir::OpPassManager &pm, const CompileOptions &options);

/// Target cuda: addCUDAKernels, device code to PTX/cubin embedded in the
/// module, host code to the LLVM dialect calling the `mgpu*` runtime
/// functions (mixrt's CUDA runtime, the driver API loaded with dlopen).
llvm::Error buildCUDAPipeline(mlir::OpPassManager &pm,
                              const CompileOptions &options,
                              const CUDADeviceCode &deviceCode);

/// Shared by both targets (Pipelines.cpp): tensors to buffers with the
/// calling convention of compiled functions (results are identity-layout
/// memrefs the caller owns, so the packed ABI stays simple).
void addBufferization(mlir::OpPassManager &pm);

/// The compiler's half of a test plugin (mixrt/TestPlugin.h): it exports
/// this function, which adds the passes its target runs between the CUDA
/// kernels and the host lowering.
inline constexpr const char *kTestPluginAddPassesSymbol =
    "mixirTestPluginAddPasses";
using TestPluginAddPassesFn = void (*)(mlir::OpPassManager &);

/// Registers `mixir-<target>-pipeline` for every target with the pass
/// registry (for mixir-opt); their options are checked by validate().
void registerPipelines();

} // namespace mixir

#endif
