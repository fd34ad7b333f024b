//===- ChunkSize.h - the chunk length: default, limits, rule ----*- C++ -*-===//
//
// Every check of a chunk length uses these: the options (CompileOptions.h,
// for Python, the C API, the tools and the JIT), the ops' `chunk_size`
// attribute (the verifier), and the passes' `chunk-size` options. Header only,
// so the dialect can use it without linking the compiler.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_COMPILER_CHUNKSIZE_H
#define MIXIR_COMPILER_CHUNKSIZE_H

#include <cstdint>
#include <string>
#include <string_view>

namespace mixir {

/// Tokens per chunk when nobody asked and no cost model chose: the CPU's
/// attention blocks and the default of convert-mix-to-chunked's option.
inline constexpr int64_t kDefaultChunkSize = 64;
/// The largest chunk: the chunked delta rule unrolls (C/16)^3 block merges.
inline constexpr int64_t kMaxChunkSize = 128;
/// "No chunk length was asked for": the target picks (on the CPU the cost
/// model of mix-select-algorithm, per op; on CUDA kCudaMinChunkSize). The
/// value of an unset `chunk-size` pass option and of
/// MIXIR_CHUNK_SIZE_DEFAULT.
inline constexpr int64_t kChunkSizeUnset = -1;

/// The rule for every chunk length: 0 (the recurrent form) or a power of
/// two up to kMaxChunkSize. Returns the message for `chunkSize` when it
/// breaks the rule, else "".
inline std::string checkChunkSize(int64_t chunkSize) {
  if (chunkSize == 0 || (chunkSize > 0 && chunkSize <= kMaxChunkSize &&
                         (chunkSize & (chunkSize - 1)) == 0))
    return "";
  return "chunk_size must be 0 (the recurrent form) or a power of two up to " +
         std::to_string(kMaxChunkSize) + ", got " + std::to_string(chunkSize);
}

/// What the CUDA kernels can run (a capability of the target, on top of the
/// rule): chunks of 16 (one warp's mma rows) to 64 tokens; no recurrent form.
inline constexpr int64_t kCudaMinChunkSize = 16;
inline constexpr int64_t kCudaMaxChunkSize = 64;

/// For a target built from the CUDA kernels (named `target` in the message):
/// "" when the kernels can run chunks of `chunkSize` tokens (which obeys
/// checkChunkSize), else why not.
inline std::string checkCudaChunkSize(int64_t chunkSize,
                                      std::string_view target) {
  if (chunkSize >= kCudaMinChunkSize && chunkSize <= kCudaMaxChunkSize)
    return "";
  std::string why = "target " + std::string(target) + " runs chunks of " +
                    std::to_string(kCudaMinChunkSize) + " to " +
                    std::to_string(kCudaMaxChunkSize) + " tokens, got " +
                    "chunk_size " + std::to_string(chunkSize);
  if (chunkSize == 0)
    why += " (the recurrent form, which its kernels do not have)";
  return why;
}

} // namespace mixir

#endif
