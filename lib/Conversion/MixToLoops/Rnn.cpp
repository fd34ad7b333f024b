//===- Rnn.cpp - head-wise non-linear recurrences (mix.rnn) ---------------===//
//
// One scf.forall iteration per (group of batch rows, head) runs the T steps
// in order. Before the first step the head's recurrent weights r[h]
// ([G, D_out, D_in]) are copied once into an f32 tensor transposed to
// [G, D_in, D_out], so the per-step product R_g h is a sum over D_in of h[i]
// times a contiguous row: vector FMAs over D_out, with the accumulators of
// an output tile in registers. A group of kBatchGroup rows shares each row
// of weights it loads (the weights, G D^2 floats, do not fit in L1), so the
// batch is split into full groups and a second forall of single rows for
// the remainder. Each step first writes the G pre-activations of every row
// into a [rows, G, D] scratch tensor (reading the old h only), then updates
// the f32 states tile by tile and writes h.
//
//===----------------------------------------------------------------------===//
#include "RnnCell.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::lowering {
namespace rnn {

RnnPlan planOf(mix::RnnOp op) {
  RnnPlan p;
  p.cell = op.getCell();
  p.wx = op.getWx(), p.r = op.getR(), p.bias = op.getB();
  p.init.assign(op.getInitialStates().begin(), op.getInitialStates().end());
  p.G = dimSize(p.wx, 3), p.D = dimSize(p.wx, 4);
  p.states = op.getFinalStates().size();
  p.hType = op.getH().getType();
  return p;
}

SmallVector<Value> emptyResults(ImplicitLocOpBuilder &b, mix::RnnOp op,
                                const SymbolSizes &sizes) {
  SmallVector<Value> outs = {
      emptyLike(b, op.getH().getType(), {"B", "T", "H", "D"}, sizes)};
  for (Value s : op.getFinalStates())
    outs.push_back(emptyLike(b, cast<RankedTensorType>(s.getType()),
                             {"B", "H", "D"}, sizes));
  return outs;
}

SmallVector<Value> cellStep(CellMath &m, RnnCell cell, const TileInputs &in) {
  ArrayRef<Value> a = in.gates, s = in.states;
  switch (cell) {
  case RnnCell::lstm: {
    Value c =
        m.fma(m.sigmoid(a[kF]), s[1], m.mul(m.sigmoid(a[kI]), m.tanh(a[kZ])));
    return {m.mul(m.sigmoid(a[kO]), m.tanh(c)), c};
  }
  case RnnCell::gru: {
    Value r = m.sigmoid(a[kR]), z = m.sigmoid(a[kUpdate]);
    Value n = m.tanh(m.fma(r, a[kN], in.wxN));
    return {m.fma(z, m.sub(s[0], n), n)}; // (1 - z) n + z h
  }
  case RnnCell::slstm: {
    Value lf = m.logSigmoid(a[kF]);
    Value carried = m.add(lf, s[3]); // lf + m
    Value mNew = arith::MaximumFOp::create(m.b, carried, a[kI]);
    if (in.first)
      mNew = arith::SelectOp::create(m.b, in.first, a[kI], mNew);
    Value i = m.exp(m.sub(a[kI], mNew)), f = m.exp(m.sub(carried, mNew));
    Value c = m.fma(f, s[1], m.mul(i, m.tanh(a[kZ])));
    Value n = m.fma(f, s[2], i);
    return {m.div(m.mul(m.sigmoid(a[kO]), c), n), c, n, mNew};
  }
  }
  return {};
}

Value transposedWeights(ImplicitLocOpBuilder &b, const RnnPlan &p, Value hh,
                        Type elem) {
  Type from = cast<ShapedType>(p.r.getType()).getElementType();
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  OpFoldResult g = b.getIndexAttr(p.G), d = b.getIndexAttr(p.D);
  Value slice = tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({p.G, p.D, p.D}, from), p.r,
      SmallVector<OpFoldResult>{hh, zero, zero, zero},
      SmallVector<OpFoldResult>{one, g, d, d},
      SmallVector<OpFoldResult>(4, one));
  Value init =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{p.G, p.D, p.D}, elem);
  MLIRContext *ctx = b.getContext();
  AffineExpr gi = getAffineDimExpr(0, ctx), i = getAffineDimExpr(1, ctx),
             j = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {gi, j, i}, ctx),
                                 AffineMap::get(3, 0, {gi, i, j}, ctx)};
  SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
  auto copy = linalg::GenericOp::create(
      b, TypeRange{init.getType()}, ValueRange{slice}, ValueRange{init}, maps,
      iters, [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value v = args[0];
        if (v.getType() != elem)
          v = arith::ExtFOp::create(nb, loc, elem, v);
        linalg::YieldOp::create(nb, loc, v);
      });
  return copy.getResult(0);
}

