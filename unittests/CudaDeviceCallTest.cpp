//===- CudaDeviceCallTest.cpp - calls on device buffers, fake driver ------===//
//
// A cuda artifact called through the C API on device views: the kernels get
// the caller's device pointers unchanged, nothing is copied, allocated or
// waited for, the work goes on the caller's stream, and driver errors and
// bad views are statuses. The stand-in driver's "device memory" is host
// memory; with compute capability 12.0 it loads the artifact's PTX and
// reads each kernel's parameters from it.
//
//===----------------------------------------------------------------------===//
#include "CompiledCudaArtifact.h"
#include "FakeCudaControl.h"

#include <cstdint>
#include <string>
#include <vector>

namespace {

/// Bytes of fake device memory for a [b, t, 2, 64] bf16 tensor and the
/// [b, 2, 64, 64] f32 state, with views of them on MIXIR_DEVICE_CUDA.
struct DeviceTensors {
  DeviceTensors(int64_t batch, int64_t tokens)
      : shape{batch, tokens, 2, 64}, stateShape{batch, 2, 64, 64},
        q(batch * tokens * 128, 0x3f80), k(q), v(q), o(q.size(), 0xdead),
        state(batch * 2 * 64 * 64, -1.0f) {}
  mixir_buffer_view_t view(void *data, mixir_dtype_t t, const int64_t *s) {
    return {data, t, 4, s, nullptr, MIXIR_DEVICE_CUDA};
  }
  void args(mixir_buffer_view_t *out) {
    out[0] = view(q.data(), MIXIR_DTYPE_BF16, shape);
    out[1] = view(k.data(), MIXIR_DTYPE_BF16, shape);
    out[2] = view(v.data(), MIXIR_DTYPE_BF16, shape);
  }
  void outputs(mixir_buffer_view_t *out) {
    out[0] = view(o.data(), MIXIR_DTYPE_BF16, shape);
    out[1] = view(state.data(), MIXIR_DTYPE_F32, stateShape);
  }
  int64_t shape[4], stateShape[4];
  std::vector<uint16_t> q, k, v, o;
  std::vector<float> state;
};

uint64_t word(const void *p) { return reinterpret_cast<uintptr_t>(p); }

std::string take(mixir_status_t s) {
  std::string m = mixir_status_message(s);
  mixir_status_free(s);
  return m;
}

class CudaDeviceCall : public testing::Test {
protected:
  void SetUp() override {
    NEED_ARTIFACT(bytes);
    ASSERT_TRUE(fake.loaded());
    fake.setComputeCapability(12, 0); // PTX: kernel parameters are known
    ASSERT_EQ(load(*bytes, &m), "");
    ASSERT_EQ(mixir_module_lookup(m, "la", &f), nullptr);
  }
  void TearDown() override {
    if (m)
      mixir_module_release(m);
  }
  /// Counts of the driver calls a device call must not make.
  std::vector<int> forbidden() {
    std::vector<int> n;
    for (const char *call :
         {"cuMemcpyAsync", "cuMemAlloc_v2", "cuMemAllocAsync", "cuMemFree_v2",
          "cuStreamSynchronize", "cuCtxSynchronize", "cuEventSynchronize",
          "cuStreamCreate", "cuMemAllocManaged"})
      n.push_back(fake.calls(call));
    return n;
  }
  Fake fake;
  mixir_module_t m = nullptr;
  mixir_function_t f = nullptr;
};

TEST_F(CudaDeviceCall, DevicePointersReachTheKernelUnchanged) {
  DeviceTensors t(3, 75);
  mixir_buffer_view_t args[3], outs[2];
  t.args(args);
  t.outputs(outs);
  int callerStream = 0;
  std::vector<int> before = forbidden();
  int launches = fake.calls("cuLaunchKernel");
  ASSERT_EQ(
      take(mixir_function_invoke_into(f, args, 3, outs, 2, &callerStream)), "");
  EXPECT_EQ(forbidden(), before)
      << "no copy, allocation, stream or host synchronisation";
  EXPECT_GE(fake.calls("cuLaunchKernel"), launches + 1);
  EXPECT_GT(fake.lastParamCount(), 0) << "the fake read the PTX parameters";
  for (const void *p : {t.q.data(), t.k.data(), t.v.data()})
    EXPECT_GE(fake.launchesWith(word(p)), 1) << "input pointer " << p;
  EXPECT_GE(fake.launchesWith(word(t.o.data())), 1) << "output o";
  EXPECT_GE(fake.launchesWith(word(t.state.data())), 1) << "output state";
  void *launch = nullptr, *copy = nullptr;
  fake.lastStreams(&launch, &copy);
  EXPECT_EQ(launch, &callerStream);
  EXPECT_EQ(fake.lastLaunch()[0], 6u) << "one block per (batch, head)";
  EXPECT_EQ(t.q[0], 0x3f80) << "inputs untouched";
  EXPECT_EQ(fake.liveCounts()[0], 0) << "no device memory left behind";
}

TEST_F(CudaDeviceCall, NullStreamIsTheDefaultStream) {
  DeviceTensors t(1, 63);
  mixir_buffer_view_t args[3], outs[2];
  t.args(args);
  t.outputs(outs);
  std::vector<int> before = forbidden();
  ASSERT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)), "");
  EXPECT_EQ(forbidden(), before) << "no stream of its own either";
  void *launch = &t, *copy = nullptr;
  fake.lastStreams(&launch, &copy);
  EXPECT_EQ(launch, nullptr);
}

