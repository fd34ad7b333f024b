//===- ChunkedLinearAttention.cpp - chunkwise form of linear attention ----===//
//
// MIXERS.md "Chunkwise algorithms": the sequence is cut into chunks of C
// tokens (the last one zero-padded). Per chunk, with Gc the in-chunk
// cumulative log gate (f32):
//   O = scale [ (Q * exp(Gc)) S + ((Q K^T) * exp(Gc_i - Gc_j) * causal) V ]
//   S = exp(Gc_last) S + (K * exp(Gc_last - Gc))^T V
// Every product is a matmul-shaped linalg op on static [C, K] / [C, V] /
// [C, C] / [K, V] tiles, so the same IR can be tiled for the CPU or mapped to
// tensor cores. Every exponent is <= 0 for gates <= 0. Padded rows carry a
// zero gate, zero keys and values, so they change neither Gc_last nor S.
// Handles gate kinds none, head and scalar; per-channel (vector) gates need
// the sub-chunked diagonal blocks of the GLA paper and stay recurrent.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::lowering {
namespace {

/// Tokens per secondary sub-chunk for per-channel gates (GLA paper).
constexpr int64_t kSubChunk = 16;

using utils::IteratorType;

Value zeroTile(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape) {
  Value empty = tensor::EmptyOp::create(b, shape, b.getF32Type());
  return linalg::FillOp::create(b, ValueRange{f32Const(b, 0.0f)},
                                ValueRange{empty})
      .getResult(0);
}

/// A [C, W] f32 tile whose row i is src[index(i)] for i < valid, else 0.
Value loadTile(ImplicitLocOpBuilder &b, Value src, int64_t C, int64_t W,
               Value valid,
               const std::function<SmallVector<Value>(ImplicitLocOpBuilder &,
                                                      Value)> &index) {
  Value tile = tensor::EmptyOp::create(b, ArrayRef<int64_t>{C, W},
                                       b.getF32Type());
  Value zero = indexConst(b, 0);
  return forLoop(b, zero, indexConst(b, C), {tile}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
    Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, valid);
    auto row = scf::IfOp::create(b, TypeRange{VectorType::get({W}, b.getF32Type())},
                                 inside, /*withElseRegion=*/true);
    {
      auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(), &row.getThenRegion().front());
      scf::YieldOp::create(tb, readF32Vector(tb, src, index(tb, i), W));
    }
    {
      auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(), &row.getElseRegion().front());
      scf::YieldOp::create(eb, f32Splat(eb, 0.0f, W));
    }
    return SmallVector<Value>{writeVector(b, row.getResult(0), a[0], {i, zero})};
  })[0];
}

/// out[i, j] (+)= sum_r lhs(maps) * rhs(maps): a matmul-shaped contraction
/// over the last loop dimension with the given operand maps.
Value contract(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value init,
               AffineMap lhsMap, AffineMap rhsMap) {
  MLIRContext *ctx = b.getContext();
  AffineMap outMap = AffineMap::get(3, 0, {getAffineDimExpr(0, ctx),
                                           getAffineDimExpr(1, ctx)}, ctx);
  return linalg::GenericOp::create(
             b, TypeRange{init.getType()}, ValueRange{lhs, rhs}, ValueRange{init},
             ArrayRef<AffineMap>{lhsMap, rhsMap, outMap},
             ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                                    IteratorType::reduction},
             [](OpBuilder &nb, Location loc, ValueRange args) {
               Value p = arith::MulFOp::create(nb, loc, args[0], args[1]);
               linalg::YieldOp::create(nb, loc, ValueRange{arith::AddFOp::create(nb, loc, args[2], p)});
             })
      .getResult(0);
}

Value matmul(ImplicitLocOpBuilder &b, Value lhs, Value rhs, Value acc) {
  return linalg::MatmulOp::create(b, TypeRange{acc.getType()},
                                  ValueRange{lhs, rhs}, ValueRange{acc})
      .getResult(0);
}

