//===- RuntimeCAPI.cpp - the C API of mixir-c/Runtime.h -------------------===//
#include "mixrt/CAPIImpl.h"
#include "mixrt/Cuda.h"
#include "mixrt/CudaDeviceCall.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

using namespace mixrt;

static_assert(MIXIR_DTYPE_F32 == static_cast<int>(DType::f32) &&
                  MIXIR_DTYPE_BF16 == static_cast<int>(DType::bf16) &&
                  MIXIR_DTYPE_I64 == static_cast<int>(DType::i64) &&
                  MIXIR_DTYPE_U64 == static_cast<int>(DType::u64) &&
                  MIXIR_DTYPE_BOOL == static_cast<int>(DType::boolean),
              "C and C++ element type codes differ");

/// A host array the runtime owns, or memory elsewhere (`external`: device
/// memory, or memory the caller wrapped) described by array's dtype and
/// shape.
struct mixir_buffer_s {
  HostArray array;
  mixir_device_t device = MIXIR_DEVICE_CPU;
  void *external = nullptr;
  bool ownsExternal = false;
  ~mixir_buffer_s() {
    if (ownsExternal)
      (void)cudaFree(external); // nothing to report a failure to
  }
};

/// Returned when even a status cannot be allocated; never freed.
static mixir_status_s outOfMemory{"out of memory"};

namespace mixrt {

mixir_status_t makeStatus(std::string message) {
  auto *s = new (std::nothrow) mixir_status_s;
  if (!s)
    return &outOfMemory;
  s->message = std::move(message);
  return s;
}

std::shared_ptr<ModuleState>
ModuleState::create(std::shared_ptr<LoadedArtifact> a) {
  auto m = std::make_shared<ModuleState>();
  m->artifact = std::move(a);
  const auto &sigs = m->artifact->info().functions;
  for (size_t i = 0; i < sigs.size(); ++i)
    m->functions.push_back(
        {&sigs[i], m->artifact->entryPoints()[i], m->artifact->info().target});
  return m;
}

mixir_module_t makeModuleHandle(std::shared_ptr<ModuleState> state) {
  auto *h = new mixir_module_s;
  h->state = std::move(state);
  return h;
}

} // namespace mixrt

