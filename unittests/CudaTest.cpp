//===- CudaTest.cpp - mixrt's CUDA runtime without a GPU ------------------===//
//
// Runs the mgpu* functions against a missing driver, a library that is not
// a driver, and FakeCuda.cpp (a stand-in libcuda whose "device memory" is
// host memory and whose calls fail on request), selected with
// $MIXIR_LIBCUDA_PATH.
//
//===----------------------------------------------------------------------===//
#include "mixrt/Cuda.h"
#include "FakeCudaControl.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string takeMessage() { return mixrt::cudaTakeStatus().message(); }

TEST(CudaRuntime, MissingDriverIsOneLineAndEveryCallIsSafe) {
  useDriver("/nonexistent/libcuda.so.1");
  std::string why;
  EXPECT_FALSE(mixrt::cudaAvailable(&why));
  EXPECT_EQ(why.rfind("no CUDA driver (/nonexistent/libcuda.so.1: ", 0), 0u)
      << why;
  EXPECT_EQ(why.find('\n'), std::string::npos);

  // Nothing crashes, nothing is returned, the first failure is kept.
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  float host[4] = {1, 2, 3, 4};
  EXPECT_EQ(mgpuMemAlloc(sizeof(host), nullptr, 0), nullptr);
  mgpuMemcpy(host, host, sizeof(host), nullptr);
  mgpuMemset32(nullptr, 0, 4, nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_EQ(mgpuModuleLoad(host, sizeof(host)), nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "k"), nullptr);
  mgpuMemFree(nullptr, nullptr);
  mgpuStreamSynchronize(nullptr);
  mgpuStreamDestroy(nullptr);
  mgpuModuleUnload(nullptr);
  EXPECT_TRUE(mixrt::cudaErrorPending());
  mixrt::Status s = mixrt::cudaTakeStatus();
  EXPECT_FALSE(s);
  EXPECT_EQ(s.message(), "mgpuStreamCreate: " + why);
  EXPECT_TRUE(mixrt::cudaTakeStatus()) << "taking the status clears it";
  EXPECT_FALSE(mixrt::cudaErrorPending());
  EXPECT_EQ(host[0], 1.0f);
  std::string description;
  EXPECT_FALSE(mixrt::cudaDeviceDescription(description));
}

TEST(CudaRuntime, LibraryWithoutTheDriverApiIsNamed) {
  useDriver("libm.so.6");
  std::string why;
  EXPECT_FALSE(mixrt::cudaAvailable(&why));
  EXPECT_EQ(why, "CUDA driver libm.so.6 lacks cuInit (driver too old?)");
  mixrt::cudaResetForTesting();
}

TEST(CudaRuntime, DriverErrorsCarryTheCallNameAndMessage) {
  Fake fake;
  ASSERT_TRUE(fake.loaded()) << dlerror();
  fake.fail("cuInit", 100);
  std::string why;
  EXPECT_FALSE(mixrt::cudaAvailable(&why));
  EXPECT_EQ(why, "cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device "
                 "is detected)");
  // Initialisation is attempted once; later calls report the same reason.
  EXPECT_EQ(mgpuMemAlloc(16, nullptr, 0), nullptr);
  EXPECT_EQ(takeMessage(), "mgpuMemAlloc: " + why);
  EXPECT_EQ(fake.calls("cuInit"), 1);
  EXPECT_EQ(fake.calls("cuMemAlloc_v2"), 0);
}

TEST(CudaRuntime, NoDevicesReported) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  fake.setDeviceCount(0);
  std::string why;
  EXPECT_FALSE(mixrt::cudaAvailable(&why));
  EXPECT_EQ(why, "no CUDA device (the driver reports none)");
}

