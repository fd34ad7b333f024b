//===- NNOps.cpp - ONNX contractions, reductions, norms, convolution ------===//
#include "Importer.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace mixir::onnx_import {
namespace {

Value cst(OpBuilder &b, Location loc, Type t, double v) {
  return build::scalarConstant(b, loc, t, v);
}

LogicalResult matmulOp(Node &n) {
  if (!n.hasInput(0) || !n.hasInput(1))
    return n.fail("expects two inputs");
  auto lt = n.inputType(0), rt = n.inputType(1);
  if (lt.getRank() < 1 || rt.getRank() < 1)
    return n.fail("inputs must have rank >= 1");
  if (lt.getElementType() != rt.getElementType())
    return n.fail("inputs have different element types");
  int64_t k1 = lt.getDimSize(lt.getRank() - 1);
  int64_t k2 = rt.getDimSize(rt.getRank() == 1 ? 0 : rt.getRank() - 2);
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return n.fail("inner dimensions differ (" + llvm::Twine(k1) + " vs " +
                  llvm::Twine(k2) + ")");
  for (int64_t i = 0; i + 2 < std::min(lt.getRank(), rt.getRank()); ++i) {
    int64_t a = lt.getDimSize(lt.getRank() - 3 - i),
            c = rt.getDimSize(rt.getRank() - 3 - i);
    if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(c) && a != c &&
        a != 1 && c != 1)
      return n.fail("batch dimensions do not broadcast");
  }
  n.setOutput(0, build::matmul(n.b, n.loc, n.input(0), n.input(1)));
  return success();
}

LogicalResult gemm(Node &n) {
  Value a = n.input(0), bm = n.input(1);
  if (n.inputType(0).getRank() != 2 || n.inputType(1).getRank() != 2)
    return n.fail("A and B must be 2-D");
  if (n.intAttr("transA", 0))
    a = build::transpose(n.b, n.loc, a, {1, 0});
  if (n.intAttr("transB", 0))
    bm = build::transpose(n.b, n.loc, bm, {1, 0});
  double alpha = n.floatAttr("alpha", 1.0f), beta = n.floatAttr("beta", 1.0f);
  Value y = build::matmul(n.b, n.loc, a, bm);
  Type elem = n.inputType(0).getElementType();
  SmallVector<Value> in = {y};
  if (n.hasInput(2) && beta != 0.0)
    in.push_back(n.input(2));
  if (alpha != 1.0 || in.size() > 1) {
    if (!build::broadcastSizes(n.b, n.loc, in))
      return n.fail("C does not broadcast to the product's shape");
    y = build::elementwise(
        n.b, n.loc, in, elem,
        [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
          Value r = v[0];
          if (alpha != 1.0)
            r = arith::MulFOp::create(b, loc, r, cst(b, loc, elem, alpha));
          if (v.size() > 1) {
            Value c = v[1];
            if (beta != 1.0)
              c = arith::MulFOp::create(b, loc, c, cst(b, loc, elem, beta));
            r = arith::AddFOp::create(b, loc, r, c);
          }
          return r;
        },
        std::nullopt);
  }
  n.setOutput(0, y);
  return success();
}

LogicalResult softmaxOp(Node &n) {
  Value x = n.input(0);
  int64_t rank = n.inputType(0).getRank();
  auto axis = n.axis(n.intAttr("axis", n.opset >= 13 ? -1 : 1), rank);
  if (failed(axis))
    return failure();
  bool log = n.proto.op_type() == "LogSoftmax";
  Type elem = n.inputType(0).getElementType();
  if (!isa<FloatType>(elem))
    return n.fail("expects a floating-point input");
  Value y;
  if (n.opset < 13 && *axis != rank - 1) {
    // Before opset 13 the input is flattened to 2-D at `axis`.
    SmallVector<OpFoldResult> sizes = build::sizesOf(n.b, n.loc, x);
    auto type = n.inputType(0);
    if (!type.hasStaticShape())
      return n.fail("opset < 13 with a non-last axis needs a static shape");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d)
      (d < *axis ? outer : inner) *= type.getDimSize(d);
    Value flat = build::reshape(
        n.b, n.loc, x, {n.b.getIndexAttr(outer), n.b.getIndexAttr(inner)});
    y = build::reshape(n.b, n.loc, build::softmax(n.b, n.loc, flat, 1), sizes);
  } else {
    y = build::softmax(n.b, n.loc, x, *axis);
  }
  if (log)
    y = build::elementwise(
        n.b, n.loc, ValueRange{y}, elem,
        [](OpBuilder &b, Location loc, ValueRange a) -> Value {
          return math::LogOp::create(b, loc, a[0]);
        });
  n.setOutput(0, y);
  return success();
}

