//===- Plugin.cpp - entry points of the GPU emulation test plugin ---------===//
#include "Plugin.h"
#include "GpuEmulator.h"

#include "mixir/Pipelines/Pipelines.h"
#include "mixrt/TestPlugin.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/Plugins/PassPlugin.h"

#include <iterator>
#include <type_traits>

#define MIXIR_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
template <typename Fn> void *address(Fn *fn) {
  return reinterpret_cast<void *>(fn);
}

const mixrt::RuntimeCallback kCallbacks[] = {
    {"_mlir_ciface_mixEmuBeginBlock", address(&_mlir_ciface_mixEmuBeginBlock)},
    {"_mlir_ciface_mixEmuBeginThread",
     address(&_mlir_ciface_mixEmuBeginThread)},
    {"_mlir_ciface_mixEmuEndBlock", address(&_mlir_ciface_mixEmuEndBlock)},
    {"_mlir_ciface_mixEmuBarrier", address(&_mlir_ciface_mixEmuBarrier)},
    {"_mlir_ciface_mixEmuShuffleXor", address(&_mlir_ciface_mixEmuShuffleXor)},
    {"_mlir_ciface_mixEmuLdmatrixBF16",
     address(&_mlir_ciface_mixEmuLdmatrixBF16)},
    {"_mlir_ciface_mixEmuLdmatrixF16",
     address(&_mlir_ciface_mixEmuLdmatrixF16)},
    {"_mlir_ciface_mixEmuMmaBF16", address(&_mlir_ciface_mixEmuMmaBF16)},
    {"_mlir_ciface_mixEmuMmaF16", address(&_mlir_ciface_mixEmuMmaF16)},
    {"_mlir_ciface_mixEmuSharedWindow",
     address(&_mlir_ciface_mixEmuSharedWindow)},
    {"_mlir_ciface_mixEmuWgmmaBF16", address(&_mlir_ciface_mixEmuWgmmaBF16)},
    {"_mlir_ciface_mixEmuWgmmaF16", address(&_mlir_ciface_mixEmuWgmmaF16)},
};

const mixrt::TestPluginInfo kInfo = {
    mixrt::kTestPluginAbiVersion, mixrt::Target::cudaEmulation, kCallbacks,
    std::size(kCallbacks), &mixir::test::takeGpuEmulationError};
} // namespace

MIXIR_PLUGIN_EXPORT const mixrt::TestPluginInfo *mixrtTestPluginInfo() {
  return &kInfo;
}

MIXIR_PLUGIN_EXPORT void mixirTestPluginAddPasses(mlir::OpPassManager &pm) {
  pm.addPass(mixir::test::createEmulateGPUPass());
}
// The type the compiler looks it up as.
static_assert(std::is_same_v<decltype(&mixirTestPluginAddPasses),
                             mixir::TestPluginAddPassesFn>);

MIXIR_PLUGIN_EXPORT mlir::PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MixIRGpuEmulation", "v1", [] {
            mlir::registerPass(
                [] { return mixir::test::createEmulateGPUPass(); });
          }};
}
