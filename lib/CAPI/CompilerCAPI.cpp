//===- CompilerCAPI.cpp - the C API of mixir-c/Mixir.h --------------------===//
//
// A compiler context compiles through mixir::compileArtifact and loads the
// result with the runtime's artifact loader, so JIT-compiled modules and
// loaded artifacts are the same kind of module. Its cache maps a key (hash of
// source, options, compiler version and host CPU) to the loaded module in
// memory and to `<key>.mixir` in the cache directory. The key also covers
// the compiler binary itself (path, size, mtime). The directory's size is
// bounded, least recently used entries first out (DiskCache.h).
//
//===----------------------------------------------------------------------===//
#include "DiskCache.h"
#include "mixir-c/Mixir.h"
#include "mixir/Jit/SharedObject.h"
#include "mixrt/CAPIImpl.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <sys/stat.h>

using namespace mixrt;

struct mixir_compiler_s {
  mixir::CompileOptions options;
  std::string cacheDir; // empty: no disk cache
  int64_t cacheMaxBytes = mixir::capi::kDefaultCacheMaxBytes; // < 0: none
  std::string cpu, features;
  std::string buildStamp; // identifies the compiler binary (see below)
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<ModuleState>> memory;
  /// Keys being loaded or compiled now. A second caller of the same key
  /// waits for the first instead of reading the disk or compiling again.
  struct Pending {
    std::string sourceName; // errors name it
    bool done = false;
    std::shared_ptr<ModuleState> state; // null: failed, see error
    std::string error;
  };
  std::map<std::string, std::shared_ptr<Pending>> pending;
  std::condition_variable pendingDone; // notified after `done` is set
  mixir_cache_stats_t stats{};
};

namespace {

/// Path, size and modification time of the binary this code is in, so a
/// rebuilt compiler (whose version string may not change during
/// development) does not reuse artifacts on disk from the previous build.
std::string buildStamp() {
  Dl_info info;
  struct stat st;
  if (!dladdr(reinterpret_cast<void *>(&mixir_compiler_create), &info) ||
      !info.dli_fname || stat(info.dli_fname, &st) != 0)
    return "unknown";
  return std::string(info.dli_fname) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(v));
  return buf;
}

/// 128-bit key (two FNV-1a hashes with different seeds) of everything that
/// determines the compiled code.
std::string cacheKey(const mixir_compiler_s &c, llvm::StringRef source) {
  std::string text;
  auto field = [&](llvm::StringRef s) {
    text += std::to_string(s.size());
    text += ':';
    text += s.str();
  };
  field(mixir::compilerVersion());
  field(c.buildStamp);
  field(mixrt::hostArch());
  field(c.cpu);
  field(c.features);
  field(mixrt::targetName(c.options.target));
  field(c.options.chip);
  field(std::to_string(c.options.chunkSizeOrUnset()));
  field(std::to_string(c.options.optLevel));
  field(c.options.amx ? "amx" : "");
  field(source);
  return hex(fnv1a64(text.data(), text.size())) +
         hex(fnv1a64(text.data(), text.size(), 0x84222325cbf29ce4ull));
}

/// What one load-or-compile of a key produced.
struct Produced {
  std::shared_ptr<ModuleState> state; // null: failed
  std::string error;
  bool diskHit = false, diskReject = false;
};

/// The key's artifact in the disk cache; empty without one.
std::string entryPath(const mixir_compiler_s &c, const std::string &key) {
  if (c.cacheDir.empty())
    return "";
  llvm::SmallString<256> p(c.cacheDir);
  llvm::sys::path::append(p, key + ".mixir");
  return std::string(p);
}

