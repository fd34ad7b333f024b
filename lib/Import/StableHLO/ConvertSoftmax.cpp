//===- ConvertSoftmax.cpp - JAX's written-out softmax ---------------------===//
//
// jax.nn.softmax lowers to
//
//   m = reduce_max(x, d)            (init -inf)
//   m = maximum(broadcast(-inf), m) (from `initial=-inf`, optional)
//   e = exponential(x - broadcast(m))
//   y = e / broadcast(reduce_sum(e, d))
//
// Recognised on the StableHLO ops at the divide, it becomes linalg.softmax,
// which is what mix-raise's softmax-attention matcher expects. The
// intermediate ops are still translated (and die when unused).
//
//===----------------------------------------------------------------------===//
#include "Convert.h"

#include <cmath>

namespace mixir::stablehlo_import {
namespace {

Operation *producer(Value v, StringRef name) {
  Operation *op = v.getDefiningOp();
  if (op && op->getName().getStringRef() == name)
    return op;
  return nullptr;
}

/// `value` broadcast from a tensor of rank - 1 along every dim except `axis`.
Value unbroadcastAlong(Value value, int64_t axis, int64_t rank) {
  auto src = broadcastSource(value);
  if (!src || (int64_t)src->dims.size() != rank - 1)
    return Value();
  for (int64_t i = 0, d = 0; i < rank; ++i) {
    if (i == axis)
      continue;
    if (src->dims[d++] != i)
      return Value();
  }
  return src->source;
}

/// A one-dim reduce of `input` whose body applies `combiner`; returns it.
Operation *matchReduce(Value v, StringRef combiner, int64_t &axis) {
  Operation *op = producer(v, "stablehlo.reduce");
  if (!op || op->getNumOperands() != 2 || op->getNumResults() != 1 ||
      op->getNumRegions() != 1 || op->getRegion(0).empty())
    return nullptr;
  auto dims = opAttrOfType<DenseI64ArrayAttr>(op, "dimensions");
  if (!dims || dims.size() != 1)
    return nullptr;
  Block &body = op->getRegion(0).front();
  if (body.getOperations().size() != 2 || body.getNumArguments() != 2)
    return nullptr;
  Operation &c = body.front();
  if (c.getName().getStringRef() != combiner || c.getNumOperands() != 2 ||
      c.getOperand(0) != body.getArgument(0) ||
      c.getOperand(1) != body.getArgument(1))
    return nullptr;
  axis = dims[0];
  return op;
}

} // namespace

std::optional<std::pair<Value, int64_t>> matchJaxSoftmax(Operation *divide) {
  if (divide->getNumOperands() != 2)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(divide->getResult(0).getType());
  if (!type || !isa<FloatType>(type.getElementType()))
    return std::nullopt;
  int64_t rank = type.getRank();
  Value e = divide->getOperand(0);
  Operation *exp = producer(e, "stablehlo.exponential");
  if (!exp)
    return std::nullopt;
  Operation *sub = producer(exp->getOperand(0), "stablehlo.subtract");
  if (!sub)
    return std::nullopt;
  Value x = sub->getOperand(0);
  // The denominator: broadcast(reduce_sum(e, axis)) with a zero init.
  int64_t axis = -1;
  for (int64_t a = 0; a < rank && axis < 0; ++a) {
    Value sum = unbroadcastAlong(divide->getOperand(1), a, rank);
    int64_t sumAxis;
    Operation *r = sum ? matchReduce(sum, "stablehlo.add", sumAxis) : nullptr;
    if (r && sumAxis == a && r->getOperand(0) == e &&
        splatConstant(r->getOperand(1)) == 0.0)
      axis = a;
  }
  if (axis < 0)
    return std::nullopt;
  // The shift: broadcast(max(-inf, reduce_max(x, axis))) or without the max.
  Value m = unbroadcastAlong(sub->getOperand(1), axis, rank);
  if (!m)
    return std::nullopt;
  if (Operation *mx = producer(m, "stablehlo.maximum")) {
    for (int i = 0; i < 2; ++i) {
      std::optional<double> c = splatConstant(mx->getOperand(i));
      if (c && std::isinf(*c) && *c < 0) {
        m = mx->getOperand(1 - i);
        break;
      }
    }
  }
  int64_t maxAxis;
  Operation *r = matchReduce(m, "stablehlo.maximum", maxAxis);
  if (!r || maxAxis != axis || r->getOperand(0) != x)
    return std::nullopt;
  std::optional<double> init = splatConstant(r->getOperand(1));
  if (!init || !std::isinf(*init) || *init > 0)
    return std::nullopt;
  return std::make_pair(x, axis);
}

} // namespace mixir::stablehlo_import
