//===- RuntimeCAPI.cpp - the C API of mixir-c/Runtime.h -------------------===//
#include "mixrt/CAPIImpl.h"

#include <cstring>
#include <new>

using namespace mixrt;

static_assert(MIXIR_DTYPE_F32 == static_cast<int>(DType::f32) &&
                  MIXIR_DTYPE_BF16 == static_cast<int>(DType::bf16) &&
                  MIXIR_DTYPE_I64 == static_cast<int>(DType::i64) &&
                  MIXIR_DTYPE_U64 == static_cast<int>(DType::u64) &&
                  MIXIR_DTYPE_BOOL == static_cast<int>(DType::boolean),
              "C and C++ element type codes differ");

struct mixir_buffer_s {
  HostArray array;
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

bool validDType(mixir_dtype_t t) {
  return static_cast<int>(t) >= 0 && static_cast<int>(t) <= MIXIR_DTYPE_BOOL;
}

/// Checks one view's fields (not against a signature); `where` names it.
Status checkView(const mixir_buffer_view_t &v, const std::string &where) {
  if (!validDType(v.dtype))
    return Status::error(where + ": invalid element type code " +
                         std::to_string(static_cast<int>(v.dtype)));
  if (v.device != MIXIR_DEVICE_CPU)
    return Status::error(where + ": buffer is on device " +
                         std::to_string(static_cast<int>(v.device)) +
                         " (CUDA); compiled functions take host buffers (a "
                         "cuda module copies them to the device itself)");
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
  if (n > 0 && !v.data)
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

Status invoke(mixir_function_t function, const mixir_buffer_view_t *args,
              size_t numArgs, size_t numResults, void *stream,
              std::vector<HostArray> &results) {
  if (!function)
    return Status::error("null function handle");
  const FunctionSignature &sig = *function->signature;
  if (numArgs && !args)
    return Status::error("@" + sig.name + ": null argument array");
  if (numResults != sig.results.size())
    return Status::error(
        "@" + sig.name + " returns " + std::to_string(sig.results.size()) +
        " results, space for " + std::to_string(numResults) + " was given");
  std::vector<ArrayView> views(numArgs);
  std::vector<std::vector<uint8_t>> packed;
  for (size_t i = 0; i < numArgs; ++i) {
    const mixir_buffer_view_t &v = args[i];
    if (Status s =
            checkView(v, "@" + sig.name + " argument " + std::to_string(i));
        !s)
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
  return callCompiled(function->entry, function->target, sig, views, results,
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
  return b ? b->array.bytes.data() : nullptr;
}
size_t mixir_buffer_size_bytes(mixir_buffer_t b) {
  return b ? b->array.bytes.size() : 0;
}
int64_t mixir_buffer_num_elements(mixir_buffer_t b) {
  return b ? b->array.numElements() : 0;
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
  std::vector<HostArray> out;
  if (Status s = invoke(function, args, num_args, num_results, stream, out); !s)
    return makeStatus(s.message());
  for (size_t i = 0; i < out.size(); ++i)
    results[i] = new mixir_buffer_s{std::move(out[i])};
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
  // Element types and static sizes of the outputs before the call.
  for (size_t i = 0; i < num_outputs && i < sig.results.size(); ++i) {
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
  std::vector<HostArray> out;
  if (Status s = invoke(function, args, num_args, num_outputs, stream, out); !s)
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