LogicalResult reduceOp(Node &n) {
  llvm::StringRef op = n.proto.op_type();
  build::ReduceKind kind = op == "ReduceSum"    ? build::ReduceKind::sum
                           : op == "ReduceMean" ? build::ReduceKind::mean
                           : op == "ReduceMax"  ? build::ReduceKind::max
                           : op == "ReduceMin"  ? build::ReduceKind::min
                                                : build::ReduceKind::prod;
  // Axes became an input in opset 13 for ReduceSum, 18 for the others.
  bool axesInput = n.opset >= (op == "ReduceSum" ? 13 : 18);
  Value x = n.input(0);
  int64_t rank = n.inputType(0).getRank();
  std::optional<SmallVector<int64_t>> axes;
  if (axesInput) {
    if (n.hasInput(1) && !(axes = n.intsInput(1)))
      return n.fail("axes must be a constant");
  } else {
    axes = n.intsAttr("axes");
  }
  if (!axes || axes->empty()) {
    if (n.intAttr("noop_with_empty_axes", 0)) {
      n.setOutput(0, x);
      return success();
    }
    axes.emplace();
    for (int64_t d = 0; d < rank; ++d)
      axes->push_back(d);
  }
  SmallVector<int64_t> norm;
  for (int64_t a : *axes) {
    auto ax = n.axis(a, rank);
    if (failed(ax))
      return failure();
    if (!llvm::is_contained(norm, *ax))
      norm.push_back(*ax);
  }
  bool keep = n.intAttr("keepdims", 1) != 0;
  n.setOutput(0, build::reduce(n.b, n.loc, x, norm, keep, kind));
  return success();
}

/// y = (x - mean) * rsqrt(var + eps) * scale + bias over the dims from `axis`
/// (LayerNormalization), or x * rsqrt(mean(x^2) + eps) * scale (RMS).
LogicalResult normalization(Node &n, bool rms) {
  Value x = n.input(0);
  auto type = n.inputType(0);
  Type elem = type.getElementType();
  if (!isa<FloatType>(elem))
    return n.fail("expects a floating-point input");
  auto axis = n.axis(n.intAttr("axis", -1), type.getRank());
  if (failed(axis))
    return failure();
  double eps = n.floatAttr("epsilon", 1e-5f);
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < type.getRank(); ++d)
    axes.push_back(d);
  OpBuilder &b = n.b;
  Location loc = n.loc;
  Value centered = x, mean;
  if (!rms) {
    mean = build::reduce(b, loc, x, axes, true, build::ReduceKind::mean);
    centered = build::elementwise(
        b, loc, ValueRange{x, mean}, elem,
        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          return arith::SubFOp::create(nb, l, a[0], a[1]);
        });
  }
  Value sq =
      build::elementwise(b, loc, ValueRange{centered}, elem,
                         [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           return arith::MulFOp::create(nb, l, a[0], a[0]);
                         });
  Value var = build::reduce(b, loc, sq, axes, true, build::ReduceKind::mean);
  Value inv = build::elementwise(
      b, loc, ValueRange{var}, elem,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value s = arith::AddFOp::create(nb, l, a[0], cst(nb, l, elem, eps));
        return math::RsqrtOp::create(nb, l, s);
      });
  SmallVector<Value> in = {centered, inv};
  if (n.hasInput(1))
    in.push_back(n.input(1));
  bool hasBias = !rms && n.hasInput(2);
  if (hasBias)
    in.push_back(n.input(2));
  if (!build::broadcastSizes(b, loc, in))
    return n.fail("scale or bias does not broadcast to the normalised shape");
  bool hasScale = n.hasInput(1);
  n.setOutput(0, build::elementwise(
                     b, loc, in, elem,
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value r = arith::MulFOp::create(nb, l, a[0], a[1]);
                       if (hasScale)
                         r = arith::MulFOp::create(nb, l, r, a[2]);
                       if (hasBias)
                         r = arith::AddFOp::create(nb, l, r, a[3]);
                       return r;
                     }));
  if (!rms) {
    n.setOutput(1, mean);
    n.setOutput(2, inv);
  } else if (n.hasOutput(1)) {
    return n.fail("has more than one output");
  }
  return success();
}
LogicalResult layerNorm(Node &n) { return normalization(n, false); }
LogicalResult rmsNorm(Node &n) { return normalization(n, true); }

