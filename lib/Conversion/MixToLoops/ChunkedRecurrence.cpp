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
// per 16-token sub-chunk). mix.recurrence adds its R low-rank terms as a
// second (keys, values) pair next to (K, V'): keys B (the b_{i,r}, [C R, K]
// token-major) and values U, the projections a_{i,r}^T S_{i-1}, from the
// generalised WY/UT representation (lowRankTerm); R = 0 is linear attention.
// Every product is a matmul-shaped linalg op on static tiles, so the same IR
// can be tiled for the CPU or mapped to tensor cores, and every exponent is
// <= 0 for gates <= 0. Padded rows carry a zero gate, zero keys, values,
// beta and low-rank rows, so they change neither Gc_last nor S.
//
//===----------------------------------------------------------------------===//
#include "Conversion/Utils/GateFloor.h"
#include "LoweringUtils.h"
#include "TileOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using mixir::mix::GateKind;

namespace mixir::lowering {
namespace {

/// A cumulative gate over the rows of a tile, each row standing for token
/// row / rowsPerToken of the chunk: `log` is the log of the cumulative decay's
/// magnitude, [n] (head, scalar gates) or [n, K] (vector gates), null for
/// gate none; `sign` its sign (+-1, same shape) for signed decays, else null.
struct RowGate {
  Value log, sign;
  int64_t rowsPerToken = 1;
};

/// The in-chunk cumulative gate of one chunk of one state head, and the
/// gate-dependent pieces of the chunk algorithm. For gate kind none every
/// factor is 1 and the methods return their input.
///
/// A signed decay d is carried as its log magnitude log(max(|d|, 1e-30))
/// and its sign: a factor exp(Gc_i - Gc_j) becomes s_i s_j exp(Lc_i - Lc_j)
/// with s the cumulative sign (s_j^-1 = s_j), so the signs are folded into
/// the tiles (row tiles times s_i, column tiles times s_j) and every
/// exponent stays a difference of log magnitudes, <= 0 where it was.
struct ChunkGate {
  GateKind kind = GateKind::none;
  bool factorBlocks = true; // the schedule (RecurrenceOperands)
  RowGate inclusive; // Gc_i, through token i
  RowGate exclusive; // Gc_{i-1}, before token i (set when asked for)
  Value lastLog;     // f32 (head, scalar) or [K] (vector): Gc at the end
  Value lastSign;    // the same for the sign; null for log decays
  // Per token: s_i exp(Gc_i), s_i exp(Gc_{i-1}), s_last s_i exp(Gc_last -
  // Gc_i).
  Value expGc, expGx, expTail;

