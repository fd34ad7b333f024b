//===- CudaArtifactTest.cpp - target cuda artifacts without a GPU ---------===//
//
// The device-code half of the artifact format, the choice of image for a
// device, and artifacts compiled by mixir::compileArtifact for two chips,
// loaded and called through the runtime's C API against the stand-in driver
// (FakeCuda.cpp), a missing driver and a device no image fits. Compiling
// needs ptxas (the CUDA toolkit); those tests are skipped without it.
//
//===----------------------------------------------------------------------===//
#include "mixrt/CudaArtifact.h"
#include "CompiledCudaArtifact.h"
#include "FakeCudaControl.h"
#include "mixir-c/Mixir.h"
#include "mixir-c/Runtime.h"
#include "mixir/Jit/SharedObject.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

mixrt::DeviceImage image(const char *module, const char *chip, uint32_t kind,
                         const char *bytes) {
  return {module, chip, kind, bytes};
}

/// An artifact with synthetic device code (its payload is not loadable).
mixrt::ArtifactInfo syntheticInfo() {
  mixrt::ArtifactInfo info;
  info.compilerVersion = "test";
  info.target = mixrt::Target::cuda;
  info.chip = "sm_80,sm_90a";
  info.arch = mixrt::hostArch();
  info.functions.push_back({"f", {}, {}});
  info.deviceImages = {
      image("m", "sm_80", mixrt::kDeviceImagePtx, "ptx80"),
      image("m", "sm_80", mixrt::kDeviceImageCubin, "cubin80"),
      image("m", "sm_90a", mixrt::kDeviceImageCubin, "cubin90a"),
  };
  info.payload = "payload";
  return info;
}

/// The bytes of the image chosen for device `chip`, or the error.
std::string chosenFor(const mixrt::ArtifactInfo &info, const char *chip) {
  std::vector<mixrt::DeviceImageChoice> choices;
  if (mixrt::Status s = mixrt::selectDeviceImages(info, chip, choices); !s)
    return s.message();
  std::string out;
  for (const auto &c : choices)
    out += (out.empty() ? "" : " ") + c.chosen->bytes;
  return out;
}

TEST(CudaArtifactFormat, DeviceImagesRoundTrip) {
  mixrt::ArtifactInfo info = syntheticInfo();
  std::string bytes = mixrt::serializeArtifact(info);
  mixrt::ArtifactInfo back;
  ASSERT_TRUE(mixrt::parseArtifact(bytes.data(), bytes.size(), back));
  EXPECT_EQ(back.target, mixrt::Target::cuda);
  EXPECT_EQ(back.chip, "sm_80,sm_90a");
  ASSERT_EQ(back.deviceImages.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.deviceImages[i].module, info.deviceImages[i].module);
    EXPECT_EQ(back.deviceImages[i].chip, info.deviceImages[i].chip);
    EXPECT_EQ(back.deviceImages[i].kind, info.deviceImages[i].kind);
    EXPECT_EQ(back.deviceImages[i].bytes, info.deviceImages[i].bytes);
  }
  EXPECT_EQ(back.payload, "payload");
}

/// Rewrites the preamble's body size and the checksum after `bytes` changed.
void reseal(std::string &bytes) {
  bytes.resize(bytes.size() - 8);
  uint64_t body = bytes.size() - 24;
  std::memcpy(&bytes[16], &body, 8);
  uint64_t sum = mixrt::fnv1a64(bytes.data(), bytes.size());
  bytes.append(reinterpret_cast<const char *>(&sum), 8);
}

/// Offset of the device image count in `bytes` (serialized from `info`,
/// which has no device images); the last function's host-read argument
/// count (0) is the 4 bytes before it.
size_t imageCountAt(const std::string &bytes, const mixrt::ArtifactInfo &info) {
  size_t count = bytes.size() - 8 - info.payload.size() - 8 - 4 - 4;
  uint32_t zero[2] = {0, 0};
  EXPECT_EQ(std::memcmp(&bytes[count - 4], zero, 8), 0);
  return count;
}