TEST_F(CudaDeviceCall, InvokeReturnsDeviceBuffersTheKernelWrote) {
  DeviceTensors t(2, 1);
  mixir_buffer_view_t args[3];
  t.args(args);
  mixir_buffer_t results[2] = {nullptr, nullptr};
  int copies = fake.calls("cuMemcpyAsync");
  ASSERT_EQ(take(mixir_function_invoke(f, args, 3, results, 2, nullptr)), "");
  EXPECT_EQ(fake.calls("cuMemcpyAsync"), copies);
  EXPECT_EQ(fake.liveCounts()[0], 2) << "the two results";
  int64_t want[2][4] = {{2, 1, 2, 64}, {2, 2, 64, 64}};
  for (int i = 0; i < 2; ++i) {
    ASSERT_NE(results[i], nullptr);
    EXPECT_EQ(mixir_buffer_device(results[i]), MIXIR_DEVICE_CUDA);
    ASSERT_EQ(mixir_buffer_rank(results[i]), 4);
    for (int d = 0; d < 4; ++d)
      EXPECT_EQ(mixir_buffer_shape(results[i])[d], want[i][d]);
    EXPECT_GE(fake.launchesWith(word(mixir_buffer_data(results[i]))), 1);
    mixir_buffer_view_t view;
    ASSERT_EQ(mixir_buffer_view(results[i], &view), nullptr);
    EXPECT_EQ(view.data, mixir_buffer_data(results[i]));
    EXPECT_EQ(view.device, MIXIR_DEVICE_CUDA);
    mixir_buffer_release(results[i]);
  }
  EXPECT_EQ(fake.liveCounts()[0], 0) << "released results are freed";
}

TEST_F(CudaDeviceCall, ResultShapesComeFromADryRun) {
  DeviceTensors t(3, 500);
  mixir_buffer_view_t args[3];
  t.args(args);
  std::vector<int> before = forbidden();
  int64_t dims[8] = {0};
  ASSERT_EQ(take(mixir_function_result_shapes(f, args, 3, dims, 8)), "");
  EXPECT_EQ(std::vector<int64_t>(dims, dims + 8),
            (std::vector<int64_t>{3, 500, 2, 64, 3, 2, 64, 64}));
  EXPECT_EQ(forbidden(), before);
  EXPECT_EQ(fake.calls("cuLaunchKernel"), 0) << "nothing launched";
  EXPECT_EQ(take(mixir_function_result_shapes(f, args, 3, dims, 7)),
            "@la: its results have 8 dims in all, space for 7 was given");
  for (auto &a : args)
    a.device = MIXIR_DEVICE_CPU;
  EXPECT_EQ(take(mixir_function_result_shapes(f, args, 3, dims, 8)),
            "@la: result shapes are inferred for calls on device buffers "
            "only");
}

