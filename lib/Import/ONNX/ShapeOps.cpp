//===- ShapeOps.cpp - ONNX shape, layout, indexing and constant nodes -----===//
#include "Importer.h"
#include "mixir/Builders/MixerBuilders.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::onnx_import {
namespace {

using build::sizesOf;

/// Axes from an input (newer opsets) or an attribute (older ones).
FailureOr<std::optional<SmallVector<int64_t>>>
axesOf(Node &n, int inputIndex, bool fromInput,
       llvm::StringRef attrName = "axes") {
  if (fromInput) {
    if (!n.hasInput(inputIndex))
      return std::optional<SmallVector<int64_t>>();
    auto v = n.intsInput(inputIndex);
    if (!v)
      return n.fail("input " + llvm::Twine(inputIndex) +
                    " (axes) must be a constant");
    return std::optional<SmallVector<int64_t>>(*v);
  }
  return n.intsAttr(attrName);
}

LogicalResult reshapeOp(Node &n) {
  Value x = n.input(0);
  auto type = n.inputType(0);
  std::optional<SmallVector<int64_t>> shape =
      n.opset < 5 ? n.intsAttr("shape") : n.intsInput(1);
  if (!shape)
    return n.fail("the target shape must be a constant (computed shapes are "
                  "not supported)");
  bool allowZero = n.intAttr("allowzero", 0) != 0;
  SmallVector<OpFoldResult> in = sizesOf(n.b, n.loc, x), out;
  int inferred = -1;
  for (auto [i, s] : llvm::enumerate(*shape)) {
    if (s == -1) {
      if (inferred >= 0)
        return n.fail("more than one -1 in the target shape");
      inferred = i;
      out.push_back(n.b.getIndexAttr(1));
    } else if (s == 0 && !allowZero) {
      if (i >= in.size())
        return n.fail("target shape copies dimension " + llvm::Twine(i) +
                      " that the input does not have");
      out.push_back(in[i]);
    } else if (s < 0) {
      return n.fail("invalid target size " + llvm::Twine(s));
    } else {
      out.push_back(n.b.getIndexAttr(s));
    }
  }
  // Element counts: static when possible. A static count of 2^63 or more
  // sets `overflow` (the target sizes are any int64).
  bool overflow = false;
  auto product = [&](ArrayRef<OpFoldResult> sizes) -> OpFoldResult {
    int64_t p = 1;
    bool isStatic = true;
    for (OpFoldResult s : sizes) {
      auto c = getConstantIntValue(s);
      isStatic &= c.has_value();
      overflow |= llvm::MulOverflow(p, c.value_or(1), p);
    }
    if (isStatic)
      return n.b.getIndexAttr(p);
    Value v = arith::ConstantIndexOp::create(n.b, n.loc, 1);
    for (OpFoldResult s : sizes)
      v = arith::MulIOp::create(n.b, n.loc, v,
                                getValueOrCreateConstantIndexOp(n.b, n.loc, s));
    return v;
  };
  auto tooMany = [&] {
    return n.fail("the input or target shape has 2^63 elements or more");
  };
  OpFoldResult total = product(in);
  if (inferred >= 0) {
    // Dims copied with 0 cancel out, so [0, 0, -1] stays static even with
    // dynamic leading dims.
    SmallVector<OpFoldResult> inRest, outRest;
    for (auto [i, s] : llvm::enumerate(*shape)) {
      if (s == 0 && !allowZero)
        continue;
      if ((int)i != inferred)
        outRest.push_back(out[i]);
    }
    for (size_t i = 0; i < in.size(); ++i)
      if (!(i < shape->size() && (*shape)[i] == 0 && !allowZero))
        inRest.push_back(in[i]);
    auto ti = getConstantIntValue(product(inRest));
    auto to = getConstantIntValue(product(outRest));
    if (overflow)
      return tooMany();
    if (ti && to && *to != 0 && *ti % *to == 0) {
      out[inferred] = n.b.getIndexAttr(*ti / *to);
      n.setOutput(0, build::reshape(n.b, n.loc, x, out));
      return success();
    }
    OpFoldResult rest = product(out);
    auto t = getConstantIntValue(total), r = getConstantIntValue(rest);
    if (overflow)
      return tooMany();
    if (t && r) {
      if (*r == 0 || *t % *r)
        return n.fail("cannot infer the -1 size: " + llvm::Twine(*t) +
                      " elements do not divide by " + llvm::Twine(*r));
      out[inferred] = n.b.getIndexAttr(*t / *r);
    } else {
      out[inferred] =
          arith::DivUIOp::create(
              n.b, n.loc, getValueOrCreateConstantIndexOp(n.b, n.loc, total),
              getValueOrCreateConstantIndexOp(n.b, n.loc, rest))
              .getResult();
    }
  } else {
    auto t = getConstantIntValue(total), r = getConstantIntValue(product(out));
    if (overflow)
      return tooMany();
    if (t && r && *t != *r)
      return n.fail("cannot reshape " + llvm::Twine(*t) + " elements into " +
                    llvm::Twine(*r));
  }
  (void)type;
  n.setOutput(0, build::reshape(n.b, n.loc, x, out));
  return success();
}

LogicalResult flatten(Node &n) {
  Value x = n.input(0);
  int64_t rank = n.inputType(0).getRank();
  auto axis = n.axis(n.intAttr("axis", 1), rank + 1);
  if (failed(axis))
    return failure();
  SmallVector<OpFoldResult> in = sizesOf(n.b, n.loc, x);
  auto prod = [&](int64_t from, int64_t to) -> OpFoldResult {
    int64_t p = 1;
    bool isStatic = true;
    for (int64_t i = from; i < to; ++i) {
      auto c = getConstantIntValue(in[i]);
      isStatic &= c.has_value();
      p *= c.value_or(1);
    }
    if (isStatic)
      return n.b.getIndexAttr(p);
    Value v = arith::ConstantIndexOp::create(n.b, n.loc, 1);
    for (int64_t i = from; i < to; ++i)
      v = arith::MulIOp::create(
          n.b, n.loc, v, getValueOrCreateConstantIndexOp(n.b, n.loc, in[i]));
    return getAsOpFoldResult(v);
  };
  SmallVector<OpFoldResult> out = {prod(0, *axis), prod(*axis, rank)};
  n.setOutput(0, build::reshape(n.b, n.loc, x, out));
  return success();
}

LogicalResult squeeze(Node &n) {
  Value x = n.input(0);
  auto type = n.inputType(0);
  auto axes = axesOf(n, 1, n.opset >= 13);
  if (failed(axes))
    return failure();
  SmallVector<bool> drop(type.getRank(), false);
  if (*axes) {
    for (int64_t a : **axes) {
      auto ax = n.axis(a, type.getRank());
      if (failed(ax))
        return failure();
      if (type.getDimSize(*ax) != 1 && !type.isDynamicDim(*ax))
        return n.fail("cannot squeeze dimension " + llvm::Twine(*ax) +
                      " of size " + llvm::Twine(type.getDimSize(*ax)));
      drop[*ax] = true;
    }
  } else {
    for (int64_t d = 0; d < type.getRank(); ++d)
      drop[d] = type.getDimSize(d) == 1;
  }
  SmallVector<OpFoldResult> in = sizesOf(n.b, n.loc, x), out;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!drop[d])
      out.push_back(in[d]);
  n.setOutput(0, build::reshape(n.b, n.loc, x, out));
  return success();
}

