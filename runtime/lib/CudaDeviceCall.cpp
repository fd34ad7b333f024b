//===- CudaDeviceCall.cpp - target cuda calls on device buffers -----------===//
#include "mixrt/CudaDeviceCall.h"
#include "mixrt/Cuda.h"

#include <algorithm>

namespace mixrt {
namespace {

/// Dry-run allocations live at kPlaceholderBase + (i + 1) * 2^40: addresses
/// above the 57-bit user space that neither the host nor a device uses.
constexpr uintptr_t kPlaceholderBase = uintptr_t(0x7e) << 56;
constexpr int kSlotBits = 40;
constexpr size_t kMaxSlots = 1 << 14;

struct Copy {
  void *dst, *src;
  size_t bytes;
};

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

size_t byteSize(const ArrayView &a) {
  return size_t(numElements(a.shape)) * dtypeSize(a.dtype);
}

std::string describe(const ArrayView &a) {
  return HostArray{a.dtype, a.shape, {}}.describe();
}

/// The interceptor of one device call: records in the dry run, then
/// redirects the recorded allocations and copies in the real run.
class DeviceCall final : public CudaCallInterceptor {
public:
  explicit DeviceCall(void *stream) : callStream(stream) {}
  void *stream() override { return callStream; }
  bool dryRun() override { return recording; }
  bool alloc(uint64_t bytes, void *&result) override;
  bool free(void *ptr) override;
  bool copy(void *dst, void *src, size_t bytes) override;

  /// Binds allocations to the caller's buffers (after the dry run).
  /// `hostSide[i]`: argument i is a host buffer (read by the host code),
  /// whose uploads stay copies.
  Status plan(const std::string &fn, const std::vector<ArrayView> &args,
              const std::vector<bool> &hostSide,
              const std::vector<RawResult> &results,
              const std::vector<ArrayView> &outputs);
  /// Whether the real run made the calls the dry run recorded.
  bool replayedAll() const {
    return nextAlloc == allocs.size() && nextCopy == copies.size();
  }

  bool recording = true;

private:
  /// The dry-run allocation `p` is the start of, -1 for none; `inside`:
  /// whether it points into one.
  int slotOf(const void *p, bool *inside = nullptr) const;
  Status bindCopy(size_t c, const std::vector<ArrayView> &args,
                  const std::vector<bool> &hostSide,
                  const std::vector<RawResult> &results,
                  const std::vector<ArrayView> &outputs,
                  std::vector<bool> &outputBound);

