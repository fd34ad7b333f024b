//===- CudaArtifact.cpp - device code of target cuda artifacts ------------===//
#include "mixrt/CudaArtifact.h"
#include "mixrt/Cuda.h"

#include <cstring>

namespace mixrt {

std::optional<ChipVersion> parseChip(std::string_view chip) {
  if (chip.substr(0, 3) != "sm_" || chip.size() < 5)
    return std::nullopt;
  std::string_view digits = chip.substr(3);
  ChipVersion v;
  if (digits.back() == 'a') {
    v.archSpecific = true;
    digits.remove_suffix(1);
  }
  if (digits.size() < 2 || digits.size() > 3)
    return std::nullopt;
  for (char c : digits)
    if (c < '0' || c > '9')
      return std::nullopt;
  v.minor = digits.back() - '0';
  v.major = std::stoi(std::string(digits.substr(0, digits.size() - 1)));
  return v;
}

bool imageRunsOn(const ChipVersion &image, uint32_t kind,
                 const ChipVersion &device) {
  if (image.archSpecific)
    return image.major == device.major && image.minor == device.minor;
  if (kind == kDeviceImageCubin)
    return image.major == device.major && image.minor <= device.minor;
  return image.major < device.major ||
         (image.major == device.major && image.minor <= device.minor);
}

namespace {
/// Whether `a` is a better image than `b` (both run on the device): cubins
/// before PTX, then the higher version, then arch-specific code.
bool better(const DeviceImage &a, const ChipVersion &va, const DeviceImage &b,
            const ChipVersion &vb) {
  if (a.kind != b.kind)
    return a.kind == kDeviceImageCubin;
  if (va.major != vb.major || va.minor != vb.minor)
    return va.major > vb.major || (va.major == vb.major && va.minor > vb.minor);
  return va.archSpecific && !vb.archSpecific;
}

std::string describeImages(const ArtifactInfo &info, const std::string &name) {
  std::string lists[2]; // cubins, PTX
  for (const DeviceImage &d : info.deviceImages) {
    std::string &list = lists[d.kind == kDeviceImageCubin ? 0 : 1];
    if (d.module == name)
      list += (list.empty() ? "" : ", ") + d.chip;
  }
  for (std::string &list : lists)
    if (list.empty())
      list = "no chip";
  return "cubins for " + lists[0] + ", PTX for " + lists[1];
}
} // namespace

Status selectDeviceImages(const ArtifactInfo &info,
                          const std::string &deviceChip,
                          std::vector<DeviceImageChoice> &out) {
  std::optional<ChipVersion> device = parseChip(deviceChip);
  if (!device)
    return Status::error("unknown device architecture '" + deviceChip + "'");
  std::vector<DeviceImageChoice> choices;
  for (const DeviceImage &ptx : info.deviceImages) {
    if (ptx.kind != kDeviceImagePtx)
      continue;
    const DeviceImage *best = nullptr;
    ChipVersion bestVersion;
    for (const DeviceImage &d : info.deviceImages) {
      std::optional<ChipVersion> v = parseChip(d.chip);
      if (!v)
        return Status::error("corrupt artifact: device module " + d.module +
                             " has code for unknown chip '" + d.chip + "'");
      if (d.module != ptx.module || !imageRunsOn(*v, d.kind, *device))
        continue;
      if (!best || better(d, *v, *best, bestVersion))
        best = &d, bestVersion = *v;
    }
    if (!best)
      return Status::error("no code for the device (" + deviceChip +
                           ") in device module " + ptx.module + ": it has " +
                           describeImages(info, ptx.module));
    choices.push_back({&ptx, best});
  }
  for (const DeviceImage &d : info.deviceImages) {
    bool listed = false;
    for (const DeviceImageChoice &c : choices)
      listed = listed || c.embedded->module == d.module;
    if (!listed)
      return Status::error("corrupt artifact: device module " + d.module +
                           " has no PTX");
  }
  out = std::move(choices);
  return Status::ok();
}

Status prepareDeviceImages(const ArtifactInfo &info,
                           std::vector<DeviceImageChoice> &out) {
  const std::string prefix = "artifact for target cuda: ";
  std::string why;
  if (!cudaAvailable(&why))
    return Status::error(prefix + why);
  std::string chip;
  if (Status s = cudaDeviceArchitecture(chip); !s)
    return Status::error(prefix + s.message());
  if (Status s = selectDeviceImages(info, chip, out); !s)
    return Status::error(prefix + s.message());
  return Status::ok();
}

namespace {
thread_local const std::vector<DeviceImageChoice> *activeChoices = nullptr;

/// The image chosen for the module whose embedded code is `data`.
const DeviceImage *chosenFor(const void *data, size_t size) {
  if (!activeChoices || !data)
    return nullptr;
  for (const DeviceImageChoice &c : *activeChoices) {
    const std::string &b = c.embedded->bytes;
    // PTX may be stored with or without its terminating NUL.
    size_t n = b.size() && b.back() == '\0' ? b.size() - 1 : b.size();
    if ((size == n || size == n + 1) && std::memcmp(data, b.data(), n) == 0)
      return c.chosen;
  }
  return nullptr;
}

void *loadChosen(const char *api, const void *data, size_t size, int opt) {
  const DeviceImage *image = chosenFor(data, size);
  if (!image) {
    cudaRecordError(std::string(api) +
                    ": the host code loads device code that the artifact "
                    "does not list");
    return nullptr;
  }
  if (image->kind == kDeviceImagePtx)
    return mgpuModuleLoadJIT(const_cast<char *>(image->bytes.c_str()), opt);
  return mgpuModuleLoad(const_cast<char *>(image->bytes.data()),
                        image->bytes.size());
}

void *artifactModuleLoad(void *data, size_t size) {
  return loadChosen("mgpuModuleLoad", data, size, /*opt=*/4);
}

void *artifactModuleLoadJIT(void *ptx, int optLevel) {
  const char *text = static_cast<const char *>(ptx);
  return loadChosen("mgpuModuleLoadJIT", ptx, text ? std::strlen(text) : 0,
                    optLevel);
}
} // namespace

DeviceImageScope::DeviceImageScope(
    const std::vector<DeviceImageChoice> &choices)
    : previous(activeChoices) {
  activeChoices = &choices;
}

DeviceImageScope::~DeviceImageScope() { activeChoices = previous; }

std::vector<RuntimeCallback> cudaArtifactLoadCallbacks() {
  return {
      {"mgpuModuleLoad", reinterpret_cast<void *>(&artifactModuleLoad)},
      {"mgpuModuleLoadJIT", reinterpret_cast<void *>(&artifactModuleLoadJIT)}};
}

} // namespace mixrt
