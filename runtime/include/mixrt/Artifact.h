//===- Artifact.h - compiled-module artifacts -------------------*- C++ -*-===//
//
// One file holds a compiled module:
//
//   magic "MIXIRART" | u32 format version | u32 flags (0)
//   | u64 body size | body | u64 FNV-1a-64 checksum of everything before it
//
// body (little-endian; strings are u32 length + bytes):
//   compiler version, target (mixrt/Target.h's name), chip, host arch
//   ("x86_64"), CPU name, CPU features ("+avx2,+fma,..."), u32 function count,
//   per function: name, u32 arg count, args, u32 result count, results, where a
//   tensor is u8 dtype, u32 rank, i64 dims (-1 dynamic); then the payload:
//   u32 kind (1 = ELF shared object) and u64 size + bytes.
//
// The payload is a shared object whose `_mlir_<name>` symbols are the packed
// entry points (mixrt/Call.h). Runtime callbacks are reached through pointer
// variables the loader fills (`__mixir_rt_<symbol>`), so the object needs
// nothing from the process but libc, libm and the OpenMP runtime. Artifacts
// hold code that runs on the host (runsOnHost in mixrt/Target.h).
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_ARTIFACT_H
#define MIXRT_ARTIFACT_H

#include "mixrt/Call.h"
#include "mixrt/Target.h"
#include "mixrt/TestPlugin.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mixrt {

constexpr char kArtifactMagic[8] = {'M', 'I', 'X', 'I', 'R', 'A', 'R', 'T'};
constexpr uint32_t kArtifactFormatVersion = 1;
constexpr uint32_t kPayloadSharedObject = 1;

struct ArtifactInfo {
  std::string compilerVersion;
  Target target = Target::cpu;
  std::string chip;
  std::string arch;     // e.g. "x86_64"
  std::string cpu;      // LLVM CPU name the code was compiled for
  std::string features; // "+avx2,+fma,-avx512f,..."
  std::vector<FunctionSignature> functions;
  uint32_t payloadKind = kPayloadSharedObject;
  std::string payload;
};

/// The architecture of this build ("x86_64", "aarch64", ...).
const char *hostArch();

/// 64-bit FNV-1a (checksums and cache keys).
uint64_t fnv1a64(const void *data, size_t size,
                 uint64_t seed = 0xcbf29ce484222325ull);

std::string serializeArtifact(const ArtifactInfo &info);

/// True when `data` starts with the artifact magic.
bool looksLikeArtifact(const void *data, size_t size);

/// Parses and validates an artifact: magic, format version, size, checksum,
/// then every field. The message says what is wrong.
Status parseArtifact(const void *data, size_t size, ArtifactInfo &out);

/// Checks that an artifact can run in this process: target, architecture,
/// CPU features and an ELF payload for this machine.
Status checkArtifactRunsHere(const ArtifactInfo &info);

/// A loaded artifact: its shared object opened from memory and its entry
/// points resolved. Unloaded when the last reference goes away.
class LoadedArtifact {
public:
  ~LoadedArtifact();
  const ArtifactInfo &info() const { return info_; }
  const std::string &bytes() const { return bytes_; }
  const std::vector<PackedFunction> &entryPoints() const { return entry_; }

  /// Validates `bytes` (parseArtifact + checkArtifactRunsHere), then loads
  /// the payload with memfd_create + dlopen (no file is written).
  static Status load(std::string bytes, std::shared_ptr<LoadedArtifact> &out);

private:
  LoadedArtifact() = default;
  ArtifactInfo info_;
  std::string bytes_;
  void *handle_ = nullptr;
  int fd_ = -1; // the memfd behind handle_'s name, open while loaded
  std::vector<PackedFunction> entry_;
};

/// Reads a whole file; messages start with "PATH: ".
Status readFileBytes(const std::string &path, std::string &out);
/// Writes a file through a temporary name and rename (atomic replace).
Status writeFileAtomic(const std::string &path, const std::string &bytes);

} // namespace mixrt

#endif
