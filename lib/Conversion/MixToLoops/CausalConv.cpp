//===- CausalConv.cpp - short depthwise causal convolution ----------------===//
//
// mix.causal_conv1d per sequence (a batch row, or one of the packed
// sequences of `cu_seqlens`) in parallel and per tile of channels: the W taps
// and the bias stay in vector registers, and so do the last W - 1 inputs (a
// window shifted by one vector per token), so each input is read once. The
// taps and the initial states are transposed to [W, D] and [S, W - 1, D]
// first, so every read and write is a contiguous vector along D. A state
// pool is gathered into one state per sequence first (zeros for padding)
// and the final states are scattered back into a copy of it.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::lowering {
namespace {

/// Widest vector of channels per tile.
constexpr int64_t kConvTileWidth = 32;

/// `x` with its last two dims swapped (linalg.transpose); a dynamic dim 0
/// is read from `x` itself.
Value swapLastTwo(ImplicitLocOpBuilder &b, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> perm, shape;
  int64_t rank = type.getRank();
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i < rank - 2 ? i : (i == rank - 2 ? rank - 1 : rank - 2));
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  SmallVector<Value> dyn;
  if (ShapedType::isDynamic(shape[0]))
    dyn.push_back(tensor::DimOp::create(b, x, 0));
  Value init = tensor::EmptyOp::create(b, shape, type.getElementType(), dyn);
  return linalg::TransposeOp::create(b, x, init, perm).getResult()[0];
}

/// silu(y) = y / (1 + exp(-y)).
Value silu(ImplicitLocOpBuilder &b, Value y) {
  int64_t n = cast<VectorType>(y.getType()).getNumElements();
  Value e = math::ExpOp::create(b, arith::NegFOp::create(b, y));
  Value den = arith::AddFOp::create(b, f32Splat(b, 1.0f, n), e);
  return arith::DivFOp::create(b, y, den);
}

/// What one sequence's tiles need: the op's operands and, per sequence,
/// its initial states [S, W - 1, D] (transposed; null for zeros).
struct ConvOperands {
  Value x, taps, bias, initT;
  int64_t W = 0;
  bool silu = false;
};

/// One channel tile [d, d + n) of sequence `seq` (row `n` of the states):
/// the outputs written into `rows` [length, D] and the last W - 1 inputs
/// into `last` [W - 1, D]; returns both.
SmallVector<Value> convTile(ImplicitLocOpBuilder &b, const ConvOperands &c,
                            const SequenceSpan &span, Value seq, Value d,
                            int64_t n, Value rows, Value last) {
  const int64_t W = c.W;
  SmallVector<Value> tap, window;
  for (int64_t i = 0; i < W; ++i)
    tap.push_back(readF32Vector(b, c.taps, {indexConst(b, i), d}, n));
  Value bv = c.bias ? readF32Vector(b, c.bias, {d}, n) : f32Splat(b, 0.0f, n);
  for (int64_t i = 0; i + 1 < W; ++i)
    window.push_back(
        c.initT ? readF32Vector(b, c.initT, {seq, indexConst(b, i), d}, n)
                : f32Splat(b, 0.0f, n));
  SmallVector<Value> carried = {rows};
  carried.append(window);
  auto steps =
      forLoop(b, indexConst(b, 0), span.length, carried,
              [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
                Value xt =
                    readF32Vector(b, c.x, {span.batch, span.token(b, i), d}, n);
                Value acc = bv;
                for (int64_t j = 0; j + 1 < W; ++j)
                  acc = vector::FMAOp::create(b, tap[j], a[1 + j], acc);
                acc = vector::FMAOp::create(b, tap[W - 1], xt, acc);
                if (c.silu)
                  acc = silu(b, acc);
                SmallVector<Value> next = {writeVector(b, acc, a[0], {i, d})};
                for (int64_t j = 1; j + 1 < W; ++j)
                  next.push_back(a[1 + j]);
                next.push_back(xt);
                return next;
              });
  for (int64_t i = 0; i + 1 < W; ++i)
    last = writeVector(b, steps[1 + i], last, {indexConst(b, i), d});
  return {steps[0], last};
}

