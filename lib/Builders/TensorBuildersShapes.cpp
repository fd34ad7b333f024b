//===- TensorBuildersShapes.cpp - reshapes, slices, gathers ---------------===//
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

using namespace mlir;

namespace mixir::build {

Value reshape(OpBuilder &b, Location loc, Value x,
              ArrayRef<OpFoldResult> sizes) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> target = staticShapeOf(sizes);
  if (type.getShape() == ArrayRef<int64_t>(target))
    return x;
  Type elem = type.getElementType();
  auto resultType0 = RankedTensorType::get(target, elem);
  // One collapse or one expand when the dims group (keeps dynamic dims out
  // of flattened 1-D intermediates).
  if (type.getRank() > 0 && (int64_t)target.size() > 0) {
    if (type.getRank() > (int64_t)target.size()) {
      if (auto re = getReassociationIndicesForReshape(type, resultType0))
        return tensor::CollapseShapeOp::create(b, loc, resultType0, x, *re);
    } else if (type.getRank() < (int64_t)target.size()) {
      if (auto re = getReassociationIndicesForReshape(resultType0, type))
        return tensor::ExpandShapeOp::create(b, loc, resultType0, x, *re,
                                             sizes);
    }
  }
  // To one dimension.
  Value flat = x;
  if (type.getRank() == 0) {
    flat = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1}, elem), x,
        ArrayRef<ReassociationIndices>{},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  } else if (type.getRank() > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    flat = tensor::CollapseShapeOp::create(b, loc, x,
                                           ArrayRef<ReassociationIndices>{all});
  }
  // From one dimension.
  if (target.empty()) {
    if (cast<RankedTensorType>(flat.getType()).isDynamicDim(0))
      flat = tensor::CastOp::create(b, loc, RankedTensorType::get({1}, elem),
                                    flat);
    return tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({}, elem), flat,
        ArrayRef<ReassociationIndices>{});
  }
  auto resultType = RankedTensorType::get(target, elem);
  if (target.size() == 1) {
    if (flat.getType() == resultType)
      return flat;
    return tensor::CastOp::create(b, loc, resultType, flat);
  }
  ReassociationIndices all;
  for (size_t i = 0; i < target.size(); ++i)
    all.push_back(i);
  // expand_shape needs a static source size when the result is static.
  auto flatType = cast<RankedTensorType>(flat.getType());
  if (flatType.isDynamicDim(0) && resultType.hasStaticShape())
    flat = tensor::CastOp::create(
        b, loc, RankedTensorType::get({resultType.getNumElements()}, elem),
        flat);
  return tensor::ExpandShapeOp::create(
      b, loc, resultType, flat, ArrayRef<ReassociationIndices>{all}, sizes);
}

Value slice(OpBuilder &b, Location loc, Value x, ArrayRef<OpFoldResult> offsets,
            ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides) {
  return tensor::ExtractSliceOp::create(b, loc, x, offsets, sizes, strides);
}

