//===- CppAPITest.cpp - the header-only C++ layer (mixir-c/Mixir.hpp) -----===//
#include "mixir-c/Mixir.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace {

constexpr const char *kLA = R"mlir(
func.func @la(%q: tensor<1x?x2x4xf32>, %k: tensor<1x?x2x4xf32>, %v: tensor<1x?x2x4xf32>)
    -> (tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 0.5
      : (tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>)
      -> (tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>)
  return %o, %s : tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>
}
)mlir";

mixir::CompilerOptions noDisk() {
  mixir::CompilerOptions o;
  o.cacheDir = "";
  return o;
}

struct LAData {
  explicit LAData(int64_t T) : T(T), q(T * 8), k(T * 8), v(T * 8) {
    for (int64_t i = 0; i < T * 8; ++i) {
      q[i] = std::cos(0.3f * i);
      k[i] = std::sin(0.7f * i);
      v[i] = 0.01f * (i % 13);
    }
  }
  /// f64 recurrence: S += k v^T, o = S^T (0.5 q); max error of o and S.
  double error(const float *o, const float *s) const {
    double S[2][4][4] = {}, err = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int h = 0; h < 2; ++h) {
        const float *qt = &q[(t * 2 + h) * 4], *kt = &k[(t * 2 + h) * 4],
                    *vt = &v[(t * 2 + h) * 4];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j)
            S[h][i][j] += double(kt[i]) * vt[j];
        for (int j = 0; j < 4; ++j) {
          double acc = 0;
          for (int i = 0; i < 4; ++i)
            acc += S[h][i][j] * 0.5 * qt[i];
          err = std::max(err, std::fabs(o[(t * 2 + h) * 4 + j] - acc));
        }
      }
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
          err = std::max(err, std::fabs(s[(h * 4 + i) * 4 + j] - S[h][i][j]));
    return err;
  }
  std::vector<mixir::View> args() const {
    return {mixir::View(q.data(), {1, T, 2, 4}),
            mixir::View(k.data(), {1, T, 2, 4}),
            mixir::View(v.data(), {1, T, 2, 4})};
  }
  int64_t T;
  std::vector<float> q, k, v;
};

TEST(CppAPI, CompileCallAndSignature) {
  mixir::Compiler compiler(noDisk());
  mixir::Module m = compiler.compile(kLA, "la.mlir");
  mixir::Function la = m.function("la");
  EXPECT_STREQ(la.name(), "la");
  ASSERT_EQ(la.argTypes().size(), 3u);
  EXPECT_EQ(la.argTypes()[0].str(), "1x?x2x4xf32");
  EXPECT_EQ(la.resultTypes()[1].str(), "1x2x4x4xf32");
  LAData d(70);
  std::vector<mixir::Buffer> out = la(d.args());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 70, 2, 4}));
  EXPECT_LT(d.error(out[0].data<float>(), out[1].data<float>()), 1e-4);
  EXPECT_THROW(out[0].data<double>(), mixir::Error);
  // Results can be passed back as arguments (View from Buffer).
  std::vector<mixir::Buffer> again =
      la({mixir::View(out[0]), mixir::View(out[0]), mixir::View(out[0])});
  EXPECT_EQ(again.size(), 2u);
}

TEST(CppAPI, ErrorsAreExceptionsWithTheMessage) {
  mixir::Compiler compiler(noDisk());
  try {
    compiler.compile("func.func @f( {", "broken.mlir");
    FAIL() << "no exception";
  } catch (const mixir::Error &e) {
    EXPECT_NE(std::string(e.what()).find("broken.mlir:1:"), std::string::npos)
        << e.what();
  }
  mixir::Module m = compiler.compile(kLA);
  EXPECT_THROW(m.function("nope"), mixir::Error);
  mixir::Function la = m.function("la");
  LAData d(5);
  std::vector<double> wrong(40);
  try {
    la({mixir::View(wrong.data(), {1, 5, 2, 4}), d.args()[1], d.args()[2]});
    FAIL() << "no exception";
  } catch (const mixir::Error &e) {
    EXPECT_NE(std::string(e.what()).find("@la argument 0: element type f64, "
                                         "expected f32"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(la({d.args()[0]}), mixir::Error);
  // A CPU module takes no stream (the C layer's last argument).
  int stream = 0;
  try {
    la(d.args(), &stream);
    FAIL() << "no exception";
  } catch (const mixir::Error &e) {
    EXPECT_STREQ(e.what(), "@la: code for target cpu runs synchronously on "
                           "the CPU; the stream must be NULL");
  }
  EXPECT_THROW(mixir::Module::load("/nonexistent.mixir"), mixir::Error);
  mixir::CompilerOptions bad;
  bad.chunkSize = 3;
  EXPECT_THROW(mixir::Compiler{bad}, mixir::Error);
}

TEST(CppAPI, FunctionKeepsItsModuleAlive) {
  LAData d(9);
  std::optional<mixir::Function> kept;
  {
    mixir::Compiler compiler(noDisk());
    mixir::Module m = compiler.compile(kLA);
    kept = m.function("la");
  } // compiler and module handle gone
  std::vector<mixir::Buffer> out = (*kept)(d.args());
  EXPECT_LT(d.error(out[0].data<float>(), out[1].data<float>()), 1e-4);
}

TEST(CppAPI, ArtifactBytesAndCallInto) {
  mixir::Compiler compiler(noDisk());
  mixir::Module m = compiler.compile(kLA);
  const void *bytes;
  size_t size;
  ASSERT_EQ(mixir_module_artifact(m.handle(), &bytes, &size), nullptr);
  mixir::Module loaded = mixir::Module::fromBytes(bytes, size);
  EXPECT_EQ(loaded.target(), "cpu");
  ASSERT_EQ(loaded.functions().size(), 1u);
  LAData d(33);
  mixir::Buffer o = mixir::Buffer::zeros(MIXIR_DTYPE_F32, {1, 33, 2, 4});
  mixir::Buffer s = mixir::Buffer::zeros(MIXIR_DTYPE_F32, {1, 2, 4, 4});
  loaded.function("la").callInto(d.args(), {mixir::View(o), mixir::View(s)});
  EXPECT_LT(d.error(o.data<float>(), s.data<float>()), 1e-4);
  std::string garbage = "MIXIRART but not really";
  EXPECT_THROW(mixir::Module::fromBytes(garbage.data(), garbage.size()),
               mixir::Error);
}

TEST(CppAPI, ConcurrentCallsThroughCopies) {
  mixir::Compiler compiler(noDisk());
  mixir::Function la = compiler.compile(kLA).function("la");
  std::vector<int> good(6, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([la, &good, i] { // each thread its own copy
      for (int rep = 0; rep < 10; ++rep) {
        LAData d(10 + i * 11 + rep);
        std::vector<mixir::Buffer> out = la(d.args());
        good[i] += d.error(out[0].data<float>(), out[1].data<float>()) < 1e-4;
      }
    });
  for (auto &t : threads)
    t.join();
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(good[i], 10) << "thread " << i;
}

} // namespace