TEST_F(CudaDeviceCall, DriverErrorsAreStatuses) {
  DeviceTensors t(1, 9);
  mixir_buffer_view_t args[3], outs[2];
  t.args(args);
  t.outputs(outs);
  fake.fail("cuLaunchKernel", 700);
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)),
            "@la: mgpuLaunchKernel: cuLaunchKernel failed: "
            "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
            "encountered)");
  fake.fail("cuLaunchKernel", 0);
  fake.fail("cuMemAlloc_v2", 2);
  mixir_buffer_t results[2] = {nullptr, nullptr};
  EXPECT_EQ(take(mixir_function_invoke(f, args, 3, results, 2, nullptr)),
            "@la result 0: cudaAllocate: cuMemAlloc failed: "
            "CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
  EXPECT_EQ(results[0], nullptr);
  mixir_buffer_t b = nullptr;
  EXPECT_EQ(take(mixir_buffer_allocate(MIXIR_DEVICE_CUDA, MIXIR_DTYPE_F32, 4,
                                       t.stateShape, &b)),
            "mixir_buffer_allocate: cudaAllocate: cuMemAlloc failed: "
            "CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
  EXPECT_EQ(b, nullptr);
  EXPECT_EQ(fake.liveCounts()[0], 0);
  // The call after an error starts clean.
  fake.fail("cuMemAlloc_v2", 0);
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)), "");
}

TEST_F(CudaDeviceCall, BadViewsAreStatuses) {
  DeviceTensors t(1, 9);
  mixir_buffer_view_t args[3], outs[2];
  t.args(args);
  t.outputs(outs);
  int launches = fake.calls("cuLaunchKernel");
  outs[1].device = MIXIR_DEVICE_CPU;
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)),
            "@la output 1: a host buffer among device buffers (a call takes "
            "one kind)");
  t.outputs(outs);
  args[2].device = MIXIR_DEVICE_CPU;
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)),
            "@la argument 2: a host buffer among device buffers (a call "
            "takes one kind)");
  t.args(args);
  int64_t strides[4] = {9 * 256, 256, 128, 1};
  args[0].strides = strides;
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)),
            "@la argument 0: a strided device buffer (device buffers must be "
            "dense row-major)");
  t.args(args);
  int64_t shorter[4] = {1, 8, 2, 64};
  outs[0].shape = shorter;
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)),
            "@la output 0 is 1x8x2x64xbf16, the result is 1x9x2x64xbf16");
  t.outputs(outs);
  int64_t empty[4] = {1, 0, 2, 64};
  for (auto &a : args)
    a.shape = empty;
  outs[0].shape = empty;
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 3, outs, 2, nullptr)),
            "@la on device buffers: argument 0 is empty (1x0x2x64xbf16); an "
            "empty problem needs host buffers");
  EXPECT_EQ(fake.calls("cuLaunchKernel"), launches) << "nothing launched";
  EXPECT_EQ(t.o[0], 0xdead) << "nothing written";
}

/// Packed linear attention: q, k, v [1, T, 2, 64] bf16 and the offsets of
/// the sequences (argument 3), which its host code checks.
const char *kPackedSource = R"mlir(
func.func @packed(%q: tensor<1x?x2x64xbf16>, %k: tensor<1x?x2x64xbf16>,
                  %v: tensor<1x?x2x64xbf16>, %cu: tensor<?xi32>)
    -> (tensor<1x?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none varlen(%cu) scale = 0.125
      : (tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>,
         tensor<?xi32>)
      -> (tensor<1x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o, %s : tensor<1x?x2x64xbf16>, tensor<?x2x64x64xf32>
}
)mlir";

