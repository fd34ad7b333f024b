//===- mixir-c/Runtime.hpp - C++ layer over the runtime C API ---*- C++ -*-===//
//
// Header-only RAII wrappers of mixir-c/Runtime.h; errors are thrown as
// mixir::Error. Everything is inline here, so exceptions live in the user's
// translation unit (the libraries themselves are built without them).
//
//   mixir::Module m = mixir::Module::load("layer.mixir");
//   mixir::Function f = m.function("layer");
//   std::vector<mixir::Buffer> out = f({mixir::View(q, {B, T, H, K}), ...});
//   const float *o = out[0].data<float>();
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_C_RUNTIME_HPP
#define MIXIR_C_RUNTIME_HPP

#include "mixir-c/Runtime.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mixir {

/// A failed call: the status message of the C API.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void check(mixir_status_t status) {
  if (!status)
    return;
  std::string message = mixir_status_message(status);
  mixir_status_free(status);
  throw Error(message);
}
} // namespace detail

/// The element type code of a C++ type (float, double, integers, bool).
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_F32; };
template <> struct DTypeOf<double> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_F64; };
template <> struct DTypeOf<int8_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_I8; };
template <> struct DTypeOf<int16_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_I16; };
template <> struct DTypeOf<int32_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_I32; };
template <> struct DTypeOf<int64_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_I64; };
template <> struct DTypeOf<uint8_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_U8; };
template <> struct DTypeOf<uint32_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_U32; };
template <> struct DTypeOf<uint64_t> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_U64; };
template <> struct DTypeOf<bool> { static constexpr mixir_dtype_t value = MIXIR_DTYPE_BOOL; };

/// A tensor type of a signature; -1 marks a dynamic dimension.
struct TensorType {
  mixir_dtype_t dtype;
  std::vector<int64_t> shape;
  std::string str() const {
    std::string s;
    for (int64_t d : shape)
      s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
    return s + mixir_dtype_name(dtype);
  }
};

class Buffer;

/// A view of memory the caller owns (an argument, or an output of
/// Function::callInto). Strides are in elements; empty means row-major.
class View {
public:
  View(void *data, mixir_dtype_t dtype, std::vector<int64_t> shape,
       std::vector<int64_t> strides = {})
      : shape_(std::move(shape)), strides_(std::move(strides)) {
    raw_.data = data;
    raw_.dtype = dtype;
    raw_.device = MIXIR_DEVICE_CPU;
    sync();
  }
  template <typename T>
  View(const T *data, std::vector<int64_t> shape,
       std::vector<int64_t> strides = {})
      : View(const_cast<T *>(data), DTypeOf<T>::value, std::move(shape),
             std::move(strides)) {}
  inline View(const Buffer &buffer);

  View(const View &o) : raw_(o.raw_), shape_(o.shape_), strides_(o.strides_) {
    sync();
  }
  View &operator=(const View &o) {
    raw_ = o.raw_;
    shape_ = o.shape_;
    strides_ = o.strides_;
    sync();
    return *this;
  }

  const mixir_buffer_view_t &raw() const { return raw_; }

private:
  void sync() {
    raw_.rank = static_cast<int32_t>(shape_.size());
    raw_.shape = shape_.data();
    raw_.strides = strides_.empty() ? nullptr : strides_.data();
  }
  mixir_buffer_view_t raw_{};
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_;
};

/// A dense row-major array: a function result (allocated by the runtime) or
/// one allocated with Buffer::zeros. Move-only.
class Buffer {
public:
  Buffer() = default;
  /// Takes ownership of a runtime result.
  explicit Buffer(mixir_buffer_t handle) : handle_(handle) {
    if (handle_) {
      dtype_ = mixir_buffer_dtype(handle_);
      const int64_t *s = mixir_buffer_shape(handle_);
      shape_.assign(s, s + mixir_buffer_rank(handle_));
    }
  }
  static Buffer zeros(mixir_dtype_t dtype, std::vector<int64_t> shape) {
    Buffer b;
    b.dtype_ = dtype;
    b.shape_ = std::move(shape);
    b.storage_.assign(static_cast<size_t>(b.numElements()) *
                          mixir_dtype_size(dtype),
                      0);
    return b;
  }
  Buffer(Buffer &&o) noexcept { *this = std::move(o); }
  Buffer &operator=(Buffer &&o) noexcept {
    if (this != &o) {
      reset();
      std::swap(handle_, o.handle_);
      dtype_ = o.dtype_;
      shape_ = std::move(o.shape_);
      storage_ = std::move(o.storage_);
    }
    return *this;
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { reset(); }

  mixir_dtype_t dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape_)
      n *= d;
    return n;
  }
  size_t sizeBytes() const {
    return static_cast<size_t>(numElements()) * mixir_dtype_size(dtype_);
  }
  void *data() const {
    return handle_ ? mixir_buffer_data(handle_)
                   : const_cast<unsigned char *>(storage_.data());
  }
  /// Typed access; throws when T does not match the element type.
  template <typename T> T *data() const {
    if (DTypeOf<T>::value != dtype_)
      throw Error(std::string("buffer holds ") + mixir_dtype_name(dtype_) +
                  ", not " + mixir_dtype_name(DTypeOf<T>::value));
    return static_cast<T *>(data());
  }

