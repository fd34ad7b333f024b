//===- Plugin.h - the GPU emulation test plugin -----------------*- C++ -*-===//
//
// libmixir-gpu-emulation.so implements the test target cuda-emulation: the
// CUDA lowering's kernels run on CPU threads, for checking them on machines
// without a GPU. It is built with the tests only; no release library or tool
// contains any of it. It is reached through
//   - $MIXIR_TEST_PLUGIN (mixrt/TestPlugin.h): the runtime loads it when
//     target cuda-emulation is asked for (the JIT, the C API, Python,
//     mixir-run --target=cuda-emulation, mixir-opt's
//     mixir-cuda-emulation-pipeline);
//   - mixir-opt --load-pass-plugin=lib/libmixir-gpu-emulation.so, which
//     registers the pass mix-emulate-gpu alone.
//
// Its entry points: mixrtTestPluginInfo (the runtime half: the emulator's
// functions that compiled code calls, and its error after a call),
// mixirTestPluginAddPasses (the compiler half: the passes the target's
// pipeline runs between the kernels and the host lowering) and
// mlirGetPassPluginInfo (MLIR's pass-plugin interface).
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_TEST_GPUEMULATION_PLUGIN_H
#define MIXIR_TEST_GPUEMULATION_PLUGIN_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace mixir::test {
/// mix-emulate-gpu (EmulateGPU.cpp).
std::unique_ptr<mlir::Pass> createEmulateGPUPass();
} // namespace mixir::test

#endif
