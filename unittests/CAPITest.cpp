//===- CAPITest.cpp - the C API: compile, call, artifacts, caches ---------===//
#include "mixir-c/Mixir.h"
#include "mixrt/Artifact.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char *kScan = R"mlir(
func.func @scan(%x: tensor<?x?x3xf32>, %g: tensor<?x?x3xf32>)
    -> (tensor<?x?x3xf32>, tensor<?x3xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x3xf32>, tensor<?x?x3xf32>)
      -> (tensor<?x?x3xf32>, tensor<?x3xf32>)
  return %o, %h : tensor<?x?x3xf32>, tensor<?x3xf32>
}
)mlir";

/// The status message, freed; "" for success.
std::string take(mixir_status_t s) {
  std::string m = s ? mixir_status_message(s) : "";
  if (s && m.empty())
    m = "<error with an empty message>";
  mixir_status_free(s);
  return m;
}

#define EXPECT_OK(call) EXPECT_EQ(take(call), "")
#define ASSERT_OK(call) ASSERT_EQ(take(call), "")
#define EXPECT_ERROR(call, text)                                               \
  do {                                                                         \
    std::string m_ = take(call);                                               \
    EXPECT_NE(m_.find(text), std::string::npos)                                \
        << "message: '" << m_ << "', expected it to contain '" << text << "'"; \
  } while (0)

/// A compiler with no disk cache.
struct Compiler {
  explicit Compiler(int64_t chunk = 64, const char *cacheDir = "") {
    mixir_compiler_options_t o;
    mixir_compiler_options_init(&o);
    o.chunk_size = chunk;
    o.cache_dir = cacheDir;
    EXPECT_OK(mixir_compiler_create(&o, &c));
  }
  ~Compiler() { mixir_compiler_destroy(c); }
  mixir_module_t compile(const char *src) {
    mixir_module_t m = nullptr;
    EXPECT_OK(mixir_compiler_compile(c, src, std::strlen(src), "test", &m));
    return m;
  }
  mixir_cache_stats_t stats() {
    mixir_cache_stats_t s{};
    EXPECT_OK(mixir_compiler_cache_stats(c, &s));
    return s;
  }
  mixir_compiler_t c = nullptr;
};

struct ScanData {
  explicit ScanData(int64_t T, float seed = 0.0f) : T(T), x(T * 3), g(T * 3) {
    for (int64_t i = 0; i < T * 3; ++i) {
      x[i] = std::sin(0.37f * i + seed);
      g[i] = -0.1f * ((i + int(seed)) % 5);
    }
    shape[1] = T;
  }
  mixir_buffer_view_t view(std::vector<float> &v) {
    return {v.data(), MIXIR_DTYPE_F32, 3, shape, nullptr, MIXIR_DEVICE_CPU};
  }
  /// Largest difference of o and h from the f64 recurrence.
  double error(const float *o, const float *h) const {
    double err = 0, s[3] = {0, 0, 0};
    for (int64_t t = 0; t < T; ++t)
      for (int d = 0; d < 3; ++d) {
        s[d] = std::exp(double(g[t * 3 + d])) * s[d] + x[t * 3 + d];
        err = std::max(err, std::fabs(o[t * 3 + d] - s[d]));
      }
    for (int d = 0; d < 3; ++d)
      err = std::max(err, std::fabs(h[d] - s[d]));
    return err;
  }
  int64_t T;
  std::vector<float> x, g;
  int64_t shape[3] = {1, 0, 3};
};

/// Calls @scan and returns the error against f64 (inf on failure).
double runScan(mixir_module_t m, int64_t T, float seed = 0.0f) {
  mixir_function_t f = nullptr;
  if (!take(mixir_module_lookup(m, "scan", &f)).empty())
    return INFINITY;
  ScanData d(T, seed);
  mixir_buffer_view_t args[2] = {d.view(d.x), d.view(d.g)};
  mixir_buffer_t r[2] = {nullptr, nullptr};
  std::string err = take(mixir_function_invoke(f, args, 2, r, 2, nullptr));
  if (!err.empty()) {
    ADD_FAILURE() << err;
    return INFINITY;
  }
  double e = d.error(static_cast<float *>(mixir_buffer_data(r[0])),
                     static_cast<float *>(mixir_buffer_data(r[1])));
  mixir_buffer_release(r[0]);
  mixir_buffer_release(r[1]);
  return e;
}

std::string artifactBytes(mixir_module_t m) {
  const void *p = nullptr;
  size_t n = 0;
  EXPECT_OK(mixir_module_artifact(m, &p, &n));
  return std::string(static_cast<const char *>(p), n);
}

/// Recomputes the checksum after a patch (a well-formed foreign artifact).
std::string reseal(std::string a) {
  a.resize(a.size() - 8);
  uint64_t h = mixrt::fnv1a64(a.data(), a.size());
  a.append(reinterpret_cast<const char *>(&h), 8);
  return a;
}