TEST(CudaRuntime, CopiesMemsetsAndLaunchesReachTheDriver) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  std::string why;
  ASSERT_TRUE(mixrt::cudaAvailable(&why)) << why;
  std::string description;
  ASSERT_TRUE(mixrt::cudaDeviceDescription(description));
  EXPECT_EQ(description, "Fake GPU (sm_90)");
  std::string chip;
  ASSERT_TRUE(mixrt::cudaDeviceArchitecture(chip));
  EXPECT_EQ(chip, "sm_90");

  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr);
  float in[5] = {1.5f, -2, 3, 4, 5}, out[5] = {0};
  void *dev = mgpuMemAlloc(sizeof(in), stream, 0);
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(fake.calls("cuMemAllocAsync"), 1) << "stream-ordered when possible";
  mgpuMemcpy(dev, in, sizeof(in), stream);
  mgpuMemcpy(out, dev, sizeof(out), stream);
  EXPECT_EQ(std::memcmp(in, out, sizeof(in)), 0);
  mgpuMemset32(dev, 0x40000000u, 5, stream); // 2.0f
  mgpuMemcpy(out, dev, sizeof(out), stream);
  for (float v : out)
    EXPECT_EQ(v, 2.0f);
  mgpuMemset16(dev, 0x3f80, 3, stream); // bf16 1.0 in the first 3 halves
  uint16_t halves[4];
  mgpuMemcpy(halves, dev, sizeof(halves), stream);
  EXPECT_EQ(halves[0], 0x3f80);
  EXPECT_EQ(halves[2], 0x3f80);
  EXPECT_EQ(halves[3], 0x4000) << "untouched high half of the second float";

  char image[] = "cubin";
  void *module = mgpuModuleLoad(image, sizeof(image));
  ASSERT_NE(module, nullptr);
  void *kernel = mgpuModuleGetFunction(module, "k");
  ASSERT_NE(kernel, nullptr);
  void *params[1] = {&dev};
  mgpuLaunchKernel(kernel, 96, 2, 1, 128, 1, 1, 1024, stream, params, nullptr,
                   1);
  const unsigned *l = fake.lastLaunch();
  EXPECT_EQ(std::vector<unsigned>(l, l + 7),
            (std::vector<unsigned>{96, 2, 1, 128, 1, 1, 1024}));
  EXPECT_EQ(fake.calls("cuFuncSetAttribute"), 0) << "48 KiB need no opt-in";
  mgpuLaunchKernel(kernel, 1, 1, 1, 128, 1, 1, 100 * 1024, stream, params,
                   nullptr, 1);
  EXPECT_EQ(fake.lastFuncAttribute(), 100 * 1024);
  // An empty grid launches nothing.
  mgpuLaunchKernel(kernel, 0, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 1);
  EXPECT_EQ(fake.calls("cuLaunchKernel"), 2);

  void *event = mgpuEventCreate();
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuEventSynchronize(event);
  mgpuEventDestroy(event);
  mgpuMemFree(dev, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  mgpuModuleUnload(module);
  EXPECT_TRUE(mixrt::cudaTakeStatus()) << "no error expected";
  EXPECT_EQ(fake.liveCounts(), (std::vector<int>{0, 0, 0, 0, 0}))
      << "allocations, streams, events, modules, context pushes";
  EXPECT_EQ(mgpuMemAlloc(0, nullptr, 0), nullptr) << "empty buffers";
  EXPECT_EQ(fake.calls("cuMemFreeAsync"), 1);
  EXPECT_EQ(fake.calls("cuCtxSynchronize"), 0);
  EXPECT_FALSE(mixrt::cudaErrorPending());
}

