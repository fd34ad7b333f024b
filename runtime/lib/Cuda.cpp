//===- Cuda.cpp - the mgpu* runtime over the dlopen'ed CUDA driver --------===//
//
// No CUDA header is needed: the few driver types, constants and function
// signatures used here are declared below as the driver API defines them.
//
//===----------------------------------------------------------------------===//
#include "mixrt/Cuda.h"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace {

// --- driver API declarations -------------------------------------------------
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
constexpr int CU_STREAM_NON_BLOCKING = 1;
constexpr int CU_EVENT_DISABLE_TIMING = 2;
constexpr int CU_MEM_ATTACH_GLOBAL = 1;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7;
constexpr int CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4;
/// Dynamic shared memory a kernel may use without opting in.
constexpr int kDefaultSharedMemoryLimit = 48 * 1024;

struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};
struct alignas(128) CUtensorMap {
  uint64_t opaque[16];
};

/// The driver entry points, resolved by their exported (versioned) names.
struct Driver {
  void *handle = nullptr;
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*deviceGetCount)(int *) = nullptr;
  CUresult (*deviceGet)(CUdevice *, int) = nullptr;
  CUresult (*deviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*deviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*ctxPushCurrent)(CUcontext) = nullptr;
  CUresult (*ctxPopCurrent)(CUcontext *) = nullptr;
  CUresult (*ctxSynchronize)() = nullptr;
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                               void **) = nullptr;
  CUresult (*moduleUnload)(CUmodule) = nullptr;
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *) = nullptr;
  CUresult (*funcSetAttribute)(CUfunction, int, int) = nullptr;
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **) = nullptr;
  CUresult (*memAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*memFree)(CUdeviceptr) = nullptr;
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream) = nullptr;
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream) = nullptr;
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t,
                             CUstream) = nullptr;
  CUresult (*streamCreate)(CUstream *, unsigned) = nullptr;
  CUresult (*streamDestroy)(CUstream) = nullptr;
  CUresult (*streamSynchronize)(CUstream) = nullptr;
  CUresult (*streamWaitEvent)(CUstream, CUevent, unsigned) = nullptr;
  CUresult (*eventCreate)(CUevent *, unsigned) = nullptr;
  CUresult (*eventDestroy)(CUevent) = nullptr;
  CUresult (*eventSynchronize)(CUevent) = nullptr;
  CUresult (*eventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent) = nullptr;
  CUresult (*getErrorName)(CUresult, const char **) = nullptr;
  CUresult (*getErrorString)(CUresult, const char **) = nullptr;
  // Optional: missing in old drivers; used only by the calls that need them.
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream) = nullptr;
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream) = nullptr;
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned) = nullptr;
  CUresult (*memHostRegister)(void *, size_t, unsigned) = nullptr;
  CUresult (*memHostUnregister)(void *) = nullptr;
  CUresult (*launchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                             void **) = nullptr;
  CUresult (*tensorMapEncodeTiled)(CUtensorMap *, int, unsigned, void *,
                                   const uint64_t *, const uint64_t *,
                                   const unsigned *, const unsigned *, int, int,
                                   int, int) = nullptr;
};

/// Process-wide state: the driver, whether it initialised, and the primary
/// context of each device used so far.
struct State {
  std::mutex mutex;
  bool attempted = false;
  mixrt::Status initStatus;
  Driver driver;
  int deviceCount = 0;
  std::map<int, CUcontext> contexts;
  /// Buffers from the stream-ordered allocator (freed differently).
  std::mutex allocMutex;
  std::set<uintptr_t> asyncAllocations;
};

State &state() {
  static State *s = new State(); // never destroyed: used by exit-time dtors
  return *s;
}

/// The first error recorded on this thread.
struct ThreadError {
  bool failed = false;
  std::string message;
};
thread_local ThreadError threadError;
thread_local int defaultDevice = 0;
/// The caller's stream that host code on this thread runs on (null: its
/// own), set by CudaStreamScope.
thread_local void *boundStream = nullptr;
/// The interceptor of device calls on this thread (CudaInterceptScope).
thread_local mixrt::CudaCallInterceptor *interceptor = nullptr;
/// Whether launches, memsets and events are skipped on this thread.
bool dryRun() { return interceptor && interceptor->dryRun(); }

/// Events around the kernels launched on this thread (cudaProfileKernels).
struct KernelTimer {
  bool enabled = false;
  CUevent start = nullptr, end = nullptr;
};
thread_local KernelTimer kernelTimer;

void recordError(std::string message) {
  if (threadError.failed)
    return;
  threadError.failed = true;
  threadError.message = std::move(message);
}

std::string describeResult(const Driver &d, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (d.getErrorName)
    d.getErrorName(r, &name);
  if (d.getErrorString)
    d.getErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text && *text)
    s += std::string(" (") + text + ")";
  return s;
}

std::string failure(const Driver &d, const std::string &call, CUresult r) {
  return call + " failed: " + describeResult(d, r);
}

