//===- FakeCuda.cpp - a stand-in libcuda for the runtime's unit tests -----===//
//
// Exports the driver entry points mixrt resolves. "Device memory" is host
// memory, so copies and memsets can be checked; streams, events, modules and
// kernels are counted handles. Tests steer it through the fakeCuda*
// functions: make a call fail with a given CUresult, read call counts and the
// last launch. Tools run against it take the failures from the environment:
// MIXIR_FAKE_CUDA_FAIL="cuInit=100,cuLaunchKernel=700", and the device count
// from MIXIR_FAKE_CUDA_DEVICES, the compute capability from
// MIXIR_FAKE_CUDA_CC ("8.6"; default 9.0). Each module load records the
// image's size and FNV-1a-64 hash (a cubin's size from its ELF header, PTX
// up to its NUL), so tests can tell which image was loaded.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
using CUresult = int;
using CUdeviceptr = unsigned long long;

std::mutex mutex;
std::map<std::string, int> failures; // call name -> CUresult to return
std::map<std::string, int> calls;    // call name -> times called
int deviceCount = 1;
int contextDepth = 0;
int liveAllocations = 0, liveStreams = 0, liveEvents = 0, liveModules = 0;
int lastFuncAttribute = -1;
unsigned lastLaunch[7] = {0};
void *lastLaunchStream = nullptr, *lastCopyStream = nullptr;
int handleCounter = 0;
bool environmentRead = false;
int ccMajor = 9, ccMinor = 0;
struct LoadedImage {
  uint64_t size, hash;
};
std::vector<LoadedImage> loadedImages;
/// PTX text of each module loaded from PTX; parameter sizes of each kernel
/// taken from such a module (from its .entry line).
std::map<void *, std::string> modulePtx;
std::map<void *, std::vector<size_t>> kernelParams;
/// The parameters of the last launch of a kernel with known parameters,
/// and every 8-byte parameter value of any launch since the reset.
std::vector<std::string> lastParams;
std::map<uint64_t, int> launchedWords;

/// Adds the failures listed in $MIXIR_FAKE_CUDA_FAIL (once).
void readEnvironment() {
  if (environmentRead)
    return;
  environmentRead = true;
  if (const char *n = std::getenv("MIXIR_FAKE_CUDA_DEVICES"))
    deviceCount = std::atoi(n);
  if (const char *cc = std::getenv("MIXIR_FAKE_CUDA_CC")) {
    ccMajor = std::atoi(cc);
    const char *dot = std::strchr(cc, '.');
    ccMinor = dot ? std::atoi(dot + 1) : 0;
  }
  const char *env = std::getenv("MIXIR_FAKE_CUDA_FAIL");
  std::string list = env ? env : "";
  size_t at = 0;
  while (at < list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string::npos)
      end = list.size();
    std::string item = list.substr(at, end - at);
    size_t eq = item.find('=');
    if (eq != std::string::npos)
      failures[item.substr(0, eq)] = std::atoi(item.c_str() + eq + 1);
    at = end + 1;
  }
}

/// Counts the call; the configured failure for it, else success.
CUresult enter(const char *name) {
  std::lock_guard<std::mutex> lock(mutex);
  readEnvironment();
  ++calls[name];
  auto it = failures.find(name);
  return it == failures.end() ? 0 : it->second;
}

void *newHandle() {
  std::lock_guard<std::mutex> lock(mutex);
  return reinterpret_cast<void *>(uintptr_t(0x1000 + 16 * ++handleCounter));
}

struct ErrorText {
  int code;
  const char *name, *text;
};
const ErrorText errorTexts[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
};
} // namespace

