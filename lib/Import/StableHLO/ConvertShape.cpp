//===- ConvertShape.cpp - broadcasts, reshapes, slices, padding, gather ---===//
#include "Convert.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <numeric>

namespace mixir::stablehlo_import {
namespace {

LogicalResult broadcastInDim(OpView &v) {
  auto dims = v.i64Array("broadcast_dimensions");
  RankedTensorType rt = v.resultType(), st = v.operandType(0);
  if (!dims || (int64_t)dims->size() != st.getRank())
    return v.fail(
        "expects broadcast_dimensions with one entry per operand dim");
  for (auto [i, d] : llvm::enumerate(*dims))
    if (d < 0 || d >= rt.getRank() ||
        (st.getDimSize(i) != 1 && st.getDimSize(i) != rt.getDimSize(d)))
      return v.fail("broadcast_dimensions do not fit the result shape");
  // A splat constant stays a constant (masks and scales for mix-raise).
  Value src = v.operand(0);
  if (auto cst = src.getDefiningOp<arith::ConstantOp>())
    if (auto attr = dyn_cast<SplatElementsAttr>(cst.getValue()))
      return v.setResult(
          0, arith::ConstantOp::create(v.b, v.loc, attr.resizeSplat(rt)));
  // Sort the dims by a transpose of the operand, then insert unit dims and
  // let build::elementwise broadcast.
  SmallVector<int64_t> order(dims->size());
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(
      order, [&](int64_t a, int64_t b) { return (*dims)[a] < (*dims)[b]; });
  for (size_t i = 1; i < order.size(); ++i)
    if ((*dims)[order[i]] == (*dims)[order[i - 1]])
      return v.fail("broadcast_dimensions repeat a dimension");
  src = build::transpose(v.b, v.loc, src, order);
  SmallVector<int64_t> shape(rt.getRank(), 1);
  for (int64_t i : order)
    shape[(*dims)[i]] = st.getDimSize(i);
  src = build::reshape(v.b, v.loc, src, indexAttrs(v.b, shape));
  SmallVector<OpFoldResult> sizes = indexAttrs(v.b, rt.getShape());
  return v.setResult(
      0, build::elementwise(
             v.b, v.loc, ValueRange{src}, rt.getElementType(),
             [](OpBuilder &, Location, ValueRange a) { return a[0]; },
             ArrayRef<OpFoldResult>(sizes)));
}

LogicalResult reshape(OpView &v) {
  RankedTensorType rt = v.resultType();
  if (rt.getNumElements() != v.operandType(0).getNumElements())
    return v.fail("reshape changes the element count");
  return v.setResult(0, build::reshape(v.b, v.loc, v.operand(0),
                                       indexAttrs(v.b, rt.getShape())));
}

LogicalResult transpose(OpView &v) {
  auto perm = v.i64Array("permutation");
  if (!perm || (int64_t)perm->size() != v.operandType(0).getRank())
    return v.fail("expects a permutation of the operand dims");
  SmallVector<bool> seen(perm->size(), false);
  for (int64_t p : *perm) {
    if (p < 0 || p >= (int64_t)perm->size() || seen[p])
      return v.fail("expects a permutation of the operand dims");
    seen[p] = true;
  }
  return v.setResult(0, build::transpose(v.b, v.loc, v.operand(0), *perm));
}

LogicalResult slice(OpView &v) {
  auto start = v.i64Array("start_indices"), limit = v.i64Array("limit_indices"),
       strides = v.i64Array("strides");
  int64_t rank = v.operandType(0).getRank();
  if (!start || !limit || (int64_t)start->size() != rank ||
      (int64_t)limit->size() != rank)
    return v.fail("expects start_indices and limit_indices for every dim");
  SmallVector<int64_t> step =
      strides ? *strides : SmallVector<int64_t>(rank, 1);
  if ((int64_t)step.size() != rank)
    return v.fail("expects strides for every dim");
  SmallVector<int64_t> sizes, offsets(*start);
  for (int64_t d = 0; d < rank; ++d) {
    if (step[d] <= 0 || (*start)[d] < 0 || (*limit)[d] < (*start)[d] ||
        (*limit)[d] > v.operandType(0).getDimSize(d))
      return v.fail("slice bounds out of range");
    sizes.push_back(((*limit)[d] - (*start)[d] + step[d] - 1) / step[d]);
    // An empty slice may start at the end; tensor slices may not.
    if (sizes.back() == 0)
      offsets[d] = 0;
  }
  return v.setResult(
      0, build::slice(v.b, v.loc, v.operand(0), indexAttrs(v.b, offsets),
                      indexAttrs(v.b, sizes), indexAttrs(v.b, step)));
}

/// Start index operands (rank-0 integer tensors) as indices clamped to
/// [0, dim - size], as StableHLO specifies for dynamic slices.
SmallVector<OpFoldResult> clampedStarts(OpView &v, unsigned first,
                                        RankedTensorType operandType,
                                        ArrayRef<int64_t> sizes) {
  SmallVector<OpFoldResult> out;
  for (int64_t d = 0; d < operandType.getRank(); ++d) {
    Value s = tensor::ExtractOp::create(v.b, v.loc, v.operand(first + d),
                                        ValueRange{});
    Value i = arith::IndexCastOp::create(v.b, v.loc, v.b.getIndexType(), s);
    Value lo = arith::ConstantIndexOp::create(v.b, v.loc, 0);
    Value hi = arith::ConstantIndexOp::create(
        v.b, v.loc, operandType.getDimSize(d) - sizes[d]);
    i = arith::MaxSIOp::create(v.b, v.loc, i, lo);
    out.push_back(arith::MinSIOp::create(v.b, v.loc, i, hi).getResult());
  }
  return out;
}

LogicalResult checkStartOperands(OpView &v, unsigned first, int64_t rank) {
  if ((int64_t)v.numOperands() != first + rank)
    return v.fail("expects one start index operand per dim");
  for (int64_t d = 0; d < rank; ++d) {
    RankedTensorType t = v.operandType(first + d);
    if (t.getRank() != 0 || !t.getElementType().isSignlessInteger())
      return v.fail("start indices must be integer scalars");
  }
  return success();
}

LogicalResult dynamicSlice(OpView &v) {
  RankedTensorType ot = v.operandType(0);
  auto sizes = v.i64Array("slice_sizes");
  if (!sizes || (int64_t)sizes->size() != ot.getRank())
    return v.fail("expects slice_sizes for every dim");
  if (failed(checkStartOperands(v, 1, ot.getRank())))
    return failure();
  for (int64_t d = 0; d < ot.getRank(); ++d)
    if ((*sizes)[d] < 0 || (*sizes)[d] > ot.getDimSize(d))
      return v.fail("slice_sizes exceed the operand");
  SmallVector<OpFoldResult> offsets = clampedStarts(v, 1, ot, *sizes);
  SmallVector<OpFoldResult> ones(ot.getRank(), v.b.getIndexAttr(1));
  return v.setResult(0, build::slice(v.b, v.loc, v.operand(0), offsets,
                                     indexAttrs(v.b, *sizes), ones));
}

LogicalResult dynamicUpdateSlice(OpView &v) {
  RankedTensorType ot = v.operandType(0), ut = v.operandType(1);
  if (ut.getRank() != ot.getRank())
    return v.fail("the update must have the operand's rank");
  if (failed(checkStartOperands(v, 2, ot.getRank())))
    return failure();
  for (int64_t d = 0; d < ot.getRank(); ++d)
    if (ut.getDimSize(d) > ot.getDimSize(d))
      return v.fail("the update is larger than the operand");
  SmallVector<OpFoldResult> offsets = clampedStarts(v, 2, ot, ut.getShape());
  SmallVector<OpFoldResult> ones(ot.getRank(), v.b.getIndexAttr(1));
  return v.setResult(0, tensor::InsertSliceOp::create(
                            v.b, v.loc, v.operand(1), v.operand(0), offsets,
                            indexAttrs(v.b, ut.getShape()), ones));
}

LogicalResult concatenate(OpView &v) {
  std::optional<int64_t> dim = v.i64Attr("dimension");
  if (!dim || *dim < 0 || *dim >= v.resultType().getRank())
    return v.fail("expects a 'dimension' within the result rank");
  SmallVector<Value> ins;
  for (unsigned i = 0; i < v.numOperands(); ++i)
    ins.push_back(v.operand(i));
  RankedTensorType rt = v.resultType();
  int64_t total = 0;
  for (unsigned i = 0; i < v.numOperands(); ++i) {
    RankedTensorType t = v.operandType(i);
    if (t.getRank() != rt.getRank() ||
        t.getElementType() != rt.getElementType())
      return v.fail("operands must have the result's rank and element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != *dim && t.getDimSize(d) != rt.getDimSize(d))
        return v.fail(
            "operand sizes differ from the result's outside the dimension");
    total += t.getDimSize(*dim);
  }
  if (total != rt.getDimSize(*dim))
    return v.fail("the operand sizes do not add up to the result's");
  return v.setResult(0, build::concat(v.b, v.loc, ins, *dim));
}

/// x with `interior[d]` copies of `value` between neighbouring elements
/// along each dim d: a filled tensor with x inserted at stride
/// interior[d] + 1.
Value dilate(OpView &v, Value x, Value value, ArrayRef<int64_t> interior) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> sizes, strides;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    int64_t n = t.getDimSize(d);
    sizes.push_back(v.b.getIndexAttr(n > 0 ? n + (n - 1) * interior[d] : 0));
    strides.push_back(v.b.getIndexAttr(n > 1 ? interior[d] + 1 : 1));
  }
  Value filled = build::filledTensor(v.b, v.loc, sizes, value);
  return tensor::InsertSliceOp::create(
      v.b, v.loc, x, filled,
      SmallVector<OpFoldResult>(t.getRank(), v.b.getIndexAttr(0)),
      indexAttrs(v.b, t.getShape()), strides);
}

LogicalResult pad(OpView &v) {
  RankedTensorType ot = v.operandType(0);
  int64_t rank = ot.getRank();
  auto low = v.i64Array("edge_padding_low"),
       high = v.i64Array("edge_padding_high"),
       interior = v.i64Array("interior_padding");
  if (!low || !high || (int64_t)low->size() != rank ||
      (int64_t)high->size() != rank)
    return v.fail(
        "expects edge_padding_low and edge_padding_high for every dim");
  if (interior && (int64_t)interior->size() != rank)
    return v.fail("expects interior_padding for every dim");
  if (interior && llvm::any_of(*interior, [](int64_t p) { return p < 0; }))
    return v.fail("interior padding must not be negative");
  if (v.operandType(1).getRank() != 0)
    return v.fail("the padding value must be a scalar");
  Value value =
      tensor::ExtractOp::create(v.b, v.loc, v.operand(1), ValueRange{});
  // Interior padding first, then the edges (negative edges cut the dilated
  // operand).
  Value x = v.operand(0);
  if (interior && llvm::any_of(*interior, [](int64_t p) { return p != 0; })) {
    if (!ot.hasStaticShape())
      return v.fail("interior padding needs a static operand shape");
    x = dilate(v, x, value, *interior);
  }
  SmallVector<int64_t> offsets(rank, 0),
      sizes(cast<RankedTensorType>(x.getType()).getShape()), lo(rank), hi(rank);
  bool cut = false;
  for (int64_t d = 0; d < rank; ++d) {
    if ((*low)[d] < 0)
      offsets[d] = -(*low)[d], sizes[d] += (*low)[d], cut = true;
    if ((*high)[d] < 0)
      sizes[d] += (*high)[d], cut = true;
    if (sizes[d] < 0)
      return v.fail("negative padding removes more than the operand");
    lo[d] = std::max<int64_t>((*low)[d], 0);
    hi[d] = std::max<int64_t>((*high)[d], 0);
  }
  if (cut)
    x = build::slice(v.b, v.loc, x, indexAttrs(v.b, offsets),
                     indexAttrs(v.b, sizes),
                     SmallVector<OpFoldResult>(rank, v.b.getIndexAttr(1)));
  return v.setResult(0, tensor::PadOp::create(v.b, v.loc, Type(), x,
                                              indexAttrs(v.b, lo),
                                              indexAttrs(v.b, hi), value));
}

LogicalResult reverse(OpView &v) {
  auto dims = v.i64Array("dimensions");
  if (!dims)
    return v.fail("expects 'dimensions'");
  RankedTensorType rt = v.resultType();
  // A gather-free reverse: read x[..., n - 1 - i, ...] with tensor.extract.
  Value x = v.operand(0);
  SmallVector<bool> flip(rt.getRank(), false);
  for (int64_t d : *dims) {
    if (d < 0 || d >= rt.getRank())
      return v.fail("dimensions out of range");
    flip[d] = true;
  }
  SmallVector<OpFoldResult> sizes = indexAttrs(v.b, rt.getShape());
  Value r = build::elementwise(
      v.b, v.loc, ValueRange{}, rt.getElementType(),
      [&](OpBuilder &b, Location loc, ValueRange) -> Value {
        SmallVector<Value> idx;
        for (int64_t d = 0; d < rt.getRank(); ++d) {
          Value i = linalg::IndexOp::create(b, loc, d);
          if (flip[d])
            i = arith::SubIOp::create(
                b, loc,
                arith::ConstantIndexOp::create(b, loc, rt.getDimSize(d) - 1),
                i);
          idx.push_back(i);
        }
        return tensor::ExtractOp::create(b, loc, x, idx);
      },
      ArrayRef<OpFoldResult>(sizes));
  return v.setResult(0, r);
}

/// General gather (embedding lookups, `x[idx]`): one generic over the
/// result whose body computes the operand index as StableHLO specifies
/// (clamped start + batching + offset) and reads it with tensor.extract.
LogicalResult gather(OpView &v) {
  auto dn = opAttrOfType<DictionaryAttr>(v.op, "dimension_numbers");
  if (!dn)
    return v.fail("expects a dimension_numbers dictionary");
  auto offsetDims = v.i64Array(dn, "offset_dims");
  auto collapsed = v.i64Array(dn, "collapsed_slice_dims");
  auto startMap = v.i64Array(dn, "start_index_map");
  auto operandBatching =
      v.i64Array(dn, "operand_batching_dims").value_or(SmallVector<int64_t>());
  auto indicesBatching = v.i64Array(dn, "start_indices_batching_dims")
                             .value_or(SmallVector<int64_t>());
  auto ivdAttr = dyn_cast_or_null<IntegerAttr>(dn.get("index_vector_dim"));
  auto sliceSizes = v.i64Array("slice_sizes");
  if (!offsetDims || !collapsed || !startMap || !ivdAttr || !sliceSizes)
    return v.fail(
        "dimension_numbers needs offset_dims, collapsed_slice_dims, "
        "start_index_map and index_vector_dim, and the op slice_sizes");
  RankedTensorType ot = v.operandType(0), it = v.operandType(1),
                   rt = v.resultType();
  int64_t ivd = ivdAttr.getValue().getSExtValue();
  int64_t rank = rt.getRank();
  if ((int64_t)sliceSizes->size() != ot.getRank() || ivd < 0 ||
      ivd > it.getRank() || !it.getElementType().isSignlessInteger())
    return v.fail("malformed gather dimensions");
  for (int64_t d : *startMap)
    if (d < 0 || d >= ot.getRank())
      return v.fail("malformed gather dimensions");
  SmallVector<bool> isOffset(rank, false);
  for (int64_t d : *offsetDims) {
    if (d < 0 || d >= rank)
      return v.fail("malformed gather dimensions");
    isOffset[d] = true;
  }
  // Operand dims that take an offset coordinate, in order.
  SmallVector<int64_t> offsetOperandDims;
  for (int64_t d = 0; d < ot.getRank(); ++d)
    if (!llvm::is_contained(*collapsed, d) &&
        !llvm::is_contained(operandBatching, d))
      offsetOperandDims.push_back(d);
  if (offsetOperandDims.size() != offsetDims->size() ||
      rank - (int64_t)offsetDims->size() !=
          it.getRank() - (ivd < it.getRank() ? 1 : 0) ||
      operandBatching.size() != indicesBatching.size())
    return v.fail("malformed gather dimensions");
  Value operand = v.operand(0), indices = v.operand(1);
  Value r = build::elementwise(
      v.b, v.loc, ValueRange{}, rt.getElementType(),
      [&](OpBuilder &b, Location loc, ValueRange) -> Value {
        SmallVector<Value> batchIndex, offsetIndex;
        for (int64_t d = 0; d < rank; ++d)
          (isOffset[d] ? offsetIndex : batchIndex)
              .push_back(linalg::IndexOp::create(b, loc, d));
        auto cst = [&](int64_t c) {
          return arith::ConstantIndexOp::create(b, loc, c);
        };
        SmallVector<Value> operandIndex(ot.getRank(), cst(0));
        // Start indices, read along index_vector_dim and clamped.
        for (auto [dStart, dOperand] : llvm::enumerate(*startMap)) {
          SmallVector<Value> at;
          for (int64_t d = 0, k = 0; d < it.getRank(); ++d)
            at.push_back(d == ivd ? cst(dStart).getResult() : batchIndex[k++]);
          Value s = tensor::ExtractOp::create(b, loc, indices, at);
          s = arith::IndexCastOp::create(b, loc, b.getIndexType(), s);
          s = arith::MaxSIOp::create(b, loc, s, cst(0));
          s = arith::MinSIOp::create(
              b, loc, s,
              cst(ot.getDimSize(dOperand) - (*sliceSizes)[dOperand]));
          operandIndex[dOperand] =
              arith::AddIOp::create(b, loc, operandIndex[dOperand], s);
        }
        // Batching dims follow the start indices' batch coordinates.
        for (auto [dOperand, dStart] :
             llvm::zip(operandBatching, indicesBatching)) {
          int64_t k = dStart - (dStart < ivd ? 0 : 1);
          operandIndex[dOperand] = arith::AddIOp::create(
              b, loc, operandIndex[dOperand], batchIndex[k]);
        }
        for (auto [dOperand, off] : llvm::zip(offsetOperandDims, offsetIndex))
          operandIndex[dOperand] =
              arith::AddIOp::create(b, loc, operandIndex[dOperand], off);
        return tensor::ExtractOp::create(b, loc, operand, operandIndex);
      },
      ArrayRef<OpFoldResult>(indexAttrs(v.b, rt.getShape())));
  return v.setResult(0, r);
}

} // namespace

void registerShapeOps(HandlerMap &m) {
  import::addHandlers(m, "stablehlo.",
                      {{"gather", gather},
                       {"broadcast_in_dim", broadcastInDim},
                       {"reshape", reshape},
                       {"transpose", transpose},
                       {"slice", slice},
                       {"dynamic_slice", dynamicSlice},
                       {"dynamic_update_slice", dynamicUpdateSlice},
                       {"concatenate", concatenate},
                       {"pad", pad},
                       {"reverse", reverse}});
}

} // namespace mixir::stablehlo_import
