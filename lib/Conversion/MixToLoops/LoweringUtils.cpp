//===- LoweringUtils.cpp - builders shared by the mix lowerings -----------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::lowering {

Value indexConst(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

int64_t dimSize(Value v, unsigned i) {
  return cast<ShapedType>(v.getType()).getDimSize(i);
}

Value f32Const(ImplicitLocOpBuilder &b, float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

Value f32Splat(ImplicitLocOpBuilder &b, float v, int64_t len) {
  auto type = VectorType::get({len}, b.getF32Type());
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(type, b.getF32FloatAttr(v)));
}

Value splat(ImplicitLocOpBuilder &b, Value scalar, int64_t len) {
  return vector::BroadcastOp::create(b, VectorType::get({len}, b.getF32Type()),
                                     scalar);
}

Value toF32(ImplicitLocOpBuilder &b, Value v) {
  Type f32 = b.getF32Type();
  Type target = f32;
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    target = vt.clone(f32);
  if (getElementTypeOrSelf(v.getType()).isF32())
    return v;
  return arith::ExtFOp::create(b, target, v);
}

Value readF32(ImplicitLocOpBuilder &b, Value tensor, ValueRange indices) {
  return toF32(b, tensor::ExtractOp::create(b, tensor, indices));
}

Value readF32Vector(ImplicitLocOpBuilder &b, Value tensor, ValueRange indices,
                    int64_t len) {
  Type elem = cast<ShapedType>(tensor.getType()).getElementType();
  auto vt = VectorType::get({len}, elem);
  Value pad = arith::ConstantOp::create(b, b.getFloatAttr(elem, 0.0));
  Value v = vector::TransferReadOp::create(b, vt, tensor, indices, pad,
                                           ArrayRef<bool>{true});
  return toF32(b, v);
}

Value writeVector(ImplicitLocOpBuilder &b, Value vec, Value tensor,
                  ValueRange indices) {
  Type elem = cast<ShapedType>(tensor.getType()).getElementType();
  auto vt = cast<VectorType>(vec.getType());
  if (!elem.isF32())
    vec = arith::TruncFOp::create(b, vt.clone(elem), vec);
  return vector::TransferWriteOp::create(b, vec, tensor, indices,
                                         ArrayRef<bool>{true})
      .getResult();
}

Value storeScalar(ImplicitLocOpBuilder &b, Value x, Value tensor,
                  ValueRange indices) {
  Type elem = cast<ShapedType>(tensor.getType()).getElementType();
  if (!elem.isF32())
    x = arith::TruncFOp::create(b, elem, x);
  return tensor::InsertOp::create(b, x, tensor, indices);
}

Value reduceAdd(ImplicitLocOpBuilder &b, Value vec) {
  return vector::ReductionOp::create(b, vector::CombiningKind::ADD, vec);
}

Value softcapped(ImplicitLocOpBuilder &b, Value x, float cap) {
  Value t =
      math::TanhOp::create(b, arith::DivFOp::create(b, x, f32Const(b, cap)));
  return arith::MulFOp::create(b, t, f32Const(b, cap));
}

Value inverseNorm(OpBuilder &b, Location loc, Value squares) {
  constexpr float kL2NormEps = 1e-6f;
  Value eps = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(kL2NormEps));
  return math::RsqrtOp::create(b, loc,
                               arith::AddFOp::create(b, loc, squares, eps));
}

Value inverseL2Norm(ImplicitLocOpBuilder &b, Value x) {
  return inverseNorm(b, b.getLoc(),
                     reduceAdd(b, arith::MulFOp::create(b, x, x)));
}

SmallVector<Value> forLoop(ImplicitLocOpBuilder &b, Value lb, Value ub,
                           ValueRange iterArgs, const LoopBody &body) {
  Value one = indexConst(b, 1);
  auto loop = scf::ForOp::create(
      b, lb, ub, one, iterArgs,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        scf::YieldOp::create(nb, body(nb, iv, args));
      });
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> forEachTile(ImplicitLocOpBuilder &b, int64_t size,
                               int64_t width, ValueRange iterArgs,
                               const TileBody &body) {
  SmallVector<Value> carried(iterArgs);
  int64_t fullTiles = size / width, rest = size % width;
  if (fullTiles == 1) {
    carried = body(b, indexConst(b, 0), width, carried);
  } else if (fullTiles > 1) {
    carried = forLoop(b, indexConst(b, 0), indexConst(b, fullTiles), carried,
                      [&](ImplicitLocOpBuilder &nb, Value tile, ValueRange a) {
                        Value offset = arith::MulIOp::create(
                            nb, tile, indexConst(nb, width));
                        return body(nb, offset, width, a);
                      });
  }
  if (rest)
    carried = body(b, indexConst(b, fullTiles * width), rest, carried);
  return carried;
}

