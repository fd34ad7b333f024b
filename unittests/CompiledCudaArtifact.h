//===- CompiledCudaArtifact.h - a cuda artifact for the tests -*- C++ -*-===//
//
// A small linear-attention function compiled for sm_80 and sm_90a (once per
// test program), and loading through the C API. Compiling needs ptxas (the
// CUDA toolkit); tests skip without it.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_UNITTESTS_COMPILEDCUDAARTIFACT_H
#define MIXIR_UNITTESTS_COMPILEDCUDAARTIFACT_H

#include "mixir-c/Runtime.h"
#include "mixir/Jit/SharedObject.h"
#include "mixrt/Artifact.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

namespace {

inline const char *kSource = R"mlir(
func.func @la(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>,
              %v: tensor<?x?x2x64xbf16>)
    -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 0.125
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o, %s : tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>
}
)mlir";

/// Whether ptxas is where the CUDA pipeline looks for it.
inline bool haveToolkit() {
  const char *home = std::getenv("CUDA_HOME");
  std::string root = home && *home ? home : "/usr/local/cuda";
  return llvm::sys::fs::can_execute(root + "/bin/ptxas");
}

/// `source` compiled for sm_80 and sm_90a (once per source); null without
/// a toolkit.
inline const std::string *compileCudaArtifact(const char *source) {
  static std::map<std::string, std::unique_ptr<std::string>> cache;
  auto &bytes = cache[source];
  if (!bytes && haveToolkit()) {
    mixir::CompileOptions options;
    options.target = mixir::Target::cuda;
    auto info = mixir::compileArtifact(source, options, {"sm_90a", "sm_80"});
    EXPECT_TRUE(bool(info)) << llvm::toString(info.takeError());
    if (info)
      bytes = std::make_unique<std::string>(mixrt::serializeArtifact(*info));
  }
  return bytes.get();
}

/// kSource compiled for sm_80 and sm_90a.
inline const std::string *compiledArtifact() {
  return compileCudaArtifact(kSource);
}

#define NEED_ARTIFACT(var)                                                     \
  const std::string *var = compiledArtifact();                                 \
  if (!haveToolkit())                                                          \
    GTEST_SKIP() << "no ptxas: cannot compile cubins";                         \
  ASSERT_NE(var, nullptr)

/// Loads `bytes` through the C API; the status message ("" on success).
inline std::string load(const std::string &bytes, mixir_module_t *out) {
  mixir_status_t s =
      mixir_module_load_artifact(bytes.data(), bytes.size(), out);
  std::string m = mixir_status_message(s);
  mixir_status_free(s);
  return m;
}

} // namespace

#endif