/// The outputs `y` (from `y0`) and the final states [S, W - 1, D] (from
/// `s0`) of every sequence, one scf.forall iteration per sequence. With
/// `indices` a padding sequence runs no token (its rows of `y0` stay).
SmallVector<Value> convSequences(ImplicitLocOpBuilder &b, const ConvOperands &c,
                                 Value cu, Value indices,
                                 const SymbolSizes &sizes, Value y0, Value s0) {
  const int64_t D = dimSize(c.x, 2), W1 = c.W - 1;
  Type elem = cast<ShapedType>(y0.getType()).getElementType();
  auto rowsType = RankedTensorType::get({ShapedType::kDynamic, D}, elem);
  return forallSlices(
      b, {sequenceCount(sizes, cu)}, {y0, s0},
      [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange outs) {
        Value seq = iv[0];
        SequenceSpan span = sequenceSpan(b, cu, seq, sizes);
        if (indices)
          span.length =
              arith::SelectOp::create(b, poolSlot(b, indices, seq).padding,
                                      indexConst(b, 0), span.length);
        OpFoldResult one = b.getIndexAttr(1), at0 = b.getIndexAttr(0);
        SmallVector<OpFoldResult> offsets = {span.batch, span.start, at0},
                                  rowSizes = {one, span.length,
                                              b.getIndexAttr(D)};
        Value rows = tensor::ExtractSliceOp::create(
            b, rowsType, outs[0], offsets, rowSizes,
            SmallVector<OpFoldResult>(3, one));
        Value last = tensor::EmptyOp::create(b, ArrayRef<int64_t>{W1, D}, elem);
        auto r = forEachTile(
            b, D, kConvTileWidth, {rows, last},
            [&](ImplicitLocOpBuilder &b, Value d, int64_t n, ValueRange a) {
              return convTile(b, c, span, seq, d, n, a[0], a[1]);
            });
        return SmallVector<ParallelSlice>{
            {r[0], offsets, rowSizes},
            {r[1],
             {seq, at0, at0},
             {one, b.getIndexAttr(W1), b.getIndexAttr(D)}}};
      });
}

} // namespace

LogicalResult lowerCausalConv1d(RewriterBase &rewriter,
                                mix::CausalConv1dOp op) {
  Value cu = op.getCuSeqlens(), indices = op.getStateIndices(),
        state = op.getConvState();
  ConvOperands c{op.getX(),
                 Value(),
                 op.getBias(),
                 Value(),
                 dimSize(op.getW(), 1),
                 op.getActivation() == mix::ConvActivation::silu};
  auto yType = op.getY().getType();
  auto sType = op.getFinalConvState().getType();
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        Value count = sequenceCount(sizes, cu);
        c.taps = swapLastTwo(b, op.getW()); // [W, D]
        Value init = indices ? gatherFromPool(b, state, indices, count) : state;
        c.initT = init ? swapLastTwo(b, init) : Value();
        Value y0 = emptyLike(b, yType, {"B", "T", "D"}, sizes);
        if (indices) // padding rows are never written: zeros
          y0 = linalg::FillOp::create(
                   b,
                   ValueRange{arith::ConstantOp::create(
                       b, b.getFloatAttr(yType.getElementType(), 0.0))},
                   ValueRange{y0})
                   .getResult(0);
        // [S, W - 1, D], S static only when the result's is.
        int64_t rows = indices ? ShapedType::kDynamic : sType.getDimSize(0);
        SmallVector<Value> dynamic;
        if (ShapedType::isDynamic(rows))
          dynamic.push_back(count);
        Value s0 = tensor::EmptyOp::create(
            b, ArrayRef<int64_t>{rows, c.W - 1, dimSize(c.x, 2)},
            yType.getElementType(), dynamic);
        auto r = convSequences(b, c, cu, indices, sizes, y0, s0);
        Value states = swapLastTwo(b, r[1]); // [S, D, W - 1]
        if (indices)
          states =
              scatterToPool(b, sType, state, indices, states, count, sizes);
        return SmallVector<Value>{r[0], states};
      });
}

} // namespace mixir::lowering
