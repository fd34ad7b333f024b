//===- mixir-c/Mixir.hpp - C++ layer over the compiler C API ----*- C++ -*-===//
//
// Header-only RAII wrappers of mixir-c/Mixir.h (and, through Runtime.hpp, of
// the runtime API); errors are thrown as mixir::Error.
//
//   mixir::Compiler compiler;                       // default options
//   mixir::Module m = compiler.compile(mlirText);   // cached by source
//   auto results = m.function("layer")({mixir::View(x, {B, T, D}), ...});
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_C_MIXIR_HPP
#define MIXIR_C_MIXIR_HPP

#include "mixir-c/Mixir.h"
#include "mixir-c/Runtime.hpp"

#include <optional>

namespace mixir {

struct CompilerOptions {
  std::string target = "cpu";
  /// Empty: the target's default.
  std::string chip;
  int64_t chunkSize = MIXIR_CHUNK_SIZE_DEFAULT;
  int optLevel = 3;
  /// Unset: $MIXIR_CACHE_DIR when set; "": no disk cache.
  std::optional<std::string> cacheDir;
};

/// A compiler context and its cache. Move-only.
class Compiler {
public:
  explicit Compiler(const CompilerOptions &options = {}) {
    mixir_compiler_options_t o;
    mixir_compiler_options_init(&o);
    o.target = options.target.c_str();
    o.chip = options.chip.empty() ? nullptr : options.chip.c_str();
    o.chunk_size = options.chunkSize;
    o.opt_level = options.optLevel;
    o.cache_dir = options.cacheDir ? options.cacheDir->c_str() : nullptr;
    detail::check(mixir_compiler_create(&o, &handle_));
  }
  Compiler(Compiler &&o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }
  Compiler &operator=(Compiler &&o) noexcept {
    std::swap(handle_, o.handle_);
    return *this;
  }
  Compiler(const Compiler &) = delete;
  Compiler &operator=(const Compiler &) = delete;
  ~Compiler() { mixir_compiler_destroy(handle_); }

  Module compile(const std::string &source,
                 const std::string &sourceName = "<source>") {
    mixir_module_t m = nullptr;
    detail::check(mixir_compiler_compile(handle_, source.data(), source.size(),
                                         sourceName.c_str(), &m));
    return Module(m);
  }
  Module compileFile(const std::string &path) {
    mixir_module_t m = nullptr;
    detail::check(mixir_compiler_compile_file(handle_, path.c_str(), &m));
    return Module(m);
  }
  mixir_cache_stats_t cacheStats() const {
    mixir_cache_stats_t s;
    detail::check(mixir_compiler_cache_stats(handle_, &s));
    return s;
  }
  void clearCache() { detail::check(mixir_compiler_clear_cache(handle_)); }
  static std::string version() { return mixir_compiler_version(); }
  mixir_compiler_t handle() const { return handle_; }

private:
  mixir_compiler_t handle_ = nullptr;
};

} // namespace mixir

#endif
