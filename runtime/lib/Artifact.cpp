//===- Artifact.cpp - compiled-module artifacts ---------------------------===//
#include "mixrt/Artifact.h"
#include "mixrt/Cuda.h"
#include "mixrt/CudaArtifact.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MIXRT_DEFAULT_LIBOMP_PATH
#define MIXRT_DEFAULT_LIBOMP_PATH "libomp.so.5"
#endif

namespace mixrt {

const char *hostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

uint64_t fnv1a64(const void *data, size_t size, uint64_t seed) {
  const auto *p = static_cast<const uint8_t *>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

class Writer {
public:
  void bytes(const void *p, size_t n) {
    out.append(static_cast<const char *>(p), n);
  }
  template <typename T> void pod(T v) { bytes(&v, sizeof(T)); }
  void str(const std::string &s) {
    pod<uint32_t>(static_cast<uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  void tensor(const TensorSignature &t) {
    pod<uint8_t>(static_cast<uint8_t>(t.dtype));
    pod<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape)
      pod<int64_t>(d);
  }
  std::string out;
};

class Reader {
public:
  Reader(const uint8_t *p, size_t n) : p(p), n(n) {}
  bool bytes(void *dst, size_t k, const char *what) {
    if (k > n - at) {
      fail("truncated artifact: " + std::string(what) + " at byte " +
           std::to_string(at) + " needs " + std::to_string(k) + " bytes, " +
           std::to_string(n - at) + " left");
      return false;
    }
    std::memcpy(dst, p + at, k);
    at += k;
    return true;
  }
  template <typename T> bool pod(T &v, const char *what) {
    return bytes(&v, sizeof(T), what);
  }
  bool str(std::string &s, const char *what, size_t limit = 1 << 20) {
    uint32_t len;
    if (!pod(len, what))
      return false;
    if (len > limit || len > n - at) {
      fail("corrupt artifact: " + std::string(what) + " length " +
           std::to_string(len) + " at byte " + std::to_string(at) +
           " exceeds the artifact");
      return false;
    }
    s.assign(reinterpret_cast<const char *>(p + at), len);
    // Text only: the strings end up in one-line messages.
    for (size_t i = 0; i < s.size(); ++i)
      if (static_cast<unsigned char>(s[i]) < 0x20 || s[i] == 0x7f) {
        fail("corrupt artifact: " + std::string(what) + " has control byte " +
             std::to_string(static_cast<unsigned char>(s[i])) + " at byte " +
             std::to_string(at + i));
        return false;
      }
    at += len;
    return true;
  }
  bool tensor(TensorSignature &t) {
    uint8_t dt;
    uint32_t rank;
    if (!pod(dt, "tensor element type") || !pod(rank, "tensor rank"))
      return false;
    if (dt > static_cast<uint8_t>(DType::boolean)) {
      fail("corrupt artifact: unknown element type code " + std::to_string(dt));
      return false;
    }
    if (rank > 64) {
      fail("corrupt artifact: tensor rank " + std::to_string(rank));
      return false;
    }
    t.dtype = static_cast<DType>(dt);
    t.shape.resize(rank);
    for (auto &d : t.shape) {
      if (!pod(d, "tensor dimension"))
        return false;
      if (d < -1) {
        fail("corrupt artifact: tensor dimension " + std::to_string(d));
        return false;
      }
    }
    return true;
  }
  /// The host-read argument indices of `f` (its arguments already read).
  bool hostReads(FunctionSignature &f) {
    uint32_t count = 0;
    if (!pod(count, "host-read argument count"))
      return false;
    if (count > f.args.size()) {
      fail("corrupt artifact: " + std::to_string(count) +
           " host-read arguments of @" + f.name + ", which has " +
           std::to_string(f.args.size()));
      return false;
    }
    f.hostReadArgs.resize(count);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t &a = f.hostReadArgs[i];
      if (!pod(a, "host-read argument"))
        return false;
      if (a >= f.args.size() || (i > 0 && a <= f.hostReadArgs[i - 1])) {
        fail("corrupt artifact: host-read argument " + std::to_string(a) +
             " of @" + f.name + " (" + std::to_string(f.args.size()) +
             " arguments, indices ascending)");
        return false;
      }
    }
    return true;
  }
  bool image(DeviceImage &d) {
    uint64_t size = 0;
    if (!str(d.module, "device module name") || !str(d.chip, "device chip") ||
        !pod(d.kind, "device image kind") || !pod(size, "device image size"))
      return false;
    if (d.kind != kDeviceImageCubin && d.kind != kDeviceImagePtx) {
      fail("corrupt artifact: device image kind " + std::to_string(d.kind) +
           " of module " + d.module + " (expected 1, cubin, or 2, PTX)");
      return false;
    }
    if (size > n - at) {
      fail("corrupt artifact: device image of " + std::to_string(size) +
           " bytes at byte " + std::to_string(at) + " exceeds the artifact");
      return false;
    }
    d.bytes.assign(reinterpret_cast<const char *>(p + at), size);
    at += size;
    return true;
  }
  void fail(std::string m) {
    if (error.empty())
      error = std::move(m);
  }
  size_t offset() const { return at; }
  std::string error;

private:
  const uint8_t *p;
  size_t n;
  size_t at = 0;
};

constexpr size_t kPreambleSize = 8 + 4 + 4 + 8;

} // namespace

std::string serializeArtifact(const ArtifactInfo &info) {
  Writer body;
  body.str(info.compilerVersion);
  body.str(targetName(info.target));
  body.str(info.chip);
  body.str(info.arch);
  body.str(info.cpu);
  body.str(info.features);
  body.pod<uint32_t>(static_cast<uint32_t>(info.functions.size()));
  for (const auto &f : info.functions) {
    body.str(f.name);
    body.pod<uint32_t>(static_cast<uint32_t>(f.args.size()));
    for (const auto &t : f.args)
      body.tensor(t);
    body.pod<uint32_t>(static_cast<uint32_t>(f.results.size()));
    for (const auto &t : f.results)
      body.tensor(t);
    body.pod<uint32_t>(static_cast<uint32_t>(f.hostReadArgs.size()));
    for (uint32_t a : f.hostReadArgs)
      body.pod<uint32_t>(a);
  }
  body.pod<uint32_t>(static_cast<uint32_t>(info.deviceImages.size()));
  for (const DeviceImage &image : info.deviceImages) {
    body.str(image.module);
    body.str(image.chip);
    body.pod<uint32_t>(image.kind);
    body.pod<uint64_t>(image.bytes.size());
    body.bytes(image.bytes.data(), image.bytes.size());
  }
  body.pod<uint32_t>(info.payloadKind);
  body.pod<uint64_t>(info.payload.size());
  body.bytes(info.payload.data(), info.payload.size());

  Writer w;
  w.bytes(kArtifactMagic, sizeof(kArtifactMagic));
  w.pod<uint32_t>(kArtifactFormatVersion);
  w.pod<uint32_t>(info.usesAmx ? kArtifactFlagAmx : 0);
  w.pod<uint64_t>(body.out.size());
  w.bytes(body.out.data(), body.out.size());
  w.pod<uint64_t>(fnv1a64(w.out.data(), w.out.size()));
  return std::move(w.out);
}

bool looksLikeArtifact(const void *data, size_t size) {
  return size >= sizeof(kArtifactMagic) &&
         std::memcmp(data, kArtifactMagic, sizeof(kArtifactMagic)) == 0;
}

Status parseArtifact(const void *data, size_t size, ArtifactInfo &out) {
  if (!data && size)
    return Status::error("null artifact data");
  if (!looksLikeArtifact(data, size))
    return Status::error("not a MixIR artifact (bad magic; expected a file "
                         "written by mixir-compile --emit=artifact)");
  const auto *p = static_cast<const uint8_t *>(data);
  Reader pre(p, size);
  char magic[8];
  uint32_t version = 0, flags = 0;
  uint64_t bodySize = 0;
  if (!pre.bytes(magic, 8, "magic") || !pre.pod(version, "format version"))
    return Status::error(pre.error);
  if (version < kArtifactOldestFormatVersion ||
      version > kArtifactFormatVersion)
    return Status::error("artifact format version " + std::to_string(version) +
                         " is not supported (this runtime reads versions " +
                         std::to_string(kArtifactOldestFormatVersion) + " to " +
                         std::to_string(kArtifactFormatVersion) + ")");
  if (!pre.pod(flags, "flags") || !pre.pod(bodySize, "body size"))
    return Status::error(pre.error);
  if (bodySize > size - kPreambleSize || size - kPreambleSize - bodySize < 8)
    return Status::error("truncated artifact: " + std::to_string(size) +
                         " bytes, the header announces " +
                         std::to_string(kPreambleSize + bodySize + 8));
  if (size - kPreambleSize - bodySize != 8)
    return Status::error("corrupt artifact: " +
                         std::to_string(size - kPreambleSize - bodySize - 8) +
                         " trailing bytes after the checksum");
  uint64_t stored;
  std::memcpy(&stored, p + kPreambleSize + bodySize, 8);
  if (stored != fnv1a64(p, kPreambleSize + bodySize))
    return Status::error("corrupt artifact: checksum mismatch");
  if ((flags & ~kArtifactFlagAmx) != 0)
    return Status::error("artifact flags " + std::to_string(flags) +
                         " are not supported");

  Reader r(p + kPreambleSize, bodySize);
  ArtifactInfo info;
  info.usesAmx = (flags & kArtifactFlagAmx) != 0;
  uint32_t numFunctions = 0;
  std::string target;
  bool ok = r.str(info.compilerVersion, "compiler version") &&
            r.str(target, "target") && r.str(info.chip, "chip") &&
            r.str(info.arch, "architecture") && r.str(info.cpu, "cpu") &&
            r.str(info.features, "cpu features") &&
            r.pod(numFunctions, "function count");
  if (ok) {
    std::optional<Target> known = parseTarget(target);
    if (!known)
      return Status::error("artifact target '" + target +
                           "' is not supported by this runtime (expected " +
                           kUserTargetList + ")");
    info.target = *known;
  }
  if (ok && numFunctions > 100000)
    r.fail("corrupt artifact: " + std::to_string(numFunctions) + " functions");
  for (uint32_t i = 0; ok && r.error.empty() && i < numFunctions; ++i) {
    FunctionSignature f;
    uint32_t na = 0, nr = 0;
    ok = r.str(f.name, "function name") && r.pod(na, "argument count");
    if (ok && na > 4096)
      r.fail("corrupt artifact: " + std::to_string(na) + " arguments");
    f.args.resize(r.error.empty() && ok ? na : 0);
    for (auto &t : f.args)
      ok = ok && r.tensor(t);
    ok = ok && r.pod(nr, "result count");
    if (ok && nr > 4096)
      r.fail("corrupt artifact: " + std::to_string(nr) + " results");
    f.results.resize(r.error.empty() && ok ? nr : 0);
    for (auto &t : f.results)
      ok = ok && r.tensor(t);
    if (ok && r.error.empty() && version >= 3)
      ok = r.hostReads(f);
    f.hostReadsKnown = version >= 3;
    info.functions.push_back(std::move(f));
  }
  uint32_t numImages = 0;
  if (ok && r.error.empty() && version >= 2) {
    ok = r.pod(numImages, "device image count");
    if (ok && numImages > 4096)
      r.fail("corrupt artifact: " + std::to_string(numImages) +
             " device images");
    for (uint32_t i = 0; ok && r.error.empty() && i < numImages; ++i) {
      info.deviceImages.emplace_back();
      ok = r.image(info.deviceImages.back());
    }
  }
  uint64_t payloadSize = 0;
  ok = ok && r.error.empty() && r.pod(info.payloadKind, "payload kind") &&
       r.pod(payloadSize, "payload size");
  if (ok && payloadSize != bodySize - r.offset())
    r.fail("corrupt artifact: payload size " + std::to_string(payloadSize) +
           " does not match the " + std::to_string(bodySize - r.offset()) +
           " bytes left");
  if (!ok || !r.error.empty())
    return Status::error(r.error.empty() ? "corrupt artifact" : r.error);
  info.payload.assign(
      reinterpret_cast<const char *>(p + kPreambleSize + r.offset()),
      payloadSize);
  if (info.functions.empty())
    return Status::error("corrupt artifact: no functions");
  out = std::move(info);
  return Status::ok();
}

namespace {
/// Whether this CPU has `feature` (LLVM spelling); unknown ones count as
/// present.
bool cpuHas(const std::string &feature) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
#define MIXRT_FEATURE(name)                                                    \
  if (feature == name)                                                         \
    return __builtin_cpu_supports(name);
  MIXRT_FEATURE("sse4.1")
  MIXRT_FEATURE("sse4.2")
  MIXRT_FEATURE("avx")
  MIXRT_FEATURE("avx2")
  MIXRT_FEATURE("fma")
  MIXRT_FEATURE("f16c")
  MIXRT_FEATURE("bmi")
  MIXRT_FEATURE("bmi2")
  MIXRT_FEATURE("avx512f")
  MIXRT_FEATURE("avx512bw")
  MIXRT_FEATURE("avx512dq")
  MIXRT_FEATURE("avx512vl")
  MIXRT_FEATURE("avx512cd")
  MIXRT_FEATURE("avx512vnni")
  MIXRT_FEATURE("avx512bf16")
#undef MIXRT_FEATURE
#endif
  (void)feature;
  return true;
}

uint16_t hostElfMachine() {
#if defined(__x86_64__)
  return 62;
#elif defined(__aarch64__)
  return 183;
#else
  return 0;
#endif
}
} // namespace