/// Records a failed driver call made on behalf of `api`; true on success.
bool check(const Driver &d, const char *api, const char *call, CUresult r) {
  if (r == CUDA_SUCCESS)
    return true;
  recordError(std::string(api) + ": " + failure(d, call, r));
  return false;
}

template <typename Fn>
bool resolve(void *handle, const char *name, Fn &fn, std::string *missing) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
  if (!fn && missing && missing->empty())
    *missing = name;
  return fn != nullptr;
}

mixrt::Status loadDriver(State &s) {
  std::string path = mixrt::cudaDriverPath();
  dlerror();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return mixrt::Status::error("no CUDA driver (" +
                                std::string(why ? why : path) + ")");
  }
  Driver &d = s.driver;
  d.handle = handle;
  std::string missing;
  resolve(handle, "cuInit", d.init, &missing);
  resolve(handle, "cuDeviceGetCount", d.deviceGetCount, &missing);
  resolve(handle, "cuDeviceGet", d.deviceGet, &missing);
  resolve(handle, "cuDeviceGetName", d.deviceGetName, &missing);
  resolve(handle, "cuDeviceGetAttribute", d.deviceGetAttribute, &missing);
  resolve(handle, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain, &missing);
  resolve(handle, "cuCtxPushCurrent_v2", d.ctxPushCurrent, &missing);
  resolve(handle, "cuCtxPopCurrent_v2", d.ctxPopCurrent, &missing);
  resolve(handle, "cuCtxSynchronize", d.ctxSynchronize, &missing);
  resolve(handle, "cuModuleLoadDataEx", d.moduleLoadDataEx, &missing);
  resolve(handle, "cuModuleUnload", d.moduleUnload, &missing);
  resolve(handle, "cuModuleGetFunction", d.moduleGetFunction, &missing);
  resolve(handle, "cuFuncSetAttribute", d.funcSetAttribute, &missing);
  resolve(handle, "cuLaunchKernel", d.launchKernel, &missing);
  resolve(handle, "cuMemAlloc_v2", d.memAlloc, &missing);
  resolve(handle, "cuMemFree_v2", d.memFree, &missing);
  resolve(handle, "cuMemcpyAsync", d.memcpyAsync, &missing);
  resolve(handle, "cuMemsetD32Async", d.memsetD32Async, &missing);
  resolve(handle, "cuMemsetD16Async", d.memsetD16Async, &missing);
  resolve(handle, "cuStreamCreate", d.streamCreate, &missing);
  resolve(handle, "cuStreamDestroy_v2", d.streamDestroy, &missing);
  resolve(handle, "cuStreamSynchronize", d.streamSynchronize, &missing);
  resolve(handle, "cuStreamWaitEvent", d.streamWaitEvent, &missing);
  resolve(handle, "cuEventCreate", d.eventCreate, &missing);
  resolve(handle, "cuEventDestroy_v2", d.eventDestroy, &missing);
  resolve(handle, "cuEventSynchronize", d.eventSynchronize, &missing);
  resolve(handle, "cuEventRecord", d.eventRecord, &missing);
  if (!resolve(handle, "cuEventElapsedTime_v2", d.eventElapsedTime, nullptr))
    resolve(handle, "cuEventElapsedTime", d.eventElapsedTime, nullptr);
  resolve(handle, "cuGetErrorName", d.getErrorName, &missing);
  resolve(handle, "cuGetErrorString", d.getErrorString, &missing);
  resolve(handle, "cuMemAllocAsync", d.memAllocAsync, nullptr);
  resolve(handle, "cuMemFreeAsync", d.memFreeAsync, nullptr);
  resolve(handle, "cuMemAllocManaged", d.memAllocManaged, nullptr);
  resolve(handle, "cuMemHostRegister_v2", d.memHostRegister, nullptr);
  resolve(handle, "cuMemHostUnregister", d.memHostUnregister, nullptr);
  resolve(handle, "cuLaunchKernelEx", d.launchKernelEx, nullptr);
  resolve(handle, "cuTensorMapEncodeTiled", d.tensorMapEncodeTiled, nullptr);
  // Stream-ordered allocation only as a pair.
  if (!d.memAllocAsync || !d.memFreeAsync)
    d.memAllocAsync = nullptr, d.memFreeAsync = nullptr;
  if (!missing.empty())
    return mixrt::Status::error("CUDA driver " + path + " lacks " + missing +
                                " (driver too old?)");
  if (CUresult r = d.init(0))
    return mixrt::Status::error(failure(d, "cuInit", r));
  if (CUresult r = d.deviceGetCount(&s.deviceCount))
    return mixrt::Status::error(failure(d, "cuDeviceGetCount", r));
  if (s.deviceCount <= 0)
    return mixrt::Status::error("no CUDA device (the driver reports none)");
  return mixrt::Status::ok();
}

/// Loads the driver once per process; the status of that attempt.
const mixrt::Status &ensureDriver() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.attempted) {
    s.attempted = true;
    s.initStatus = loadDriver(s);
  }
  return s.initStatus;
}

/// The driver, or null with the reason recorded on this thread for `api`.
const Driver *driverFor(const char *api) {
  const mixrt::Status &st = ensureDriver();
  if (!st) {
    recordError(std::string(api) + ": " + st.message());
    return nullptr;
  }
  return &state().driver;
}

