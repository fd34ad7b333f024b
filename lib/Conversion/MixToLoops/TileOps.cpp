//===- TileOps.cpp - linalg builders on chunk tiles -----------------------===//
#include "TileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"

#include <limits>

using namespace mlir;

namespace mixir::lowering {
using utils::IteratorType;

Value filledTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                 float value) {
  Value empty = tensor::EmptyOp::create(b, shape, b.getF32Type());
  return linalg::FillOp::create(b, ValueRange{f32Const(b, value)},
                                ValueRange{empty})
      .getResult(0);
}

Value zeroTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape) {
  return filledTile(b, shape, 0.0f);
}

/// A [C, W] f32 tile whose row i is src[index(i)] for i < valid, else 0.
Value loadTile(ImplicitLocOpBuilder &b, Value src, int64_t C, int64_t W,
               Value valid,
               const std::function<SmallVector<Value>(ImplicitLocOpBuilder &,
                                                      Value)> &index,
               bool l2norm) {
  Value tile =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{C, W}, b.getF32Type());
  Value zero = indexConst(b, 0);
  Value loaded = forLoop(
      b, zero, indexConst(b, C), {tile},
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value inside =
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, valid);
        auto row = scf::IfOp::create(
            b, TypeRange{VectorType::get({W}, b.getF32Type())}, inside,
            /*withElseRegion=*/true);
        {
          auto tb = ImplicitLocOpBuilder::atBlockBegin(
              b.getLoc(), &row.getThenRegion().front());
          scf::YieldOp::create(tb, readF32Vector(tb, src, index(tb, i), W));
        }
        {
          auto eb = ImplicitLocOpBuilder::atBlockBegin(
              b.getLoc(), &row.getElseRegion().front());
          scf::YieldOp::create(eb, f32Splat(eb, 0.0f, W));
        }
        return SmallVector<Value>{
            writeVector(b, row.getResult(0), a[0], {i, zero})};
      })[0];
  if (!l2norm)
    return loaded;
  // Each row over its L2 norm, as tile ops on the loaded tile rather than
  // inside the row load: a GPU block spreads tile ops over its threads,
  // where a row reduced in the load sits whole in one thread's registers.
  Value squares =
      reduceTile(b, loaded, filledTile(b, {C}, 0.0f), /*keptDim=*/0,
                 [](OpBuilder &nb, Location loc, Value sum, Value x) -> Value {
                   Value sq = arith::MulFOp::create(nb, loc, x, x);
                   return arith::AddFOp::create(nb, loc, sum, sq);
                 });
  Value inverse =
      mapN(b, squares, {}, [](OpBuilder &nb, Location loc, ValueRange a) {
        return inverseNorm(nb, loc, a[0]);
      });
  return scaled(b, loaded, inverse);
}

/// out[i, j] (+)= sum_r lhs(maps) * rhs(maps): a matmul-shaped contraction
/// over the last loop dimension with the given operand maps.
Value contract(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value init,
               AffineMap lhsMap, AffineMap rhsMap) {
  MLIRContext *ctx = b.getContext();
  AffineMap outMap = AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, TypeRange{init.getType()}, ValueRange{lhs, rhs},
             ValueRange{init}, ArrayRef<AffineMap>{lhsMap, rhsMap, outMap},
             ArrayRef<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::reduction},
             [](OpBuilder &nb, Location loc, ValueRange args) {
               Value p = arith::MulFOp::create(nb, loc, args[0], args[1]);
               linalg::YieldOp::create(
                   nb, loc,
                   ValueRange{arith::AddFOp::create(nb, loc, args[2], p)});
             })
      .getResult(0);
}

Value matmul(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value acc) {
  return linalg::MatmulOp::create(b, TypeRange{acc.getType()},
                                  ValueRange{lhs, rhs}, ValueRange{acc})
      .getResult(0);
}

