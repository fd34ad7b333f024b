//===- ElementwiseOps.cpp - ONNX element-wise nodes -----------------------===//
#include "Importer.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

namespace mixir::onnx_import {
namespace {

using Body = std::function<Value(OpBuilder &, Location, ValueRange, Type)>;

Value cst(OpBuilder &b, Location loc, Type t, double v) {
  return build::scalarConstant(b, loc, t, v);
}

bool isFloat(Type t) { return isa<FloatType>(t); }

/// Applies `body` element-wise over the broadcast of all present inputs.
LogicalResult emitElementwise(Node &n, ValueRange inputs, Type resultElem,
                              const Body &body) {
  if (!build::broadcastSizes(n.b, n.loc, inputs))
    return n.fail("input shapes do not broadcast");
  Type elem = cast<RankedTensorType>(inputs[0].getType()).getElementType();
  n.setOutput(
      0, build::elementwise(n.b, n.loc, inputs, resultElem ? resultElem : elem,
                            [&](OpBuilder &b, Location loc, ValueRange a) {
                              return body(b, loc, a, elem);
                            }));
  return success();
}

LogicalResult unary(Node &n, const Body &body, bool floatOnly = true) {
  if (!n.hasInput(0))
    return n.fail("missing input 0");
  Value x = n.input(0);
  if (floatOnly && !isFloat(n.inputType(0).getElementType()))
    return n.fail("expects a floating-point input");
  return emitElementwise(n, ValueRange{x}, Type(), body);
}

LogicalResult binary(Node &n, const Body &body, Type resultElem = Type()) {
  if (!n.hasInput(0) || !n.hasInput(1))
    return n.fail("expects two inputs");
  Value x = n.input(0), y = n.input(1);
  if (n.inputType(0).getElementType() != n.inputType(1).getElementType())
    return n.fail("inputs have different element types");
  return emitElementwise(n, ValueRange{x, y}, resultElem, body);
}

#define FLOAT_OR_INT(FOP, IOP)                                                 \
  [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {              \
    if (isFloat(t))                                                            \
      return FOP::create(b, loc, a[0], a[1]);                                  \
    return IOP::create(b, loc, a[0], a[1]);                                    \
  }

LogicalResult add(Node &n) {
  return binary(n, FLOAT_OR_INT(arith::AddFOp, arith::AddIOp));
}
LogicalResult sub(Node &n) {
  return binary(n, FLOAT_OR_INT(arith::SubFOp, arith::SubIOp));
}
LogicalResult mul(Node &n) {
  return binary(n, FLOAT_OR_INT(arith::MulFOp, arith::MulIOp));
}
LogicalResult div(Node &n) {
  return binary(n, FLOAT_OR_INT(arith::DivFOp, arith::DivSIOp));
}

LogicalResult variadic(Node &n, bool isMax) {
  SmallVector<Value> in = n.presentInputs();
  if (in.empty())
    return n.fail("expects at least one input");
  return emitElementwise(
      n, in, Type(), [isMax](OpBuilder &b, Location loc, ValueRange a, Type t) {
        Value r = a[0];
        for (Value v : a.drop_front()) {
          if (isFloat(t))
            r = isMax ? arith::MaximumFOp::create(b, loc, r, v).getResult()
                      : arith::MinimumFOp::create(b, loc, r, v).getResult();
          else
            r = isMax ? arith::MaxSIOp::create(b, loc, r, v).getResult()
                      : arith::MinSIOp::create(b, loc, r, v).getResult();
        }
        return r;
      });
}
LogicalResult max(Node &n) { return variadic(n, true); }
LogicalResult min(Node &n) { return variadic(n, false); }

LogicalResult sum(Node &n) {
  SmallVector<Value> in = n.presentInputs();
  if (in.empty())
    return n.fail("expects at least one input");
  return emitElementwise(
      n, in, Type(), [](OpBuilder &b, Location loc, ValueRange a, Type t) {
        Value r = a[0];
        for (Value v : a.drop_front())
          r = isFloat(t) ? arith::AddFOp::create(b, loc, r, v).getResult()
                         : arith::AddIOp::create(b, loc, r, v).getResult();
        return r;
      });
}

LogicalResult compare(Node &n, arith::CmpFPredicate fp,
                      arith::CmpIPredicate ip) {
  return binary(
      n,
      [=](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        if (isFloat(t))
          return arith::CmpFOp::create(b, loc, fp, a[0], a[1]);
        return arith::CmpIOp::create(b, loc, ip, a[0], a[1]);
      },
      n.b.getI1Type());
}
LogicalResult equal(Node &n) {
  return compare(n, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq);
}
LogicalResult less(Node &n) {
  return compare(n, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt);
}
LogicalResult lessEq(Node &n) {
  return compare(n, arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle);
}
LogicalResult greater(Node &n) {
  return compare(n, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt);
}
LogicalResult greaterEq(Node &n) {
  return compare(n, arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge);
}

LogicalResult logical(Node &n) {
  llvm::StringRef op = n.proto.op_type();
  if (n.inputType(0).getElementType() != n.b.getI1Type())
    return n.fail("expects bool inputs");
  return binary(n,
                [op](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
                  if (op == "And")
                    return arith::AndIOp::create(b, loc, a[0], a[1]);
                  if (op == "Or")
                    return arith::OrIOp::create(b, loc, a[0], a[1]);
                  return arith::XOrIOp::create(b, loc, a[0], a[1]);
                });
}

LogicalResult notOp(Node &n) {
  return unary(
      n,
      [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        return arith::XOrIOp::create(b, loc, a[0], cst(b, loc, t, 1));
      },
      /*floatOnly=*/false);
}

LogicalResult pow(Node &n) {
  if (!n.hasInput(0) || !n.hasInput(1))
    return n.fail("expects two inputs");
  Type elem = n.inputType(0).getElementType();
  if (!isFloat(elem))
    return n.fail("expects a floating-point base");
  if (std::optional<double> e = n.scalarInput(1)) {
    double p = *e;
    if (p == 1.0 || p == 2.0 || p == 3.0 || p == 0.5) {
      Value x = n.input(0);
      return emitElementwise(
          n, ValueRange{x}, Type(),
          [p](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
            if (p == 0.5)
              return math::SqrtOp::create(b, loc, a[0]);
            Value r = a[0];
            for (int i = 1; i < (int)p; ++i)
              r = arith::MulFOp::create(b, loc, r, a[0]);
            return r;
          });
    }
  }
  Value x = n.input(0), y = n.input(1);
  if (!build::broadcastSizes(n.b, n.loc, ValueRange{x, y}))
    return n.fail("input shapes do not broadcast");
  n.setOutput(0, build::elementwise(
                     n.b, n.loc, ValueRange{x, y}, elem,
                     [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Value e = build::convertScalar(b, loc, a[1], elem);
                       return math::PowFOp::create(b, loc, a[0], e);
                     }));
  return success();
}

#define UNARY_MATH(NAME, OP)                                                   \
  LogicalResult NAME(Node &n) {                                                \
    return unary(n,                                                            \
                 [](OpBuilder &b, Location loc, ValueRange a, Type) -> Value { \
                   return OP::create(b, loc, a[0]);                            \
                 });                                                           \
  }
UNARY_MATH(exp, math::ExpOp)
UNARY_MATH(log, math::LogOp)
UNARY_MATH(sqrt, math::SqrtOp)
UNARY_MATH(tanh, math::TanhOp)
UNARY_MATH(sin, math::SinOp)
UNARY_MATH(cos, math::CosOp)
UNARY_MATH(floor, math::FloorOp)
UNARY_MATH(ceil, math::CeilOp)

/// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): LLVM has no erf
/// intrinsic, and this vectorises with the rest of the generic.
Value erfOf(OpBuilder &b, Location loc, Value x, Type t) {
  Value ax = math::AbsFOp::create(b, loc, x);
  Value tt = arith::DivFOp::create(
      b, loc, cst(b, loc, t, 1.0),
      arith::AddFOp::create(
          b, loc, cst(b, loc, t, 1.0),
          arith::MulFOp::create(b, loc, ax, cst(b, loc, t, 0.3275911))));
  const double a[] = {1.061405429, -1.453152027, 1.421413741, -0.284496736,
                      0.254829592};
  Value poly = cst(b, loc, t, a[0]);
  for (int i = 1; i < 5; ++i)
    poly = arith::AddFOp::create(
        b, loc, arith::MulFOp::create(b, loc, poly, tt), cst(b, loc, t, a[i]));
  poly = arith::MulFOp::create(b, loc, poly, tt);
  Value e = math::ExpOp::create(
      b, loc,
      arith::NegFOp::create(b, loc, arith::MulFOp::create(b, loc, ax, ax)));
  Value y = arith::SubFOp::create(b, loc, cst(b, loc, t, 1.0),
                                  arith::MulFOp::create(b, loc, poly, e));
  return math::CopySignOp::create(b, loc, y, x);
}

LogicalResult erf(Node &n) {
  return unary(n, [](OpBuilder &b, Location loc, ValueRange a, Type t) {
    return erfOf(b, loc, a[0], t);
  });
}

LogicalResult neg(Node &n) {
  return unary(
      n,
      [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        if (isFloat(t))
          return arith::NegFOp::create(b, loc, a[0]);
        return arith::SubIOp::create(b, loc, cst(b, loc, t, 0), a[0]);
      },
      false);
}

LogicalResult abs(Node &n) {
  return unary(
      n,
      [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        if (isFloat(t))
          return math::AbsFOp::create(b, loc, a[0]);
        return math::AbsIOp::create(b, loc, a[0]);
      },
      false);
}

LogicalResult reciprocal(Node &n) {
  return unary(
      n, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        return arith::DivFOp::create(b, loc, cst(b, loc, t, 1.0), a[0]);
      });
}

Value sigmoidOf(OpBuilder &b, Location loc, Value x, Type t) {
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(
      b, loc, cst(b, loc, t, 1.0),
      arith::AddFOp::create(b, loc, cst(b, loc, t, 1.0), e));
}

LogicalResult sigmoid(Node &n) {
  return unary(n, [](OpBuilder &b, Location loc, ValueRange a, Type t) {
    return sigmoidOf(b, loc, a[0], t);
  });
}

LogicalResult silu(Node &n) { // com.microsoft / pytorch-style x * sigmoid(x)
  return unary(
      n, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        return arith::MulFOp::create(b, loc, a[0], sigmoidOf(b, loc, a[0], t));
      });
}

LogicalResult softplus(Node &n) {
  // max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
  return unary(
      n, [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        Value pos =
            arith::MaximumFOp::create(b, loc, a[0], cst(b, loc, t, 0.0));
        Value negAbs =
            arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, a[0]));
        Value l =
            math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
        return arith::AddFOp::create(b, loc, pos, l);
      });
}

