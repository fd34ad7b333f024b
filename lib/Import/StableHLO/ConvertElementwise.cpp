//===- ConvertElementwise.cpp - element-wise StableHLO ops ----------------===//
//
// Each op becomes one linalg.generic through build::elementwise. Operands
// produced by `stablehlo.broadcast_in_dim` are read through the generic's
// indexing maps instead (the broadcast itself then dies), which is the form
// the ONNX importer produces and `mix-raise` matches.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <functional>
#include <limits>

namespace mixir::stablehlo_import {

/// Recognises JAX's softmax at a `stablehlo.divide` (ConvertSoftmax.cpp).
std::optional<std::pair<Value, int64_t>> matchJaxSoftmax(Operation *divide);

namespace {

/// Scalar body: (builder, loc, operands, element type of operand 0).
using Body = std::function<Value(OpBuilder &, Location, ValueRange, Type)>;

bool isFloat(Type t) { return isa<FloatType>(t); }

Value elementwiseOperand(OpView &v, unsigned i) {
  int64_t rank = v.resultType().getRank();
  if (auto src = broadcastSource(v.op->getOperand(i)))
    return expandForBroadcast(v.converter, v.b, v.loc, *src, rank);
  return v.operand(i);
}

/// Which element types an op relates: all the same, a compare (i1 result),
/// a select (i1 predicate first) or a convert (any).
enum class Types { same, compare, select, convert };

LogicalResult checkTypes(OpView &v, Types rule) {
  Type result = v.resultType().getElementType();
  unsigned first = rule == Types::select ? 1 : 0;
  if (rule == Types::select && !v.operandType(0).getElementType().isInteger(1))
    return v.fail("the predicate must be i1");
  if (rule == Types::compare && !result.isInteger(1))
    return v.fail("the result must be i1");
  if (rule == Types::convert)
    return success();
  Type want =
      rule == Types::compare ? v.operandType(0).getElementType() : result;
  for (unsigned i = first; i < v.numOperands(); ++i)
    if (v.operandType(i).getElementType() != want)
      return v.fail("operand and result element types differ");
  return success();
}

LogicalResult emit(OpView &v, const Body &body, bool floatOnly = false,
                   Types rule = Types::same) {
  if (v.op->getNumResults() != 1 || v.numOperands() == 0)
    return v.fail("expects operands and one result");
  Type elem = v.operandType(0).getElementType();
  if (floatOnly && !isFloat(elem))
    return v.fail("expects floating-point operands");
  if (failed(checkTypes(v, rule)))
    return failure();
  SmallVector<Value> ins;
  for (unsigned i = 0; i < v.numOperands(); ++i)
    ins.push_back(elementwiseOperand(v, i));
  RankedTensorType rt = v.resultType();
  SmallVector<OpFoldResult> sizes = indexAttrs(v.b, rt.getShape());
  for (Value in : ins) {
    auto t = cast<RankedTensorType>(in.getType());
    if (t.getRank() == 0)
      continue;
    if (t.getRank() != rt.getRank())
      return v.fail("operand shapes differ from the result's");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (t.getDimSize(d) != 1 && t.getDimSize(d) != rt.getDimSize(d))
        return v.fail("operand shapes differ from the result's");
  }
  Value r = build::elementwise(
      v.b, v.loc, ins, rt.getElementType(),
      [&](OpBuilder &b, Location loc, ValueRange a) {
        return body(b, loc, a, elem);
      },
      ArrayRef<OpFoldResult>(sizes));
  return v.setResult(0, r);
}

/// `BOp` is the op on booleans (StableHLO adds and takes maxima of i1 as
/// `or`, multiplies and takes minima as `and`).
template <typename FOp, typename IOp, typename BOp = IOp>
LogicalResult binaryOp(OpView &v) {
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
    if (isFloat(t))
      return FOp::create(b, loc, a[0], a[1]);
    if (t.isInteger(1))
      return BOp::create(b, loc, a[0], a[1]);
    return IOp::create(b, loc, a[0], a[1]);
  });
}

template <typename FOp> LogicalResult unaryFloat(OpView &v) {
  return emit(
      v,
      [](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
        return FOp::create(b, loc, a[0]);
      },
      /*floatOnly=*/true);
}

template <typename IOp> LogicalResult bitwise(OpView &v) {
  if (isFloat(v.operandType(0).getElementType()))
    return v.fail("expects integer or boolean operands");
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
    return IOp::create(b, loc, a[0], a[1]);
  });
}

LogicalResult divide(OpView &v) {
  // JAX's softmax: exp(x - max) / sum(exp(x - max)) -> linalg.softmax.
  if (auto sm = matchJaxSoftmax(v.op))
    return v.setResult(
        0,
        build::softmax(v.b, v.loc, v.converter.lookup(sm->first), sm->second));
  return binaryOp<arith::DivFOp, arith::DivSIOp>(v);
}