/// fn(i, j, tile[i, j], Grow[i], Gcol[j]) over a 2-D tile as a
/// linalg.generic; the gates (per-token f32 vectors, may be null) are read
/// through a row and a column indexing map so the op stays vectorisable.
Value mapTile(ImplicitLocOpBuilder &b, Value tile, Value Grow, Value Gcol,
              const std::function<Value(OpBuilder &, Location, Value, Value,
                                        Value, Value, Value)> &fn) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(tile.getType());
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  for (auto [G, dim] : {std::pair(Grow, 0u), std::pair(Gcol, 1u)}) {
    if (!G)
      continue;
    inputs.push_back(G);
    maps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(dim, ctx)}, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
  return linalg::GenericOp::create(
             b, TypeRange{type}, inputs, ValueRange{tile}, maps,
             ArrayRef<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel},
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               Value i = linalg::IndexOp::create(nb, loc, 0);
               Value j = linalg::IndexOp::create(nb, loc, 1);
               Value gi = Grow ? args[0] : Value();
               Value gj = Gcol ? args[Grow ? 1 : 0] : Value();
               linalg::YieldOp::create(
                   nb, loc, ValueRange{fn(nb, loc, i, j, args.back(), gi, gj)});
             })
      .getResult(0);
}

Value scaled(ImplicitLocOpBuilder &b, Value tile, Value factor) {
  MLIRContext *ctx = b.getContext();
  AffineMap map = cast<ShapedType>(factor.getType()).getRank() == 1
                      ? AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx)
                      : AffineMap::getMultiDimIdentityMap(2, ctx);
  return mapN(b, tile, {{factor, map}},
              [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                return arith::MulFOp::create(nb, loc, a[1], a[0]);
              });
}

Value negated(ImplicitLocOpBuilder &b, Value tile) {
  return mapN(b, tile, {},
              [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                return arith::NegFOp::create(nb, loc, a[0]);
              });
}

Value repeatRows(ImplicitLocOpBuilder &b, Value tile, int64_t times) {
  if (times == 1)
    return tile;
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(tile.getType());
  // out[i, r, ...] = tile[i, ...], then [C, times, ...] collapsed to rows.
  SmallVector<int64_t> shape = {type.getDimSize(0), times};
  SmallVector<AffineExpr> read = {getAffineDimExpr(0, ctx)};
  SmallVector<ReassociationIndices> rows = {{0, 1}};
  if (type.getRank() == 2) {
    shape.push_back(type.getDimSize(1));
    read.push_back(getAffineDimExpr(2, ctx));
    rows.push_back({2});
  }
  Value out = tensor::EmptyOp::create(b, shape, b.getF32Type());
  Value spread =
      mapN(b, out, {{tile, AffineMap::get(shape.size(), 0, read, ctx)}},
           [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  return tensor::CollapseShapeOp::create(b, spread, rows);
}

Value reduceTile(
    ImplicitLocOpBuilder &b, Value tile, Value acc, unsigned keptDim,
    const std::function<Value(OpBuilder &, Location, Value, Value)> &combine) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap kept = AffineMap::get(2, 0, {getAffineDimExpr(keptDim, ctx)}, ctx);
  SmallVector<IteratorType> iters(2, IteratorType::reduction);
  iters[keptDim] = IteratorType::parallel;
  return linalg::GenericOp::create(
             b, TypeRange{acc.getType()}, ValueRange{tile}, ValueRange{acc},
             ArrayRef<AffineMap>{id, kept}, iters,
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, loc, ValueRange{combine(nb, loc, args[1], args[0])});
             })
      .getResult(0);
}

/// out[idx] = fn(inputs read through their maps..., out[idx]) over all loops
/// of `out` (parallel); `fn` gets the input values then the output value.
Value mapN(ImplicitLocOpBuilder &b, Value out,
           ArrayRef<std::pair<Value, AffineMap>> inputs,
           const std::function<Value(OpBuilder &, Location, ValueRange)> &fn) {
  auto type = cast<RankedTensorType>(out.getType());
  unsigned rank = type.getRank();
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (auto [v, m] : inputs) {
    ins.push_back(v);
    maps.push_back(m);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  return linalg::GenericOp::create(
             b, TypeRange{type}, ins, ValueRange{out}, maps, iters,
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               linalg::YieldOp::create(nb, loc, ValueRange{fn(nb, loc, args)});
             })
      .getResult(0);
}