LogicalResult unsqueeze(Node &n) {
  Value x = n.input(0);
  auto type = n.inputType(0);
  auto axes = axesOf(n, 1, n.opset >= 13);
  if (failed(axes))
    return failure();
  if (!*axes)
    return n.fail("axes are required");
  int64_t outRank = type.getRank() + (*axes)->size();
  SmallVector<bool> inserted(outRank, false);
  for (int64_t a : **axes) {
    auto ax = n.axis(a, outRank);
    if (failed(ax))
      return failure();
    if (inserted[*ax])
      return n.fail("axis " + llvm::Twine(a) + " is repeated");
    inserted[*ax] = true;
  }
  SmallVector<OpFoldResult> in = sizesOf(n.b, n.loc, x), out;
  size_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    out.push_back(inserted[d] ? OpFoldResult(n.b.getIndexAttr(1)) : in[next++]);
  n.setOutput(0, build::reshape(n.b, n.loc, x, out));
  return success();
}

LogicalResult transposeOp(Node &n) {
  Value x = n.input(0);
  int64_t rank = n.inputType(0).getRank();
  SmallVector<int64_t> perm;
  if (auto p = n.intsAttr("perm")) {
    perm = *p;
  } else {
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  }
  SmallVector<bool> seen(rank, false);
  if ((int64_t)perm.size() != rank)
    return n.fail("perm has " + llvm::Twine(perm.size()) +
                  " entries for rank " + llvm::Twine(rank));
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return n.fail("perm is not a permutation");
    seen[p] = true;
  }
  n.setOutput(0, build::transpose(n.b, n.loc, x, perm));
  return success();
}