bool enableAmx() {
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
  static const bool granted = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("amx-tile") ||
        !__builtin_cpu_supports("amx-bf16"))
      return false;
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

Status checkArtifactRunsHere(const ArtifactInfo &info) {
  if (std::string why;
      isTestTarget(info.target) && !testPlugin(info.target, &why))
    return Status::error("artifact for " + why);
  if (info.arch != hostArch())
    return Status::error("artifact was compiled for " + info.arch +
                         ", this host is " + hostArch());
  size_t start = 0;
  while (start < info.features.size()) {
    size_t end = info.features.find(',', start);
    if (end == std::string::npos)
      end = info.features.size();
    std::string f = info.features.substr(start, end - start);
    if (f.size() > 1 && f[0] == '+' && !cpuHas(f.substr(1)))
      return Status::error("artifact was compiled for CPU '" + info.cpu +
                           "' and needs the '" + f.substr(1) +
                           "' instruction set, which this CPU lacks");
    start = end + 1;
  }
  // Code with AMX tile products (CompileOptions' amx) faults unless the
  // process has asked for the tiles. (The features list names amx-tile and
  // amx-bf16 on every artifact compiled on an AMX host; cpuHas does not
  // check them, the flag decides, and enableAmx checks the CPU.)
  if (info.usesAmx && !enableAmx())
    return Status::error("artifact was compiled for CPU '" + info.cpu +
                         "' with AMX tile products, and this system does not "
                         "grant the AMX tile state (arch_prctl "
                         "ARCH_REQ_XCOMP_PERM)");
  if (info.payloadKind != kPayloadSharedObject)
    return Status::error("artifact payload kind " +
                         std::to_string(info.payloadKind) +
                         " is not supported");
  const std::string &so = info.payload;
  if (so.size() < 64 ||
      std::memcmp(so.data(),
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      so[4] != 2 || so[5] != 1)
    return Status::error("artifact payload is not a 64-bit little-endian ELF "
                         "shared object");
  uint16_t type, machine;
  std::memcpy(&type, so.data() + 16, 2);
  std::memcpy(&machine, so.data() + 18, 2);
  if (type != 3 /*ET_DYN*/ || machine != hostElfMachine())
    return Status::error("artifact payload is not a shared object for this "
                         "machine (ELF type " +
                         std::to_string(type) + ", machine " +
                         std::to_string(machine) + ")");
  return Status::ok();
}

namespace {
/// Makes the OpenMP runtime and libm visible to shared objects loaded later
/// (the payload leaves their symbols undefined). Done once per process.
Status loadSupportLibraries() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char *env = std::getenv("MIXIR_LIBOMP_PATH"); env && *env)
      candidates.push_back(env);
    candidates.push_back(MIXRT_DEFAULT_LIBOMP_PATH);
    candidates.push_back("libomp.so.5");
    candidates.push_back("libomp.so");
    void *omp = nullptr;
    std::string tried;
    for (const auto &c : candidates) {
      omp = dlopen(c.c_str(), RTLD_NOW | RTLD_GLOBAL);
      if (omp)
        break;
      const char *e = dlerror();
      tried += (tried.empty() ? "" : "; ") + std::string(e ? e : c.c_str());
    }
    if (!omp)
      error =
          "cannot load the OpenMP runtime (set MIXIR_LIBOMP_PATH): " + tried;
    if (!dlopen("libm.so.6", RTLD_NOW | RTLD_GLOBAL))
      dlerror();
  });
  return error.empty() ? Status::ok() : Status::error(error);
}