private:
  void reset() {
    if (handle_)
      mixir_buffer_release(handle_);
    handle_ = nullptr;
  }
  mixir_buffer_t handle_ = nullptr;
  mixir_dtype_t dtype_ = MIXIR_DTYPE_F32;
  std::vector<int64_t> shape_;
  std::vector<unsigned char> storage_;
};

inline View::View(const Buffer &b)
    : View(b.data(), b.dtype(), b.shape()) {}

class Module;

/// A function of a module; keeps its module alive.
class Function {
public:
  const char *name() const { return mixir_function_name(fn_); }
  std::vector<TensorType> argTypes() const { return types(false); }
  std::vector<TensorType> resultTypes() const { return types(true); }

  /// Calls the function; results are new runtime-allocated buffers. A cuda
  /// module queues its work on `stream` (a CUstream; see
  /// mixir_function_invoke); other modules take none.
  std::vector<Buffer> operator()(const std::vector<View> &args,
                                 void *stream = nullptr) const {
    std::vector<mixir_buffer_view_t> raw;
    for (const View &v : args)
      raw.push_back(v.raw());
    size_t n = mixir_function_num_results(fn_);
    std::vector<mixir_buffer_t> handles(n, nullptr);
    detail::check(mixir_function_invoke(fn_, raw.data(), raw.size(),
                                        handles.data(), n, stream));
    std::vector<Buffer> out;
    for (mixir_buffer_t h : handles)
      out.emplace_back(h);
    return out;
  }
  /// Calls the function and copies its results into `outputs`.
  void callInto(const std::vector<View> &args, const std::vector<View> &outputs,
                void *stream = nullptr) const {
    std::vector<mixir_buffer_view_t> a, o;
    for (const View &v : args)
      a.push_back(v.raw());
    for (const View &v : outputs)
      o.push_back(v.raw());
    detail::check(mixir_function_invoke_into(fn_, a.data(), a.size(), o.data(),
                                             o.size(), stream));
  }
  mixir_function_t handle() const { return fn_; }

private:
  friend class Module;
  Function(mixir_module_t module, mixir_function_t fn)
      : module_(module), fn_(fn) {
    mixir_module_retain(module_);
  }

public:
  Function(const Function &o) : Function(o.module_, o.fn_) {}
  Function &operator=(const Function &o) {
    mixir_module_retain(o.module_);
    mixir_module_release(module_);
    module_ = o.module_;
    fn_ = o.fn_;
    return *this;
  }
  ~Function() { mixir_module_release(module_); }

private:
  std::vector<TensorType> types(bool results) const {
    std::vector<TensorType> out;
    size_t n = results ? mixir_function_num_results(fn_)
                       : mixir_function_num_args(fn_);
    for (size_t i = 0; i < n; ++i) {
      mixir_tensor_type_t t;
      detail::check(results ? mixir_function_result_type(fn_, i, &t)
                            : mixir_function_arg_type(fn_, i, &t));
      out.push_back({t.dtype, std::vector<int64_t>(t.shape, t.shape + t.rank)});
    }
    return out;
  }
  mixir_module_t module_;
  mixir_function_t fn_;
};

/// A loaded or compiled module (reference counted; copies share it).
class Module {
public:
  /// Takes ownership of one reference.
  explicit Module(mixir_module_t handle) : handle_(handle) {}
  Module(const Module &o) : handle_(o.handle_) { mixir_module_retain(handle_); }
  Module &operator=(const Module &o) {
    mixir_module_retain(o.handle_);
    mixir_module_release(handle_);
    handle_ = o.handle_;
    return *this;
  }
  ~Module() { mixir_module_release(handle_); }

  static Module load(const std::string &path) {
    mixir_module_t m = nullptr;
    detail::check(mixir_module_load_artifact_file(path.c_str(), &m));
    return Module(m);
  }
  static Module fromBytes(const void *bytes, size_t size) {
    mixir_module_t m = nullptr;
    detail::check(mixir_module_load_artifact(bytes, size, &m));
    return Module(m);
  }
  void save(const std::string &path) const {
    detail::check(mixir_module_save_artifact(handle_, path.c_str()));
  }
  std::string target() const { return mixir_module_target(handle_); }
  Function function(const std::string &name) const {
    mixir_function_t f = nullptr;
    detail::check(mixir_module_lookup(handle_, name.c_str(), &f));
    return Function(handle_, f);
  }
  std::vector<Function> functions() const {
    std::vector<Function> out;
    for (size_t i = 0, n = mixir_module_num_functions(handle_); i < n; ++i) {
      mixir_function_t f = nullptr;
      detail::check(mixir_module_function_at(handle_, i, &f));
      out.push_back(Function(handle_, f));
    }
    return out;
  }
  mixir_module_t handle() const { return handle_; }

private:
  mixir_module_t handle_;
};

} // namespace mixir

#endif
