/*===- mixir-c/Runtime.h - MixIR runtime C API ---------------------*- C -*-===
 *
 * Load compiled MixIR modules (artifacts) and call their functions. This part
 * of the API is implemented by the runtime library alone (libmixir_runtime,
 * no MLIR or LLVM); the compiler library (libmixir, mixir-c/Mixir.h) provides
 * it as well, so a program links exactly one of the two.
 *
 * Conventions:
 * - Every fallible call returns a mixir_status_t: NULL on success, otherwise
 *   an error whose message names the problem. The caller frees it with
 *   mixir_status_free (freeing NULL is a no-op).
 * - Handles are opaque. Modules are reference counted (mixir_module_retain /
 *   mixir_module_release); a function handle is borrowed from its module and
 *   stays valid while the module has a reference. Result buffers are owned by
 *   the caller (mixir_buffer_release).
 * - Invocation is thread-safe: any number of threads may call the same
 *   function of the same module at once. Modules share no global state: two
 *   loads of one artifact are two independent copies of its code.
 * - Buffer views describe caller memory: data pointer, element type, rank,
 *   shape, strides in elements (NULL: dense row-major) and device. Inputs are
 *   read, never written, and never retained after the call returns. Dense
 *   row-major inputs are passed to the compiled code without a copy; other
 *   layouts are packed into a temporary first.
 * - Host views (MIXIR_DEVICE_CPU) work for every target: a cuda module copies
 *   its arguments to the device and its results back itself.
 * - Device views (MIXIR_DEVICE_CUDA: `data` is a CUdeviceptr of the default
 *   device's primary context, the context PyTorch uses) work for cuda
 *   modules and are never copied: the kernels read the arguments and write
 *   the outputs where they are. In such a call every argument and output is
 *   a dense row-major device view with at least one element; the call queues
 *   its work on `stream` and returns without waiting for it (see
 *   mixir_function_invoke_into). Mixing host and device views is refused,
 *   except for the arguments a function's host code reads itself (packed
 *   sequences' cu_seqlens and state pools' state_indices, which it checks;
 *   inputs of ops that run on the CPU), which the compiler records in the
 *   function: such an argument may be a host view among device views, and
 *   a device view of it is downloaded before the call, which then waits
 *   for the work queued on `stream` (mixir_function_result_shapes waits
 *   for the legacy default stream). A host view's upload is queued on
 *   `stream` too: pinned host memory must stay unchanged until that work
 *   is done (pageable memory is copied before the call returns). Artifacts
 *   written before this was recorded (formats 1 and 2) refuse device views.
 * - Results are either returned as runtime-allocated buffers
 *   (mixir_function_invoke) or copied into views the caller provides
 *   (mixir_function_invoke_into, whose shapes must match the results).
 *
 *===----------------------------------------------------------------------===*/
#ifndef MIXIR_C_RUNTIME_H
#define MIXIR_C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MIXIR_API __attribute__((visibility("default")))
#else
#define MIXIR_API
#endif

/*--- Status ---------------------------------------------------------------*/

typedef struct mixir_status_s *mixir_status_t;

/* The message of an error status ("" for NULL). Valid until freed. */
MIXIR_API const char *mixir_status_message(mixir_status_t status);
MIXIR_API void mixir_status_free(mixir_status_t status);

/*--- Element types and devices --------------------------------------------*/

typedef enum mixir_dtype_t {
  MIXIR_DTYPE_F32 = 0,
  MIXIR_DTYPE_F16 = 1,
  MIXIR_DTYPE_BF16 = 2,
  MIXIR_DTYPE_F64 = 3,
  MIXIR_DTYPE_I8 = 4,
  MIXIR_DTYPE_I16 = 5,
  MIXIR_DTYPE_I32 = 6,
  MIXIR_DTYPE_I64 = 7,
  MIXIR_DTYPE_U8 = 8,
  MIXIR_DTYPE_U16 = 9,
  MIXIR_DTYPE_U32 = 10,
  MIXIR_DTYPE_U64 = 11,
  MIXIR_DTYPE_BOOL = 12 /* i1, one byte per element */
} mixir_dtype_t;

/* Bytes per element (0 for an invalid value). */
MIXIR_API size_t mixir_dtype_size(mixir_dtype_t dtype);
/* MLIR spelling: "f32", "bf16", "i1", ... ("<invalid dtype>" otherwise). */
MIXIR_API const char *mixir_dtype_name(mixir_dtype_t dtype);

typedef enum mixir_device_t {
  MIXIR_DEVICE_CPU = 0, /* host memory */
  MIXIR_DEVICE_CUDA = 1 /* CUDA device memory */
} mixir_device_t;

