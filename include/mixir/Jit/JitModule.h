//===- JitModule.h - compile MLIR source and run it in-process --*- C++ -*-===//
#ifndef MIXIR_JIT_JITMODULE_H
#define MIXIR_JIT_JITMODULE_H

#include "mixir/Compiler/CompileOptions.h"
#include "mixrt/Call.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir {
class ExecutionEngine;
class MLIRContext;
} // namespace mlir

namespace mixir {

/// Target cuda without a chip: takes $MIXIR_CUDA_CHIP, else the device's
/// architecture (a cubin runs only on its own major architecture), checked
/// with validate(). Without a usable driver and device: an error when
/// `needDevice`, else the options are left as they are (the default chip).
llvm::Error chooseCudaChip(CompileOptions &options, bool needDevice = true);

/// A module compiled for the host CPU with the in-process JIT. Calls are
/// thread-safe: the compiled code keeps no state between calls.
class JitModule {
public:
  /// Checks `options` (validate()), parses, verifies, lowers (the target's
  /// pipeline, Pipelines.h) and JIT-compiles `source`. The error message is
  /// the first diagnostic, with its location. Target cuda first checks the
  /// chip and that a CUDA driver and device are present ("target cuda: no
  /// CUDA driver (...)"); without a chip it compiles for $MIXIR_CUDA_CHIP,
  /// else the device's architecture. Its calls report the first CUDA error.
  static llvm::Expected<std::unique_ptr<JitModule>>
  compile(llvm::StringRef source, const CompileOptions &options = {});
  ~JitModule();

  /// Public functions with their tensor signatures, in source order.
  const std::vector<mixrt::FunctionSignature> &functions() const {
    return signatures;
  }
  const mixrt::FunctionSignature *lookup(llvm::StringRef name) const;

  /// Runs function `name` on `args`; results are returned in `results`.
  mixrt::Status call(llvm::StringRef name,
                     const std::vector<mixrt::ArrayView> &args,
                     std::vector<mixrt::HostArray> &results) const;

private:
  JitModule();
  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::vector<mixrt::FunctionSignature> signatures;
  std::vector<mixrt::PackedFunction> entryPoints;
  /// Target cuda: calls check the CUDA runtime's status; test targets their
  /// plugin's.
  mixrt::Target target = mixrt::Target::cpu;
};

/// Reads an .mlir file, refusing files that are not text, with a one-line
/// message naming the file.
llvm::Expected<std::string> readSourceFile(llvm::StringRef path);

/// Device code of one gpu.binary: PTX text or a cubin/fatbin image.
struct DeviceBinary {
  std::string name;   // the gpu.binary's symbol
  std::string target; // the chip, e.g. "sm_90a"
  std::string bytes;
};

/// Parses `source`, reads the signatures of its public functions, lowers it
/// with the target's pipeline and translates it to LLVM IR in `llvmContext`
/// (for ahead-of-time compilation, see SharedObject.h). Target cuda embeds
/// PTX in the host code; `deviceCode`, when given, receives it.
llvm::Expected<std::unique_ptr<llvm::Module>>
lowerToLLVMModule(llvm::StringRef source, const CompileOptions &options,
                  llvm::LLVMContext &llvmContext,
                  std::vector<mixrt::FunctionSignature> &signatures,
                  std::vector<DeviceBinary> *deviceCode = nullptr);

/// Parses `source` and lowers it to the LLVM dialect with the target's
/// pipeline, printing the result (for `mixir-compile --emit=mlir|llvm`).
llvm::Expected<std::string> lowerToText(llvm::StringRef source,
                                        const CompileOptions &options,
                                        bool emitLLVMIR);

/// Parses `source` and runs the CUDA pipeline with device code format `format`
/// ("isa": PTX, "bin": cubin through ptxas, "fatbin"), returning the device
/// code of every gpu.binary in the result (for `mixir-compile
/// --emit=ptx|cubin`). Needs no GPU; `options.target` must be cuda (an empty
/// chip: sm_80).
llvm::Expected<std::vector<DeviceBinary>>
lowerToDeviceCode(llvm::StringRef source, const CompileOptions &options,
                  llvm::StringRef format);

} // namespace mixir

#endif