std::string loadError(const std::string &bytes) {
  mixir_module_t m = reinterpret_cast<mixir_module_t>(0x1);
  std::string e =
      take(mixir_module_load_artifact(bytes.data(), bytes.size(), &m));
  EXPECT_EQ(m, nullptr);
  if (e.empty())
    mixir_module_release(m);
  return e;
}

std::string tempDir(const char *tag) {
  std::string d = std::string(::testing::TempDir()) + "mixir-capi-" + tag +
                  "-" + std::to_string(getpid());
  std::filesystem::remove_all(d);
  return d;
}

TEST(CAPI, CompileSignatureAndInvoke) {
  Compiler c;
  mixir_module_t m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  EXPECT_STREQ(mixir_module_target(m), "cpu");
  ASSERT_EQ(mixir_module_num_functions(m), 1u);
  mixir_function_t f = nullptr;
  ASSERT_OK(mixir_module_function_at(m, 0, &f));
  EXPECT_STREQ(mixir_function_name(f), "scan");
  EXPECT_EQ(mixir_function_num_args(f), 2u);
  EXPECT_EQ(mixir_function_num_results(f), 2u);
  mixir_tensor_type_t t;
  ASSERT_OK(mixir_function_arg_type(f, 1, &t));
  EXPECT_EQ(t.dtype, MIXIR_DTYPE_F32);
  ASSERT_EQ(t.rank, 3);
  EXPECT_EQ(t.shape[0], -1);
  EXPECT_EQ(t.shape[1], -1);
  EXPECT_EQ(t.shape[2], 3);
  ASSERT_OK(mixir_function_result_type(f, 1, &t));
  ASSERT_EQ(t.rank, 2);
  EXPECT_EQ(t.shape[0], -1);
  EXPECT_EQ(t.shape[1], 3);
  EXPECT_ERROR(mixir_function_arg_type(f, 2, &t),
               "@scan has 2 arguments, index 2");
  EXPECT_ERROR(mixir_module_function_at(m, 1, &f), "out of range");
  EXPECT_LT(runScan(m, 37), 1e-5);
  EXPECT_LT(runScan(m, 300), 1e-4); // several chunks
  mixir_module_release(m);
}

TEST(CAPI, CompileErrorsAreStatuses) {
  Compiler c;
  mixir_module_t m = nullptr;
  const char *bad = "func.func @f( {";
  EXPECT_ERROR(mixir_compiler_compile(c.c, bad, strlen(bad), "bad.mlir", &m),
               "bad.mlir:1:");
  EXPECT_EQ(m, nullptr);
  const char *none = "func.func private @f()";
  EXPECT_ERROR(mixir_compiler_compile(c.c, none, strlen(none), "n", &m),
               "no public func.func");
  EXPECT_ERROR(mixir_compiler_compile_file(c.c, "/nonexistent/x.mlir", &m),
               "cannot read '/nonexistent/x.mlir'");

  mixir_compiler_options_t o;
  mixir_compiler_options_init(&o);
  mixir_compiler_t cc = nullptr;
  o.target = "tpu";
  EXPECT_ERROR(mixir_compiler_create(&o, &cc),
               "unknown target 'tpu' (expected cpu or cuda)");
  // Target cuda compiles artifacts with device code (loading them needs a
  // driver and a device: CudaArtifactTest.cpp).
  o.target = "cuda";
  EXPECT_EQ(mixir_compiler_create(&o, &cc), nullptr);
  ASSERT_NE(cc, nullptr);
  mixir_compiler_destroy(cc);
  cc = nullptr;
  mixir_compiler_options_init(&o);
  o.chip = "sm_80";
  EXPECT_ERROR(mixir_compiler_create(&o, &cc),
               "chip 'sm_80' needs target cuda, not cpu");
  mixir_compiler_options_init(&o);
  EXPECT_EQ(o.chunk_size, MIXIR_CHUNK_SIZE_DEFAULT);
  o.chunk_size = 48;
  EXPECT_ERROR(mixir_compiler_create(&o, &cc),
               "chunk_size must be 0 (the recurrent form) or a power of two "
               "up to 128, got 48");
  mixir_compiler_options_init(&o);
  o.opt_level = 7;
  EXPECT_ERROR(mixir_compiler_create(&o, &cc), "opt level must be 0-3, got 7");
  EXPECT_EQ(cc, nullptr);
  EXPECT_NE(std::string(mixir_compiler_version()).find("mixir"),
            std::string::npos);
}

/// `text` copied to the end of a readable page that an unreadable one
/// follows: reading one byte past it faults.
class GuardedText {
public:
  explicit GuardedText(const std::string &text) {
    page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void *p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    EXPECT_LE(text.size(), page);
    base = static_cast<char *>(p);
    EXPECT_EQ(mprotect(base + page, page, PROT_NONE), 0);
    data = base + page - text.size();
    std::memcpy(data, text.data(), text.size());
    size = text.size();
  }
  ~GuardedText() { munmap(base, 2 * page); }
  char *data;
  size_t size;

private:
  char *base;
  size_t page;
};