TEST(CudaRuntime, FreesMatchTheAllocator) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  void *stream = mgpuStreamCreate();
  // Stream-ordered buffer freed without a stream: wait, then cuMemFree.
  void *a = mgpuMemAlloc(64, stream, 0);
  mgpuMemFree(a, nullptr);
  EXPECT_EQ(fake.calls("cuCtxSynchronize"), 1);
  EXPECT_EQ(fake.calls("cuMemFree_v2"), 1);
  // A plain buffer freed with a stream: cuMemFree, not the async free.
  void *b = mgpuMemAlloc(64, nullptr, 0);
  EXPECT_EQ(fake.calls("cuMemAlloc_v2"), 1);
  mgpuMemFree(b, stream);
  EXPECT_EQ(fake.calls("cuMemFree_v2"), 2);
  EXPECT_EQ(fake.calls("cuMemFreeAsync"), 0);
  mgpuStreamDestroy(stream);
  EXPECT_TRUE(mixrt::cudaTakeStatus());
  EXPECT_EQ(fake.liveCounts(), (std::vector<int>{0, 0, 0, 0, 0}));
}

TEST(CudaRuntime, JitFailureKeepsTheLogAndLaterWorkIsSkipped) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  void *stream = mgpuStreamCreate();
  void *dev = mgpuMemAlloc(64, stream, 0);
  ASSERT_NE(dev, nullptr);
  fake.fail("cuModuleLoadDataEx", 218);
  char ptx[] = ".version 8.0";
  EXPECT_EQ(mgpuModuleLoadJIT(ptx, 2), nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "k"), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, stream, nullptr, nullptr, 0);
  float host[16];
  mgpuMemcpy(dev, host, sizeof(host), stream);
  EXPECT_EQ(mgpuMemAlloc(64, stream, 0), nullptr);
  // Releasing still happens.
  mgpuMemFree(dev, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(fake.calls("cuLaunchKernel"), 0);
  EXPECT_EQ(fake.calls("cuMemcpyAsync"), 0);
  EXPECT_EQ(fake.calls("cuMemAllocAsync"), 1);
  EXPECT_EQ(fake.liveCounts(), (std::vector<int>{0, 0, 0, 0, 0}));
  EXPECT_EQ(takeMessage(),
            "mgpuModuleLoadJIT: cuModuleLoadDataEx failed: "
            "CUDA_ERROR_INVALID_PTX (a PTX JIT compilation failed): ptxas "
            "application ptx input, line 7; error   : bad");
}

TEST(CudaRuntime, LaunchAndFaultErrors) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  void *stream = mgpuStreamCreate();
  char image[] = "cubin";
  void *module = mgpuModuleLoad(image, sizeof(image));
  void *kernel = mgpuModuleGetFunction(module, "k");
  fake.fail("cuLaunchKernel", 700);
  mgpuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_EQ(takeMessage(), "mgpuLaunchKernel: cuLaunchKernel failed: "
                           "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory "
                           "access was encountered)");
  // An asynchronous fault surfaces at the synchronisation.
  fake.fail("cuStreamSynchronize", 700);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(takeMessage().rfind("mgpuStreamSynchronize: cuStreamSynchronize "
                                "failed: CUDA_ERROR_ILLEGAL_ADDRESS",
                                0),
            0u);
  // Shared memory beyond the device's opt-in limit (227 KiB on the fake).
  fake.fail("cuLaunchKernel", 0);
  fake.fail("cuStreamSynchronize", 0);
  mgpuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 300 * 1024, stream, nullptr,
                   nullptr, 0);
  EXPECT_EQ(takeMessage(), "mgpuLaunchKernel: kernel needs 307200 bytes of "
                           "shared memory, the device allows 232448");
  mgpuLaunchKernel(kernel, -1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_EQ(takeMessage(), "mgpuLaunchKernel: grid x -1 is out of range");
  mgpuLaunchKernel(kernel, 1, 1, 1, 1, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_TRUE(mixrt::cudaTakeStatus());
  mgpuModuleUnload(module);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(fake.liveCounts(), (std::vector<int>{0, 0, 0, 0, 0}));
}

TEST(CudaRuntime, KernelTimingSpansTheLaunches) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  void *stream = mgpuStreamCreate();
  char image[] = "cubin";
  void *module = mgpuModuleLoad(image, sizeof(image));
  void *kernel = mgpuModuleGetFunction(module, "k");
  double ms = -1;
  ASSERT_TRUE(mixrt::cudaTakeKernelTime(ms));
  EXPECT_EQ(ms, 0.0) << "nothing timed while off";
  mixrt::cudaProfileKernels(true);
  ASSERT_TRUE(mixrt::cudaTakeKernelTime(ms));
  EXPECT_EQ(ms, 0.0) << "nothing launched yet";
  for (int i = 0; i < 3; ++i)
    mgpuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  // One start event before the first launch, the end event after each.
  EXPECT_EQ(fake.calls("cuEventRecord"), 4);
  ASSERT_TRUE(mixrt::cudaTakeKernelTime(ms));
  EXPECT_EQ(ms, 1.25); // the fake's cuEventElapsedTime
  EXPECT_EQ(fake.calls("cuEventSynchronize"), 1);
  mixrt::cudaProfileKernels(false);
  mgpuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_EQ(fake.calls("cuEventRecord"), 4);
  mgpuModuleUnload(module);
  mgpuStreamDestroy(stream);
  EXPECT_TRUE(mixrt::cudaTakeStatus());
  EXPECT_EQ(fake.liveCounts(), (std::vector<int>{0, 0, 0, 0, 0}));
}