HeadRows HeadRows::slice(ImplicitLocOpBuilder &b, const RnnPlan &p, Value b0,
                         Value hh, int64_t count, Value T, Value h) {
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  int64_t staticT = p.hType.getDimSize(1);
  OpFoldResult length = ShapedType::isDynamic(staticT)
                            ? OpFoldResult(T)
                            : b.getIndexAttr(staticT);
  HeadRows rows;
  rows.offsets = {b0, zero, hh, zero};
  rows.sizes = {b.getIndexAttr(count), length, one, b.getIndexAttr(p.D)};
  Type elem = p.hType.getElementType();
  rows.fullType = RankedTensorType::get({count, staticT, 1, p.D}, elem);
  Value full = tensor::ExtractSliceOp::create(
      b, rows.fullType, h, rows.offsets, rows.sizes,
      SmallVector<OpFoldResult>(4, one));
  rows.rows = tensor::CollapseShapeOp::create(
      b, RankedTensorType::get({count, staticT, p.D}, elem), full,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  return rows;
}

ParallelSlice HeadRows::finish(ImplicitLocOpBuilder &b, Value updated) const {
  Value full = tensor::ExpandShapeOp::create(
      b, fullType, updated, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}},
      sizes);
  return {full, offsets, sizes};
}

} // namespace rnn