/*--- Buffers --------------------------------------------------------------*/

/* A view of caller-owned memory. */
typedef struct mixir_buffer_view_t {
  void *data; /* element [0, ..., 0]; may be NULL if empty */
  mixir_dtype_t dtype;
  int32_t rank;
  const int64_t *shape;   /* rank sizes (NULL allowed for rank 0) */
  const int64_t *strides; /* rank strides in elements; NULL = row-major */
  mixir_device_t device;
} mixir_buffer_view_t;

/* A dense row-major array allocated by the runtime (a function result). */
typedef struct mixir_buffer_s *mixir_buffer_t;

MIXIR_API void mixir_buffer_release(mixir_buffer_t buffer);
MIXIR_API mixir_dtype_t mixir_buffer_dtype(mixir_buffer_t buffer);
MIXIR_API int32_t mixir_buffer_rank(mixir_buffer_t buffer);
MIXIR_API const int64_t *mixir_buffer_shape(mixir_buffer_t buffer);
MIXIR_API void *mixir_buffer_data(mixir_buffer_t buffer);
MIXIR_API size_t mixir_buffer_size_bytes(mixir_buffer_t buffer);
MIXIR_API int64_t mixir_buffer_num_elements(mixir_buffer_t buffer);
/* Where the buffer's memory is. */
MIXIR_API mixir_device_t mixir_buffer_device(mixir_buffer_t buffer);
/* A view of the whole buffer (valid while the buffer lives), to pass to a
 * call. */
MIXIR_API mixir_status_t mixir_buffer_view(mixir_buffer_t buffer,
                                           mixir_buffer_view_t *out);
/* A new dense row-major buffer on `device`: zero-filled host memory, or
 * uninitialised device memory of the default CUDA device (cuMemAlloc; a
 * driver error becomes the status). mixir_buffer_release frees it. */
MIXIR_API mixir_status_t mixir_buffer_allocate(mixir_device_t device,
                                               mixir_dtype_t dtype,
                                               int32_t rank,
                                               const int64_t *shape,
                                               mixir_buffer_t *out);
/* A buffer over memory the caller owns (host memory or a CUdeviceptr),
 * dense row-major, without a copy; releasing it leaves the memory alone. */
MIXIR_API mixir_status_t mixir_buffer_wrap(mixir_device_t device, void *data,
                                           mixir_dtype_t dtype, int32_t rank,
                                           const int64_t *shape,
                                           mixir_buffer_t *out);

/* Copies `src` into `dst`: the same element type and shape, both dense
 * row-major, each on the host or the CUDA device (uploads, downloads and
 * device-to-device copies). A copy that touches the device is queued on
 * `stream` (a CUstream; NULL: the legacy default stream) and finished
 * before the call returns. Device views must not overlap (host ones may). */
MIXIR_API mixir_status_t mixir_buffer_copy(const mixir_buffer_view_t *dst,
                                           const mixir_buffer_view_t *src,
                                           void *stream);

/*--- Modules and functions ------------------------------------------------*/

typedef struct mixir_module_s *mixir_module_t;
typedef struct mixir_function_s *mixir_function_t;

/* Loads an artifact written by mixir_module_save_artifact or
 * `mixir-compile --emit=artifact`. A corrupt, truncated or foreign artifact
 * (other format version, target, architecture or missing CPU features) is
 * rejected with a status before any of its code is loaded. An artifact of
 * target "cuda" also needs the CUDA driver (libcuda.so.1, opened with
 * dlopen; $MIXIR_LIBCUDA_PATH overrides it) and a device that one of its
 * images fits (a cubin of the device's architecture, else its PTX); the
 * status names what is missing ("artifact for target cuda: no CUDA driver
 * (...)", "... no code for the device (sm_75) in device module ...: it has
 * cubins for sm_80, sm_90a, PTX for sm_80"). Its kernels are loaded here
 * and unloaded with the module. */
MIXIR_API mixir_status_t mixir_module_load_artifact_file(const char *path,
                                                         mixir_module_t *out);
MIXIR_API mixir_status_t mixir_module_load_artifact(const void *bytes,
                                                    size_t size,
                                                    mixir_module_t *out);
/* The artifact bytes of a module (valid while the module lives). */
MIXIR_API mixir_status_t mixir_module_artifact(mixir_module_t module,
                                               const void **bytes,
                                               size_t *size);
/* Writes the module's artifact to `path` (replaced atomically). */
MIXIR_API mixir_status_t mixir_module_save_artifact(mixir_module_t module,
                                                    const char *path);