/// The primary context of the thread's default device (retained once).
CUcontext contextFor(const Driver &d, const char *api) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  int ordinal = defaultDevice;
  auto it = s.contexts.find(ordinal);
  if (it != s.contexts.end())
    return it->second;
  if (ordinal < 0 || ordinal >= s.deviceCount) {
    recordError(std::string(api) + ": no CUDA device " +
                std::to_string(ordinal) + " (the driver reports " +
                std::to_string(s.deviceCount) + ")");
    return nullptr;
  }
  CUdevice device = 0;
  if (!check(d, api, "cuDeviceGet", d.deviceGet(&device, ordinal)))
    return nullptr;
  CUcontext ctx = nullptr;
  if (!check(d, api, "cuDevicePrimaryCtxRetain",
             d.primaryCtxRetain(&ctx, device)))
    return nullptr;
  s.contexts[ordinal] = ctx;
  return ctx;
}

/// Makes the default device's primary context current for one mgpu call and
/// restores the caller's context afterwards (PyTorch may share the thread).
class Scope {
public:
  /// `startsWork`: skip when an error is already pending on this thread.
  Scope(const char *api, bool startsWork) : api(api) {
    if (startsWork && threadError.failed)
      return;
    d = driverFor(api);
    if (!d)
      return;
    CUcontext ctx = contextFor(*d, api);
    if (!ctx || !check(*d, api, "cuCtxPushCurrent", d->ctxPushCurrent(ctx))) {
      d = nullptr;
      return;
    }
    pushed = true;
  }
  ~Scope() {
    if (pushed) {
      CUcontext popped = nullptr;
      check(*d, api, "cuCtxPopCurrent", d->ctxPopCurrent(&popped));
    }
  }
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;
  /// The driver when the call may go ahead, else null.
  const Driver *driver() const { return pushed ? d : nullptr; }
  bool ok(const char *call, CUresult r) const {
    return check(*d, api, call, r);
  }

private:
  const char *api;
  const Driver *d = nullptr;
  bool pushed = false;
};

CUdeviceptr devicePtr(const void *p) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(p));
}

bool toDim(const char *api, const char *what, intptr_t v, unsigned &out) {
  if (v < 0 || static_cast<uint64_t>(v) > UINT_MAX) {
    recordError(std::string(api) + ": " + what + " " + std::to_string(v) +
                " is out of range");
    return false;
  }
  out = static_cast<unsigned>(v);
  return true;
}

/// Allows `smem` bytes of dynamic shared memory for `fn` when above the
/// default limit; false (with the error recorded) if the device has less.
bool allowSharedMemory(const Scope &scope, const Driver &d, const char *api,
                       CUfunction fn, int32_t smem) {
  if (smem < 0) {
    recordError(std::string(api) + ": negative shared memory size " +
                std::to_string(smem));
    return false;
  }
  if (smem <= kDefaultSharedMemoryLimit)
    return true;
  CUdevice device = 0;
  int limit = 0;
  if (!scope.ok("cuDeviceGet", d.deviceGet(&device, defaultDevice)) ||
      !scope.ok("cuDeviceGetAttribute",
                d.deviceGetAttribute(
                    &limit,
                    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                    device)))
    return false;
  if (smem > limit) {
    recordError(std::string(api) + ": kernel needs " + std::to_string(smem) +
                " bytes of shared memory, the device allows " +
                std::to_string(limit));
    return false;
  }
  return scope.ok(
      "cuFuncSetAttribute",
      d.funcSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                         smem));
}

/// With kernel timing on: records the start event before the first launch
/// (`before`) and the end event after every launch.
void timeLaunch(const Scope &scope, const Driver &d, CUstream stream,
                bool before) {
  KernelTimer &t = kernelTimer;
  if (!t.enabled)
    return;
  CUevent &event = before ? t.start : t.end;
  if (before && t.start)
    return; // timing from the first launch since the last take
  if (!event && !scope.ok("cuEventCreate", d.eventCreate(&event, 0)))
    return;
  scope.ok("cuEventRecord", d.eventRecord(event, stream));
}

/// Loads an image; with `jitOptLevel` >= 0 it is PTX compiled by the driver.
void *loadModule(const char *api, const void *data, int jitOptLevel) {
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return nullptr;
  if (!data) {
    recordError(std::string(api) + ": null image");
    return nullptr;
  }
  char log[8192] = {0};
  int options[3] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                    CU_JIT_OPTIMIZATION_LEVEL};
  void *values[3] = {
      log, reinterpret_cast<void *>(uintptr_t(sizeof(log) - 1)),
      reinterpret_cast<void *>(uintptr_t(jitOptLevel < 0 ? 4 : jitOptLevel))};
  unsigned count = jitOptLevel < 0 ? 2 : 3;
  CUmodule module = nullptr;
  CUresult r = d->moduleLoadDataEx(&module, data, count, options, values);
  if (r != CUDA_SUCCESS) {
    std::string message =
        std::string(api) + ": " + failure(*d, "cuModuleLoadDataEx", r);
    std::string text(log, strnlen(log, sizeof(log)));
    for (char &c : text)
      if (c == '\n' || c == '\r')
        c = ' ';
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    if (!text.empty())
      message += ": " + text;
    recordError(std::move(message));
    return nullptr;
  }
  return module;
}

