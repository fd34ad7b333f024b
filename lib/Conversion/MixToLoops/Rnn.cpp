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
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::lowering {
namespace {
using mix::RnnCell;

/// Widest vector of one output tile of the state update (f32 lanes).
constexpr int64_t kRnnTileWidth = 64;
/// Batch rows per work item, and the output tile of their products: the
/// G * kBatchGroup accumulators of kGroupTileWidth lanes (256 f32 for
/// G = 4) stay in vector registers.
constexpr int64_t kBatchGroup = 4;
constexpr int64_t kGroupTileWidth = 16;

/// The gates of each cell, in the order of wx's G dimension.
enum Gate : int64_t { kI = 0, kF = 1, kZ = 2, kO = 3 };
enum GruGate : int64_t { kR = 0, kUpdate = 1, kN = 2 };

/// What the lowering needs from one mix.rnn.
struct RnnPlan {
  RnnCell cell;
  Value wx, r, bias;
  SmallVector<Value> init; // empty, or one per state
  int64_t G, D, states;
  RankedTensorType hType;
};

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

/// The cells' functions on f32 vectors of `w` lanes, built from exp (which
/// mix-vectorize-tiles approximates by a vector polynomial) and log1p.
struct CellMath {
  ImplicitLocOpBuilder &b;
  int64_t w;

  Value c(float v) { return f32Splat(b, v, w); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, x, y); }
  Value fma(Value x, Value y, Value z) {
    return vector::FMAOp::create(b, x, y, z);
  }
  Value exp(Value x) { return math::ExpOp::create(b, x); }
  Value negAbs(Value x) {
    return arith::NegFOp::create(b, math::AbsFOp::create(b, x));
  }
  /// 1 / (1 + exp(-x)).
  Value sigmoid(Value x) {
    return div(c(1.0f), add(c(1.0f), exp(arith::NegFOp::create(b, x))));
  }
  /// sign(x) (1 - e) / (1 + e) with e = exp(-2 |x|) <= 1.
  Value tanh(Value x) {
    Value e = exp(mul(c(2.0f), negAbs(x)));
    Value t = div(sub(c(1.0f), e), add(c(1.0f), e));
    return math::CopySignOp::create(b, t, x);
  }
  /// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).
  Value logSigmoid(Value x) {
    Value low = arith::MinimumFOp::create(b, x, c(0.0f));
    return sub(low, math::Log1pOp::create(b, exp(negAbs(x))));
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

/// r[hh] as f32, transposed to [G, D_in, D_out]: computed once per head, so
/// the T steps read rows of D_out contiguous f32 values.
Value transposedWeights(ImplicitLocOpBuilder &b, const RnnPlan &p, Value hh) {
  Type elem = cast<ShapedType>(p.r.getType()).getElementType();
  Type f32 = b.getF32Type();
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  OpFoldResult g = b.getIndexAttr(p.G), d = b.getIndexAttr(p.D);
  Value slice = tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({p.G, p.D, p.D}, elem), p.r,
      SmallVector<OpFoldResult>{hh, zero, zero, zero},
      SmallVector<OpFoldResult>{one, g, d, d},
      SmallVector<OpFoldResult>(4, one));
  Value init =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{p.G, p.D, p.D}, f32);
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
        if (v.getType() != f32)
          v = arith::ExtFOp::create(nb, loc, f32, v);
        linalg::YieldOp::create(nb, loc, v);
      });
  return copy.getResult(0);
}

/// Whether gate `g`'s accumulator starts from wx: all gates but GRU's n,
/// whose wx is added after the reset gate scales R_n h + b_n.
bool accumulatesInput(const RnnPlan &p, int64_t g) {
  return !(p.cell == RnnCell::gru && g == kN);
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

/// One tile of the inputs of phase 2: the G pre-activations, the old states
/// and (GRU) wx of the n gate.
struct TileInputs {
  SmallVector<Value> gates, states;
  Value wxN;
  Value first; // i1, slstm without initial states: the first step
};

/// The new states of one tile (h first), per the cell's equations.
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
  // h's rows are sliced at full rank and collapsed to [rows, T, D]: a
  // rank-reducing slice [rows, T, 1, D] -> [rows, T, D] is ambiguous when
  // rows is 1, and the canonicalizer may drop the wrong unit dim.
  int64_t staticT = p.hType.getDimSize(1);
  OpFoldResult length = ShapedType::isDynamic(staticT)
                            ? OpFoldResult(T)
                            : b.getIndexAttr(staticT);
  SmallVector<OpFoldResult> rowOffsets = {g.b0, zero, g.hh, zero},
                            rowSizes = {rows, length, one, d};
  Type hElem = p.hType.getElementType();
  auto fullType = RankedTensorType::get({g.rows, staticT, 1, p.D}, hElem);
  auto rowsType = RankedTensorType::get({g.rows, staticT, p.D}, hElem);
  SmallVector<ReassociationIndices> dropHead = {{0}, {1}, {2, 3}};
  Value hRows =
      tensor::ExtractSliceOp::create(b, fullType, outs[0], rowOffsets, rowSizes,
                                     SmallVector<OpFoldResult>(4, one));
  SmallVector<Value> carried = {
      tensor::CollapseShapeOp::create(b, rowsType, hRows, dropHead)};
  for (unsigned k = 0; k < p.states; ++k)
    carried.push_back(beginGroupState(b, p, g, outs[1 + k], k));
  Value weights = transposedWeights(b, p, g.hh);
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
  Value hOut =
      tensor::ExpandShapeOp::create(b, fullType, steps[0], dropHead, rowSizes);
  SmallVector<ParallelSlice> slices = {{hOut, rowOffsets, rowSizes}};
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
  RnnPlan p;
  p.cell = op.getCell();
  p.wx = op.getWx(), p.r = op.getR(), p.bias = op.getB();
  p.init.assign(op.getInitialStates().begin(), op.getInitialStates().end());
  p.G = dimSize(p.wx, 3), p.D = dimSize(p.wx, 4);
  p.states = op.getFinalStates().size();
  p.hType = op.getH().getType();
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        SmallVector<Value> outs = {
            emptyLike(b, p.hType, {"B", "T", "H", "D"}, sizes)};
        for (Value s : op.getFinalStates())
          outs.push_back(emptyLike(b, cast<RankedTensorType>(s.getType()),
                                   {"B", "H", "D"}, sizes));
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