// Found by test/fuzz's mlir target: the parser reads MLIR text up to a NUL
// byte, so source without one (the C API takes a size) was read past its
// end. It is parsed from a terminated copy.
TEST(CAPI, SourceIsReadOnlyWithinItsSize) {
  Compiler c;
  mixir_module_t m = nullptr;
  GuardedText bad("func.fff");
  EXPECT_ERROR(mixir_compiler_compile(c.c, bad.data, bad.size, "b", &m),
               "b:1:1: error:");
  EXPECT_EQ(m, nullptr);
  GuardedText good(kScan);
  ASSERT_OK(mixir_compiler_compile(c.c, good.data, good.size, "g", &m));
  ASSERT_NE(m, nullptr);
  mixir_module_release(m);
}

TEST(CAPI, NullPointersAreStatuses) {
  Compiler c;
  mixir_module_t m = nullptr;
  EXPECT_ERROR(mixir_compiler_create(nullptr, nullptr), "null output pointer");
  EXPECT_ERROR(mixir_compiler_compile(nullptr, kScan, strlen(kScan), "", &m),
               "null compiler");
  EXPECT_ERROR(mixir_compiler_compile(c.c, nullptr, 3, "", &m), "null source");
  EXPECT_ERROR(mixir_compiler_compile(c.c, kScan, strlen(kScan), "", nullptr),
               "null output pointer");
  EXPECT_ERROR(mixir_compiler_compile_file(c.c, nullptr, &m), "null");
  EXPECT_ERROR(mixir_compiler_cache_stats(nullptr, nullptr), "null");
  EXPECT_ERROR(mixir_module_load_artifact(nullptr, 10, &m),
               "null artifact data");
  EXPECT_ERROR(mixir_module_load_artifact_file(nullptr, &m), "null path");
  EXPECT_ERROR(mixir_module_lookup(nullptr, "scan", nullptr), "null");
  EXPECT_ERROR(mixir_module_save_artifact(nullptr, "/tmp/x"), "null");
  EXPECT_ERROR(mixir_function_invoke(nullptr, nullptr, 0, nullptr, 0, nullptr),
               "null function handle");
  EXPECT_STREQ(mixir_status_message(nullptr), "");
  mixir_status_free(nullptr);
  mixir_module_release(nullptr);
  mixir_buffer_release(nullptr);

  m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  mixir_function_t f = nullptr;
  ASSERT_OK(mixir_module_lookup(m, "scan", &f));
  EXPECT_ERROR(mixir_module_lookup(m, "nope", &f),
               "no function @nope in the module (it has @scan)");
  ASSERT_OK(mixir_module_lookup(m, "scan", &f));
  ScanData d(8);
  mixir_buffer_view_t args[2] = {d.view(d.x), d.view(d.g)};
  mixir_buffer_t r[2];
  EXPECT_ERROR(mixir_function_invoke(f, nullptr, 2, r, 2, nullptr),
               "null argument array");
  EXPECT_ERROR(mixir_function_invoke(f, args, 2, nullptr, 2, nullptr),
               "null result array");
  args[1].data = nullptr;
  EXPECT_ERROR(mixir_function_invoke(f, args, 2, r, 2, nullptr),
               "@scan argument 1: null data pointer");
  EXPECT_EQ(r[0], nullptr);
  args[1] = d.view(d.g);
  args[0].shape = nullptr;
  EXPECT_ERROR(mixir_function_invoke(f, args, 2, r, 2, nullptr),
               "@scan argument 0: null shape pointer for rank 3");
  mixir_module_release(m);
}

