//===- Scan.cpp - element-wise gated linear recurrence --------------------===//
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

namespace {
/// The scan of packed sequences (`cu_seqlens`): one scf.forall iteration per
/// sequence, each a sequential scan of its tokens from its own initial state
/// (row n of `init`) into its own final state (row n).
SmallVector<Value> buildPackedScan(ImplicitLocOpBuilder &b, mix::ScanOp op,
                                   const SymbolSizes &sizes) {
  Value x = op.getX(), g = op.getG(), init = op.getInitialState(),
        cu = op.getCuSeqlens();
  const int64_t D = cast<ShapedType>(x.getType()).getDimSize(2);
  auto oType = op.getO().getType();
  Value o0 = emptyLike(b, oType, {"B", "T", "D"}, sizes);
  Value s0 = emptyLike(b, op.getFinalState().getType(), {"N", "D"}, sizes);
  auto rowsType =
      RankedTensorType::get({ShapedType::kDynamic, D}, oType.getElementType());
  return forallSlices(
      b, {sizes.lookup("N")}, {o0, s0},
      [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange outs) {
        Value n = iv[0], zero = indexConst(b, 0);
        SequenceSpan span = sequenceSpan(b, cu, n, sizes);
        OpFoldResult one = b.getIndexAttr(1), at0 = b.getIndexAttr(0),
                     allD = b.getIndexAttr(D);
        SmallVector<OpFoldResult> offsets = {span.batch, span.start, at0},
                                  sizesV = {one, span.length, allD};
        Value rows = tensor::ExtractSliceOp::create(
            b, rowsType, outs[0], offsets, sizesV,
            SmallVector<OpFoldResult>(3, one));
        Value last =
            tensor::EmptyOp::create(b, ArrayRef<int64_t>{D}, b.getF32Type());
        auto r = forEachTile(
            b, D, kScanTileWidth, {rows, last},
            [&](ImplicitLocOpBuilder &b, Value d, int64_t w, ValueRange a) {
              Value h0 = init ? readF32Vector(b, init, {n, d}, w)
                              : f32Splat(b, 0.0f, w);
              auto s = forLoop(
                  b, zero, span.length, {a[0], h0},
                  [&](ImplicitLocOpBuilder &b, Value i, ValueRange acc) {
                    Value t = span.token(b, i);
                    Value decay = math::ExpOp::create(
                        b, readF32Vector(b, g, {span.batch, t, d}, w));
                    Value h = vector::FMAOp::create(
                        b, decay, acc[1],
                        readF32Vector(b, x, {span.batch, t, d}, w));
                    return SmallVector<Value>{writeVector(b, h, acc[0], {i, d}),
                                              h};
                  });
              return SmallVector<Value>{s[0], writeVector(b, s[1], a[1], {d})};
            });
        return SmallVector<ParallelSlice>{{r[0], offsets, sizesV},
                                          {r[1], {n, at0}, {one, allD}}};
      });
}

/// The recurrent scan as GPU blocks take it: one scf.forall iteration per
/// (batch row, group of kScanTileWidth channels), or per batch row when the
/// groups do not divide D; each runs its tokens in order with its group's
/// state as one row, which convert-chunked-to-gpu cuts across the block's
/// threads. One kernel, no intermediate buffers.
SmallVector<Value> buildScanOnBlocks(ImplicitLocOpBuilder &b, mix::ScanOp op,
                                     const SymbolSizes &sizes) {
  Value x = op.getX(), g = op.getG(), init = op.getInitialState();
  const int64_t D = cast<ShapedType>(x.getType()).getDimSize(2);
  const int64_t W = D % kScanTileWidth == 0 ? kScanTileWidth : D;
  auto oType = op.getO().getType();
  Value o0 = emptyLike(b, oType, {"B", "T", "D"}, sizes);
  Value s0 = emptyLike(b, op.getFinalState().getType(), {"B", "D"}, sizes);
  Value T = sizes.lookup("T"), zero = indexConst(b, 0);
  return forallSlices(
      b, {sizes.lookup("B"), b.getIndexAttr(D / W)}, {o0, s0},
      [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange outs) {
        Value bi = iv[0];
        Value d = arith::MulIOp::create(b, iv[1], indexConst(b, W));
        OpFoldResult one = b.getIndexAttr(1), at0 = b.getIndexAttr(0);
        SmallVector<OpFoldResult> offsets = {bi, at0, d},
                                  sizesV = {one, T, b.getIndexAttr(W)};
        // Every row is read and written through its group's slice, so that
        // each access starts at column 0 of a W-wide row (what lets the GPU
        // mapping cut the rows across threads).
        auto slice = [&](Value v) -> Value {
          auto t = cast<RankedTensorType>(v.getType());
          return tensor::ExtractSliceOp::create(
              b,
              RankedTensorType::get({ShapedType::kDynamic, W},
                                    t.getElementType()),
              v, offsets, sizesV, SmallVector<OpFoldResult>(3, one));
        };
        Value rows = slice(outs[0]), xs = slice(x), gs = slice(g);
        SmallVector<OpFoldResult> stateAt = {bi, d},
                                  stateSizes = {one, b.getIndexAttr(W)};
        auto stateRow = [&](Value v) -> Value {
          return tensor::ExtractSliceOp::create(
              b,
              RankedTensorType::get(
                  {W}, cast<RankedTensorType>(v.getType()).getElementType()),
              v, stateAt, stateSizes, SmallVector<OpFoldResult>(2, one));
        };
        Value h0 = init ? readF32Vector(b, stateRow(init), {zero}, W)
                        : f32Splat(b, 0.0f, W);
        auto r = forLoop(
            b, zero, T, {rows, h0},
            [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
              Value decay =
                  math::ExpOp::create(b, readF32Vector(b, gs, {t, zero}, W));
              Value h = vector::FMAOp::create(
                  b, decay, a[1], readF32Vector(b, xs, {t, zero}, W));
              return SmallVector<Value>{writeVector(b, h, a[0], {t, zero}), h};
            });
        return SmallVector<ParallelSlice>{
            {r[0], offsets, sizesV},
            {writeVector(b, r[1], stateRow(outs[1]), {zero}), stateAt,
             stateSizes}};
      });
}
} // namespace