/// A new memory file (memfd) holding `so`, in `fd`.
Status writeToMemory(const std::string &so, int &fd) {
  fd = memfd_create("mixir-artifact", MFD_CLOEXEC);
  if (fd < 0)
    return Status::error(std::string("memfd_create failed: ") +
                         std::strerror(errno));
  for (size_t done = 0; done < so.size();) {
    ssize_t k = write(fd, so.data() + done, so.size() - done);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      int e = errno;
      close(fd);
      fd = -1;
      return Status::error(std::string("writing the artifact to memory "
                                       "failed: ") +
                           std::strerror(e));
    }
    done += static_cast<size_t>(k);
  }
  return Status::ok();
}

/// Points the payload's `__mixir_rt_<name>` variables at the callbacks.
void setCallbacks(void *handle, const std::vector<RuntimeCallback> &list) {
  for (const RuntimeCallback &cb : list) {
    std::string variable = std::string("__mixir_rt_") + cb.name;
    void **slot = static_cast<void **>(dlsym(handle, variable.c_str()));
    if (slot)
      *slot = cb.address;
  }
}

} // namespace

Status
LoadedArtifact::initialize(const std::vector<DeviceImageChoice> &images) {
  auto init = reinterpret_cast<void (*)()>(dlsym(handle_, kModuleInitSymbol));
  auto fini = reinterpret_cast<void (*)()>(dlsym(handle_, kModuleFiniSymbol));
  if (!init) {
    fini_ = fini;
    return Status::ok();
  }
  bool cuda = info_.target == Target::cuda;
  if (cuda)
    (void)cudaTakeStatus();
  {
    DeviceImageScope scope(images);
    init();
  }
  fini_ = fini;
  if (Status s = cuda ? cudaTakeStatus() : Status::ok(); !s)
    return Status::error("artifact for target cuda: loading the kernels "
                         "failed: " +
                         s.message());
  return Status::ok();
}