  /// `g` for a tile with `times` rows per token.
  RowGate repeated(ImplicitLocOpBuilder &b, const RowGate &g,
                   int64_t times) const {
    auto rep = [&](Value x) { return x ? repeatRows(b, x, times) : x; };
    return {rep(g.log), rep(g.sign), g.rowsPerToken * times};
  }
  /// tile [C * times, W] times a per-token factor of this gate (expGc,
  /// expGx, expTail) repeated for its `times` rows per token: per row, per
  /// element for vector gates. The tile itself for gate none.
  Value scaleRows(ImplicitLocOpBuilder &b, Value tile, Value factor,
                  int64_t times = 1) const {
    return factor ? scaled(b, tile, repeatRows(b, factor, times)) : tile;
  }
  /// The state carried across the chunk: S * exp(gLast) (per row k of S
  /// for vector gates).
  Value decayState(ImplicitLocOpBuilder &b, Value S) const {
    if (!lastLog)
      return S;
    auto decayOf = [&](OpBuilder &nb, Location loc, ValueRange last) -> Value {
      Value d = math::ExpOp::create(nb, loc, last[0]);
      return lastSign ? Value(arith::MulFOp::create(nb, loc, d, last[1])) : d;
    };
    if (kind == GateKind::vector) {
      SmallVector<std::pair<Value, AffineMap>> ins = {
          {lastLog, identity(b, 1)}};
      if (lastSign)
        ins.push_back({lastSign, identity(b, 1)});
      Value out = tensor::EmptyOp::create(
          b, cast<ShapedType>(lastLog.getType()).getShape(), b.getF32Type());
      return scaled(b, S, mapN(b, out, ins, decayOf));
    }
    SmallVector<Value> last = {lastLog};
    if (lastSign)
      last.push_back(lastSign);
    Value decay = decayOf(b, b.getLoc(), last);
    return mapN(b, S, {},
                [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                  return arith::MulFOp::create(nb, loc, a[0], decay);
                });
  }
  /// Gated scores of X (rows gated by `xg`) against Y (rows gated by `yg`),
  /// both [*, K]: sum_k X_ik Y_jk exp(xg_i - yg_j) where the column's token
  /// is at or before the row's (strictly before with `strictlyLower`), 0
  /// elsewhere.
  Value scores(ImplicitLocOpBuilder &b, Value X, const RowGate &xg, Value Y,
               const RowGate &yg, bool strictlyLower) const {
    CausalMask mask{strictlyLower, xg.rowsPerToken, yg.rowsPerToken};
    if (xg.sign)
      X = scaled(b, X, xg.sign);
    if (yg.sign)
      Y = scaled(b, Y, yg.sign);
    if (kind == GateKind::vector)
      return perChannelGatedScores(b, X, xg.log, Y, yg.log, mask, factorBlocks);
    Value raw = matmul(b, X, transposed(b, Y),
                       zeroTile(b, {dimSize(X, 0), dimSize(Y, 0)}));
    return causalDecayMask(b, raw, xg.log, yg.log, mask);
  }