TEST(CAPI, WrongArgumentsAreStatuses) {
  Compiler c;
  mixir_module_t m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  mixir_function_t f = nullptr;
  ASSERT_OK(mixir_module_lookup(m, "scan", &f));
  ScanData d(8);
  mixir_buffer_t r[2];
  auto call = [&](mixir_buffer_view_t a0, size_t nargs = 2, size_t nres = 2,
                  void *stream = nullptr) {
    mixir_buffer_view_t args[2] = {a0, d.view(d.g)};
    return mixir_function_invoke(f, args, nargs, r, nres, stream);
  };
  mixir_buffer_view_t v = d.view(d.x);
  EXPECT_ERROR(call(v, 1), "@scan takes 2 arguments, got 1");
  EXPECT_ERROR(call(v, 2, 1), "@scan returns 2 results, space for 1 was given");
  int fakeStream = 0;
  EXPECT_ERROR(call(v, 2, 2, &fakeStream), "the stream must be NULL");
  v.dtype = MIXIR_DTYPE_F64;
  EXPECT_ERROR(call(v), "@scan argument 0: element type f64, expected f32");
  v = d.view(d.x);
  v.dtype = static_cast<mixir_dtype_t>(99);
  EXPECT_ERROR(call(v), "@scan argument 0: invalid element type code 99");
  v = d.view(d.x);
  v.rank = 2;
  EXPECT_ERROR(call(v), "@scan argument 0: rank 2");
  v.rank = -1;
  EXPECT_ERROR(call(v), "invalid rank -1");
  int64_t wrongD[3] = {1, 8, 4};
  v = d.view(d.x);
  v.shape = wrongD;
  EXPECT_ERROR(call(v), "@scan argument 0: dim 2 is 4, expected 3");
  int64_t negative[3] = {1, -8, 3};
  v.shape = negative;
  EXPECT_ERROR(call(v), "negative size -8 in dim 1");
  v = d.view(d.x);
  v.device = MIXIR_DEVICE_CUDA;
  EXPECT_ERROR(call(v), "@scan argument 0: a device buffer, but the module's "
                        "target is cpu (device buffers need target cuda)");
  v.device = static_cast<mixir_device_t>(7);
  EXPECT_ERROR(call(v), "@scan argument 0: invalid device code 7");
  // Dynamic sizes that disagree are found by the compiled code.
  int64_t shorter[3] = {1, 7, 3};
  v = d.view(d.x);
  v.shape = shorter;
  EXPECT_ERROR(call(v), "does not match");
  EXPECT_EQ(r[0], nullptr);
  EXPECT_EQ(r[1], nullptr);
  // The module still works after all of that.
  EXPECT_LT(runScan(m, 8), 1e-5);
  mixir_module_release(m);
}

TEST(CAPI, StridedInputsAndOutputs) {
  Compiler c;
  mixir_module_t m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  mixir_function_t f = nullptr;
  ASSERT_OK(mixir_module_lookup(m, "scan", &f));
  const int64_t T = 20;
  ScanData d(T);
  // x stored transposed ([1, 3, T] in memory) and viewed as [1, T, 3].
  std::vector<float> xt(T * 3);
  for (int64_t t = 0; t < T; ++t)
    for (int k = 0; k < 3; ++k)
      xt[k * T + t] = d.x[t * 3 + k];
  int64_t strides[3] = {3 * T, 1, T};
  mixir_buffer_view_t args[2] = {d.view(xt), d.view(d.g)};
  args[0].strides = strides;
  // Outputs: o into a transposed buffer, h dense.
  std::vector<float> ot(T * 3, -1.0f), h(3, -1.0f);
  int64_t hShape[2] = {1, 3};
  mixir_buffer_view_t outs[2] = {
      {ot.data(), MIXIR_DTYPE_F32, 3, d.shape, strides, MIXIR_DEVICE_CPU},
      {h.data(), MIXIR_DTYPE_F32, 2, hShape, nullptr, MIXIR_DEVICE_CPU}};
  ASSERT_OK(mixir_function_invoke_into(f, args, 2, outs, 2, nullptr));
  std::vector<float> o(T * 3);
  for (int64_t t = 0; t < T; ++t)
    for (int k = 0; k < 3; ++k)
      o[t * 3 + k] = ot[k * T + t];
  EXPECT_LT(d.error(o.data(), h.data()), 1e-5);
  // Output shape and type mismatches.
  int64_t wrongH[2] = {1, 4};
  outs[1].shape = wrongH;
  EXPECT_ERROR(mixir_function_invoke_into(f, args, 2, outs, 2, nullptr),
               "@scan output 1: dim 1 is 4, the result is 1x3xf32");
  outs[1].shape = hShape;
  outs[1].dtype = MIXIR_DTYPE_F16;
  EXPECT_ERROR(mixir_function_invoke_into(f, args, 2, outs, 2, nullptr),
               "@scan output 1: f16 of rank 2, the result is ?x3xf32");
  EXPECT_ERROR(mixir_function_invoke_into(f, args, 2, outs, 1, nullptr),
               "@scan returns 2 results, space for 1 was given");
  mixir_module_release(m);
}

TEST(CAPI, ArtifactRoundTrip) {
  Compiler c;
  mixir_module_t m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  std::string dir = tempDir("roundtrip");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/scan.mixir";
  ASSERT_OK(mixir_module_save_artifact(m, path.c_str()));
  mixir_module_release(m);
  mixir_module_t loaded = nullptr;
  ASSERT_OK(mixir_module_load_artifact_file(path.c_str(), &loaded));
  EXPECT_LT(runScan(loaded, 50), 1e-5);
  // Two loads are independent copies; releasing one keeps the other.
  mixir_module_t second = nullptr;
  ASSERT_OK(mixir_module_load_artifact_file(path.c_str(), &second));
  mixir_module_release(loaded);
  EXPECT_LT(runScan(second, 51), 1e-5);
  mixir_module_release(second);
  EXPECT_ERROR(mixir_module_load_artifact_file((dir + "/missing").c_str(), &m),
               "cannot open");
  EXPECT_ERROR(mixir_module_load_artifact_file(dir.c_str(), &m),
               "is a directory");
  std::filesystem::remove_all(dir);
}

