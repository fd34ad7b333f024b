//===- CompileOptions.h - what to compile for, checked once -----*- C++ -*-===//
//
// The options of a compilation, for every front end: Python (mixir.compile
// and the functional ops), the C API (mixir_compiler_options_t), the tools'
// flags and the JIT. Front ends build them with makeCompileOptions from what
// they were given; validate() holds every rule, each with one message.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_COMPILER_COMPILEOPTIONS_H
#define MIXIR_COMPILER_COMPILEOPTIONS_H

#include "mixir/Compiler/ChunkSize.h"
#include "mixrt/Target.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mixir {

using mixrt::Target;

/// The GPU architectures target cuda compiles for.
inline constexpr const char *kCudaChips[] = {"sm_80", "sm_86", "sm_89", "sm_90",
                                             "sm_90a"};
/// The chip when none is named and no device says otherwise.
inline constexpr const char *kDefaultCudaChip = "sm_80";

struct CompileOptions {
  Target target = Target::cpu;
  /// GPU architecture, target cuda only; empty: the default (the JIT asks
  /// $MIXIR_CUDA_CHIP, then the device; otherwise kDefaultCudaChip).
  std::string chip;
  /// Tokens per chunk of the chunkwise-parallel lowering, 0 for the
  /// recurrent form; unset: the target's choice (on the CPU the cost model
  /// of mix-select-algorithm, per op; on CUDA kCudaMinChunkSize).
  std::optional<int64_t> chunkSize;
  /// LLVM optimisation level, 0-3.
  int optLevel = 3;
  /// Target cpu: the chunked form's tile products of bf16 ops take bf16
  /// operands and run on the AMX tile unit (tdpbf16ps). makeCompileOptions
  /// sets it when the host has AMX-BF16 and the OS grants this process its
  /// tiles, since the JIT and mixir-compile generate code for the host.
  bool amx = false;
  /// Names the source buffer in diagnostics.
  std::string sourceName = "<source>";

  /// `chip`, or kDefaultCudaChip when it is empty.
  std::string chipOrDefault() const {
    return chip.empty() ? kDefaultCudaChip : chip;
  }
  /// The chunk length as a pass option: `chunkSize` or kChunkSizeUnset.
  int64_t chunkSizeOrUnset() const {
    return chunkSize.value_or(kChunkSizeUnset);
  }
};

/// Every rule on the options, once: a test target needs its plugin; a chip
/// only with target cuda (or the emulator's cuda-emulation), and one of
/// kCudaChips; opt level 0-3; the chunk length obeys checkChunkSize and,
/// for the CUDA kernels, checkCudaChunkSize. The error is one line.
llvm::Error validate(const CompileOptions &options);

/// What a front end was given, as given.
struct CompileOptionsInput {
  std::string_view target = mixrt::targetName(Target::cpu);
  std::string_view chip;
  std::optional<int64_t> chunkSize;
  int optLevel = 3;
  std::string_view sourceName = "<source>";
  /// CompileOptions::amx: "true", "false", or "host" (whether this CPU has
  /// AMX-BF16 and its tiles are granted).
  std::string_view amx = "host";
};

/// The options for `input` (the target by name), validated: how Python, the
/// C API and the tools make them.
llvm::Expected<CompileOptions>
makeCompileOptions(const CompileOptionsInput &input);

/// "unknown target 'NAME' (expected cpu or cuda)" unless `name` is a target.
llvm::Expected<Target> parseTargetName(std::string_view name);

/// Whether this machine's CPU has AMX-BF16 and Linux grants this process
/// its tile state (mixrt::enableAmx).
bool hostHasAmx();

} // namespace mixir

#endif