namespace {
using namespace rnn;

/// Widest vector of one output tile of the state update (f32 lanes).
constexpr int64_t kRnnTileWidth = 64;
/// Batch rows per work item, and the output tile of their products: the
/// G * kBatchGroup accumulators of kGroupTileWidth lanes (256 f32 for
/// G = 4) stay in vector registers.
constexpr int64_t kBatchGroup = 4;
constexpr int64_t kGroupTileWidth = 16;

/// The batch rows [b0, b0 + rows) of one work item and the output tile of
/// its products.
struct RowGroup {
  Value b0, hh;
  int64_t rows, width;
  /// The batch index of row `r` of the group.
  Value batch(ImplicitLocOpBuilder &b, int64_t r) const {
    return r ? Value(arith::AddIOp::create(b, b0, indexConst(b, r))) : b0;
  }
};

/// The [rows, D] f32 state `k` of a row group: a slice of the final-state
/// result `states` [B, H, D], initialised from the plan's initial state or
/// zero.
Value beginGroupState(ImplicitLocOpBuilder &b, const RnnPlan &p,
                      const RowGroup &g, Value states, unsigned k) {
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  SmallVector<OpFoldResult> offsets = {g.b0, g.hh, zero},
                            sizes = {b.getIndexAttr(g.rows), one,
                                     b.getIndexAttr(p.D)},
                            strides = {one, one, one};
  auto type = RankedTensorType::get({g.rows, p.D}, b.getF32Type());
  Value slice =
      tensor::ExtractSliceOp::create(b, type, states, offsets, sizes, strides);
  if (p.init.empty())
    return linalg::FillOp::create(b, ValueRange{f32Const(b, 0.0f)},
                                  ValueRange{slice})
        .getResult(0);
  Value from = tensor::ExtractSliceOp::create(b, type, p.init[k], offsets,
                                              sizes, strides);
  return linalg::CopyOp::create(b, ValueRange{from}, ValueRange{slice})
      .getResult(0);
}

/// Phase 1 of a step: pre[r, g] = wx[t, g] + R_g h_r + b_g for every row r
/// of the group and every gate (GRU's n gate without wx), per output tile;
/// each weight row loaded serves all rows. Returns the updated `pre`
/// [rows, G, D].
Value preActivations(ImplicitLocOpBuilder &b, const RnnPlan &p,
                     const RowGroup &grp, Value weights, Value h, Value pre,
                     Value t) {
  Value zero = indexConst(b, 0);
  auto tiles = forEachTile(
      b, p.D, grp.width, {pre},
      [&](ImplicitLocOpBuilder &b, Value d, int64_t w, ValueRange a) {
        SmallVector<Value> bias; // per gate, shared by the rows
        for (int64_t g = 0; g < p.G && p.bias; ++g)
          bias.push_back(
              readF32Vector(b, p.bias, {grp.hh, indexConst(b, g), d}, w));
        SmallVector<Value> acc; // [row * G + gate]
        for (int64_t r = 0; r < grp.rows; ++r) {
          Value bi = grp.batch(b, r);
          for (int64_t g = 0; g < p.G; ++g) {
            Value v =
                accumulatesInput(p, g)
                    ? readF32Vector(b, p.wx,
                                    {bi, t, grp.hh, indexConst(b, g), d}, w)
                    : f32Splat(b, 0.0f, w);
            acc.push_back(
                bias.empty() ? v : Value(arith::AddFOp::create(b, v, bias[g])));
          }
        }
        auto sums = forLoop(
            b, zero, indexConst(b, p.D), acc,
            [&](ImplicitLocOpBuilder &b, Value i, ValueRange acc) {
              SmallVector<Value> rows;
              for (int64_t g = 0; g < p.G; ++g)
                rows.push_back(
                    readF32Vector(b, weights, {indexConst(b, g), i, d}, w));
              SmallVector<Value> next;
              for (int64_t r = 0; r < grp.rows; ++r) {
                Value hri = tensor::ExtractOp::create(
                    b, h, ValueRange{indexConst(b, r), i});
                Value hs = splat(b, hri, w);
                for (int64_t g = 0; g < p.G; ++g)
                  next.push_back(
                      vector::FMAOp::create(b, hs, rows[g], acc[r * p.G + g]));
              }
              return next;
            });
        Value out = a[0];
        for (int64_t r = 0; r < grp.rows; ++r)
          for (int64_t g = 0; g < p.G; ++g)
            out = writeVector(b, sums[r * p.G + g], out,
                              {indexConst(b, r), indexConst(b, g), d});
        return SmallVector<Value>{out};
      });
  return tiles[0];
}

/// Phase 2 of a step: per tile and row, the states from the
/// pre-activations; writes h into row `t` of `rows` [rows, T, D]. `carried`
/// is (rows, states...), the states [rows, D].
SmallVector<Value> updateStates(ImplicitLocOpBuilder &b, const RnnPlan &p,
                                const RowGroup &grp, Value pre,
                                ValueRange carried, Value t) {
  Value first;
  if (p.cell == RnnCell::slstm && p.init.empty())
    first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t, indexConst(b, 0));
  return forEachTile(
      b, p.D, kRnnTileWidth, carried,
      [&](ImplicitLocOpBuilder &b, Value d, int64_t w, ValueRange a) {
        SmallVector<Value> out(a);
        for (int64_t r = 0; r < grp.rows; ++r) {
          Value ri = indexConst(b, r);
          TileInputs in;
          in.first = first;
          for (int64_t g = 0; g < p.G; ++g)
            in.gates.push_back(
                readF32Vector(b, pre, {ri, indexConst(b, g), d}, w));
          for (Value s : ArrayRef<Value>(out).drop_front())
            in.states.push_back(readF32Vector(b, s, {ri, d}, w));
          if (p.cell == RnnCell::gru)
            in.wxN = readF32Vector(
                b, p.wx, {grp.batch(b, r), t, grp.hh, indexConst(b, kN), d}, w);
          CellMath m{b, w};
          SmallVector<Value> next = cellStep(m, p.cell, in);
          out[0] = writeVector(b, next[0], out[0], {ri, t, d});
          for (auto [k, v] : llvm::enumerate(next))
            out[1 + k] = writeVector(b, v, out[1 + k], {ri, d});
        }
        return out;
      });
}

