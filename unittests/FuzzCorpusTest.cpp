//===- FuzzCorpusTest.cpp - the fuzz targets over their seed corpora ------===//
//
// The libFuzzer targets of test/fuzz, compiled with MIXIR_FUZZ_REPLAY into
// plain functions, run over every file of their corpora in the normal build:
// the seeds and the inputs that once crashed (regression inputs) must pass.
//
//===----------------------------------------------------------------------===//
#include "mixrt/Artifact.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>

extern "C" int mixirFuzz_npy(const uint8_t *data, size_t size);
extern "C" int mixirFuzz_artifact(const uint8_t *data, size_t size);
extern "C" int mixirFuzzInit_artifact(int *argc, char ***argv);
extern "C" int mixirFuzz_mlir(const uint8_t *data, size_t size);
extern "C" int mixirFuzz_stablehlo(const uint8_t *data, size_t size);
#ifdef MIXIR_ONNX_IMPORTER
extern "C" int mixirFuzz_onnx(const uint8_t *data, size_t size);
extern "C" int mixirFuzzInit_onnx(int *argc, char ***argv);
#endif

namespace {

/// Runs `target` over test/fuzz/corpus/NAME; returns the number of inputs.
size_t replay(const std::string &name, int (*target)(const uint8_t *, size_t)) {
  std::filesystem::path dir =
      std::filesystem::path(MIXIR_SOURCE_DIR) / "test/fuzz/corpus" / name;
  size_t count = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    std::string bytes;
    mixrt::Status s = mixrt::readFileBytes(entry.path().string(), bytes);
    EXPECT_TRUE(s) << s.message();
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(
        target(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()),
        0);
    ++count;
  }
  return count;
}

TEST(FuzzCorpus, Npy) { EXPECT_GE(replay("npy", mixirFuzz_npy), 9u); }

TEST(FuzzCorpus, Artifact) {
  mixirFuzzInit_artifact(nullptr, nullptr);
  EXPECT_GE(replay("artifact", mixirFuzz_artifact), 6u);
}

TEST(FuzzCorpus, Mlir) { EXPECT_GE(replay("mlir", mixirFuzz_mlir), 100u); }

TEST(FuzzCorpus, StableHLO) {
  EXPECT_GE(replay("stablehlo", mixirFuzz_stablehlo), 80u);
}

#ifdef MIXIR_ONNX_IMPORTER
TEST(FuzzCorpus, Onnx) {
  mixirFuzzInit_onnx(nullptr, nullptr);
  EXPECT_GE(replay("onnx", mixirFuzz_onnx), 100u);
}
#endif

} // namespace