TEST(CudaRuntime, ClusterLaunchesManagedMemoryAndTensorMaps) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  void *stream = mgpuStreamCreate();
  char image[] = "cubin";
  void *module = mgpuModuleLoad(image, sizeof(image));
  void *kernel = mgpuModuleGetFunction(module, "k");
  mgpuLaunchClusterKernel(kernel, 2, 1, 1, 8, 4, 1, 128, 1, 1, 4096, stream,
                          nullptr, nullptr);
  const unsigned *l = fake.lastLaunch();
  EXPECT_EQ(std::vector<unsigned>(l, l + 7),
            (std::vector<unsigned>{8, 4, 1, 128, 1, 1, 4096}));
  void *h = dlopen(MIXIR_FAKE_LIBCUDA, RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(h, nullptr);
  auto cluster =
      reinterpret_cast<const unsigned *(*)()>(dlsym(h, "fakeCudaLastCluster"));
  auto tensorMap = reinterpret_cast<const uint64_t *(*)()>(
      dlsym(h, "fakeCudaLastTensorMap"));
  ASSERT_TRUE(cluster && tensorMap);
  EXPECT_EQ(std::vector<unsigned>(cluster(), cluster() + 3),
            (std::vector<unsigned>{2, 1, 1}));

  float *managed = static_cast<float *>(mgpuMemAlloc(16, nullptr, 1));
  ASSERT_NE(managed, nullptr);
  EXPECT_EQ(fake.calls("cuMemAllocManaged"), 1);
  managed[3] = 1.0f; // host-accessible in the fake, as managed memory is

  // A 64x128 bf16 tensor (row-major, padded rows of 136) with 64x64 boxes:
  // the driver gets dims innermost first and byte strides.
  uint16_t data[64 * 136];
  int64_t desc[7] = {0, 0, 0, 64, 128, 136, 1};
  desc[0] = desc[1] = reinterpret_cast<int64_t>(data);
  int64_t box[2] = {64, 64};
  void *map =
      mgpuTensorMapEncodeTiledMemref(2, desc, /*bf16=*/9, 0, 0, 0, 0, box);
  ASSERT_NE(map, nullptr);
  const uint64_t *t = tensorMap();
  EXPECT_EQ(std::vector<uint64_t>(t, t + 3),
            (std::vector<uint64_t>{2, 128, 64}));
  EXPECT_EQ(t[5], 64u);
  mgpuMemFree(map, nullptr);
  mgpuMemFree(managed, nullptr);
  mgpuModuleUnload(module);
  mgpuStreamDestroy(stream);
  EXPECT_TRUE(mixrt::cudaTakeStatus());
  EXPECT_EQ(fake.liveCounts(), (std::vector<int>{0, 0, 0, 0, 0}));
  dlclose(h);
}

