//===- MixirModule.cpp - the `mixir._mixir` nanobind extension ------------===//
//
// A thin layer over the C API (mixir-c/Mixir.h): compiler contexts (with
// their in-memory and disk caches), modules compiled or loaded from
// artifacts, and calls. Arguments cross as (address, dtype name, shape,
// strides in elements or None) and are read in place (no copy for dense
// row-major arrays). Results are the runtime's buffers, handed to numpy
// without a copy as uint8 arrays that own them; the Python side views them
// with the right dtype and shape (numpy has no native bfloat16).
//
// Every target takes this path: on target cuda the runtime copies host
// arguments to the device and the results back.
//
//===----------------------------------------------------------------------===//
#include "DeviceBuffers.h"
#include "mixir-c/Mixir.h"
#include "mixir/Compiler/CompileOptions.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mixrt/Cuda.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nb = nanobind;

namespace {

using mixir_python::check;
using mixir_python::dtypeFromName;

using TensorDesc = std::tuple<std::string, std::vector<int64_t>>;
using FunctionDesc =
    std::tuple<std::string, std::vector<TensorDesc>, std::vector<TensorDesc>>;
using ArgDesc = std::tuple<uintptr_t, std::string, std::vector<int64_t>,
                           std::optional<std::vector<int64_t>>>;
/// A dense view (address, dtype, shape, on the host): device memory, or
/// host memory for an argument the host code reads.
using DeviceDesc =
    std::tuple<uintptr_t, std::string, std::vector<int64_t>, bool>;

class PyModule {
public:
  explicit PyModule(mixir_module_t m) : module(m) {}
  PyModule(const PyModule &o) : module(o.module) {
    mixir_module_retain(module);
  }
  PyModule(PyModule &&o) noexcept : module(o.module) { o.module = nullptr; }
  ~PyModule() { mixir_module_release(module); }

  /// [(name, [(dtype, shape)], [(dtype, shape)])], -1 for dynamic dims.
  std::vector<FunctionDesc> functions() const {
    std::vector<FunctionDesc> out;
    for (size_t i = 0, n = mixir_module_num_functions(module); i < n; ++i) {
      mixir_function_t f;
      check(mixir_module_function_at(module, i, &f));
      out.emplace_back(mixir_function_name(f), types(f, false), types(f, true));
    }
    return out;
  }

  /// The indices of the arguments of `name` that its host code reads.
  std::vector<size_t> hostReadArgs(const std::string &name) const {
    mixir_function_t f;
    check(mixir_module_lookup(module, name.c_str(), &f));
    std::vector<size_t> out;
    for (size_t i = 0, n = mixir_function_num_args(f); i < n; ++i)
      if (mixir_function_arg_read_on_host(f, i))
        out.push_back(i);
    return out;
  }

  /// Returns [(uint8 array owning the result buffer, dtype, shape)].
  nb::list call(const std::string &name, const std::vector<ArgDesc> &args) {
    mixir_function_t f;
    check(mixir_module_lookup(module, name.c_str(), &f));
    std::vector<mixir_buffer_view_t> views(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      const auto &[addr, dtype, shape, strides] = args[i];
      auto t = dtypeFromName(dtype);
      if (!t)
        throw nb::type_error(
            ("unsupported element type '" + dtype + "'").c_str());
      if (strides && strides->size() != shape.size())
        throw nb::value_error("strides and shape differ in length");
      views[i] = {reinterpret_cast<void *>(addr),      *t,
                  static_cast<int32_t>(shape.size()),  shape.data(),
                  strides ? strides->data() : nullptr, MIXIR_DEVICE_CPU};
    }
    size_t n = mixir_function_num_results(f);
    std::vector<mixir_buffer_t> results(n, nullptr);
    mixir_status_t status;
    {
      nb::gil_scoped_release release;
      status = mixir_function_invoke(f, views.data(), views.size(),
                                     results.data(), n, nullptr);
    }
    raise(status, name);
    nb::list out;
    for (mixir_buffer_t r : results) {
      nb::capsule owner(r, [](void *p) noexcept {
        mixir_buffer_release(static_cast<mixir_buffer_t>(p));
      });
      size_t bytes = mixir_buffer_size_bytes(r);
      nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>> raw(
          static_cast<uint8_t *>(mixir_buffer_data(r)), {bytes}, owner);
      const int64_t *shape = mixir_buffer_shape(r);
      out.append(nb::make_tuple(
          raw.cast(), std::string(mixir_dtype_name(mixir_buffer_dtype(r))),
          std::vector<int64_t>(shape, shape + mixir_buffer_rank(r))));
    }
    return out;
  }

