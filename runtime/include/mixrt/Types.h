//===- Types.h - mixrt host arrays, element types and status ----*- C++ -*-===//
//
// The runtime is plain C++17 with no LLVM or MLIR dependency, so applications
// that only run compiled artifacts can link it alone.
//
//===----------------------------------------------------------------------===//
#ifndef MIXRT_TYPES_H
#define MIXRT_TYPES_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mixrt {

/// Element types that cross the runtime boundary.
enum class DType : uint8_t {
  f32,
  f16,
  bf16,
  f64,
  i8,
  i16,
  i32,
  i64,
  u8,
  u16,
  u32,
  u64,
  boolean
};

/// Size of one element in bytes.
size_t dtypeSize(DType t);
/// Short name as MLIR spells it: "f32", "bf16", "i64", "i1".
const char *dtypeName(DType t);

/// Success, or a one-line message saying what went wrong.
class Status {
public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    return s;
  }
  bool isOk() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string &message() const { return message_; }

private:
  bool failed_ = false;
  std::string message_;
};

/// A dense row-major array owned by the host.
struct HostArray {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  /// "2x3x4xbf16"-style description, for messages.
  std::string describe() const;
};

} // namespace mixrt

#endif
