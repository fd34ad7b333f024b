//===- ChunkedRecurrence.cpp - chunkwise forms of the matrix recurrences --===//
//
// MIXERS.md "Chunkwise algorithms". The sequence is cut into chunks of C
// tokens (the last one zero-padded); per chunk, with Gc the in-chunk
// cumulative log gate (f32) and S the state entering the chunk:
//
//   linear attention: V' = V
//   delta rule (WY/UT): A = strict_lower(diag(beta) (K K^T * Gamma)),
//                       W = (I + A)^-1 diag(beta) (K * exp(Gc)),
//                       U = (I + A)^-1 diag(beta) V,  V' = U - W S
//   O = scale [ (Q * exp(Gc)) S + ((Q K^T) * Gamma, lower incl. diag) V' ]
//   S = exp(Gc_last) S + (K * exp(Gc_last - Gc))^T V'
//
// with Gamma_ij = exp(Gc_i - Gc_j) (per channel for vector gates, computed
// per 16-token sub-chunk). Every product is a matmul-shaped linalg op on
// static tiles, so the same IR can be tiled for the CPU or mapped to tensor
// cores, and every exponent is <= 0 for gates <= 0. Padded rows carry a zero
// gate, zero keys, values and beta, so they change neither Gc_last nor S.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"
#include "TileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::lowering {
namespace {

/// The in-chunk cumulative log gate of one chunk of one state head, and the
/// gate-dependent pieces of the chunk algorithm. For gate kind none every
/// factor is 1 and the methods return their input.
struct ChunkGate {
  GateKind kind = GateKind::none;
  Value Gc;      // [C] (head, scalar) or [C, K] (vector); null for none
  Value gLast;   // f32 (head, scalar) or [K] (vector): Gc of the last token
  Value expGc;   // exp(Gc)
  Value expTail; // exp(gLast - Gc)

  /// tile [C, W] * exp(Gc), per row (per element for vector gates, W = K).
  Value scaleByExpGc(ImplicitLocOpBuilder &b, Value tile) const {
    return scaleBy(b, tile, expGc);
  }
  /// tile [C, K] * exp(gLast - Gc): the keys as seen from the chunk's end.
  Value scaleByExpTail(ImplicitLocOpBuilder &b, Value tile) const {
    return scaleBy(b, tile, expTail);
  }
  /// The state carried across the chunk: S * exp(gLast) (per row k of S
  /// for vector gates).
  Value decayState(ImplicitLocOpBuilder &b, Value S) const {
    if (!Gc)
      return S;
    MLIRContext *ctx = b.getContext();
    if (kind == GateKind::vector) {
      AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
      return mapN(b, S, {{gLast, row}},
                  [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                    return arith::MulFOp::create(
                        nb, loc, a[1], math::ExpOp::create(nb, loc, a[0]));
                  });
    }
    Value decay = math::ExpOp::create(b, gLast);
    return mapN(b, S, {}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
      return arith::MulFOp::create(nb, loc, a[0], decay);
    });
  }
  /// Gated scores of X against Y (both [C, K]): sum_k X_ik Y_jk Gamma_ijk on
  /// and below the diagonal (strictly below with `strictlyLower`), 0 above.
  Value scores(ImplicitLocOpBuilder &b, Value X, Value Y,
               bool strictlyLower) const {
    if (kind == GateKind::vector)
      return perChannelGatedScores(b, X, Y, Gc, strictlyLower);
    int64_t C = cast<ShapedType>(X.getType()).getDimSize(0);
    Value raw = matmul(b, X, transposed(b, Y), zeroTile(b, {C, C}));
    return causalDecayMask(b, raw, Gc, strictlyLower);
  }

private:
  Value scaleBy(ImplicitLocOpBuilder &b, Value tile, Value factor) const {
    if (!Gc)
      return tile;
    MLIRContext *ctx = b.getContext();
    AffineMap map = kind == GateKind::vector
                        ? AffineMap::getMultiDimIdentityMap(2, ctx)
                        : AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
    return mapN(b, tile, {{factor, map}},
                [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                  return arith::MulFOp::create(nb, loc, a[1], a[0]);
                });
  }
};

