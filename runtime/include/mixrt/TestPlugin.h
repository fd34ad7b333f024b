//===- TestPlugin.h - test-only targets, loaded from a plugin ---*- C++ -*-===//
//
// A test target (isTestTarget in mixrt/Target.h: cuda-emulation) has no code
// in the release libraries and tools. A plugin library built with the tests
// (test/lib/GpuEmulation -> lib/libmixir-gpu-emulation.so) supplies it; the
// runtime loads the library named by $MIXIR_TEST_PLUGIN the first time a test
// target is asked for, and refuses the target when there is none.
//
// The plugin exports `mixrtTestPluginInfo` (the runtime half below: the
// functions compiled code calls and the check after each call) and, for the
// compiler, `mixirTestPluginAddPasses` (mixir/Compiler/TestPlugin.h).
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_TESTPLUGIN_H
#define MIXRT_TESTPLUGIN_H

#include "mixrt/Target.h"
#include "mixrt/Types.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mixrt {

/// A function of the runtime (or of a test plugin) that compiled code calls.
/// The compiler routes each call through a pointer variable
/// `__mixir_rt_<name>` in an artifact's payload, which the loader sets to
/// `address`; the JIT resolves `name` to `address`.
struct RuntimeCallback {
  const char *name;
  void *address;
};

/// What a test plugin's `mixrtTestPluginInfo()` returns.
struct TestPluginInfo {
  uint32_t abiVersion; // kTestPluginAbiVersion
  Target target;       // the test target it implements
  const RuntimeCallback *callbacks;
  size_t numCallbacks;
  /// The first failure inside a call since the last one ("" if none);
  /// clears it.
  const char *(*takeError)();
};

inline constexpr uint32_t kTestPluginAbiVersion = 1;
inline constexpr const char *kTestPluginInfoSymbol = "mixrtTestPluginInfo";
using TestPluginInfoFn = const TestPluginInfo *(*)();
/// The environment variable naming the plugin library.
inline constexpr const char *kTestPluginEnv = "MIXIR_TEST_PLUGIN";

/// The plugin implementing test target `target`, loaded from
/// $MIXIR_TEST_PLUGIN on first use; null, with the reason in one line in
/// `why`, when there is none.
const TestPluginInfo *testPlugin(Target target, std::string *why = nullptr);

/// A symbol of the plugin implementing `target` (for the compiler's half), or
/// null.
void *testPluginSymbol(Target target, const char *name);

/// The functions code compiled for `target` may call: the runtime's own and,
/// for a test target, its plugin's.
std::vector<RuntimeCallback> runtimeCallbacks(Target target);

/// After a call of code compiled for `target`: the failure a test target's
/// plugin recorded during it, if any (always ok for other targets).
Status takeTargetError(Target target);

} // namespace mixrt

#endif