/// `info` written, rewritten as format `version` and read back: version 2
/// is version 3 without the host-read argument counts, version 1 also
/// without the device image count.
mixrt::ArtifactInfo asOlderFormat(const mixrt::ArtifactInfo &info,
                                  uint32_t version) {
  std::string bytes = mixrt::serializeArtifact(info);
  bytes.erase(imageCountAt(bytes, info) - 4, version == 1 ? 8 : 4);
  std::memcpy(&bytes[8], &version, 4);
  reseal(bytes);
  mixrt::ArtifactInfo back;
  mixrt::Status s = mixrt::parseArtifact(bytes.data(), bytes.size(), back);
  EXPECT_TRUE(s) << s.message();
  return back;
}

TEST(CudaArtifactFormat, VersionOneArtifactsStillLoad) {
  mixrt::ArtifactInfo info = syntheticInfo();
  info.target = mixrt::Target::cpu;
  info.chip.clear();
  info.deviceImages.clear();
  mixrt::ArtifactInfo back = asOlderFormat(info, 1);
  EXPECT_EQ(back.functions.size(), 1u);
  EXPECT_EQ(back.payload, "payload");
  EXPECT_TRUE(back.deviceImages.empty());
}

TEST(CudaArtifactFormat, VersionTwoArtifactsReadNoArgumentOnTheHost) {
  mixrt::ArtifactInfo info = syntheticInfo();
  info.deviceImages.clear();
  mixrt::ArtifactInfo back = asOlderFormat(info, 2);
  ASSERT_EQ(back.functions.size(), 1u);
  EXPECT_TRUE(back.functions[0].hostReadArgs.empty());
  EXPECT_FALSE(back.functions[0].hostReadsKnown) << "device calls refused";
  EXPECT_EQ(back.payload, "payload");
}

TEST(CudaArtifactFormat, HostReadArgumentsRoundTripAndAreChecked) {
  mixrt::ArtifactInfo info = syntheticInfo();
  mixrt::TensorSignature t{mixrt::DType::i32, {-1}};
  info.functions[0].args = {t, t, t};
  info.functions[0].hostReadArgs = {0, 2};
  std::string bytes = mixrt::serializeArtifact(info);
  mixrt::ArtifactInfo back;
  ASSERT_TRUE(mixrt::parseArtifact(bytes.data(), bytes.size(), back));
  EXPECT_EQ(back.functions[0].hostReadArgs, (std::vector<uint32_t>{0, 2}));
  EXPECT_TRUE(back.functions[0].hostReadsKnown);
  EXPECT_TRUE(back.functions[0].readsOnHost(2));
  EXPECT_FALSE(back.functions[0].readsOnHost(1));
  for (auto [bad, why] :
       {std::pair<std::vector<uint32_t>, const char *>{
            {2, 0},
            "corrupt artifact: host-read argument 0 of @f (3 "
            "arguments, indices ascending)"},
        {{3},
         "corrupt artifact: host-read argument 3 of @f (3 arguments, "
         "indices ascending)"},
        {{0, 1, 2, 2},
         "corrupt artifact: 4 host-read arguments of @f, which "
         "has 3"}}) {
    info.functions[0].hostReadArgs = bad;
    bytes = mixrt::serializeArtifact(info);
    EXPECT_EQ(mixrt::parseArtifact(bytes.data(), bytes.size(), back).message(),
              why);
  }
}

TEST(CudaArtifactFormat, BadImagesAreNamed) {
  mixrt::ArtifactInfo info = syntheticInfo();
  info.deviceImages[1].kind = 7;
  std::string bytes = mixrt::serializeArtifact(info);
  mixrt::ArtifactInfo back;
  mixrt::Status s = mixrt::parseArtifact(bytes.data(), bytes.size(), back);
  EXPECT_EQ(s.message(), "corrupt artifact: device image kind 7 of module m "
                         "(expected 1, cubin, or 2, PTX)");

  // Host code only (a module without kernels) is not refused for its lack
  // of images (host code that loads an image the artifact does not list
  // fails at the call); this one's payload is not host code.
  info = syntheticInfo();
  info.deviceImages.clear();
  EXPECT_EQ(mixrt::checkArtifactRunsHere(info).message(),
            "artifact payload is not a 64-bit little-endian ELF shared "
            "object");

  info = syntheticInfo();
  info.deviceImages[2].chip = "sm_9x";
  EXPECT_EQ(chosenFor(info, "sm_90"),
            "corrupt artifact: device module m has code for unknown chip "
            "'sm_9x'");
  info = syntheticInfo();
  info.deviceImages.erase(info.deviceImages.begin());
  EXPECT_EQ(chosenFor(info, "sm_90"),
            "corrupt artifact: device module m has no PTX");
}