LogicalResult relu(Node &n) {
  return unary(
      n,
      [](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        if (isFloat(t))
          return arith::MaximumFOp::create(b, loc, a[0], cst(b, loc, t, 0.0));
        return arith::MaxSIOp::create(b, loc, a[0], cst(b, loc, t, 0));
      },
      false);
}

LogicalResult leakyRelu(Node &n) {
  double alpha = n.floatAttr("alpha", 0.01f);
  return unary(
      n, [alpha](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        Value neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                          a[0], cst(b, loc, t, 0.0));
        Value scaled =
            arith::MulFOp::create(b, loc, a[0], cst(b, loc, t, alpha));
        return arith::SelectOp::create(b, loc, neg, scaled, a[0]);
      });
}

LogicalResult gelu(Node &n) {
  std::string approx = n.stringAttr("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return n.fail("approximate='" + approx + "' is not 'none' or 'tanh'");
  bool useTanh = approx == "tanh";
  return unary(
      n, [useTanh](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        Value x = a[0], inner;
        if (useTanh) {
          Value x3 = arith::MulFOp::create(b, loc, x,
                                           arith::MulFOp::create(b, loc, x, x));
          Value s = arith::AddFOp::create(
              b, loc, x,
              arith::MulFOp::create(b, loc, x3, cst(b, loc, t, 0.044715)));
          inner = math::TanhOp::create(
              b, loc,
              arith::MulFOp::create(b, loc, s,
                                    cst(b, loc, t, std::sqrt(2.0 / M_PI))));
        } else {
          inner = erfOf(
              b, loc,
              arith::MulFOp::create(b, loc, x, cst(b, loc, t, M_SQRT1_2)), t);
        }
        Value one = arith::AddFOp::create(b, loc, inner, cst(b, loc, t, 1.0));
        return arith::MulFOp::create(
            b, loc, arith::MulFOp::create(b, loc, x, one), cst(b, loc, t, 0.5));
      });
}

LogicalResult clip(Node &n) {
  Type elem = n.inputType(0).getElementType();
  std::optional<double> lo, hi;
  if (n.opset < 11) {
    if (n.hasAttr("min"))
      lo = n.floatAttr("min", 0);
    if (n.hasAttr("max"))
      hi = n.floatAttr("max", 0);
  } else {
    if (n.hasInput(1) && !(lo = n.scalarInput(1)))
      return n.fail("min must be a constant");
    if (n.hasInput(2) && !(hi = n.scalarInput(2)))
      return n.fail("max must be a constant");
  }
  return unary(
      n,
      [=](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        Value r = a[0];
        if (lo)
          r = isFloat(t)
                  ? arith::MaximumFOp::create(b, loc, r, cst(b, loc, t, *lo))
                        .getResult()
                  : arith::MaxSIOp::create(b, loc, r, cst(b, loc, t, *lo))
                        .getResult();
        if (hi)
          r = isFloat(t)
                  ? arith::MinimumFOp::create(b, loc, r, cst(b, loc, t, *hi))
                        .getResult()
                  : arith::MinSIOp::create(b, loc, r, cst(b, loc, t, *hi))
                        .getResult();
        return r;
      },
      false);
  (void)elem;
}

LogicalResult identity(Node &n) {
  n.setOutput(0, n.input(0));
  return success();
}

LogicalResult
dropout(Node &n) { // inference: identity (mask output unsupported)
  if (n.hasOutput(1))
    return n.fail("the mask output is not supported");
  return identity(n);
}

LogicalResult where(Node &n) {
  if (n.numInputs() != 3)
    return n.fail("expects three inputs");
  Value c = n.input(0), x = n.input(1), y = n.input(2);
  if (n.inputType(0).getElementType() != n.b.getI1Type())
    return n.fail("condition must be bool");
  if (!build::broadcastSizes(n.b, n.loc, ValueRange{c, x, y}))
    return n.fail("input shapes do not broadcast");
  n.setOutput(0, build::elementwise(
                     n.b, n.loc, ValueRange{c, x, y},
                     n.inputType(1).getElementType(),
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
                     }));
  return success();
}

