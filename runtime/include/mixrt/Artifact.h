//===- Artifact.h - compiled-module artifacts -------------------*- C++ -*-===//
//
// One file holds a compiled module:
//
//   magic "MIXIRART" | u32 format version | u32 flags (0)
//   | u64 body size | body | u64 FNV-1a-64 checksum of everything before it
//
// body (little-endian; strings are u32 length + bytes):
//   compiler version, target (mixrt/Target.h's name), chips (target cuda:
//   "sm_80,sm_90a"; else ""), host arch ("x86_64"), CPU name, CPU features
//   ("+avx2,+fma,..."), u32 function count, per function: name, u32 arg
//   count, args, u32 result count, results, where a tensor is u8 dtype, u32
//   rank, i64 dims (-1 dynamic), from version 3 u32 count + u32 indices
//   (ascending) of the arguments the host code reads itself; from version 2
//   the device code: u32 image
//   count, per image: device module name (its gpu.binary), chip, u32 kind
//   (1 = cubin, 2 = PTX text) and u64 size + bytes; then the payload: u32
//   kind (1 = ELF shared object) and u64 size + bytes.
//
// The payload is a shared object whose `_mlir_<name>` symbols are the packed
// entry points (mixrt/Call.h). Runtime callbacks are reached through pointer
// variables the loader fills (`__mixir_rt_<symbol>`), so the object needs
// nothing from the process but libc, libm and the OpenMP runtime. What the
// code would run as constructors and destructors is in `__mixir_module_init`
// and `__mixir_module_fini`, which the loader calls after filling the
// pointers and before unloading.
//
// Target cuda: the payload is the host code; the CUDA runtime functions it
// calls (`mgpu*`, mixrt/Cuda.h) are callbacks too. Each device module has a
// cubin per chip it was compiled for and PTX for the lowest chip, which the
// host code embeds. When the host code loads a device module, the loader
// hands the driver the image that fits the device instead (CudaArtifact.h).
// The shapes the host code works with are read from the arguments at each
// call, so one artifact serves every batch size and sequence length.
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
constexpr uint32_t kArtifactFormatVersion = 3;
/// The oldest format this runtime reads (version 1 has no device images).
constexpr uint32_t kArtifactOldestFormatVersion = 1;
constexpr uint32_t kPayloadSharedObject = 1;
/// Artifact flag: the code uses the AMX tile registers, which Linux hands
/// out on request (enableAmx); other flag bits are refused.
constexpr uint32_t kArtifactFlagAmx = 1;
constexpr uint32_t kDeviceImageCubin = 1;
constexpr uint32_t kDeviceImagePtx = 2;

/// Device code of one device module for one chip.
struct DeviceImage {
  std::string module; // the gpu.binary's name
  std::string chip;   // "sm_90a"
  uint32_t kind = kDeviceImageCubin;
  std::string bytes;
};

/// The payload's explicit constructor and destructor (see above).
constexpr const char *kModuleInitSymbol = "__mixir_module_init";
constexpr const char *kModuleFiniSymbol = "__mixir_module_fini";

struct ArtifactInfo {
  std::string compilerVersion;
  Target target = Target::cpu;
  std::string chip;     // target cuda: the chips, "sm_80,sm_90a"
  std::string arch;     // e.g. "x86_64"
  std::string cpu;      // LLVM CPU name the code was compiled for
  std::string features; // "+avx2,+fma,-avx512f,..."
  std::vector<FunctionSignature> functions;
  std::vector<DeviceImage> deviceImages; // target cuda
  uint32_t payloadKind = kPayloadSharedObject;
  std::string payload;
  /// Compiled with the AMX tile products (kArtifactFlagAmx).
  bool usesAmx = false;
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
/// CPU features and an ELF payload for this machine (target cuda: not the
/// driver or the device, which load() checks).
Status checkArtifactRunsHere(const ArtifactInfo &info);

/// Asks Linux for this process's permission to use the AMX tile registers
/// (arch_prctl ARCH_REQ_XCOMP_PERM, XTILEDATA), once; whether it is
/// granted. False on CPUs without AMX and on other systems. Code with AMX
/// instructions faults without it.
bool enableAmx();

struct DeviceImageChoice; // mixrt/CudaArtifact.h

/// A loaded artifact: its shared object opened from memory and its entry
/// points resolved. Unloaded when the last reference goes away.
class LoadedArtifact {
public:
  ~LoadedArtifact();
  const ArtifactInfo &info() const { return info_; }
  const std::string &bytes() const { return bytes_; }
  const std::vector<PackedFunction> &entryPoints() const { return entry_; }

  /// Validates `bytes` (parseArtifact + checkArtifactRunsHere), then loads
  /// the payload with memfd_create + dlopen (no file is written) and runs
  /// its `__mixir_module_init`. Target cuda first needs the driver and a
  /// device that one of the images fits; its init loads the kernels.
  /// `valid` (if given) tells a failure of the bytes (false: they do not
  /// parse or cannot run in this process) from one of the environment
  /// (true: no CUDA device, a failing init).
  static Status load(std::string bytes, std::shared_ptr<LoadedArtifact> &out,
                     bool *valid = nullptr);

private:
  LoadedArtifact() = default;
  /// Runs `__mixir_module_init` with the device images chosen for target
  /// cuda; the CUDA errors it recorded make the status.
  Status initialize(const std::vector<DeviceImageChoice> &images);
  ArtifactInfo info_;
  std::string bytes_;
  void *handle_ = nullptr;
  void (*fini_)() = nullptr; // set once __mixir_module_init has run
  int fd_ = -1; // the memfd behind handle_'s name, open while loaded
  std::vector<PackedFunction> entry_;
};

/// Reads a whole file; messages start with "PATH: ".
Status readFileBytes(const std::string &path, std::string &out);
/// Writes a file through a temporary name and rename (atomic replace).
Status writeFileAtomic(const std::string &path, const std::string &bytes);

} // namespace mixrt

#endif
