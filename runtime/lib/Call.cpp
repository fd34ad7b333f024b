//===- Call.cpp - calling compiled functions through the packed ABI -------===//
#include "mixrt/Call.h"
#include "mixrt/Cuda.h"
#include "mixrt/TestPlugin.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

namespace {
/// Errors reported by compiled code during the current call on this thread.
thread_local std::string pendingShapeError;

std::string shapeString(const std::vector<int64_t> &shape, mixrt::DType t) {
  std::ostringstream os;
  for (int64_t d : shape) {
    if (d < 0)
      os << "?";
    else
      os << d;
    os << "x";
  }
  os << mixrt::dtypeName(t);
  return os.str();
}
} // namespace

extern "C" void _mlir_ciface_mixrtShapeError(MixrtMessageRef *message,
                                             int64_t got, int64_t expected) {
  std::string text(message->aligned + message->offset,
                   static_cast<size_t>(message->size));
  if (!pendingShapeError.empty())
    pendingShapeError += "; ";
  pendingShapeError += text + " (got " + std::to_string(got) + ", expected " +
                       std::to_string(expected) + ")";
}

namespace {
struct StridedView {
  char *base;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
};

StridedView viewOf(const MixrtUnrankedMemRef *m) {
  auto *words = static_cast<int64_t *>(m->descriptor);
  return {reinterpret_cast<char *>(words[1]), words[2], words + 3,
          words + 3 + m->rank};
}
} // namespace

extern "C" void memrefCopy(int64_t elementSize, MixrtUnrankedMemRef *source,
                           MixrtUnrankedMemRef *destination) {
  int64_t rank = source->rank;
  StridedView src = viewOf(source), dst = viewOf(destination);
  int64_t total = 1;
  for (int64_t d = 0; d < rank; ++d)
    total *= src.sizes[d];
  if (total == 0)
    return;
  // Copy innermost runs that are contiguous on both sides with one memcpy
  // each (a whole row-major array is a single run).
  int64_t inner = rank;
  int64_t run = 1;
  while (inner > 0 && src.strides[inner - 1] == run &&
         dst.strides[inner - 1] == run) {
    run *= src.sizes[inner - 1];
    --inner;
  }
  std::vector<int64_t> index(inner, 0);
  for (int64_t n = 0; n < total; n += run) {
    int64_t s = src.offset, t = dst.offset;
    for (int64_t d = 0; d < inner; ++d) {
      s += index[d] * src.strides[d];
      t += index[d] * dst.strides[d];
    }
    std::memcpy(dst.base + t * elementSize, src.base + s * elementSize,
                run * elementSize);
    for (int64_t d = inner; d-- > 0;) {
      if (++index[d] < src.sizes[d])
        break;
      index[d] = 0;
    }
  }
}

