//===- RnnBlocks.cpp - mix.rnn for GPU thread blocks ----------------------===//
//
// The form of mix.rnn that convert-chunked-to-gpu runs on the GPU (FlashRNN's
// schedule): one scf.forall iteration per (batch row, head), which becomes
// one thread block, and every step's work as linalg ops on static tiles,
// which the block's threads share once they are parallel loops.
//
// Before the first step the head's recurrent weights r[h] are copied once
// into a [G, D_in, D_out] tile in r's own element type (32 KiB of bf16 for
// G = 4, D = 64: the block's shared memory), where they stay for all T
// steps; the f32 states and the [G, D] pre-activations are tiles too. Each
// step then runs three parallel loops:
//   1. pre[g, j] = wx[t, g, j] + b[g, j] (GRU's n gate: b only);
//   2. pre[g, j] += sum_i r[g, j, i] h[i], one output (g, j) per thread and
//      the sum in f32 in order; thread j reads column j of the transposed
//      tile, so a warp reads consecutive weights;
//   3. per channel j, the cell's state update (the CPU form's cellStep on
//      scalars), writing h[t, j] in the output's type.
//
//===----------------------------------------------------------------------===//
#include "RnnCell.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::lowering {
namespace {
using namespace rnn;

Value extendedToF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

/// The slice of `source` at `offsets` whose innermost sizes are `inner`
/// (the leading sizes are 1, and dropped from its type).
Value innerSlice(ImplicitLocOpBuilder &b, Value source,
                 ArrayRef<OpFoldResult> offsets, ArrayRef<int64_t> inner) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> sizes(offsets.size() - inner.size(),
                                  b.getIndexAttr(1));
  for (int64_t n : inner)
    sizes.push_back(b.getIndexAttr(n));
  return tensor::ExtractSliceOp::create(
      b, RankedTensorType::get(inner, type.getElementType()), source, offsets,
      sizes, SmallVector<OpFoldResult>(offsets.size(), b.getIndexAttr(1)));
}

/// The [D] f32 tile of state `k` of (bi, hh): the initial state, or zero.
Value beginState(ImplicitLocOpBuilder &b, const RnnPlan &p, Value bi, Value hh,
                 unsigned k) {
  Value tile =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{p.D}, b.getF32Type());
  if (p.init.empty())
    return linalg::FillOp::create(b, ValueRange{f32Const(b, 0.0f)},
                                  ValueRange{tile})
        .getResult(0);
  Value from = innerSlice(b, p.init[k], {bi, hh, b.getIndexAttr(0)}, {p.D});
  return linalg::CopyOp::create(b, ValueRange{from}, ValueRange{tile})
      .getResult(0);
}

/// A linalg.generic with one result, `out` updated.
Value generic(ImplicitLocOpBuilder &b, ValueRange ins, Value out,
              ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iters,
              function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(b, TypeRange{out.getType()}, ins,
                                   ValueRange{out}, maps, iters, body)
      .getResult(0);
}

/// Steps 1 and 2: pre [G, D] from the token's wx [G, D], the bias and the
/// old h [D].
Value preActivations(ImplicitLocOpBuilder &b, const RnnPlan &p, Value x,
                     Value hh, Value weights, Value h, Value pre) {
  MLIRContext *ctx = b.getContext();
  AffineExpr g = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx),
             i = getAffineDimExpr(2, ctx);
  auto par = utils::IteratorType::parallel;
  AffineMap gj = AffineMap::get(2, 0, {g, j}, ctx);
  SmallVector<Value> ins = {x};
  if (p.bias)
    ins.push_back(innerSlice(
        b, p.bias, {hh, b.getIndexAttr(0), b.getIndexAttr(0)}, {p.G, p.D}));
  SmallVector<AffineMap> maps(ins.size() + 1, gj);
  pre = generic(b, ins, pre, maps, {par, par},
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  Value v = extendedToF32(nb, loc, args[0]);
                  if (p.cell == RnnCell::gru) { // n: wx is added in step 3
                    Value gate = linalg::IndexOp::create(nb, loc, 0);
                    Value isN = arith::CmpIOp::create(
                        nb, loc, arith::CmpIPredicate::eq, gate,
                        arith::ConstantIndexOp::create(nb, loc, kN));
                    Value zero = arith::ConstantOp::create(
                        nb, loc, nb.getF32FloatAttr(0));
                    v = arith::SelectOp::create(nb, loc, isN, zero, v);
                  }
                  if (p.bias)
                    v = arith::AddFOp::create(nb, loc, v,
                                              extendedToF32(nb, loc, args[1]));
                  linalg::YieldOp::create(nb, loc, v);
                });
  return generic(
      b, {weights, h}, pre,
      {AffineMap::get(3, 0, {g, i, j}, ctx), AffineMap::get(3, 0, {i}, ctx),
       AffineMap::get(3, 0, {g, j}, ctx)},
      {par, par, utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value w = extendedToF32(nb, loc, args[0]);
        Value sum = math::FmaOp::create(nb, loc, w, args[1], args[2]);
        linalg::YieldOp::create(nb, loc, sum);
      });
}