/// Location of one chunk: token offset, valid rows, batch and state head.
struct ChunkPosition {
  Value t0, valid, T, bi, s;
  Value token(ImplicitLocOpBuilder &b, Value i) const {
    return arith::AddIOp::create(b, t0, i);
  }
  /// Token i clamped into the sequence, for per-token reads of padded rows.
  Value clampedToken(ImplicitLocOpBuilder &b, Value i) const {
    return arith::MinUIOp::create(b, token(b, i),
                                  arith::SubIOp::create(b, T, indexConst(b, 1)));
  }
  Value inside(ImplicitLocOpBuilder &b, Value i) const {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, valid);
  }
};

ChunkGate buildGate(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                    int64_t C, int64_t K, const ChunkPosition &at,
                    Value headGate) {
  ChunkGate gate;
  gate.kind = r.gate;
  if (r.gate == GateKind::none)
    return gate;
  Value zero = indexConst(b, 0);
  bool perChannel = r.gate == GateKind::vector;
  Value empty = perChannel
                    ? tensor::EmptyOp::create(b, ArrayRef<int64_t>{C, K},
                                              b.getF32Type())
                    : tensor::EmptyOp::create(b, ArrayRef<int64_t>{C},
                                              b.getF32Type());
  Value none = perChannel ? f32Splat(b, 0.0f, K) : f32Const(b, 0.0f);
  // Padded rows add a zero gate, so Gc of the last row is Gc_last.
  auto cum = forLoop(b, zero, indexConst(b, C), {empty, none}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
    Value gi = headGate;
    if (r.gate == GateKind::scalar)
      gi = readF32(b, r.g, {at.bi, at.clampedToken(b, i), at.s});
    if (perChannel)
      gi = readF32Vector(b, r.g, {at.bi, at.clampedToken(b, i), at.s, zero}, K);
    gi = arith::SelectOp::create(b, at.inside(b, i), gi, none);
    Value run = arith::AddFOp::create(b, a[1], gi);
    Value next = perChannel ? writeVector(b, run, a[0], {i, zero})
                            : Value(tensor::InsertOp::create(b, run, a[0], ValueRange{i}));
    return SmallVector<Value>{next, run};
  });
  gate.Gc = cum[0];
  auto expOf = [](OpBuilder &nb, Location loc, Value x) -> Value {
    return math::ExpOp::create(nb, loc, x);
  };
  if (perChannel) {
    gate.gLast = rowOf(b, gate.Gc, C - 1);
    MLIRContext *ctx = b.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
    Value out = tensor::EmptyOp::create(b, ArrayRef<int64_t>{C, K}, b.getF32Type());
    gate.expGc = mapN(b, out, {{gate.Gc, id}}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
      return expOf(nb, loc, a[0]);
    });
    gate.expTail = mapN(b, out, {{gate.Gc, id}, {gate.gLast, col}}, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
      return expOf(nb, loc, arith::SubFOp::create(nb, loc, a[1], a[0]));
    });
    return gate;
  }
  gate.gLast = cum[1];
  gate.expGc = mapVector(b, gate.Gc, expOf);
  gate.expTail = mapVector(b, gate.Gc, [&](OpBuilder &nb, Location loc, Value g) -> Value {
    return expOf(nb, loc, arith::SubFOp::create(nb, loc, gate.gLast, g));
  });
  return gate;
}