struct StridedMemRef {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes[1]; // sizes[rank], then strides[rank]
};

/// Start and byte size of a dense memref; false if it is not dense.
bool denseRange(const char *api, int64_t rank, void *descriptor,
                int64_t elementSize, char *&start, uint64_t &bytes) {
  auto *m = static_cast<StridedMemRef *>(descriptor);
  const int64_t *sizes = m->sizes;
  const int64_t *strides = m->sizes + rank;
  int64_t expect = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (sizes[i] != 1 && strides[i] != expect) {
      recordError(std::string(api) + ": memref is not dense (dim " +
                  std::to_string(i) + " has stride " +
                  std::to_string(strides[i]) + ", expected " +
                  std::to_string(expect) + ")");
      return false;
    }
    expect *= sizes[i];
  }
  start = m->aligned + m->offset * elementSize;
  bytes = static_cast<uint64_t>(expect) * elementSize;
  return true;
}

} // namespace

namespace mixrt {

std::string cudaDriverPath() {
  const char *env = std::getenv("MIXIR_LIBCUDA_PATH");
  return env && *env ? env : "libcuda.so.1";
}

bool cudaAvailable(std::string *why) {
  const Status &s = ensureDriver();
  if (!s && why)
    *why = s.message();
  return s.isOk();
}

namespace {
/// Name and compute capability of the thread's default device.
Status queryDevice(std::string *name, int &major, int &minor) {
  const Status &s = ensureDriver();
  if (!s)
    return s;
  const Driver &d = state().driver;
  CUdevice device = 0;
  char text[256] = {0};
  CUresult r = d.deviceGet(&device, defaultDevice);
  if (!r && name)
    r = d.deviceGetName(text, sizeof(text) - 1, device);
  if (!r)
    r = d.deviceGetAttribute(
        &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  if (!r)
    r = d.deviceGetAttribute(
        &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  if (r)
    return Status::error(
        failure(d, "querying CUDA device " + std::to_string(defaultDevice), r));
  if (name)
    *name = text;
  return Status::ok();
}
} // namespace

Status cudaDeviceArchitecture(std::string &chip) {
  int major = 0, minor = 0;
  if (Status s = queryDevice(nullptr, major, minor); !s)
    return s;
  chip = "sm_" + std::to_string(major) + std::to_string(minor);
  return Status::ok();
}

Status cudaDeviceDescription(std::string &description) {
  std::string name;
  int major = 0, minor = 0;
  if (Status s = queryDevice(&name, major, minor); !s)
    return s;
  description =
      name + " (sm_" + std::to_string(major) + std::to_string(minor) + ")";
  return Status::ok();
}

Status cudaTakeStatus() {
  if (!threadError.failed)
    return Status::ok();
  Status s = Status::error(std::move(threadError.message));
  threadError = ThreadError();
  return s;
}

bool cudaErrorPending() { return threadError.failed; }

void cudaRecordError(std::string message) { recordError(std::move(message)); }

CudaStreamScope::CudaStreamScope(void *stream) : previous(boundStream) {
  boundStream = stream;
}

CudaStreamScope::~CudaStreamScope() { boundStream = previous; }

CudaInterceptScope::CudaInterceptScope(CudaCallInterceptor *i)
    : previous(interceptor) {
  interceptor = i;
}

CudaInterceptScope::~CudaInterceptScope() { interceptor = previous; }

Status cudaAllocate(size_t bytes, void *&ptr) {
  ptr = nullptr;
  if (bytes == 0)
    return Status::ok();
  (void)cudaTakeStatus();
  Scope scope("cudaAllocate", /*startsWork=*/true);
  CUdeviceptr p = 0;
  if (const Driver *d = scope.driver())
    if (scope.ok("cuMemAlloc", d->memAlloc(&p, bytes)))
      ptr = reinterpret_cast<void *>(static_cast<uintptr_t>(p));
  return cudaTakeStatus();
}

Status cudaFree(void *ptr) {
  if (!ptr)
    return Status::ok();
  (void)cudaTakeStatus();
  {
    Scope scope("cudaFree", /*startsWork=*/false);
    if (const Driver *d = scope.driver())
      scope.ok("cuMemFree", d->memFree(devicePtr(ptr)));
  }
  return cudaTakeStatus();
}

Status cudaCopy(void *dst, const void *src, size_t bytes, void *stream) {
  if (bytes == 0)
    return Status::ok();
  (void)cudaTakeStatus();
  {
    Scope scope("cudaCopy", /*startsWork=*/true);
    auto s = static_cast<CUstream>(stream);
    if (const Driver *d = scope.driver())
      if (scope.ok("cuMemcpyAsync",
                   d->memcpyAsync(devicePtr(dst), devicePtr(src), bytes, s)))
        scope.ok("cuStreamSynchronize", d->streamSynchronize(s));
  }
  return cudaTakeStatus();
}

Status cudaSynchronize(void *stream) {
  (void)cudaTakeStatus();
  {
    Scope scope("cudaSynchronize", /*startsWork=*/false);
    if (const Driver *d = scope.driver())
      scope.ok("cuStreamSynchronize",
               d->streamSynchronize(static_cast<CUstream>(stream)));
  }
  return cudaTakeStatus();
}

void cudaProfileKernels(bool on) { kernelTimer.enabled = on; }

Status cudaTakeKernelTime(double &ms) {
  ms = 0;
  KernelTimer &t = kernelTimer;
  CUevent start = t.start, end = t.end;
  t.start = t.end = nullptr;
  if (!start || !end) {
    if (start || end)
      mgpuEventDestroy(start ? start : end);
    return Status::ok();
  }
  Status result = Status::ok();
  {
    Scope scope("cudaTakeKernelTime", /*startsWork=*/false);
    const Driver *d = scope.driver();
    float elapsed = 0;
    CUresult r = CUDA_SUCCESS;
    if (!d)
      result = cudaTakeStatus();
    else if (!d->eventElapsedTime)
      result = Status::error("the CUDA driver has no cuEventElapsedTime");
    else if ((r = d->eventSynchronize(end)) ||
             (r = d->eventElapsedTime(&elapsed, start, end)))
      result = Status::error(failure(*d, "timing the kernels", r));
    else
      ms = elapsed;
  }
  mgpuEventDestroy(start);
  mgpuEventDestroy(end);
  return result;
}

void cudaResetForTesting() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.driver.handle)
    dlclose(s.driver.handle);
  s.driver = Driver();
  s.attempted = false;
  s.initStatus = Status::ok();
  s.deviceCount = 0;
  s.contexts.clear();
  s.asyncAllocations.clear();
  threadError = ThreadError();
  defaultDevice = 0;
}

const std::vector<RuntimeSymbol> &cudaRuntimeSymbols() {
#define MIXRT_SYMBOL(fn)                                                       \
  RuntimeSymbol { #fn, reinterpret_cast<void *>(&fn) }
  static const std::vector<RuntimeSymbol> symbols = {
      MIXRT_SYMBOL(mgpuModuleLoad),
      MIXRT_SYMBOL(mgpuModuleLoadJIT),
      MIXRT_SYMBOL(mgpuModuleUnload),
      MIXRT_SYMBOL(mgpuModuleGetFunction),
      MIXRT_SYMBOL(mgpuLaunchKernel),
      MIXRT_SYMBOL(mgpuLaunchClusterKernel),
      MIXRT_SYMBOL(mgpuStreamCreate),
      MIXRT_SYMBOL(mgpuStreamDestroy),
      MIXRT_SYMBOL(mgpuStreamSynchronize),
      MIXRT_SYMBOL(mgpuStreamWaitEvent),
      MIXRT_SYMBOL(mgpuEventCreate),
      MIXRT_SYMBOL(mgpuEventDestroy),
      MIXRT_SYMBOL(mgpuEventSynchronize),
      MIXRT_SYMBOL(mgpuEventRecord),
      MIXRT_SYMBOL(mgpuMemAlloc),
      MIXRT_SYMBOL(mgpuMemFree),
      MIXRT_SYMBOL(mgpuMemcpy),
      MIXRT_SYMBOL(mgpuMemset32),
      MIXRT_SYMBOL(mgpuMemset16),
      MIXRT_SYMBOL(mgpuMemHostRegister),
      MIXRT_SYMBOL(mgpuMemHostUnregister),
      MIXRT_SYMBOL(mgpuMemHostRegisterMemRef),
      MIXRT_SYMBOL(mgpuMemHostUnregisterMemRef),
      MIXRT_SYMBOL(mgpuSetDefaultDevice),
      MIXRT_SYMBOL(mgpuTensorMapEncodeTiledMemref),
  };
#undef MIXRT_SYMBOL
  return symbols;
}

} // namespace mixrt

// --- the mgpu* ABI
// --------------------------------------------------------------

extern "C" void *mgpuModuleLoad(void *data, size_t /*size*/) {
  return loadModule("mgpuModuleLoad", data, -1);
}

extern "C" void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  return loadModule("mgpuModuleLoadJIT", ptx,
                    optLevel < 0 ? 0 : (optLevel > 4 ? 4 : optLevel));
}