LoadedArtifact::~LoadedArtifact() {
  if (fini_) {
    fini_();
    // Target cuda: unloading the kernels may fail; nobody is left to tell.
    if (info_.target == Target::cuda)
      (void)cudaTakeStatus();
  }
  if (handle_)
    dlclose(handle_);
  if (fd_ >= 0)
    close(fd_);
}

Status LoadedArtifact::load(std::string bytes,
                            std::shared_ptr<LoadedArtifact> &out, bool *valid) {
  std::shared_ptr<LoadedArtifact> a(new LoadedArtifact());
  if (valid)
    *valid = false;
  if (Status s = parseArtifact(bytes.data(), bytes.size(), a->info_); !s)
    return s;
  if (Status s = checkArtifactRunsHere(a->info_); !s)
    return s;
  if (valid)
    *valid = true;
  // The host code of target cuda makes no OpenMP calls: it loads where no
  // OpenMP runtime is installed (a GPU machine with only the driver).
  if (Status s = loadSupportLibraries(); !s && a->info_.target != Target::cuda)
    return s;
  std::vector<DeviceImageChoice> images;
  if (a->info_.target == Target::cuda)
    if (Status s = prepareDeviceImages(a->info_, images); !s)
      return s;
  int fd = -1;
  if (Status s = writeToMemory(a->info_.payload, fd); !s)
    return s;
  // dlopen knows objects by name: a path some loaded object already has
  // (an fd number reused after an earlier artifact's close) would return
  // that object. The fd stays open while the module is loaded, so no two
  // loaded artifacts share a number; the check covers objects that were
  // closed but not unloaded.
  std::vector<int> spare;
  std::string path;
  for (;;) {
    path = "/proc/self/fd/" + std::to_string(fd);
    void *existing = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!existing)
      break;
    dlclose(existing);
    int other = dup(fd);
    spare.push_back(fd);
    fd = other;
    if (fd < 0)
      break;
  }
  for (int f : spare)
    close(f);
  if (fd < 0)
    return Status::error(std::string("dup failed: ") + std::strerror(errno));
  dlerror();
  a->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->handle_) {
    close(fd);
    const char *e = dlerror();
    return Status::error(std::string("cannot load the artifact's code: ") +
                         (e ? e : "dlopen failed"));
  }
  a->fd_ = fd;
  setCallbacks(a->handle_, runtimeCallbacks(a->info_.target));
  if (a->info_.target == Target::cuda)
    setCallbacks(a->handle_, cudaArtifactLoadCallbacks());
  for (const auto &f : a->info_.functions) {
    std::string symbol = "_mlir_" + f.name;
    void *fn = dlsym(a->handle_, symbol.c_str());
    if (!fn)
      return Status::error("corrupt artifact: no entry point " + symbol +
                           " for @" + f.name);
    a->entry_.push_back(reinterpret_cast<PackedFunction>(fn));
  }
  if (Status s = a->initialize(images); !s)
    return s;
  a->bytes_ = std::move(bytes);
  // The payload copy is no longer needed once loaded; keep `bytes_` for
  // saving the artifact again.
  a->info_.payload.clear();
  a->info_.payload.shrink_to_fit();
  a->info_.deviceImages.clear();
  a->info_.deviceImages.shrink_to_fit();
  out = std::move(a);
  return Status::ok();
}

Status readFileBytes(const std::string &path, std::string &out) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return Status::error(path + ": is a directory");
  }
  std::string data;
  char buf[1 << 16];
  size_t k;
  while ((k = std::fread(buf, 1, sizeof(buf), f)) > 0)
    data.append(buf, k);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad)
    return Status::error(path + ": read error");
  out = std::move(data);
  return Status::ok();
}

Status writeFileAtomic(const std::string &path, const std::string &bytes) {
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." +
                    std::to_string(reinterpret_cast<uintptr_t>(&bytes));
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return Status::error(path + ": cannot write: " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    return Status::error(path + ": cannot write: " + std::strerror(e));
  }
  return Status::ok();
}

} // namespace mixrt