LogicalResult concatOp(Node &n) {
  SmallVector<Value> in = n.presentInputs();
  if (in.empty())
    return n.fail("expects at least one input");
  int64_t rank = cast<RankedTensorType>(in[0].getType()).getRank();
  auto axis = n.axis(n.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  for (Value v : in)
    if (cast<RankedTensorType>(v.getType()).getRank() != rank)
      return n.fail("inputs have different ranks");
  n.setOutput(0, build::concat(n.b, n.loc, in, *axis));
  return success();
}

LogicalResult split(Node &n) {
  Value x = n.input(0);
  auto type = n.inputType(0);
  auto axis = n.axis(n.intAttr("axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t outputs = n.numOutputs();
  std::optional<SmallVector<int64_t>> sizes;
  if (n.opset >= 13) {
    if (n.hasInput(1) && !(sizes = n.intsInput(1)))
      return n.fail("split sizes must be a constant");
  } else {
    sizes = n.intsAttr("split");
  }
  int64_t dim = type.getDimSize(*axis);
  if (!sizes) {
    if (ShapedType::isDynamic(dim))
      return n.fail("splitting a dynamic dimension needs explicit sizes");
    int64_t parts = n.opset >= 18 && n.hasAttr("num_outputs")
                        ? n.intAttr("num_outputs", outputs)
                        : outputs;
    if (parts <= 0)
      return n.fail("num_outputs must be positive, got " + llvm::Twine(parts));
    int64_t chunk = (dim + parts - 1) / parts;
    sizes.emplace();
    for (int64_t i = 0, left = dim; i < parts; ++i, left -= chunk)
      sizes->push_back(std::min(chunk, left));
  }
  if ((int64_t)sizes->size() != outputs)
    return n.fail("has " + llvm::Twine(outputs) + " outputs but " +
                  llvm::Twine(sizes->size()) + " split sizes");
  int64_t totalSize = 0;
  for (int64_t s : *sizes)
    totalSize += s;
  if (!ShapedType::isDynamic(dim) && totalSize != dim)
    return n.fail("split sizes add up to " + llvm::Twine(totalSize) +
                  ", the dimension is " + llvm::Twine(dim));
  SmallVector<OpFoldResult> full = sizesOf(n.b, n.loc, x);
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<OpFoldResult> offs(type.getRank(), n.b.getIndexAttr(0));
    SmallVector<OpFoldResult> szs = full;
    SmallVector<OpFoldResult> strides(type.getRank(), n.b.getIndexAttr(1));
    offs[*axis] = n.b.getIndexAttr(offset);
    szs[*axis] = n.b.getIndexAttr((*sizes)[i]);
    n.setOutput(i, build::slice(n.b, n.loc, x, offs, szs, strides));
    offset += (*sizes)[i];
  }
  return success();
}

LogicalResult sliceOp(Node &n) {
  Value x = n.input(0);
  auto type = n.inputType(0);
  int64_t rank = type.getRank();
  std::optional<SmallVector<int64_t>> starts, ends, axes, steps;
  if (n.opset < 10) {
    starts = n.intsAttr("starts");
    ends = n.intsAttr("ends");
    axes = n.intsAttr("axes");
  } else {
    starts = n.intsInput(1);
    ends = n.intsInput(2);
    if (n.hasInput(3) && !(axes = n.intsInput(3)))
      return n.fail("axes must be a constant");
    if (n.hasInput(4) && !(steps = n.intsInput(4)))
      return n.fail("steps must be a constant");
  }
  if (!starts || !ends)
    return n.fail("starts and ends must be constants");
  if (!axes) {
    axes.emplace();
    for (size_t i = 0; i < starts->size(); ++i)
      axes->push_back(i);
  }
  if (!steps)
    steps = SmallVector<int64_t>(starts->size(), 1);
  if (ends->size() != starts->size() || axes->size() != starts->size() ||
      steps->size() != starts->size())
    return n.fail("starts, ends, axes and steps have different lengths");
  SmallVector<OpFoldResult> offs(rank, n.b.getIndexAttr(0));
  SmallVector<OpFoldResult> szs = sizesOf(n.b, n.loc, x);
  SmallVector<OpFoldResult> strides(rank, n.b.getIndexAttr(1));
  for (size_t i = 0; i < starts->size(); ++i) {
    auto ax = n.axis((*axes)[i], rank);
    if (failed(ax))
      return failure();
    int64_t start = (*starts)[i], end = (*ends)[i], step = (*steps)[i];
    if (step <= 0)
      return n.fail("only positive steps are supported, got " +
                    llvm::Twine(step));
    int64_t dim = type.getDimSize(*ax);
    if (!ShapedType::isDynamic(dim)) {
      if (start < 0)
        start += dim;
      if (end < 0)
        end += dim;
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      int64_t count = end > start ? (end - start + step - 1) / step : 0;
      offs[*ax] = n.b.getIndexAttr(start);
      szs[*ax] = n.b.getIndexAttr(count);
      strides[*ax] = n.b.getIndexAttr(step);
      continue;
    }
    // Dynamic size: clamp with index arithmetic.
    OpBuilder &b = n.b;
    Location loc = n.loc;
    Value d = tensor::DimOp::create(b, loc, x, *ax);
    auto normalize = [&](int64_t v) -> Value {
      Value r = v < 0
                    ? arith::AddIOp::create(
                          b, loc, d, arith::ConstantIndexOp::create(b, loc, v))
                          .getResult()
                    : arith::ConstantIndexOp::create(
                          b, loc, std::min<int64_t>(v, INT64_MAX / 4))
                          .getResult();
      r = arith::MaxSIOp::create(b, loc, r,
                                 arith::ConstantIndexOp::create(b, loc, 0));
      return arith::MinSIOp::create(b, loc, r, d);
    };
    Value s = normalize(start), e = normalize(end);
    Value len = arith::SubIOp::create(b, loc, e, s);
    len = arith::MaxSIOp::create(b, loc, len,
                                 arith::ConstantIndexOp::create(b, loc, 0));
    Value count = arith::CeilDivUIOp::create(
        b, loc, len, arith::ConstantIndexOp::create(b, loc, step));
    offs[*ax] = getAsOpFoldResult(s);
    szs[*ax] = getAsOpFoldResult(count);
    strides[*ax] = b.getIndexAttr(step);
  }
  n.setOutput(0, build::slice(n.b, n.loc, x, offs, szs, strides));
  return success();
}

LogicalResult gatherOp(Node &n) {
  Value data = n.input(0), idx = n.input(1);
  auto axis = n.axis(n.intAttr("axis", 0), n.inputType(0).getRank());
  if (failed(axis))
    return failure();
  if (!isa<IntegerType>(n.inputType(1).getElementType()))
    return n.fail("indices must be integers");
  n.setOutput(0, build::gather(n.b, n.loc, data, idx, *axis));
  return success();
}

LogicalResult expand(Node &n) {
  Value x = n.input(0);
  auto shape = n.intsInput(1);
  if (!shape)
    return n.fail("the target shape must be a constant");
  auto type = n.inputType(0);
  int64_t rank = std::max<int64_t>(type.getRank(), shape->size());
  SmallVector<OpFoldResult> in = sizesOf(n.b, n.loc, x), out;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t i = d - (rank - type.getRank()),
            s = d - (rank - (int64_t)shape->size());
    int64_t want = s >= 0 ? (*shape)[s] : 1;
    int64_t have = i >= 0 ? type.getDimSize(i) : 1;
    if (want == 1) {
      out.push_back(i >= 0 ? in[i] : OpFoldResult(n.b.getIndexAttr(1)));
    } else if (have == 1 || have == want) {
      out.push_back(n.b.getIndexAttr(want));
    } else if (ShapedType::isDynamic(have)) {
      out.push_back(n.b.getIndexAttr(want)); // assumed to agree at run time
    } else {
      return n.fail("cannot expand dimension of size " + llvm::Twine(have) +
                    " to " + llvm::Twine(want));
    }
  }
  n.setOutput(0, build::elementwise(
                     n.b, n.loc, ValueRange{x}, type.getElementType(),
                     [](OpBuilder &, Location, ValueRange a) { return a[0]; },
                     ArrayRef<OpFoldResult>(out)));
  return success();
}

LogicalResult shapeOp(Node &n) {
  auto type = n.inputType(0);
  int64_t rank = type.getRank();
  int64_t start = n.intAttr("start", 0), end = n.intAttr("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<int64_t> dims;
  bool isStatic = true;
  for (int64_t d = start; d < end; ++d) {
    dims.push_back(type.getDimSize(d));
    isStatic &= !type.isDynamicDim(d);
  }
  auto resultType = RankedTensorType::get({end - start}, n.b.getI64Type());
  if (isStatic) {
    n.setConstantOutput(
        0, DenseElementsAttr::get(resultType, ArrayRef<int64_t>(dims)));
    return success();
  }
  Value x = n.input(0);
  SmallVector<Value> elems;
  for (int64_t d = start; d < end; ++d) {
    Value dim = tensor::DimOp::create(n.b, n.loc, x, d);
    elems.push_back(
        arith::IndexCastOp::create(n.b, n.loc, n.b.getI64Type(), dim));
  }
  n.setOutput(0, tensor::FromElementsOp::create(n.b, n.loc, resultType, elems));
  return success();
}

LogicalResult sizeOp(Node &n) {
  auto type = n.inputType(0);
  if (!type.hasStaticShape())
    return n.fail("needs a static input shape");
  auto t = RankedTensorType::get({}, n.b.getI64Type());
  n.setConstantOutput(
      0, DenseElementsAttr::get(t, (int64_t)type.getNumElements()));
  return success();
}

LogicalResult constantOp(Node &n) {
  const auto &a = n.proto.attribute();
  if (a.size() != 1)
    return n.fail("expects exactly one value attribute");
  const onnx::AttributeProto &attr = a[0];
  MLIRContext *ctx = n.b.getContext();
  DenseElementsAttr value;
  if (attr.name() == "value") {
    std::string error;
    value = decodeTensor(ctx, attr.t(), n.graph.modelDir, error);
    if (!value)
      return n.fail(error);
  } else if (attr.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, n.b.getF32Type()),
                                   attr.f());
  } else if (attr.name() == "value_floats") {
    SmallVector<float> v(attr.floats().begin(), attr.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, n.b.getF32Type()),
        ArrayRef<float>(v));
  } else if (attr.name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, n.b.getI64Type()),
                                   (int64_t)attr.i());
  } else if (attr.name() == "value_ints") {
    SmallVector<int64_t> v(attr.ints().begin(), attr.ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, n.b.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    return n.fail("unsupported value attribute '" + attr.name() + "'");
  }
  n.setConstantOutput(0, value);
  return success();
}