extern "C" void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  Scope scope("mgpuModuleUnload", /*startsWork=*/false);
  if (const Driver *d = scope.driver())
    scope.ok("cuModuleUnload", d->moduleUnload(module));
}

extern "C" void *mgpuModuleGetFunction(void *module, const char *name) {
  const char *api = "mgpuModuleGetFunction";
  if (threadError.failed)
    return nullptr;
  if (!module) {
    recordError(std::string(api) + ": no module to take @" +
                (name ? name : "?") + " from (it was not loaded)");
    return nullptr;
  }
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return nullptr;
  CUfunction fn = nullptr;
  CUresult r = d->moduleGetFunction(&fn, module, name);
  if (r != CUDA_SUCCESS) {
    recordError(std::string(api) + ": " +
                failure(*d, "cuModuleGetFunction", r) + " for kernel '" +
                (name ? name : "") + "'");
    return nullptr;
  }
  return fn;
}

extern "C" void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                                 intptr_t gridZ, intptr_t blockX,
                                 intptr_t blockY, intptr_t blockZ, int32_t smem,
                                 void *stream, void **params, void **extra,
                                 size_t /*paramsCount*/) {
  const char *api = "mgpuLaunchKernel";
  if (threadError.failed)
    return;
  if (!function) {
    recordError(std::string(api) + ": no kernel to launch");
    return;
  }
  unsigned g[3], b[3];
  if (!toDim(api, "grid x", gridX, g[0]) ||
      !toDim(api, "grid y", gridY, g[1]) ||
      !toDim(api, "grid z", gridZ, g[2]) ||
      !toDim(api, "block x", blockX, b[0]) ||
      !toDim(api, "block y", blockY, b[1]) ||
      !toDim(api, "block z", blockZ, b[2]))
    return;
  if (g[0] * 1ull * g[1] * g[2] == 0 || dryRun())
    return; // an empty grid (e.g. zero tokens) launches nothing
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d || !allowSharedMemory(scope, *d, api, function, smem))
    return;
  timeLaunch(scope, *d, stream, /*before=*/true);
  if (scope.ok("cuLaunchKernel",
               d->launchKernel(function, g[0], g[1], g[2], b[0], b[1], b[2],
                               static_cast<unsigned>(smem), stream, params,
                               extra)))
    timeLaunch(scope, *d, stream, /*before=*/false);
}