/// fn(i, j, tile[i, j], G[i], G[j]) over a 2-D tile as a linalg.generic;
/// `G` (a per-token f32 vector, may be null) is read through a row (and,
/// for square [C, C] tiles, a column) indexing map so the op stays
/// vectorisable; G[j] is null without `withColumn`.
Value mapTile(ImplicitLocOpBuilder &b, Value tile, Value G, bool withColumn,
              const std::function<Value(OpBuilder &, Location, Value, Value,
                                        Value, Value, Value)> &fn) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(tile.getType());
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  if (G) {
    inputs.push_back(G);
    maps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx));
  }
  if (G && withColumn) {
    inputs.push_back(G);
    maps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx));
  }
  maps.push_back(id);
  return linalg::GenericOp::create(
             b, TypeRange{type}, inputs, ValueRange{tile}, maps,
             ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel},
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               Value i = linalg::IndexOp::create(nb, loc, 0);
               Value j = linalg::IndexOp::create(nb, loc, 1);
               Value gi = G ? args[0] : Value();
               Value gj = G && withColumn ? args[1] : Value();
               linalg::YieldOp::create(nb, loc, ValueRange{fn(nb, loc, i, j, args.back(), gi, gj)});
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
      ArrayRef<OpFoldResult>{b.getIndexAttr(shape[0]), b.getIndexAttr(shape[1])},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

Value transposed(ImplicitLocOpBuilder &b, Value tile) {
  auto shape = cast<RankedTensorType>(tile.getType()).getShape();
  Value init = tensor::EmptyOp::create(b, ArrayRef<int64_t>{shape[1], shape[0]},
                                       b.getF32Type());
  return linalg::TransposeOp::create(b, tile, init, ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

/// fn(G[i]) over a 1-D f32 tile.
Value mapVector(ImplicitLocOpBuilder &b, Value G,
                const std::function<Value(OpBuilder &, Location, Value)> &fn) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, b.getContext());
  Value out = tensor::EmptyOp::create(
      b, cast<RankedTensorType>(G.getType()).getShape(), b.getF32Type());
  return linalg::GenericOp::create(
             b, TypeRange{out.getType()}, ValueRange{G}, ValueRange{out},
             ArrayRef<AffineMap>{id, id},
             ArrayRef<IteratorType>{IteratorType::parallel},
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               linalg::YieldOp::create(nb, loc, ValueRange{fn(nb, loc, args[0])});
             })
      .getResult(0);
}

} // namespace

namespace {
SmallVector<Value> buildChunked(ImplicitLocOpBuilder &b,
                                mix::LinearAttentionOp op, int64_t chunk,
                                const SymbolSizes &sizes) {
  Value q = op.getQ(), k = op.getK(), v = op.getV(), g = op.getG(),
        init = op.getInitialState();
  GateKind gate = op.getGateKind();
  auto dimOf = [](Value t, unsigned i) {
    return cast<ShapedType>(t.getType()).getDimSize(i);
  };
  const int64_t hq = dimOf(q, 2), hk = dimOf(k, 2), hv = dimOf(v, 2);
  const int64_t K = dimOf(q, 3), V = dimOf(v, 3), C = chunk;
  const int64_t ho = std::max(hq, hv), group = ho / hv, qShare = ho / hq,
                kShare = hv / hk;
  const float scale = op.getScaleOrDefault();
  auto oType = op.getO().getType();
  auto stateType = op.getFinalState().getType();
  MLIRContext *ctx = op.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  // (a, c, i): S[a, c] += sum_i Kd[i, a] V[i, c]
  AffineMap kdMap = AffineMap::get(3, 0, {d2, d0}, ctx);
  AffineMap vMap = AffineMap::get(3, 0, {d2, d1}, ctx);

  {
    Value zero = indexConst(b, 0);
    Value T = sizes.lookup("T");
    Value numChunks = arith::CeilDivUIOp::create(b, T, indexConst(b, C));
    Value o0 = emptyLike(b, oType, {"B", "T", "Ho", "V"}, sizes);
    Value s0 = emptyLike(b, stateType, {"B", "Hv", "K", "V"}, sizes);
    // One chunk with a per-key-channel (vector) gate, after the GLA paper:
    // Gc is [C, K]; the intra-chunk scores are computed per 16-token key
    // block p, off the diagonal as (Q * exp(Gc - R_p)) (K_p * exp(R_p -
    // Gc_p))^T with R_p the cumulative gate at the block's last token (both
    // exponents <= 0 for later queries), on the diagonal directly as
    // sum_k Q_ik K_jk exp(Gc_ik - Gc_jk).
    auto vectorGateChunk = [&](ImplicitLocOpBuilder &b, Value o, Value S,
                               Value Kt, Value Vt, Value t0, Value valid,
                               Value bi, Value s) -> SmallVector<Value> {
      const int64_t sub = std::min<int64_t>(kSubChunk, C);
      MLIRContext *ctx = b.getContext();
      AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
      AffineMap col = AffineMap::get(2, 0, {d1}, ctx); // (i, k) -> k
      Value empty = tensor::EmptyOp::create(b, ArrayRef<int64_t>{C, K}, b.getF32Type());
      Value zeroRow = f32Splat(b, 0.0f, K);
      auto cum = forLoop(b, zero, indexConst(b, C), {empty, zeroRow}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, valid);
        Value ti = arith::MinUIOp::create(b, arith::AddIOp::create(b, t0, i), arith::SubIOp::create(b, T, indexConst(b, 1)));
        Value gi = arith::SelectOp::create(b, inside, readF32Vector(b, g, {bi, ti, s, zero}, K), zeroRow);
        Value run = arith::AddFOp::create(b, a[1], gi);
        return SmallVector<Value>{writeVector(b, run, a[0], {i, zero}), run};
      });
      Value Gc = cum[0];
      Value gLast = rowOf(b, Gc, C - 1);
      auto expOf = [](OpBuilder &nb, Location loc, Value x) -> Value {
        return math::ExpOp::create(nb, loc, x);
      };
      // Kd = K * exp(Gc_last - Gc), the keys as seen from the chunk's end.
      Value Kd = mapN(b, Kt, {{Gc, id2}, {gLast, col}}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
        Value e = expOf(nb, loc, arith::SubFOp::create(nb, loc, a[1], a[0]));
        return arith::MulFOp::create(nb, loc, a[2], e);
      });