  /// acc plus the transposed read of one (keys, values) pair with Y [C, V]:
  /// row i gains sum_{j <= i} (Y_i . values_j) Gamma_ij keys_j (Gamma per
  /// key channel for vector gates).
  Value readThrough(ImplicitLocOpBuilder &b, Value Y, Value keys,
                    const RowGate &keyGate, Value values, Value acc) const {
    if (kind != GateKind::vector)
      return matmul(b,
                    scores(b, Y, inclusive, values, keyGate,
                           /*strictlyLower=*/false),
                    keys, acc);
    Value P = matmul(b, Y, transposed(b, values),
                     zeroTile(b, {dimSize(Y, 0), dimSize(values, 0)}));
    if (keyGate.sign)
      keys = scaled(b, keys, keyGate.sign);
    Value read = perChannelGatedRead(b, P, inclusive.log, keys, keyGate.log,
                                     keyGate.rowsPerToken, factorBlocks);
    if (inclusive.sign)
      read = scaled(b, read, inclusive.sign);
    return mapN(b, acc,
                {{read, AffineMap::getMultiDimIdentityMap(2, b.getContext())}},
                [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                  return arith::AddFOp::create(nb, loc, a[1], a[0]);
                });
  }

private:
  static AffineMap identity(ImplicitLocOpBuilder &b, unsigned rank) {
    return AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  }
};

/// Location of one chunk: token offset, valid rows, the end of its sequence
/// (`T`, exclusive), batch and state head.
struct ChunkPosition {
  Value t0, valid, T, bi, s;
  Value token(ImplicitLocOpBuilder &b, Value i) const {
    return arith::AddIOp::create(b, t0, i);
  }
  /// Token i clamped into the sequence, for per-token reads of padded rows.
  Value clampedToken(ImplicitLocOpBuilder &b, Value i) const {
    return arith::MinUIOp::create(
        b, token(b, i), arith::SubIOp::create(b, T, indexConst(b, 1)));
  }
  Value inside(ImplicitLocOpBuilder &b, Value i) const {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, valid);
  }
};

/// The cumulative gate of one chunk (and, with `exclusive`, the cumulative
/// gate before each token, summed on its own rather than recovered as
/// Gc_i - g_i) and the factors the chunk step multiplies by.
ChunkGate buildGate(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                    int64_t C, int64_t K, const ChunkPosition &at,
                    Value headGate, bool exclusive) {
  ChunkGate gate;
  gate.kind = r.gate;
  gate.factorBlocks = r.factorBlocks;
  if (r.gate == GateKind::none)
    return gate;
  Value zero = indexConst(b, 0);
  const bool perChannel = r.gate == GateKind::vector, sign = r.signedDecay;
  Value empty =
      perChannel
          ? tensor::EmptyOp::create(b, ArrayRef<int64_t>{C, K}, b.getF32Type())
          : tensor::EmptyOp::create(b, ArrayRef<int64_t>{C}, b.getF32Type());
  auto constant = [&](float x) {
    return perChannel ? f32Splat(b, x, K) : f32Const(b, x);
  };
  // Carried: Gc tile, running log; with signs, sign tile, running sign;
  // with `exclusive`, the tiles of the values before each token.
  const size_t ex = sign ? 4 : 2;
  SmallVector<Value> init = {empty, constant(0.0f)};
  if (sign)
    init.append({empty, constant(1.0f)});
  if (exclusive)
    init.append(sign ? 2 : 1, empty);
  // Padded rows add a zero log gate (decay 1), so Gc of the last row is
  // Gc_last.
  auto cum = forLoop(
      b, zero, indexConst(b, C), init,
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value gi = headGate;
        if (r.gate == GateKind::scalar)
          gi = readF32(b, r.g, {at.bi, at.clampedToken(b, i), at.s});
        if (perChannel)
          gi = readF32Vector(b, r.g, {at.bi, at.clampedToken(b, i), at.s, zero},
                             K);
        Value inside = at.inside(b, i);
        Value logMagnitude = sign ? gi : floorLogGate(b, gi), signOf;
        if (sign) {
          // log(max(|d|, 1e-30)): a zero decay stays finite (exp of it
          // underflows to 0); its sign counts as +1.
          Value mag = arith::MaximumFOp::create(b, math::AbsFOp::create(b, gi),
                                                constant(1e-30f));
          logMagnitude = math::LogOp::create(b, mag);
          Value negative = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT,
                                                 gi, constant(0.0f));
          signOf = arith::SelectOp::create(b, negative, constant(-1.0f),
                                           constant(1.0f));
          signOf = arith::SelectOp::create(b, inside, signOf, constant(1.0f));
        }
        logMagnitude =
            arith::SelectOp::create(b, inside, logMagnitude, constant(0.0f));
        auto put = [&](Value x, Value into) -> Value {
          if (perChannel)
            return writeVector(b, x, into, {i, zero});
          return tensor::InsertOp::create(b, x, into, ValueRange{i});
        };
        SmallVector<Value> next(a.begin(), a.end());
        if (exclusive) {
          next[ex] = put(a[1], a[ex]);
          if (sign)
            next[ex + 1] = put(a[3], a[ex + 1]);
        }
        next[1] = arith::AddFOp::create(b, a[1], logMagnitude);
        next[0] = put(next[1], a[0]);
        if (sign) {
          next[3] = arith::MulFOp::create(b, a[3], signOf);
          next[2] = put(next[3], a[2]);
        }
        return next;
      });
  gate.inclusive = {cum[0], sign ? cum[2] : Value()};
  if (exclusive)
    gate.exclusive = {cum[ex], sign ? cum[ex + 1] : Value()};
  gate.lastLog = perChannel ? rowOf(b, cum[0], C - 1) : cum[1];
  if (sign)
    gate.lastSign = perChannel ? rowOf(b, cum[2], C - 1) : cum[3];

  // s exp(G) of a cumulative gate G, or with `fromEnd` s_last s exp(G_last -
  // G).
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(perChannel ? 2 : 1, ctx);
  AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  auto factor = [&](const RowGate &g, bool fromEnd) {
    SmallVector<std::pair<Value, AffineMap>> ins = {{g.log, id}};
    if (sign)
      ins.push_back({g.sign, id});
    if (fromEnd && perChannel) {
      ins.push_back({gate.lastLog, col});
      if (sign)
        ins.push_back({gate.lastSign, col});
    }
    Value out = tensor::EmptyOp::create(
        b, cast<ShapedType>(g.log.getType()).getShape(), b.getF32Type());
    return mapN(
        b, out, ins, [&](OpBuilder &nb, Location loc, ValueRange a) -> Value {
          Value x = a[0];
          size_t next = sign ? 2 : 1;
          Value lastLog = fromEnd && perChannel ? a[next++] : gate.lastLog;
          Value lastSign =
              fromEnd && perChannel && sign ? a[next++] : gate.lastSign;
          if (fromEnd)
            x = arith::SubFOp::create(nb, loc, lastLog, x);
          Value e = math::ExpOp::create(nb, loc, x);
          if (sign)
            e = arith::MulFOp::create(nb, loc, e, a[1]);
          if (fromEnd && sign)
            e = arith::MulFOp::create(nb, loc, e, lastSign);
          return e;
        });
  };
  gate.expGc = factor(gate.inclusive, /*fromEnd=*/false);
  gate.expTail = factor(gate.inclusive, /*fromEnd=*/true);
  if (exclusive)
    gate.expGx = factor(gate.exclusive, /*fromEnd=*/false);
  return gate;
}