extern "C" void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                                        intptr_t clusterY, intptr_t clusterZ,
                                        intptr_t gridX, intptr_t gridY,
                                        intptr_t gridZ, intptr_t blockX,
                                        intptr_t blockY, intptr_t blockZ,
                                        int32_t smem, void *stream,
                                        void **params, void **extra) {
  const char *api = "mgpuLaunchClusterKernel";
  if (threadError.failed)
    return;
  if (!function) {
    recordError(std::string(api) + ": no kernel to launch");
    return;
  }
  unsigned c[3], g[3], b[3];
  if (!toDim(api, "cluster x", clusterX, c[0]) ||
      !toDim(api, "cluster y", clusterY, c[1]) ||
      !toDim(api, "cluster z", clusterZ, c[2]) ||
      !toDim(api, "grid x", gridX, g[0]) ||
      !toDim(api, "grid y", gridY, g[1]) ||
      !toDim(api, "grid z", gridZ, g[2]) ||
      !toDim(api, "block x", blockX, b[0]) ||
      !toDim(api, "block y", blockY, b[1]) ||
      !toDim(api, "block z", blockZ, b[2]))
    return;
  if (g[0] * 1ull * g[1] * g[2] == 0 || dryRun())
    return;
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d || !allowSharedMemory(scope, *d, api, function, smem))
    return;
  if (!d->launchKernelEx) {
    recordError(std::string(api) +
                ": the CUDA driver has no cuLaunchKernelEx (cluster launches "
                "need CUDA 12 or newer)");
    return;
  }
  CUlaunchAttribute attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  attr.value.clusterDim.x = c[0];
  attr.value.clusterDim.y = c[1];
  attr.value.clusterDim.z = c[2];
  CUlaunchConfig config;
  std::memset(&config, 0, sizeof(config));
  config.gridDimX = g[0];
  config.gridDimY = g[1];
  config.gridDimZ = g[2];
  config.blockDimX = b[0];
  config.blockDimY = b[1];
  config.blockDimZ = b[2];
  config.sharedMemBytes = static_cast<unsigned>(smem);
  config.hStream = stream;
  config.attrs = &attr;
  config.numAttrs = 1;
  timeLaunch(scope, *d, stream, /*before=*/true);
  if (scope.ok("cuLaunchKernelEx",
               d->launchKernelEx(&config, function, params, extra)))
    timeLaunch(scope, *d, stream, /*before=*/false);
}

