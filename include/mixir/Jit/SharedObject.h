//===- SharedObject.h - ahead-of-time compilation to artifacts --*- C++ -*-===//
//
// Source -> LLVM IR (the target's pipeline) -> object file for the host CPU ->
// shared object (linked by the system linker) -> artifact (mixrt/Artifact.h).
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_JIT_SHAREDOBJECT_H
#define MIXIR_JIT_SHAREDOBJECT_H

#include "mixir/Jit/JitModule.h"
#include "mixrt/Artifact.h"

namespace mixir {

/// "mixir 0.1.0 (LLVM 22.x.y, <git hash>)".
const char *compilerVersion();

/// The LLVM name and feature string of the host CPU (what artifacts are
/// compiled for), e.g. "znver4" and "+avx2,+fma,...".
std::pair<std::string, std::string> hostCPU();

/// Compiles `source` (checked with validate()) into an artifact: the packed
/// entry points `_mlir_<name>` of every public function are in the payload,
/// host code for this CPU. Target cuda adds, for each device module, a
/// cubin for every chip of `chips` (default: the options' chip) and PTX for
/// the lowest, which the host code embeds; cubins need ptxas (the CUDA
/// toolkit), no GPU. The linker is $MIXIR_LINKER, else the first of
/// ld.lld-22, ld.lld, /usr/lib/llvm-22/bin/ld.lld and ld found on PATH. Set
/// MIXIR_TIMING=1 to print the time of each phase on stderr.
llvm::Expected<mixrt::ArtifactInfo>
compileArtifact(llvm::StringRef source, const CompileOptions &options,
                llvm::ArrayRef<std::string> chips = {});

} // namespace mixir

#endif