/// Rows [r0, r0 + n) of a 2-D tile.
Value rowsOf(ImplicitLocOpBuilder &b, Value tile, int64_t r0, int64_t n) {
  auto type = cast<RankedTensorType>(tile.getType());
  int64_t cols = type.getDimSize(1);
  return tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({n, cols}, type.getElementType()), tile,
      ArrayRef<OpFoldResult>{b.getIndexAttr(r0), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(n), b.getIndexAttr(cols)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// Row r of a 2-D tile as a 1-D tensor.
Value rowOf(ImplicitLocOpBuilder &b, Value tile, int64_t r) {
  auto type = cast<RankedTensorType>(tile.getType());
  int64_t cols = type.getDimSize(1);
  return tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({cols}, type.getElementType()), tile,
      ArrayRef<OpFoldResult>{b.getIndexAttr(r), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(cols)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

Value insertBlock(ImplicitLocOpBuilder &b, Value block, Value into, int64_t r0,
                  int64_t c0) {
  auto shape = cast<RankedTensorType>(block.getType()).getShape();
  return tensor::InsertSliceOp::create(
      b, block, into,
      ArrayRef<OpFoldResult>{b.getIndexAttr(r0), b.getIndexAttr(c0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(shape[0]),
                             b.getIndexAttr(shape[1])},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

Value transposed(ImplicitLocOpBuilder &b, Value tile) {
  auto shape = cast<RankedTensorType>(tile.getType()).getShape();
  Value init = tensor::EmptyOp::create(b, ArrayRef<int64_t>{shape[1], shape[0]},
                                       b.getF32Type());
  return linalg::TransposeOp::create(b, tile, init, ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

namespace {
/// The token of row or column `i` of a tile with `perToken` rows per token.
Value tokenOf(OpBuilder &nb, Location loc, Value i, int64_t perToken) {
  if (perToken == 1)
    return i;
  return arith::DivUIOp::create(
      nb, loc, i, arith::ConstantIndexOp::create(nb, loc, perToken));
}
} // namespace

Value causalDecayMask(ImplicitLocOpBuilder &b, Value scores, Value Grow,
                      Value Gcol, CausalMask mask) {
  auto keep = mask.strictlyLower ? arith::CmpIPredicate::ult
                                 : arith::CmpIPredicate::ule;
  return mapTile(b, scores, Grow, Gcol,
                 [&](OpBuilder &nb, Location loc, Value i, Value j, Value x,
                     Value gi, Value gj) -> Value {
                   Value lower = arith::CmpIOp::create(
                       nb, loc, keep, tokenOf(nb, loc, j, mask.colsPerToken),
                       tokenOf(nb, loc, i, mask.rowsPerToken));
                   Value w = x;
                   if (gi)
                     w = arith::MulFOp::create(
                         nb, loc, x,
                         math::ExpOp::create(
                             nb, loc, arith::SubFOp::create(nb, loc, gi, gj)));
                   Value zero = arith::ConstantOp::create(
                       nb, loc, nb.getF32FloatAttr(0.0f));
                   return arith::SelectOp::create(nb, loc, lower, w, zero);
                 });
}

namespace {
/// tile * exp(a - c) with a, c each a [rows, K] tile or a row, read through
/// their maps.
Value timesExp(ImplicitLocOpBuilder &b, Value tile,
               std::pair<Value, AffineMap> a, std::pair<Value, AffineMap> c) {
  return mapN(b, tile, {a, c},
              [](OpBuilder &nb, Location loc, ValueRange v) -> Value {
                Value e = math::ExpOp::create(
                    nb, loc, arith::SubFOp::create(nb, loc, v[0], v[1]));
                return arith::MulFOp::create(nb, loc, v[2], e);
              });
}

/// The largest |exponent| the factored diagonal blocks allow: factors stay
/// within [e^-30, e^30], far from f32's limits, whatever their product.
constexpr float kFactorBound = 30.0f;

/// max(worst, max |G - R|) over the 2-D tile G, with R a row ([K]) read
/// down G's rows, or max(worst, max |G|) without R: a 0-d f32 tensor.
Value maxAbsInto(ImplicitLocOpBuilder &b, Value worst, Value G, Value R) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> ins = {G};
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(2, ctx)};
  if (R) {
    ins.push_back(R);
    maps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx));
  }
  maps.push_back(AffineMap::get(2, 0, {}, ctx));
  return linalg::GenericOp::create(
             b, TypeRange{worst.getType()}, ins, ValueRange{worst}, maps,
             ArrayRef<IteratorType>{IteratorType::reduction,
                                    IteratorType::reduction},
             [&](OpBuilder &nb, Location loc, ValueRange a) {
               Value d = R ? arith::SubFOp::create(nb, loc, a[0], a[1]) : a[0];
               linalg::YieldOp::create(
                   nb, loc,
                   ValueRange{arith::MaximumFOp::create(
                       nb, loc, a.back(), math::AbsFOp::create(nb, loc, d))});
             })
      .getResult(0);
}

/// Whether the 0-d tensor `worst` is at most `bound`: an i1 (false for NaN).
Value atMost(ImplicitLocOpBuilder &b, Value worst, float bound) {
  Value w = tensor::ExtractOp::create(b, worst, ValueRange{});
  return arith::CmpFOp::create(
      b, arith::CmpFPredicate::OLE, w,
      arith::ConstantOp::create(b, b.getF32FloatAttr(bound)));
}

Value zeroScalar(ImplicitLocOpBuilder &b) {
  return tensor::FromElementsOp::create(
      b, RankedTensorType::get({}, b.getF32Type()),
      ValueRange{arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f))});
}

/// Whether every entry of the log-gate tiles `Gs` ([n, K] each) is within
/// kFactorBound of the reference row `R` ([K]): an i1 (false for NaN).
Value withinFactorBound(ImplicitLocOpBuilder &b, ArrayRef<Value> Gs, Value R) {
  Value worst = zeroScalar(b);
  for (Value G : Gs)
    worst = maxAbsInto(b, worst, G, R);
  return atMost(b, worst, kFactorBound);
}

/// Whether every entry of the 2-D tile `Y` is finite: an i1.
Value allFinite(ImplicitLocOpBuilder &b, Value Y) {
  return atMost(b, maxAbsInto(b, zeroScalar(b), Y, Value()),
                std::numeric_limits<float>::max());
}

/// `fast` when `cond`, else `exact`: each builds a tile of the same type.
/// Without `cond` (null): `exact` alone.
Value eitherTile(ImplicitLocOpBuilder &b, Value cond,
                 const std::function<Value(ImplicitLocOpBuilder &)> &fast,
                 const std::function<Value(ImplicitLocOpBuilder &)> &exact) {
  if (!cond)
    return exact(b);
  auto branch = [](const std::function<Value(ImplicitLocOpBuilder &)> &fn) {
    return [&fn](OpBuilder &nb, Location loc) {
      ImplicitLocOpBuilder ib(loc, nb);
      scf::YieldOp::create(ib, ValueRange{fn(ib)});
    };
  };
  auto thenBuilder = branch(fast), elseBuilder = branch(exact);
  return scf::IfOp::create(b, cond, thenBuilder, elseBuilder).getResult(0);
}
} // namespace

Value perChannelGatedScores(ImplicitLocOpBuilder &b, Value X, Value Grow,
                            Value Y, Value Gcol, CausalMask mask,
                            bool factored) {
  MLIRContext *ctx = b.getContext();
  const int64_t perRow = mask.rowsPerToken, perCol = mask.colsPerToken;
  const int64_t n = dimSize(X, 0), m = dimSize(Y, 0), C = n / perRow;
  const int64_t sub = std::min<int64_t>(kSubChunk, C);
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap col = AffineMap::get(2, 0, {d1}, ctx); // (i, k) -> k
  AffineMap ik = AffineMap::get(3, 0, {d0, d2}, ctx);
  AffineMap jk = AffineMap::get(3, 0, {d1, d2}, ctx);
  AffineMap ij = AffineMap::get(3, 0, {d0, d1}, ctx);
  Value A = zeroTile(b, {n, m});
  for (int64_t p = 0; p * sub < C; ++p) {
    // Token block [p0, p0 + sub) of the columns and the rows of the same
    // tokens, then the `below` tokens after it.
    int64_t p0 = p * sub, below = C - p0 - sub;
    Value Xp = rowsOf(b, X, p0 * perRow, sub * perRow);
    Value Grp = rowsOf(b, Grow, p0 * perRow, sub * perRow);
    Value Yp = rowsOf(b, Y, p0 * perCol, sub * perCol);
    Value Gcp = rowsOf(b, Gcol, p0 * perCol, sub * perCol);
    // Diagonal block. Where the block's gates stay within kFactorBound of
    // its first column's, exp(Grow_ik - Gcol_jk) factors through that row F:
    // (Xp * exp(Grp - F)) (Yp * exp(F - Gcp))^T, one matmul. Otherwise
    // (gates of large magnitude) the exponent is taken inside the sum, per
    // entry, exactly. Masked either way.
    Type diagType =
        RankedTensorType::get({sub * perRow, sub * perCol}, b.getF32Type());
    Value F = rowOf(b, Gcol, p0 * perCol);
    Value diag = eitherTile(
        b, factored ? withinFactorBound(b, {Grp, Gcp}, F) : Value(),
        [&](ImplicitLocOpBuilder &ib) {
          Value Xf = timesExp(ib, Xp, {Grp, id2}, {F, col});
          Value Yf = timesExp(ib, Yp, {F, col}, {Gcp, id2});
          return matmul(ib, Xf, transposed(ib, Yf),
                        zeroTile(ib, {sub * perRow, sub * perCol}));
        },
        [&](ImplicitLocOpBuilder &ib) {
          return linalg::GenericOp::create(
                     ib, TypeRange{diagType}, ValueRange{Xp, Yp, Grp, Gcp},
                     ValueRange{zeroTile(ib, {sub * perRow, sub * perCol})},
                     ArrayRef<AffineMap>{ik, jk, ik, jk, ij},
                     ArrayRef<IteratorType>{IteratorType::parallel,
                                            IteratorType::parallel,
                                            IteratorType::reduction},
                     [&](OpBuilder &nb, Location loc, ValueRange a) {
                       Value e = math::ExpOp::create(
                           nb, loc, arith::SubFOp::create(nb, loc, a[2], a[3]));
                       Value xy = arith::MulFOp::create(nb, loc, a[0], a[1]);
                       Value t = arith::MulFOp::create(nb, loc, xy, e);
                       linalg::YieldOp::create(
                           nb, loc,
                           ValueRange{arith::AddFOp::create(nb, loc, a[4], t)});
                     })
              .getResult(0);
        });
    diag = causalDecayMask(b, diag, Value(), Value(), mask);
    A = insertBlock(b, diag, A, p0 * perRow, p0 * perCol);
    if (below <= 0)
      continue;
    // Later rows against this block, through R = Gcol at its last token.
    Value R = rowOf(b, Gcol, (p0 + sub) * perCol - 1);
    int64_t r0 = (p0 + sub) * perRow;
    Value Xr = timesExp(b, rowsOf(b, X, r0, below * perRow),
                        {rowsOf(b, Grow, r0, below * perRow), id2}, {R, col});
    Value Yr = timesExp(b, Yp, {R, col}, {Gcp, id2});
    Value block = matmul(b, Xr, transposed(b, Yr),
                         zeroTile(b, {below * perRow, sub * perCol}));
    A = insertBlock(b, block, A, r0, p0 * perCol);
  }
  return A;
}

Value perChannelGatedRead(ImplicitLocOpBuilder &b, Value P, Value Grow, Value Y,
                          Value Gcol, int64_t colsPerToken, bool factored) {
  MLIRContext *ctx = b.getContext();
  const int64_t perCol = colsPerToken, C = dimSize(P, 0), K = dimSize(Y, 1);
  const int64_t sub = std::min<int64_t>(kSubChunk, C);
  // Maps of the loops (x, y) or, in the diagonal block, (i, k, j): P[i, j],
  // Y[j, k], Grow[i, k], Gcol[j, k], out[i, k].
  auto dims = [&](unsigned n, ArrayRef<unsigned> of) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : of)
      exprs.push_back(getAffineDimExpr(d, ctx));
    return AffineMap::get(n, 0, exprs, ctx);
  };
  AffineMap id2 = dims(2, {0, 1}), col = dims(2, {1});
  AffineMap ij = dims(3, {0, 2}), jk = dims(3, {2, 1}), ik = dims(3, {0, 1});
  Value O = zeroTile(b, {C, K});
  for (int64_t p = 0; p * sub < C; ++p) {
    int64_t p0 = p * sub, below = C - p0 - sub;
    Value Pp = blockOf(b, P, p0, p0 * perCol, sub, sub * perCol);
    Value Yp = rowsOf(b, Y, p0 * perCol, sub * perCol);
    Value Gcp = rowsOf(b, Gcol, p0 * perCol, sub * perCol);
    // Diagonal block, added to what the blocks before gave these rows; the
    // mask selects before anything is summed. Factored through the block's
    // first column gate F where its gates allow (see perChannelGatedScores):
    // ((masked Pp) (Yp * exp(F - Gcp))) * exp(Grp - F); else exactly. The
    // product sums every column, so a non-finite Y (0 * Inf in a masked
    // entry) takes the exact form, which never reads masked entries.
    Type diagType = RankedTensorType::get({sub, K}, b.getF32Type());
    Value Grp = rowsOf(b, Grow, p0, sub), earlier = rowsOf(b, O, p0, sub);
    Value F = rowOf(b, Gcol, p0 * perCol);
    Value tame =
        factored ? arith::AndIOp::create(b, withinFactorBound(b, {Grp, Gcp}, F),
                                         allFinite(b, Yp))
                 : Value();
    Value diag = eitherTile(
        b, tame,
        [&](ImplicitLocOpBuilder &ib) {
          Value kept = causalDecayMask(ib, Pp, Value(), Value(),
                                       CausalMask{false, 1, perCol});
          Value part = matmul(ib, kept, timesExp(ib, Yp, {F, col}, {Gcp, id2}),
                              zeroTile(ib, {sub, K}));
          part = timesExp(ib, part, {Grp, id2}, {F, col});
          return mapN(ib, earlier, {{part, id2}},
                      [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                        return arith::AddFOp::create(nb, loc, a[1], a[0]);
                      });
        },
        [&](ImplicitLocOpBuilder &ib) {
          return linalg::GenericOp::create(
                     ib, TypeRange{diagType}, ValueRange{Pp, Yp, Grp, Gcp},
                     ValueRange{earlier},
                     ArrayRef<AffineMap>{ij, jk, ik, jk, ik},
                     ArrayRef<IteratorType>{IteratorType::parallel,
                                            IteratorType::parallel,
                                            IteratorType::reduction},
                     [&](OpBuilder &nb, Location loc, ValueRange a) {
                       Value i = linalg::IndexOp::create(nb, loc, 0);
                       Value j = linalg::IndexOp::create(nb, loc, 2);
                       Value kept = arith::CmpIOp::create(
                           nb, loc, arith::CmpIPredicate::ule,
                           tokenOf(nb, loc, j, perCol), i);
                       Value e = math::ExpOp::create(
                           nb, loc, arith::SubFOp::create(nb, loc, a[2], a[3]));
                       Value t = arith::MulFOp::create(
                           nb, loc, arith::MulFOp::create(nb, loc, a[0], a[1]),
                           e);
                       Value sum = arith::AddFOp::create(nb, loc, a[4], t);
                       linalg::YieldOp::create(
                           nb, loc,
                           ValueRange{arith::SelectOp::create(nb, loc, kept,
                                                              sum, a[4])});
                     })
              .getResult(0);
        });
    O = insertBlock(b, diag, O, p0, 0);
    if (below <= 0)
      continue;
    // Later rows: (P_rp (Y_p * exp(R - Gcol_p))) * exp(Grow_r - R).
    Value R = rowOf(b, Gcol, (p0 + sub) * perCol - 1);
    int64_t r0 = p0 + sub;
    Value Yr = timesExp(b, Yp, {R, col}, {Gcp, id2});
    Value part = matmul(b, blockOf(b, P, r0, p0 * perCol, below, sub * perCol),
                        Yr, zeroTile(b, {below, K}));
    part = timesExp(b, part, {rowsOf(b, Grow, r0, below), id2}, {R, col});
    Value rows = mapN(b, rowsOf(b, O, r0, below), {{part, id2}},
                      [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                        return arith::AddFOp::create(nb, loc, a[1], a[0]);
                      });
    O = insertBlock(b, rows, O, r0, 0);
  }
  return O;
}

Value forwardSubstitute(ImplicitLocOpBuilder &b, Value A, Value R) {
  auto type = cast<RankedTensorType>(R.getType());
  const int64_t C = type.getDimSize(0), W = type.getDimSize(1);
  auto rowType = VectorType::get({W}, b.getF32Type());
  Value zero = indexConst(b, 0);
  auto readRow = [&](ImplicitLocOpBuilder &b, Value t, Value i) -> Value {
    return vector::TransferReadOp::create(b, rowType, t, ValueRange{i, zero},
                                          f32Const(b, 0.0f),
                                          ArrayRef<bool>{true});
  };
  return forLoop(
      b, zero, indexConst(b, C), {R},
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value Z = a[0]; // rows < i are solved, rows >= i still hold R
        auto acc =
            forLoop(b, zero, i, {readRow(b, Z, i)},
                    [&](ImplicitLocOpBuilder &b, Value j, ValueRange acc) {
                      Value aij =
                          tensor::ExtractOp::create(b, A, ValueRange{i, j});
                      Value neg = arith::NegFOp::create(b, aij);
                      return SmallVector<Value>{vector::FMAOp::create(
                          b, splat(b, neg, W), readRow(b, Z, j), acc[0])};
                    });
        return SmallVector<Value>{
            vector::TransferWriteOp::create(b, acc[0], Z, ValueRange{i, zero},
                                            ArrayRef<bool>{true})
                .getResult()};
      })[0];
}

