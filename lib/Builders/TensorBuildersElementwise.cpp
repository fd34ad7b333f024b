//===- TensorBuildersElementwise.cpp - element-wise builders --------------===//
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::build {

SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value t) {
  return tensor::getMixedSizes(b, loc, t);
}

SmallVector<int64_t> staticShapeOf(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes)
    shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  return shape;
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                   Value value) {
  Value empty = emptyTensor(b, loc, sizes, value.getType());
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  if (type.isIndex())
    return arith::ConstantIndexOp::create(b, loc, (int64_t)value);
  return arith::ConstantOp::create(b, loc,
                                   b.getIntegerAttr(type, (int64_t)value));
}

std::optional<SmallVector<OpFoldResult>>
broadcastSizes(OpBuilder &b, Location loc, ValueRange inputs) {
  int64_t rank = 0;
  for (Value v : inputs)
    rank =
        std::max<int64_t>(rank, cast<RankedTensorType>(v.getType()).getRank());
  SmallVector<OpFoldResult> out(rank, b.getIndexAttr(1));
  SmallVector<bool> isStatic(rank, true);
  for (int64_t d = 0; d < rank; ++d) {
    std::optional<int64_t> staticSize;
    Value dynamicFrom;
    int64_t dynamicDim = 0;
    for (Value v : inputs) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t i = d - (rank - type.getRank());
      if (i < 0)
        continue;
      int64_t s = type.getDimSize(i);
      if (ShapedType::isDynamic(s)) {
        if (!dynamicFrom) {
          dynamicFrom = v;
          dynamicDim = i;
        }
        continue;
      }
      if (s == 1)
        continue;
      if (staticSize && *staticSize != s)
        return std::nullopt;
      staticSize = s;
    }
    if (staticSize)
      out[d] = b.getIndexAttr(*staticSize);
    else if (dynamicFrom)
      out[d] =
          tensor::DimOp::create(b, loc, dynamicFrom, dynamicDim).getResult();
  }
  return out;
}

Value elementwise(OpBuilder &b, Location loc, ValueRange inputs,
                  Type resultElementType, ElementwiseBody body,
                  std::optional<ArrayRef<OpFoldResult>> outSizes) {
  SmallVector<OpFoldResult> sizes;
  if (outSizes) {
    sizes.assign(outSizes->begin(), outSizes->end());
  } else {
    auto bs = broadcastSizes(b, loc, inputs);
    assert(bs && "elementwise: shapes do not broadcast");
    sizes = *bs;
  }
  int64_t rank = sizes.size();
  SmallVector<int64_t> outShape = staticShapeOf(sizes);
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : inputs) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t d = i + rank - type.getRank();
      bool broadcast = type.getDimSize(i) == 1 && outShape[d] != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                                : getAffineDimExpr(d, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = emptyTensor(b, loc, sizes, resultElementType);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value r = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
}

Value convertScalar(OpBuilder &b, Location loc, Value v, Type to,
                    bool isUnsigned) {
  Type from = v.getType();
  if (from == to)
    return v;
  if (isa<FloatType>(from) && isa<FloatType>(to)) {
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, to, v);
    return arith::TruncFOp::create(b, loc, to, v);
  }
  if (isa<FloatType>(from) && to.isInteger(1)) {
    Value zero = scalarConstant(b, loc, from, 0.0);
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, zero);
  }
  if (isa<FloatType>(from)) {
    if (isUnsigned)
      return arith::FPToUIOp::create(b, loc, to, v);
    return arith::FPToSIOp::create(b, loc, to, v);
  }
  // Integer (or i1) source.
  if (isa<FloatType>(to)) {
    if (isUnsigned || from.isInteger(1))
      return arith::UIToFPOp::create(b, loc, to, v);
    return arith::SIToFPOp::create(b, loc, to, v);
  }
  if (to.isInteger(1)) {
    Value zero = scalarConstant(b, loc, from, 0.0);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
  }
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw) {
    if (isUnsigned || from.isInteger(1))
      return arith::ExtUIOp::create(b, loc, to, v);
    return arith::ExtSIOp::create(b, loc, to, v);
  }
  return arith::TruncIOp::create(b, loc, to, v);
}

Value castElements(OpBuilder &b, Location loc, Value t, Type to,
                   bool isUnsigned) {
  if (cast<RankedTensorType>(t.getType()).getElementType() == to)
    return t;
  return elementwise(b, loc, ValueRange{t}, to,
                     [&](OpBuilder &nb, Location nloc, ValueRange a) {
                       return convertScalar(nb, nloc, a[0], to, isUnsigned);
                     });
}

} // namespace mixir::build