LogicalResult conv(Node &n) {
  auto xt = n.inputType(0);
  if (xt.getRank() != 3)
    return n.fail("only 1-D convolution (rank-3 input [N, C, T]) is supported");
  auto wt = n.inputType(1);
  if (wt.getRank() != 3 || !wt.hasStaticShape())
    return n.fail("the weight must be a static [M, C/group, K] tensor");
  std::string autoPad = n.stringAttr("auto_pad", "NOTSET");
  int64_t group = n.intAttr("group", 1);
  int64_t stride = n.intsAttr("strides").value_or(SmallVector<int64_t>{1})[0];
  int64_t dil = n.intsAttr("dilations").value_or(SmallVector<int64_t>{1})[0];
  SmallVector<int64_t> pads =
      n.intsAttr("pads").value_or(SmallVector<int64_t>{0, 0});
  int64_t kernel = wt.getDimSize(2);
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    if (stride != 1)
      return n.fail("auto_pad SAME with stride != 1 is not supported");
    int64_t total = dil * (kernel - 1);
    int64_t small = total / 2, large = total - small;
    pads = autoPad == "SAME_UPPER" ? SmallVector<int64_t>{small, large}
                                   : SmallVector<int64_t>{large, small};
  } else if (autoPad == "VALID") {
    pads = {0, 0};
  } else if (autoPad != "NOTSET") {
    return n.fail("unknown auto_pad '" + autoPad + "'");
  }
  if (pads.size() != 2 || stride < 1 || dil < 1 || group < 1)
    return n.fail("invalid pads, strides, dilations or group");
  int64_t channels = xt.getDimSize(1);
  if (ShapedType::isDynamic(channels) || channels % group ||
      wt.getDimSize(1) * group != channels || wt.getDimSize(0) % group)
    return n.fail("channels (" + llvm::Twine(channels) + "), group (" +
                  llvm::Twine(group) + ") and weight shape disagree");
  int64_t length = xt.getDimSize(2);
  if (!ShapedType::isDynamic(length) &&
      length + pads[0] + pads[1] < dil * (kernel - 1) + 1)
    return n.fail("the padded input is shorter than the dilated kernel");
  Value bias = n.hasInput(2) ? n.input(2) : Value();
  n.setOutput(0, build::conv1d(n.b, n.loc, n.input(0), n.input(1), bias, group,
                               stride, dil, pads[0], pads[1]));
  return success();
}

/// An explicit Einsum equation "ab,bc->ac": the letters of each input and of
/// the output. No ellipsis and no letter twice in one term.
struct EinsumTerms {
  SmallVector<std::string> inputs;
  std::string output;
};

FailureOr<EinsumTerms> parseEinsum(Node &n, llvm::StringRef eq) {
  std::string compact;
  for (char c : eq)
    if (c != ' ')
      compact += c;
  llvm::StringRef text(compact);
  auto [lhs, rhs] = text.split("->");
  if (!text.contains("->"))
    return n.fail("implicit-output equations are not supported");
  if (text.contains("..."))
    return n.fail("ellipsis ('...') is not supported");
  EinsumTerms terms;
  SmallVector<llvm::StringRef> parts;
  lhs.split(parts, ',');
  for (llvm::StringRef p : parts)
    terms.inputs.push_back(p.str());
  terms.output = rhs.str();
  SmallVector<std::string> all = terms.inputs;
  all.push_back(terms.output);
  for (const std::string &t : all) {
    for (auto [i, c] : llvm::enumerate(t))
      if (!llvm::isAlpha(c) || t.find(c) != i)
        return n.fail("term '" + t +
                      "' must be distinct letters (diagonals are not "
                      "supported)");
  }
  return terms;
}