/// Keys and the values they carry into the outputs and the state: rows of
/// `keys` [C * n, K] (token-major, n per token) are gated by `keyGate`.
struct ChunkTerm {
  Value keys;
  RowGate keyGate;
  Value values;
};

/// The delta rule's V' = U - W S with the WY/UT transform of one chunk.
Value deltaRuleValues(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                      const ChunkGate &gate, const ChunkPosition &at, Value Kt,
                      Value Vt, Value S) {
  const int64_t C = dimSize(Kt, 0);
  Value zero = indexConst(b, 0);
  // beta per token (doubled for negative eigenvalues), 0 on padded rows.
  Value betaInit =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{C}, b.getF32Type());
  Value beta = forLoop(
      b, zero, indexConst(b, C), {betaInit},
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
        Value bi = readF32(b, r.beta, {at.bi, at.clampedToken(b, i), at.s});
        if (r.negEigval)
          bi = arith::MulFOp::create(b, bi, f32Const(b, 2.0f));
        bi = arith::SelectOp::create(b, at.inside(b, i), bi, f32Const(b, 0.0f));
        return SmallVector<Value>{
            tensor::InsertOp::create(b, bi, a[0], ValueRange{i})};
      })[0];
  // T = (I + A)^-1 by blocks of kSubChunk tokens, then W and U as matmuls.
  Value A = scaled(b,
                   gate.scores(b, Kt, gate.inclusive, Kt, gate.inclusive,
                               /*strictlyLower=*/true),
                   beta);
  Value Tinv = invertUnitLower(b, A, kSubChunk);
  auto kShape = cast<ShapedType>(Kt.getType()).getShape();
  Value W = matmul(b, Tinv, scaled(b, gate.scaleRows(b, Kt, gate.expGc), beta),
                   zeroTile(b, kShape));
  Value U = matmul(b, Tinv, scaled(b, Vt, beta),
                   zeroTile(b, cast<ShapedType>(Vt.getType()).getShape()));
  auto shape = cast<ShapedType>(Vt.getType()).getShape();
  Value WS = matmul(b, W, S, zeroTile(b, shape));
  return mapN(b, U,
              {{WS, AffineMap::getMultiDimIdentityMap(2, b.getContext())}},
              [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                return arith::SubFOp::create(nb, loc, a[1], a[0]);
              });
}

