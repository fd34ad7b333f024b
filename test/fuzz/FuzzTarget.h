//===- FuzzTarget.h - entry points of the fuzz targets ----------*- C++ -*-===//
//
// A fuzz target's source defines its entry point with MIXIR_FUZZ_TARGET(name)
// (and, where it needs one, its initialisation with MIXIR_FUZZ_INIT(name)).
// In the fuzz build they are libFuzzer's LLVMFuzzerTestOneInput and
// LLVMFuzzerInitialize; compiled with MIXIR_FUZZ_REPLAY (the unit tests),
// they are mixirFuzz_NAME and mixirFuzzInit_NAME, which replay the seed
// corpora in the normal build.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_TEST_FUZZ_FUZZTARGET_H
#define MIXIR_TEST_FUZZ_FUZZTARGET_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#ifdef MIXIR_FUZZ_REPLAY
#define MIXIR_FUZZ_TARGET(name)                                                \
  extern "C" int mixirFuzz_##name(const uint8_t *data, size_t size)
#define MIXIR_FUZZ_INIT(name)                                                  \
  extern "C" int mixirFuzzInit_##name(int *argc, char ***argv)
#else
#define MIXIR_FUZZ_TARGET(name)                                                \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#define MIXIR_FUZZ_INIT(name)                                                  \
  extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
#endif

namespace mixir::fuzz {
/// Stops the run (a finding) when a property of an accepted input fails.
inline void check(bool condition) {
  if (!condition)
    std::abort();
}
} // namespace mixir::fuzz

#endif