/// The delta rule's V' = U - W S with the WY/UT transform of one chunk.
Value deltaRuleValues(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                      const ChunkGate &gate, const ChunkPosition &at,
                      Value Kt, Value Vt, Value S) {
  const int64_t C = cast<ShapedType>(Kt.getType()).getDimSize(0);
  Value zero = indexConst(b, 0);
  // beta per token (doubled for negative eigenvalues), 0 on padded rows.
  Value betaInit = tensor::EmptyOp::create(b, ArrayRef<int64_t>{C}, b.getF32Type());
  Value beta = forLoop(b, zero, indexConst(b, C), {betaInit}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
    Value bi = readF32(b, r.beta, {at.bi, at.clampedToken(b, i), at.s});
    if (r.negEigval)
      bi = arith::MulFOp::create(b, bi, f32Const(b, 2.0f));
    bi = arith::SelectOp::create(b, at.inside(b, i), bi, f32Const(b, 0.0f));
    return SmallVector<Value>{tensor::InsertOp::create(b, bi, a[0], ValueRange{i})};
  })[0];
  auto timesBeta = [&](Value tile) {
    return mapTile(b, tile, beta, /*withColumn=*/false,
                   [](OpBuilder &nb, Location loc, Value, Value, Value x,
                      Value bi, Value) -> Value {
                     return arith::MulFOp::create(nb, loc, x, bi);
                   });
  };
  // T = (I + A)^-1 by blocks of kSubChunk tokens, then W and U as matmuls.
  Value A = timesBeta(gate.scores(b, Kt, Kt, /*strictlyLower=*/true));
  Value Tinv = invertUnitLower(b, A, kSubChunk);
  auto kShape = cast<ShapedType>(Kt.getType()).getShape();
  Value W = matmul(b, Tinv, timesBeta(gate.scaleByExpGc(b, Kt)), zeroTile(b, kShape));
  Value U = matmul(b, Tinv, timesBeta(Vt), zeroTile(b, cast<ShapedType>(Vt.getType()).getShape()));
  auto shape = cast<ShapedType>(Vt.getType()).getShape();
  Value WS = matmul(b, W, S, zeroTile(b, shape));
  return mapN(b, U, {{WS, AffineMap::getMultiDimIdentityMap(2, b.getContext())}},
              [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                return arith::SubFOp::create(nb, loc, a[1], a[0]);
              });
}

SmallVector<Value> buildChunked(ImplicitLocOpBuilder &b,
                                const RecurrenceOperands &r, int64_t C,
                                const SymbolSizes &sizes) {
  const int64_t hq = dimSize(r.q, 2), hk = dimSize(r.k, 2), hv = dimSize(r.v, 2);
  const int64_t K = dimSize(r.q, 3), V = dimSize(r.v, 3);
  const int64_t ho = std::max(hq, hv), group = ho / hv, qShare = ho / hq,
                kShare = hv / hk;
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  // (a, c, i): S[a, c] += sum_i Kd[i, a] V'[i, c]
  AffineMap kdMap = AffineMap::get(3, 0, {d2, d0}, ctx);
  AffineMap vMap = AffineMap::get(3, 0, {d2, d1}, ctx);

  Value zero = indexConst(b, 0);
  Value T = sizes.lookup("T");
  Value numChunks = arith::CeilDivUIOp::create(b, T, indexConst(b, C));
  Value o0 = emptyLike(b, r.oType, {"B", "T", "Ho", "V"}, sizes);
  Value s0 = emptyLike(b, r.stateType, {"B", "Hv", "K", "V"}, sizes);
  return forEachStateHead(b, sizes, hv, group, o0, s0, r.init, [&](ImplicitLocOpBuilder &b, Value bi, Value s, Value oRows, Value S) {
    Value kHead = arith::DivUIOp::create(b, s, indexConst(b, kShare));
    Value headGate = r.gate == GateKind::head ? readF32(b, r.g, {s}) : Value();
    auto chunks = forLoop(b, zero, numChunks, {oRows, S}, [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
      Value o = a[0], S = a[1];
      ChunkPosition at;
      at.t0 = arith::MulIOp::create(b, n, indexConst(b, C));
      at.valid = arith::MinUIOp::create(b, indexConst(b, C), arith::SubIOp::create(b, T, at.t0));
      at.T = T, at.bi = bi, at.s = s;
      auto loadRows = [&](Value src, Value head, int64_t width, bool l2norm) {
        return loadTile(b, src, C, width, at.valid, [&](ImplicitLocOpBuilder &b, Value i) {
          return SmallVector<Value>{bi, at.token(b, i), head, zero};
        }, l2norm);
      };
      Value Kt = loadRows(r.k, kHead, K, r.l2norm);
      Value Vt = loadRows(r.v, s, V, /*l2norm=*/false);
      ChunkGate gate = buildGate(b, r, C, K, at, headGate);
      Value values = r.beta ? deltaRuleValues(b, r, gate, at, Kt, Vt, S) : Vt;

      for (int64_t g = 0; g < group; ++g) {
        Value oh = arith::AddIOp::create(b, arith::MulIOp::create(b, s, indexConst(b, group)), indexConst(b, g));
        Value Qt = loadRows(r.q, arith::DivUIOp::create(b, oh, indexConst(b, qShare)), K, r.l2norm);
        // Inter-chunk (Q * exp(Gc)) S plus intra-chunk (gated Q K^T) V'.
        Value O = matmul(b, gate.scaleByExpGc(b, Qt), S, zeroTile(b, {C, V}));
        O = matmul(b, gate.scores(b, Qt, Kt, /*strictlyLower=*/false), values, O);
        // Store the valid rows, scaled, in the output type.
        o = forLoop(b, zero, at.valid, {o}, [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
          Value row = vector::TransferReadOp::create(b, VectorType::get({V}, b.getF32Type()), O, ValueRange{i, zero}, f32Const(b, 0.0f), ArrayRef<bool>{true});
          row = arith::MulFOp::create(b, row, f32Splat(b, r.scale, V));
          return SmallVector<Value>{writeVector(b, row, a[0], {at.token(b, i), indexConst(b, g), zero})};
        })[0];
      }
      // The update accumulates into its own tile (which stays in registers
      // across the reduction) and is then added to the decayed state.
      Value update = contract(b, gate.scaleByExpTail(b, Kt), values, zeroTile(b, {K, V}), kdMap, vMap);
      S = mapN(b, gate.decayState(b, S), {{update, AffineMap::getMultiDimIdentityMap(2, ctx)}},
               [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                 return arith::AddFOp::create(nb, loc, a[1], a[0]);
               });
      return SmallVector<Value>{o, S};
    });
    return std::make_pair(chunks[0], chunks[1]);
  });
}