// @scan with its operands swapped: same signature, other numbers.
constexpr const char *kSwapped = R"mlir(
func.func @scan(%x: tensor<?x?x3xf32>, %g: tensor<?x?x3xf32>)
    -> (tensor<?x?x3xf32>, tensor<?x3xf32>) {
  %o, %h = mix.scan %g, %x : (tensor<?x?x3xf32>, tensor<?x?x3xf32>)
      -> (tensor<?x?x3xf32>, tensor<?x3xf32>)
  return %o, %h : tensor<?x?x3xf32>, tensor<?x3xf32>
}
)mlir";

TEST(CAPI, ModulesWithTheSameSymbolsStayApart) {
  // Each module's code is its own, even when function names agree and one
  // is loaded right after another is released (same memfd number).
  Compiler c;
  mixir_module_t a = c.compile(kScan);
  const std::string bytesA = artifactBytes(a);
  mixir_module_t b = c.compile(kSwapped);
  const std::string bytesB = artifactBytes(b);
  EXPECT_LT(runScan(a, 16), 1e-5);
  EXPECT_GT(runScan(b, 16), 1e-2);
  mixir_module_release(a);
  mixir_module_release(b);
  for (int i = 0; i < 3; ++i) {
    mixir_module_t la = nullptr, lb = nullptr;
    ASSERT_OK(mixir_module_load_artifact(bytesA.data(), bytesA.size(), &la));
    EXPECT_LT(runScan(la, 16), 1e-5);
    mixir_module_release(la);
    ASSERT_OK(mixir_module_load_artifact(bytesB.data(), bytesB.size(), &lb));
    EXPECT_GT(runScan(lb, 16), 1e-2);
    ASSERT_OK(mixir_module_load_artifact(bytesA.data(), bytesA.size(), &la));
    EXPECT_LT(runScan(la, 16), 1e-5);
    EXPECT_GT(runScan(lb, 16), 1e-2);
    mixir_module_release(la);
    mixir_module_release(lb);
  }
}

TEST(CAPI, CorruptTruncatedAndForeignArtifactsAreRejected) {
  Compiler c;
  mixir_module_t m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  const std::string good = artifactBytes(m);
  mixir_module_release(m);
  ASSERT_GT(good.size(), 1000u);

  EXPECT_NE(loadError("").find("bad magic"), std::string::npos);
  EXPECT_NE(loadError("\x7f"
                      "ELF garbage")
                .find("bad magic"),
            std::string::npos);
  // Every truncation point in the header, and a few in the payload.
  for (size_t n :
       {size_t(8), size_t(11), size_t(12), size_t(20), size_t(24), size_t(40),
        good.size() / 2, good.size() - 9, good.size() - 1}) {
    std::string e = loadError(good.substr(0, n));
    EXPECT_NE(e.find("truncated artifact"), std::string::npos)
        << "length " << n << ": " << e;
  }
  EXPECT_NE(loadError(good + "x").find("trailing bytes"), std::string::npos);
  // Flipping any byte after the magic is caught (version, checksum or
  // payload); sample a spread of positions.
  for (size_t at = 8; at < good.size(); at += good.size() / 37) {
    std::string bad = good;
    bad[at] ^= 0x20;
    std::string e = loadError(bad);
    EXPECT_FALSE(e.empty()) << "flip at " << at;
  }
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  EXPECT_NE(loadError(flipped).find("checksum mismatch"), std::string::npos);

  std::string version = good;
  version[8] = 9;
  EXPECT_NE(
      loadError(reseal(version)).find("format version 9 is not supported"),
      std::string::npos);
  // Body: compiler version, target, chip, arch strings (u32 length + bytes).
  size_t at = 24;
  auto nextString = [&](std::string &a) {
    uint32_t n;
    std::memcpy(&n, a.data() + at, 4);
    size_t start = at + 4;
    at = start + n;
    return std::make_pair(start, size_t(n));
  };
  std::string foreign = good;
  nextString(foreign);
  auto target = nextString(foreign);
  nextString(foreign);
  auto arch = nextString(foreign);
  std::string t = foreign;
  t.replace(target.first, target.second, "gpu");
  EXPECT_NE(loadError(reseal(t)).find("artifact target 'gpu' is not supported"),
            std::string::npos);
  std::string a = foreign;
  a.replace(arch.first, arch.second, std::string(arch.second, 'q'));
  EXPECT_NE(loadError(reseal(a)).find("artifact was compiled for qqqqqq"),
            std::string::npos);
  std::string elf = good;
  size_t elfAt = elf.find("\x7f"
                          "ELF");
  ASSERT_NE(elfAt, std::string::npos);
  elf[elfAt + 18] = 0x28; // EM_ARM
  EXPECT_NE(loadError(reseal(elf)).find("not a shared object for this machine"),
            std::string::npos);
  // A length field pointing past the end.
  std::string len = good;
  uint32_t huge = 0x7fffffff;
  std::memcpy(&len[24], &huge, 4);
  EXPECT_NE(loadError(reseal(len)).find("exceeds the artifact"),
            std::string::npos);
}