class CudaDeviceCallPacked : public testing::Test {
protected:
  void SetUp() override {
    const std::string *bytes = compileCudaArtifact(kPackedSource);
    if (!haveToolkit())
      GTEST_SKIP() << "no ptxas: cannot compile cubins";
    ASSERT_NE(bytes, nullptr);
    ASSERT_TRUE(bool(mixrt::parseArtifact(bytes->data(), bytes->size(), info)));
    ASSERT_TRUE(fake.loaded());
    fake.setComputeCapability(12, 0);
    ASSERT_EQ(load(*bytes, &m), "");
    ASSERT_EQ(mixir_module_lookup(m, "packed", &f), nullptr);
    t.args(args);
    t.outputs(outs);
    outs[1].shape = stateShape;
    outs[1].data = state.data();
    args[3] = {cu.data(), MIXIR_DTYPE_I32, 1,
               &cuCount,  nullptr,         MIXIR_DEVICE_CUDA};
  }
  void TearDown() override {
    if (m)
      mixir_module_release(m);
  }
  mixrt::ArtifactInfo info;
  Fake fake;
  mixir_module_t m = nullptr;
  mixir_function_t f = nullptr;
  DeviceTensors t{1, 75};
  std::vector<int32_t> cu{0, 30, 31, 75};
  int64_t cuCount = 4, stateShape[4] = {3, 2, 64, 64};
  std::vector<float> state = std::vector<float>(3 * 2 * 64 * 64);
  mixir_buffer_view_t args[4], outs[2];
};

TEST_F(CudaDeviceCallPacked, TheArtifactNamesTheOffsetsAsReadOnTheHost) {
  ASSERT_EQ(info.functions.size(), 1u);
  EXPECT_EQ(info.functions[0].hostReadArgs, std::vector<uint32_t>{3});
}

TEST_F(CudaDeviceCallPacked, OffsetsMayBeAHostBufferAmongDeviceBuffers) {
  args[3].device = MIXIR_DEVICE_CPU;
  int syncs = fake.calls("cuStreamSynchronize");
  int copies = fake.calls("cuMemcpyAsync");
  int callerStream = 0;
  ASSERT_EQ(
      take(mixir_function_invoke_into(f, args, 4, outs, 2, &callerStream)), "");
  EXPECT_EQ(fake.calls("cuStreamSynchronize"), syncs) << "no host wait";
  EXPECT_EQ(fake.calls("cuMemcpyAsync"), copies + 1) << "the offsets go up";
  for (const void *p : std::vector<const void *>{
           t.q.data(), t.k.data(), t.v.data(), t.o.data(), state.data()})
    EXPECT_GE(fake.launchesWith(word(p)), 1) << "device pointer " << p;
  EXPECT_EQ(fake.launchesWith(word(cu.data())), 0)
      << "the kernel gets the uploaded copy, not the host buffer";
  EXPECT_EQ(fake.liveCounts()[0], 0) << "the copy's memory is freed";
}

TEST_F(CudaDeviceCallPacked, DeviceOffsetsAreDownloadedForTheHostCode) {
  int syncs = fake.calls("cuStreamSynchronize");
  int launches = fake.calls("cuLaunchKernel");
  ASSERT_EQ(take(mixir_function_invoke_into(f, args, 4, outs, 2, nullptr)), "");
  EXPECT_GE(fake.calls("cuStreamSynchronize"), syncs + 1)
      << "the download waits for the stream";
  EXPECT_GE(fake.calls("cuLaunchKernel"), launches + 1);
  int64_t dims[8] = {0};
  ASSERT_EQ(take(mixir_function_result_shapes(f, args, 4, dims, 8)), "");
  EXPECT_EQ(std::vector<int64_t>(dims, dims + 8),
            (std::vector<int64_t>{1, 75, 2, 64, 3, 2, 64, 64}));
  // Offsets the host code rejects, read from the device copy.
  cu = {0, 40, 31, 75};
  args[3].data = cu.data();
  launches = fake.calls("cuLaunchKernel");
  std::string why =
      take(mixir_function_invoke_into(f, args, 4, outs, 2, nullptr));
  EXPECT_NE(why.find("cu_seqlens"), std::string::npos) << why;
  EXPECT_EQ(fake.calls("cuLaunchKernel"), launches) << "nothing launched";
}