/// The low-rank terms of mix.recurrence in one chunk (generalised WY/UT
/// representation). With rows (i, r) token-major (i R + r) and u_{i,r} =
/// a_{i,r}^T S_{i-1}, unrolling the recurrence inside the chunk gives the
/// strictly lower triangular system (I - L_ab) U = A~ S + L_ak V, with
///   A~[(i,r)]          = a_{i,r} * exp(Gc_{i-1})
///   L_ab[(i,r),(j,r')] = sum_k a_{i,r,k} b_{j,r',k} exp(Gc_{i-1,k} - Gc_{j,k})
///   L_ak[(i,r), j]     = sum_k a_{i,r,k} k_{j,k} exp(Gc_{i-1,k} - Gc_{j,k})
/// for j < i; so T = (I - L_ab)^-1, W = T A~, U = T (L_ak V) + W S. The term
/// is (B, U): o_i gains sum_{j <= i, r} (q_i . b_{j,r} Gamma_ij) u_{j,r}
/// and the state (B * exp(Gc_last - Gc))^T U.
ChunkTerm lowRankTerm(ImplicitLocOpBuilder &b, const RecurrenceOperands &r,
                      const ChunkGate &gate, const ChunkPosition &at, Value Kt,
                      Value Vt, Value S) {
  const int64_t C = dimSize(Kt, 0), K = dimSize(Kt, 1), V = dimSize(Vt, 1);
  const int64_t R = r.rank;
  Value zero = indexConst(b, 0), rank = indexConst(b, R);
  // Row (i, r) of a or b, zero on padded tokens.
  auto load = [&](Value src) {
    Value valid =
        R == 1 ? at.valid : Value(arith::MulIOp::create(b, at.valid, rank));
    return loadTile(
        b, src, C * R, K, valid, [&](ImplicitLocOpBuilder &b, Value row) {
          if (R == 1)
            return SmallVector<Value>{at.bi, at.token(b, row), at.s, zero,
                                      zero};
          Value token = at.token(b, arith::DivUIOp::create(b, row, rank));
          return SmallVector<Value>{at.bi, token, at.s,
                                    arith::RemUIOp::create(b, row, rank), zero};
        });
  };
  Value At = load(r.lowRankA), Bt = load(r.lowRankB);
  RowGate before = gate.repeated(b, gate.exclusive, R);
  RowGate through = gate.repeated(b, gate.inclusive, R);
  Value Lab = gate.scores(b, At, before, Bt, through, /*strictlyLower=*/true);
  Value Lak =
      gate.scores(b, At, before, Kt, gate.inclusive, /*strictlyLower=*/true);
  Value Tinv = invertUnitLower(b, negated(b, Lab), kSubChunk);
  Value W = matmul(b, Tinv, gate.scaleRows(b, At, gate.expGx, R),
                   zeroTile(b, {C * R, K}));
  Value Ubar = matmul(b, Tinv, matmul(b, Lak, Vt, zeroTile(b, {C * R, V})),
                      zeroTile(b, {C * R, V}));
  return {Bt, through, matmul(b, W, S, Ubar)};
}

/// The outputs of one chunk before scaling, [C, V]: the inter-chunk
/// (Q * exp(Gc)) S plus each term's gated (Q keys^T) values.
Value readNormal(ImplicitLocOpBuilder &b, const ChunkGate &gate,
                 ArrayRef<ChunkTerm> terms, Value Qt, Value S) {
  Value O = matmul(b, gate.scaleRows(b, Qt, gate.expGc), S,
                   zeroTile(b, {dimSize(Qt, 0), dimSize(S, 1)}));
  for (const ChunkTerm &term : terms)
    O = matmul(b,
               gate.scores(b, Qt, gate.inclusive, term.keys, term.keyGate,
                           /*strictlyLower=*/false),
               term.values, O);
  return O;
}

/// The same read through the transpose, [C, K] from Y [C, V]: row i is
/// S_i y_i with S_i = exp(Gc_i) S + sum_{j <= i} Gamma_ij (keys_j values_j^T)
/// (`read transposed`), so (Y S^T) * exp(Gc) plus each term's
/// Gamma-weighted (Y values^T) keys.
Value readTransposed(ImplicitLocOpBuilder &b, const ChunkGate &gate,
                     ArrayRef<ChunkTerm> terms, Value Y, Value S) {
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  // (i, k, v): O[i, k] += Y[i, v] S[k, v]
  Value O = contract(b, Y, S, zeroTile(b, {dimSize(Y, 0), dimSize(S, 0)}),
                     AffineMap::get(3, 0, {d0, d2}, ctx),
                     AffineMap::get(3, 0, {d1, d2}, ctx));
  O = gate.scaleRows(b, O, gate.expGc);
  for (const ChunkTerm &term : terms)
    O = gate.readThrough(b, Y, term.keys, term.keyGate, term.values, O);
  return O;
}

