//===- Cuda.h - the CUDA runtime behind compiled GPU code -------*- C++ -*-===//
//
// Host code compiled for target "cuda" (MLIR's gpu-to-llvm lowering) calls
// the `mgpu*` functions declared below. They run over the CUDA driver API,
// which is opened with dlopen on first use: nothing links against libcuda,
// so everything builds and runs where no driver is installed.
//
// The `mgpu*` functions return void or a handle, so a failure cannot be
// returned to the compiled code. Instead the first failure on the calling
// thread is recorded (the driver call, the error name and the driver's
// message) and the caller checks it after the compiled function returns with
// cudaTakeStatus(). While an error is pending on a thread, functions that
// would start work (allocations, copies, memsets, launches, module loads)
// do nothing and return null handles; functions that release resources
// (frees, unloads, destroys) still release what they are given.
//
// The driver library is $MIXIR_LIBCUDA_PATH when set, else libcuda.so.1.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_CUDA_H
#define MIXRT_CUDA_H

#include "mixrt/Types.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mixrt {

/// Loads the driver (once per process) and checks that it has a device.
/// On failure, `why` (when given) receives a one-line reason such as
/// "no CUDA driver (libcuda.so.1: cannot open shared object file: No such
/// file or directory)" or "cuInit failed: CUDA_ERROR_NO_DEVICE (no
/// CUDA-capable device is detected)".
bool cudaAvailable(std::string *why = nullptr);

/// The path handed to dlopen: $MIXIR_LIBCUDA_PATH or "libcuda.so.1".
std::string cudaDriverPath();

/// Name and compute capability of the default device, e.g.
/// "NVIDIA H100 80GB HBM3 (sm_90)".
Status cudaDeviceDescription(std::string &description);

/// The default device's architecture as MLIR's NVVM target names it,
/// e.g. "sm_90" (compute capability 9.0).
Status cudaDeviceArchitecture(std::string &chip);

/// The first CUDA error recorded on this thread since the last call, which
/// this clears; ok when there was none.
Status cudaTakeStatus();
/// Records `message` as this thread's error unless one is pending (for
/// runtime code that wraps the mgpu* functions).
void cudaRecordError(std::string message);
/// Whether an error is recorded on this thread (without clearing it).
bool cudaErrorPending();

/// While alive, compiled host code on this thread runs its work on `stream`
/// (a CUstream of the default device's primary context, or null for the
/// code's own streams): the streams it creates are `stream`, and destroying
/// them leaves it alone. Scopes nest.
class CudaStreamScope {
public:
  explicit CudaStreamScope(void *stream);
  ~CudaStreamScope();
  CudaStreamScope(const CudaStreamScope &) = delete;
  CudaStreamScope &operator=(const CudaStreamScope &) = delete;

private:
  void *previous;
};

/// Takes over the device work of compiled host code on this thread while
/// installed with CudaInterceptScope (calls on caller-owned device buffers,
/// CudaDeviceCall.cpp). The hooks return true when they handled the call.
/// While one is installed, host synchronisation (stream and event waits) is
/// skipped and every stream the code creates is stream().
class CudaCallInterceptor {
public:
  virtual ~CudaCallInterceptor() = default;
  virtual void *stream() = 0;
  /// Whether launches, memsets and events are skipped (a dry run that only
  /// records the code's allocations and copies).
  virtual bool dryRun() = 0;
  virtual bool alloc(uint64_t bytes, void *&result) = 0;
  virtual bool free(void *ptr) = 0;
  virtual bool copy(void *dst, void *src, size_t bytes) = 0;
};

/// Installs an interceptor for this thread while alive (scopes nest).
class CudaInterceptScope {
public:
  explicit CudaInterceptScope(CudaCallInterceptor *interceptor);
  ~CudaInterceptScope();
  CudaInterceptScope(const CudaInterceptScope &) = delete;
  CudaInterceptScope &operator=(const CudaInterceptScope &) = delete;

private:
  CudaCallInterceptor *previous;
};

/// Device memory of the default device for the caller (cuMemAlloc and
/// cuMemFree in its primary context); errors name the driver call.
Status cudaAllocate(size_t bytes, void *&ptr);
Status cudaFree(void *ptr);
/// Copies `bytes` between host and device memory in either direction (or
/// within the device), queued on `stream` (a CUstream; null: the legacy
/// default stream) and waited for before returning.
Status cudaCopy(void *dst, const void *src, size_t bytes, void *stream);
/// Waits for the work queued on `stream` (null: the legacy default stream).
Status cudaSynchronize(void *stream);

/// Kernel timing for benchmarks. While on, the kernels this thread launches
/// are bracketed with CUDA events, and cudaTakeKernelTime gives the device
/// time from the start of the first launch to the end of the last one since
/// the previous take (host<->device copies before and after are excluded;
/// gaps between kernels are included). 0 ms when nothing was launched.
void cudaProfileKernels(bool on);
Status cudaTakeKernelTime(double &ms);

/// Drops the loaded driver and every cached handle so that the next call
/// loads it again (for tests that switch $MIXIR_LIBCUDA_PATH). Not safe
/// while other threads use the runtime.
void cudaResetForTesting();

/// A C function compiled host code calls, with its address (for JITs).
struct RuntimeSymbol {
  const char *name;
  void *address;
};
/// Every `mgpu*` function this runtime implements.
const std::vector<RuntimeSymbol> &cudaRuntimeSymbols();

} // namespace mixrt

// The ABI of MLIR's gpu-to-llvm lowering (LLVM 22). Handles are the driver's
// opaque pointers; sizes and grid dimensions arrive as 64-bit integers.
extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *ptx, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t smem, void *stream, void **params,
                             void **extra);
void *mgpuStreamCreate();
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate();
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, int8_t isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream);
void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
void mgpuMemHostUnregister(void *ptr);
void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes);
void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes);
void mgpuSetDefaultDevice(int32_t device);
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *descriptor,
                                     int64_t dataType, int64_t interleave,
                                     int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims);
}

#endif
