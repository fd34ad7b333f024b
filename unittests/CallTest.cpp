//===- CallTest.cpp - argument checking of the packed-ABI calls -----------===//
#include "mixrt/Call.h"

#include <gtest/gtest.h>

using mixrt::ArrayView;
using mixrt::DType;
using mixrt::FunctionSignature;

namespace {

FunctionSignature scanSignature() {
  FunctionSignature sig;
  sig.name = "scan";
  sig.args = {{DType::f32, {-1, -1, 8}}, {DType::f32, {-1, -1, 8}}};
  sig.results = {{DType::f32, {-1, -1, 8}}, {DType::f32, {-1, 8}}};
  return sig;
}

std::vector<float> storage(1024, 0.0f);

ArrayView view(DType t, std::vector<int64_t> shape) {
  return ArrayView{storage.data(), t, std::move(shape)};
}

TEST(CheckArguments, AcceptsDynamicDims) {
  auto s =
      mixrt::checkArguments(scanSignature(), {view(DType::f32, {2, 5, 8}),
                                              view(DType::f32, {2, 5, 8})});
  EXPECT_TRUE(s.isOk()) << s.message();
}

TEST(CheckArguments, WrongCount) {
  auto s =
      mixrt::checkArguments(scanSignature(), {view(DType::f32, {2, 5, 8})});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(), "@scan takes 2 arguments, got 1");
}

TEST(CheckArguments, WrongDType) {
  auto s =
      mixrt::checkArguments(scanSignature(), {view(DType::f32, {2, 5, 8}),
                                              view(DType::bf16, {2, 5, 8})});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("argument 1: element type bf16, expected f32"),
            std::string::npos)
      << s.message();
}

TEST(CheckArguments, WrongRank) {
  auto s = mixrt::checkArguments(
      scanSignature(), {view(DType::f32, {2, 5}), view(DType::f32, {2, 5, 8})});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("argument 0: rank 2 (2x5xf32), expected rank 3 "
                             "(?x?x8xf32)"),
            std::string::npos)
      << s.message();
}

TEST(CheckArguments, WrongStaticDim) {
  auto s =
      mixrt::checkArguments(scanSignature(), {view(DType::f32, {2, 5, 8}),
                                              view(DType::f32, {2, 5, 7})});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("argument 1: dim 2 is 7, expected 8"),
            std::string::npos)
      << s.message();
}

TEST(CheckArguments, NegativeDim) {
  auto s =
      mixrt::checkArguments(scanSignature(), {view(DType::f32, {2, -5, 8}),
                                              view(DType::f32, {2, 5, 8})});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("negative size"), std::string::npos)
      << s.message();
}

TEST(CheckArguments, NullDataWithElements) {
  FunctionSignature sig = scanSignature();
  ArrayView null{nullptr, DType::f32, {2, 5, 8}};
  auto s = mixrt::checkArguments(sig, {null, view(DType::f32, {2, 5, 8})});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("null data pointer"), std::string::npos);
  // An empty array may have no storage.
  ArrayView empty{nullptr, DType::f32, {0, 5, 8}};
  EXPECT_TRUE(mixrt::checkArguments(sig, {empty, empty}).isOk());
}

TEST(CallPacked, ChecksBeforeCalling) {
  bool called = false;
  static bool *flag = nullptr;
  flag = &called;
  auto fn = +[](void **) { *flag = true; };
  std::vector<mixrt::HostArray> results;
  auto s = mixrt::callPacked(fn, scanSignature(), {view(DType::f32, {2, 5, 8})},
                             results);
  EXPECT_FALSE(s.isOk());
  EXPECT_FALSE(called);
}

TEST(CallPacked, ReportsShapeErrorsFromCompiledCode) {
  // A stand-in for compiled code: reports a mismatch through the hook and
  // returns empty results, as the lowered mix ops do.
  auto fn = +[](void **packed) {
    static char text[] = "mix.scan: 'g' dim 1 (T) does not match 'x' dim 1";
    MixrtMessageRef msg{text, text, 0, sizeof(text) - 1, 1};
    _mlir_ciface_mixrtShapeError(&msg, 4, 5);
    // Results: two empty memrefs (rank 3 and rank 2) after 2 x 9 arg words.
    auto *results = static_cast<int64_t *>(packed[18]);
    std::fill(results, results + 9 + 7, 0);
  };
  std::vector<mixrt::HostArray> results;
  auto s = mixrt::callPacked(
      fn, scanSignature(),
      {view(DType::f32, {2, 5, 8}), view(DType::f32, {2, 4, 8})}, results);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(), "@scan: mix.scan: 'g' dim 1 (T) does not match 'x' "
                         "dim 1 (got 4, expected 5)");
  EXPECT_TRUE(results.empty());
}

} // namespace

namespace {
TEST(MemrefCopy, StridedToContiguous) {
  // A 2x3 view with row stride 4 (every row padded by one) into a dense 2x3.
  float src[8] = {1, 2, 3, -1, 4, 5, 6, -1};
  float dst[6] = {0};
  int64_t srcDesc[3 + 4] = {reinterpret_cast<int64_t>(src),
                            reinterpret_cast<int64_t>(src),
                            0,
                            2,
                            3,
                            4,
                            1};
  int64_t dstDesc[3 + 4] = {reinterpret_cast<int64_t>(dst),
                            reinterpret_cast<int64_t>(dst),
                            0,
                            2,
                            3,
                            3,
                            1};
  MixrtUnrankedMemRef s{2, srcDesc}, d{2, dstDesc};
  memrefCopy(sizeof(float), &s, &d);
  EXPECT_EQ(std::vector<float>(dst, dst + 6),
            (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(MemrefCopy, OffsetAndEmpty) {
  float src[4] = {9, 8, 7, 6};
  float dst[2] = {0, 0};
  int64_t srcDesc[3 + 2] = {reinterpret_cast<int64_t>(src),
                            reinterpret_cast<int64_t>(src), 2, 2, 1};
  int64_t dstDesc[3 + 2] = {reinterpret_cast<int64_t>(dst),
                            reinterpret_cast<int64_t>(dst), 0, 2, 1};
  MixrtUnrankedMemRef s{1, srcDesc}, d{1, dstDesc};
  memrefCopy(sizeof(float), &s, &d);
  EXPECT_EQ(dst[0], 7);
  EXPECT_EQ(dst[1], 6);
  srcDesc[3] = 0; // zero-size: nothing is touched
  dst[0] = -5;
  memrefCopy(sizeof(float), &s, &d);
  EXPECT_EQ(dst[0], -5);
}
} // namespace
