//===- Call.h - calls through the packed ABI --------------------*- C++ -*-===//
//
// Every compiled function `f` has a packed entry point `_mlir_f(void **)`:
// one pointer per scalar of each argument's memref descriptor (allocated ptr,
// aligned ptr, offset, sizes..., strides...), then one pointer to the storage
// for the results (their descriptors back to back). Results are buffers
// allocated with malloc by the compiled code and owned by the caller.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_CALL_H
#define MIXRT_CALL_H

#include "mixrt/Target.h"
#include "mixrt/Types.h"

#include <string>
#include <vector>

namespace mixrt {

/// A tensor in a function signature; -1 marks a dynamic dimension.
struct TensorSignature {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::string describe() const; // "?x?x4x64xbf16"
};

struct FunctionSignature {
  std::string name;
  std::vector<TensorSignature> args;
  std::vector<TensorSignature> results;
  /// Target cuda: the arguments (ascending indices) whose values the host
  /// code reads itself (packed sequences' offsets, state pools' indices,
  /// inputs of ops that run on the CPU). A call on device buffers gives it
  /// host copies of these.
  std::vector<uint32_t> hostReadArgs;
  /// False for artifacts older than that record (formats 1 and 2).
  bool hostReadsKnown = true;
  bool readsOnHost(size_t arg) const;
};

/// A dense row-major array the caller owns.
struct ArrayView {
  const void *data = nullptr;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
};

using PackedFunction = void (*)(void **);

/// Checks count, element types, ranks and static dims of `args` against
/// `sig`; the message names the argument and what was expected.
Status checkArguments(const FunctionSignature &sig,
                      const std::vector<ArrayView> &args);

/// Checks the arguments, calls `fn` and moves its results into `results`.
/// Sizes that disagree at run time (e.g. two inputs with different sequence
/// lengths) are reported by the compiled code and returned as an error.
Status callPacked(PackedFunction fn, const FunctionSignature &sig,
                  const std::vector<ArrayView> &args,
                  std::vector<HostArray> &results);

/// A result as compiled code returns it: its buffer (malloc'ed by the code,
/// or a constant's marker), the address of its first element, its sizes and
/// strides in elements.
struct RawResult {
  DType dtype = DType::f32;
  void *allocated = nullptr;
  uint8_t *data = nullptr;
  std::vector<int64_t> shape, strides;
  bool rowMajor() const;
};

/// Checks the arguments and calls `fn`, leaving its results where the code
/// put them (release them with freeRawResults). A size mismatch reported by
/// the code is the error; there are no results then.
Status callPackedRaw(PackedFunction fn, const FunctionSignature &sig,
                     const std::vector<ArrayView> &args,
                     std::vector<RawResult> &results);
/// Frees the buffers of `results` that the call allocated (each once; never
/// an argument's buffer or a constant).
void freeRawResults(const std::vector<RawResult> &results,
                    const std::vector<ArrayView> &args);

/// callPacked for code compiled for `target`, adding the failures recorded
/// during the call outside its own status: a test target's plugin's, or for
/// target cuda the first CUDA error on this thread ("@f: mgpuLaunchKernel:
/// cuLaunchKernel failed: ..."), which wins. On failure there are no results.
/// Target cuda runs its work on `stream` (a CUstream; null: streams of its
/// own); other targets take no stream.
Status callCompiled(PackedFunction fn, Target target,
                    const FunctionSignature &sig,
                    const std::vector<ArrayView> &args,
                    std::vector<HostArray> &results, void *stream = nullptr);

} // namespace mixrt

extern "C" {
/// One rank-1 i8 memref descriptor, as compiled code passes it.
struct MixrtMessageRef {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
};
/// Called by compiled code when dynamic sizes of a mix op disagree.
void _mlir_ciface_mixrtShapeError(MixrtMessageRef *message, int64_t got,
                                  int64_t expected);

/// A memref of any rank as compiled code passes it to library calls.
struct MixrtUnrankedMemRef {
  int64_t rank;
  void *descriptor; // {ptr allocated, ptr aligned, i64 offset, sizes, strides}
};
/// The strided copy that lowered `memref.copy` calls when the layouts are
/// not both contiguous (the ABI of MLIR's C runner utilities).
void memrefCopy(int64_t elementSize, MixrtUnrankedMemRef *source,
                MixrtUnrankedMemRef *destination);
}

#endif