LogicalResult constantOfShape(Node &n) {
  auto shape = n.intsInput(0);
  if (!shape)
    return n.fail("the shape must be a constant");
  for (int64_t s : *shape)
    if (s < 0)
      return n.fail("negative size in the shape");
  Attribute element = n.b.getF32FloatAttr(0.0f);
  Type elem = n.b.getF32Type();
  if (const auto *a = n.attr("value")) {
    std::string error;
    DenseElementsAttr v =
        decodeTensor(n.b.getContext(), a->t(), n.graph.modelDir, error);
    if (!v)
      return n.fail(error);
    if (v.getNumElements() != 1)
      return n.fail("value must have one element");
    elem = v.getElementType();
    element = *v.getValues<Attribute>().begin();
  }
  auto type = RankedTensorType::get(*shape, elem);
  n.setConstantOutput(0, DenseElementsAttr::get(type, element));
  return success();
}

/// Range with run-time start, limit or delta (scalars): a 1-D tensor of
/// max(ceil((limit - start) / delta), 0) elements start + i * delta.
LogicalResult dynamicRange(Node &n) {
  OpBuilder &b = n.b;
  Location loc = n.loc;
  Type elem = n.inputType(0).getElementType();
  bool isFloat = isa<FloatType>(elem);
  if (!isFloat && !isa<IntegerType>(elem))
    return n.fail("expects integer or floating-point inputs");
  Value s[3];
  for (int i = 0; i < 3; ++i) {
    if (!n.hasInput(i) || n.inputType(i).getElementType() != elem ||
        n.inputType(i).getNumElements() != 1 || n.inputType(i).getRank() > 1)
      return n.fail("start, limit and delta must be scalars of one type");
    Value x = n.input(i);
    SmallVector<Value> idx(n.inputType(i).getRank(),
                           arith::ConstantIndexOp::create(b, loc, 0));
    s[i] = tensor::ExtractOp::create(b, loc, x, idx);
  }
  Value count;
  if (isFloat) {
    Value f64s[3];
    for (int i = 0; i < 3; ++i)
      f64s[i] = build::convertScalar(b, loc, s[i], b.getF64Type());
    Value q = arith::DivFOp::create(
        b, loc, arith::SubFOp::create(b, loc, f64s[1], f64s[0]), f64s[2]);
    q = math::CeilOp::create(b, loc, q);
    q = arith::MaximumFOp::create(
        b, loc, q, build::scalarConstant(b, loc, b.getF64Type(), 0));
    count = arith::FPToSIOp::create(b, loc, b.getI64Type(), q);
  } else {
    Value num = arith::SubIOp::create(b, loc, s[1], s[0]);
    Value q = arith::CeilDivSIOp::create(b, loc, num, s[2]);
    q = arith::MaxSIOp::create(b, loc, q,
                               build::scalarConstant(b, loc, elem, 0));
    count = q;
  }
  Value size = arith::IndexCastOp::create(b, loc, b.getIndexType(), count);
  auto type = RankedTensorType::get({ShapedType::kDynamic}, elem);
  Value start = s[0], delta = s[2];
  auto gen = tensor::GenerateOp::create(
      b, loc, type, ValueRange{size},
      [&](OpBuilder &nb, Location nloc, ValueRange ivs) {
        Value i = arith::IndexCastOp::create(nb, nloc, nb.getI64Type(), ivs[0]);
        Value r;
        if (isFloat) {
          // In the input type, as onnxruntime computes it (start + i * delta).
          Value fi = arith::SIToFPOp::create(nb, nloc, elem, i);
          r = arith::AddFOp::create(nb, nloc, start,
                                    arith::MulFOp::create(nb, nloc, fi, delta));
        } else {
          Value ii = build::convertScalar(nb, nloc, i, elem);
          r = arith::AddIOp::create(nb, nloc, start,
                                    arith::MulIOp::create(nb, nloc, ii, delta));
        }
        tensor::YieldOp::create(nb, nloc, r);
      });
  n.setOutput(0, gen.getResult());
  return success();
}

