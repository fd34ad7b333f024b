//===- ConvertComposite.cpp - `mixir.*` composites to mix ops -------------===//
//
// `jax.lax.composite` with the names below carries a mixer with the operands
// and attributes of the ONNX `mixir` domain; it becomes the mix op through
// the shared builders in mixir/Builders/MixerBuilders.h. Other composites were
// inlined by inlineCalls.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "mixir/Builders/MixerBuilders.h"

namespace mixir::stablehlo_import {
namespace {

/// Reads `composite_attributes` into MixerOptions.
LogicalResult mixerOptions(OpView &v, build::MixerOptions &options) {
  auto dict = opAttrOfType<DictionaryAttr>(v.op, "composite_attributes");
  if (!dict)
    return success();
  for (NamedAttribute a : dict) {
    StringRef name = a.getName().strref();
    Attribute value = a.getValue();
    // jnp scalars arrive as one-element dense attributes.
    if (auto dense = dyn_cast<DenseElementsAttr>(value))
      if (dense.getNumElements() == 1)
        value = dense.getValues<Attribute>()[0];
    auto asInt = [&]() -> std::optional<int64_t> {
      if (auto i = dyn_cast<IntegerAttr>(value))
        return i.getType().isInteger(1) ? (int64_t)i.getValue().getBoolValue()
                                        : i.getValue().getSExtValue();
      if (auto bl = dyn_cast<BoolAttr>(value))
        return (int64_t)bl.getValue();
      return std::nullopt;
    };
    if (name == "gate") {
      auto s = dyn_cast<StringAttr>(value);
      if (!s)
        return v.fail("composite attribute 'gate' must be a string");
      options.gate = s.str();
    } else if (name == "scale") {
      if (auto f = dyn_cast<FloatAttr>(value))
        options.scale = (float)f.getValueAsDouble();
      else if (auto i = asInt())
        options.scale = (float)*i;
      else
        return v.fail("composite attribute 'scale' must be a number");
    } else if (name == "qk_l2norm" || name == "allow_neg_eigval" ||
               name == "causal" || name == "window") {
      auto i = asInt();
      if (!i)
        return v.fail("composite attribute '" + name +
                      "' must be a bool or integer");
      if (name == "qk_l2norm")
        options.qkL2Norm = *i != 0;
      else if (name == "allow_neg_eigval")
        options.allowNegEigval = *i != 0;
      else if (name == "causal")
        options.causal = *i != 0;
      else
        options.window = *i;
    } else {
      return v.fail("unknown composite attribute '" + name + "'");
    }
  }
  return success();
}

LogicalResult composite(OpView &v) {
  std::string name = v.stringAttr("name").value_or("");
  if (!StringRef(name).starts_with("mixir."))
    return v.fail("composite '" + name +
                  "' was not inlined (no decomposition?)");
  build::MixerOptions options;
  if (failed(mixerOptions(v, options)))
    return failure();
  unsigned n = v.numOperands();
  auto operand = [&](unsigned i) { return i < n ? v.operand(i) : Value(); };
  bool gated = !options.gate.empty() && options.gate != "none";
  std::string error;
  FailureOr<SmallVector<Value, 2>> results = failure();
  unsigned maxResults = 2;
  if (name == "mixir.linear_attention" || name == "mixir.delta_rule") {
    // Optional trailing operands: [g] [initial_state]; with one of them the
    // gate attribute tells which.
    bool delta = name == "mixir.delta_rule";
    unsigned base = delta ? 4 : 3;
    if (n < base || n > base + 2)
      return v.fail("expects " + Twine(base) + " to " + Twine(base + 2) +
                    " operands");
    build::MixerOperands in{operand(0), operand(1),
                            operand(2), delta ? operand(3) : Value(),
                            Value(),    Value()};
    if (n == base + 2)
      in.g = operand(base), in.initialState = operand(base + 1);
    else if (n == base + 1)
      (gated ? in.g : in.initialState) = operand(base);
    if (in.initialState && !cast<RankedTensorType>(in.initialState.getType())
                                .getElementType()
                                .isF32())
      return v.fail("initial_state must be f32");
    results = delta ? build::deltaRuleOp(v.b, v.loc, in, options, error)
                    : build::linearAttentionOp(v.b, v.loc, in, options, error);
  } else if (name == "mixir.attention") {
    if (n != 3 && n != 4)
      return v.fail("expects 3 or 4 operands (q, k, v, [g])");
    build::MixerOperands in{operand(0), operand(1), operand(2),
                            Value(),    operand(3), Value()};
    results = build::attentionOp(v.b, v.loc, in, options, error);
    maxResults = 1;
  } else if (name == "mixir.scan") {
    if (n != 2 && n != 3)
      return v.fail("expects 2 or 3 operands (x, g, [initial_state])");
    results =
        build::scanOp(v.b, v.loc, operand(0), operand(1), operand(2), error);
  } else {
    return v.fail(
        "unknown mixer composite '" + name +
        "' (mixir.linear_attention, mixir.delta_rule, mixir.attention, "
        "mixir.scan)");
  }
  if (failed(results))
    return v.fail(error);
  unsigned numResults = v.op->getNumResults();
  if (numResults == 0 || numResults > maxResults)
    return v.fail("expects " +
                  Twine(maxResults == 1
                            ? "one result (o)"
                            : "one or two results (o, final_state)"));
  for (unsigned i = 0; i < numResults; ++i) {
    Value r = (*results)[i];
    if (r.getType() != v.op->getResult(i).getType())
      return v.fail("result " + Twine(i) + " has type " +
                    typeString(v.op->getResult(i).getType()) +
                    " but the mix op gives " + typeString(r.getType()));
    if (failed(v.setResult(i, r)))
      return failure();
  }
  return success();
}

} // namespace

void registerCompositeOps(HandlerMap &m) {
  import::addHandlers(m, "stablehlo.", {{"composite", composite}});
}

} // namespace mixir::stablehlo_import
