//===- Types.cpp - mixrt element types and host arrays --------------------===//

#include "mixrt/Types.h"

namespace mixrt {

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::i8:
  case DType::u8:
  case DType::boolean:
    return 1;
  case DType::f16:
  case DType::bf16:
  case DType::i16:
  case DType::u16:
    return 2;
  case DType::f32:
  case DType::i32:
  case DType::u32:
    return 4;
  case DType::f64:
  case DType::i64:
  case DType::u64:
    return 8;
  }
  return 0;
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::f32:
    return "f32";
  case DType::f16:
    return "f16";
  case DType::bf16:
    return "bf16";
  case DType::f64:
    return "f64";
  case DType::i8:
    return "i8";
  case DType::i16:
    return "i16";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  case DType::u8:
    return "ui8";
  case DType::u16:
    return "ui16";
  case DType::u32:
    return "ui32";
  case DType::u64:
    return "ui64";
  case DType::boolean:
    return "i1";
  }
  return "<invalid dtype>";
}

std::string HostArray::describe() const {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + dtypeName(dtype);
}

} // namespace mixrt