// --- controls
// ------------------------------------------------------------------
FAKE_EXPORT void fakeCudaReset() {
  std::lock_guard<std::mutex> lock(mutex);
  failures.clear();
  calls.clear();
  environmentRead = true; // tests set failures through fakeCudaFail
  deviceCount = 1;
  contextDepth = 0;
  liveAllocations = liveStreams = liveEvents = liveModules = 0;
  lastFuncAttribute = -1;
  std::memset(lastLaunch, 0, sizeof(lastLaunch));
  lastLaunchStream = lastCopyStream = nullptr;
  ccMajor = 9;
  ccMinor = 0;
  loadedImages.clear();
  lastParams.clear();
  launchedWords.clear();
}
/// The number of parameters of the last launch of a kernel whose PTX was
/// loaded; the size and bytes of parameter `index` (0 when out of range).
FAKE_EXPORT int fakeCudaLastParamCount() {
  std::lock_guard<std::mutex> lock(mutex);
  return int(lastParams.size());
}
FAKE_EXPORT size_t fakeCudaLastParam(int index, void *out, size_t capacity) {
  std::lock_guard<std::mutex> lock(mutex);
  if (index < 0 || size_t(index) >= lastParams.size())
    return 0;
  const std::string &p = lastParams[index];
  std::memcpy(out, p.data(), p.size() < capacity ? p.size() : capacity);
  return p.size();
}
/// How many launches (of kernels with known parameters) since the reset
/// had an 8-byte parameter equal to `value`.
FAKE_EXPORT int fakeCudaLaunchesWith(uint64_t value) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = launchedWords.find(value);
  return it == launchedWords.end() ? 0 : it->second;
}
FAKE_EXPORT void fakeCudaSetComputeCapability(int major, int minor) {
  std::lock_guard<std::mutex> lock(mutex);
  ccMajor = major;
  ccMinor = minor;
}
/// Size and hash of the `index`th image loaded since the reset; false when
/// fewer were loaded.
FAKE_EXPORT bool fakeCudaLoadedImage(int index, uint64_t *size,
                                     uint64_t *hash) {
  std::lock_guard<std::mutex> lock(mutex);
  if (index < 0 || size_t(index) >= loadedImages.size())
    return false;
  *size = loadedImages[index].size;
  *hash = loadedImages[index].hash;
  return true;
}
FAKE_EXPORT void fakeCudaFail(const char *call, int result) {
  std::lock_guard<std::mutex> lock(mutex);
  failures[call] = result;
}
FAKE_EXPORT void fakeCudaSetDeviceCount(int n) { deviceCount = n; }
FAKE_EXPORT int fakeCudaCalls(const char *call) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = calls.find(call);
  return it == calls.end() ? 0 : it->second;
}
/// Live allocations, streams, events, modules and the context stack depth.
FAKE_EXPORT void fakeCudaLive(int *out5) {
  out5[0] = liveAllocations;
  out5[1] = liveStreams;
  out5[2] = liveEvents;
  out5[3] = liveModules;
  out5[4] = contextDepth;
}
/// grid x/y/z, block x/y/z, shared memory of the last launch.
FAKE_EXPORT const unsigned *fakeCudaLastLaunch() { return lastLaunch; }
FAKE_EXPORT int fakeCudaLastFuncAttribute() { return lastFuncAttribute; }
/// The streams of the last cuLaunchKernel and the last cuMemcpyAsync.
FAKE_EXPORT void fakeCudaLastStreams(void **launch, void **copy) {
  *launch = lastLaunchStream;
  *copy = lastCopyStream;
}