namespace {

/// The integer a C caller stored in an enum field of a view. C lets an enum
/// object hold any int; in C++ reading one outside its enumerators' range
/// through the enum type is undefined (UBSan: "not a valid value for type"),
/// so a field not yet checked is read as the int it is.
template <typename E> int enumCode(const E &field) {
  static_assert(sizeof(E) == sizeof(int), "the C API's enums are int-sized");
  int code;
  std::memcpy(&code, &field, sizeof code);
  return code;
}

bool validDType(int code) { return code >= 0 && code <= MIXIR_DTYPE_BOOL; }

/// Checks one view's fields (not against a signature); `where` names it.
Status checkView(const mixir_buffer_view_t &v, const std::string &where,
                 bool needData = true) {
  if (!validDType(enumCode(v.dtype)))
    return Status::error(where + ": invalid element type code " +
                         std::to_string(enumCode(v.dtype)));
  if (int device = enumCode(v.device);
      device != MIXIR_DEVICE_CPU && device != MIXIR_DEVICE_CUDA)
    return Status::error(where + ": invalid device code " +
                         std::to_string(device));
  if (v.rank < 0 || v.rank > 64)
    return Status::error(where + ": invalid rank " + std::to_string(v.rank));
  if (v.rank > 0 && !v.shape)
    return Status::error(where + ": null shape pointer for rank " +
                         std::to_string(v.rank));
  int64_t n = 1;
  for (int32_t d = 0; d < v.rank; ++d) {
    if (v.shape[d] < 0)
      return Status::error(where + ": negative size " +
                           std::to_string(v.shape[d]) + " in dim " +
                           std::to_string(d));
    if (v.shape[d] != 0 && n > (int64_t(1) << 48) / v.shape[d])
      return Status::error(where + ": too many elements");
    n *= v.shape[d];
  }
  if (n > 0 && !v.data && needData)
    return Status::error(where + ": null data pointer");
  return Status::ok();
}

bool isRowMajor(const mixir_buffer_view_t &v) {
  if (!v.strides)
    return true;
  int64_t expect = 1;
  for (int32_t d = v.rank - 1; d >= 0; --d) {
    if (v.shape[d] != 1 && v.strides[d] != expect)
      return false;
    expect *= v.shape[d];
  }
  return true;
}

/// A view is on the device the call's views are on (`onDevice`); device
/// views are dense and need a module of target cuda.
Status checkPlacement(mixir_function_t function, const mixir_buffer_view_t &v,
                      bool onDevice, const std::string &where) {
  bool device = v.device == MIXIR_DEVICE_CUDA;
  if (device != onDevice)
    return Status::error(where + ": a " + (device ? "device" : "host") +
                         " buffer among " + (onDevice ? "device" : "host") +
                         " buffers (a call takes one kind)");
  if (!device)
    return Status::ok();
  if (function->target != Target::cuda)
    return Status::error(where +
                         ": a device buffer, but the module's "
                         "target is " +
                         targetName(function->target) +
                         " (device buffers need target cuda)");
  if (!isRowMajor(v))
    return Status::error(where + ": a strided device buffer (device "
                                 "buffers must be dense row-major)");
  return Status::ok();
}

/// Copies between a dense row-major buffer and a strided view, element by
/// element along the innermost dimension.
void stridedCopy(const mixir_buffer_view_t &v, uint8_t *dense, bool toView) {
  size_t elem = dtypeSize(static_cast<DType>(v.dtype));
  int64_t n = 1;
  for (int32_t d = 0; d < v.rank; ++d)
    n *= v.shape[d];
  if (n == 0)
    return;
  std::vector<int64_t> index(v.rank, 0);
  auto *base = static_cast<uint8_t *>(v.data);
  for (int64_t linear = 0; linear < n; ++linear) {
    int64_t off = 0;
    for (int32_t d = 0; d < v.rank; ++d)
      off += index[d] * v.strides[d];
    if (toView)
      std::memcpy(base + off * int64_t(elem), dense + linear * elem, elem);
    else
      std::memcpy(dense + linear * elem, base + off * int64_t(elem), elem);
    for (int32_t d = v.rank; d-- > 0;) {
      if (++index[d] < v.shape[d])
        break;
      index[d] = 0;
    }
  }
}

/// The argument views of a call, checked against the signature; strided
/// host views are packed into `packed`. `onDevice`: whether they are device
/// views (then all of them, dense, and the module's target is cuda).
struct CallArguments {
  std::vector<ArrayView> views;
  std::vector<std::vector<uint8_t>> packed; // strided host views, packed
  bool onDevice = false;
  std::vector<bool> onHost; // in a device call: host views the host code reads
};

Status collectArguments(mixir_function_t function,
                        const mixir_buffer_view_t *args, size_t numArgs,
                        CallArguments &call) {
  std::vector<ArrayView> &views = call.views;
  std::vector<std::vector<uint8_t>> &packed = call.packed;
  bool &onDevice = call.onDevice;
  const FunctionSignature &sig = *function->signature;
  if (numArgs && !args)
    return Status::error("@" + sig.name + ": null argument array");
  views.assign(numArgs, ArrayView());
  onDevice = false;
  for (size_t i = 0; args && i < numArgs; ++i)
    onDevice = onDevice || enumCode(args[i].device) == MIXIR_DEVICE_CUDA;
  call.onHost.assign(numArgs, false);
  if (onDevice && !sig.hostReadsKnown)
    return Status::error("@" + sig.name +
                         ": the artifact predates the record of which "
                         "arguments its host code reads (format 3); "
                         "recompile it to call it on device buffers");
  for (size_t i = 0; i < numArgs; ++i) {
    const mixir_buffer_view_t &v = args[i];
    std::string where = "@" + sig.name + " argument " + std::to_string(i);
    if (Status s = checkView(v, where); !s)
      return s;
    // Among device buffers, the arguments the host code reads may be host
    // buffers.
    if (onDevice && v.device == MIXIR_DEVICE_CPU && sig.readsOnHost(i))
      call.onHost[i] = true;
    else if (Status s = checkPlacement(function, v, onDevice, where); !s)
      return s;
    views[i].dtype = static_cast<DType>(v.dtype);
    views[i].shape.assign(v.shape, v.shape + v.rank);
    views[i].data = v.data;
  }
  // Element types, ranks and static sizes first, so a wrong view is named
  // before anything is read through its strides.
  if (Status s = checkArguments(sig, views); !s)
    return s;
  for (size_t i = 0; i < numArgs; ++i) {
    if (isRowMajor(args[i]))
      continue;
    packed.emplace_back(
        HostArray{views[i].dtype, views[i].shape, {}}.numElements() *
        dtypeSize(views[i].dtype));
    stridedCopy(args[i], packed.back().data(), /*toView=*/false);
    views[i].data = packed.back().data();
  }
  return Status::ok();
}

Status invoke(mixir_function_t function, const mixir_buffer_view_t *args,
              size_t numArgs, void *stream, std::vector<HostArray> &results) {
  const FunctionSignature &sig = *function->signature;
  CallArguments call;
  if (Status s = collectArguments(function, args, numArgs, call); !s)
    return s;
  return callCompiled(function->entry, function->target, sig, call.views,
                      results, stream);
}

/// mixir_function_invoke on device views: device results allocated here.
Status invokeOnDevice(mixir_function_t function, const CallArguments &call,
                      mixir_buffer_t *results, void *stream) {
  const FunctionSignature &sig = *function->signature;
  std::vector<std::unique_ptr<mixir_buffer_s>> buffers;
  auto allocate = [&](const std::vector<std::vector<int64_t>> &shapes,
                      std::vector<ArrayView> &outputs) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto b = std::make_unique<mixir_buffer_s>();
      b->array.dtype = sig.results[i].dtype;
      b->array.shape = shapes[i];
      b->device = MIXIR_DEVICE_CUDA;
      size_t bytes = size_t(b->array.numElements()) * dtypeSize(b->array.dtype);
      if (Status s = cudaAllocate(bytes, b->external); !s)
        return Status::error("@" + sig.name + " result " + std::to_string(i) +
                             ": " + s.message());
      b->ownsExternal = true;
      outputs.push_back({b->external, b->array.dtype, shapes[i]});
      buffers.push_back(std::move(b));
    }
    return Status::ok();
  };
  if (Status s = callOnDevice(function->entry, sig, call.views, call.onHost,
                              allocate, stream);
      !s)
    return s;
  for (size_t i = 0; i < buffers.size(); ++i)
    results[i] = buffers[i].release();
  return Status::ok();
}