/// The T steps of one row group; `outs` are the shared results (h
/// [B, T, H, D], then the final states [B, H, D]).
SmallVector<ParallelSlice> runGroup(ImplicitLocOpBuilder &b, const RnnPlan &p,
                                    const RowGroup &g, Value T,
                                    ValueRange outs) {
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0),
               d = b.getIndexAttr(p.D), rows = b.getIndexAttr(g.rows);
  HeadRows hRows = HeadRows::slice(b, p, g.b0, g.hh, g.rows, T, outs[0]);
  SmallVector<Value> carried = {hRows.rows};
  for (unsigned k = 0; k < p.states; ++k)
    carried.push_back(beginGroupState(b, p, g, outs[1 + k], k));
  Value weights = transposedWeights(b, p, g.hh, b.getF32Type());
  carried.push_back(tensor::EmptyOp::create(
      b, ArrayRef<int64_t>{g.rows, p.G, p.D}, b.getF32Type()));
  auto steps =
      forLoop(b, indexConst(b, 0), T, carried,
              [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
                Value pre = preActivations(b, p, g, weights, a[1], a.back(), t);
                SmallVector<Value> next =
                    updateStates(b, p, g, pre, a.drop_back(), t);
                next.push_back(pre);
                return next;
              });
  SmallVector<ParallelSlice> slices = {hRows.finish(b, steps[0])};
  for (unsigned k = 0; k < p.states; ++k)
    slices.push_back({steps[1 + k], {g.b0, g.hh, zero}, {rows, one, d}});
  return slices;
}

/// One scf.forall over (`count` groups of `rows` batch rows from batch
/// `first`, heads) updating `outs`.
SmallVector<Value> forEachGroup(ImplicitLocOpBuilder &b, const RnnPlan &p,
                                Value first, Value count, int64_t rows,
                                int64_t width, Value T, ValueRange outs) {
  SmallVector<OpFoldResult> bounds = {count, b.getIndexAttr(dimSize(p.wx, 2))};
  return forallSlices(
      b, bounds, outs,
      [&](ImplicitLocOpBuilder &b, ValueRange iv, ValueRange shared) {
        Value b0 = arith::AddIOp::create(
            b, first, arith::MulIOp::create(b, iv[0], indexConst(b, rows)));
        return runGroup(b, p, RowGroup{b0, iv[1], rows, width}, T, shared);
      });
}
} // namespace

LogicalResult lowerRnn(RewriterBase &rewriter, mix::RnnOp op) {
  RnnPlan p = planOf(op);
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        SmallVector<Value> outs = emptyResults(b, op, sizes);
        // Full groups of kBatchGroup rows, then the remaining rows one by one.
        Value B = sizes.lookup("B"), T = sizes.lookup("T");
        Value groups = arith::DivUIOp::create(b, B, indexConst(b, kBatchGroup));
        Value grouped =
            arith::MulIOp::create(b, groups, indexConst(b, kBatchGroup));
        SmallVector<Value> done =
            forEachGroup(b, p, indexConst(b, 0), groups, kBatchGroup,
                         kGroupTileWidth, T, outs);
        return forEachGroup(b, p, grouped, arith::SubIOp::create(b, B, grouped),
                            1, kRnnTileWidth, T, done);
      });
}

} // namespace mixir::lowering