      for (int64_t r = 0; r < group; ++r) {
        Value oh = arith::AddIOp::create(b, arith::MulIOp::create(b, s, indexConst(b, group)), indexConst(b, r));
        Value qh = arith::DivUIOp::create(b, oh, indexConst(b, qShare));
        Value Qt = loadTile(b, q, C, K, valid, [&](ImplicitLocOpBuilder &b, Value i) {
          return SmallVector<Value>{bi, arith::AddIOp::create(b, t0, i), qh, zero};
        });
        // Inter-chunk: (Q * exp(Gc)) S.
        Value Qg = mapN(b, Qt, {{Gc, id2}}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
          return arith::MulFOp::create(nb, loc, a[1], expOf(nb, loc, a[0]));
        });
        Value O = matmul(b, Qg, S, zeroTile(b, {C, V}));
        // Intra-chunk scores, block column by block column.
        Value A = zeroTile(b, {C, C});
        for (int64_t p = 0; p * sub < C; ++p) {
          int64_t p0 = p * sub, below = C - p0 - sub;
          Value Qp = rowsOf(b, Qt, p0, sub), Kp = rowsOf(b, Kt, p0, sub);
          Value Gp = rowsOf(b, Gc, p0, sub);
          // Diagonal block: exp(Gc_ik - Gc_jk) inside the sum, j <= i.
          AffineMap ik = AffineMap::get(3, 0, {d0, d2}, ctx);
          AffineMap jk = AffineMap::get(3, 0, {d1, d2}, ctx);
          AffineMap ij = AffineMap::get(3, 0, {d0, d1}, ctx);
          Value diag = linalg::GenericOp::create(
                           b, TypeRange{RankedTensorType::get({sub, sub}, b.getF32Type())},
                           ValueRange{Qp, Kp, Gp, Gp}, ValueRange{zeroTile(b, {sub, sub})},
                           ArrayRef<AffineMap>{ik, jk, ik, jk, ij},
                           ArrayRef<IteratorType>{IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
                           [&](OpBuilder &nb, Location loc, ValueRange a) {
                             Value e = expOf(nb, loc, arith::SubFOp::create(nb, loc, a[2], a[3]));
                             Value qk = arith::MulFOp::create(nb, loc, a[0], a[1]);
                             Value t = arith::MulFOp::create(nb, loc, qk, e);
                             linalg::YieldOp::create(nb, loc, ValueRange{arith::AddFOp::create(nb, loc, a[4], t)});
                           })
                           .getResult(0);
          diag = mapTile(b, diag, Value(), /*withColumn=*/false, [&](OpBuilder &nb, Location loc, Value i, Value j, Value x, Value, Value) -> Value {
            Value causal = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ule, j, i);
            return arith::SelectOp::create(nb, loc, causal, x, arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.0f)));
          });
          A = insertBlock(b, diag, A, p0, p0);
          if (below <= 0)
            continue;
          // Later queries against this key block, through R = Gc[p0+sub-1].
          Value R = rowOf(b, Gc, p0 + sub - 1);
          Value Qr = mapN(b, rowsOf(b, Qt, p0 + sub, below), {{rowsOf(b, Gc, p0 + sub, below), id2}, {R, col}},
                          [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                            Value e = expOf(nb, loc, arith::SubFOp::create(nb, loc, a[0], a[1]));
                            return arith::MulFOp::create(nb, loc, a[2], e);
                          });
          Value Kr = mapN(b, Kp, {{Gp, id2}, {R, col}}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
            Value e = expOf(nb, loc, arith::SubFOp::create(nb, loc, a[1], a[0]));
            return arith::MulFOp::create(nb, loc, a[2], e);
          });
          Value block = matmul(b, Qr, transposed(b, Kr), zeroTile(b, {below, sub}));
          A = insertBlock(b, block, A, p0 + sub, p0);
        }
        O = matmul(b, A, Vt, O);
        o = forLoop(b, zero, valid, {o}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
          Value row = vector::TransferReadOp::create(b, VectorType::get({V}, b.getF32Type()), O, ValueRange{i, zero}, f32Const(b, 0.0f), ArrayRef<bool>{true});
          row = arith::MulFOp::create(b, row, f32Splat(b, scale, V));
          return SmallVector<Value>{writeVector(b, row, a[0], {arith::AddIOp::create(b, t0, i), indexConst(b, r), zero})};
        })[0];
      }
      // State: rows of S decay by exp(Gc_last[k]), then S += Kd^T V.
      S = mapN(b, S, {{gLast, AffineMap::get(2, 0, {d0}, ctx)}}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, loc, a[1], expOf(nb, loc, a[0]));
      });
      S = contract(b, Kd, Vt, S, kdMap, vMap);
      return {o, S};
    };

    return forEachStateHead(b, sizes, hv, group, o0, s0, init, [&](ImplicitLocOpBuilder &b, Value bi, Value s, Value oRows, Value S) {
        Value kHead = arith::DivUIOp::create(b, s, indexConst(b, kShare));
        Value headGate = gate == GateKind::head ? readF32(b, g, {s}) : Value();

        auto chunks = forLoop(b, zero, numChunks, {oRows, S}, [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
          Value o = a[0], S = a[1];
          Value t0 = arith::MulIOp::create(b, n, indexConst(b, C));
          Value valid = arith::MinUIOp::create(b, indexConst(b, C), arith::SubIOp::create(b, T, t0));
          auto token = [&](ImplicitLocOpBuilder &b, Value i) -> Value {
            return arith::AddIOp::create(b, t0, i);
          };
          Value Kt = loadTile(b, k, C, K, valid, [&](ImplicitLocOpBuilder &b, Value i) {
            return SmallVector<Value>{bi, token(b, i), kHead, zero};
          });
          // K^T once per chunk, so Q K^T is a plain matmul with unit-stride
          // rows on both sides.
          Value KtT = transposed(b, Kt);
          Value Vt = loadTile(b, v, C, V, valid, [&](ImplicitLocOpBuilder &b, Value i) {
            return SmallVector<Value>{bi, token(b, i), s, zero};
          });

          if (gate == GateKind::vector)
            return vectorGateChunk(b, o, S, Kt, Vt, t0, valid, bi, s);

          // Gc: in-chunk cumulative log gate; padded rows add nothing.
          Value Gc, gLast;
          if (gate != GateKind::none) {
            Value empty = tensor::EmptyOp::create(b, ArrayRef<int64_t>{C}, b.getF32Type());
            auto cum = forLoop(b, zero, indexConst(b, C), {empty, f32Const(b, 0.0f)}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
              Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, valid);
              Value gi = headGate;
              if (gate == GateKind::scalar) {
                // Clamp the index so the padded rows read a valid token.
                Value ti = arith::MinUIOp::create(b, token(b, i), arith::SubIOp::create(b, T, indexConst(b, 1)));
                gi = readF32(b, g, {bi, ti, s});
              }
              gi = arith::SelectOp::create(b, inside, gi, f32Const(b, 0.0f));
              Value run = arith::AddFOp::create(b, a[1], gi);
              return SmallVector<Value>{tensor::InsertOp::create(b, run, a[0], ValueRange{i}), run};
            });
            Gc = cum[0];
            gLast = cum[1];
          }
          // Per-token factors exp(Gc) and exp(Gc_last - Gc), both <= 1.
          Value expG, expTail;
          if (Gc) {
            expG = mapVector(b, Gc, [](OpBuilder &nb, Location loc, Value g) -> Value {
              return math::ExpOp::create(nb, loc, g);
            });
            expTail = mapVector(b, Gc, [&](OpBuilder &nb, Location loc, Value g) -> Value {
              return math::ExpOp::create(nb, loc, arith::SubFOp::create(nb, loc, gLast, g));
            });
          }

          for (int64_t r = 0; r < group; ++r) {
            Value oh = arith::AddIOp::create(b, arith::MulIOp::create(b, s, indexConst(b, group)), indexConst(b, r));
            Value qh = arith::DivUIOp::create(b, oh, indexConst(b, qShare));
            Value Qt = loadTile(b, q, C, K, valid, [&](ImplicitLocOpBuilder &b, Value i) {
              return SmallVector<Value>{bi, token(b, i), qh, zero};
            });
            // Intra-chunk: (Q K^T) masked causally and decayed.
            Value A = matmul(b, Qt, KtT, zeroTile(b, {C, C}));
            A = mapTile(b, A, Gc, /*withColumn=*/true, [&](OpBuilder &nb, Location loc, Value i, Value j, Value x, Value gi, Value gj) -> Value {
              Value causal = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ule, j, i);
              Value w = x;
              if (Gc)
                w = arith::MulFOp::create(nb, loc, x, math::ExpOp::create(nb, loc, arith::SubFOp::create(nb, loc, gi, gj)));
              return arith::SelectOp::create(nb, loc, causal, w, arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.0f)));
            });
            // Inter-chunk: (Q * exp(Gc)) S.
            Value Qg = Qt;
            if (Gc)
              Qg = mapTile(b, Qt, expG, /*withColumn=*/false, [&](OpBuilder &nb, Location loc, Value, Value, Value x, Value ei, Value) -> Value {
                return arith::MulFOp::create(nb, loc, x, ei);
              });
            Value O = matmul(b, Qg, S, zeroTile(b, {C, V}));
            O = matmul(b, A, Vt, O);
            // Store the valid rows, scaled, in the output type.
            o = forLoop(b, zero, valid, {o}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
              Value row = vector::TransferReadOp::create(b, VectorType::get({V}, b.getF32Type()), O, ValueRange{i, zero}, f32Const(b, 0.0f), ArrayRef<bool>{true});
              row = arith::MulFOp::create(b, row, f32Splat(b, scale, V));
              return SmallVector<Value>{writeVector(b, row, a[0], {token(b, i), indexConst(b, r), zero})};
            })[0];
          }

          // State: S = exp(Gc_last) S + (K * exp(Gc_last - Gc))^T V.
          Value Kd = Kt;
          if (Gc) {
            Kd = mapTile(b, Kt, expTail, /*withColumn=*/false, [&](OpBuilder &nb, Location loc, Value, Value, Value x, Value wi, Value) -> Value {
              return arith::MulFOp::create(nb, loc, x, wi);
            });
            Value decay = math::ExpOp::create(b, gLast);
            S = mapTile(b, S, Value(), /*withColumn=*/false, [&](OpBuilder &nb, Location loc, Value, Value, Value x, Value, Value) -> Value {
              return arith::MulFOp::create(nb, loc, x, decay);
            });
          }
          S = contract(b, Kd, Vt, S, kdMap, vMap);
          return SmallVector<Value>{o, S};
        });
        return std::make_pair(chunks[0], chunks[1]);
    });
  }
}
} // namespace

