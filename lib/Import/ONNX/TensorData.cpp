//===- TensorData.cpp - ONNX TensorProto to DenseElementsAttr -------------===//
#include "Importer.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

namespace mixir::onnx_import {

Type elementTypeFor(MLIRContext *ctx, int32_t dataType) {
  Builder b(ctx);
  switch (dataType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return b.getIntegerType(16);
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return b.getIntegerType(32);
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
    return b.getIntegerType(64);
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  default:
    return Type();
  }
}

namespace {

/// Reads the external data of `t` (location relative to the model) into
/// `out`.
bool readExternal(const onnx::TensorProto &t, llvm::StringRef modelDir,
                  uint64_t expectedBytes, std::string &out,
                  std::string &error) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto &e : t.external_data()) {
    if (e.key() == "location")
      location = e.value();
    else if (e.key() == "offset" || e.key() == "length") {
      uint64_t v;
      if (llvm::StringRef(e.value()).getAsInteger(10, v)) {
        error = "initializer '" + t.name() +
                "' has a malformed external data " + e.key() + " '" +
                e.value() + "'";
        return false;
      }
      if (e.key() == "offset")
        offset = v;
      else
        length = v;
    }
  }
  if (location.empty()) {
    error =
        "initializer '" + t.name() + "' has external data without a location";
    return false;
  }
  // Inside the model's folder, as onnx.checker requires: a damaged or
  // hostile model must not read other files.
  bool leaves = llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                              llvm::sys::path::end(location)),
                             [](llvm::StringRef part) { return part == ".."; });
  if (llvm::sys::path::is_absolute(location) || leaves) {
    error = "initializer '" + t.name() + "': external data location '" +
            location + "' must be relative to the model, inside its folder";
    return false;
  }
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, location);
  uint64_t size;
  if (llvm::sys::fs::file_size(path, size)) {
    error = "external data file '" + std::string(path) + "' of initializer '" +
            t.name() + "' cannot be read (missing?)";
    return false;
  }
  uint64_t bytes = length.value_or(size >= offset ? size - offset : 0);
  if (bytes != expectedBytes || offset > size || size - offset < bytes) {
    error =
        "external data file '" + std::string(path) + "' of initializer '" +
        t.name() + "' holds " +
        std::to_string(size >= offset ? std::min(size - offset, bytes) : 0) +
        " bytes at offset " + std::to_string(offset) + ", expected " +
        std::to_string(expectedBytes);
    return false;
  }
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, bytes, offset);
  if (!buffer) {
    error = "external data file '" + std::string(path) + "' of initializer '" +
            t.name() + "' cannot be read: " + buffer.getError().message();
    return false;
  }
  out.assign((*buffer)->getBufferStart(), (*buffer)->getBufferSize());
  return true;
}

template <typename T, typename Field>
DenseElementsAttr fromField(RankedTensorType type, const Field &field) {
  SmallVector<T> values(field.begin(), field.end());
  return DenseElementsAttr::get(type, ArrayRef<T>(values));
}

} // namespace

DenseElementsAttr decodeTensor(MLIRContext *ctx, const onnx::TensorProto &t,
                               llvm::StringRef modelDir, std::string &error) {
  Type elem = elementTypeFor(ctx, t.data_type());
  std::string what = "initializer '" + t.name() + "'";
  if (!elem) {
    error =
        what + " has unsupported data type " + std::to_string(t.data_type());
    return {};
  }
  SmallVector<int64_t> shape;
  uint64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && count > (uint64_t(1) << 40) / (uint64_t)d)) {
      error = what + " has an invalid shape";
      return {};
    }
    shape.push_back(d);
    count *= d;
  }
  auto type = RankedTensorType::get(shape, elem);
  uint64_t elemBytes = elem.isInteger(1) ? 1 : elem.getIntOrFloatBitWidth() / 8;
  std::string external;
  const std::string *raw = nullptr;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    if (!readExternal(t, modelDir, count * elemBytes, external, error))
      return {};
    raw = &external;
  } else if (t.has_raw_data()) {
    raw = &t.raw_data();
  }
  if (raw) {
    if (raw->size() != count * elemBytes) {
      error = what + " has " + std::to_string(raw->size()) +
              " bytes of data, expected " + std::to_string(count * elemBytes);
      return {};
    }
    if (elem.isInteger(1)) {
      SmallVector<bool> values;
      for (char c : *raw)
        values.push_back(c != 0);
      return DenseElementsAttr::get(type, ArrayRef<bool>(values));
    }
    return DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(raw->data(), raw->size()));
  }
  auto checkCount = [&](int64_t n) {
    if ((uint64_t)n == count)
      return true;
    error = what + " has " + std::to_string(n) + " values, expected " +
            std::to_string(count);
    return false;
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    if (!checkCount(t.float_data_size()))
      return {};
    return fromField<float>(type, t.float_data());
  case onnx::TensorProto::DOUBLE:
    if (!checkCount(t.double_data_size()))
      return {};
    return fromField<double>(type, t.double_data());
  case onnx::TensorProto::INT64:
    if (!checkCount(t.int64_data_size()))
      return {};
    return fromField<int64_t>(type, t.int64_data());
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64: {
    if (!checkCount(t.uint64_data_size()))
      return {};
    SmallVector<APInt> values;
    for (uint64_t v : t.uint64_data())
      values.push_back(APInt(elem.getIntOrFloatBitWidth(), v));
    return DenseElementsAttr::get(type, values);
  }
  case onnx::TensorProto::BOOL: {
    if (!checkCount(t.int32_data_size()))
      return {};
    SmallVector<bool> values;
    for (int32_t v : t.int32_data())
      values.push_back(v != 0);
    return DenseElementsAttr::get(type, ArrayRef<bool>(values));
  }
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16: {
    if (!checkCount(t.int32_data_size()))
      return {};
    const llvm::fltSemantics &sem = cast<FloatType>(elem).getFloatSemantics();
    SmallVector<APFloat> values;
    for (int32_t v : t.int32_data())
      values.push_back(APFloat(sem, APInt(16, (uint16_t)v)));
    return DenseElementsAttr::get(type, values);
  }
  default: { // int8/16/32, uint8/16 in int32_data
    if (!checkCount(t.int32_data_size()))
      return {};
    SmallVector<APInt> values;
    for (int32_t v : t.int32_data())
      values.push_back(APInt(elem.getIntOrFloatBitWidth(), (uint64_t)(int64_t)v,
                             /*isSigned=*/true, /*implicitTrunc=*/true));
    return DenseElementsAttr::get(type, values);
  }
  }
}

} // namespace mixir::onnx_import