SmallVector<Value> buildChunked(ImplicitLocOpBuilder &b,
                                const RecurrenceOperands &r, int64_t C,
                                const SymbolSizes &sizes) {
  const int64_t hq = dimSize(r.q, 2), hk = dimSize(r.k, 2),
                hv = dimSize(r.v, 2);
  const int64_t K = dimSize(r.k, 3), V = dimSize(r.v, 3);
  const int64_t ho = std::max(hq, hv), group = ho / hv, qShare = ho / hq,
                kShare = hv / hk;
  // Width of a query and of an output row (swapped by a transposed read).
  const int64_t qW = r.transposedRead ? V : K, oW = r.transposedRead ? K : V;
  MLIRContext *ctx = b.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  // (a, c, i): S[a, c] += sum_i Kd[i, a] V'[i, c]
  AffineMap kdMap = AffineMap::get(3, 0, {d2, d0}, ctx);
  AffineMap vMap = AffineMap::get(3, 0, {d2, d1}, ctx);

  Value zero = indexConst(b, 0);
  Value o0 = emptyOutputs(b, r, sizes);
  Value s0 = emptyFinalStates(b, r, sizes);
  return forEachStateHead(
      b, sizes, r, group, o0, s0,
      [&](ImplicitLocOpBuilder &b, const SequenceSpan &span, Value s,
          StateHeadTiles tiles) {
        assert(!tiles.stateRows && "all_states takes the recurrent form");
        Value oRows = tiles.rows, S = tiles.state;
        // Each sequence is cut into its own chunks, the last one partial.
        Value bi = span.batch, end = span.end(b);
        Value numChunks =
            arith::CeilDivUIOp::create(b, span.length, indexConst(b, C));
        Value kHead = arith::DivUIOp::create(b, s, indexConst(b, kShare));
        Value headGate =
            r.gate == GateKind::head ? readF32(b, r.g, {s}) : Value();
        auto chunks = forLoop(
            b, zero, numChunks, {oRows, S},
            [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
              Value o = a[0], S = a[1];
              ChunkPosition at;
              Value firstRow = arith::MulIOp::create(b, n, indexConst(b, C));
              at.t0 = span.token(b, firstRow);
              at.valid = arith::MinUIOp::create(
                  b, indexConst(b, C), arith::SubIOp::create(b, end, at.t0));
              at.T = end, at.bi = bi, at.s = s;
              auto loadRows = [&](Value src, Value head, int64_t width,
                                  bool l2norm) {
                return loadTile(
                    b, src, C, width, at.valid,
                    [&](ImplicitLocOpBuilder &b, Value i) {
                      return SmallVector<Value>{bi, at.token(b, i), head, zero};
                    },
                    l2norm);
              };
              Value Kt = loadRows(r.k, kHead, K, r.l2norm);
              Value Vt = loadRows(r.v, s, V, /*l2norm=*/false);
              ChunkGate gate =
                  buildGate(b, r, C, K, at, headGate, /*exclusive=*/r.rank > 0);
              // (keys, values) pairs: K with V (linear attention) or V' (delta
              // rule), then the low-rank terms' B with U.
              SmallVector<ChunkTerm> terms = {
                  {Kt, gate.inclusive,
                   r.beta ? deltaRuleValues(b, r, gate, at, Kt, Vt, S) : Vt}};
              if (r.rank > 0)
                terms.push_back(lowRankTerm(b, r, gate, at, Kt, Vt, S));

              for (int64_t g = 0; g < group; ++g) {
                Value oh = arith::AddIOp::create(
                    b, arith::MulIOp::create(b, s, indexConst(b, group)),
                    indexConst(b, g));
                Value Qt = loadRows(
                    r.q, arith::DivUIOp::create(b, oh, indexConst(b, qShare)),
                    qW, r.l2norm);
                Value O = r.transposedRead
                              ? readTransposed(b, gate, terms, Qt, S)
                              : readNormal(b, gate, terms, Qt, S);
                // Store the valid rows, scaled, in the output type.
                o = forLoop(
                    b, zero, at.valid, {o},
                    [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
                      Value row = vector::TransferReadOp::create(
                          b, VectorType::get({oW}, b.getF32Type()), O,
                          ValueRange{i, zero}, f32Const(b, 0.0f),
                          ArrayRef<bool>{true});
                      row = arith::MulFOp::create(b, row,
                                                  f32Splat(b, r.scale, oW));
                      Value t = arith::AddIOp::create(b, firstRow, i);
                      return SmallVector<Value>{writeVector(
                          b, row, a[0], {t, indexConst(b, g), zero})};
                    })[0];
              }
              // The update accumulates into its own tile (which stays in
              // registers across the reduction) and is then added to the
              // decayed state.
              Value update = zeroTile(b, {K, V});
              for (const ChunkTerm &term : terms)
                update = contract(b,
                                  gate.scaleRows(b, term.keys, gate.expTail,
                                                 term.keyGate.rowsPerToken),
                                  term.values, update, kdMap, vMap);
              S = mapN(b, gate.decayState(b, S),
                       {{update, AffineMap::getMultiDimIdentityMap(2, ctx)}},
                       [](OpBuilder &nb, Location loc, ValueRange a) -> Value {
                         return arith::AddFOp::create(nb, loc, a[1], a[0]);
                       });
              return SmallVector<Value>{o, S};
            });
        return StateHeadTiles{chunks[0], chunks[1], Value()};
      });
}