TEST_F(CudaDeviceCallPacked, InvokeDownloadsTheOffsetsOnce) {
  // Invoke sizes its results from the dry run of the call itself: one
  // download of the offsets (one wait), not one for the shapes and another
  // for the call.
  int syncs = fake.calls("cuStreamSynchronize");
  int copies = fake.calls("cuMemcpyAsync");
  mixir_buffer_t results[2] = {nullptr, nullptr};
  ASSERT_EQ(take(mixir_function_invoke(f, args, 4, results, 2, nullptr)), "");
  EXPECT_EQ(fake.calls("cuStreamSynchronize"), syncs + 1);
  EXPECT_EQ(fake.calls("cuMemcpyAsync"), copies + 2)
      << "the offsets down once, and the host code's copy of them up";
  ASSERT_NE(results[1], nullptr);
  ASSERT_EQ(mixir_buffer_rank(results[1]), 4);
  EXPECT_EQ(std::vector<int64_t>(mixir_buffer_shape(results[1]),
                                 mixir_buffer_shape(results[1]) + 4),
            (std::vector<int64_t>{3, 2, 64, 64}));
  for (mixir_buffer_t r : results)
    mixir_buffer_release(r);
  EXPECT_EQ(fake.liveCounts()[0], 0) << "released results are freed";
  // A failing call allocates nothing that outlives it.
  cu = {0, 40, 31, 75};
  mixir_buffer_t none[2] = {nullptr, nullptr};
  EXPECT_NE(take(mixir_function_invoke(f, args, 4, none, 2, nullptr)), "");
  EXPECT_EQ(none[0], nullptr);
  EXPECT_EQ(fake.liveCounts()[0], 0);
}

TEST_F(CudaDeviceCallPacked, OnlyHostReadArgumentsMayBeHostBuffers) {
  args[1].device = MIXIR_DEVICE_CPU;
  EXPECT_EQ(take(mixir_function_invoke_into(f, args, 4, outs, 2, nullptr)),
            "@packed argument 1: a host buffer among device buffers (a call "
            "takes one kind)");
}

TEST(CudaDeviceCallRefused, HostCodeBetweenKernelsNeedsHostBuffers) {
  // The sum of o with itself runs on the host, on a downloaded o: the dry
  // run finds that copy and the call is refused before any work is queued.
  const char *source = R"mlir(
func.func @la2(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>,
               %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x2x64xbf16> {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  %d = arith.addf %o, %o : tensor<?x?x2x64xbf16>
  return %d : tensor<?x?x2x64xbf16>
}
)mlir";
  const std::string *bytes = compileCudaArtifact(source);
  if (!haveToolkit())
    GTEST_SKIP() << "no ptxas: cannot compile cubins";
  ASSERT_NE(bytes, nullptr);
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  mixir_module_t m = nullptr;
  ASSERT_EQ(load(*bytes, &m), "");
  mixir_function_t f = nullptr;
  ASSERT_EQ(mixir_module_lookup(m, "la2", &f), nullptr);
  DeviceTensors t(1, 9);
  mixir_buffer_view_t args[3], outs[2];
  t.args(args);
  t.outputs(outs);
  std::string why =
      take(mixir_function_invoke_into(f, args, 3, outs, 1, nullptr));
  EXPECT_EQ(why.rfind("@la2 on device buffers: copy ", 0), 0u) << why;
  EXPECT_NE(why.find("from the device to the host) is not an upload of an "
                     "argument or a download of a result; the function "
                     "needs host buffers"),
            std::string::npos)
      << why;
  EXPECT_EQ(fake.calls("cuLaunchKernel"), 0) << "nothing queued";
  EXPECT_EQ(t.o[0], 0xdead);
  mixir_module_release(m);
}

