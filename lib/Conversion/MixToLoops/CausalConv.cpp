//===- CausalConv.cpp - short depthwise causal convolution ----------------===//
//
// mix.causal_conv1d per batch row and tile of channels: the W taps and the
// bias stay in vector registers, and so do the last W - 1 inputs (a window
// shifted by one vector per token), so each input is read once. The taps and
// the state are transposed to [W, D] and [B, W - 1, D] first, so every read
// and write is a contiguous vector along D.
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

/// `x` with its last two dims swapped (linalg.transpose).
Value swapLastTwo(ImplicitLocOpBuilder &b, Value x, Value batch) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> perm, shape;
  int64_t rank = type.getRank();
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i < rank - 2 ? i : (i == rank - 2 ? rank - 1 : rank - 2));
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  SmallVector<Value> dyn;
  if (ShapedType::isDynamic(shape[0]))
    dyn.push_back(batch);
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

} // namespace

LogicalResult lowerCausalConv1d(RewriterBase &rewriter,
                                mix::CausalConv1dOp op) {
  Value x = op.getX(), w = op.getW(), bias = op.getBias(),
        state = op.getConvState();
  const int64_t D = dimSize(x, 2), W = dimSize(w, 1);
  bool useSilu = op.getActivation() == mix::ConvActivation::silu;
  auto yType = op.getY().getType();
  auto sType = op.getFinalConvState().getType();
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        Value zero = indexConst(b, 0);
        Value B = sizes.lookup("B");
        Value taps = swapLastTwo(b, w, B); // [W, D]
        Value stateT = state ? swapLastTwo(b, state, B) : Value();
        Value y0 = emptyLike(b, yType, {"B", "T", "D"}, sizes);
        Value s0 = swapLastTwo(b, emptyLike(b, sType, {"B", "D", "W1"}, sizes),
                               B); // [B, W - 1, D]
        auto r = forLoop(
            b, zero, B, {y0, s0},
            [&](ImplicitLocOpBuilder &b, Value bi, ValueRange a) {
              return forEachTile(
                  b, D, kConvTileWidth, a,
                  [&](ImplicitLocOpBuilder &b, Value d, int64_t n,
                      ValueRange a) {
                    SmallVector<Value> tap, window;
                    for (int64_t i = 0; i < W; ++i)
                      tap.push_back(
                          readF32Vector(b, taps, {indexConst(b, i), d}, n));
                    Value bv = bias ? readF32Vector(b, bias, {d}, n)
                                    : f32Splat(b, 0.0f, n);
                    for (int64_t i = 0; i + 1 < W; ++i)
                      window.push_back(
                          stateT ? readF32Vector(b, stateT,
                                                 {bi, indexConst(b, i), d}, n)
                                 : f32Splat(b, 0.0f, n));
                    SmallVector<Value> carried = {a[0]};
                    carried.append(window);
                    auto steps = forLoop(
                        b, zero, sizes.lookup("T"), carried,
                        [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
                          Value xt = readF32Vector(b, x, {bi, t, d}, n);
                          Value acc = bv;
                          for (int64_t i = 0; i + 1 < W; ++i)
                            acc =
                                vector::FMAOp::create(b, tap[i], a[1 + i], acc);
                          acc = vector::FMAOp::create(b, tap[W - 1], xt, acc);
                          if (useSilu)
                            acc = silu(b, acc);
                          SmallVector<Value> next = {
                              writeVector(b, acc, a[0], {bi, t, d})};
                          for (int64_t i = 1; i + 1 < W; ++i)
                            next.push_back(a[1 + i]);
                          next.push_back(xt);
                          return next;
                        });
                    Value s = a[1];
                    for (int64_t i = 0; i + 1 < W; ++i)
                      s = writeVector(b, steps[1 + i], s,
                                      {bi, indexConst(b, i), d});
                    return SmallVector<Value>{steps[0], s};
                  });
            });
        return SmallVector<Value>{r[0], swapLastTwo(b, r[1], B)};
      });
}

} // namespace mixir::lowering