// --- driver API
// ------------------------------------------------------------------
FAKE_EXPORT CUresult cuGetErrorName(CUresult r, const char **name) {
  for (const ErrorText &e : errorTexts)
    if (e.code == r) {
      *name = e.name;
      return 0;
    }
  *name = nullptr;
  return 1;
}
FAKE_EXPORT CUresult cuGetErrorString(CUresult r, const char **text) {
  for (const ErrorText &e : errorTexts)
    if (e.code == r) {
      *text = e.text;
      return 0;
    }
  *text = nullptr;
  return 1;
}
FAKE_EXPORT CUresult cuInit(unsigned) { return enter("cuInit"); }
FAKE_EXPORT CUresult cuDeviceGetCount(int *n) {
  CUresult r = enter("cuDeviceGetCount");
  if (!r)
    *n = deviceCount;
  return r;
}
FAKE_EXPORT CUresult cuDeviceGet(int *device, int ordinal) {
  CUresult r = enter("cuDeviceGet");
  if (!r && (ordinal < 0 || ordinal >= deviceCount))
    return 101; // CUDA_ERROR_INVALID_DEVICE
  if (!r)
    *device = ordinal;
  return r;
}
FAKE_EXPORT CUresult cuDeviceGetName(char *name, int len, int) {
  CUresult r = enter("cuDeviceGetName");
  if (!r)
    std::strncpy(name, "Fake GPU", len);
  return r;
}
FAKE_EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute, int) {
  CUresult r = enter("cuDeviceGetAttribute");
  if (r)
    return r;
  switch (attribute) {
  case 75:
    *value = ccMajor;
    break; // compute capability major
  case 76:
    *value = ccMinor;
    break; // minor
  case 97:
    *value = 227 * 1024;
    break; // opt-in shared memory per block
  default:
    *value = 0;
  }
  return 0;
}
FAKE_EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
  CUresult r = enter("cuDevicePrimaryCtxRetain");
  if (!r)
    *ctx = reinterpret_cast<void *>(0xc0);
  return r;
}
FAKE_EXPORT CUresult cuCtxPushCurrent_v2(void *) {
  CUresult r = enter("cuCtxPushCurrent_v2");
  if (!r)
    ++contextDepth;
  return r;
}
FAKE_EXPORT CUresult cuCtxPopCurrent_v2(void **ctx) {
  CUresult r = enter("cuCtxPopCurrent_v2");
  if (!r) {
    --contextDepth;
    if (ctx)
      *ctx = reinterpret_cast<void *>(0xc0);
  }
  return r;
}
FAKE_EXPORT CUresult cuCtxSynchronize() { return enter("cuCtxSynchronize"); }
/// The size of an image: an ELF file ends with its section or program
/// header table (whichever is last); PTX is text up to its NUL.
static uint64_t imageSize(const void *image) {
  const auto *p = static_cast<const unsigned char *>(image);
  if (std::memcmp(p,
                  "\x7f"
                  "ELF",
                  4) != 0)
    return std::strlen(static_cast<const char *>(image));
  uint64_t phoff, shoff;
  uint16_t phentsize, phnum, shentsize, shnum;
  std::memcpy(&phoff, p + 0x20, 8);
  std::memcpy(&shoff, p + 0x28, 8);
  std::memcpy(&phentsize, p + 0x36, 2);
  std::memcpy(&phnum, p + 0x38, 2);
  std::memcpy(&shentsize, p + 0x3a, 2);
  std::memcpy(&shnum, p + 0x3c, 2);
  uint64_t sections = shoff + uint64_t(shentsize) * shnum;
  uint64_t programs = phoff + uint64_t(phentsize) * phnum;
  return sections > programs ? sections : programs;
}