LogicalResult castTo(Node &n, Type to) {
  Value x = n.input(0);
  n.setOutput(0, build::castElements(n.b, n.loc, x, to));
  return success();
}

LogicalResult castOp(Node &n) {
  int64_t to = n.intAttr("to", 0);
  Type t = elementTypeFor(n.b.getContext(), to);
  if (!t)
    return n.fail("unsupported target type " + llvm::Twine(to));
  return castTo(n, t);
}

LogicalResult castLike(Node &n) {
  return castTo(n, n.inputType(1).getElementType());
}

LogicalResult isNaN(Node &n) {
  if (!n.hasInput(0) || !isFloat(n.inputType(0).getElementType()))
    return n.fail("expects a floating-point input");
  return emitElementwise(
      n, ValueRange{n.input(0)}, n.b.getI1Type(),
      [](OpBuilder &b, Location loc, ValueRange a, Type) -> Value {
        return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, a[0],
                                     a[0]);
      });
}

LogicalResult isInf(Node &n) {
  if (!n.hasInput(0) || !isFloat(n.inputType(0).getElementType()))
    return n.fail("expects a floating-point input");
  bool pos = n.intAttr("detect_positive", 1) != 0;
  bool neg = n.intAttr("detect_negative", 1) != 0;
  return emitElementwise(
      n, ValueRange{n.input(0)}, n.b.getI1Type(),
      [=](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        double inf = std::numeric_limits<double>::infinity();
        Value isPos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                            a[0], cst(b, loc, t, inf));
        Value isNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                            a[0], cst(b, loc, t, -inf));
        if (pos && neg)
          return arith::OrIOp::create(b, loc, isPos, isNeg);
        if (pos)
          return isPos;
        if (neg)
          return isNeg;
        return arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
      });
}

