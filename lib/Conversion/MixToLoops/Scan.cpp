//===- Scan.cpp - element-wise gated linear recurrence ---------------------===//
//
// h_t = exp(g_t) h_{t-1} + x_t, vectorised over D in bounded tiles; each tile's
// state stays in registers for the whole sequence.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::lowering {

/// Widest vector the scan keeps per tile (elements).
constexpr int64_t kScanTileWidth = 64;

LogicalResult lowerScan(RewriterBase &rewriter, mix::ScanOp op) {
  Value x = op.getX(), g = op.getG(), init = op.getInitialState();
  const int64_t D = cast<ShapedType>(x.getType()).getDimSize(2);
  auto oType = op.getO().getType();
  auto sType = op.getFinalState().getType();
  return lowerWithShapeChecks(rewriter, op, [&](ImplicitLocOpBuilder &b,
                                                const SymbolSizes &sizes) {
    Value zero = indexConst(b, 0);
    Value o0 = emptyLike(b, oType, {"B", "T", "D"}, sizes);
    Value s0 = emptyLike(b, sType, {"B", "D"}, sizes);
    return forLoop(b, zero, sizes.lookup("B"), {o0, s0}, [&](ImplicitLocOpBuilder &b, Value bi, ValueRange a) {
      return forEachTile(b, D, kScanTileWidth, a, [&](ImplicitLocOpBuilder &b, Value d, int64_t w, ValueRange a) {
        Value h0 = init ? readF32Vector(b, init, {bi, d}, w) : f32Splat(b, 0.0f, w);
        auto r = forLoop(b, zero, sizes.lookup("T"), {a[0], h0}, [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
          Value decay = math::ExpOp::create(b, readF32Vector(b, g, {bi, t, d}, w));
          Value h = vector::FMAOp::create(b, decay, a[1],
                                          readF32Vector(b, x, {bi, t, d}, w));
          return SmallVector<Value>{writeVector(b, h, a[0], {bi, t, d}), h};
        });
        return SmallVector<Value>{r[0], writeVector(b, r[1], a[1], {bi, d})};
      });
    });
  });
}

} // namespace mixir::lowering