/// The chunked form when the sequence has at least `minLength` tokens: a
/// static decision for a static length, a run-time branch to the recurrent
/// form (`recurrent`) otherwise.
template <typename OpTy>
LogicalResult lowerChunkedOrRecurrent(
    RewriterBase &rewriter, OpTy op, const RecurrenceOperands &r,
    int64_t chunk, int64_t minLength,
    const std::function<SmallVector<Value>(ImplicitLocOpBuilder &,
                                           const SymbolSizes &)> &recurrent) {
  int64_t staticT = op.getQ().getType().getDimSize(1);
  return lowerWithShapeChecks(rewriter, op, [&](ImplicitLocOpBuilder &b,
                                                const SymbolSizes &sizes) {
    if (!ShapedType::isDynamic(staticT))
      return staticT >= minLength ? buildChunked(b, r, chunk, sizes)
                                  : recurrent(b, sizes);
    // Short sequences (decode) would pay for a whole chunk per token.
    Value longEnough =
        arith::CmpIOp::create(b, arith::CmpIPredicate::uge, sizes.lookup("T"),
                              indexConst(b, minLength));
    auto branch = scf::IfOp::create(b, op->getResultTypes(), longEnough,
                                    /*withElseRegion=*/true);
    auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &branch.getThenRegion().front());
    scf::YieldOp::create(tb, buildChunked(tb, r, chunk, sizes));
    auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &branch.getElseRegion().front());
    scf::YieldOp::create(eb, recurrent(eb, sizes));
    return SmallVector<Value>(branch.getResults());
  });
}
} // namespace

LogicalResult lowerChunkedLinearAttention(RewriterBase &rewriter,
                                          mix::LinearAttentionOp op,
                                          int64_t chunk,
                                          int64_t minChunkedLength) {
  RecurrenceOperands r = recurrenceOperands(op);
  return lowerChunkedOrRecurrent(
      rewriter, op, r, chunk, minChunkedLength,
      [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        return buildRecurrentLinearAttention(b, op, sizes);
      });
}

LogicalResult lowerChunkedDeltaRule(RewriterBase &rewriter,
                                    mix::DeltaRuleOp op, int64_t chunk,
                                    int64_t minChunkedLength) {
  RecurrenceOperands r = recurrenceOperands(op);
  return lowerChunkedOrRecurrent(
      rewriter, op, r, chunk, minChunkedLength,
      [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        return buildRecurrentDeltaRule(b, op, sizes);
      });
}

} // namespace mixir::lowering