Value emptyLike(ImplicitLocOpBuilder &b, RankedTensorType type,
                ArrayRef<StringRef> dims, const SymbolSizes &sizes) {
  SmallVector<Value> dynamic;
  for (auto [i, sym] : llvm::enumerate(dims))
    if (type.isDynamicDim(i))
      dynamic.push_back(sizes.lookup(sym));
  return tensor::EmptyOp::create(b, type.getShape(), type.getElementType(),
                                 dynamic);
}

namespace {
struct StateSliceGeometry {
  RankedTensorType type;
  SmallVector<OpFoldResult> offsets, sizes, strides;
};

StateSliceGeometry stateSliceGeometry(ImplicitLocOpBuilder &b, Value states,
                                      Value bi, Value s) {
  auto shape = cast<ShapedType>(states.getType()).getShape();
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  return {RankedTensorType::get({shape[2], shape[3]}, b.getF32Type()),
          {bi, s, zero, zero},
          {one, one, b.getIndexAttr(shape[2]), b.getIndexAttr(shape[3])},
          {one, one, one, one}};
}
} // namespace

Value beginStateSlice(ImplicitLocOpBuilder &b, Value states, Value init,
                      Value bi, Value s) {
  StateSliceGeometry g = stateSliceGeometry(b, states, bi, s);
  Value slice = tensor::ExtractSliceOp::create(b, g.type, states, g.offsets,
                                               g.sizes, g.strides);
  if (!init)
    return linalg::FillOp::create(b, ValueRange{f32Const(b, 0.0f)},
                                  ValueRange{slice})
        .getResult(0);
  Value from = tensor::ExtractSliceOp::create(b, g.type, init, g.offsets,
                                              g.sizes, g.strides);
  return linalg::CopyOp::create(b, ValueRange{from}, ValueRange{slice})
      .getResult(0);
}

Value endStateSlice(ImplicitLocOpBuilder &b, Value slice, Value states,
                    Value bi, Value s) {
  StateSliceGeometry g = stateSliceGeometry(b, states, bi, s);
  return tensor::InsertSliceOp::create(b, slice, states, g.offsets, g.sizes,
                                       g.strides);
}

SmallVector<Value>
forallSlices(ImplicitLocOpBuilder &b, ArrayRef<OpFoldResult> bounds,
             ValueRange outputs,
             const std::function<SmallVector<ParallelSlice>(
                 ImplicitLocOpBuilder &, ValueRange, ValueRange)> &body) {
  auto forall = scf::ForallOp::create(
      b, bounds, outputs, std::nullopt,
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        ValueRange ivs = args.take_front(bounds.size());
        ValueRange outs = args.drop_front(bounds.size());
        SmallVector<ParallelSlice> slices = body(nb, ivs, outs);
        auto term = scf::InParallelOp::create(nb);
        ImplicitLocOpBuilder tb =
            ImplicitLocOpBuilder::atBlockBegin(loc, &term.getRegion().front());
        for (auto [slice, out] : llvm::zip_equal(slices, outs)) {
          SmallVector<OpFoldResult> unit(slice.offsets.size(),
                                         tb.getIndexAttr(1));
          tensor::ParallelInsertSliceOp::create(
              tb, slice.value, out, slice.offsets, slice.sizes, unit);
        }
      });
  return SmallVector<Value>(forall.getResults());
}

Value SequenceSpan::end(ImplicitLocOpBuilder &b) const {
  return b.createOrFold<arith::AddIOp>(start, length);
}

Value SequenceSpan::token(ImplicitLocOpBuilder &b, Value i) const {
  return b.createOrFold<arith::AddIOp>(start, i);
}

SequenceSpan sequenceSpan(ImplicitLocOpBuilder &b, Value cuSeqlens, Value i,
                          const SymbolSizes &sizes) {
  if (!cuSeqlens)
    return {i, indexConst(b, 0), sizes.lookup("T")};
  Value start = offsetAt(b, cuSeqlens, i);
  Value end =
      offsetAt(b, cuSeqlens, arith::AddIOp::create(b, i, indexConst(b, 1)));
  return {indexConst(b, 0), start, arith::SubIOp::create(b, end, start)};
}

Value sequenceCount(const SymbolSizes &sizes, Value cuSeqlens) {
  return sizes.lookup(cuSeqlens ? "N" : "B");
}

/// A result of the op `r` describes, of `type` with dims named `dims`:
/// uninitialised, or zero with a state pool (the rows of padding sequences
/// are never written).
static Value emptyRows(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                       RankedTensorType type, ArrayRef<StringRef> dims,
                       const SymbolSizes &sizes) {
  Value rows = emptyLike(b, type, dims, sizes);
  if (!r.stateIndices)
    return rows;
  Value zero =
      arith::ConstantOp::create(b, b.getFloatAttr(type.getElementType(), 0.0));
  return linalg::FillOp::create(b, ValueRange{zero}, ValueRange{rows})
      .getResult(0);
}