constexpr double kMaxFoldedRange = 1 << 24;

LogicalResult range(Node &n) {
  auto start = n.scalarInput(0), limit = n.scalarInput(1),
       delta = n.scalarInput(2);
  if (!start || !limit || !delta)
    return dynamicRange(n);
  if (*delta == 0)
    return n.fail("delta is 0");
  // Folded into a constant: bounded so that a damaged model cannot ask for
  // more memory than any real one (NaN fails the test too).
  double steps = std::max(0.0, std::ceil((*limit - *start) / *delta));
  if (!(steps <= kMaxFoldedRange))
    return n.fail("Range would have more than " +
                  llvm::Twine((int64_t)kMaxFoldedRange) + " elements");
  int64_t count = steps;
  Type elem = n.inputType(0).getElementType();
  auto type = RankedTensorType::get({count}, elem);
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> v;
    for (int64_t i = 0; i < count; ++i) {
      APFloat f(*start + i * *delta);
      bool lost;
      f.convert(cast<FloatType>(elem).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      v.push_back(f);
    }
    n.setConstantOutput(0, DenseElementsAttr::get(type, v));
  } else {
    SmallVector<APInt> v;
    for (int64_t i = 0; i < count; ++i)
      v.push_back(APInt(elem.getIntOrFloatBitWidth(),
                        (uint64_t)(int64_t)*start +
                            (uint64_t)i * (uint64_t)(int64_t)*delta,
                        true, true));
    n.setConstantOutput(0, DenseElementsAttr::get(type, v));
  }
  return success();
}