/// Reads the key's artifact from the disk cache, or compiles the source
/// (and writes the artifact there). Runs without the compiler's lock.
Produced produce(const mixir_compiler_s &c, const std::string &key,
                 llvm::StringRef source, const std::string &sourceName) {
  Produced r;
  std::shared_ptr<LoadedArtifact> loaded;
  std::string cachePath = entryPath(c, key);
  if (!cachePath.empty()) {
    std::string bytes;
    if (llvm::sys::fs::exists(cachePath) && readFileBytes(cachePath, bytes)) {
      // A file that is not a whole artifact for this machine (corrupt,
      // truncated, another compiler's) is recompiled and replaced. One that
      // is, but does not load (no CUDA device), gives the loader's error:
      // compiling again would not help.
      bool valid = false;
      Status s = LoadedArtifact::load(std::move(bytes), loaded, &valid);
      if (s) {
        r.diskHit = true;
        mixir::capi::touchEntry(cachePath);
      } else if (valid) {
        r.error = s.message();
        return r;
      } else {
        r.diskReject = true;
      }
    }
  }
  if (!r.diskHit) {
    mixir::CompileOptions options = c.options;
    options.sourceName = sourceName;
    auto info = mixir::compileArtifact(source, options);
    if (!info) {
      r.error = llvm::toString(info.takeError());
      return r;
    }
    std::string bytes = serializeArtifact(*info);
    // A cache: best effort. A new entry may push the directory over its
    // bound; the least recently used others make room.
    if (!cachePath.empty() && writeFileAtomic(cachePath, bytes))
      mixir::capi::evictOldEntries(c.cacheDir, c.cacheMaxBytes, key + ".mixir");
    if (Status s = LoadedArtifact::load(std::move(bytes), loaded); !s) {
      r.error = s.message();
      return r;
    }
  }
  r.state = ModuleState::create(std::move(loaded));
  return r;
}

mixir_status_t compileImpl(mixir_compiler_t c, llvm::StringRef source,
                           const std::string &sourceName, mixir_module_t *out) {
  std::string key = cacheKey(*c, source);
  std::shared_ptr<mixir_compiler_s::Pending> mine;
  {
    std::unique_lock<std::mutex> lock(c->mutex);
    auto it = c->memory.find(key);
    if (it != c->memory.end()) {
      ++c->stats.memory_hits;
      *out = makeModuleHandle(it->second);
      lock.unlock();
      // In use here: keep its file from being the least recently used one.
      if (std::string path = entryPath(*c, key); !path.empty())
        mixir::capi::touchEntry(path);
      return nullptr;
    }
    auto p = c->pending.find(key);
    if (p != c->pending.end()) {
      // Another thread is producing this key: share its result (or its
      // error) rather than compiling the same source twice.
      std::shared_ptr<mixir_compiler_s::Pending> theirs = p->second;
      c->pendingDone.wait(lock, [&] { return theirs->done; });
      if (theirs->state) {
        ++c->stats.memory_hits;
        *out = makeModuleHandle(theirs->state);
        return nullptr;
      }
      // Their error names their source; under another name, compile again
      // for an error that names this one.
      if (theirs->sourceName == sourceName)
        return makeStatus(theirs->error);
    } else {
      mine = std::make_shared<mixir_compiler_s::Pending>();
      mine->sourceName = sourceName;
      c->pending.emplace(key, mine);
    }
  }
  // (Without `mine`: a retry for another source name, not registered.)
  Produced r = produce(*c, key, source, sourceName);
  {
    std::lock_guard<std::mutex> lock(c->mutex);
    if (mine) {
      c->pending.erase(key);
      mine->done = true;
      mine->state = r.state;
      mine->error = r.error;
    }
    if (r.diskReject)
      ++c->stats.disk_rejects;
    if (r.state) {
      if (r.diskHit)
        ++c->stats.disk_hits;
      else
        ++c->stats.compiles;
      c->memory.emplace(key, r.state);
    }
  }
  if (mine)
    c->pendingDone.notify_all();
  if (!r.state)
    return makeStatus(r.error);
  *out = makeModuleHandle(std::move(r.state));
  return nullptr;
}

} // namespace