TEST(CAPI, MemoryCacheHits) {
  Compiler c;
  mixir_module_t a = c.compile(kScan), b = c.compile(kScan);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  mixir_cache_stats_t s = c.stats();
  EXPECT_EQ(s.compiles, 1u);
  EXPECT_EQ(s.memory_hits, 1u);
  // Same code: the function handles point into one loaded module.
  mixir_function_t fa, fb;
  ASSERT_OK(mixir_module_lookup(a, "scan", &fa));
  ASSERT_OK(mixir_module_lookup(b, "scan", &fb));
  EXPECT_EQ(fa, fb);
  mixir_module_release(a);
  EXPECT_LT(runScan(b, 10), 1e-5);
  // Another source (one more space) is another module.
  std::string other = std::string(kScan) + " ";
  mixir_module_t o = c.compile(other.c_str());
  EXPECT_EQ(c.stats().compiles, 2u);
  ASSERT_OK(mixir_compiler_clear_cache(c.c));
  mixir_module_t again = c.compile(kScan);
  EXPECT_EQ(c.stats().compiles, 3u);
  EXPECT_LT(runScan(b, 10), 1e-5); // still valid after the cache let go
  mixir_module_release(b);
  mixir_module_release(o);
  mixir_module_release(again);
}

TEST(CAPI, DiskCacheHitsAndCorruptFilesAreRecompiled) {
  std::string dir = tempDir("cache");
  {
    Compiler first(64, dir.c_str());
    mixir_module_t m = first.compile(kScan);
    EXPECT_EQ(first.stats().compiles, 1u);
    mixir_module_release(m);
  }
  std::vector<std::filesystem::path> files;
  for (auto &e : std::filesystem::directory_iterator(dir))
    files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".mixir");
  {
    Compiler second(64, dir.c_str());
    mixir_module_t m = second.compile(kScan);
    mixir_cache_stats_t s = second.stats();
    EXPECT_EQ(s.compiles, 0u);
    EXPECT_EQ(s.disk_hits, 1u);
    EXPECT_LT(runScan(m, 33), 1e-5);
    mixir_module_release(m);
  }
  {
    // Other options are another key.
    Compiler recurrent(0, dir.c_str());
    mixir_module_t m = recurrent.compile(kScan);
    EXPECT_EQ(recurrent.stats().compiles, 1u);
    mixir_module_release(m);
  }
  // Corrupt the first file: rejected, recompiled and replaced.
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x5a');
  }
  {
    Compiler third(64, dir.c_str());
    mixir_module_t m = third.compile(kScan);
    mixir_cache_stats_t s = third.stats();
    EXPECT_EQ(s.disk_rejects, 1u);
    EXPECT_EQ(s.compiles, 1u);
    EXPECT_LT(runScan(m, 12), 1e-5);
    mixir_module_release(m);
  }
  {
    Compiler fourth(64, dir.c_str());
    mixir_module_t m = fourth.compile(kScan);
    EXPECT_EQ(fourth.stats().disk_hits, 1u);
    mixir_module_release(m);
  }
  // MIXIR_CACHE_DIR is the default when no directory is given.
  std::string envDir = dir + "/env";
  setenv("MIXIR_CACHE_DIR", envDir.c_str(), 1);
  {
    mixir_compiler_options_t o;
    mixir_compiler_options_init(&o);
    mixir_compiler_t cc = nullptr;
    ASSERT_OK(mixir_compiler_create(&o, &cc));
    mixir_module_t m = nullptr;
    ASSERT_OK(mixir_compiler_compile(cc, kScan, strlen(kScan), "s", &m));
    mixir_module_release(m);
    mixir_compiler_destroy(cc);
  }
  unsetenv("MIXIR_CACHE_DIR");
  EXPECT_FALSE(std::filesystem::is_empty(envDir));
  // An explicit directory that cannot be made is an error; one from the
  // environment only turns the disk cache off.
  std::string blocked = dir + "/file";
  std::ofstream(blocked) << "x";
  {
    mixir_compiler_options_t o;
    mixir_compiler_options_init(&o);
    std::string sub = blocked + "/cache";
    o.cache_dir = sub.c_str();
    mixir_compiler_t cc = nullptr;
    EXPECT_ERROR(mixir_compiler_create(&o, &cc),
                 "cannot create the cache directory");
    setenv("MIXIR_CACHE_DIR", sub.c_str(), 1);
    o.cache_dir = nullptr;
    ASSERT_OK(mixir_compiler_create(&o, &cc));
    unsetenv("MIXIR_CACHE_DIR");
    mixir_module_t m = nullptr;
    ASSERT_OK(mixir_compiler_compile(cc, kScan, strlen(kScan), "s", &m));
    EXPECT_LT(runScan(m, 5), 1e-5);
    mixir_module_release(m);
    mixir_compiler_destroy(cc);
  }
  std::filesystem::remove_all(dir);
}

