//===- FakeCudaControl.h - the tests' handle on FakeCuda.cpp --*- C++ -*-===//
//
// Opens the stand-in driver (MIXIR_FAKE_LIBCUDA, built with the tests),
// resets it and points the runtime at it through $MIXIR_LIBCUDA_PATH.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_UNITTESTS_FAKECUDACONTROL_H
#define MIXIR_UNITTESTS_FAKECUDACONTROL_H

#include "mixrt/Cuda.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// Points the runtime at `path` and forgets any driver it loaded before.
void useDriver(const std::string &path) {
  setenv("MIXIR_LIBCUDA_PATH", path.c_str(), 1);
  mixrt::cudaResetForTesting();
}

/// The fake driver's controls (the library stays open for the whole test).
class Fake {
public:
  Fake() {
    handle = dlopen(MIXIR_FAKE_LIBCUDA, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      return;
    reset = sym<void (*)()>("fakeCudaReset");
    fail = sym<void (*)(const char *, int)>("fakeCudaFail");
    setDeviceCount = sym<void (*)(int)>("fakeCudaSetDeviceCount");
    calls = sym<int (*)(const char *)>("fakeCudaCalls");
    live = sym<void (*)(int *)>("fakeCudaLive");
    lastLaunch = sym<const unsigned *(*)()>("fakeCudaLastLaunch");
    lastFuncAttribute = sym<int (*)()>("fakeCudaLastFuncAttribute");
    setComputeCapability =
        sym<void (*)(int, int)>("fakeCudaSetComputeCapability");
    loadedImage =
        sym<bool (*)(int, uint64_t *, uint64_t *)>("fakeCudaLoadedImage");
    lastStreams = sym<void (*)(void **, void **)>("fakeCudaLastStreams");
    lastParamCount = sym<int (*)()>("fakeCudaLastParamCount");
    launchesWith = sym<int (*)(uint64_t)>("fakeCudaLaunchesWith");
    reset();
    useDriver(MIXIR_FAKE_LIBCUDA);
  }
  ~Fake() {
    mixrt::cudaResetForTesting();
    if (handle)
      dlclose(handle);
  }
  bool loaded() const { return handle != nullptr; }
  /// {allocations, streams, events, modules, context depth} still live.
  std::vector<int> liveCounts() const {
    int out[5];
    live(out);
    return std::vector<int>(out, out + 5);
  }

  void (*reset)() = nullptr;
  void (*fail)(const char *, int) = nullptr;
  void (*setDeviceCount)(int) = nullptr;
  int (*calls)(const char *) = nullptr;
  void (*live)(int *) = nullptr;
  const unsigned *(*lastLaunch)() = nullptr;
  int (*lastFuncAttribute)() = nullptr;
  void (*setComputeCapability)(int, int) = nullptr;
  /// Size and FNV-1a-64 hash of the index'th image loaded since the reset.
  bool (*loadedImage)(int, uint64_t *, uint64_t *) = nullptr;
  /// The streams of the last kernel launch and the last copy.
  void (*lastStreams)(void **, void **) = nullptr;
  /// Parameters of the last launch of a kernel loaded from PTX (0 if none).
  int (*lastParamCount)() = nullptr;
  /// Launches since the reset that passed `value` as an 8-byte parameter
  /// (kernels loaded from PTX only).
  int (*launchesWith)(uint64_t) = nullptr;

private:
  template <typename T> T sym(const char *name) {
    return reinterpret_cast<T>(dlsym(handle, name));
  }
  void *handle = nullptr;
};

} // namespace

#endif