  /// Device views (address, dtype, shape): the result shapes of a call.
  std::vector<std::vector<int64_t>>
  resultShapes(const std::string &name, const std::vector<DeviceDesc> &args) {
    mixir_function_t f;
    check(mixir_module_lookup(module, name.c_str(), &f));
    std::vector<mixir_buffer_view_t> views = deviceViews(args);
    std::vector<int32_t> ranks;
    size_t total = 0;
    for (size_t i = 0, n = mixir_function_num_results(f); i < n; ++i) {
      mixir_tensor_type_t t;
      check(mixir_function_result_type(f, i, &t));
      ranks.push_back(t.rank);
      total += t.rank;
    }
    std::vector<int64_t> dims(total);
    mixir_status_t status;
    {
      nb::gil_scoped_release release;
      status = mixir_function_result_shapes(f, views.data(), views.size(),
                                            dims.data(), dims.size());
    }
    check(status);
    std::vector<std::vector<int64_t>> out;
    size_t at = 0;
    for (int32_t r : ranks) {
      out.emplace_back(dims.begin() + at, dims.begin() + at + r);
      at += r;
    }
    return out;
  }

  /// Calls `name` on device views, writing its results into `outputs`
  /// (device views too), queued on `stream` (a CUstream address, 0: the
  /// legacy default stream).
  void callInto(const std::string &name, const std::vector<DeviceDesc> &args,
                const std::vector<DeviceDesc> &outputs, uintptr_t stream) {
    mixir_function_t f;
    check(mixir_module_lookup(module, name.c_str(), &f));
    std::vector<mixir_buffer_view_t> in = deviceViews(args);
    std::vector<mixir_buffer_view_t> out = deviceViews(outputs);
    mixir_status_t status;
    {
      nb::gil_scoped_release release;
      status = mixir_function_invoke_into(f, in.data(), in.size(), out.data(),
                                          out.size(),
                                          reinterpret_cast<void *>(stream));
    }
    raise(status, name);
  }

  void save(const std::string &path) const {
    check(mixir_module_save_artifact(module, path.c_str()));
  }
  std::string target() const { return mixir_module_target(module); }

private:
  /// A CUDA failure (reported by the runtime as "@f: mgpu...") is a
  /// RuntimeError; bad arguments are ValueErrors.
  static void raise(mixir_status_t status, const std::string &name) {
    if (status && std::string_view(mixir_status_message(status))
                          .rfind("@" + name + ": mgpu", 0) == 0) {
      std::string message = mixir_status_message(status);
      mixir_status_free(status);
      throw std::runtime_error(message);
    }
    check(status);
  }

  /// Views of dense tensors; the shapes stay in `descs`.
  static std::vector<mixir_buffer_view_t>
  deviceViews(const std::vector<DeviceDesc> &descs) {
    std::vector<mixir_buffer_view_t> views;
    for (const auto &[addr, dtype, shape, host] : descs) {
      auto t = dtypeFromName(dtype);
      if (!t)
        throw nb::type_error(
            ("unsupported element type '" + dtype + "'").c_str());
      views.push_back({reinterpret_cast<void *>(addr), *t,
                       static_cast<int32_t>(shape.size()), shape.data(),
                       nullptr, host ? MIXIR_DEVICE_CPU : MIXIR_DEVICE_CUDA});
    }
    return views;
  }

