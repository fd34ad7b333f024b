//===- DeviceBuffers.cpp - CUDA buffers and DLPack for `mixir._mixir` -----===//
//
// Device memory crosses the Python boundary as DLPack: `dlpack_view` reads
// any producer's tensor (torch, CuPy, JAX, a DeviceBuffer) as (address,
// dtype name, shape, device type, device id, dense), and DeviceBuffer owns
// runtime-allocated CUDA memory (mixir_buffer_allocate), copies to and from
// numpy arrays (mixir_buffer_copy) and exports itself as DLPack, so torch
// takes a result without a copy.
//
//===----------------------------------------------------------------------===//
#include "DeviceBuffers.h"

#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>

namespace nb = nanobind;

namespace mixir_python {

void check(mixir_status_t status) {
  if (!status)
    return;
  std::string message = mixir_status_message(status);
  mixir_status_free(status);
  throw nb::value_error(message.c_str());
}

namespace {

/// The element types that cross the boundary, with their DLPack codes.
struct DLPackType {
  mixir_dtype_t dtype;
  nb::dlpack::dtype_code code;
  uint8_t bits;
};
constexpr DLPackType kDLPackTypes[] = {
    {MIXIR_DTYPE_F32, nb::dlpack::dtype_code::Float, 32},
    {MIXIR_DTYPE_F16, nb::dlpack::dtype_code::Float, 16},
    {MIXIR_DTYPE_F64, nb::dlpack::dtype_code::Float, 64},
    {MIXIR_DTYPE_BF16, nb::dlpack::dtype_code::Bfloat, 16},
    {MIXIR_DTYPE_BOOL, nb::dlpack::dtype_code::Bool, 8},
    {MIXIR_DTYPE_I8, nb::dlpack::dtype_code::Int, 8},
    {MIXIR_DTYPE_I16, nb::dlpack::dtype_code::Int, 16},
    {MIXIR_DTYPE_I32, nb::dlpack::dtype_code::Int, 32},
    {MIXIR_DTYPE_I64, nb::dlpack::dtype_code::Int, 64}};

/// The element type of a DLPack dtype, as the runtime names it.
std::string dtypeName(nb::dlpack::dtype t) {
  for (const DLPackType &d : kDLPackTypes)
    if (t.lanes == 1 && t.code == static_cast<uint8_t>(d.code) &&
        t.bits == d.bits)
      return mixir_dtype_name(d.dtype);
  throw nb::type_error(("unsupported DLPack element type (code " +
                        std::to_string(t.code) + ", " + std::to_string(t.bits) +
                        " bits, " + std::to_string(t.lanes) + " lanes)")
                           .c_str());
}

/// The DLPack dtype of one of the element types DeviceBuffer holds (those
/// dtypeFromName gives).
nb::dlpack::dtype dlpackType(mixir_dtype_t t) {
  for (const DLPackType &d : kDLPackTypes)
    if (d.dtype == t)
      return {static_cast<uint8_t>(d.code), d.bits, 1};
  throw nb::type_error(
      (std::string("no DLPack type for ") + mixir_dtype_name(t)).c_str());
}

/// A runtime buffer on the CUDA device, owned (released with the object).
class DeviceBuffer {
public:
  DeviceBuffer(const std::string &dtype, const std::vector<int64_t> &shape) {
    std::optional<mixir_dtype_t> t = dtypeFromName(dtype);
    if (!t)
      throw nb::type_error(
          ("unsupported element type '" + dtype + "'").c_str());
    check(mixir_buffer_allocate(MIXIR_DEVICE_CUDA, *t,
                                static_cast<int32_t>(shape.size()),
                                shape.data(), &buffer));
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
  ~DeviceBuffer() { mixir_buffer_release(buffer); }

  uintptr_t address() const {
    return reinterpret_cast<uintptr_t>(mixir_buffer_data(buffer));
  }
  std::string dtype() const {
    return mixir_dtype_name(mixir_buffer_dtype(buffer));
  }
  std::vector<int64_t> shape() const {
    const int64_t *s = mixir_buffer_shape(buffer);
    return std::vector<int64_t>(s, s + mixir_buffer_rank(buffer));
  }

  /// Copies between this buffer and dense host memory of the same size.
  void copy(uintptr_t host, bool toHost) {
    mixir_buffer_view_t device, other;
    check(mixir_buffer_view(buffer, &device));
    other = device;
    other.device = MIXIR_DEVICE_CPU;
    other.data = reinterpret_cast<void *>(host);
    mixir_status_t status;
    {
      nb::gil_scoped_release release;
      status = toHost ? mixir_buffer_copy(&other, &device, nullptr)
                      : mixir_buffer_copy(&device, &other, nullptr);
    }
    check(status);
  }

  /// A DLPack view of the buffer that keeps `self` alive.
  nb::object dlpack(nb::handle self) const {
    std::vector<size_t> shape;
    for (int64_t d : this->shape())
      shape.push_back(static_cast<size_t>(d));
    nb::ndarray<nb::device::cuda> array(
        mixir_buffer_data(buffer), shape.size(), shape.data(), self,
        /*strides=*/nullptr, dlpackType(mixir_buffer_dtype(buffer)),
        nb::device::cuda::value, /*device_id=*/0);
    return nb::cast(array);
  }

private:
  mixir_buffer_t buffer = nullptr;
};

} // namespace

std::optional<mixir_dtype_t> dtypeFromName(const std::string &name) {
  static const std::pair<const char *, mixir_dtype_t> table[] = {
      {"f32", MIXIR_DTYPE_F32},   {"f16", MIXIR_DTYPE_F16},
      {"bf16", MIXIR_DTYPE_BF16}, {"f64", MIXIR_DTYPE_F64},
      {"i1", MIXIR_DTYPE_BOOL},   {"i8", MIXIR_DTYPE_I8},
      {"i16", MIXIR_DTYPE_I16},   {"i32", MIXIR_DTYPE_I32},
      {"i64", MIXIR_DTYPE_I64}};
  for (const auto &[n, t] : table)
    if (name == n)
      return t;
  return std::nullopt;
}

void defineDeviceBuffers(nb::module_ &m) {
  nb::class_<DeviceBuffer>(m, "DeviceBuffer")
      .def(nb::init<const std::string &, const std::vector<int64_t> &>(),
           nb::arg("dtype"), nb::arg("shape"))
      .def_prop_ro("address", &DeviceBuffer::address)
      .def_prop_ro("dtype", &DeviceBuffer::dtype)
      .def_prop_ro("shape", &DeviceBuffer::shape)
      .def("copy", &DeviceBuffer::copy, nb::arg("host"), nb::arg("to_host"))
      .def("dlpack", [](nb::handle self) {
        return nb::cast<const DeviceBuffer &>(self).dlpack(self);
      });
  // (address, dtype name, shape, device type, device id, dense row-major)
  // of any DLPack tensor; nothing is copied.
  m.def("dlpack_view", [](nb::ndarray<> a) {
    std::vector<int64_t> shape;
    bool dense =
        true; // an array without elements is dense whatever its strides
    int64_t expect = 1;
    for (size_t d = a.ndim(); d-- > 0 && a.size() > 0;) {
      if (a.shape(d) != 1 && a.stride(d) != expect)
        dense = false;
      expect *= a.shape(d);
    }
    for (size_t d = 0; d < a.ndim(); ++d)
      shape.push_back(a.shape(d));
    return nb::make_tuple(reinterpret_cast<uintptr_t>(a.data()),
                          dtypeName(a.dtype()), shape, a.device_type(),
                          a.device_id(), dense);
  });
}

} // namespace mixir_python