/// The chunked form when the sequence has at least `minLength` tokens: a
/// static decision for a static length, a run-time branch to the recurrent
/// form otherwise (none when `minLength` is 0).
template <typename OpTy>
LogicalResult lowerChunkedOrRecurrent(RewriterBase &rewriter, OpTy op,
                                      int64_t chunk, int64_t minLength,
                                      bool factorBlocks) {
  RecurrenceOperands r = recurrenceOperands(op);
  r.factorBlocks = factorBlocks;
  int64_t staticT = op.getQ().getType().getDimSize(1);
  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        bool dynamic = ShapedType::isDynamic(staticT);
        if (minLength <= 0 || (!dynamic && staticT >= minLength))
          return buildChunked(b, r, chunk, sizes);
        if (!dynamic)
          return buildRecurrent(b, r, sizes);
        // Short sequences (decode) would pay for a whole chunk per token.
        Value longEnough =
            arith::CmpIOp::create(b, arith::CmpIPredicate::uge,
                                  sizes.lookup("T"), indexConst(b, minLength));
        auto branch = scf::IfOp::create(b, op->getResultTypes(), longEnough,
                                        /*withElseRegion=*/true);
        auto tb = ImplicitLocOpBuilder::atBlockBegin(
            b.getLoc(), &branch.getThenRegion().front());
        scf::YieldOp::create(tb, buildChunked(tb, r, chunk, sizes));
        auto eb = ImplicitLocOpBuilder::atBlockBegin(
            b.getLoc(), &branch.getElseRegion().front());
        scf::YieldOp::create(eb, buildRecurrent(eb, r, sizes));
        return SmallVector<Value>(branch.getResults());
      });
}
} // namespace

LogicalResult lowerChunkedRecurrence(RewriterBase &rewriter, Operation *op,
                                     int64_t chunk, int64_t minChunkedLength,
                                     bool factorBlocks) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<mix::LinearAttentionOp, mix::DeltaRuleOp, mix::RecurrenceOp>(
          [&](auto recurrence) {
            return lowerChunkedOrRecurrent(rewriter, recurrence, chunk,
                                           minChunkedLength, factorBlocks);
          })
      .Default([](Operation *) { return failure(); });
}

} // namespace mixir::lowering