  void *callStream;
  std::vector<uint64_t> allocs;
  std::vector<Copy> copies;
  std::vector<void *> boundTo; // per allocation: the caller's buffer or null
  std::vector<bool> skip;      // per copy
  size_t nextAlloc = 0, nextCopy = 0;
};

bool DeviceCall::alloc(uint64_t bytes, void *&result) {
  result = nullptr;
  if (recording) {
    if (bytes >= (uint64_t(1) << kSlotBits) || allocs.size() >= kMaxSlots) {
      cudaRecordError("mgpuMemAlloc: " + std::to_string(bytes) +
                      " bytes (allocation " + std::to_string(allocs.size()) +
                      ") exceed what a call on device buffers can plan");
      return true;
    }
    allocs.push_back(bytes);
    result = reinterpret_cast<void *>(kPlaceholderBase +
                                      (uintptr_t(allocs.size()) << kSlotBits));
    return true;
  }
  size_t i = nextAlloc++;
  if (i >= allocs.size() || allocs[i] != bytes) {
    cudaRecordError("mgpuMemAlloc: the host code allocated " +
                    std::to_string(bytes) +
                    " bytes that its dry run did not (allocation " +
                    std::to_string(i) + ")");
    return true;
  }
  result = boundTo[i];
  return result != nullptr; // scratch: a real allocation
}

bool DeviceCall::free(void *ptr) {
  return recording ||
         std::find(boundTo.begin(), boundTo.end(), ptr) != boundTo.end();
}

bool DeviceCall::copy(void *dst, void *src, size_t bytes) {
  if (recording) {
    copies.push_back({dst, src, bytes});
    return true;
  }
  size_t i = nextCopy++;
  if (i >= copies.size() || copies[i].bytes != bytes) {
    cudaRecordError(
        "mgpuMemcpy: the host code copied " + std::to_string(bytes) +
        " bytes that its dry run did not (copy " + std::to_string(i) + ")");
    return true;
  }
  return skip[i];
}

int DeviceCall::slotOf(const void *p, bool *inside) const {
  auto a = reinterpret_cast<uintptr_t>(p);
  if (inside)
    *inside = false;
  if (a <= kPlaceholderBase)
    return -1;
  uintptr_t slot = (a - kPlaceholderBase) >> kSlotBits;
  uintptr_t offset = (a - kPlaceholderBase) & ((uintptr_t(1) << kSlotBits) - 1);
  if (slot == 0 || slot > allocs.size() || offset >= allocs[slot - 1])
    return -1;
  if (inside)
    *inside = true;
  return offset == 0 ? int(slot - 1) : -1;
}

/// The index of the view in `list` whose data is `p` and whose size is
/// `bytes`; -1 for none.
template <typename T, typename Data, typename Bytes>
int findBuffer(const std::vector<T> &list, const void *p, size_t bytes,
               Data data, Bytes size) {
  for (size_t i = 0; i < list.size(); ++i)
    if (data(list[i]) == p && size(list[i]) == bytes)
      return int(i);
  return -1;
}

Status DeviceCall::bindCopy(size_t c, const std::vector<ArrayView> &args,
                            const std::vector<bool> &hostSide,
                            const std::vector<RawResult> &results,
                            const std::vector<ArrayView> &outputs,
                            std::vector<bool> &outputBound) {
  const Copy &copy = copies[c];
  int dst = slotOf(copy.dst), src = slotOf(copy.src);
  auto viewData = [](const ArrayView &a) { return a.data; };
  auto rawData = [](const RawResult &r) -> const void * { return r.data; };
  auto rawBytes = [&](const RawResult &r) {
    return size_t(numElements(r.shape)) * dtypeSize(r.dtype);
  };
  // Whether `p` points into an argument on the device (`host`: on the host).
  auto inArgument = [&](const void *p, bool host) {
    auto a = static_cast<const char *>(p);
    for (size_t i = 0; i < args.size(); ++i)
      if (hostSide[i] == host && a >= static_cast<const char *>(args[i].data) &&
          a < static_cast<const char *>(args[i].data) + byteSize(args[i]))
        return true;
    return false;
  };
  auto onDevice = [&](void *p) {
    bool inside = false;
    slotOf(p, &inside);
    return inside || inArgument(p, /*host=*/false);
  };
  // An upload of a host argument the host code reads: stays a copy.
  if (inArgument(copy.src, /*host=*/true) && onDevice(copy.dst))
    return Status::ok();
  // An upload of a whole argument: the allocation is the argument.
  int arg = findBuffer(args, copy.src, copy.bytes, viewData, byteSize);
  if (dst >= 0 && arg >= 0 && !hostSide[arg] && allocs[dst] == copy.bytes &&
      !boundTo[dst]) {
    boundTo[dst] = const_cast<void *>(args[arg].data);
    skip[c] = true;
    return Status::ok();
  }
  // A download into a whole result: the allocation is the caller's output.
  int res = findBuffer(results, copy.dst, copy.bytes, rawData, rawBytes);
  if (src >= 0 && res >= 0 && allocs[src] == copy.bytes && !boundTo[src] &&
      !outputBound[res] && results[res].rowMajor()) {
    boundTo[src] = const_cast<void *>(outputs[res].data);
    outputBound[res] = true;
    skip[c] = true;
    return Status::ok();
  }
  // Between device buffers: stays a copy on the device.
  if (onDevice(copy.dst) && onDevice(copy.src))
    return Status::ok();
  return Status::error(
      "copy " + std::to_string(c) + " of its host code (" +
      std::to_string(copy.bytes) + " bytes " +
      (onDevice(copy.src) ? "from the device to the host"
                          : "from the host to the device") +
      ") is not an upload of an argument or a download of a result; the "
      "function needs host buffers");
}

Status DeviceCall::plan(const std::string &fn,
                        const std::vector<ArrayView> &args,
                        const std::vector<bool> &hostSide,
                        const std::vector<RawResult> &results,
                        const std::vector<ArrayView> &outputs) {
  boundTo.assign(allocs.size(), nullptr);
  skip.assign(copies.size(), false);
  std::vector<bool> outputBound(results.size(), false);
  for (size_t c = 0; c < copies.size(); ++c)
    if (Status s = bindCopy(c, args, hostSide, results, outputs, outputBound);
        !s)
      return Status::error("@" + fn + " on device buffers: " + s.message());
  for (size_t j = 0; j < results.size(); ++j)
    if (!outputBound[j])
      return Status::error("@" + fn + " on device buffers: result " +
                           std::to_string(j) +
                           " is not computed on the device (no kernel output "
                           "is copied into it whole); the function needs "
                           "host buffers");
  recording = false;
  return Status::ok();
}

/// Every buffer is non-empty (the host code computes empty problems on the
/// host, from host data).
Status checkNonEmpty(const std::string &fn, const std::vector<ArrayView> &list,
                     const char *what) {
  for (size_t i = 0; i < list.size(); ++i)
    if (numElements(list[i].shape) == 0)
      return Status::error("@" + fn + " on device buffers: " + what + " " +
                           std::to_string(i) + " is empty (" +
                           describe(list[i]) +
                           "); an empty problem needs host buffers");
  return Status::ok();
}

/// Runs the host code once under `call`; its results (freed) in `results`.
Status runHostCode(DeviceCall &call, PackedFunction fn,
                   const FunctionSignature &sig,
                   const std::vector<ArrayView> &args,
                   std::vector<RawResult> &results) {
  Status status = Status::ok();
  {
    CudaInterceptScope scope(&call);
    status = callPackedRaw(fn, sig, args, results);
  }
  Status driver = cudaTakeStatus();
  if (status)
    freeRawResults(results, args);
  if (!driver)
    return Status::error("@" + sig.name + ": " + driver.message());
  return status;
}

/// The arguments as the host code gets them: those it reads itself on the
/// host (device buffers among them downloaded into `storage`, after the
/// work queued on `stream`), the others as given.
struct StagedArguments {
  std::vector<ArrayView> views;
  std::vector<bool> hostSide;
  std::vector<std::vector<uint8_t>> storage;
};

Status stageHostReads(const FunctionSignature &sig,
                      const std::vector<ArrayView> &args,
                      const std::vector<bool> &onHost, void *stream,
                      StagedArguments &staged) {
  staged.views = args;
  staged.hostSide.assign(args.size(), false);
  for (size_t i = 0; i < args.size(); ++i) {
    bool host = i < onHost.size() && onHost[i];
    if (!sig.readsOnHost(i)) {
      if (host)
        return Status::error("@" + sig.name + " argument " + std::to_string(i) +
                             ": a host buffer among device buffers (only "
                             "arguments the host code reads may be)");
      continue;
    }
    staged.hostSide[i] = true;
    if (host)
      continue;
    size_t bytes = byteSize(args[i]);
    staged.storage.emplace_back(bytes);
    if (Status s =
            cudaCopy(staged.storage.back().data(), args[i].data, bytes, stream);
        !s)
      return Status::error("@" + sig.name + " argument " + std::to_string(i) +
                           " (read by the host code): " + s.message());
    staged.views[i].data = staged.storage.back().data();
  }
  return Status::ok();
}

} // namespace

Status deviceResultShapes(PackedFunction fn, const FunctionSignature &sig,
                          const std::vector<ArrayView> &args,
                          const std::vector<bool> &onHost, void *stream,
                          std::vector<std::vector<int64_t>> &shapes) {
  shapes.clear();
  if (Status s = checkNonEmpty(sig.name, args, "argument"); !s)
    return s;
  (void)cudaTakeStatus(); // an earlier call's leftovers are not ours
  StagedArguments staged;
  if (Status s = stageHostReads(sig, args, onHost, stream, staged); !s)
    return s;
  DeviceCall call(nullptr);
  std::vector<RawResult> results;
  if (Status s = runHostCode(call, fn, sig, staged.views, results); !s)
    return s;
  for (const RawResult &r : results)
    shapes.push_back(r.shape);
  return Status::ok();
}

Status callOnDevice(PackedFunction fn, const FunctionSignature &sig,
                    const std::vector<ArrayView> &args,
                    const std::vector<bool> &onHost,
                    const OutputAllocator &allocate, void *stream) {
  if (Status s = checkNonEmpty(sig.name, args, "argument"); !s)
    return s;
  (void)cudaTakeStatus();
  StagedArguments staged;
  if (Status s = stageHostReads(sig, args, onHost, stream, staged); !s)
    return s;
  DeviceCall call(stream);
  std::vector<RawResult> results;
  if (Status s = runHostCode(call, fn, sig, staged.views, results); !s)
    return s;
  std::vector<std::vector<int64_t>> shapes;
  for (const RawResult &r : results)
    shapes.push_back(r.shape);
  std::vector<ArrayView> outputs;
  if (Status s = allocate(shapes, outputs); !s)
    return s;
  if (outputs.size() != results.size())
    return Status::error("@" + sig.name + " returns " +
                         std::to_string(results.size()) + " results, " +
                         std::to_string(outputs.size()) + " outputs given");
  if (Status s = checkNonEmpty(sig.name, outputs, "output"); !s)
    return s;
  for (size_t j = 0; j < results.size(); ++j)
    if (results[j].shape != outputs[j].shape ||
        outputs[j].dtype != sig.results[j].dtype)
      return Status::error(
          "@" + sig.name + " output " + std::to_string(j) + " is " +
          describe(outputs[j]) + ", the result is " +
          HostArray{sig.results[j].dtype, results[j].shape, {}}.describe());
  if (Status s =
          call.plan(sig.name, staged.views, staged.hostSide, results, outputs);
      !s)
    return s;
  if (Status s = runHostCode(call, fn, sig, staged.views, results); !s)
    return s;
  if (!call.replayedAll())
    return Status::error("@" + sig.name +
                         " on device buffers: the host code made fewer "
                         "allocations or copies than in its dry run");
  return Status::ok();
}

Status callOnDevice(PackedFunction fn, const FunctionSignature &sig,
                    const std::vector<ArrayView> &args,
                    const std::vector<bool> &onHost,
                    const std::vector<ArrayView> &outputs, void *stream) {
  if (outputs.size() != sig.results.size())
    return Status::error("@" + sig.name + " returns " +
                         std::to_string(sig.results.size()) + " results, " +
                         std::to_string(outputs.size()) + " outputs given");
  return callOnDevice(
      fn, sig, args, onHost,
      [&](const std::vector<std::vector<int64_t>> &,
          std::vector<ArrayView> &given) {
        given = outputs;
        return Status::ok();
      },
      stream);
}

} // namespace mixrt
