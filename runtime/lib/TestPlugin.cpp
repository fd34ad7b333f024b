//===- TestPlugin.cpp - test-only targets, loaded from a plugin -----------===//
#include "mixrt/TestPlugin.h"
#include "mixrt/Call.h"
#include "mixrt/Cuda.h"

#include <cstdlib>
#include <dlfcn.h>

namespace mixrt {
namespace {

struct LoadedPlugin {
  void *handle = nullptr;
  const TestPluginInfo *info = nullptr;
  std::string error; // why there is none
};

/// $MIXIR_TEST_PLUGIN, opened once per process.
const LoadedPlugin &loadedPlugin() {
  static const LoadedPlugin plugin = [] {
    LoadedPlugin p;
    const char *path = std::getenv(kTestPluginEnv);
    if (!path || !*path) {
      p.error = std::string("its code is not part of this build's libraries; "
                            "set ") +
                kTestPluginEnv +
                " to the test plugin of a build with tests "
                "(lib/libmixir-gpu-emulation.so)";
      return p;
    }
    dlerror();
    p.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p.handle) {
      const char *e = dlerror();
      p.error = std::string("cannot load the test plugin ") + kTestPluginEnv +
                "=" + path + " (" + (e ? e : "dlopen failed") + ")";
      return p;
    }
    auto entry = reinterpret_cast<TestPluginInfoFn>(
        dlsym(p.handle, kTestPluginInfoSymbol));
    const TestPluginInfo *info = entry ? entry() : nullptr;
    if (!info || info->abiVersion != kTestPluginAbiVersion) {
      p.error = std::string(kTestPluginEnv) + "=" + path +
                " is not a MixIR test plugin of this version (no " +
                kTestPluginInfoSymbol + " with ABI version " +
                std::to_string(kTestPluginAbiVersion) + ")";
      return p;
    }
    p.info = info;
    return p;
  }();
  return plugin;
}

} // namespace

const TestPluginInfo *testPlugin(Target target, std::string *why) {
  auto fail = [&](std::string message) -> const TestPluginInfo * {
    if (why)
      *why = "target " + std::string(targetName(target)) +
             " is a test target: " + message;
    return nullptr;
  };
  if (!isTestTarget(target)) {
    if (why)
      *why =
          "target " + std::string(targetName(target)) + " is not a test target";
    return nullptr;
  }
  const LoadedPlugin &p = loadedPlugin();
  if (!p.info)
    return fail(p.error);
  if (p.info->target != target)
    return fail(std::string("the test plugin ") + std::getenv(kTestPluginEnv) +
                " implements target " + targetName(p.info->target) +
                ", not this one");
  return p.info;
}

void *testPluginSymbol(Target target, const char *name) {
  if (!testPlugin(target))
    return nullptr;
  return dlsym(loadedPlugin().handle, name);
}

std::vector<RuntimeCallback> runtimeCallbacks(Target target) {
  std::vector<RuntimeCallback> all = {
      {"memrefCopy", reinterpret_cast<void *>(&memrefCopy)},
      {"_mlir_ciface_mixrtShapeError",
       reinterpret_cast<void *>(&_mlir_ciface_mixrtShapeError)},
  };
  // Host code of target cuda calls the CUDA runtime (mixrt/Cuda.h).
  if (target == Target::cuda)
    for (const RuntimeSymbol &s : cudaRuntimeSymbols())
      all.push_back({s.name, s.address});
  if (isTestTarget(target))
    if (const TestPluginInfo *plugin = testPlugin(target))
      all.insert(all.end(), plugin->callbacks,
                 plugin->callbacks + plugin->numCallbacks);
  return all;
}

Status takeTargetError(Target target) {
  if (!isTestTarget(target))
    return Status::ok();
  const TestPluginInfo *plugin = testPlugin(target);
  const char *error = plugin ? plugin->takeError() : "";
  return *error ? Status::error(error) : Status::ok();
}

} // namespace mixrt
