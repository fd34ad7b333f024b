//===- embed_latency.cpp - compile latency and artifact load time ---------===//
//
// For each .mlir file given: source -> first result with a fresh compiler
// (no cache), split into compile and first call; then the artifact: load +
// lookup, and load + lookup + first call; then the median of later calls.
// Dynamic dims are filled with B (dim 0) and T (dim 1); values are in
// [-0.5, 0) so gates stay valid.
//
//   embed_latency [--opt=N] [--chunk=N] [--T=N] [--reps=N] [--runs=N] A.mlir
//   [B.mlir ...]
//
// Compile figures are the median (and min) of --reps compilations (3).
//
//===----------------------------------------------------------------------===//
#include "mixir-c/Mixir.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Inputs {
  std::vector<std::vector<unsigned char>> storage;
  std::vector<mixir::View> views;
};

Inputs makeInputs(const mixir::Function &f, int64_t B, int64_t T) {
  Inputs in;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-0.5f, -0.01f);
  for (const auto &t : f.argTypes()) {
    std::vector<int64_t> shape = t.shape;
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] < 0)
        shape[d] = d == 0 ? B : T;
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    size_t elem = mixir_dtype_size(t.dtype);
    in.storage.emplace_back(n * elem);
    unsigned char *p = in.storage.back().data();
    for (int64_t i = 0; i < n; ++i) {
      float x = u(rng);
      if (t.dtype == MIXIR_DTYPE_F32) {
        std::memcpy(p + 4 * i, &x, 4);
      } else if (t.dtype == MIXIR_DTYPE_BF16) {
        uint32_t bits;
        std::memcpy(&bits, &x, 4);
        uint16_t hi = uint16_t(bits >> 16);
        std::memcpy(p + 2 * i, &hi, 2);
      }
    }
    in.views.emplace_back(p, t.dtype, shape);
  }
  return in;
}
} // namespace

int main(int argc, char **argv) {
  int opt = 3, runs = 20, reps = 3;
  int64_t chunk = 64;
  int64_t T = 256, B = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--opt=", 0) == 0)
      opt = std::atoi(a.c_str() + 6);
    else if (a.rfind("--T=", 0) == 0)
      T = std::atoll(a.c_str() + 4);
    else if (a.rfind("--chunk=", 0) == 0)
      chunk = std::atoll(a.c_str() + 8);
    else if (a.rfind("--reps=", 0) == 0)
      reps = std::max(1, std::atoi(a.c_str() + 7));
    else if (a.rfind("--runs=", 0) == 0)
      runs = std::atoi(a.c_str() + 7);
    else
      files.push_back(a);
  }
  try {
    for (const std::string &path : files) {
      std::ifstream file(path);
      std::stringstream ss;
      ss << file.rdbuf();
      std::string source = ss.str();
      mixir::CompilerOptions options;
      options.optLevel = opt;
      options.chunkSize = chunk;
      options.cacheDir = "";
      // Source -> first result, fresh compiler each time; median of 3.
      std::vector<double> compileMs, firstMs, cpuMs;
      std::string artifactPath = "/tmp/embed_latency.mixir";
      std::string entry;
      for (int rep = 0; rep < reps; ++rep) {
        auto t0 = Clock::now();
        std::clock_t c0 = std::clock();
        mixir::Compiler compiler(options);
        mixir::Module m = compiler.compile(source, path);
        mixir::Function f = m.functions().front();
        compileMs.push_back(msSince(t0));
        cpuMs.push_back(1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC);
        Inputs in = makeInputs(f, B, T);
        auto t1 = Clock::now();
        f(in.views);
        firstMs.push_back(msSince(t1));
        entry = f.name();
        m.save(artifactPath);
      }
      std::sort(compileMs.begin(), compileMs.end());
      std::sort(firstMs.begin(), firstMs.end());
      std::sort(cpuMs.begin(), cpuMs.end());
      // Artifact: load + lookup, then the first call.
      std::vector<double> loadMs, loadCallMs, callMs;
      for (int rep = 0; rep < 5; ++rep) {
        auto t0 = Clock::now();
        mixir::Module m = mixir::Module::load(artifactPath);
        mixir::Function f = m.function(entry);
        loadMs.push_back(msSince(t0));
        Inputs in = makeInputs(f, B, T);
        auto t1 = Clock::now();
        f(in.views);
        loadCallMs.push_back(loadMs.back() + msSince(t1));
        if (rep == 4)
          for (int r = 0; r < runs; ++r) {
            auto t2 = Clock::now();
            f(in.views);
            callMs.push_back(msSince(t2));
          }
      }
      std::sort(loadMs.begin(), loadMs.end());
      std::sort(loadCallMs.begin(), loadCallMs.end());
      std::sort(callMs.begin(), callMs.end());
      size_t mid = compileMs.size() / 2;
      std::printf("%s @%s opt=%d chunk=%lld B=%lld T=%lld: compile %.0f ms "
                  "(min %.0f) + "
                  "first call %.1f ms = %.0f ms source->result (compile CPU "
                  "time %.0f ms, min %.0f) | artifact load+lookup %.2f ms, "
                  "+first call %.2f ms | call median %.2f ms\n",
                  path.c_str(), entry.c_str(), opt, (long long)chunk,
                  (long long)B, (long long)T, compileMs[mid], compileMs[0],
                  firstMs[mid], compileMs[mid] + firstMs[mid], cpuMs[mid],
                  cpuMs[0], loadMs[2], loadCallMs[2],
                  callMs[callMs.size() / 2]);
    }
  } catch (const mixir::Error &e) {
    std::fprintf(stderr, "embed_latency: %s\n", e.what());
    return 1;
  }
  return 0;
}