namespace mixrt {

std::string TensorSignature::describe() const {
  return shapeString(shape, dtype);
}

bool FunctionSignature::readsOnHost(size_t arg) const {
  return std::binary_search(hostReadArgs.begin(), hostReadArgs.end(), arg);
}

Status checkArguments(const FunctionSignature &sig,
                      const std::vector<ArrayView> &args) {
  if (args.size() != sig.args.size())
    return Status::error("@" + sig.name + " takes " +
                         std::to_string(sig.args.size()) + " arguments, got " +
                         std::to_string(args.size()));
  for (size_t i = 0; i < args.size(); ++i) {
    const TensorSignature &want = sig.args[i];
    const ArrayView &got = args[i];
    std::string where = "@" + sig.name + " argument " + std::to_string(i);
    std::string gotDesc = shapeString(got.shape, got.dtype);
    if (got.dtype != want.dtype)
      return Status::error(where + ": element type " + dtypeName(got.dtype) +
                           ", expected " + dtypeName(want.dtype) + " (" +
                           want.describe() + ")");
    if (got.shape.size() != want.shape.size())
      return Status::error(
          where + ": rank " + std::to_string(got.shape.size()) + " (" +
          gotDesc + "), expected rank " + std::to_string(want.shape.size()) +
          " (" + want.describe() + ")");
    for (size_t d = 0; d < want.shape.size(); ++d) {
      if (got.shape[d] < 0)
        return Status::error(where + ": negative size in " + gotDesc);
      if (want.shape[d] >= 0 && got.shape[d] != want.shape[d])
        return Status::error(where + ": dim " + std::to_string(d) + " is " +
                             std::to_string(got.shape[d]) + ", expected " +
                             std::to_string(want.shape[d]) + " (" + gotDesc +
                             " vs " + want.describe() + ")");
    }
    if (!got.data && HostArray{got.dtype, got.shape, {}}.numElements() != 0)
      return Status::error(where + ": null data pointer");
  }
  return Status::ok();
}

Status callPackedRaw(PackedFunction fn, const FunctionSignature &sig,
                     const std::vector<ArrayView> &args,
                     std::vector<RawResult> &results) {
  results.clear();
  if (Status s = checkArguments(sig, args); !s)
    return s;

  // Descriptor words of every argument, then storage for the results.
  std::vector<std::vector<int64_t>> argWords;
  argWords.reserve(args.size());
  for (const ArrayView &a : args) {
    std::vector<int64_t> w;
    auto ptr = reinterpret_cast<int64_t>(a.data);
    w.push_back(ptr); // allocated
    w.push_back(ptr); // aligned
    w.push_back(0);   // offset
    for (int64_t d : a.shape)
      w.push_back(d);
    int64_t stride = 1;
    std::vector<int64_t> strides(a.shape.size());
    for (size_t d = a.shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= a.shape[d];
    }
    w.insert(w.end(), strides.begin(), strides.end());
    argWords.push_back(std::move(w));
  }
  size_t resultWords = 0;
  for (const TensorSignature &r : sig.results)
    resultWords += 3 + 2 * r.shape.size();
  std::vector<int64_t> resultStorage(resultWords, 0);

  std::vector<void *> packed;
  for (auto &w : argWords)
    for (int64_t &word : w)
      packed.push_back(&word);
  if (!sig.results.empty())
    packed.push_back(resultStorage.data());

  pendingShapeError.clear();
  fn(packed.data());
  std::string shapeError;
  shapeError.swap(pendingShapeError);

  size_t at = 0;
  for (const TensorSignature &r : sig.results) {
    size_t rank = r.shape.size();
    RawResult out;
    out.dtype = r.dtype;
    out.allocated = reinterpret_cast<void *>(resultStorage[at]);
    out.data = reinterpret_cast<uint8_t *>(resultStorage[at + 1]) +
               resultStorage[at + 2] * int64_t(dtypeSize(r.dtype));
    out.shape.assign(resultStorage.begin() + at + 3,
                     resultStorage.begin() + at + 3 + rank);
    out.strides.assign(resultStorage.begin() + at + 3 + rank,
                       resultStorage.begin() + at + 3 + 2 * rank);
    at += 3 + 2 * rank;
    results.push_back(std::move(out));
  }
  if (!shapeError.empty()) {
    freeRawResults(results, args);
    results.clear();
    return Status::error("@" + sig.name + ": " + shapeError);
  }
  return Status::ok();
}

void freeRawResults(const std::vector<RawResult> &results,
                    const std::vector<ArrayView> &args) {
  // Free only after every result is used: results may view one buffer.
  // Constant globals carry this marker instead of an allocated pointer.
  std::set<void *> inputs, freed;
  for (const ArrayView &a : args)
    inputs.insert(const_cast<void *>(a.data));
  void *globalMarker = reinterpret_cast<void *>(0xdeadbeef);
  for (const RawResult &r : results)
    if (r.allocated && r.allocated != globalMarker &&
        !inputs.count(r.allocated) && freed.insert(r.allocated).second)
      std::free(r.allocated);
}

bool RawResult::rowMajor() const {
  for (int64_t d = int64_t(shape.size()) - 1, expect = 1; d >= 0; --d) {
    if (shape[d] != 1 && strides[d] != expect)
      return false;
    expect *= shape[d];
  }
  return true;
}

/// A dense row-major host copy of `r`.
static HostArray copyOut(const RawResult &r) {
  HostArray out;
  out.dtype = r.dtype;
  out.shape = r.shape;
  size_t rank = r.shape.size();
  size_t elem = dtypeSize(r.dtype);
  int64_t n = out.numElements();
  out.bytes.resize(static_cast<size_t>(n) * elem);
  bool rowMajor = r.rowMajor();
  std::vector<int64_t> index(rank, 0);
  if (rowMajor && n > 0)
    std::memcpy(out.bytes.data(), r.data, out.bytes.size());
  for (int64_t linear = 0; !rowMajor && linear < n; ++linear) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d)
      src += index[d] * r.strides[d];
    std::memcpy(out.bytes.data() + linear * elem, r.data + src * elem, elem);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < out.shape[d])
        break;
      index[d] = 0;
    }
  }
  // LLVM stores an i1 as a byte whose upper bits are unspecified.
  if (r.dtype == DType::boolean)
    for (uint8_t &byte : out.bytes)
      byte &= 1;
  return out;
}

Status callPacked(PackedFunction fn, const FunctionSignature &sig,
                  const std::vector<ArrayView> &args,
                  std::vector<HostArray> &results) {
  results.clear();
  std::vector<RawResult> raw;
  if (Status s = callPackedRaw(fn, sig, args, raw); !s)
    return s;
  for (const RawResult &r : raw)
    results.push_back(copyOut(r));
  freeRawResults(raw, args);
  return Status::ok();
}

Status callCompiled(PackedFunction fn, Target target,
                    const FunctionSignature &sig,
                    const std::vector<ArrayView> &args,
                    std::vector<HostArray> &results, void *stream) {
  bool cuda = target == Target::cuda;
  if (stream && !cuda)
    return Status::error("@" + sig.name + ": code for target " +
                         targetName(target) +
                         " runs synchronously on the CPU; the stream must be "
                         "NULL");
  if (cuda)
    (void)cudaTakeStatus(); // an earlier call's leftovers are not ours
  Status status = Status::ok();
  {
    CudaStreamScope onStream(stream);
    status = callPacked(fn, sig, args, results);
  }
  Status outside = takeTargetError(target);
  if (Status c = cuda ? cudaTakeStatus() : Status::ok(); !c)
    outside = Status::error("@" + sig.name + ": " + c.message());
  if (!outside && (status || cuda)) {
    results.clear();
    return outside;
  }
  return status;
}

} // namespace mixrt