TEST(CudaArtifactFormat, TheBestImageForTheDeviceIsChosen) {
  mixrt::ArtifactInfo info = syntheticInfo();
  info.deviceImages.push_back(image("n", "sm_86", mixrt::kDeviceImagePtx, "n"));
  info.deviceImages.push_back(
      image("n", "sm_86", mixrt::kDeviceImageCubin, "n86"));
  // A cubin runs on its major version from its minor version up; sm_90a only
  // on 9.0; PTX on every later device.
  EXPECT_EQ(chosenFor(info, "sm_80"),
            "no code for the device (sm_80) in device module n: it has "
            "cubins for sm_86, PTX for sm_86");
  EXPECT_EQ(chosenFor(info, "sm_86"), "cubin80 n86");
  EXPECT_EQ(chosenFor(info, "sm_89"), "cubin80 n86");
  EXPECT_EQ(chosenFor(info, "sm_90"), "cubin90a n");
  EXPECT_EQ(chosenFor(info, "sm_120"), "ptx80 n");
  EXPECT_EQ(chosenFor(info, "sm_75"),
            "no code for the device (sm_75) in device module m: it has "
            "cubins for sm_80, sm_90a, PTX for sm_80");
  EXPECT_EQ(chosenFor(info, "gfx90a"), "unknown device architecture 'gfx90a'");
}

TEST(CudaArtifactFormat, ChipVersions) {
  auto v = mixrt::parseChip("sm_90a");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 9);
  EXPECT_EQ(v->minor, 0);
  EXPECT_TRUE(v->archSpecific);
  v = mixrt::parseChip("sm_120");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 12);
  EXPECT_FALSE(v->archSpecific);
  for (const char *bad : {"sm_", "sm_8", "sm_8x", "compute_80", "sm_1234"})
    EXPECT_FALSE(mixrt::parseChip(bad)) << bad;
}

mixrt::ArtifactInfo parsed(const std::string &bytes) {
  mixrt::ArtifactInfo info;
  mixrt::Status s = mixrt::parseArtifact(bytes.data(), bytes.size(), info);
  EXPECT_TRUE(s) << s.message();
  return info;
}

/// The images of `info` of `kind` for `chip`.
std::vector<const mixrt::DeviceImage *>
imagesOf(const mixrt::ArtifactInfo &info, uint32_t kind, const char *chip) {
  std::vector<const mixrt::DeviceImage *> out;
  for (const auto &d : info.deviceImages)
    if (d.kind == kind && d.chip == chip)
      out.push_back(&d);
  return out;
}

TEST(CudaArtifact, HoldsACubinPerChipAndPtxForTheLowest) {
  NEED_ARTIFACT(bytes);
  mixrt::ArtifactInfo info = parsed(*bytes);
  EXPECT_EQ(info.target, mixrt::Target::cuda);
  EXPECT_EQ(info.chip, "sm_80,sm_90a") << "lowest compute capability first";
  auto ptx = imagesOf(info, mixrt::kDeviceImagePtx, "sm_80");
  auto cubin80 = imagesOf(info, mixrt::kDeviceImageCubin, "sm_80");
  auto cubin90a = imagesOf(info, mixrt::kDeviceImageCubin, "sm_90a");
  ASSERT_FALSE(ptx.empty());
  EXPECT_EQ(info.deviceImages.size(), 3 * ptx.size());
  ASSERT_EQ(cubin80.size(), ptx.size());
  ASSERT_EQ(cubin90a.size(), ptx.size());
  for (size_t i = 0; i < ptx.size(); ++i) {
    EXPECT_NE(ptx[i]->bytes.find(".target sm_80"), std::string::npos);
    EXPECT_EQ(cubin80[i]->bytes.rfind("\x7f"
                                      "ELF",
                                      0),
              0u);
    EXPECT_EQ(cubin90a[i]->bytes.rfind("\x7f"
                                       "ELF",
                                       0),
              0u);
    EXPECT_NE(cubin80[i]->bytes, cubin90a[i]->bytes);
  }
}