LogicalResult trilu(Node &n) {
  Value x = n.input(0);
  if (n.inputType(0).getRank() < 2)
    return n.fail("expects rank >= 2");
  int64_t k = 0;
  if (n.hasInput(1)) {
    auto kv = n.intsInput(1);
    if (!kv || kv->size() != 1)
      return n.fail("k must be a constant scalar");
    k = (*kv)[0];
  }
  n.setOutput(0, build::triangle(n.b, n.loc, x, k, n.intAttr("upper", 1) != 0));
  return success();
}

LogicalResult cumsum(Node &n) {
  Value x = n.input(0);
  auto a = n.intsInput(1);
  if (!a || a->size() != 1)
    return n.fail("axis must be a constant scalar");
  auto axis = n.axis((*a)[0], n.inputType(0).getRank());
  if (failed(axis))
    return failure();
  n.setOutput(0, build::cumulativeSum(n.b, n.loc, x, *axis,
                                      n.intAttr("exclusive", 0) != 0,
                                      n.intAttr("reverse", 0) != 0));
  return success();
}

/// Pad's pads as [begin..., end...] over all dimensions: an attribute (< 11)
/// or a constant input, optionally over the constant `axes` (>= 18).
FailureOr<SmallVector<int64_t>> padAmounts(Node &n, int64_t rank) {
  auto pads = n.opset < 11 ? n.intsAttr("pads") : n.intsInput(1);
  if (!pads)
    return n.fail("pads must be a constant");
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  if (n.opset >= 18 && n.hasInput(3)) {
    auto given = n.intsInput(3);
    if (!given)
      return n.fail("axes must be a constant");
    axes.clear();
    for (int64_t a : *given) {
      auto ax = n.axis(a, rank);
      if (failed(ax))
        return failure();
      axes.push_back(*ax);
    }
  }
  int64_t count = axes.size();
  if ((int64_t)pads->size() != 2 * count)
    return n.fail("pads has " + llvm::Twine(pads->size()) +
                  " values, expected " + llvm::Twine(2 * count));
  SmallVector<int64_t> all(2 * rank, 0);
  for (auto [i, a] : llvm::enumerate(axes)) {
    all[a] = (*pads)[i];
    all[rank + a] = (*pads)[count + i];
  }
  if (llvm::any_of(all, [](int64_t p) { return p < 0; }))
    return n.fail("negative pads (cropping) are not supported");
  return all;
}