static uint64_t fnv1a64(const void *data, uint64_t size) {
  const auto *p = static_cast<const unsigned char *>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

FAKE_EXPORT CUresult cuModuleLoadDataEx(void **module, const void *image,
                                        unsigned count, int *options,
                                        void **values) {
  CUresult r = enter("cuModuleLoadDataEx");
  if (!r && image) {
    uint64_t size = imageSize(image);
    std::lock_guard<std::mutex> lock(mutex);
    loadedImages.push_back({size, fnv1a64(image, size)});
  }
  if (r) {
    for (unsigned i = 0; i < count; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::strcpy(static_cast<char *>(values[i]),
                    "ptxas application ptx input, line 7; error   : bad\n");
    return r;
  }
  *module = newHandle();
  ++liveModules;
  if (std::memcmp(image,
                  "\x7f"
                  "ELF",
                  4) != 0) {
    std::lock_guard<std::mutex> lock(mutex);
    modulePtx[*module] = static_cast<const char *>(image);
  }
  return 0;
}

/// Bytes of a PTX parameter declaration (".param .u64 .ptr .align 1 x",
/// ".param .align 8 .b8 x[24]"); 0 if unknown.
static size_t paramBytes(const std::string &decl) {
  static const char *types[] = {"8", "16", "32", "64"};
  size_t bytes = 0;
  for (const char *kind : {".u", ".s", ".b", ".f"})
    for (const char *bits : types) {
      std::string t = std::string(kind) + bits + " ";
      if (decl.find(t) != std::string::npos)
        bytes = std::atoi(bits) / 8;
    }
  size_t open = decl.find('[');
  if (open != std::string::npos)
    bytes *= std::atoi(decl.c_str() + open + 1);
  return bytes;
}

/// The parameter sizes of `.entry name(...)` in `ptx`.
static std::vector<size_t> entryParams(const std::string &ptx,
                                       const char *name) {
  std::vector<size_t> sizes;
  size_t at = ptx.find(std::string(".entry ") + name + "(");
  if (at == std::string::npos)
    return sizes;
  size_t end = ptx.find(')', at);
  for (size_t p = ptx.find(".param", at); p < end;
       p = ptx.find(".param", p + 1)) {
    size_t stop = ptx.find_first_of(",)", p);
    sizes.push_back(paramBytes(ptx.substr(p, stop - p) + " "));
  }
  return sizes;
}
FAKE_EXPORT CUresult cuModuleUnload(void *) {
  CUresult r = enter("cuModuleUnload");
  if (!r)
    --liveModules;
  return r;
}
FAKE_EXPORT CUresult cuModuleGetFunction(void **fn, void *module,
                                         const char *name) {
  CUresult r = enter("cuModuleGetFunction");
  if (r)
    return r;
  *fn = newHandle();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = modulePtx.find(module);
  if (it != modulePtx.end())
    kernelParams[*fn] = entryParams(it->second, name);
  return 0;
}

/// Keeps the parameters of a launch of `fn` when their sizes are known.
static void recordParams(void *fn, void **params) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = kernelParams.find(fn);
  if (it == kernelParams.end() || !params)
    return;
  lastParams.clear();
  for (size_t i = 0; i < it->second.size(); ++i) {
    const char *p = static_cast<const char *>(params[i]);
    lastParams.emplace_back(p, it->second[i]);
    if (it->second[i] == 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      ++launchedWords[word];
    }
  }
}
FAKE_EXPORT CUresult cuFuncSetAttribute(void *, int attribute, int value) {
  CUresult r = enter("cuFuncSetAttribute");
  if (!r && attribute == 8)
    lastFuncAttribute = value;
  return r;
}
FAKE_EXPORT CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy,
                                    unsigned gz, unsigned bx, unsigned by,
                                    unsigned bz, unsigned smem, void *stream,
                                    void **params, void **) {
  CUresult r = enter("cuLaunchKernel");
  if (!r) {
    recordParams(fn, params);
    lastLaunchStream = stream;
    unsigned l[7] = {gx, gy, gz, bx, by, bz, smem};
    std::memcpy(lastLaunch, l, sizeof(l));
  }
  return r;
}
FAKE_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  CUresult r = enter("cuMemAlloc_v2");
  if (r)
    return r;
  *ptr = reinterpret_cast<uintptr_t>(std::malloc(bytes));
  ++liveAllocations;
  return 0;
}
FAKE_EXPORT CUresult cuMemAllocAsync(CUdeviceptr *ptr, size_t bytes, void *) {
  CUresult r = enter("cuMemAllocAsync");
  if (r)
    return r;
  *ptr = reinterpret_cast<uintptr_t>(std::malloc(bytes));
  ++liveAllocations;
  return 0;
}
FAKE_EXPORT CUresult cuMemFree_v2(CUdeviceptr ptr) {
  CUresult r = enter("cuMemFree_v2");
  if (!r) {
    std::free(reinterpret_cast<void *>(uintptr_t(ptr)));
    --liveAllocations;
  }
  return r;
}
FAKE_EXPORT CUresult cuMemFreeAsync(CUdeviceptr ptr, void *) {
  CUresult r = enter("cuMemFreeAsync");
  if (!r) {
    std::free(reinterpret_cast<void *>(uintptr_t(ptr)));
    --liveAllocations;
  }
  return r;
}
FAKE_EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src,
                                   size_t bytes, void *stream) {
  CUresult r = enter("cuMemcpyAsync");
  if (r)
    return r;
  lastCopyStream = stream;
  std::memcpy(reinterpret_cast<void *>(uintptr_t(dst)),
              reinterpret_cast<void *>(uintptr_t(src)), bytes);
  return 0;
}
FAKE_EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t n,
                                      void *) {
  CUresult r = enter("cuMemsetD32Async");
  auto *p = reinterpret_cast<uint32_t *>(uintptr_t(dst));
  for (size_t i = 0; !r && i < n; ++i)
    p[i] = value;
  return r;
}
FAKE_EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value,
                                      size_t n, void *) {
  CUresult r = enter("cuMemsetD16Async");
  auto *p = reinterpret_cast<uint16_t *>(uintptr_t(dst));
  for (size_t i = 0; !r && i < n; ++i)
    p[i] = value;
  return r;
}
FAKE_EXPORT CUresult cuStreamCreate(void **stream, unsigned) {
  CUresult r = enter("cuStreamCreate");
  if (!r) {
    *stream = newHandle();
    ++liveStreams;
  }
  return r;
}
FAKE_EXPORT CUresult cuStreamDestroy_v2(void *) {
  CUresult r = enter("cuStreamDestroy_v2");
  if (!r)
    --liveStreams;
  return r;
}
FAKE_EXPORT CUresult cuStreamSynchronize(void *) {
  return enter("cuStreamSynchronize");
}
FAKE_EXPORT CUresult cuStreamWaitEvent(void *, void *, unsigned) {
  return enter("cuStreamWaitEvent");
}
FAKE_EXPORT CUresult cuEventCreate(void **event, unsigned) {
  CUresult r = enter("cuEventCreate");
  if (!r) {
    *event = newHandle();
    ++liveEvents;
  }
  return r;
}
FAKE_EXPORT CUresult cuEventDestroy_v2(void *) {
  CUresult r = enter("cuEventDestroy_v2");
  if (!r)
    --liveEvents;
  return r;
}
FAKE_EXPORT CUresult cuEventSynchronize(void *) {
  return enter("cuEventSynchronize");
}
FAKE_EXPORT CUresult cuEventRecord(void *, void *) {
  return enter("cuEventRecord");
}
FAKE_EXPORT CUresult cuEventElapsedTime_v2(float *ms, void *, void *) {
  CUresult r = enter("cuEventElapsedTime_v2");
  if (!r)
    *ms = 1.25f;
  return r;
}
FAKE_EXPORT CUresult cuMemHostRegister_v2(void *, size_t, unsigned) {
  return enter("cuMemHostRegister_v2");
}
FAKE_EXPORT CUresult cuMemHostUnregister(void *) {
  return enter("cuMemHostUnregister");
}
FAKE_EXPORT CUresult cuMemAllocManaged(CUdeviceptr *ptr, size_t bytes,
                                       unsigned) {
  CUresult r = enter("cuMemAllocManaged");
  if (r)
    return r;
  *ptr = reinterpret_cast<uintptr_t>(std::malloc(bytes));
  ++liveAllocations;
  return 0;
}