LogicalResult negate(OpView &v) {
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
    if (isFloat(t))
      return arith::NegFOp::create(b, loc, a[0]);
    return arith::SubIOp::create(b, loc, build::scalarConstant(b, loc, t, 0),
                                 a[0]);
  });
}

LogicalResult abs(OpView &v) {
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
    if (isFloat(t))
      return math::AbsFOp::create(b, loc, a[0]);
    // select(x < 0, 0 - x, x): the CPU pipeline does not lower math.absi.
    Value zero = build::scalarConstant(b, loc, t, 0);
    Value neg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a[0], zero);
    return arith::SelectOp::create(
        b, loc, neg, arith::SubIOp::create(b, loc, zero, a[0]), a[0]);
  });
}

LogicalResult logistic(OpView &v) {
  return emit(
      v,
      [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        Value one = build::scalarConstant(b, loc, t, 1.0);
        Value e =
            math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, a[0]));
        return arith::DivFOp::create(b, loc, one,
                                     arith::AddFOp::create(b, loc, one, e));
      },
      /*floatOnly=*/true);
}

LogicalResult sign(OpView &v) {
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
    Value zero = build::scalarConstant(b, loc, t, 0.0);
    if (isFloat(t)) {
      // copysign(1, x), but 0 for +-0 (and NaN stays NaN through the compare).
      Value one = build::scalarConstant(b, loc, t, 1.0);
      Value s = math::CopySignOp::create(b, loc, one, a[0]);
      Value isZero =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a[0], zero);
      Value isNan =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, a[0], a[0]);
      Value r = arith::SelectOp::create(b, loc, isZero, zero, s);
      return arith::SelectOp::create(b, loc, isNan, a[0], r);
    }
    // (x > 0) - (x < 0).
    Value pos = arith::ExtUIOp::create(
        b, loc, t,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, a[0], zero));
    Value neg = arith::ExtUIOp::create(
        b, loc, t,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a[0], zero));
    return arith::SubIOp::create(b, loc, pos, neg);
  });
}

/// |x| != inf, ordered: false for infinities and NaN.
LogicalResult isFinite(OpView &v) {
  if (!isFloat(v.operandType(0).getElementType()) ||
      !v.resultType().getElementType().isInteger(1))
    return v.fail("expects a floating-point operand and an i1 result");
  return emit(
      v,
      [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        Value inf = build::scalarConstant(
            b, loc, t, std::numeric_limits<double>::infinity());
        Value abs = math::AbsFOp::create(b, loc, a[0]);
        return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ONE, abs,
                                     inf);
      },
      /*floatOnly=*/true, Types::convert);
}

LogicalResult power(OpView &v) {
  // The CPU pipeline has no lowering for math.ipowi (JAX writes integer
  // powers with constant exponents as multiplications anyway).
  return emit(
      v,
      [](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
        return math::PowFOp::create(b, loc, a[0], a[1]);
      },
      /*floatOnly=*/true);
}

LogicalResult maximum(OpView &v) {
  return binaryOp<arith::MaximumFOp, arith::MaxSIOp, arith::OrIOp>(v);
}
LogicalResult minimum(OpView &v) {
  return binaryOp<arith::MinimumFOp, arith::MinSIOp, arith::AndIOp>(v);
}

LogicalResult notOp(OpView &v) {
  if (isFloat(v.operandType(0).getElementType()))
    return v.fail("expects integer or boolean operands");
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
    Value ones = arith::ConstantOp::create(
        b, loc,
        b.getIntegerAttr(t, APInt::getAllOnes(t.getIntOrFloatBitWidth())));
    return arith::XOrIOp::create(b, loc, a[0], ones);
  });
}

LogicalResult compare(OpView &v) {
  std::string dir = v.stringAttr("comparison_direction").value_or("");
  std::string type = v.stringAttr("compare_type").value_or("");
  static const llvm::StringMap<
      std::pair<arith::CmpFPredicate, arith::CmpIPredicate>>
      preds = {{"EQ", {arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq}},
               {"NE", {arith::CmpFPredicate::UNE, arith::CmpIPredicate::ne}},
               {"LT", {arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt}},
               {"LE", {arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle}},
               {"GT", {arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt}},
               {"GE", {arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge}}};
  auto it = preds.find(dir);
  if (it == preds.end())
    return v.fail(
        "comparison_direction must be one of EQ, NE, LT, LE, GT, GE, got '" +
        dir + "'");
  if (!type.empty() && type != "SIGNED" && type != "UNSIGNED" &&
      type != "FLOAT" && type != "TOTALORDER" && type != "NOTYPE")
    return v.fail("unknown compare_type '" + type + "'");
  arith::CmpFPredicate fp = it->second.first;
  arith::CmpIPredicate ip = it->second.second;
  // Booleans order false < true: compare them unsigned.
  if (type == "UNSIGNED" || v.operandType(0).getElementType().isInteger(1)) {
    switch (ip) {
    case arith::CmpIPredicate::slt:
      ip = arith::CmpIPredicate::ult;
      break;
    case arith::CmpIPredicate::sle:
      ip = arith::CmpIPredicate::ule;
      break;
    case arith::CmpIPredicate::sgt:
      ip = arith::CmpIPredicate::ugt;
      break;
    case arith::CmpIPredicate::sge:
      ip = arith::CmpIPredicate::uge;
      break;
    default:
      break;
    }
  }
  return emit(
      v,
      [=](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        if (isFloat(t))
          return arith::CmpFOp::create(b, loc, fp, a[0], a[1]);
        return arith::CmpIOp::create(b, loc, ip, a[0], a[1]);
      },
      /*floatOnly=*/false, Types::compare);
}

