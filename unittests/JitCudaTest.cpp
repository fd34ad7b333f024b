//===- JitCudaTest.cpp - JitModule's target cuda checks without a GPU -----===//
#include "mixir/Jit/JitModule.h"
#include "mixrt/Cuda.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

const char *kSource = R"mlir(
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
)mlir";

std::string compileError(const mixir::CompileOptions &options) {
  auto m = mixir::JitModule::compile(kSource, options);
  if (m)
    return "compiled";
  return llvm::toString(m.takeError());
}

TEST(JitCuda, UnknownTargetAndChipsAreRefused) {
  mixir::CompileOptionsInput input;
  input.target = "rocm";
  auto rocm = mixir::makeCompileOptions(input);
  ASSERT_FALSE(rocm);
  EXPECT_EQ(llvm::toString(rocm.takeError()),
            "unknown target 'rocm' (expected cpu or cuda)");
  mixir::CompileOptions options;
  options.target = mixir::Target::cuda;
  for (const char *chip : {"sm_75", "sm_100", "sm_90b"}) {
    options.chip = chip;
    EXPECT_EQ(compileError(options),
              "target cuda: unsupported chip '" + std::string(chip) +
                  "' (expected sm_80, sm_86, sm_89, sm_90 or sm_90a)");
  }
}

TEST(JitCuda, NoDriverIsOneLine) {
  setenv("MIXIR_LIBCUDA_PATH", "/nonexistent/libcuda.so.1", 1);
  mixrt::cudaResetForTesting();
  mixir::CompileOptions options;
  options.target = mixir::Target::cuda;
  options.chip = "sm_90a";
  EXPECT_EQ(compileError(options),
            "target cuda: no CUDA driver (/nonexistent/libcuda.so.1: cannot "
            "open shared object file: No such file or directory)");
  mixrt::cudaResetForTesting();
  unsetenv("MIXIR_LIBCUDA_PATH");
}

TEST(JitCuda, DeviceCodeNeedsTargetCudaAndAKnownFormat) {
  mixir::CompileOptions options;
  auto cpu = mixir::lowerToDeviceCode(kSource, options, "isa");
  ASSERT_FALSE(cpu);
  EXPECT_EQ(llvm::toString(cpu.takeError()),
            "device code needs target cuda, not 'cpu'");
  options.target = mixir::Target::cuda;
  auto format = mixir::lowerToDeviceCode(kSource, options, "sass");
  ASSERT_FALSE(format);
  EXPECT_EQ(llvm::toString(format.takeError()),
            "unknown device code format 'sass' (expected isa, bin or fatbin)");
  options.chip = "sm_70";
  auto chip = mixir::lowerToDeviceCode(kSource, options, "isa");
  ASSERT_FALSE(chip);
  EXPECT_EQ(llvm::toString(chip.takeError()),
            "target cuda: unsupported chip 'sm_70' (expected sm_80, sm_86, "
            "sm_89, sm_90 or sm_90a)");
}

} // namespace