/// Step 3: the new states [D] and h into `hRow` [D] (the output's type).
/// `carried` is (states...); returns (states..., hRow).
SmallVector<Value> updateStates(ImplicitLocOpBuilder &b, const RnnPlan &p,
                                Value pre, Value x, ValueRange carried,
                                Value hRow, Value t) {
  MLIRContext *ctx = b.getContext();
  AffineExpr j = getAffineDimExpr(0, ctx);
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (int64_t g = 0; g < p.G; ++g) {
    ins.push_back(pre);
    maps.push_back(
        AffineMap::get(1, 0, {getAffineConstantExpr(g, ctx), j}, ctx));
  }
  if (p.cell == RnnCell::gru) {
    ins.push_back(x);
    maps.push_back(
        AffineMap::get(1, 0, {getAffineConstantExpr(kN, ctx), j}, ctx));
  }
  SmallVector<Value> outs(carried);
  outs.push_back(hRow);
  maps.append(outs.size(), AffineMap::get(1, 0, {j}, ctx));
  Value first;
  if (p.cell == RnnCell::slstm && p.init.empty())
    first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t, indexConst(b, 0));
  SmallVector<Type> types;
  for (Value v : outs)
    types.push_back(v.getType());
  auto step = linalg::GenericOp::create(
      b, types, ins, outs, maps, {utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        ImplicitLocOpBuilder ib(loc, nb);
        TileInputs in;
        in.first = first;
        in.gates.assign(args.begin(), args.begin() + p.G);
        if (p.cell == RnnCell::gru)
          in.wxN = extendedToF32(nb, loc, args[p.G]);
        ValueRange states = args.take_back(outs.size()).drop_back();
        in.states.assign(states.begin(), states.end());
        CellMath m{ib, 0};
        SmallVector<Value> next = cellStep(m, p.cell, in);
        Type hElem = getElementTypeOrSelf(hRow.getType());
        Value h = next[0];
        if (hElem != h.getType())
          h = arith::TruncFOp::create(nb, loc, hElem, h);
        next.push_back(h);
        linalg::YieldOp::create(nb, loc, next);
      });
  return SmallVector<Value>(step.getResults());
}

/// The T steps of (bi, hh); `outs` are the shared results (h [B, T, H, D],
/// then the final states [B, H, D]).
SmallVector<ParallelSlice> runHead(ImplicitLocOpBuilder &b, const RnnPlan &p,
                                   Value bi, Value hh, Value T,
                                   ValueRange outs) {
  HeadRows rows = HeadRows::slice(b, p, bi, hh, 1, T, outs[0]);
  // The weights in r's own type: half the shared memory of f32 for 16-bit r.
  Type rElem = cast<ShapedType>(p.r.getType()).getElementType();
  Value weights = transposedWeights(b, p, hh, rElem);
  SmallVector<Value> carried = {rows.rows};
  for (unsigned k = 0; k < p.states; ++k)
    carried.push_back(beginState(b, p, bi, hh, k));
  carried.push_back(
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{p.G, p.D}, b.getF32Type()));
  OpFoldResult zero = b.getIndexAttr(0);
  auto steps = forLoop(
      b, indexConst(b, 0), T, carried,
      [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
        Value x = innerSlice(b, p.wx, {bi, t, hh, zero, zero}, {p.G, p.D});
        Value pre = preActivations(b, p, x, hh, weights, a[1], a.back());
        Value hRow = innerSlice(b, a[0], {zero, t, zero}, {p.D});
        SmallVector<Value> next =
            updateStates(b, p, pre, x, a.drop_front().drop_back(), hRow, t);
        Value h = tensor::InsertSliceOp::create(
            b, next.back(), a[0], SmallVector<OpFoldResult>{zero, t, zero},
            SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                      b.getIndexAttr(p.D)},
            SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
        next.pop_back();
        next.insert(next.begin(), h);
        next.push_back(pre);
        return next;
      });
  SmallVector<ParallelSlice> slices = {rows.finish(b, steps[0])};
  OpFoldResult one = b.getIndexAttr(1);
  for (unsigned k = 0; k < p.states; ++k)
    slices.push_back(
        {steps[1 + k], {bi, hh, zero}, {one, one, b.getIndexAttr(p.D)}});
  return slices;
}
} // namespace

LogicalResult lowerRnnOnBlocks(RewriterBase &rewriter, mix::RnnOp op) {
  RnnPlan p = planOf(op);
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        SmallVector<OpFoldResult> bounds = {sizes.lookup("B"),
                                            b.getIndexAttr(dimSize(p.wx, 2))};
        return forallSlices(
            b, bounds, emptyResults(b, op, sizes),
            [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange shared) {
              return runHead(b, p, iv[0], iv[1], sizes.lookup("T"), shared);
            });
      });
}

} // namespace mixir::lowering