LogicalResult select(OpView &v) {
  if (v.numOperands() != 3)
    return v.fail("expects three operands");
  return emit(
      v,
      [](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
        return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
      },
      /*floatOnly=*/false, Types::select);
}

LogicalResult clamp(OpView &v) {
  if (v.numOperands() != 3)
    return v.fail("expects three operands");
  // clamp(min, x, max) = min(max(x, lo), hi).
  return emit(v, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
    if (isFloat(t))
      return arith::MinimumFOp::create(
          b, loc, arith::MaximumFOp::create(b, loc, a[1], a[0]), a[2]);
    return arith::MinSIOp::create(
        b, loc, arith::MaxSIOp::create(b, loc, a[1], a[0]), a[2]);
  });
}

LogicalResult convert(OpView &v) {
  Type to = v.resultType().getElementType();
  // JAX converts weakly typed constants to their own type: no copy.
  if (v.operandType(0) == v.resultType())
    return v.setResult(0, v.operand(0));
  return emit(
      v,
      [to](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
        return build::convertScalar(b, loc, a[0], to);
      },
      /*floatOnly=*/false, Types::convert);
}

LogicalResult constant(OpView &v) {
  auto value = opAttrOfType<ElementsAttr>(v.op, "value");
  if (!value || value.getType() != v.resultType())
    return v.fail("expects a 'value' elements attribute of the result type");
  return v.setResult(
      0, arith::ConstantOp::create(v.b, v.loc, cast<TypedAttr>(value)));
}

LogicalResult iota(OpView &v) {
  RankedTensorType rt = v.resultType();
  std::optional<int64_t> dim = v.i64Attr("iota_dimension");
  if (!dim || *dim < 0 || *dim >= rt.getRank())
    return v.fail("expects an iota_dimension within the result rank");
  SmallVector<OpFoldResult> sizes = indexAttrs(v.b, rt.getShape());
  Type elem = rt.getElementType();
  int64_t d = *dim;
  Value r = build::elementwise(
      v.b, v.loc, ValueRange{}, elem,
      [&](OpBuilder &b, Location loc, ValueRange) -> Value {
        Value i = linalg::IndexOp::create(b, loc, d);
        Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
        return build::convertScalar(b, loc, i64, elem);
      },
      ArrayRef<OpFoldResult>(sizes));
  return v.setResult(0, r);
}

} // namespace

void registerElementwiseOps(HandlerMap &m) {
  import::addHandlers(
      m, "stablehlo.",
      {{"add", binaryOp<arith::AddFOp, arith::AddIOp, arith::OrIOp>},
       {"subtract", binaryOp<arith::SubFOp, arith::SubIOp>},
       {"multiply", binaryOp<arith::MulFOp, arith::MulIOp, arith::AndIOp>},
       {"divide", divide},
       {"remainder", binaryOp<arith::RemFOp, arith::RemSIOp>},
       {"maximum", maximum},
       {"minimum", minimum},
       {"power", power},
       {"and", bitwise<arith::AndIOp>},
       {"or", bitwise<arith::OrIOp>},
       {"xor", bitwise<arith::XOrIOp>},
       {"not", notOp},
       {"negate", negate},
       {"abs", abs},
       {"sign", sign},
       {"is_finite", isFinite},
       {"exponential", unaryFloat<math::ExpOp>},
       {"exponential_minus_one", unaryFloat<math::ExpM1Op>},
       {"log", unaryFloat<math::LogOp>},
       {"log_plus_one", unaryFloat<math::Log1pOp>},
       {"logistic", logistic},
       {"tanh", unaryFloat<math::TanhOp>},
       {"sqrt", unaryFloat<math::SqrtOp>},
       {"rsqrt", unaryFloat<math::RsqrtOp>},
       {"sine", unaryFloat<math::SinOp>},
       {"cosine", unaryFloat<math::CosOp>},
       {"floor", unaryFloat<math::FloorOp>},
       {"ceil", unaryFloat<math::CeilOp>},
       {"round_nearest_even", unaryFloat<math::RoundEvenOp>},
       {"compare", compare},
       {"select", select},
       {"clamp", clamp},
       {"convert", convert},
       {"constant", constant},
       {"iota", iota}});
}

} // namespace mixir::stablehlo_import
