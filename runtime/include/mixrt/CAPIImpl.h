//===- CAPIImpl.h - what the C API handles hold (internal) ------*- C++ -*-===//
//
// Shared by the runtime's C API (RuntimeCAPI.cpp) and the compiler's
// (lib/CAPI), which hands out the same module handles. Not installed.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_CAPIIMPL_H
#define MIXRT_CAPIIMPL_H

#include "mixir-c/Runtime.h"
#include "mixrt/Artifact.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

struct mixir_status_s {
  std::string message;
};

struct mixir_function_s {
  const mixrt::FunctionSignature *signature;
  mixrt::PackedFunction entry;
  mixrt::Target target; // test targets: check the plugin's error after calls
};

namespace mixrt {
/// A loaded module and the function handles that point into it.
struct ModuleState {
  std::shared_ptr<LoadedArtifact> artifact;
  std::vector<mixir_function_s> functions;
  static std::shared_ptr<ModuleState> create(std::shared_ptr<LoadedArtifact> a);
};
} // namespace mixrt

struct mixir_module_s {
  std::shared_ptr<mixrt::ModuleState> state;
  std::atomic<int> references{1};
};

namespace mixrt {
/// A new error status (never NULL).
mixir_status_t makeStatus(std::string message);
/// NULL for success, otherwise a new error status.
inline mixir_status_t toStatus(const Status &s) {
  return s ? nullptr : makeStatus(s.message());
}
/// A new handle (one reference) to `state`.
mixir_module_t makeModuleHandle(std::shared_ptr<ModuleState> state);
} // namespace mixrt

#endif
