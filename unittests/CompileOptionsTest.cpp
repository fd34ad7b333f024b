//===- CompileOptionsTest.cpp - one check, one message per option ---------===//
#include "mixir/Compiler/CompileOptions.h"
#include "mixrt/TestPlugin.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

std::string error(const mixir::CompileOptionsInput &input) {
  auto options = mixir::makeCompileOptions(input);
  if (options)
    return "ok";
  return llvm::toString(options.takeError());
}

mixir::CompileOptionsInput with(std::string_view target,
                                std::optional<int64_t> chunk) {
  mixir::CompileOptionsInput input;
  input.target = target;
  input.chunkSize = chunk;
  return input;
}

TEST(CompileOptions, TargetNamesComeFromTheRuntimeHeader) {
  for (mixrt::Target t : mixrt::kAllTargets)
    EXPECT_EQ(mixrt::parseTarget(mixrt::targetName(t)), t);
  EXPECT_FALSE(mixrt::parseTarget("gpu"));
  EXPECT_EQ(error(with("gpu", std::nullopt)),
            "unknown target 'gpu' (expected cpu or cuda)");
}

TEST(CompileOptions, ChunkSizeRuleIsOneCheck) {
  for (int64_t ok : {int64_t(0), int64_t(1), int64_t(16), mixir::kMaxChunkSize})
    EXPECT_EQ(error(with("cpu", ok)), "ok") << ok;
  for (int64_t bad :
       {int64_t(-1), int64_t(3), int64_t(48), 2 * mixir::kMaxChunkSize})
    EXPECT_EQ(error(with("cpu", bad)),
              "chunk_size must be 0 (the recurrent form) or a power of two "
              "up to 128, got " +
                  std::to_string(bad));
  EXPECT_EQ(error(with("cpu", std::nullopt)), "ok");
}

TEST(CompileOptions, CudaKernelsRunChunksOf16To64) {
  EXPECT_EQ(error(with("cuda", std::nullopt)), "ok");
  EXPECT_EQ(error(with("cuda", 16)), "ok");
  EXPECT_EQ(error(with("cuda", 64)), "ok");
  EXPECT_EQ(error(with("cuda", 128)),
            "target cuda runs chunks of 16 to 64 tokens, got chunk_size 128");
  EXPECT_EQ(error(with("cuda", 8)),
            "target cuda runs chunks of 16 to 64 tokens, got chunk_size 8");
  EXPECT_EQ(error(with("cuda", 0)),
            "target cuda runs chunks of 16 to 64 tokens, got chunk_size 0 "
            "(the recurrent form, which its kernels do not have)");
  // The rule comes first: 48 is not a chunk length on any target.
  EXPECT_EQ(error(with("cuda", 48)),
            "chunk_size must be 0 (the recurrent form) or a power of two up "
            "to 128, got 48");
}

TEST(CompileOptions, ChipOptLevelAndDefaults) {
  mixir::CompileOptionsInput input;
  input.chip = "sm_90";
  EXPECT_EQ(error(input), "chip 'sm_90' needs target cuda, not cpu");
  input.target = "cuda";
  EXPECT_EQ(error(input), "ok");
  input.chip = "sm_75";
  EXPECT_EQ(error(input), "target cuda: unsupported chip 'sm_75' (expected "
                          "sm_80, sm_86, sm_89, sm_90 or sm_90a)");
  input = {};
  input.optLevel = 4;
  EXPECT_EQ(error(input), "opt level must be 0-3, got 4");
  mixir::CompileOptions defaults;
  EXPECT_EQ(defaults.target, mixir::Target::cpu);
  EXPECT_EQ(defaults.chipOrDefault(), "sm_80");
  EXPECT_EQ(defaults.chunkSizeOrUnset(), mixir::kChunkSizeUnset);
}

TEST(CompileOptions, TestTargetNeedsItsPlugin) {
  // The plugin is looked for once per process, on first use: this is it.
  unsetenv(mixrt::kTestPluginEnv);
  std::string message = error(with("cuda-emulation", std::nullopt));
  EXPECT_EQ(message.rfind("target cuda-emulation is a test target: its code "
                          "is not part of this build's libraries; set "
                          "MIXIR_TEST_PLUGIN",
                          0),
            0u)
      << message;
  EXPECT_EQ(mixrt::runtimeCallbacks(mixrt::Target::cudaEmulation).size(),
            mixrt::runtimeCallbacks(mixrt::Target::cpu).size());
  EXPECT_TRUE(mixrt::takeTargetError(mixrt::Target::cudaEmulation));
}

} // namespace
