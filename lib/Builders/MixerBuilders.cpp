//===- MixerBuilders.cpp - mix ops from format-neutral operands -----------===//
#include "mixir/Builders/MixerBuilders.h"
#include "mixir/Builders/TensorBuilders.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace mixir::build {
namespace {

using Results = SmallVector<Value, 2>;

int64_t dim(Value v, int64_t d) {
  return cast<RankedTensorType>(v.getType()).getDimSize(d);
}

/// Fails unless q, k and v are 4-D [B, T, H, D].
LogicalResult checkRank4(const MixerOperands &in, std::string &error) {
  const char *names[] = {"q", "k", "v"};
  Value values[] = {in.q, in.k, in.v};
  for (int i = 0; i < 3; ++i) {
    auto t = values[i] ? dyn_cast<RankedTensorType>(values[i].getType())
                       : RankedTensorType();
    if (!t || t.getRank() != 4) {
      error = std::string("input ") + std::to_string(i) + " (" + names[i] +
              ") must be 4-D [B, T, H, D]";
      return failure();
    }
  }
  return success();
}

/// The gate kind named by `options.gate`, consistent with whether a gate
/// operand is present.
FailureOr<mix::GateKind> gateKind(const MixerOptions &options, bool hasGate,
                                  std::string &error) {
  std::string gate = options.gate.empty() && !hasGate ? "none" : options.gate;
  if (gate.empty()) {
    error = "a gate input needs the 'gate' attribute (head, scalar or vector)";
    return failure();
  }
  auto kind = mix::symbolizeGateKind(gate);
  if (!kind) {
    error = "unknown gate '" + gate + "'";
    return failure();
  }
  if ((*kind == mix::GateKind::none) == hasGate) {
    error = "gate '" + gate + "' " +
            (hasGate ? "takes no gate input" : "needs a gate input");
    return failure();
  }
  return *kind;
}

FloatAttr scaleAttr(OpBuilder &b, const MixerOptions &options) {
  return options.scale ? b.getF32FloatAttr(*options.scale) : FloatAttr();
}

UnitAttr flag(OpBuilder &b, bool on) {
  return on ? b.getUnitAttr() : UnitAttr();
}

/// o: [B, T, max(Hq, Hv), V] in q's element type; state [B, Hv, K, V] f32.
std::pair<RankedTensorType, RankedTensorType> recurrenceTypes(Value q,
                                                              Value v) {
  auto qt = cast<RankedTensorType>(q.getType());
  int64_t ho = std::max(dim(q, 2), dim(v, 2));
  auto o = RankedTensorType::get({dim(q, 0), dim(q, 1), ho, dim(v, 3)},
                                 qt.getElementType());
  auto s = RankedTensorType::get({dim(q, 0), dim(v, 2), dim(q, 3), dim(v, 3)},
                                 Float32Type::get(q.getContext()));
  return {o, s};
}

} // namespace

FailureOr<Results> linearAttentionOp(OpBuilder &b, Location loc,
                                     const MixerOperands &in,
                                     const MixerOptions &options,
                                     std::string &error) {
  if (failed(checkRank4(in, error)))
    return failure();
  auto kind = gateKind(options, (bool)in.g, error);
  if (failed(kind))
    return failure();
  auto [oType, sType] = recurrenceTypes(in.q, in.v);
  auto op = mix::LinearAttentionOp::create(
      b, loc, oType, sType, in.q, in.k, in.v, in.g, in.initialState, Value(),
      Value(), mix::GateKindAttr::get(b.getContext(), *kind),
      scaleAttr(b, options), IntegerAttr());
  return Results{op.getO(), op.getFinalState()};
}