LogicalResult lowerScan(RewriterBase &rewriter, mix::ScanOp op,
                        bool gpuBlocks) {
  Value x = op.getX(), g = op.getG(), init = op.getInitialState();
  const int64_t D = cast<ShapedType>(x.getType()).getDimSize(2);
  auto oType = op.getO().getType();
  auto sType = op.getFinalState().getType();
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        if (op.getCuSeqlens())
          return buildPackedScan(b, op, sizes);
        if (gpuBlocks)
          return buildScanOnBlocks(b, op, sizes);
        Value zero = indexConst(b, 0);
        Value o0 = emptyLike(b, oType, {"B", "T", "D"}, sizes);
        Value s0 = emptyLike(b, sType, {"B", "D"}, sizes);
        return forLoop(
            b, zero, sizes.lookup("B"), {o0, s0},
            [&](ImplicitLocOpBuilder &b, Value bi, ValueRange a) {
              return forEachTile(
                  b, D, kScanTileWidth, a,
                  [&](ImplicitLocOpBuilder &b, Value d, int64_t w,
                      ValueRange a) {
                    Value h0 = init ? readF32Vector(b, init, {bi, d}, w)
                                    : f32Splat(b, 0.0f, w);
                    auto r = forLoop(
                        b, zero, sizes.lookup("T"), {a[0], h0},
                        [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
                          Value decay = math::ExpOp::create(
                              b, readF32Vector(b, g, {bi, t, d}, w));
                          Value h = vector::FMAOp::create(
                              b, decay, a[1],
                              readF32Vector(b, x, {bi, t, d}, w));
                          return SmallVector<Value>{
                              writeVector(b, h, a[0], {bi, t, d}), h};
                        });
                    return SmallVector<Value>{
                        r[0], writeVector(b, r[1], a[1], {bi, d})};
                  });
            });
      });
}

