//===- CompileOptions.cpp - what to compile for, checked once -------------===//
#include "mixir/Compiler/CompileOptions.h"

#include "mixrt/Artifact.h"
#include "mixrt/TestPlugin.h"

#include "llvm/ADT/STLExtras.h"

#include <cstdlib>
#include <string>

namespace mixir {
namespace {
llvm::Error fail(const std::string &message) {
  return llvm::createStringError(message);
}
} // namespace

bool hostHasAmx() {
  // MIXIR_AMX=0 keeps the f32 tile products (for comparisons).
  if (const char *env = std::getenv("MIXIR_AMX");
      env && std::string(env) == "0")
    return false;
  return mixrt::enableAmx();
}

llvm::Expected<Target> parseTargetName(std::string_view name) {
  if (std::optional<Target> target = mixrt::parseTarget(name))
    return *target;
  return fail("unknown target '" + std::string(name) + "' (expected " +
              mixrt::kUserTargetList + ")");
}

llvm::Error validate(const CompileOptions &options) {
  std::string target = mixrt::targetName(options.target);
  if (std::string why; mixrt::isTestTarget(options.target) &&
                       !mixrt::testPlugin(options.target, &why))
    return fail(why);
  // The emulator runs the kernels of a chip too (sm_90a's wgmma).
  if (!options.chip.empty() && !mixrt::usesCudaKernels(options.target))
    return fail("chip '" + options.chip + "' needs target cuda, not " + target);
  if (mixrt::usesCudaKernels(options.target) &&
      !llvm::is_contained(kCudaChips, options.chipOrDefault())) {
    std::string known;
    for (size_t i = 0; i < std::size(kCudaChips); ++i)
      known += std::string(i == 0                           ? ""
                           : i + 1 == std::size(kCudaChips) ? " or "
                                                            : ", ") +
               kCudaChips[i];
    return fail("target " + target + ": unsupported chip '" +
                options.chipOrDefault() + "' (expected " + known + ")");
  }
  if (options.optLevel < 0 || options.optLevel > 3)
    return fail("opt level must be 0-3, got " +
                std::to_string(options.optLevel));
  if (options.chunkSize) {
    if (std::string why = checkChunkSize(*options.chunkSize); !why.empty())
      return fail(why);
    if (mixrt::usesCudaKernels(options.target))
      if (std::string why = checkCudaChunkSize(*options.chunkSize, target);
          !why.empty())
        return fail(why);
  }
  return llvm::Error::success();
}

llvm::Expected<CompileOptions>
makeCompileOptions(const CompileOptionsInput &input) {
  auto target = parseTargetName(input.target);
  if (!target)
    return target.takeError();
  CompileOptions options;
  options.target = *target;
  options.chip = std::string(input.chip);
  options.chunkSize = input.chunkSize;
  options.optLevel = input.optLevel;
  options.sourceName = std::string(input.sourceName);
  if (input.amx != "host" && input.amx != "true" && input.amx != "false")
    return fail("amx must be host, true or false, got '" +
                std::string(input.amx) + "'");
  options.amx = options.target == Target::cpu &&
                (input.amx == "host" ? hostHasAmx() : input.amx == "true");
  if (llvm::Error e = validate(options))
    return std::move(e);
  return options;
}

} // namespace mixir
