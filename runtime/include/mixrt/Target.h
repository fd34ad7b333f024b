//===- Target.h - the targets MixIR compiles for ----------------*- C++ -*-===//
//
// The one place target names are spelt. The compiler (CompileOptions, the
// pipelines, artifacts it writes) and the runtime (the artifact loader, the C
// API) include this header and compare `Target` values, never strings.
//
// `cudaEmulation` is a test target: the CUDA lowering's kernels run on CPU
// threads by an emulator that only the test build has (a plugin, see
// mixrt/TestPlugin.h). Release builds know its name but accept it only when
// that plugin is loaded.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_TARGET_H
#define MIXRT_TARGET_H

#include <cstdint>
#include <optional>
#include <string_view>

namespace mixrt {

enum class Target : uint8_t { cpu, cuda, cudaEmulation };

inline constexpr Target kAllTargets[] = {Target::cpu, Target::cuda,
                                         Target::cudaEmulation};

/// "cpu", "cuda", "cuda-emulation".
constexpr const char *targetName(Target target) {
  switch (target) {
  case Target::cpu:
    return "cpu";
  case Target::cuda:
    return "cuda";
  case Target::cudaEmulation:
    return "cuda-emulation";
  }
  return "?";
}

/// The target called `name`, or nothing.
inline std::optional<Target> parseTarget(std::string_view name) {
  for (Target t : kAllTargets)
    if (name == targetName(t))
      return t;
  return std::nullopt;
}

/// The targets a user may name, for messages ("expected cpu or cuda"); test
/// targets are not advertised.
inline constexpr const char *kUserTargetList = "cpu or cuda";

/// A target whose code exists only in a test plugin (mixrt/TestPlugin.h).
constexpr bool isTestTarget(Target target) {
  return target == Target::cudaEmulation;
}

/// Compiled code runs on the host CPU (an artifact or the in-process JIT,
/// calling the runtime directly), not on a GPU.
constexpr bool runsOnHost(Target target) { return target != Target::cuda; }

/// The CUDA lowering's kernels (convert-chunked-to-gpu) build the code: chip
/// and chunk lengths follow the CUDA kernels' rules.
constexpr bool usesCudaKernels(Target target) {
  return target == Target::cuda || target == Target::cudaEmulation;
}

} // namespace mixrt

#endif
