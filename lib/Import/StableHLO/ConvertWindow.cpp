//===- ConvertWindow.cpp - stablehlo.reduce_window (cumulative sums) ------===//
//
// JAX lowers `jnp.cumsum` / `lax.cumsum` to a reduce_window with an add
// body whose window covers the whole axis and whose padding puts T - 1 init
// elements before it (after it for a reverse cumsum): every output element
// sums a prefix. GLA and Mamba2 code uses it for cumulative log gates over
// the whole sequence, so that form becomes build::cumulativeSum (a mix.scan,
// linear in T) instead of the general window reduction in ConvertReduce.cpp
// (quadratic in T).
//
//===----------------------------------------------------------------------===//
#include "Convert.h"

#include "mixir/Builders/MixerBuilders.h"

#include "mixir/Builders/MixerBuilders.h"

namespace mixir::stablehlo_import {

bool convertCumulativeSum(OpView &v, LogicalResult &result) {
  Operation *op = v.op;
  if (v.numOperands() != 2 || op->getNumResults() != 1)
    return false;
  Region &body = op->getRegion(0);
  if (!body.hasOneBlock() || body.front().getOperations().size() != 2 ||
      body.front().front().getName().getStringRef() != "stablehlo.add" ||
      splatConstant(op->getOperand(1)) != 0.0)
    return false;
  RankedTensorType type = v.operandType(0);
  int64_t rank = type.getRank();
  auto window = v.i64Array("window_dimensions");
  if (!window || int64_t(window->size()) != rank ||
      v.resultType().getShape() != type.getShape())
    return false;
  auto ones = [&](StringRef name) {
    auto a = v.i64Array(name);
    return !a || llvm::all_of(*a, [](int64_t x) { return x == 1; });
  };
  if (!ones("window_strides") || !ones("base_dilations") ||
      !ones("window_dilations"))
    return false;
  SmallVector<int64_t> padding(2 * rank, 0);
  if (auto pad = opAttrOfType<DenseIntElementsAttr>(op, "padding")) {
    if (pad.getNumElements() != 2 * rank)
      return false;
    for (auto [i, x] : llvm::enumerate(pad.getValues<int64_t>()))
      padding[i] = x;
  }
  std::optional<int64_t> axis;
  bool reverse = false;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = type.getDimSize(d), w = (*window)[d];
    int64_t lo = padding[2 * d], hi = padding[2 * d + 1];
    if (w == 1 && lo == 0 && hi == 0)
      continue;
    if (axis || ShapedType::isDynamic(n) || w != n ||
        !((lo == n - 1 && hi == 0) || (lo == 0 && hi == n - 1)))
      return false;
    axis = d;
    reverse = hi != 0;
  }
  if (!axis)
    return false;
  result = v.setResult(0, build::cumulativeSum(v.b, v.loc, v.operand(0), *axis,
                                               /*exclusive=*/false, reverse));
  return true;
}

} // namespace mixir::stablehlo_import