uint64_t fnv(const std::string &s) {
  return mixrt::fnv1a64(s.data(), s.size());
}

TEST(CudaArtifact, TheDriverGetsTheImageThatFitsTheDevice) {
  NEED_ARTIFACT(bytes);
  mixrt::ArtifactInfo info = parsed(*bytes);
  struct Case {
    int major, minor;
    uint32_t kind;
    const char *chip;
  } cases[] = {{9, 0, mixrt::kDeviceImageCubin, "sm_90a"},
               {8, 6, mixrt::kDeviceImageCubin, "sm_80"},
               {12, 0, mixrt::kDeviceImagePtx, "sm_80"}};
  for (const Case &c : cases) {
    Fake fake;
    ASSERT_TRUE(fake.loaded());
    fake.setComputeCapability(c.major, c.minor);
    mixir_module_t m = nullptr;
    ASSERT_EQ(load(*bytes, &m), "") << c.major << "." << c.minor;
    EXPECT_STREQ(mixir_module_target(m), "cuda");
    auto want = imagesOf(info, c.kind, c.chip);
    ASSERT_EQ(fake.calls("cuModuleLoadDataEx"), int(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      uint64_t size = 0, hash = 0;
      ASSERT_TRUE(fake.loadedImage(int(i), &size, &hash));
      std::string expect = want[i]->bytes;
      if (c.kind == mixrt::kDeviceImagePtx && !expect.empty() &&
          expect.back() == '\0')
        expect.pop_back(); // the fake measures PTX up to its NUL
      EXPECT_EQ(size, expect.size()) << c.chip;
      EXPECT_EQ(hash, fnv(expect)) << c.chip;
    }
    EXPECT_EQ(fake.liveCounts()[3], int(want.size())) << "modules loaded";
    mixir_module_release(m);
    EXPECT_EQ(fake.liveCounts()[3], 0) << "modules unloaded with the module";
  }
}

TEST(CudaArtifact, WrongChipMissingDriverAndCorruptFileAreNamed) {
  NEED_ARTIFACT(bytes);
  mixir_module_t m = nullptr;
  {
    Fake fake;
    ASSERT_TRUE(fake.loaded());
    fake.setComputeCapability(7, 5);
    std::string why = load(*bytes, &m);
    EXPECT_EQ(why.rfind("artifact for target cuda: no code for the device "
                        "(sm_75) in device module ",
                        0),
              0u)
        << why;
    EXPECT_NE(why.find(": it has cubins for sm_80, sm_90a, PTX for sm_80"),
              std::string::npos)
        << why;
    EXPECT_EQ(m, nullptr);
    EXPECT_EQ(fake.calls("cuModuleLoadDataEx"), 0);

    fake.fail("cuModuleLoadDataEx", 200);
    fake.setComputeCapability(9, 0);
    EXPECT_EQ(load(*bytes, &m),
              "artifact for target cuda: loading the kernels failed: "
              "mgpuModuleLoad: cuModuleLoadDataEx failed: "
              "CUDA_ERROR_INVALID_IMAGE (device kernel image is invalid): "
              "ptxas application ptx input, line 7; error   : bad");
    EXPECT_EQ(m, nullptr);
  }
  useDriver("/nonexistent/libcuda.so.1");
  EXPECT_EQ(load(*bytes, &m),
            "artifact for target cuda: no CUDA driver "
            "(/nonexistent/libcuda.so.1: cannot open shared object file: No "
            "such file or directory)");
  EXPECT_EQ(m, nullptr);
  mixrt::cudaResetForTesting();
  unsetenv("MIXIR_LIBCUDA_PATH");

  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x55;
  EXPECT_EQ(load(flipped, &m), "corrupt artifact: checksum mismatch");
  EXPECT_EQ(m, nullptr);
}

TEST(CudaArtifact, DeviceCodeTheHostCodeDoesNotEmbedIsRefused) {
  NEED_ARTIFACT(bytes);
  // PTX that differs from what the host code embeds: the module the host
  // code loads is not in the artifact.
  mixrt::ArtifactInfo info = parsed(*bytes);
  for (auto &d : info.deviceImages)
    if (d.kind == mixrt::kDeviceImagePtx)
      d.bytes.insert(0, "// changed\n");
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  mixir_module_t m = nullptr;
  EXPECT_EQ(load(mixrt::serializeArtifact(info), &m),
            "artifact for target cuda: loading the kernels failed: "
            "mgpuModuleLoadJIT: the host code loads device code that the "
            "artifact does not list");
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(fake.calls("cuModuleLoadDataEx"), 0);
}

/// Calls @la of `m` on zero-filled bf16 inputs [batch, tokens, 2, 64]; the
/// status message ("" on success) and the result shapes.
std::string callLa(mixir_module_t m, int64_t batch, int64_t tokens,
                   std::vector<std::vector<int64_t>> &shapes,
                   void *stream = nullptr) {
  mixir_function_t f = nullptr;
  mixir_status_t s = mixir_module_lookup(m, "la", &f);
  if (s)
    return mixir_status_message(s);
  int64_t shape[4] = {batch, tokens, 2, 64};
  std::vector<uint16_t> data(batch * tokens * 2 * 64, 0);
  mixir_buffer_view_t in = {data.data(), MIXIR_DTYPE_BF16, 4,
                            shape,       nullptr,          MIXIR_DEVICE_CPU};
  mixir_buffer_view_t args[3] = {in, in, in};
  mixir_buffer_t results[2] = {nullptr, nullptr};
  s = mixir_function_invoke(f, args, 3, results, 2, stream);
  std::string why = mixir_status_message(s);
  mixir_status_free(s);
  shapes.clear();
  for (mixir_buffer_t r : results) {
    if (!r)
      continue;
    const int64_t *dims = mixir_buffer_shape(r);
    shapes.emplace_back(dims, dims + mixir_buffer_rank(r));
    mixir_buffer_release(r);
  }
  return why;
}

/// The compiled artifact loaded against the fake driver.
class CudaArtifactCall : public testing::Test {
protected:
  void SetUp() override {
    NEED_ARTIFACT(bytes);
    ASSERT_TRUE(fake.loaded());
    ASSERT_EQ(load(*bytes, &m), "");
  }
  void TearDown() override {
    if (m)
      mixir_module_release(m);
  }
  Fake fake;
  mixir_module_t m = nullptr;
  std::vector<std::vector<int64_t>> shapes;
};

TEST_F(CudaArtifactCall, OneArtifactServesEveryBatchAndLength) {
  for (int64_t batch : {1, 3}) {
    for (int64_t tokens : {37, 129}) {
      int before = fake.calls("cuLaunchKernel");
      ASSERT_EQ(callLa(m, batch, tokens, shapes), "");
      ASSERT_EQ(shapes.size(), 2u);
      EXPECT_EQ(shapes[0], (std::vector<int64_t>{batch, tokens, 2, 64}));
      EXPECT_EQ(shapes[1], (std::vector<int64_t>{batch, 2, 64, 64}));
      EXPECT_GE(fake.calls("cuLaunchKernel"), before + 1);
      // One block per (batch, head) along x; whole warps per block.
      EXPECT_EQ(fake.lastLaunch()[0], unsigned(2 * batch));
      EXPECT_EQ(fake.lastLaunch()[3] % 32, 0u);
    }
  }
  fake.fail("cuLaunchKernel", 700);
  EXPECT_EQ(callLa(m, 1, 5, shapes),
            "@la: mgpuLaunchKernel: cuLaunchKernel failed: "
            "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
            "encountered)");
  EXPECT_TRUE(shapes.empty()) << "no results after a driver error";
  mixir_module_release(m);
  m = nullptr;
  EXPECT_EQ(fake.liveCounts()[3], 0);
}

TEST_F(CudaArtifactCall, CallsRunOnTheCallersStream) {
  void *launch = nullptr, *copy = nullptr;

  // Without a stream the host code makes and destroys its own.
  ASSERT_EQ(callLa(m, 2, 40, shapes), "");
  int created = fake.calls("cuStreamCreate");
  EXPECT_GE(created, 1);
  EXPECT_EQ(fake.calls("cuStreamDestroy_v2"), created);
  fake.lastStreams(&launch, &copy);
  EXPECT_NE(launch, nullptr);

  // With one, every copy and launch is queued on it; it is not destroyed.
  int callerStream = 0;
  void *stream = &callerStream;
  ASSERT_EQ(callLa(m, 2, 40, shapes, stream), "");
  EXPECT_EQ(shapes.size(), 2u);
  EXPECT_EQ(fake.calls("cuStreamCreate"), created);
  EXPECT_EQ(fake.calls("cuStreamDestroy_v2"), created);
  fake.lastStreams(&launch, &copy);
  EXPECT_EQ(launch, stream);
  EXPECT_EQ(copy, stream);

  // The binding ends with the call.
  ASSERT_EQ(callLa(m, 1, 3, shapes), "");
  fake.lastStreams(&launch, &copy);
  EXPECT_NE(launch, stream);
  EXPECT_EQ(fake.liveCounts()[1], 0) << "no stream left behind";
}

TEST_F(CudaArtifactCall, InvokeIntoWritesTheCallersHostOutputs) {
  mixir_function_t f = nullptr;
  ASSERT_EQ(mixir_module_lookup(m, "la", &f), nullptr);
  int64_t shape[4] = {1, 9, 2, 64};
  std::vector<uint16_t> in(9 * 2 * 64, 0x3f80); // bf16 1.0
  mixir_buffer_view_t arg = {in.data(), MIXIR_DTYPE_BF16, 4,
                             shape,     nullptr,          MIXIR_DEVICE_CPU};
  mixir_buffer_view_t args[3] = {arg, arg, arg};
  // o is written through strides (every other row of a wider buffer); the
  // fake's "device" copies back what the copies put there.
  int64_t oStrides[4] = {9 * 2 * 128, 2 * 128, 128, 1};
  std::vector<uint16_t> o(9 * 2 * 128, 0xdead);
  int64_t sShape[4] = {1, 2, 64, 64};
  std::vector<float> state(2 * 64 * 64, -1.0f);
  mixir_buffer_view_t outs[2] = {
      {o.data(), MIXIR_DTYPE_BF16, 4, shape, oStrides, MIXIR_DEVICE_CPU},
      {state.data(), MIXIR_DTYPE_F32, 4, sShape, nullptr, MIXIR_DEVICE_CPU}};
  int stream = 0;
  mixir_status_t s = mixir_function_invoke_into(f, args, 3, outs, 2, &stream);
  EXPECT_EQ(s, nullptr) << mixir_status_message(s);
  mixir_status_free(s);
  void *launch = nullptr, *copy = nullptr;
  fake.lastStreams(&launch, &copy);
  EXPECT_EQ(launch, &stream);
  for (size_t row = 0; row < 18; ++row)
    EXPECT_EQ(o[row * 128 + 64], 0xdead) << "the gaps stay untouched";

  int64_t wrong[4] = {1, 8, 2, 64};
  outs[0] = {o.data(), MIXIR_DTYPE_BF16, 4, wrong, nullptr, MIXIR_DEVICE_CPU};
  s = mixir_function_invoke_into(f, args, 3, outs, 2, nullptr);
  EXPECT_STREQ(mixir_status_message(s),
               "@la output 0: dim 1 is 8, the result is 1x9x2x64xbf16");
  mixir_status_free(s);
  EXPECT_EQ(o[64], 0xdead);
}

TEST(CudaArtifact, CompilerContextsMakeCudaModules) {
  if (!haveToolkit())
    GTEST_SKIP() << "no ptxas: cannot compile cubins";
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  fake.setComputeCapability(8, 6);
  mixir_compiler_options_t o;
  mixir_compiler_options_init(&o);
  o.target = "cuda";
  o.chip = "sm_86";
  o.cache_dir = "";
  mixir_compiler_t c = nullptr;
  ASSERT_EQ(mixir_compiler_create(&o, &c), nullptr);
  mixir_module_t m = nullptr;
  mixir_status_t s =
      mixir_compiler_compile(c, kSource, std::strlen(kSource), "la.mlir", &m);
  EXPECT_EQ(s, nullptr) << mixir_status_message(s);
  mixir_status_free(s);
  ASSERT_NE(m, nullptr);
  EXPECT_STREQ(mixir_module_target(m), "cuda");
  std::vector<std::vector<int64_t>> shapes;
  EXPECT_EQ(callLa(m, 2, 17, shapes), "");
  EXPECT_EQ(shapes.size(), 2u);
  EXPECT_GE(fake.calls("cuLaunchKernel"), 1);
  mixir_module_release(m);
  mixir_compiler_destroy(c);
}

} // namespace