SmallVector<Value> forEachStateHead(ImplicitLocOpBuilder &b,
                                    const SymbolSizes &sizes,
                                    const RecurrenceOperands &r, int64_t group,
                                    Value o, Value states,
                                    const StateHeadBody &body) {
  auto oType = cast<RankedTensorType>(o.getType());
  int64_t V = oType.getDimSize(3);
  auto rowsType = RankedTensorType::get({ShapedType::kDynamic, group, V},
                                        oType.getElementType());
  Value count = sequenceCount(sizes, r.cuSeqlens);
  SmallVector<OpFoldResult> bounds = {count, b.getIndexAttr(dimSize(r.v, 2))};
  SmallVector<Value> outputs = {o, states};
  if (r.allStates)
    outputs.push_back(
        emptyRows(b, r, r.stateType, {"B", "T", "Hv", "K", "V"}, sizes));
  SmallVector<Value> results = forallSlices(
      b, bounds, outputs,
      [&](ImplicitLocOpBuilder &nb, ValueRange ivs, ValueRange outs) {
        Value n = ivs[0], s = ivs[1];
        SequenceSpan span = sequenceSpan(nb, r.cuSeqlens, n, sizes);
        std::optional<PoolSlot> slot;
        if (r.stateIndices) {
          // Padding runs no token: its output rows keep their zeros.
          slot = poolSlot(nb, r.stateIndices, n);
          span.length = arith::SelectOp::create(nb, slot->padding,
                                                indexConst(nb, 0), span.length);
        }
        OpFoldResult one = nb.getIndexAttr(1), zero = nb.getIndexAttr(0);
        Value firstHead = arith::MulIOp::create(nb, s, indexConst(nb, group));
        SmallVector<OpFoldResult> rowOffsets = {
            span.batch, getAsOpFoldResult(span.start), firstHead, zero};
        SmallVector<OpFoldResult> rowSizes = {
            one, span.length, nb.getIndexAttr(group), nb.getIndexAttr(V)};
        SmallVector<OpFoldResult> unit(4, one);
        StateHeadTiles tiles;
        tiles.rows = tensor::ExtractSliceOp::create(nb, rowsType, outs[0],
                                                    rowOffsets, rowSizes, unit);
        tiles.state =
            slot ? beginPooledStateSlice(nb, outs[1], r.init, *slot, n, s)
                 : beginStateSlice(nb, outs[1], r.init, n, s);
        // With all_states: states[batch, start : start + length, s].
        SmallVector<OpFoldResult> stateRowOffsets, stateRowSizes;
        if (r.allStates) {
          auto shape = r.stateType.getShape();
          stateRowOffsets = {span.batch, getAsOpFoldResult(span.start), s, zero,
                             zero};
          stateRowSizes = {one, span.length, one, nb.getIndexAttr(shape[3]),
                           nb.getIndexAttr(shape[4])};
          auto type = RankedTensorType::get(
              {ShapedType::kDynamic, shape[3], shape[4]}, nb.getF32Type());
          tiles.stateRows = tensor::ExtractSliceOp::create(
              nb, type, outs[2], stateRowOffsets, stateRowSizes,
              SmallVector<OpFoldResult>(5, one));
        }
        StateHeadTiles done = body(nb, span, s, tiles);
        StateSliceGeometry g = stateSliceGeometry(nb, outs[1], n, s);
        SmallVector<ParallelSlice> slices = {{done.rows, rowOffsets, rowSizes},
                                             {done.state, g.offsets, g.sizes}};
        if (r.allStates)
          slices.push_back({done.stateRows, stateRowOffsets, stateRowSizes});
        return slices;
      });
  if (r.allStates)
    return {results[0], results[2]};
  if (r.stateIndices)
    results[1] = scatterToPool(b, r.stateType, r.init, r.stateIndices,
                               results[1], count, sizes);
  return results;
}

Value emptyOutputs(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                   const SymbolSizes &sizes) {
  return emptyRows(b, r, r.oType, {"B", "T", "Ho", "V"}, sizes);
}

Value emptyFinalStates(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                       const SymbolSizes &sizes) {
  if (!r.stateIndices && !r.allStates)
    return emptyLike(b, r.stateType, {r.cuSeqlens ? "N" : "B", "Hv", "K", "V"},
                     sizes);
  // A pool's result is [P, ...] and all_states' [B, T, ...]: one working
  // state per sequence either way, [Hv, K, V] the result's last dims.
  SmallVector<int64_t> shape = {ShapedType::kDynamic};
  llvm::append_range(shape, r.stateType.getShape().take_back(3));
  return tensor::EmptyOp::create(b, shape, b.getF32Type(),
                                 ValueRange{sequenceCount(sizes, r.cuSeqlens)});
}

} // namespace mixir::lowering
