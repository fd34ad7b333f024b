//===- HostTensor.cpp - dense float64 tensors for the raisers' probes -----===//
#include "mixir/Transforms/HostTensor.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <functional>
#include <numeric>

using namespace mlir;

namespace mixir::raise {

int64_t HostTensor::numElements() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1},
                         std::multiplies<int64_t>());
}

bool staticShape(Type type, SmallVector<int64_t> &shape) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || !t.hasStaticShape())
    return false;
  shape.assign(t.getShape().begin(), t.getShape().end());
  return true;
}

HostTensor fromAttr(DenseElementsAttr attr) {
  HostTensor t;
  auto type = cast<ShapedType>(attr.getType());
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  Type elem = type.getElementType();
  t.data.reserve(attr.isSplat() ? 1 : attr.getNumElements());
  if (elem.isF32()) {
    for (float f : attr.getValues<float>())
      t.data.push_back(f);
  } else if (elem.isF64()) {
    for (double f : attr.getValues<double>())
      t.data.push_back(f);
  } else if (isa<FloatType>(elem)) {
    for (const APFloat &f : attr.getValues<APFloat>())
      t.data.push_back(f.convertToDouble());
  } else if (elem.isInteger(1)) {
    for (bool b : attr.getValues<bool>())
      t.data.push_back(b ? 1.0 : 0.0);
  } else {
    bool isUnsigned = elem.isUnsignedInteger();
    for (const APInt &i : attr.getValues<APInt>())
      t.data.push_back(isUnsigned ? double(i.getZExtValue())
                                  : double(i.getSExtValue()));
  }
  if (attr.isSplat())
    t.data.resize(t.numElements(), t.data.empty() ? 0.0 : t.data.front());
  return t;
}

DenseElementsAttr toAttr(RankedTensorType type, const HostTensor &values) {
  Type elem = type.getElementType();
  bool splat = !values.data.empty() && llvm::all_of(values.data, [&](double x) {
    return x == values.data.front() ||
           (std::isnan(x) && std::isnan(values.data.front()));
  });
  size_t n = splat ? 1 : values.data.size();
  auto shaped = splat ? RankedTensorType::get(type.getShape(), elem) : type;
  // Typed buffers for the common element types (masks of T x T elements);
  // APFloat / APInt per element for the rest.
  if (!splat && elem.isF32()) {
    std::vector<float> out(values.data.begin(), values.data.end());
    return DenseElementsAttr::get(shaped, llvm::ArrayRef(out));
  }
  if (!splat && elem.isInteger(1)) {
    std::vector<bool> bits(values.data.size());
    for (size_t i = 0; i < bits.size(); ++i)
      bits[i] = values.data[i] != 0.0;
    SmallVector<bool> out(bits.begin(), bits.end());
    return DenseElementsAttr::get(shaped, llvm::ArrayRef<bool>(out));
  }
  if (!splat && (elem.isInteger(32) || elem.isInteger(64))) {
    std::vector<int64_t> wide(values.data.begin(), values.data.end());
    if (elem.isInteger(64))
      return DenseElementsAttr::get(shaped, llvm::ArrayRef(wide));
    std::vector<int32_t> narrow(wide.begin(), wide.end());
    return DenseElementsAttr::get(shaped, llvm::ArrayRef(narrow));
  }
  if (auto f = dyn_cast<FloatType>(elem)) {
    SmallVector<APFloat> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      APFloat x(values.data[i]);
      bool lost;
      x.convert(f.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(x);
    }
    return splat ? DenseElementsAttr::get(shaped, out.front())
                 : DenseElementsAttr::get(shaped, out);
  }
  unsigned width = elem.getIntOrFloatBitWidth();
  SmallVector<APInt> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    double x = values.data[i];
    out.push_back(width == 1 ? APInt(1, x != 0.0)
                             : APInt(width, int64_t(x), /*isSigned=*/true,
                                     /*implicitTrunc=*/true));
  }
  return splat ? DenseElementsAttr::get(shaped, out.front())
               : DenseElementsAttr::get(shaped, out);
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// Calls `f(linear index, multi-index)` for every element of `shape`.
void forEachIndex(ArrayRef<int64_t> shape,
                  llvm::function_ref<void(int64_t, ArrayRef<int64_t>)> f) {
  int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t{1},
                              std::multiplies<int64_t>());
  SmallVector<int64_t> idx(shape.size(), 0);
  for (int64_t lin = 0; lin < n; ++lin) {
    f(lin, idx);
    for (int d = int(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d])
        break;
      idx[d] = 0;
    }
  }
}

} // namespace mixir::raise
