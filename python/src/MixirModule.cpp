//===- MixirModule.cpp - the `mixir._mixir` nanobind extension ------------===//
//
// A thin layer over mixir::JitModule: compile MLIR text, describe its
// functions, call them on contiguous host buffers. Arrays cross as
// (address, dtype name, shape); results come back as uint8 numpy arrays that
// own the bytes, which the Python side views with the right dtype and shape
// (numpy has no native bfloat16).
//
//===----------------------------------------------------------------------===//
#include "mixir/Jit/JitModule.h"
#include "mixrt/Cuda.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <stdexcept>

namespace nb = nanobind;

namespace {

std::optional<mixrt::DType> dtypeFromName(const std::string &name) {
  static const std::pair<const char *, mixrt::DType> table[] = {
      {"f32", mixrt::DType::f32},   {"f16", mixrt::DType::f16},
      {"bf16", mixrt::DType::bf16}, {"f64", mixrt::DType::f64},
      {"i1", mixrt::DType::boolean}, {"i8", mixrt::DType::i8},
      {"i16", mixrt::DType::i16},   {"i32", mixrt::DType::i32},
      {"i64", mixrt::DType::i64}};
  for (const auto &[n, t] : table)
    if (name == n)
      return t;
  return std::nullopt;
}

using TensorDesc = std::tuple<std::string, std::vector<int64_t>>;

std::vector<TensorDesc> describe(const std::vector<mixrt::TensorSignature> &ts) {
  std::vector<TensorDesc> out;
  for (const auto &t : ts)
    out.emplace_back(mixrt::dtypeName(t.dtype), t.shape);
  return out;
}

class PyModule {
public:
  PyModule(std::unique_ptr<mixir::JitModule> m, bool cuda)
      : module(std::move(m)), cuda(cuda) {}

  /// [(name, [(dtype, shape)], [(dtype, shape)])]
  std::vector<std::tuple<std::string, std::vector<TensorDesc>,
                         std::vector<TensorDesc>>>
  functions() const {
    std::vector<std::tuple<std::string, std::vector<TensorDesc>,
                           std::vector<TensorDesc>>>
        out;
    for (const auto &f : module->functions())
      out.emplace_back(f.name, describe(f.args), describe(f.results));
    return out;
  }

  /// args: [(address, dtype, shape)]; returns [(uint8 array, dtype, shape)].
  nb::list call(const std::string &name,
                const std::vector<std::tuple<uintptr_t, std::string,
                                             std::vector<int64_t>>> &args) {
    std::vector<mixrt::ArrayView> views;
    for (const auto &[addr, dtype, shape] : args) {
      auto t = dtypeFromName(dtype);
      if (!t)
        throw nb::type_error(("unsupported element type '" + dtype + "'").c_str());
      views.push_back({reinterpret_cast<const void *>(addr), *t, shape});
    }
    std::vector<mixrt::HostArray> results;
    mixrt::Status status;
    {
      nb::gil_scoped_release release;
      status = module->call(name, views, results);
    }
    // A CUDA failure (reported by the runtime as "@f: mgpu...") is a
    // RuntimeError; bad arguments are ValueErrors.
    if (!status && cuda &&
        status.message().rfind("@" + name + ": mgpu", 0) == 0)
      throw std::runtime_error(status.message());
    if (!status)
      throw nb::value_error(status.message().c_str());
    nb::list out;
    for (auto &r : results) {
      auto *owned = new std::vector<uint8_t>(std::move(r.bytes));
      nb::capsule owner(owned, [](void *p) noexcept {
        delete static_cast<std::vector<uint8_t> *>(p);
      });
      size_t n = owned->size();
      nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>> bytes(owned->data(), {n},
                                                         owner);
      out.append(nb::make_tuple(bytes.cast(), std::string(mixrt::dtypeName(r.dtype)),
                                r.shape));
    }
    return out;
  }

private:
  std::unique_ptr<mixir::JitModule> module;
  bool cuda = false;
};

} // namespace

NB_MODULE(_mixir, m) {
  m.doc() = "MixIR native extension: JIT compilation and calls";
  nb::class_<PyModule>(m, "NativeModule")
      .def("functions", &PyModule::functions)
      .def("call", &PyModule::call, nb::arg("name"), nb::arg("args"));
  m.def(
      "compile",
      [](const std::string &source, const std::string &target,
         const std::string &name, int64_t chunkSize, const std::string &chip) {
        mixir::CompileOptions options;
        options.target = target;
        options.chunkSize = chunkSize;
        options.sourceName = name;
        if (!chip.empty())
          options.chip = chip;
        std::unique_ptr<mixir::JitModule> module;
        std::string error;
        {
          nb::gil_scoped_release release;
          auto compiled = mixir::JitModule::compile(source, options);
          if (compiled)
            module = std::move(*compiled);
          else
            error = llvm::toString(compiled.takeError());
        }
        if (!module)
          throw nb::value_error(error.c_str());
        return PyModule(std::move(module), target == "cuda");
      },
      nb::arg("source"), nb::arg("target") = "cpu",
      nb::arg("name") = "<source>", nb::arg("chunk_size") = 64,
      nb::arg("chip") = "");
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
