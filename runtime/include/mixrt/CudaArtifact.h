//===- CudaArtifact.h - device code of target cuda artifacts ----*- C++ -*-===//
//
// An artifact of target cuda (mixrt/Artifact.h) holds, for each device
// module, a cubin per chip it was compiled for and PTX for the lowest one.
// Its host code embeds the PTX and loads it through `mgpuModuleLoadJIT`
// when the artifact is initialised; the loader routes that call here, and
// the driver gets the image that fits the device instead:
//
//   - a cubin of the device's major version and the highest minor version
//     not above the device's (sm_80 runs on sm_86); an arch-specific cubin
//     ("sm_90a") only on exactly its version;
//   - else the PTX, compiled by the driver, when its chip is not above the
//     device's (forward compatibility; arch-specific PTX as above).
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_CUDAARTIFACT_H
#define MIXRT_CUDAARTIFACT_H

#include "mixrt/Artifact.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mixrt {

/// A chip name's compute capability: "sm_90a" is 9.0, arch-specific.
struct ChipVersion {
  int major = 0;
  int minor = 0;
  bool archSpecific = false;
};
std::optional<ChipVersion> parseChip(std::string_view chip);

/// Whether an image compiled for `image` (kind kDeviceImageCubin or
/// kDeviceImagePtx) runs on a device of version `device`.
bool imageRunsOn(const ChipVersion &image, uint32_t kind,
                 const ChipVersion &device);

/// For each device module of `info`: its embedded PTX and the image to load
/// on a device of chip `deviceChip` ("sm_86"), preferring the best cubin.
/// The error names the device and the images the artifact holds.
struct DeviceImageChoice {
  const DeviceImage *embedded; // the module's PTX, as the host code has it
  const DeviceImage *chosen;
};
Status selectDeviceImages(const ArtifactInfo &info,
                          const std::string &deviceChip,
                          std::vector<DeviceImageChoice> &out);

/// Checks that the CUDA driver and a device are present and selects the
/// images for the device (selectDeviceImages); messages start with
/// "artifact for target cuda: ".
Status prepareDeviceImages(const ArtifactInfo &info,
                           std::vector<DeviceImageChoice> &out);

/// While alive, module loads of host code on this thread (through the
/// callbacks of cudaArtifactLoadCallbacks) load the chosen images.
class DeviceImageScope {
public:
  explicit DeviceImageScope(const std::vector<DeviceImageChoice> &choices);
  ~DeviceImageScope();
  DeviceImageScope(const DeviceImageScope &) = delete;
  DeviceImageScope &operator=(const DeviceImageScope &) = delete;

private:
  const std::vector<DeviceImageChoice> *previous;
};

/// `mgpuModuleLoad` and `mgpuModuleLoadJIT` for artifact code: they load the
/// image chosen for the module whose embedded code they are given, and
/// record an error for code the artifact does not list.
std::vector<RuntimeCallback> cudaArtifactLoadCallbacks();

} // namespace mixrt

#endif
