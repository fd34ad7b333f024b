//===- ArtifactFuzzer.cpp - libFuzzer target for the artifact loader ------===//
//
// The loader (mixrt::LoadedArtifact::load) parses and validates an artifact
// before anything reaches dlopen or the CUDA driver: parseArtifact (magic,
// version, size, checksum, then every field), checkArtifactRunsHere (target,
// architecture, CPU features, ELF header) and, for target cuda, the choice
// of a device image per chip. This target runs those steps and never loads
// code.
//
// Random bytes almost never carry a valid checksum, so each input is parsed
// twice: as it is, and with its body size and checksum rewritten to match,
// which lets the fuzzer reach the fields behind the checksum. An accepted
// artifact must write back to the same bytes.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "mixrt/Artifact.h"
#include "mixrt/CudaArtifact.h"
#include "mixrt/TestPlugin.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace {

using mixir::fuzz::check;

constexpr size_t kPreamble = 8 + 4 + 4 + 8;

/// `bytes` with the body size and checksum fields made consistent.
std::string withValidChecksum(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  uint64_t body = size - kPreamble - 8;
  std::memcpy(&bytes[16], &body, 8);
  uint64_t sum = mixrt::fnv1a64(bytes.data(), size - 8);
  std::memcpy(&bytes[size - 8], &sum, 8);
  return bytes;
}

void checkParsed(const std::string &bytes, const mixrt::ArtifactInfo &info) {
  check(!info.functions.empty());
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::string again = mixrt::serializeArtifact(info);
  // Version 1 is read but written as the current version.
  if (version == mixrt::kArtifactFormatVersion)
    check(again == bytes);
  mixrt::ArtifactInfo reread;
  check(bool(mixrt::parseArtifact(again.data(), again.size(), reread)));
  check(reread.functions.size() == info.functions.size() &&
        reread.payload == info.payload);

  // The checks load() makes before dlopen; none of them loads code.
  (void)mixrt::checkArtifactRunsHere(info);
  for (const char *chip : {"sm_70", "sm_80", "sm_86", "sm_90", "sm_90a"}) {
    std::vector<mixrt::DeviceImageChoice> choices;
    if (mixrt::selectDeviceImages(info, chip, choices))
      for (const mixrt::DeviceImageChoice &c : choices)
        check(c.chosen != nullptr);
  }
}

} // namespace

MIXIR_FUZZ_INIT(artifact) {
  // The test-target plugin is a library named by the environment: keep the
  // target check from opening one.
  unsetenv(mixrt::kTestPluginEnv);
  return 0;
}

MIXIR_FUZZ_TARGET(artifact) {
  mixrt::ArtifactInfo info;
  if (mixrt::Status s = mixrt::parseArtifact(data, size, info); s)
    checkParsed(std::string(reinterpret_cast<const char *>(data), size), info);
  else
    check(!s.message().empty());

  if (size < kPreamble + 8 || !mixrt::looksLikeArtifact(data, size))
    return 0;
  std::string fixed = withValidChecksum(data, size);
  mixrt::ArtifactInfo fixedInfo;
  if (mixrt::parseArtifact(fixed.data(), fixed.size(), fixedInfo))
    checkParsed(fixed, fixedInfo);
  for (const mixrt::DeviceImage &image : fixedInfo.deviceImages)
    (void)mixrt::parseChip(image.chip);
  return 0;
}