LogicalResult lowerChunkedScan(RewriterBase &rewriter, mix::ScanOp op,
                               int64_t C) {
  // Packed sequences are scanned one sequence per parallel iteration.
  if (op.getCuSeqlens())
    return lowerScan(rewriter, op);
  Value x = op.getX(), g = op.getG(), init = op.getInitialState();
  const int64_t D = cast<ShapedType>(x.getType()).getDimSize(2);
  auto oType = op.getO().getType();
  auto sType = op.getFinalState().getType();
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        Value zero = indexConst(b, 0);
        Value B = sizes.lookup("B"), T = sizes.lookup("T");
        Value N = arith::CeilDivUIOp::create(b, T, indexConst(b, C));
        OpFoldResult one = b.getIndexAttr(1), allD = b.getIndexAttr(D),
                     at0 = b.getIndexAttr(0);
        Type f32 = b.getF32Type();
        auto perChunk = [&]() -> Value {
          return tensor::EmptyOp::create(
              b,
              ArrayRef<int64_t>{ShapedType::kDynamic, ShapedType::kDynamic, D},
              f32, ValueRange{B, N});
        };
        auto chunkStart = [&](ImplicitLocOpBuilder &b, Value n) -> Value {
          return arith::MulIOp::create(b, n, indexConst(b, C));
        };
        auto validIn = [&](ImplicitLocOpBuilder &b, Value t0) -> Value {
          return arith::MinUIOp::create(b, indexConst(b, C),
                                        arith::SubIOp::create(b, T, t0));
        };
        auto step = [&](ImplicitLocOpBuilder &b, Value h, Value bi, Value t,
                        Value d, int64_t w) -> std::pair<Value, Value> {
          Value gt = readF32Vector(b, g, {bi, t, d}, w);
          Value next =
              vector::FMAOp::create(b, math::ExpOp::create(b, gt), h,
                                    readF32Vector(b, x, {bi, t, d}, w));
          return {next, gt};
        };

        // 1. Per (batch, chunk), in parallel: the chunk's scan from a zero
        // state
        //    (its end) and its total log gate.
        auto local = forallSlices(
            b, {B, N}, {perChunk(), perChunk()},
            [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange) {
              Value t0 = chunkStart(b, iv[1]), valid = validIn(b, t0);
              Value emptyRow =
                  tensor::EmptyOp::create(b, ArrayRef<int64_t>{D}, f32);
              auto rows = forEachTile(
                  b, D, kScanTileWidth, {emptyRow, emptyRow},
                  [&](ImplicitLocOpBuilder &b, Value d, int64_t w,
                      ValueRange a) {
                    auto r = forLoop(
                        b, zero, valid,
                        {f32Splat(b, 0.0f, w), f32Splat(b, 0.0f, w)},
                        [&](ImplicitLocOpBuilder &b, Value i, ValueRange acc) {
                          auto [h, gt] =
                              step(b, acc[0], iv[0],
                                   arith::AddIOp::create(b, t0, i), d, w);
                          return SmallVector<Value>{
                              h, arith::AddFOp::create(b, acc[1], gt)};
                        });
                    return SmallVector<Value>{writeVector(b, r[0], a[0], {d}),
                                              writeVector(b, r[1], a[1], {d})};
                  });
              SmallVector<OpFoldResult> offsets = {iv[0], iv[1], at0},
                                        sizes1 = {one, one, allD};
              return SmallVector<ParallelSlice>{{rows[0], offsets, sizes1},
                                                {rows[1], offsets, sizes1}};
            });
        Value ends = local[0], sums = local[1];

        // 2. Per batch, sequentially over chunks: the state entering each
        // chunk,
        //    carry_{n+1} = exp(sum_n) carry_n + end_n, and the final state.
        Value s0 = emptyLike(b, sType, {"B", "D"}, sizes);
        auto carried = forallSlices(
            b, {B}, {perChunk(), s0},
            [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange outs) {
              Value bi = iv[0];
              auto rowsType =
                  RankedTensorType::get({ShapedType::kDynamic, D}, f32);
              SmallVector<OpFoldResult> offsets = {bi, at0, at0},
                                        sizesN = {one, N, allD};
              Value carryRows = tensor::ExtractSliceOp::create(
                  b, rowsType, outs[0], offsets, sizesN,
                  SmallVector<OpFoldResult>(3, one));
              Value finalRow =
                  tensor::EmptyOp::create(b, ArrayRef<int64_t>{D}, f32);
              auto r = forEachTile(
                  b, D, kScanTileWidth, {carryRows, finalRow},
                  [&](ImplicitLocOpBuilder &b, Value d, int64_t w,
                      ValueRange a) {
                    Value h0 = init ? readF32Vector(b, init, {bi, d}, w)
                                    : f32Splat(b, 0.0f, w);
                    auto c = forLoop(
                        b, zero, N, {a[0], h0},
                        [&](ImplicitLocOpBuilder &b, Value n, ValueRange acc) {
                          Value rows = writeVector(b, acc[1], acc[0], {n, d});
                          Value decay = math::ExpOp::create(
                              b, readF32Vector(b, sums, {bi, n, d}, w));
                          Value h = vector::FMAOp::create(
                              b, decay, acc[1],
                              readF32Vector(b, ends, {bi, n, d}, w));
                          return SmallVector<Value>{rows, h};
                        });
                    return SmallVector<Value>{c[0],
                                              writeVector(b, c[1], a[1], {d})};
                  });
              return SmallVector<ParallelSlice>{{r[0], offsets, sizesN},
                                                {r[1], {bi, at0}, {one, allD}}};
            });
        Value carries = carried[0];

        // 3. Per (batch, chunk), in parallel: the outputs, scanning the chunk
        //    again from the state entering it.
        Value o0 = emptyLike(b, oType, {"B", "T", "D"}, sizes);
        auto out = forallSlices(
            b, {B, N}, {o0},
            [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange outs) {
              Value bi = iv[0], n = iv[1];
              Value t0 = chunkStart(b, n), valid = validIn(b, t0);
              auto rowsType = RankedTensorType::get({ShapedType::kDynamic, D},
                                                    oType.getElementType());
              SmallVector<OpFoldResult> offsets = {bi, t0, at0},
                                        sizesV = {one, valid, allD};
              Value rows = tensor::ExtractSliceOp::create(
                  b, rowsType, outs[0], offsets, sizesV,
                  SmallVector<OpFoldResult>(3, one));
              auto r = forEachTile(
                  b, D, kScanTileWidth, {rows},
                  [&](ImplicitLocOpBuilder &b, Value d, int64_t w,
                      ValueRange a) {
                    Value h0 = readF32Vector(b, carries, {bi, n, d}, w);
                    auto s = forLoop(
                        b, zero, valid, {a[0], h0},
                        [&](ImplicitLocOpBuilder &b, Value i, ValueRange acc) {
                          auto [h, gt] =
                              step(b, acc[1], bi,
                                   arith::AddIOp::create(b, t0, i), d, w);
                          (void)gt;
                          return SmallVector<Value>{
                              writeVector(b, h, acc[0], {i, d}), h};
                        });
                    return SmallVector<Value>{s[0]};
                  });
              return SmallVector<ParallelSlice>{{r[0], offsets, sizesV}};
            });
        return SmallVector<Value>{out[0], carried[1]};
      });
}

} // namespace mixir::lowering