/// The size of each letter (checked to agree between inputs) and the loop
/// order: the output's letters, then the summed ones in order of appearance.
LogicalResult einsumSizes(Node &n, ValueRange xs, const EinsumTerms &terms,
                          Type elem, std::string &letters,
                          llvm::DenseMap<char, OpFoldResult> &size) {
  letters = terms.output;
  llvm::DenseMap<char, int64_t> staticSize;
  for (auto [x, term] : llvm::zip(xs, terms.inputs)) {
    auto t = cast<RankedTensorType>(x.getType());
    if (t.getElementType() != elem)
      return n.fail("inputs have different element types");
    if (t.getRank() != (int64_t)term.size())
      return n.fail("term '" + term + "' does not match an input of rank " +
                    llvm::Twine(t.getRank()));
    SmallVector<OpFoldResult> sizes = build::sizesOf(n.b, n.loc, x);
    for (auto [d, c] : llvm::enumerate(term)) {
      int64_t s = t.getDimSize(d);
      auto [it, fresh] = staticSize.try_emplace(c, s);
      if (fresh || ShapedType::isDynamic(it->second)) {
        it->second = s;
        size[c] = sizes[d];
      } else if (!ShapedType::isDynamic(s) && s != it->second) {
        return n.fail(llvm::Twine("letter '") + llvm::Twine(c) +
                      "' has sizes " + llvm::Twine(it->second) + " and " +
                      llvm::Twine(s));
      }
      if (letters.find(c) == std::string::npos)
        letters += c;
    }
  }
  return success();
}

/// Einsum as one linalg.generic: loops over the output's letters, then the
/// summed letters; the product of the inputs accumulated in f32 or wider.
LogicalResult einsum(Node &n) {
  auto terms = parseEinsum(n, n.stringAttr("equation", ""));
  if (failed(terms))
    return failure();
  SmallVector<Value> xs = n.presentInputs();
  if (xs.size() != terms->inputs.size() || xs.empty())
    return n.fail("the equation has " + llvm::Twine(terms->inputs.size()) +
                  " terms for " + llvm::Twine(xs.size()) + " inputs");
  Type elem = cast<RankedTensorType>(xs[0].getType()).getElementType();
  if (!isa<FloatType>(elem))
    return n.fail("only floating-point inputs are supported");
  std::string letters;
  llvm::DenseMap<char, OpFoldResult> size;
  if (failed(einsumSizes(n, xs, *terms, elem, letters, size)))
    return failure();
  SmallVector<OpFoldResult> outSizes;
  for (char c : terms->output) {
    if (!size.count(c))
      return n.fail(llvm::Twine("output letter '") + llvm::Twine(c) +
                    "' is in no input");
    outSizes.push_back(size[c]);
  }
  MLIRContext *ctx = n.b.getContext();
  auto mapOf = [&](llvm::StringRef term) {
    SmallVector<AffineExpr> exprs;
    for (char c : term)
      exprs.push_back(getAffineDimExpr(letters.find(c), ctx));
    return AffineMap::get(letters.size(), 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps;
  for (const std::string &term : terms->inputs)
    maps.push_back(mapOf(term));
  maps.push_back(mapOf(terms->output));
  SmallVector<utils::IteratorType> iters(letters.size(),
                                         utils::IteratorType::reduction);
  std::fill_n(iters.begin(), terms->output.size(),
              utils::IteratorType::parallel);
  bool widen = elem.isF16() || elem.isBF16();
  Type acc = widen ? n.b.getF32Type() : elem;
  Value init =
      build::filledTensor(n.b, n.loc, outSizes, cst(n.b, n.loc, acc, 0));
  Value out =
      linalg::GenericOp::create(
          n.b, n.loc, init.getType(), xs, ValueRange{init}, maps, iters,
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value p;
            for (Value a : args.drop_back()) {
              Value v = widen ? arith::ExtFOp::create(b, loc, acc, a) : a;
              p = p ? arith::MulFOp::create(b, loc, p, v).getResult() : v;
            }
            linalg::YieldOp::create(
                b, loc,
                ValueRange{arith::AddFOp::create(b, loc, args.back(), p)});
          })
          .getResult(0);
  n.setOutput(0, widen ? build::castElements(n.b, n.loc, out, elem) : out);
  return success();
}

} // namespace

void registerNNOps(HandlerMap &m) {
  import::addHandlers(m, "::",
                      {{"MatMul", matmulOp},
                       {"Gemm", gemm},
                       {"Softmax", softmaxOp},
                       {"LogSoftmax", softmaxOp},
                       {"ReduceSum", reduceOp},
                       {"ReduceMean", reduceOp},
                       {"ReduceMax", reduceOp},
                       {"ReduceMin", reduceOp},
                       {"ReduceProd", reduceOp},
                       {"LayerNormalization", layerNorm},
                       {"RMSNormalization", rmsNorm},
                       {"Conv", conv},
                       {"Einsum", einsum}});
}

} // namespace mixir::onnx_import