Value blockOf(ImplicitLocOpBuilder &b, Value tile, int64_t r0, int64_t c0,
              int64_t n, int64_t m) {
  auto type = cast<RankedTensorType>(tile.getType());
  return tensor::ExtractSliceOp::create(
      b, RankedTensorType::get({n, m}, type.getElementType()), tile,
      ArrayRef<OpFoldResult>{b.getIndexAttr(r0), b.getIndexAttr(c0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(n), b.getIndexAttr(m)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

Value invertUnitLower(ImplicitLocOpBuilder &b, Value A, int64_t block) {
  const int64_t C = cast<ShapedType>(A.getType()).getDimSize(0);
  if (C % block != 0)
    block = C;
  const int64_t blocks = C / block;
  Value identity = mapTile(
      b, zeroTile(b, {block, block}), Value(), Value(),
      [](OpBuilder &nb, Location loc, Value i, Value j, Value, Value,
         Value) -> Value {
        Value diag =
            arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq, i, j);
        return arith::SelectOp::create(
            nb, loc, diag,
            arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(1.0f)),
            arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.0f)));
      });
  SmallVector<Value> diagInverse;
  Value T = zeroTile(b, {C, C});
  for (int64_t p = 0; p < blocks; ++p) {
    Value Tpp = forwardSubstitute(
        b, blockOf(b, A, p * block, p * block, block, block), identity);
    diagInverse.push_back(Tpp);
    T = insertBlock(b, Tpp, T, p * block, p * block);
  }
  for (int64_t p = 1; p < blocks; ++p) {
    for (int64_t q = p - 1; q >= 0; --q) {
      Value sum = zeroTile(b, {block, block});
      for (int64_t r = q; r < p; ++r)
        sum = matmul(b, blockOf(b, A, p * block, r * block, block, block),
                     blockOf(b, T, r * block, q * block, block, block), sum);
      Value Tpq = negated(
          b, matmul(b, diagInverse[p], sum, zeroTile(b, {block, block})));
      T = insertBlock(b, Tpq, T, p * block, q * block);
    }
  }
  return T;
}

} // namespace mixir::lowering