extern "C" void *mgpuStreamCreate() {
  if (interceptor)
    return interceptor->stream();
  if (boundStream)
    return boundStream;
  Scope scope("mgpuStreamCreate", /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return nullptr;
  CUstream stream = nullptr;
  if (!scope.ok("cuStreamCreate",
                d->streamCreate(&stream, CU_STREAM_NON_BLOCKING)))
    return nullptr;
  return stream;
}

extern "C" void mgpuStreamDestroy(void *stream) {
  if (!stream || stream == boundStream || interceptor)
    return;
  Scope scope("mgpuStreamDestroy", /*startsWork=*/false);
  if (const Driver *d = scope.driver())
    scope.ok("cuStreamDestroy", d->streamDestroy(stream));
}

extern "C" void mgpuStreamSynchronize(void *stream) {
  // Runs even after an error: work queued before it must finish before the
  // caller frees host buffers, and a fault surfaces here.
  if ((!stream && threadError.failed) || interceptor)
    return; // a device call never waits on the host
  Scope scope("mgpuStreamSynchronize", /*startsWork=*/false);
  if (const Driver *d = scope.driver())
    scope.ok("cuStreamSynchronize", d->streamSynchronize(stream));
}

extern "C" void mgpuStreamWaitEvent(void *stream, void *event) {
  if (threadError.failed || !event)
    return;
  Scope scope("mgpuStreamWaitEvent", /*startsWork=*/true);
  if (const Driver *d = scope.driver())
    scope.ok("cuStreamWaitEvent", d->streamWaitEvent(stream, event, 0));
}

extern "C" void *mgpuEventCreate() {
  if (dryRun())
    return nullptr;
  Scope scope("mgpuEventCreate", /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return nullptr;
  CUevent event = nullptr;
  if (!scope.ok("cuEventCreate",
                d->eventCreate(&event, CU_EVENT_DISABLE_TIMING)))
    return nullptr;
  return event;
}

extern "C" void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  Scope scope("mgpuEventDestroy", /*startsWork=*/false);
  if (const Driver *d = scope.driver())
    scope.ok("cuEventDestroy", d->eventDestroy(event));
}

extern "C" void mgpuEventSynchronize(void *event) {
  if (!event || interceptor)
    return;
  Scope scope("mgpuEventSynchronize", /*startsWork=*/false);
  if (const Driver *d = scope.driver())
    scope.ok("cuEventSynchronize", d->eventSynchronize(event));
}

extern "C" void mgpuEventRecord(void *event, void *stream) {
  if (threadError.failed || !event)
    return;
  Scope scope("mgpuEventRecord", /*startsWork=*/true);
  if (const Driver *d = scope.driver())
    scope.ok("cuEventRecord", d->eventRecord(event, stream));
}

extern "C" void *mgpuMemAlloc(uint64_t sizeBytes, void *stream,
                              int8_t isHostShared) {
  const char *api = "mgpuMemAlloc";
  if (sizeBytes == 0)
    return nullptr; // an empty buffer is never dereferenced
  if (void *p = nullptr; interceptor && interceptor->alloc(sizeBytes, p))
    return p;
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return nullptr;
  CUdeviceptr ptr = 0;
  if (isHostShared) {
    if (!d->memAllocManaged) {
      recordError(std::string(api) +
                  ": the CUDA driver has no cuMemAllocManaged");
      return nullptr;
    }
    if (!scope.ok("cuMemAllocManaged",
                  d->memAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL)))
      return nullptr;
  } else if (stream && d->memAllocAsync) {
    if (!scope.ok("cuMemAllocAsync", d->memAllocAsync(&ptr, sizeBytes, stream)))
      return nullptr;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.allocMutex);
    s.asyncAllocations.insert(static_cast<uintptr_t>(ptr));
  } else if (!scope.ok("cuMemAlloc", d->memAlloc(&ptr, sizeBytes))) {
    return nullptr;
  }
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

extern "C" void mgpuMemFree(void *ptr, void *stream) {
  if (!ptr || (interceptor && interceptor->free(ptr)))
    return;
  Scope scope("mgpuMemFree", /*startsWork=*/false);
  const Driver *d = scope.driver();
  if (!d)
    return;
  bool async = false;
  {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.allocMutex);
    async = s.asyncAllocations.erase(reinterpret_cast<uintptr_t>(ptr)) > 0;
  }
  // Stream-ordered buffers are freed in stream order; without a stream,
  // cuMemFree would not wait for pending work on them, so wait first.
  // Other buffers: cuMemFree, which synchronizes as needed.
  if (async && stream)
    scope.ok("cuMemFreeAsync", d->memFreeAsync(devicePtr(ptr), stream));
  else if (!async || scope.ok("cuCtxSynchronize", d->ctxSynchronize()))
    scope.ok("cuMemFree", d->memFree(devicePtr(ptr)));
}

extern "C" void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                           void *stream) {
  const char *api = "mgpuMemcpy";
  if (threadError.failed || sizeBytes == 0)
    return;
  if (!dst || !src) {
    recordError(std::string(api) + ": null " +
                (dst ? "source" : "destination") + " for a copy of " +
                std::to_string(sizeBytes) + " bytes");
    return;
  }
  if (interceptor && interceptor->copy(dst, src, sizeBytes))
    return;
  Scope scope(api, /*startsWork=*/true);
  if (const Driver *d = scope.driver())
    scope.ok("cuMemcpyAsync",
             d->memcpyAsync(devicePtr(dst), devicePtr(src), sizeBytes, stream));
}

/// mgpuMemset32 / mgpuMemset16: `count` elements of `value` at `dst` through
/// the driver entry `fill` (named `driverApi` in errors).
template <typename T, typename Fill>
static void memsetAsync(const char *api, const char *driverApi, Fill fill,
                        void *dst, T value, size_t count, void *stream) {
  if (threadError.failed || count == 0 || dryRun())
    return;
  if (!dst) {
    recordError(std::string(api) + ": null destination");
    return;
  }
  Scope scope(api, /*startsWork=*/true);
  if (const Driver *d = scope.driver())
    scope.ok(driverApi, (d->*fill)(devicePtr(dst), value, count, stream));
}