LogicalResult padOp(Node &n) {
  if (!n.hasInput(0))
    return n.fail("expects an input");
  std::string mode = n.stringAttr("mode", "constant");
  if (mode != "constant")
    return n.fail("mode '" + mode + "' is not supported (only 'constant')");
  Value x = n.input(0);
  auto type = n.inputType(0);
  int64_t rank = type.getRank();
  auto pads = padAmounts(n, rank);
  if (failed(pads))
    return failure();
  double value = n.opset < 11 ? n.floatAttr("value", 0.0f) : 0.0;
  if (n.opset >= 11 && n.hasInput(2)) {
    auto v = n.scalarInput(2);
    if (!v)
      return n.fail("constant_value must be a constant scalar");
    value = *v;
  }
  SmallVector<OpFoldResult> lo, hi;
  for (int64_t d = 0; d < rank; ++d) {
    lo.push_back(n.b.getIndexAttr((*pads)[d]));
    hi.push_back(n.b.getIndexAttr((*pads)[rank + d]));
  }
  Value fill = build::scalarConstant(n.b, n.loc, type.getElementType(), value);
  n.setOutput(0, tensor::PadOp::create(n.b, n.loc, Type(), x, lo, hi, fill));
  return success();
}

} // namespace

void registerShapeOps(HandlerMap &m) {
  import::addHandlers(m, "::",
                      {{"Reshape", reshapeOp},
                       {"Flatten", flatten},
                       {"Squeeze", squeeze},
                       {"Unsqueeze", unsqueeze},
                       {"Transpose", transposeOp},
                       {"Concat", concatOp},
                       {"Split", split},
                       {"Slice", sliceOp},
                       {"Gather", gatherOp},
                       {"Expand", expand},
                       {"Shape", shapeOp},
                       {"Size", sizeOp},
                       {"Constant", constantOp},
                       {"ConstantOfShape", constantOfShape},
                       {"Range", range},
                       {"Trilu", trilu},
                       {"CumSum", cumsum},
                       {"Pad", padOp}});
}

} // namespace mixir::onnx_import