LogicalResult lowerChunkedLinearAttention(RewriterBase &rewriter,
                                          mix::LinearAttentionOp op,
                                          int64_t chunk,
                                          int64_t minChunkedLength) {
  int64_t staticT = op.getQ().getType().getDimSize(1);
  return lowerWithShapeChecks(rewriter, op, [&](ImplicitLocOpBuilder &b,
                                                const SymbolSizes &sizes) {
    if (!ShapedType::isDynamic(staticT))
      return staticT >= minChunkedLength
                 ? buildChunked(b, op, chunk, sizes)
                 : buildRecurrentLinearAttention(b, op, sizes);
    // Short sequences (decode) would pay for a whole chunk per token.
    Value longEnough =
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, sizes.lookup("T"),
                              indexConst(b, minChunkedLength));
    auto branch = scf::IfOp::create(b, op->getResultTypes(), longEnough,
                                    /*withElseRegion=*/true);
    auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &branch.getThenRegion().front());
    scf::YieldOp::create(tb, buildChunked(tb, op, chunk, sizes));
    auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &branch.getElseRegion().front());
    scf::YieldOp::create(eb, buildRecurrentLinearAttention(eb, op, sizes));
    return SmallVector<Value>(branch.getResults());
  });
}

} // namespace mixir::lowering