MIXIR_API void mixir_module_retain(mixir_module_t module);
MIXIR_API void mixir_module_release(mixir_module_t module);
/* "cpu" or "cuda". */
MIXIR_API const char *mixir_module_target(mixir_module_t module);
MIXIR_API size_t mixir_module_num_functions(mixir_module_t module);
MIXIR_API mixir_status_t mixir_module_function_at(mixir_module_t module,
                                                  size_t index,
                                                  mixir_function_t *out);
MIXIR_API mixir_status_t mixir_module_lookup(mixir_module_t module,
                                             const char *name,
                                             mixir_function_t *out);

/* A tensor type of a signature; shape[d] == -1 marks a dynamic dimension.
 * `shape` points into the module and lives as long as it. */
typedef struct mixir_tensor_type_t {
  mixir_dtype_t dtype;
  int32_t rank;
  const int64_t *shape;
} mixir_tensor_type_t;

MIXIR_API const char *mixir_function_name(mixir_function_t function);
MIXIR_API size_t mixir_function_num_args(mixir_function_t function);
MIXIR_API size_t mixir_function_num_results(mixir_function_t function);
MIXIR_API mixir_status_t mixir_function_arg_type(mixir_function_t function,
                                                 size_t index,
                                                 mixir_tensor_type_t *out);
MIXIR_API mixir_status_t mixir_function_result_type(mixir_function_t function,
                                                    size_t index,
                                                    mixir_tensor_type_t *out);
/* 1 if the host code of `function` reads argument `index` itself (target
 * cuda: packed sequences' offsets, pool slots; such an argument may be a
 * host view in a call on device views), else 0 (also for a bad index). */
MIXIR_API int mixir_function_arg_read_on_host(mixir_function_t function,
                                              size_t index);

/* Calls `function` on `num_args` argument views and returns its results as
 * new runtime-allocated buffers in results[0 .. num_results); num_results
 * must equal mixir_function_num_results. On error no result is returned
 * (every results[i] is set to NULL).
 *
 * `stream` must be NULL for modules that run on the CPU (calls are
 * synchronous). For a "cuda" module it is a CUstream of the device's
 * primary context, or NULL: the call's copies and kernels are queued on
 * that stream, after the work already there (NULL: on a stream of the
 * module's own for host views, the legacy default stream for device
 * views), and the stream is left to the caller. With host views the call
 * returns once its work is done. A failing driver call becomes the status,
 * naming the function, the runtime function, the driver call and the
 * driver's message ("@la: mgpuLaunchKernel: cuLaunchKernel failed:
 * CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was encountered)").
 *
 * With device views the results are new device buffers (cuMemAlloc, before
 * the work is queued); use mixir_function_invoke_into to allocate nothing. */
MIXIR_API mixir_status_t mixir_function_invoke(
    mixir_function_t function, const mixir_buffer_view_t *args, size_t num_args,
    mixir_buffer_t *results, size_t num_results, void *stream);

/* The result shapes of a call of a cuda function on device views `args`,
 * written one result after another into dims[0 .. num_dims), where
 * num_dims is the sum of the results' ranks: what an allocator of outputs
 * for mixir_function_invoke_into needs. A dry run of the host code; nothing
 * reaches the device. */
MIXIR_API mixir_status_t mixir_function_result_shapes(
    mixir_function_t function, const mixir_buffer_view_t *args, size_t num_args,
    int64_t *dims, size_t num_dims);

/* Like mixir_function_invoke, but copies result i into outputs[i], whose
 * dtype and shape must equal the result's (strides may be any for host
 * views).
 *
 * With device views (a cuda module) nothing is copied: the kernels write
 * outputs[i] directly. The call queues its kernels on `stream` and returns
 * without a host synchronisation and without device allocations of its own,
 * so it can be captured in a CUDA graph; the caller synchronises before
 * reading the outputs on the host. Kernels that need device scratch space
 * (the two-pass linear attention, the gated attention's prefix sums) get it
 * from the stream-ordered allocator on `stream` (cuMemAllocAsync, freed in
 * stream order). The host code still runs twice on the host per call (a
 * dry run that plans the buffers, then the real one) and allocates host
 * memory for its results that is never written or read. A function whose
 * host code moves data between host and device (an op that runs on the CPU,
 * mix.recurrence) is refused with a status naming the copy before any work
 * is queued. */
MIXIR_API mixir_status_t mixir_function_invoke_into(
    mixir_function_t function, const mixir_buffer_view_t *args, size_t num_args,
    const mixir_buffer_view_t *outputs, size_t num_outputs, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* MIXIR_C_RUNTIME_H */