namespace {
struct FakeLaunchAttribute {
  int id;
  char pad[4];
  unsigned value[16];
};
struct FakeLaunchConfig {
  unsigned grid[3], block[3], smem;
  void *stream;
  FakeLaunchAttribute *attrs;
  unsigned numAttrs;
};
unsigned lastCluster[3] = {0};
uint64_t lastTensorMap[6] = {0}; // rank, dims innermost first, then box[0]
} // namespace

FAKE_EXPORT const unsigned *fakeCudaLastCluster() { return lastCluster; }
FAKE_EXPORT const uint64_t *fakeCudaLastTensorMap() { return lastTensorMap; }

FAKE_EXPORT CUresult cuLaunchKernelEx(const FakeLaunchConfig *config, void *,
                                      void **, void **) {
  CUresult r = enter("cuLaunchKernelEx");
  if (r)
    return r;
  unsigned l[7] = {config->grid[0],  config->grid[1],  config->grid[2],
                   config->block[0], config->block[1], config->block[2],
                   config->smem};
  std::memcpy(lastLaunch, l, sizeof(l));
  for (unsigned i = 0; i < config->numAttrs; ++i)
    if (config->attrs[i].id == 4) // cluster dimension
      std::memcpy(lastCluster, config->attrs[i].value, sizeof(lastCluster));
  return 0;
}

FAKE_EXPORT CUresult cuTensorMapEncodeTiled(void *map, int, unsigned rank,
                                            void *, const uint64_t *dims,
                                            const uint64_t *,
                                            const unsigned *box,
                                            const unsigned *, int, int, int,
                                            int) {
  CUresult r = enter("cuTensorMapEncodeTiled");
  if (r)
    return r;
  std::memset(map, 0, 128);
  lastTensorMap[0] = rank;
  for (unsigned i = 0; i < rank && i < 4; ++i)
    lastTensorMap[1 + i] = dims[i];
  lastTensorMap[5] = box[0];
  return 0;
}