extern "C" void mgpuMemset32(void *dst, unsigned int value, size_t count,
                             void *stream) {
  memsetAsync("mgpuMemset32", "cuMemsetD32Async", &Driver::memsetD32Async, dst,
              value, count, stream);
}

extern "C" void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             void *stream) {
  memsetAsync("mgpuMemset16", "cuMemsetD16Async", &Driver::memsetD16Async, dst,
              value, count, stream);
}

extern "C" void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  const char *api = "mgpuMemHostRegister";
  if (threadError.failed || !ptr || sizeBytes == 0 || interceptor)
    return;
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return;
  if (!d->memHostRegister) {
    recordError(std::string(api) +
                ": the CUDA driver has no cuMemHostRegister");
    return;
  }
  scope.ok("cuMemHostRegister", d->memHostRegister(ptr, sizeBytes, 0));
}

extern "C" void mgpuMemHostUnregister(void *ptr) {
  if (!ptr || interceptor)
    return;
  Scope scope("mgpuMemHostUnregister", /*startsWork=*/false);
  const Driver *d = scope.driver();
  if (d && d->memHostUnregister)
    scope.ok("cuMemHostUnregister", d->memHostUnregister(ptr));
}

extern "C" void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                                          int64_t elementSizeBytes) {
  char *start = nullptr;
  uint64_t bytes = 0;
  if (threadError.failed || !descriptor ||
      !denseRange("mgpuMemHostRegisterMemRef", rank, descriptor,
                  elementSizeBytes, start, bytes))
    return;
  mgpuMemHostRegister(start, bytes);
}

extern "C" void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                            int64_t elementSizeBytes) {
  if (!descriptor)
    return;
  auto *m = static_cast<StridedMemRef *>(descriptor);
  (void)rank;
  mgpuMemHostUnregister(m->aligned + m->offset * elementSizeBytes);
}

extern "C" void mgpuSetDefaultDevice(int32_t device) { defaultDevice = device; }

extern "C" void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *descriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  const char *api = "mgpuTensorMapEncodeTiledMemref";
  // Bytes per element of each CUtensorMapDataType (uint8 ... tf32_ftz).
  static const int elementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  if (threadError.failed)
    return nullptr;
  if (interceptor) {
    recordError(std::string(api) +
                ": tensor maps are encoded with a host synchronisation, which "
                "a call on device buffers does not make");
    return nullptr;
  }
  if (rank < 1 || rank > 5 || dataType < 0 || dataType > 12 || !descriptor ||
      !boxDims) {
    recordError(std::string(api) + ": unsupported tensor map (rank " +
                std::to_string(rank) + ", data type " +
                std::to_string(dataType) + ")");
    return nullptr;
  }
  Scope scope(api, /*startsWork=*/true);
  const Driver *d = scope.driver();
  if (!d)
    return nullptr;
  if (!d->tensorMapEncodeTiled) {
    recordError(std::string(api) +
                ": the CUDA driver has no cuTensorMapEncodeTiled (TMA needs "
                "CUDA 12 or newer)");
    return nullptr;
  }
  auto *m = static_cast<StridedMemRef *>(descriptor);
  const int64_t *sizes = m->sizes;
  const int64_t *strides = m->sizes + rank;
  int64_t elem = elementBytes[dataType];
  // The driver lists dimensions innermost first.
  uint64_t globalDim[5] = {0}, globalStrides[5] = {0};
  unsigned boxDim[5] = {0}, elementStrides[5] = {1, 1, 1, 1, 1};
  for (int64_t i = 0; i < rank; ++i) {
    globalDim[i] = static_cast<uint64_t>(sizes[rank - 1 - i]);
    boxDim[i] = static_cast<unsigned>(boxDims[rank - 1 - i]);
  }
  for (int64_t i = 0; i + 1 < rank; ++i)
    globalStrides[i] = static_cast<uint64_t>(strides[rank - 2 - i] * elem);
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  void *base = m->aligned + m->offset * elem;
  if (!scope.ok("cuTensorMapEncodeTiled",
                d->tensorMapEncodeTiled(
                    &map, static_cast<int>(dataType),
                    static_cast<unsigned>(rank), base, globalDim, globalStrides,
                    boxDim, elementStrides, static_cast<int>(interleave),
                    static_cast<int>(swizzle), static_cast<int>(l2Promotion),
                    static_cast<int>(oobFill))))
    return nullptr;
  // Kernels take the map by device pointer (grid constant copied in).
  CUdeviceptr ptr = 0;
  if (!scope.ok("cuMemAlloc", d->memAlloc(&ptr, sizeof(map))))
    return nullptr;
  if (!scope.ok("cuMemcpyAsync",
                d->memcpyAsync(ptr, devicePtr(&map), sizeof(map), nullptr)) ||
      !scope.ok("cuStreamSynchronize", d->streamSynchronize(nullptr))) {
    d->memFree(ptr);
    return nullptr;
  }
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}