/// Mod: fmod = 0 takes the sign of the divisor (Python %, integers only);
/// fmod = 1 that of the dividend (C fmod, required for floats).
LogicalResult mod(Node &n) {
  if (!n.hasInput(0) || !n.hasInput(1))
    return n.fail("expects two inputs");
  Type elem = n.inputType(0).getElementType();
  bool fmod = n.intAttr("fmod", 0) != 0;
  if (isFloat(elem) && !fmod)
    return n.fail("fmod = 0 is invalid for floating-point inputs");
  return binary(
      n, [fmod](OpBuilder &b, Location loc, ValueRange a, Type t) -> Value {
        if (isFloat(t))
          return arith::RemFOp::create(b, loc, a[0], a[1]);
        Value r = arith::RemSIOp::create(b, loc, a[0], a[1]);
        if (fmod)
          return r;
        // r != 0 and sign(r) != sign(divisor): r + divisor.
        Value zero = cst(b, loc, t, 0);
        Value nonZero =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
        Value rNeg =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
        Value dNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           a[1], zero);
        Value differ = arith::XOrIOp::create(b, loc, rNeg, dNeg);
        Value fix = arith::AndIOp::create(b, loc, nonZero, differ);
        return arith::SelectOp::create(
            b, loc, fix, arith::AddIOp::create(b, loc, r, a[1]), r);
      });
}

} // namespace