FailureOr<Results> deltaRuleOp(OpBuilder &b, Location loc,
                               const MixerOperands &in,
                               const MixerOptions &options,
                               std::string &error) {
  if (failed(checkRank4(in, error)))
    return failure();
  if (!in.beta) {
    error = "needs the beta input";
    return failure();
  }
  auto kind = gateKind(options, (bool)in.g, error);
  if (failed(kind))
    return failure();
  auto [oType, sType] = recurrenceTypes(in.q, in.v);
  auto op = mix::DeltaRuleOp::create(
      b, loc, oType, sType, in.q, in.k, in.v, in.beta, in.g, in.initialState,
      Value(), Value(), mix::GateKindAttr::get(b.getContext(), *kind),
      scaleAttr(b, options), flag(b, options.qkL2Norm),
      flag(b, options.allowNegEigval), IntegerAttr());
  return Results{op.getO(), op.getFinalState()};
}

FailureOr<Results> attentionOp(OpBuilder &b, Location loc,
                               const MixerOperands &in,
                               const MixerOptions &options,
                               std::string &error) {
  if (failed(checkRank4(in, error)))
    return failure();
  auto qt = cast<RankedTensorType>(in.q.getType());
  auto oType = RankedTensorType::get(
      {dim(in.q, 0), dim(in.q, 1), dim(in.q, 2), dim(in.v, 3)},
      qt.getElementType());
  Value o =
      mix::AttentionOp::create(
          b, loc, oType, /*lse=*/Type(), in.q, in.k, in.v, in.g,
          /*cu_seqlens=*/Value(),
          /*kv_lens=*/Value(), flag(b, options.causal),
          options.window ? b.getI64IntegerAttr(options.window) : IntegerAttr(),
          scaleAttr(b, options), /*softcap=*/FloatAttr(),
          /*block=*/IntegerAttr())
          .getO();
  return Results{o};
}

FailureOr<Results> scanOp(OpBuilder &b, Location loc, Value x, Value g,
                          Value initialState, std::string &error) {
  if (!x || !g) {
    error = "needs inputs x and g";
    return failure();
  }
  auto xt = cast<RankedTensorType>(x.getType());
  if (xt.getRank() != 3) {
    error = "x must be 3-D [B, T, D]";
    return failure();
  }
  auto sType = RankedTensorType::get({xt.getDimSize(0), xt.getDimSize(2)},
                                     b.getF32Type());
  auto op = mix::ScanOp::create(b, loc, xt, sType, x, g, initialState, Value(),
                                IntegerAttr());
  return Results{op.getO(), op.getFinalState()};
}

Value cumulativeSum(OpBuilder &b, Location loc, Value x, int64_t axis,
                    bool exclusive, bool reverse) {
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  if (!type.hasStaticShape() ||
      !(elem.isF32() || elem.isF16() || elem.isBF16()) ||
      type.getNumElements() == 0)
    return cumsum(b, loc, x, axis, exclusive, reverse);
  int64_t outer = 1, inner = 1, n = type.getDimSize(axis);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d < axis)
      outer *= type.getDimSize(d);
    else if (d > axis)
      inner *= type.getDimSize(d);
  }
  SmallVector<OpFoldResult> scanSizes = {
      b.getIndexAttr(outer), b.getIndexAttr(n), b.getIndexAttr(inner)};
  Value src = reverse ? build::reverse(b, loc, x, axis) : x;
  Value x3 = reshape(b, loc, src, scanSizes);
  Value zero =
      filledTensor(b, loc, scanSizes, scalarConstant(b, loc, elem, 0.0));
  auto x3Type = cast<RankedTensorType>(x3.getType());
  auto sType = RankedTensorType::get({outer, inner}, b.getF32Type());
  Value o = mix::ScanOp::create(b, loc, x3Type, sType, x3, zero, Value(),
                                Value(), IntegerAttr())
                .getO();
  Value r = reshape(b, loc, o, sizesOf(b, loc, x));
  if (reverse)
    r = build::reverse(b, loc, r, axis);
  if (exclusive)
    r = elementwise(b, loc, ValueRange{r, x}, elem,
                    [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      return arith::SubFOp::create(nb, l, a[0], a[1]);
                    });
  return r;
}

} // namespace mixir::build