Value concat(OpBuilder &b, Location loc, ValueRange inputs, int64_t axis) {
  if (inputs.size() == 1)
    return inputs[0];
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, inputs[0]);
  Value total = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> starts;
  for (Value v : inputs) {
    starts.push_back(total);
    total = arith::AddIOp::create(
        b, loc, total,
        getValueOrCreateConstantIndexOp(b, loc, sizesOf(b, loc, v)[axis]));
  }
  // Static sizes along the other axes come from whichever input has them.
  for (size_t d = 0; d < sizes.size(); ++d) {
    if ((int64_t)d == axis)
      continue;
    for (Value v : inputs) {
      auto t = cast<RankedTensorType>(v.getType());
      if (!t.isDynamicDim(d)) {
        sizes[d] = b.getIndexAttr(t.getDimSize(d));
        break;
      }
    }
  }
  int64_t staticTotal = 0;
  bool allStatic = true;
  for (Value v : inputs) {
    int64_t s = cast<RankedTensorType>(v.getType()).getDimSize(axis);
    allStatic &= !ShapedType::isDynamic(s);
    staticTotal += ShapedType::isDynamic(s) ? 0 : s;
  }
  sizes[axis] = allStatic ? OpFoldResult(b.getIndexAttr(staticTotal))
                          : OpFoldResult(total);
  Value result =
      emptyTensor(b, loc, sizes,
                  cast<RankedTensorType>(inputs[0].getType()).getElementType());
  for (auto [v, start] : llvm::zip(inputs, starts)) {
    SmallVector<OpFoldResult> offsets(sizes.size(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
    offsets[axis] = getAsOpFoldResult(start);
    result = tensor::InsertSliceOp::create(b, loc, v, result, offsets,
                                           sizesOf(b, loc, v), strides);
  }
  return result;
}

/// The flip along a static axis: an affine map `n - 1 - i`.
Value reverse(OpBuilder &b, Location loc, Value x, int64_t axis) {
  auto type = cast<RankedTensorType>(x.getType());
  // Each element reads x[..., n - 1 - i, ...], by index rather than through
  // an input map (n - 1 - d): the CPU pipeline's tiling of a generic with
  // such a map fails to verify for some static sizes (n = 150).
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, x);
  Value last = arith::SubIOp::create(
      b, loc, getValueOrCreateConstantIndexOp(b, loc, sizes[axis]),
      arith::ConstantIndexOp::create(b, loc, 1));
  return elementwise(
      b, loc, ValueRange{}, type.getElementType(),
      [&](OpBuilder &nb, Location l, ValueRange) -> Value {
        SmallVector<Value> coords;
        for (int64_t d = 0; d < type.getRank(); ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        coords[axis] = arith::SubIOp::create(nb, l, last, coords[axis]);
        return tensor::ExtractOp::create(nb, l, x, coords);
      },
      ArrayRef<OpFoldResult>(sizes));
}

/// An index into a dim of `size` elements: negative ones count from the
/// end, out-of-range ones are clamped so nothing reads out of bounds.
static Value wrappedIndex(OpBuilder &b, Location loc, Value index, Value size) {
  Value idx = arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value neg =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, idx, zero);
  Value wrapped = arith::AddIOp::create(b, loc, idx, size);
  idx = arith::SelectOp::create(b, loc, neg, wrapped, idx);
  Value last = arith::SubIOp::create(b, loc, size,
                                     arith::ConstantIndexOp::create(b, loc, 1));
  idx = arith::MaxSIOp::create(b, loc, idx, zero);
  return arith::MinSIOp::create(b, loc, idx, last);
}

Value gather(OpBuilder &b, Location loc, Value data, Value indices,
             int64_t axis) {
  auto dt = cast<RankedTensorType>(data.getType());
  auto it = cast<RankedTensorType>(indices.getType());
  SmallVector<OpFoldResult> ds = sizesOf(b, loc, data),
                            is = sizesOf(b, loc, indices);
  SmallVector<OpFoldResult> out(ds.begin(), ds.begin() + axis);
  out.append(is.begin(), is.end());
  out.append(ds.begin() + axis + 1, ds.end());
  Value axisSize = getValueOrCreateConstantIndexOp(b, loc, ds[axis]);
  if (it.getRank() == 0) {
    // One index: the slice of `data` at it, with `axis` dropped.
    Value index = tensor::ExtractOp::create(b, loc, indices, ValueRange{});
    SmallVector<OpFoldResult> offsets(dt.getRank(), b.getIndexAttr(0)),
        sizes(ds), strides(dt.getRank(), b.getIndexAttr(1));
    offsets[axis] = wrappedIndex(b, loc, index, axisSize);
    sizes[axis] = b.getIndexAttr(1);
    // A full-rank slice reshaped: MLIR 22's canonicalizer corrupts a
    // rank-reducing extract_slice that drops an ambiguous unit dimension
    // when it folds the offset to a constant ([1,8,2,8] at [0,0,0,7] to
    // 1x8x2 became sizes [1,1,8,2]).
    Value slice =
        tensor::ExtractSliceOp::create(b, loc, data, offsets, sizes, strides);
    return reshape(b, loc, slice, out);
  }
  int64_t rank = out.size(), ir = it.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < ir; ++i)
    idxExprs.push_back(getAffineDimExpr(axis + i, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, idxExprs, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  Value init = emptyTensor(b, loc, out, dt.getElementType());
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{indices}, ValueRange{init},
             maps, iters,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               SmallVector<Value> coords;
               for (int64_t d = 0; d < axis; ++d)
                 coords.push_back(linalg::IndexOp::create(nb, nloc, d));
               coords.push_back(wrappedIndex(nb, nloc, args[0], axisSize));
               for (int64_t d = axis + ir; d < rank; ++d)
                 coords.push_back(linalg::IndexOp::create(nb, nloc, d));
               Value v = tensor::ExtractOp::create(nb, nloc, data, coords);
               linalg::YieldOp::create(nb, nloc, v);
             })
      .getResult(0);
}

Value yieldedInPlace(OpBuilder &b, Location loc, Value value, Value arg) {
  for (Value v = value; v != arg;) {
    auto insert = v.getDefiningOp<tensor::InsertSliceOp>();
    if (!insert)
      return linalg::CopyOp::create(b, loc, value, arg).getResult(0);
    v = insert.getDest();
  }
  return value;
}

} // namespace mixir::build