TEST(CudaDeviceBuffers, AllocateWrapAndView) {
  int64_t shape[2] = {3, 5};
  mixir_buffer_t b = nullptr;
  ASSERT_EQ(take(mixir_buffer_allocate(MIXIR_DEVICE_CPU, MIXIR_DTYPE_F32, 2,
                                       shape, &b)),
            "");
  EXPECT_EQ(mixir_buffer_size_bytes(b), 60u);
  EXPECT_EQ(static_cast<float *>(mixir_buffer_data(b))[14], 0.0f);
  mixir_buffer_release(b);
  std::vector<uint16_t> memory(15, 7);
  ASSERT_EQ(take(mixir_buffer_wrap(MIXIR_DEVICE_CUDA, memory.data(),
                                   MIXIR_DTYPE_BF16, 2, shape, &b)),
            "");
  mixir_buffer_view_t v;
  ASSERT_EQ(mixir_buffer_view(b, &v), nullptr);
  EXPECT_EQ(v.data, memory.data()) << "wrapped without a copy";
  EXPECT_EQ(v.device, MIXIR_DEVICE_CUDA);
  EXPECT_EQ(v.shape[1], 5);
  EXPECT_EQ(mixir_buffer_size_bytes(b), 30u);
  mixir_buffer_release(b);
  EXPECT_EQ(memory[14], 7) << "release leaves wrapped memory alone";
  EXPECT_EQ(take(mixir_buffer_wrap(MIXIR_DEVICE_CUDA, nullptr, MIXIR_DTYPE_BF16,
                                   2, shape, &b)),
            "mixir_buffer_wrap: null data pointer");
  int64_t negative[2] = {3, -1};
  EXPECT_EQ(take(mixir_buffer_allocate(MIXIR_DEVICE_CPU, MIXIR_DTYPE_F32, 2,
                                       negative, &b)),
            "mixir_buffer_allocate: negative size -1 in dim 1");
  EXPECT_EQ(b, nullptr);
}

TEST(CudaDeviceBuffers, CopiesUpDownAndBetween) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  int64_t shape[2] = {3, 5}, other[2] = {5, 3};
  std::vector<float> host(15), back(15, -1.0f), device(15), device2(15);
  for (int i = 0; i < 15; ++i)
    host[i] = 0.5f * i;
  auto view = [&](void *p, mixir_device_t d, const int64_t *s) {
    return mixir_buffer_view_t{p, MIXIR_DTYPE_F32, 2, s, nullptr, d};
  };
  mixir_buffer_view_t h = view(host.data(), MIXIR_DEVICE_CPU, shape),
                      b = view(back.data(), MIXIR_DEVICE_CPU, shape),
                      d = view(device.data(), MIXIR_DEVICE_CUDA, shape),
                      d2 = view(device2.data(), MIXIR_DEVICE_CUDA, shape);
  int copies = fake.calls("cuMemcpyAsync");
  EXPECT_EQ(take(mixir_buffer_copy(&d, &h, nullptr)), "");
  EXPECT_EQ(take(mixir_buffer_copy(&d2, &d, nullptr)), "");
  EXPECT_EQ(take(mixir_buffer_copy(&b, &d2, nullptr)), "");
  EXPECT_EQ(back, host);
  EXPECT_EQ(fake.calls("cuMemcpyAsync"), copies + 3) << "through the driver";

  mixir_buffer_view_t wrongShape = view(back.data(), MIXIR_DEVICE_CPU, other);
  EXPECT_EQ(take(mixir_buffer_copy(&wrongShape, &d, nullptr)),
            "mixir_buffer_copy: shapes differ");
  mixir_buffer_view_t wrongType = d;
  wrongType.dtype = MIXIR_DTYPE_I32;
  EXPECT_EQ(take(mixir_buffer_copy(&wrongType, &d, nullptr)),
            "mixir_buffer_copy: element types differ (i32 destination, f32 "
            "source)");
  int64_t strides[2] = {1, 3};
  mixir_buffer_view_t strided = h;
  strided.strides = strides;
  EXPECT_EQ(take(mixir_buffer_copy(&d, &strided, nullptr)),
            "mixir_buffer_copy: source is not dense row-major");
  EXPECT_EQ(take(mixir_buffer_copy(nullptr, &d, nullptr)),
            "mixir_buffer_copy: null view");
  fake.fail("cuMemcpyAsync", 700);
  EXPECT_EQ(take(mixir_buffer_copy(&b, &d, nullptr)),
            "mixir_buffer_copy: cudaCopy: cuMemcpyAsync failed: "
            "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
            "encountered)");
  fake.fail("cuMemcpyAsync", 0);
  // Host to host needs no driver (and no stream).
  std::fill(back.begin(), back.end(), 0.0f);
  EXPECT_EQ(take(mixir_buffer_copy(&b, &h, nullptr)), "");
  EXPECT_EQ(back, host);
}

} // namespace
