//===- ConvertWindow.cpp - stablehlo.reduce_window (cumulative sums) -------===//
//
// JAX lowers `jnp.cumsum` / `lax.cumsum` on the CPU to a reduce_window with
// an add body whose window covers the whole axis and whose padding puts
// T - 1 init elements before it (after it for a reverse cumsum): every
// output element sums a prefix. GLA and Mamba2 code uses it for cumulative
// log gates, so that form becomes build::cumsum; other windows (pooling)
// are refused with a message that says so.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"

#include "mixir/Import/TensorBuilders.h"

namespace mixir::stablehlo_import {
namespace {

LogicalResult reduceWindow(OpView &v) {
  Operation *op = v.op;
  if (v.numOperands() != 2 || op->getNumResults() != 1)
    return v.fail("only single-input reduce_window is supported");
  Region &body = op->getRegion(0);
  if (!body.hasOneBlock() || body.front().getOperations().size() != 2 ||
      body.front().front().getName().getStringRef() != "stablehlo.add")
    return v.fail("only cumulative sums (an add body) are supported");
  if (splatConstant(op->getOperand(1)) != 0.0)
    return v.fail("a cumulative sum needs a zero init value");
  RankedTensorType type = v.operandType(0);
  int64_t rank = type.getRank();
  auto window = v.i64Array("window_dimensions");
  if (!window || int64_t(window->size()) != rank)
    return v.fail("missing window_dimensions");
  auto ones = [&](StringRef name) {
    auto a = v.i64Array(name);
    return !a || llvm::all_of(*a, [](int64_t x) { return x == 1; });
  };
  if (!ones("window_strides") || !ones("base_dilations") || !ones("window_dilations"))
    return v.fail("strided or dilated windows are not supported");
  SmallVector<int64_t> padding(2 * rank, 0);
  if (auto pad = opAttrOfType<DenseIntElementsAttr>(op, "padding")) {
    if (pad.getNumElements() != 2 * rank)
      return v.fail("padding must be [rank, 2]");
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
    if (axis || ShapedType::isDynamic(n) || w != n || !((lo == n - 1 && hi == 0) ||
                                                        (lo == 0 && hi == n - 1)))
      return v.fail("only cumulative sums along one axis (window = axis length, "
                    "padding length - 1 on one side) are supported");
    axis = d;
    reverse = hi != 0;
  }
  Value x = v.operand(0);
  if (!axis)
    return v.setResult(0, x); // windows of one element
  return v.setResult(0, build::cumsum(v.b, v.loc, x, *axis, /*exclusive=*/false, reverse));
}

} // namespace

void registerWindowOps(HandlerMap &m) { m["stablehlo.reduce_window"] = reduceWindow; }

} // namespace mixir::stablehlo_import