  static std::vector<TensorDesc> types(mixir_function_t f, bool results) {
    std::vector<TensorDesc> out;
    size_t n =
        results ? mixir_function_num_results(f) : mixir_function_num_args(f);
    for (size_t i = 0; i < n; ++i) {
      mixir_tensor_type_t t;
      check(results ? mixir_function_result_type(f, i, &t)
                    : mixir_function_arg_type(f, i, &t));
      out.emplace_back(mixir_dtype_name(t.dtype),
                       std::vector<int64_t>(t.shape, t.shape + t.rank));
    }
    return out;
  }
  mixir_module_t module;
};

class PyCompiler {
public:
  PyCompiler(const std::string &target, std::optional<int64_t> chunkSize,
             int optLevel, std::optional<std::string> cacheDir,
             std::optional<std::string> chip,
             std::optional<int64_t> cacheMaxBytes) {
    mixir_compiler_options_t o;
    mixir_compiler_options_init(&o);
    o.target = target.c_str();
    o.chip = chip ? chip->c_str() : nullptr;
    o.chunk_size = chunkSize ? *chunkSize : MIXIR_CHUNK_SIZE_DEFAULT;
    o.opt_level = optLevel;
    o.cache_dir = cacheDir ? cacheDir->c_str() : nullptr;
    o.cache_max_bytes = cacheMaxBytes ? *cacheMaxBytes : 0;
    check(mixir_compiler_create(&o, &compiler));
  }
  PyCompiler(const PyCompiler &) = delete;
  ~PyCompiler() { mixir_compiler_destroy(compiler); }

  PyModule compile(const std::string &source, const std::string &name) {
    mixir_module_t m = nullptr;
    mixir_status_t status;
    {
      nb::gil_scoped_release release;
      status = mixir_compiler_compile(compiler, source.data(), source.size(),
                                      name.c_str(), &m);
    }
    check(status);
    return PyModule(m);
  }

  /// (compiles, memory hits, disk hits, disk rejects)
  std::tuple<uint64_t, uint64_t, uint64_t, uint64_t> stats() const {
    mixir_cache_stats_t s;
    check(mixir_compiler_cache_stats(compiler, &s));
    return {s.compiles, s.memory_hits, s.disk_hits, s.disk_rejects};
  }
  void clear() { check(mixir_compiler_clear_cache(compiler)); }

private:
  mixir_compiler_t compiler = nullptr;
};

} // namespace