extern "C" {

static_assert(MIXIR_CHUNK_SIZE_DEFAULT == mixir::kChunkSizeUnset);
static_assert(MIXIR_CACHE_MAX_BYTES_DEFAULT ==
              mixir::capi::kDefaultCacheMaxBytes);

void mixir_compiler_options_init(mixir_compiler_options_t *o) {
  if (!o)
    return;
  o->target = mixrt::targetName(mixrt::Target::cpu);
  o->chip = nullptr;
  o->chunk_size = MIXIR_CHUNK_SIZE_DEFAULT;
  o->opt_level = 3;
  o->cache_dir = nullptr;
  o->cache_max_bytes = 0;
}

mixir_status_t mixir_compiler_create(const mixir_compiler_options_t *options,
                                     mixir_compiler_t *out) {
  if (!out)
    return makeStatus("null output pointer");
  *out = nullptr;
  mixir_compiler_options_t o;
  mixir_compiler_options_init(&o);
  if (options)
    o = *options;
  mixir::CompileOptionsInput input;
  if (o.target)
    input.target = o.target;
  input.chip = o.chip ? o.chip : "";
  if (o.chunk_size != MIXIR_CHUNK_SIZE_DEFAULT)
    input.chunkSize = o.chunk_size;
  input.optLevel = o.opt_level;
  auto compileOptions = mixir::makeCompileOptions(input);
  if (!compileOptions)
    return makeStatus(llvm::toString(compileOptions.takeError()));
  // Target cuda compiles for the chip asked for, else $MIXIR_CUDA_CHIP or
  // the device's; without a device (building artifacts) the default chip.
  if (compileOptions->target == mixrt::Target::cuda)
    if (llvm::Error e = mixir::chooseCudaChip(*compileOptions,
                                              /*needDevice=*/false))
      return makeStatus(llvm::toString(std::move(e)));
  auto c = std::make_unique<mixir_compiler_s>();
  c->options = std::move(*compileOptions);
  if (o.cache_dir) {
    c->cacheDir = o.cache_dir;
    if (!c->cacheDir.empty())
      if (std::error_code ec = llvm::sys::fs::create_directories(c->cacheDir))
        return makeStatus("cannot create the cache directory '" + c->cacheDir +
                          "': " + ec.message());
  } else if (const char *env = std::getenv("MIXIR_CACHE_DIR")) {
    // From the environment: a directory that cannot be made turns the disk
    // cache off rather than failing every compilation.
    c->cacheDir = env;
    if (!c->cacheDir.empty() && llvm::sys::fs::create_directories(c->cacheDir))
      c->cacheDir.clear();
  }
  if (!c->cacheDir.empty()) {
    std::string error;
    auto bound = mixir::capi::cacheMaxBytes(o.cache_max_bytes, error);
    if (!bound)
      return makeStatus(error);
    c->cacheMaxBytes = *bound;
  }
  std::tie(c->cpu, c->features) = mixir::hostCPU();
  c->buildStamp = buildStamp();
  *out = c.release();
  return nullptr;
}

void mixir_compiler_destroy(mixir_compiler_t compiler) { delete compiler; }

mixir_status_t mixir_compiler_compile(mixir_compiler_t compiler,
                                      const char *source, size_t size,
                                      const char *source_name,
                                      mixir_module_t *out) {
  if (!out)
    return makeStatus("null output pointer");
  *out = nullptr;
  if (!compiler)
    return makeStatus("null compiler handle");
  if (!source)
    return makeStatus("null source");
  return compileImpl(compiler, llvm::StringRef(source, size),
                     source_name ? source_name : "<source>", out);
}

mixir_status_t mixir_compiler_compile_file(mixir_compiler_t compiler,
                                           const char *path,
                                           mixir_module_t *out) {
  if (!out)
    return makeStatus("null output pointer");
  *out = nullptr;
  if (!compiler || !path)
    return makeStatus("null compiler handle or path");
  auto text = mixir::readSourceFile(path);
  if (!text)
    return makeStatus(llvm::toString(text.takeError()));
  return compileImpl(compiler, *text, path, out);
}

mixir_status_t mixir_compiler_cache_stats(mixir_compiler_t compiler,
                                          mixir_cache_stats_t *out) {
  if (!compiler || !out)
    return makeStatus("null compiler handle or output pointer");
  std::lock_guard<std::mutex> lock(compiler->mutex);
  *out = compiler->stats;
  return nullptr;
}

mixir_status_t mixir_compiler_clear_cache(mixir_compiler_t compiler) {
  if (!compiler)
    return makeStatus("null compiler handle");
  std::lock_guard<std::mutex> lock(compiler->mutex);
  compiler->memory.clear();
  return nullptr;
}

const char *mixir_compiler_version(void) { return mixir::compilerVersion(); }

} // extern "C"
