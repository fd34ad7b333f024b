//===- run_artifact.cpp - run a prebuilt artifact with the runtime alone --===//
//
// Links libmixir_runtime only (no compiler, no MLIR/LLVM). Loads an artifact
// written by `mixir-compile --emit=artifact` from test/Tools/Inputs/scan.mlir
// (@scan: x, g [1, T, 4] f32 -> o [1, T, 4], h [1, 4]; h_t = exp(g_t) h_{t-1}
// + x_t), prints its signature, runs it and checks the result against the
// recurrence computed here in float64. Exits 1 on any error.
//
//   run_artifact SCAN.mixir
//
//===----------------------------------------------------------------------===//
#include "mixir-c/Runtime.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: run_artifact SCAN.mixir\n");
    return 2;
  }
  try {
    auto start = std::chrono::steady_clock::now();
    mixir::Module module = mixir::Module::load(argv[1]);
    mixir::Function scan = module.function("scan");
    auto loaded = std::chrono::steady_clock::now();
    std::printf("@%s(", scan.name());
    for (const auto &t : scan.argTypes())
      std::printf(" %s", t.str().c_str());
    std::printf(" ) ->");
    for (const auto &t : scan.resultTypes())
      std::printf(" %s", t.str().c_str());
    std::printf("\n");

    const int T = 37, D = 4;
    std::vector<float> x(T * D), g(T * D);
    for (int i = 0; i < T * D; ++i) {
      x[i] = std::sin(0.1f * i);
      g[i] = -0.05f * (i % 7);
    }
    std::vector<mixir::Buffer> out = scan(
        {mixir::View(x.data(), {1, T, D}), mixir::View(g.data(), {1, T, D})});
    auto called = std::chrono::steady_clock::now();

    double err = 0;
    std::vector<double> h(D, 0.0);
    const float *o = out[0].data<float>(), *hOut = out[1].data<float>();
    for (int t = 0; t < T; ++t)
      for (int d = 0; d < D; ++d) {
        h[d] = std::exp(double(g[t * D + d])) * h[d] + x[t * D + d];
        err = std::max(err, std::fabs(o[t * D + d] - h[d]));
      }
    for (int d = 0; d < D; ++d)
      err = std::max(err, std::fabs(hOut[d] - h[d]));
    using ms = std::chrono::duration<double, std::milli>;
    std::printf("load + lookup %.2f ms, first call %.2f ms, max error %.3g\n",
                ms(loaded - start).count(), ms(called - loaded).count(), err);
    if (!(err < 1e-5)) {
      std::printf("FAILED\n");
      return 1;
    }
    // A wrong call is an exception with the runtime's message, not a crash.
    try {
      scan({mixir::View(x.data(), {1, T, D})});
      std::printf("FAILED: a call with one argument was accepted\n");
      return 1;
    } catch (const mixir::Error &e) {
      std::printf("expected error: %s\n", e.what());
    }
    std::printf("OK\n");
  } catch (const mixir::Error &e) {
    std::fprintf(stderr, "run_artifact: %s\n", e.what());
    return 1;
  }
  return 0;
}