TEST(CudaRuntime, MissingKernelIsNamed) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  char image[] = "cubin";
  void *module = mgpuModuleLoad(image, sizeof(image));
  fake.fail("cuModuleGetFunction", 500);
  EXPECT_EQ(mgpuModuleGetFunction(module, "chunk_state"), nullptr);
  EXPECT_EQ(takeMessage(),
            "mgpuModuleGetFunction: cuModuleGetFunction failed: "
            "CUDA_ERROR_NOT_FOUND (named symbol not found) for kernel "
            "'chunk_state'");
  mgpuModuleUnload(module);
}

TEST(CudaRuntime, ErrorsStayOnTheirThread) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  fake.fail("cuStreamCreate", 2);
  std::string otherThread = "unset";
  std::thread t([&] {
    EXPECT_EQ(mgpuStreamCreate(), nullptr);
    otherThread = takeMessage();
  });
  t.join();
  EXPECT_EQ(otherThread, "mgpuStreamCreate: cuStreamCreate failed: "
                         "CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
  EXPECT_FALSE(mixrt::cudaErrorPending());
  mgpuSetDefaultDevice(3);
  EXPECT_EQ(mgpuMemAlloc(8, nullptr, 0), nullptr);
  EXPECT_EQ(takeMessage(),
            "mgpuMemAlloc: no CUDA device 3 (the driver reports 1)");
  mgpuSetDefaultDevice(0);
}

TEST(CudaRuntime, HostRegistrationNeedsDenseMemrefs) {
  Fake fake;
  ASSERT_TRUE(fake.loaded());
  float data[6];
  // {allocated, aligned, offset, sizes[2], strides[2]}: 2x3 with a padded row.
  int64_t desc[7] = {0, 0, 0, 2, 3, 4, 1};
  desc[0] = desc[1] = reinterpret_cast<int64_t>(data);
  mgpuMemHostRegisterMemRef(2, desc, 4);
  EXPECT_EQ(takeMessage(), "mgpuMemHostRegisterMemRef: memref is not dense "
                           "(dim 0 has stride 4, expected 3)");
  EXPECT_EQ(fake.calls("cuMemHostRegister_v2"), 0);
  desc[5] = 3; // dense 2x3
  mgpuMemHostRegisterMemRef(2, desc, 4);
  mgpuMemHostUnregisterMemRef(2, desc, 4);
  EXPECT_TRUE(mixrt::cudaTakeStatus());
  EXPECT_EQ(fake.calls("cuMemHostRegister_v2"), 1);
  EXPECT_EQ(fake.calls("cuMemHostUnregister"), 1);
}

TEST(CudaRuntime, SymbolTableListsTheAbi) {
  std::set<std::string> names;
  for (const mixrt::RuntimeSymbol &s : mixrt::cudaRuntimeSymbols()) {
    EXPECT_NE(s.address, nullptr) << s.name;
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate " << s.name;
  }
  for (const char *name : {"mgpuModuleLoad",
                           "mgpuModuleLoadJIT",
                           "mgpuModuleUnload",
                           "mgpuModuleGetFunction",
                           "mgpuLaunchKernel",
                           "mgpuStreamCreate",
                           "mgpuStreamDestroy",
                           "mgpuStreamSynchronize",
                           "mgpuStreamWaitEvent",
                           "mgpuEventCreate",
                           "mgpuEventDestroy",
                           "mgpuEventSynchronize",
                           "mgpuEventRecord",
                           "mgpuMemAlloc",
                           "mgpuMemFree",
                           "mgpuMemcpy",
                           "mgpuMemset16",
                           "mgpuMemset32",
                           "mgpuMemHostRegisterMemRef",
                           "mgpuMemHostUnregisterMemRef",
                           "mgpuSetDefaultDevice",
                           "mgpuLaunchClusterKernel",
                           "mgpuTensorMapEncodeTiledMemref"})
    EXPECT_TRUE(names.count(name)) << name;
}

} // namespace