NB_MODULE(_mixir, m) {
  m.doc() = "MixIR native extension over the C API: compile, load, call";
  nb::class_<PyModule>(m, "NativeModule")
      .def("functions", &PyModule::functions)
      .def("host_read_args", &PyModule::hostReadArgs, nb::arg("name"))
      .def("call", &PyModule::call, nb::arg("name"), nb::arg("args"))
      .def("result_shapes", &PyModule::resultShapes, nb::arg("name"),
           nb::arg("args"))
      .def("call_into", &PyModule::callInto, nb::arg("name"), nb::arg("args"),
           nb::arg("outputs"), nb::arg("stream"))
      .def("save", &PyModule::save, nb::arg("path"))
      .def("target", &PyModule::target);
  mixir_python::defineDeviceBuffers(m);
  nb::class_<PyCompiler>(m, "Compiler")
      .def(nb::init<const std::string &, std::optional<int64_t>, int,
                    std::optional<std::string>, std::optional<std::string>,
                    std::optional<int64_t>>(),
           nb::arg("target"), nb::arg("chunk_size") = nb::none(),
           nb::arg("opt_level") = 3, nb::arg("cache_dir") = nb::none(),
           nb::arg("chip") = nb::none(),
           nb::arg("cache_max_bytes") = nb::none())
      .def("compile", &PyCompiler::compile, nb::arg("source"),
           nb::arg("name") = "<source>")
      .def("stats", &PyCompiler::stats)
      .def("clear", &PyCompiler::clear);
  m.def(
      "load",
      [](const std::string &path) {
        mixir_module_t mod = nullptr;
        check(mixir_module_load_artifact_file(path.c_str(), &mod));
        return PyModule(mod);
      },
      nb::arg("path"));
  m.def("version", [] { return std::string(mixir_compiler_version()); });

  // Options, checked where every front end's are (CompileOptions.h): the
  // Python layer asks here instead of repeating the rules.
  {
    // Members named after mixrt/Target.h's names ('-' as '_').
    nb::enum_<mixrt::Target> target(m, "Target");
    static std::vector<std::string> names;
    for (mixrt::Target t : mixrt::kAllTargets) {
      std::string name = mixrt::targetName(t);
      std::replace(name.begin(), name.end(), '-', '_');
      names.push_back(name);
    }
    for (size_t i = 0; i < names.size(); ++i)
      target.value(names[i].c_str(), mixrt::kAllTargets[i]);
  }
  m.def(
      "parse_target",
      [](const std::string &name) {
        auto target = mixir::parseTargetName(name);
        if (!target)
          throw nb::value_error(llvm::toString(target.takeError()).c_str());
        return *target;
      },
      nb::arg("name"));
  m.def("host_has_amx", &mixir::hostHasAmx,
        "Whether target cpu compiles bf16 tile products for AMX on this "
        "machine (AMX-BF16, the tiles granted, MIXIR_AMX not 0).");
  m.attr("DEFAULT_CHUNK_SIZE") = mixir::kDefaultChunkSize;
  m.attr("MAX_CHUNK_SIZE") = mixir::kMaxChunkSize;
  m.def(
      "check_chunk_size",
      [](int64_t chunkSize) {
        if (std::string why = mixir::checkChunkSize(chunkSize); !why.empty())
          throw nb::value_error(why.c_str());
      },
      nb::arg("chunk_size"));
  // The mix ops' gate kinds, as the dialect spells them.
  m.def("gate_kinds", [] {
    std::vector<std::string> names;
    for (uint32_t i = 0; i <= mixir::mix::getMaxEnumValForGateKind(); ++i)
      if (auto kind = mixir::mix::symbolizeGateKind(i))
        names.push_back(mixir::mix::stringifyGateKind(*kind).str());
    return names;
  });
  // CUDA: (available, reason or device description), the device's chip
  // ("" without one) and kernel timing for benchmarks.
  m.def("cuda_status", []() {
    std::string why, description;
    if (!mixrt::cudaAvailable(&why))
      return std::make_tuple(false, why);
    if (mixrt::Status s = mixrt::cudaDeviceDescription(description); !s)
      return std::make_tuple(false, s.message());
    return std::make_tuple(true, description);
  });
  // Waits for the legacy default stream (DeviceArray results are written
  // there); a CUDA error is a RuntimeError.
  m.def("cuda_synchronize", []() {
    mixrt::Status s;
    {
      nb::gil_scoped_release release;
      s = mixrt::cudaSynchronize(nullptr);
    }
    if (!s)
      throw std::runtime_error(s.message());
  });
  m.def("cuda_chip", []() {
    std::string chip;
    if (!mixrt::cudaAvailable() || !mixrt::cudaDeviceArchitecture(chip))
      return std::string();
    return chip;
  });
  m.def("cuda_profile_kernels", &mixrt::cudaProfileKernels, nb::arg("on"));
  m.def("cuda_take_kernel_ms", []() {
    double ms = 0;
    if (mixrt::Status s = mixrt::cudaTakeKernelTime(ms); !s)
      throw std::runtime_error(s.message());
    return ms;
  });
}