/// mixir_function_invoke_into on device views.
Status invokeIntoDevice(mixir_function_t function,
                        const mixir_buffer_view_t *args, size_t numArgs,
                        const mixir_buffer_view_t *outputs, size_t numOutputs,
                        void *stream) {
  const FunctionSignature &sig = *function->signature;
  std::vector<ArrayView> outs;
  CallArguments call;
  if (Status s = collectArguments(function, args, numArgs, call); !s)
    return s;
  if (!call.onDevice)
    return Status::error("@" + sig.name +
                         ": the outputs are device buffers, the arguments "
                         "are host buffers (a call takes one kind)");
  for (size_t i = 0; i < numOutputs; ++i) {
    const mixir_buffer_view_t &v = outputs[i];
    std::string where = "@" + sig.name + " output " + std::to_string(i);
    if (Status s = checkPlacement(function, v, true, where); !s)
      return s;
    outs.push_back({v.data, static_cast<DType>(v.dtype),
                    std::vector<int64_t>(v.shape, v.shape + v.rank)});
  }
  return callOnDevice(function->entry, sig, call.views, call.onHost, outs,
                      stream);
}

} // namespace

extern "C" {

const char *mixir_status_message(mixir_status_t status) {
  return status ? status->message.c_str() : "";
}

void mixir_status_free(mixir_status_t status) {
  if (status && status != &outOfMemory)
    delete status;
}

size_t mixir_dtype_size(mixir_dtype_t dtype) {
  return validDType(dtype) ? dtypeSize(static_cast<DType>(dtype)) : 0;
}

const char *mixir_dtype_name(mixir_dtype_t dtype) {
  return validDType(dtype) ? dtypeName(static_cast<DType>(dtype))
                           : "<invalid dtype>";
}

void mixir_buffer_release(mixir_buffer_t buffer) { delete buffer; }
mixir_dtype_t mixir_buffer_dtype(mixir_buffer_t b) {
  return b ? static_cast<mixir_dtype_t>(b->array.dtype) : MIXIR_DTYPE_F32;
}
int32_t mixir_buffer_rank(mixir_buffer_t b) {
  return b ? static_cast<int32_t>(b->array.shape.size()) : 0;
}
const int64_t *mixir_buffer_shape(mixir_buffer_t b) {
  return b ? b->array.shape.data() : nullptr;
}
void *mixir_buffer_data(mixir_buffer_t b) {
  if (!b)
    return nullptr;
  return b->external ? b->external : b->array.bytes.data();
}
size_t mixir_buffer_size_bytes(mixir_buffer_t b) {
  return b ? size_t(b->array.numElements()) * dtypeSize(b->array.dtype) : 0;
}
int64_t mixir_buffer_num_elements(mixir_buffer_t b) {
  return b ? b->array.numElements() : 0;
}
mixir_device_t mixir_buffer_device(mixir_buffer_t b) {
  return b ? b->device : MIXIR_DEVICE_CPU;
}

mixir_status_t mixir_buffer_view(mixir_buffer_t b, mixir_buffer_view_t *out) {
  if (!b || !out)
    return makeStatus("null buffer or output pointer");
  *out = {mixir_buffer_data(b),
          static_cast<mixir_dtype_t>(b->array.dtype),
          static_cast<int32_t>(b->array.shape.size()),
          b->array.shape.data(),
          nullptr,
          b->device};
  return nullptr;
}

/// A buffer of `dtype` and `shape` on `device` (its memory not yet set).
static mixir_status_t newBuffer(mixir_device_t device, mixir_dtype_t dtype,
                                int32_t rank, const int64_t *shape,
                                mixir_buffer_t *out, const char *what) {
  if (!out)
    return makeStatus(std::string(what) + ": null output pointer");
  *out = nullptr;
  mixir_buffer_view_t v = {nullptr, dtype, rank, shape, nullptr, device};
  if (Status s = checkView(v, what, /*needData=*/false); !s)
    return makeStatus(s.message());
  auto b = std::make_unique<mixir_buffer_s>();
  b->array.dtype = static_cast<DType>(dtype);
  b->array.shape.assign(shape, shape + rank);
  b->device = device;
  *out = b.release();
  return nullptr;
}

mixir_status_t mixir_buffer_allocate(mixir_device_t device, mixir_dtype_t dtype,
                                     int32_t rank, const int64_t *shape,
                                     mixir_buffer_t *out) {
  if (mixir_status_t s =
          newBuffer(device, dtype, rank, shape, out, "mixir_buffer_allocate"))
    return s;
  mixir_buffer_s &b = **out;
  size_t bytes = mixir_buffer_size_bytes(&b);
  if (device == MIXIR_DEVICE_CPU) {
    b.array.bytes.assign(bytes, 0);
    return nullptr;
  }
  if (Status s = cudaAllocate(bytes, b.external); !s) {
    delete *out;
    *out = nullptr;
    return makeStatus("mixir_buffer_allocate: " + s.message());
  }
  b.ownsExternal = true;
  return nullptr;
}

mixir_status_t mixir_buffer_wrap(mixir_device_t device, void *data,
                                 mixir_dtype_t dtype, int32_t rank,
                                 const int64_t *shape, mixir_buffer_t *out) {
  if (mixir_status_t s =
          newBuffer(device, dtype, rank, shape, out, "mixir_buffer_wrap"))
    return s;
  if (!data && mixir_buffer_num_elements(*out) > 0) {
    delete *out;
    *out = nullptr;
    return makeStatus("mixir_buffer_wrap: null data pointer");
  }
  (*out)->external = data;
  return nullptr;
}

mixir_status_t mixir_buffer_copy(const mixir_buffer_view_t *dst,
                                 const mixir_buffer_view_t *src, void *stream) {
  if (!dst || !src)
    return makeStatus("mixir_buffer_copy: null view");
  for (const auto &[v, name] :
       {std::pair{dst, "destination"}, std::pair{src, "source"}}) {
    std::string where = std::string("mixir_buffer_copy: ") + name;
    if (Status s = checkView(*v, where); !s)
      return makeStatus(s.message());
    if (!isRowMajor(*v))
      return makeStatus(where + " is not dense row-major");
  }
  if (dst->dtype != src->dtype)
    return makeStatus(std::string("mixir_buffer_copy: element types differ (") +
                      mixir_dtype_name(dst->dtype) + " destination, " +
                      mixir_dtype_name(src->dtype) + " source)");
  if (!std::equal(dst->shape, dst->shape + dst->rank, src->shape,
                  src->shape + src->rank))
    return makeStatus("mixir_buffer_copy: shapes differ");
  size_t bytes = size_t(HostArray{
                     static_cast<DType>(dst->dtype),
                     std::vector<int64_t>(dst->shape, dst->shape + dst->rank),
                     {}}.numElements()) *
                 dtypeSize(static_cast<DType>(dst->dtype));
  if (dst->device == MIXIR_DEVICE_CPU && src->device == MIXIR_DEVICE_CPU) {
    if (stream)
      return makeStatus("mixir_buffer_copy: a stream for a host copy");
    if (bytes)
      std::memmove(dst->data, src->data, bytes);
    return nullptr;
  }
  if (Status s = cudaCopy(dst->data, src->data, bytes, stream); !s)
    return makeStatus("mixir_buffer_copy: " + s.message());
  return nullptr;
}

mixir_status_t mixir_module_load_artifact(const void *bytes, size_t size,
                                          mixir_module_t *out) {
  if (!out)
    return makeStatus("null output pointer");
  *out = nullptr;
  if (!bytes)
    return makeStatus("null artifact data");
  std::shared_ptr<LoadedArtifact> a;
  if (Status s = LoadedArtifact::load(
          std::string(static_cast<const char *>(bytes), size), a);
      !s)
    return makeStatus(s.message());
  *out = makeModuleHandle(ModuleState::create(std::move(a)));
  return nullptr;
}

mixir_status_t mixir_module_load_artifact_file(const char *path,
                                               mixir_module_t *out) {
  if (!out)
    return makeStatus("null output pointer");
  *out = nullptr;
  if (!path)
    return makeStatus("null path");
  std::string bytes;
  if (Status s = readFileBytes(path, bytes); !s)
    return makeStatus(s.message());
  std::shared_ptr<LoadedArtifact> a;
  if (Status s = LoadedArtifact::load(std::move(bytes), a); !s)
    return makeStatus(std::string(path) + ": " + s.message());
  *out = makeModuleHandle(ModuleState::create(std::move(a)));
  return nullptr;
}

mixir_status_t mixir_module_artifact(mixir_module_t module, const void **bytes,
                                     size_t *size) {
  if (!module || !bytes || !size)
    return makeStatus("null module or output pointer");
  *bytes = module->state->artifact->bytes().data();
  *size = module->state->artifact->bytes().size();
  return nullptr;
}

mixir_status_t mixir_module_save_artifact(mixir_module_t module,
                                          const char *path) {
  if (!module || !path)
    return makeStatus("null module or path");
  return toStatus(writeFileAtomic(path, module->state->artifact->bytes()));
}

void mixir_module_retain(mixir_module_t module) {
  if (module)
    module->references.fetch_add(1);
}

void mixir_module_release(mixir_module_t module) {
  if (module && module->references.fetch_sub(1) == 1)
    delete module;
}

const char *mixir_module_target(mixir_module_t module) {
  return module ? targetName(module->state->artifact->info().target) : "";
}

size_t mixir_module_num_functions(mixir_module_t module) {
  return module ? module->state->functions.size() : 0;
}

mixir_status_t mixir_module_function_at(mixir_module_t module, size_t index,
                                        mixir_function_t *out) {
  if (!module || !out)
    return makeStatus("null module or output pointer");
  *out = nullptr;
  if (index >= module->state->functions.size())
    return makeStatus("function index " + std::to_string(index) +
                      " is out of range (the module has " +
                      std::to_string(module->state->functions.size()) + ")");
  *out = &module->state->functions[index];
  return nullptr;
}

mixir_status_t mixir_module_lookup(mixir_module_t module, const char *name,
                                   mixir_function_t *out) {
  if (!module || !name || !out)
    return makeStatus("null module, name or output pointer");
  *out = nullptr;
  std::string known;
  for (auto &f : module->state->functions) {
    if (f.signature->name == name) {
      *out = &f;
      return nullptr;
    }
    known += (known.empty() ? "@" : ", @") + f.signature->name;
  }
  return makeStatus("no function @" + std::string(name) +
                    " in the module (it has " + known + ")");
}

const char *mixir_function_name(mixir_function_t f) {
  return f ? f->signature->name.c_str() : "";
}
size_t mixir_function_num_args(mixir_function_t f) {
  return f ? f->signature->args.size() : 0;
}
size_t mixir_function_num_results(mixir_function_t f) {
  return f ? f->signature->results.size() : 0;
}
int mixir_function_arg_read_on_host(mixir_function_t f, size_t index) {
  return f && f->signature->readsOnHost(index) ? 1 : 0;
}

static mixir_status_t tensorType(mixir_function_t f, size_t index,
                                 mixir_tensor_type_t *out, bool result) {
  if (!f || !out)
    return makeStatus("null function or output pointer");
  const auto &list = result ? f->signature->results : f->signature->args;
  if (index >= list.size())
    return makeStatus("@" + f->signature->name + " has " +
                      std::to_string(list.size()) +
                      (result ? " results" : " arguments") + ", index " +
                      std::to_string(index) + " is out of range");
  const TensorSignature &t = list[index];
  out->dtype = static_cast<mixir_dtype_t>(t.dtype);
  out->rank = static_cast<int32_t>(t.shape.size());
  out->shape = t.shape.data();
  return nullptr;
}

mixir_status_t mixir_function_arg_type(mixir_function_t f, size_t index,
                                       mixir_tensor_type_t *out) {
  return tensorType(f, index, out, false);
}
mixir_status_t mixir_function_result_type(mixir_function_t f, size_t index,
                                          mixir_tensor_type_t *out) {
  return tensorType(f, index, out, true);
}

mixir_status_t mixir_function_invoke(mixir_function_t function,
                                     const mixir_buffer_view_t *args,
                                     size_t num_args, mixir_buffer_t *results,
                                     size_t num_results, void *stream) {
  if (num_results && !results)
    return makeStatus("null result array");
  for (size_t i = 0; i < num_results; ++i)
    results[i] = nullptr;
  if (!function)
    return makeStatus("null function handle");
  const FunctionSignature &sig = *function->signature;
  if (num_results != sig.results.size())
    return makeStatus(
        "@" + sig.name + " returns " + std::to_string(sig.results.size()) +
        " results, space for " + std::to_string(num_results) + " was given");
  CallArguments call;
  if (Status s = collectArguments(function, args, num_args, call); !s)
    return makeStatus(s.message());
  if (call.onDevice)
    return toStatus(invokeOnDevice(function, call, results, stream));
  std::vector<HostArray> out;
  if (Status s = callCompiled(function->entry, function->target, sig,
                              call.views, out, stream);
      !s)
    return makeStatus(s.message());
  for (size_t i = 0; i < out.size(); ++i)
    results[i] = new mixir_buffer_s{std::move(out[i])};
  return nullptr;
}

mixir_status_t mixir_function_result_shapes(mixir_function_t function,
                                            const mixir_buffer_view_t *args,
                                            size_t num_args, int64_t *dims,
                                            size_t num_dims) {
  if (!function)
    return makeStatus("null function handle");
  const FunctionSignature &sig = *function->signature;
  size_t total = 0;
  for (const TensorSignature &r : sig.results)
    total += r.shape.size();
  if (num_dims != total || (total && !dims))
    return makeStatus("@" + sig.name + ": its results have " +
                      std::to_string(total) + " dims in all, space for " +
                      std::to_string(num_dims) + " was given");
  CallArguments call;
  if (Status s = collectArguments(function, args, num_args, call); !s)
    return makeStatus(s.message());
  if (!call.onDevice)
    return makeStatus("@" + sig.name +
                      ": result shapes are inferred for calls on device "
                      "buffers only");
  std::vector<std::vector<int64_t>> shapes;
  if (Status s = deviceResultShapes(function->entry, sig, call.views,
                                    call.onHost, /*stream=*/nullptr, shapes);
      !s)
    return makeStatus(s.message());
  for (const auto &shape : shapes)
    for (int64_t d : shape)
      *dims++ = d;
  return nullptr;
}

mixir_status_t mixir_function_invoke_into(mixir_function_t function,
                                          const mixir_buffer_view_t *args,
                                          size_t num_args,
                                          const mixir_buffer_view_t *outputs,
                                          size_t num_outputs, void *stream) {
  if (!function)
    return makeStatus("null function handle");
  const FunctionSignature &sig = *function->signature;
  if (num_outputs && !outputs)
    return makeStatus("@" + sig.name + ": null output array");
  if (num_outputs != sig.results.size())
    return makeStatus(
        "@" + sig.name + " returns " + std::to_string(sig.results.size()) +
        " results, space for " + std::to_string(num_outputs) + " was given");
  // Element types and static sizes of the outputs before the call.
  for (size_t i = 0; i < num_outputs; ++i) {
    std::string where = "@" + sig.name + " output " + std::to_string(i);
    if (Status s = checkView(outputs[i], where); !s)
      return makeStatus(s.message());
    const TensorSignature &want = sig.results[i];
    if (static_cast<DType>(outputs[i].dtype) != want.dtype ||
        size_t(outputs[i].rank) != want.shape.size())
      return makeStatus(where + ": " +
                        dtypeName(static_cast<DType>(outputs[i].dtype)) +
                        " of rank " + std::to_string(outputs[i].rank) +
                        ", the result is " + want.describe());
  }
  if (num_outputs && outputs[0].device == MIXIR_DEVICE_CUDA)
    return toStatus(invokeIntoDevice(function, args, num_args, outputs,
                                     num_outputs, stream));
  for (size_t i = 0; i < num_outputs; ++i)
    if (outputs[i].device != MIXIR_DEVICE_CPU)
      return makeStatus("@" + sig.name + " output " + std::to_string(i) +
                        ": a device buffer among host buffers (a call takes "
                        "one kind)");
  std::vector<HostArray> out;
  if (Status s = invoke(function, args, num_args, stream, out); !s)
    return makeStatus(s.message());
  for (size_t i = 0; i < out.size(); ++i) {
    const mixir_buffer_view_t &v = outputs[i];
    for (int32_t d = 0; d < v.rank; ++d)
      if (v.shape[d] != out[i].shape[d])
        return makeStatus("@" + sig.name + " output " + std::to_string(i) +
                          ": dim " + std::to_string(d) + " is " +
                          std::to_string(v.shape[d]) + ", the result is " +
                          out[i].describe());
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (isRowMajor(outputs[i])) {
      if (!out[i].bytes.empty())
        std::memcpy(outputs[i].data, out[i].bytes.data(), out[i].bytes.size());
    } else {
      stridedCopy(outputs[i], out[i].bytes.data(), /*toView=*/true);
    }
  }
  return nullptr;
}

} // extern "C"