/// A compiler on `dir` with the disk cache bounded to `maxBytes`.
struct BoundedCompiler : Compiler {
  BoundedCompiler(const std::string &dir, int64_t maxBytes) : Compiler(0) {
    mixir_compiler_destroy(c);
    mixir_compiler_options_t o;
    mixir_compiler_options_init(&o);
    o.cache_dir = dir.c_str();
    o.cache_max_bytes = maxBytes;
    c = nullptr;
    EXPECT_OK(mixir_compiler_create(&o, &c));
  }
  /// Compiles kScan variant `n` (a different key: a comment) and checks it.
  void scan(int n) {
    std::string src = std::string(kScan) + "// variant " + std::to_string(n);
    mixir_module_t m = compile(src.c_str());
    ASSERT_NE(m, nullptr);
    EXPECT_LT(runScan(m, 21), 1e-5);
    mixir_module_release(m);
  }
};

/// The .mixir files of `dir` by name, with their sizes.
std::map<std::string, uintmax_t> cacheFiles(const std::string &dir) {
  std::map<std::string, uintmax_t> files;
  for (auto &e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".mixir")
      files[e.path().filename().string()] = e.file_size();
  return files;
}

TEST(CAPI, DiskCacheEvictsTheLeastRecentlyUsed) {
  std::string dir = tempDir("lru");
  std::vector<std::string> names; // variant n's file
  {
    BoundedCompiler unbounded(dir, -1);
    for (int n = 0; n < 3; ++n) {
      auto before = cacheFiles(dir);
      unbounded.scan(n);
      for (auto &[name, size] : cacheFiles(dir))
        if (!before.count(name))
          names.push_back(name);
    }
  }
  ASSERT_EQ(names.size(), 3u);
  // Ages: variant 0 used 30 s ago, 1 20 s ago, 2 10 s ago.
  auto now = std::filesystem::file_time_type::clock::now();
  for (int n = 0; n < 3; ++n)
    std::filesystem::last_write_time(dir + "/" + names[n],
                                     now - std::chrono::seconds(30 - 10 * n));
  auto sizes = cacheFiles(dir);
  uintmax_t three = sizes[names[0]] + sizes[names[1]] + sizes[names[2]];
  {
    // Room for three entries, not four. A disk hit on variant 0 makes it the
    // most recent; the new variant 3 then evicts variant 1 (now the oldest)
    // and nothing else.
    BoundedCompiler bounded(dir, int64_t(three + sizes[names[0]] / 2));
    bounded.scan(0);
    EXPECT_EQ(bounded.stats().disk_hits, 1u);
    bounded.scan(3);
    auto after = cacheFiles(dir);
    EXPECT_EQ(after.size(), 3u);
    EXPECT_TRUE(after.count(names[0])) << "the entry just hit was evicted";
    EXPECT_FALSE(after.count(names[1])) << "the oldest entry was kept";
    EXPECT_TRUE(after.count(names[2]));
  }
  {
    // A bound below one entry keeps only the entry just written.
    BoundedCompiler tiny(dir, 1);
    tiny.scan(4);
    EXPECT_EQ(cacheFiles(dir).size(), 1u);
    tiny.scan(0); // evicted: compiled again, and now the only one
    EXPECT_EQ(tiny.stats().compiles, 2u);
    EXPECT_EQ(cacheFiles(dir).size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

TEST(CAPI, DiskCacheBoundFromTheEnvironment) {
  std::string dir = tempDir("bound-env");
  mixir_compiler_options_t o;
  mixir_compiler_options_init(&o);
  EXPECT_EQ(o.cache_max_bytes, 0);
  o.cache_dir = dir.c_str();
  mixir_compiler_t cc = nullptr;
  for (const char *bad :
       {"", "12k", "-5", "0", "1e9", "99999999999999999999"}) {
    setenv("MIXIR_CACHE_MAX_BYTES", bad, 1);
    EXPECT_ERROR(mixir_compiler_create(&o, &cc), "MIXIR_CACHE_MAX_BYTES");
    EXPECT_EQ(cc, nullptr);
  }
  // An explicit bound wins over the environment's.
  o.cache_max_bytes = -1;
  ASSERT_OK(mixir_compiler_create(&o, &cc));
  mixir_compiler_destroy(cc);
  // The environment's bound applies: 1 byte keeps only the newest entry.
  o.cache_max_bytes = 0;
  setenv("MIXIR_CACHE_MAX_BYTES", "1", 1);
  ASSERT_OK(mixir_compiler_create(&o, &cc));
  unsetenv("MIXIR_CACHE_MAX_BYTES");
  for (int n = 0; n < 2; ++n) {
    std::string src = std::string(kScan) + "// env " + std::to_string(n);
    mixir_module_t m = nullptr;
    ASSERT_OK(mixir_compiler_compile(cc, src.data(), src.size(), "s", &m));
    mixir_module_release(m);
  }
  mixir_compiler_destroy(cc);
  EXPECT_EQ(cacheFiles(dir).size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(CAPI, TwoContextsAtOnce) {
  std::atomic<int> good{0};
  auto work = [&](int64_t chunk) {
    Compiler c(chunk);
    mixir_module_t m = c.compile(kScan);
    if (!m)
      return;
    for (int i = 0; i < 5; ++i)
      good += runScan(m, 40 + i, float(chunk)) < 1e-5;
    mixir_module_release(m);
  };
  std::thread a(work, 0), b(work, 16);
  a.join();
  b.join();
  EXPECT_EQ(good.load(), 10);
  // A module outlives its compiler.
  mixir_module_t kept = nullptr;
  {
    Compiler c;
    kept = c.compile(kScan);
  }
  EXPECT_LT(runScan(kept, 9), 1e-5);
  mixir_module_release(kept);
}

TEST(CAPI, ConcurrentCompilesInOneContext) {
  Compiler c;
  std::vector<std::string> sources;
  for (int i = 0; i < 4; ++i) // four distinct sources (trailing spaces)
    sources.push_back(std::string(kScan) + std::string(i, ' '));
  std::vector<mixir_module_t> modules(8, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      const std::string &s = sources[i % 4];
      mixir_status_t st =
          mixir_compiler_compile(c.c, s.data(), s.size(), "t", &modules[i]);
      mixir_status_free(st);
    });
  for (auto &t : threads)
    t.join();
  for (int i = 0; i < 8; ++i) {
    ASSERT_NE(modules[i], nullptr) << i;
    EXPECT_LT(runScan(modules[i], 30 + i), 1e-5) << i;
    mixir_module_release(modules[i]);
  }
  // One compilation per source: a thread asking for a key that another is
  // compiling waits for it and counts as a memory hit.
  mixir_cache_stats_t s = c.stats();
  EXPECT_EQ(s.compiles, 4u);
  EXPECT_EQ(s.memory_hits, 4u);
}

// Six threads compile the same bad source at once: each gets the error
// (naming its own source), none a module, and nothing is cached.
TEST(CAPI, ConcurrentFailingCompilesAllGetTheError) {
  Compiler c;
  const std::string bad = "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {"
                          " return %y : tensor<4xf32> }";
  std::vector<std::string> errors(6);
  std::vector<mixir_module_t> modules(6, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      std::string name = "bad" + std::to_string(i % 2);
      mixir_status_t st = mixir_compiler_compile(c.c, bad.data(), bad.size(),
                                                 name.c_str(), &modules[i]);
      if (st)
        errors[i] = mixir_status_message(st);
      mixir_status_free(st);
    });
  for (auto &t : threads)
    t.join();
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(modules[i], nullptr) << i;
    EXPECT_NE(errors[i].find("undeclared SSA value"), std::string::npos)
        << errors[i];
    EXPECT_EQ(errors[i].rfind("bad" + std::to_string(i % 2) + ":", 0), 0u)
        << errors[i];
  }
  mixir_cache_stats_t s = c.stats();
  EXPECT_EQ(s.compiles + s.memory_hits + s.disk_hits, 0u);
}

TEST(CAPI, ConcurrentCalls) {
  Compiler c;
  mixir_module_t m = c.compile(kScan);
  ASSERT_NE(m, nullptr);
  std::vector<std::thread> threads;
  std::vector<int> good(8, 0);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 25; ++rep)
        good[i] += runScan(m, 20 + 7 * i + rep, float(i)) < 1e-4;
    });
  for (auto &t : threads)
    t.join();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(good[i], 25) << "thread " << i;
  mixir_module_release(m);
}

TEST(CAPI, DTypeNames) {
  EXPECT_STREQ(mixir_dtype_name(MIXIR_DTYPE_BF16), "bf16");
  EXPECT_STREQ(mixir_dtype_name(MIXIR_DTYPE_BOOL), "i1");
  EXPECT_EQ(mixir_dtype_size(MIXIR_DTYPE_F64), 8u);
  EXPECT_EQ(mixir_dtype_size(static_cast<mixir_dtype_t>(77)), 0u);
  EXPECT_STREQ(mixir_dtype_name(static_cast<mixir_dtype_t>(-3)),
               "<invalid dtype>");
}

} // namespace
