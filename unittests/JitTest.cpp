//===- JitTest.cpp - compile and call through mixir::JitModule ------------===//
#include "mixir/Jit/JitModule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace {

constexpr const char *kScan = R"mlir(
func.func @scan(%x: tensor<?x?x3xf32>, %g: tensor<?x?x3xf32>)
    -> (tensor<?x?x3xf32>, tensor<?x3xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x3xf32>, tensor<?x?x3xf32>)
      -> (tensor<?x?x3xf32>, tensor<?x3xf32>)
  return %o, %h : tensor<?x?x3xf32>, tensor<?x3xf32>
}
)mlir";

std::unique_ptr<mixir::JitModule> compileOrDie(const char *source) {
  auto m = mixir::JitModule::compile(source);
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return nullptr;
  }
  return std::move(*m);
}

TEST(JitModule, SignatureAndCall) {
  auto m = compileOrDie(kScan);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->functions().size(), 1u);
  const auto &sig = m->functions()[0];
  EXPECT_EQ(sig.name, "scan");
  EXPECT_EQ(sig.args[0].describe(), "?x?x3xf32");
  EXPECT_EQ(sig.results[1].describe(), "?x3xf32");

  // h_t = exp(g) h_{t-1} + x_t with g = ln(0.5), x = 1: 1, 1.5, 1.75, ...
  const int64_t T = 4;
  std::vector<float> x(T * 3, 1.0f), g(T * 3, std::log(0.5f));
  std::vector<mixrt::HostArray> results;
  auto s = m->call("scan",
                   {{x.data(), mixrt::DType::f32, {1, T, 3}},
                    {g.data(), mixrt::DType::f32, {1, T, 3}}},
                   results);
  ASSERT_TRUE(s.isOk()) << s.message();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].shape, (std::vector<int64_t>{1, T, 3}));
  const float *o = reinterpret_cast<const float *>(results[0].bytes.data());
  float expect = 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    expect = 0.5f * expect + 1.0f;
    EXPECT_NEAR(o[t * 3 + 2], expect, 1e-6f);
  }
  const float *h = reinterpret_cast<const float *>(results[1].bytes.data());
  EXPECT_NEAR(h[0], expect, 1e-6f);
}

TEST(JitModule, MismatchedDynamicLengthIsAnError) {
  auto m = compileOrDie(kScan);
  ASSERT_TRUE(m);
  std::vector<float> buf(64, 0.0f);
  std::vector<mixrt::HostArray> results;
  auto s = m->call("scan",
                   {{buf.data(), mixrt::DType::f32, {1, 5, 3}},
                    {buf.data(), mixrt::DType::f32, {1, 4, 3}}},
                   results);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'g' dim 1 (T) does not match 'x' dim 1 (got 4, "
                             "expected 5)"),
            std::string::npos)
      << s.message();
}

TEST(JitModule, UnknownFunction) {
  auto m = compileOrDie(kScan);
  ASSERT_TRUE(m);
  std::vector<mixrt::HostArray> results;
  auto s = m->call("nope", {}, results);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("no function @nope"), std::string::npos);
}

TEST(JitModule, ParseAndVerifierErrorsAreMessages) {
  auto bad = mixir::JitModule::compile("func.func @f( {", {});
  ASSERT_FALSE(static_cast<bool>(bad));
  std::string msg = llvm::toString(bad.takeError());
  EXPECT_NE(msg.find("<source>:1:"), std::string::npos) << msg;

  auto invalid = mixir::JitModule::compile(R"mlir(
func.func @f(%x: tensor<?x?x3xf32>, %g: tensor<?x?x4xf32>) -> tensor<?x?x3xf32> {
  %o, %h = mix.scan %x, %g : (tensor<?x?x3xf32>, tensor<?x?x4xf32>)
      -> (tensor<?x?x3xf32>, tensor<?x3xf32>)
  return %o : tensor<?x?x3xf32>
})mlir");
  ASSERT_FALSE(static_cast<bool>(invalid));
  msg = llvm::toString(invalid.takeError());
  EXPECT_NE(msg.find("'g' dim 2 (D) is 4, but 'x' dim 2 is 3"),
            std::string::npos)
      << msg;
}

TEST(JitModule, NonTensorSignatureIsRejected) {
  auto m = mixir::JitModule::compile(
      "func.func @f(%a: i32) -> i32 { return %a : i32 }");
  ASSERT_FALSE(static_cast<bool>(m));
  EXPECT_NE(llvm::toString(m.takeError()).find("@f argument 0 has type i32"),
            std::string::npos);
}

TEST(JitModule, ConcurrentCalls) {
  auto m = compileOrDie(kScan);
  ASSERT_TRUE(m);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      const int64_t T = 50 + i;
      std::vector<float> x(T * 3, 1.0f), g(T * 3, 0.0f);
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<mixrt::HostArray> r;
        auto s = m->call("scan",
                         {{x.data(), mixrt::DType::f32, {1, T, 3}},
                          {g.data(), mixrt::DType::f32, {1, T, 3}}},
                         r);
        const float *h = reinterpret_cast<const float *>(r[1].bytes.data());
        ok[i] += s.isOk() && h[0] == static_cast<float>(T);
      }
    });
  for (auto &t : threads)
    t.join();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(ok[i], 20) << "thread " << i;
}

} // namespace

namespace {
TEST(JitModule, ResultsViewingOneBufferAreBothCopied) {
  // %c is a view of %b's buffer: freeing %b before copying %c out would
  // read freed memory.
  auto m = compileOrDie(R"mlir(
func.func @two(%a: tensor<64xf32>) -> (tensor<64xf32>, tensor<8x8xf32>) {
  %b = arith.addf %a, %a : tensor<64xf32>
  %c = tensor.expand_shape %b [[0, 1]] output_shape [8, 8] : tensor<64xf32> into tensor<8x8xf32>
  return %b, %c : tensor<64xf32>, tensor<8x8xf32>
})mlir");
  ASSERT_TRUE(m);
  std::vector<float> a(64);
  for (int i = 0; i < 64; ++i)
    a[i] = static_cast<float>(i);
  std::vector<mixrt::HostArray> r;
  auto s = m->call("two", {{a.data(), mixrt::DType::f32, {64}}}, r);
  ASSERT_TRUE(s.isOk()) << s.message();
  const float *b = reinterpret_cast<const float *>(r[0].bytes.data());
  const float *c = reinterpret_cast<const float *>(r[1].bytes.data());
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(b[i], 2.0f * i);
    EXPECT_EQ(c[i], 2.0f * i);
  }
}

TEST(JitModule, InputsAreNotWritten) {
  auto m = compileOrDie(R"mlir(
func.func @set(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %x = arith.constant 42.0 : f32
  %r = tensor.insert %x into %a[%c0] : tensor<4xf32>
  return %r : tensor<4xf32>
})mlir");
  ASSERT_TRUE(m);
  std::vector<float> a(4, 1.0f);
  std::vector<mixrt::HostArray> r;
  ASSERT_TRUE(m->call("set", {{a.data(), mixrt::DType::f32, {4}}}, r).isOk());
  EXPECT_EQ(reinterpret_cast<const float *>(r[0].bytes.data())[0], 42.0f);
  EXPECT_EQ(a[0], 1.0f);
}
} // namespace