void registerElementwiseOps(HandlerMap &m) {
  import::addHandlers(m, "::",
                      {{"Add", add},
                       {"Sub", sub},
                       {"Mul", mul},
                       {"Div", div},
                       {"Pow", pow},
                       {"Max", max},
                       {"Min", min},
                       {"Sum", sum},
                       {"Equal", equal},
                       {"Less", less},
                       {"LessOrEqual", lessEq},
                       {"Greater", greater},
                       {"GreaterOrEqual", greaterEq},
                       {"And", logical},
                       {"Or", logical},
                       {"Xor", logical},
                       {"Not", notOp},
                       {"Exp", exp},
                       {"Log", log},
                       {"Sqrt", sqrt},
                       {"Tanh", tanh},
                       {"Erf", erf},
                       {"Sin", sin},
                       {"Cos", cos},
                       {"Floor", floor},
                       {"Ceil", ceil},
                       {"Neg", neg},
                       {"Abs", abs},
                       {"Reciprocal", reciprocal},
                       {"Sigmoid", sigmoid},
                       {"Softplus", softplus},
                       {"Relu", relu},
                       {"LeakyRelu", leakyRelu},
                       {"Gelu", gelu},
                       {"Clip", clip},
                       {"Identity", identity},
                       {"Dropout", dropout},
                       {"Where", where},
                       {"Cast", castOp},
                       {"CastLike", castLike},
                       {"IsNaN", isNaN},
                       {"IsInf", isInf},
                       {"Mod", mod}});
  import::addHandlers(m, "com.microsoft::", {{"Gelu", gelu}});
  import::addHandlers(m, "mixir::", {{"Silu", silu}});
}

} // namespace mixir::onnx_import
