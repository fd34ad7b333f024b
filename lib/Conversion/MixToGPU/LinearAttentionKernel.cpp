//===- LinearAttentionKernel.cpp - linear attention on tensor cores -------===//
//
// The fused single-pass kernel of mix.linear_attention (gate none, head or
// scalar) for sm_80 and later; see Kernels.h for the algorithm.
//
//===----------------------------------------------------------------------===//
#include "KernelBase.h"
#include "Kernels.h"
#include "mixir/Compiler/ChunkSize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::gpu_lowering {

int64_t LinearAttentionConfig::sharedBytes() const {
  int64_t e = elemType.getIntOrFloatBitWidth() / 8;
  int64_t kp = paddedKey(), vs = valueTile + kRowPad;
  int64_t bytes = e * (chunk * (kp + kRowPad) + chunk * vs + kp * vs);
  if (deltaRule)
    // beta and key norms, T (f32, and two scalings as 16-bit high and low
    // parts), the K exp(G) tile and the low halves of the state and of V'.
    bytes += 8 * chunk + 4 * chunk * (chunk + 1) +
             4 * e * chunk * (chunk + kRowPad) + e * chunk * (kp + kRowPad) +
             e * kp * vs + e * chunk * vs;
  if (!vectorGate())
    return bytes + 4 * chunk;
  // Per-channel cumulative gates (f32) and the rescaled key tile.
  return bytes + 4 * chunk * kp + e * chunk * (kp + kRowPad);
}

/// The value-column tile with which chunks of `chunk` tokens fit in shared
/// memory (the widest that does), or 0 when none does.
static int64_t valueTileThatFits(LinearAttentionConfig c, int64_t chunk) {
  c.chunk = chunk;
  for (; c.valueTile >= 16; c.valueTile /= 2)
    if (c.sharedBytes() <= kSharedLimit)
      return c.valueTile;
  return 0;
}

/// Shape checks and chunk choice shared by both ops.
static std::string finishConfig(Value q, Value k, Value v, Value o,
                                std::optional<int64_t> requested,
                                LinearAttentionConfig &c) {
  auto qType = cast<RankedTensorType>(q.getType());
  auto kType = cast<RankedTensorType>(k.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  auto oType = cast<RankedTensorType>(o.getType());
  c.elemType = qType.getElementType();
  if (!c.elemType.isBF16() && !c.elemType.isF16())
    return "inputs must be bf16 or f16 (the tensor cores take 16-bit "
           "operands; f32 inputs run on target cpu)";
  c.hq = qType.getDimSize(2), c.hk = kType.getDimSize(2);
  c.hv = vType.getDimSize(2), c.ho = oType.getDimSize(2);
  c.keyDim = qType.getDimSize(3), c.valueDim = vType.getDimSize(3);
  if (c.keyDim % 2 || c.valueDim % 2)
    return "key and value head dims must be even (got K = " +
           std::to_string(c.keyDim) + ", V = " + std::to_string(c.valueDim) +
           ")";
  if (c.paddedKey() > 256)
    return "key head dim " + std::to_string(c.keyDim) +
           " is above the kernel's limit of 256";
  // Above 128 key dims a warp's share of the state plus the query
  // fragments would not fit in registers with 32 value columns per block.
  c.valueTile = c.paddedKey() > 128 ? 16 : 32;
  if (requested) {
    // An asked-for chunk (the caller checked it is one the kernel runs) is
    // kept: only the value tile may narrow. When it does not fit, say which
    // chunk would.
    if (int64_t tile = valueTileThatFits(c, *requested)) {
      c.chunk = *requested;
      c.valueTile = tile;
      return "";
    }
    int64_t largest = 0;
    for (int64_t chunk = *requested / 2;
         chunk >= mixir::kCudaMinChunkSize && !largest; chunk /= 2)
      if (valueTileThatFits(c, chunk))
        largest = chunk;
    LinearAttentionConfig narrowest = c;
    narrowest.chunk = *requested;
    narrowest.valueTile = 16;
    std::string need = "chunk_size " + std::to_string(*requested) + " needs " +
                       std::to_string(narrowest.sharedBytes()) +
                       " bytes of shared memory per block, above 48 KiB";
    return largest
               ? need + "; the largest chunk that fits is " +
                     std::to_string(largest)
               : need + " and no chunk of at least " +
                     std::to_string(mixir::kCudaMinChunkSize) + " tokens fits";
  }
  // Nobody asked: the largest chunk that fits. The delta rule's extra tiles
  // take narrower value tiles before chunks shorter than 32 tokens.
  c.chunk = mixir::kCudaMaxChunkSize;
  while (c.sharedBytes() > kSharedLimit) {
    if (c.chunk > 32 || (c.chunk > 16 && (!c.deltaRule || c.valueTile == 16)))
      c.chunk /= 2;
    else if (c.valueTile > 16)
      c.valueTile = 16;
    else
      break;
  }
  if (c.sharedBytes() > kSharedLimit)
    return "tiles need " + std::to_string(c.sharedBytes()) +
           " bytes of shared memory, above 48 KiB";
  return "";
}

std::string configureLinearAttention(mix::LinearAttentionOp op,
                                     std::optional<int64_t> chunk,
                                     LinearAttentionConfig &c) {
  c.gate = op.getGateKind();
  c.scale = op.getScaleOrDefault();
  return finishConfig(op.getQ(), op.getK(), op.getV(), op.getO(), chunk, c);
}

std::string configureDeltaRule(mix::DeltaRuleOp op,
                               std::optional<int64_t> chunk,
                               LinearAttentionConfig &c) {
  c.gate = op.getGateKind();
  c.deltaRule = true;
  c.negEigval = op.getAllowNegEigval();
  c.l2norm = op.getQkL2norm();
  c.scale = op.getScaleOrDefault();
  return finishConfig(op.getQ(), op.getK(), op.getV(), op.getO(), chunk, c);
}

namespace {
/// Builds the body of one kernel; every helper inserts at `b`'s point.
class LinearAttentionKernel : KernelBase {
public:
  LinearAttentionKernel(ImplicitLocOpBuilder &b, const LinearAttentionConfig &c,
                        const DeviceBuffers &d, Value tokens, KernelMode mode)
      : KernelBase(b, c.warps()), c(c), d(d), tokens(tokens), mode(mode) {}

  void build(gpu::LaunchOp launch);

private:
  // Static tiling.
  int64_t kp() const { return c.paddedKey(); }
  int64_t valueTiles() const { return c.valueTile / 8; } // n-tiles of 8
  int64_t keySteps() const { return kp() / 16; }         // k-steps of 16
  int64_t chunkSteps() const { return c.chunk / 16; }    // k-steps of 16
  int64_t stateTiles() const { return kp() / 16; }       // m-tiles of S
  int64_t stateTilesPerWarp() const {
    return (stateTiles() + warps() - 1) / warps();
  }
  bool gated() const { return c.gate != mix::GateKind::none; }
  bool vectorGate() const { return c.vectorGate(); }
  /// G[row][col] of the chunk (vector gate).
  Value gateAt(Value row, Value col) {
    return memref::LoadOp::create(b, sG, ValueRange{row, col});
  }
  /// sKt[j][k] = K[j][k] exp(G[ref(j)][k] - G[j][k]) with ref(j) the last
  /// row of j's 16-token sub-chunk, or of the chunk.
  void rescaleKeys(bool toChunkEnd);
  /// The value tiles: V, or for the delta rule n V' as a 16-bit high part
  /// and the rounding error.
  SmallVector<Value> valueTilesInSmem() {
    if (c.deltaRule)
      return {sV, sVlo};
    return {sV};
  }
  /// Stores the f32 `x` at `index` of `hiTile` rounded to 16 bits and, for
  /// the delta rule, the rounding error at `index` of `loTile`.
  void storeHiLo(Value x, Value hiTile, Value loTile, ValueRange index) {
    Value hi = arith::TruncFOp::create(b, c.elemType, x);
    memref::StoreOp::create(b, hi, hiTile, index);
    if (c.deltaRule)
      memref::StoreOp::create(
          b,
          arith::TruncFOp::create(b, c.elemType,
                                  arith::SubFOp::create(b, x, toF32(hi))),
          loTile, index);
  }
  /// Delta rule: replaces the V tile by V' = U - W S for state `s`.
  void deltaRuleValues(ArrayRef<Value> s);
  /// Per-row values of the chunk in shared memory: the gate G, beta and the
  /// keys' 1/norm (1 without qk_l2norm).
  Value rowGate(Value row) {
    return memref::LoadOp::create(b, sG, ValueRange{row});
  }
  Value betaAt(Value row) {
    return memref::LoadOp::create(b, sBeta, ValueRange{row});
  }
  Value normAt(Value row) {
    return memref::LoadOp::create(b, sNorm, ValueRange{row});
  }
  /// Delta rule: A = tril(diag(beta) (K K^T * exp(G_i - G_j)), -1) into sT.
  void deltaRuleScores(Value m0, Value zero);
  /// T = (I + A)^-1 in place in sT, by forward substitution.
  void invertUnitLower(Value zero);
  /// The 16-bit operands of U and W: T diag(beta) and T diag(beta n) as
  /// high and low parts and, with a gate, K exp(G).
  void roundDeltaOperands();
  /// V' = U - W S for state `s` into the V tile (as n V', high and low).
  void correctedValues(Value m0);
  /// Delta rule with qk_l2norm: normalises the rows of the K tile.
  void normalizeKeys();
  /// P's two accumulators for key sub-chunk `np` (vector gate); `qf` are
  /// this warp's query A fragments (or, with a null `queryHead`, key rows
  /// for the delta rule's A).
  SmallVector<Value> vectorGateScores(int64_t np, ArrayRef<Value> qf,
                                      Value queryHead);

  SmallVector<Value> initialState();
  /// The state's m-tile held by this warp in slot j (may be past the end).
  Value stateTile(int64_t j) { return ix.add(warp, warps() * j); }
  void stateToShared(ArrayRef<Value> s);
  void chunkGates();
  void outputHead(Value i);
  /// qk_l2norm: scales this warp's query fragments `qf` (rows from `m0`) by
  /// their rows' 1/norm, kept in queryInvNorm.
  void normalizeQueries(MutableArrayRef<Value> qf, Value m0);
  /// P = Q K^T over the chunk's keys, scaled, masked causally and decayed,
  /// as A fragments (16-bit) for P V.
  SmallVector<Value> causalScores(ArrayRef<Value> qf, Value queryHead, Value m0,
                                  Value scale);
  SmallVector<Value> updateState(ArrayRef<Value> s);

  /// Everything of one chunk before its outputs: K and V tiles, gates, and
  /// for the delta rule V' (needs the chunk's state in sS).
  void prepareChunk();
  /// Stores the f32 state `s` into dst[index0, index1, :, this block's
  /// value columns] (the final state, or two-pass chunk-start states).
  void storeState(ArrayRef<Value> s, Value dst, Value index0, Value index1);
  /// Two-pass: the chunk-start state from the chunk-state buffer into sS.
  void stateFromGlobal(Value chunk);

  const LinearAttentionConfig &c;
  const DeviceBuffers &d;
  Value tokens;
  KernelMode mode;
  Value launchChunk;     // outputs mode: the block's chunk (grid z)
  Value queryInvNorm[2]; // qk_l2norm: this lane's two query rows
  // Per kernel.
  Value batch, stateHead, keyHead, v0, sK, sV, sS, sG, sKt;
  // Delta rule: beta, inverse key norms, T = (I + A)^-1 in f32 and as
  // 16-bit T diag(beta) and T diag(beta n), K exp(G), S - 16-bit(S).
  Value sBeta, sNorm, sT, sTb, sTn, sKb, sSlo, sVlo, sTbLo, sTnLo;
  // Per chunk.
  Value t0, lastInChunk;
};
} // namespace

SmallVector<Value> LinearAttentionKernel::initialState() {
  SmallVector<Value> s;
  for (int64_t j = 0; j < stateTilesPerWarp(); ++j) {
    Value m0 = ix.mul(stateTile(j), 16);
    for (int64_t nt = 0; nt < valueTiles(); ++nt) {
      Value acc = zeroAcc(b);
      if (d.init)
        acc =
            mapAcc(ix, acc, m0, ix.c(8 * nt), lane,
                   [&](Value row, Value col, Value zero) {
                     Value gcol = ix.add(v0, col);
                     Value ok = ix.both(ix.lt(row, ix.c(c.keyDim)),
                                        ix.lt(gcol, ix.c(c.valueDim)));
                     Value x = memref::LoadOp::create(
                         b, d.init,
                         ValueRange{batch, stateHead, ix.min(row, c.keyDim - 1),
                                    ix.min(gcol, c.valueDim - 1)});
                     return arith::SelectOp::create(b, ok, x, zero);
                   });
      s.push_back(acc);
    }
  }
  return s;
}

void LinearAttentionKernel::stateToShared(ArrayRef<Value> s) {
  auto half = VectorType::get({2}, c.elemType);
  for (int64_t j = 0; j < stateTilesPerWarp(); ++j) {
    Value mt = stateTile(j);
    ifThen(ix.lt(mt, stateTiles()), [&] {
      for (int64_t nt = 0; nt < valueTiles(); ++nt)
        forAccRows(
            ix, ix.mul(mt, 16), ix.c(8 * nt), lane,
            [&](int64_t r, Value row, Value col) {
              Value x = vector::ExtractOp::create(b, s[j * valueTiles() + nt],
                                                  ArrayRef<int64_t>{r});
              Value h = arith::TruncFOp::create(b, half, x);
              vector::StoreOp::create(b, h, sS, ValueRange{row, col});
              if (c.deltaRule) {
                // The rounding error, for W S in two products.
                Value lo = arith::SubFOp::create(
                    b, x, arith::ExtFOp::create(b, x.getType(), h));
                vector::StoreOp::create(b, arith::TruncFOp::create(b, half, lo),
                                        sSlo, ValueRange{row, col});
              }
            });
    });
  }
}

void LinearAttentionKernel::rescaleKeys(bool toChunkEnd) {
  int64_t kp = c.paddedKey();
  forThreads(c.chunk * kp, [&](Value i) {
    Value j = ix.div(i, kp), k = ix.rem(i, kp);
    Value ref =
        toChunkEnd ? ix.c(c.chunk - 1) : ix.add(ix.mul(ix.div(j, 16), 16), 15);
    Value w = math::ExpOp::create(
        b, arith::SubFOp::create(b, gateAt(ref, k), gateAt(j, k)));
    Value x = toF32(memref::LoadOp::create(b, sK, ValueRange{j, k}));
    x = arith::TruncFOp::create(b, c.elemType, arith::MulFOp::create(b, x, w));
    memref::StoreOp::create(b, x, sKt, ValueRange{j, k});
  });
}

void LinearAttentionKernel::chunkGates() {
  if (vectorGate()) {
    // G[i][k] = sum of g[t0 .. t0+i][k], one thread per key channel; tokens
    // past the end and padding channels add nothing.
    forThreads(c.paddedKey(), [&](Value k) {
      Value kSafe = ix.min(k, c.keyDim - 1);
      Value kOk = ix.lt(k, ix.c(c.keyDim));
      auto loop = scf::ForOp::create(b, ix.c(0), ix.c(c.chunk), ix.c(1),
                                     ValueRange{ix.f32(0.0f)});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value r = loop.getInductionVar();
      Value t = ix.add(t0, r);
      Value ok = ix.both(kOk, ix.lt(t, tokens));
      Value g = toF32(memref::LoadOp::create(
          b, d.g,
          ValueRange{batch, ix.min(t, ix.sub(tokens, ix.c(1))), stateHead,
                     kSafe}));
      g = arith::SelectOp::create(b, ok, g, ix.f32(0.0f));
      Value acc = arith::AddFOp::create(b, loop.getRegionIterArg(0), g);
      memref::StoreOp::create(b, acc, sG, ValueRange{r, k});
      scf::YieldOp::create(b, ValueRange{acc});
    });
    return;
  }
  // G[i] = sum of the log decays of tokens t0 .. t0+i (tokens past the end
  // add nothing), one thread per row of the chunk.
  ifThen(ix.lt(tid, ix.c(c.chunk)), [&] {
    Value count = ix.add(ix.min(tid, lastInChunk), 1);
    Value countF = arith::UIToFPOp::create(
        b, b.getF32Type(),
        arith::IndexCastUIOp::create(b, b.getI64Type(), count));
    Value total;
    if (c.gate == mix::GateKind::head) {
      Value g = toF32(memref::LoadOp::create(b, d.g, ValueRange{stateHead}));
      total = arith::MulFOp::create(b, g, countF);
    } else {
      auto loop = scf::ForOp::create(b, ix.c(0), count, ix.c(1),
                                     ValueRange{ix.f32(0.0f)});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = ix.add(t0, loop.getInductionVar());
      Value g = toF32(
          memref::LoadOp::create(b, d.g, ValueRange{batch, t, stateHead}));
      scf::YieldOp::create(
          b, ValueRange{arith::AddFOp::create(b, loop.getRegionIterArg(0), g)});
      b.setInsertionPointAfter(loop);
      total = loop.getResult(0);
    }
    memref::StoreOp::create(b, total, sG, ValueRange{tid});
  });
}

void LinearAttentionKernel::outputHead(Value i) {
  int64_t perState = c.ho / c.hv;
  Value head = ix.add(ix.mul(stateHead, perState), i);
  Value queryHead = ix.div(head, c.ho / c.hq);
  Value m0 = ix.mul(warp, 16);
  SmallVector<Value> qf = queryFragments(d.q, batch, t0, m0, tokens, queryHead,
                                         c.keyDim, keySteps());
  if (c.l2norm)
    normalizeQueries(qf, m0);
  Value scale = ix.f32(c.scale);
  SmallVector<Value> pa = causalScores(qf, queryHead, m0, scale);

  // O = (scale exp(G) Q) S + P V, then stored for the rows in the sequence.
  if (vectorGate())
    for (int64_t ks = 0; ks < keySteps(); ++ks)
      qf[ks] = mapA(ix, qf[ks], m0, ix.c(16 * ks), lane,
                    [&](Value row, Value col, Value x) {
                      return arith::MulFOp::create(
                          b, x, math::ExpOp::create(b, gateAt(row, col)));
                    });
  for (int64_t np = 0; np < valueTiles() / 2; ++np) {
    Value o[2] = {zeroAcc(b), zeroAcc(b)};
    SmallVector<Value> stateTiles = {sS};
    if (c.deltaRule)
      stateTiles.push_back(sSlo);
    for (Value tile : stateTiles)
      for (int64_t ks = 0; ks < keySteps(); ++ks) {
        auto [b0, b1] =
            loadBPairTransposed(ix, tile, ix.c(16 * ks), ix.c(16 * np), lane);
        o[0] = mma(b, qf[ks], b0, o[0]);
        o[1] = mma(b, qf[ks], b1, o[1]);
      }
    for (int64_t x = 0; x < 2; ++x)
      o[x] = mapAcc(ix, o[x], m0, ix.c(16 * np + 8 * x), lane,
                    [&](Value row, Value, Value y) {
                      Value f = scale;
                      if (gated() && !vectorGate())
                        f = arith::MulFOp::create(
                            b, f, math::ExpOp::create(b, rowGate(row)));
                      return arith::MulFOp::create(b, y, f);
                    });
    for (Value tile : valueTilesInSmem())
      for (int64_t ks = 0; ks < chunkSteps(); ++ks) {
        auto [b0, b1] =
            loadBPairTransposed(ix, tile, ix.c(16 * ks), ix.c(16 * np), lane);
        o[0] = mma(b, pa[ks], b0, o[0]);
        o[1] = mma(b, pa[ks], b1, o[1]);
      }
    for (int64_t x = 0; x < 2; ++x)
      storeRows(o[x], d.o, batch, t0, m0, tokens, head, v0,
                ix.c(16 * np + 8 * x), c.valueDim);
  }
}

void LinearAttentionKernel::normalizeQueries(MutableArrayRef<Value> qf,
                                             Value m0) {
  // Rows g and g + 8: sum of squares over the lane's elements, then over
  // the quad; q * rsqrt(sum q^2 + 1e-6).
  Value ss[2] = {ix.f32(0.0f), ix.f32(0.0f)};
  for (Value frag : qf)
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t e = 0; e < 2; ++e) {
        Value x =
            toF32(vector::ExtractOp::create(b, frag, ArrayRef<int64_t>{r, e}));
        ss[r % 2] =
            arith::AddFOp::create(b, ss[r % 2], arith::MulFOp::create(b, x, x));
      }
  Value *inv = queryInvNorm;
  for (int64_t r = 0; r < 2; ++r)
    inv[r] = math::RsqrtOp::create(
        b, arith::AddFOp::create(b, quadReduce(ss[r], false), ix.f32(1e-6f)));
  Value firstRow = ix.add(m0, lane.group);
  for (int64_t ks = 0; ks < keySteps(); ++ks)
    qf[ks] = mapA(
        ix, qf[ks], m0, ix.c(16 * ks), lane, [&](Value row, Value, Value x) {
          Value f = arith::SelectOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::eq, row, firstRow),
              inv[0], inv[1]);
          return arith::MulFOp::create(b, x, f);
        });
}

SmallVector<Value> LinearAttentionKernel::causalScores(ArrayRef<Value> qf,
                                                       Value queryHead,
                                                       Value m0, Value scale) {
  SmallVector<Value> p;
  for (int64_t np = 0; vectorGate() && np < chunkSteps(); ++np) {
    SmallVector<Value> pair = vectorGateScores(np, qf, queryHead);
    p.append(pair.begin(), pair.end());
  }
  if (!vectorGate())
    p = queryKeyScores(qf, sK, chunkSteps());
  Value zero = ix.f32(0.0f);
  for (size_t nt = 0; nt < p.size(); ++nt)
    p[nt] = mapAcc(
        ix, p[nt], m0, ix.c(8 * nt), lane, [&](Value row, Value col, Value x) {
          Value f = scale;
          if (gated() && !vectorGate())
            f = arith::MulFOp::create(
                b, f,
                math::ExpOp::create(
                    b, arith::SubFOp::create(b, rowGate(row), rowGate(col))));
          Value y = arith::MulFOp::create(b, x, f);
          return arith::SelectOp::create(b, ix.le(col, row), y, zero);
        });
  SmallVector<Value> pa;
  for (int64_t ks = 0; ks < chunkSteps(); ++ks)
    pa.push_back(packA(b, p[2 * ks], p[2 * ks + 1], c.elemType));
  return pa;
}

SmallVector<Value> LinearAttentionKernel::vectorGateScores(int64_t np,
                                                           ArrayRef<Value> qf,
                                                           Value queryHead) {
  Value m0 = ix.mul(warp, 16);
  Value sub = ix.c(np);
  SmallVector<Type> types(2, zeroAcc(b).getType());
  auto zeros = [&] { return SmallVector<Value>{zeroAcc(b), zeroAcc(b)}; };
  // Key sub-chunk np below this warp's rows: a tensor-core product.
  auto below = [&] {
    Value ref = ix.c(16 * np + 15);
    Value p0 = zeroAcc(b), p1 = zeroAcc(b);
    for (int64_t ks = 0; ks < keySteps(); ++ks) {
      Value qs = mapA(ix, qf[ks], m0, ix.c(16 * ks), lane,
                      [&](Value row, Value col, Value x) {
                        return arith::MulFOp::create(
                            b, x,
                            math::ExpOp::create(
                                b, arith::SubFOp::create(b, gateAt(row, col),
                                                         gateAt(ref, col))));
                      });
      auto [b0, b1] = loadBPair(ix, sKt, ix.c(16 * np), ix.c(16 * ks), lane);
      p0 = mma(b, qs, b0, p0);
      p1 = mma(b, qs, b1, p1);
    }
    return SmallVector<Value>{p0, p1};
  };
  // The diagonal sub-chunk: sum_k q_ik k_jk exp(G_ik - G_jk) per element.
  auto diagonal = [&] {
    Value rows[2], ts[2];
    for (int64_t r = 0; r < 2; ++r) {
      rows[r] = ix.add(ix.add(m0, lane.group), 8 * r);
      ts[r] = ix.min(ix.add(t0, rows[r]), ix.sub(tokens, ix.c(1)));
    }
    Value cols[2][2];
    for (int64_t x = 0; x < 2; ++x)
      for (int64_t e = 0; e < 2; ++e)
        cols[x][e] = ix.add(ix.add(ix.mul(lane.quad, 2), 16 * np + 8 * x), e);
    SmallVector<Value> init(8, ix.f32(0.0f));
    auto loop = scf::ForOp::create(b, ix.c(0), ix.c(c.keyDim), ix.c(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value k = loop.getInductionVar();
      SmallVector<Value> acc(loop.getRegionIterArgs());
      for (int64_t r = 0; r < 2; ++r) {
        // Query rows from global memory, or (A of the delta rule) key rows
        // from the K tile.
        Value q = toF32(
            queryHead ? memref::LoadOp::create(
                            b, d.q, ValueRange{batch, ts[r], queryHead, k})
                      : memref::LoadOp::create(b, sK, ValueRange{rows[r], k}));
        if (queryHead && queryInvNorm[r]) // qk_l2norm, as the fragments
          q = arith::MulFOp::create(b, q, queryInvNorm[r]);
        Value gi = gateAt(rows[r], k);
        for (int64_t x = 0; x < 2; ++x)
          for (int64_t e = 0; e < 2; ++e) {
            Value j = cols[x][e];
            Value kv = toF32(memref::LoadOp::create(b, sK, ValueRange{j, k}));
            Value w = math::ExpOp::create(
                b, arith::SubFOp::create(b, gi, gateAt(j, k)));
            Value term =
                arith::MulFOp::create(b, arith::MulFOp::create(b, q, kv), w);
            Value &a = acc[4 * x + 2 * r + e];
            a = arith::AddFOp::create(b, a, term);
          }
      }
      scf::YieldOp::create(b, acc);
    }
    SmallVector<Value> out;
    for (int64_t x = 0; x < 2; ++x) {
      Value v = zeroAcc(b);
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t e = 0; e < 2; ++e) {
          // Entries above the diagonal may hold inf/NaN: select, not scale.
          Value keep = ix.le(cols[x][e], rows[r]);
          Value y = arith::SelectOp::create(
              b, keep, loop.getResult(4 * x + 2 * r + e), ix.f32(0.0f));
          v = vector::InsertOp::create(b, y, v, ArrayRef<int64_t>{r, e});
        }
      out.push_back(v);
    }
    return out;
  };
  return ifThenElse(ix.lt(sub, warp), types, below, [&] {
    return ifThenElse(
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, sub, warp), types,
        diagonal, zeros);
  });
}

void LinearAttentionKernel::normalizeKeys() {
  // One thread per row: n_j = rsqrt(sum k_j^2 + 1e-6) (1 without qk_l2norm).
  // K stays as given in shared memory; n enters A, W and V' in f32.
  ifThen(ix.lt(tid, ix.c(c.chunk)), [&] {
    Value inv = ix.f32(1.0f);
    if (c.l2norm) {
      auto loop = scf::ForOp::create(b, ix.c(0), ix.c(c.keyDim), ix.c(1),
                                     ValueRange{ix.f32(0.0f)});
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        Value x = toF32(memref::LoadOp::create(
            b, sK, ValueRange{tid, loop.getInductionVar()}));
        scf::YieldOp::create(b, ValueRange{arith::AddFOp::create(
                                    b, loop.getRegionIterArg(0),
                                    arith::MulFOp::create(b, x, x))});
      }
      inv = math::RsqrtOp::create(
          b, arith::AddFOp::create(b, loop.getResult(0), ix.f32(1e-6f)));
    }
    memref::StoreOp::create(b, inv, sNorm, ValueRange{tid});
  });
}

void LinearAttentionKernel::deltaRuleValues(ArrayRef<Value> s) {
  Value m0 = ix.mul(warp, 16);
  Value zero = ix.f32(0.0f);
  deltaRuleScores(m0, zero);
  invertUnitLower(zero);
  roundDeltaOperands();
  correctedValues(m0);
}

void LinearAttentionKernel::deltaRuleScores(Value m0, Value zero) {
  int64_t steps = chunkSteps();
  // A = tril(diag(beta) (K K^T * exp(G_i - G_j)), -1): this warp's rows.
  // A per-channel gate goes through the sub-chunk scores with the keys as
  // rows.
  SmallVector<Value> kRowFrags;
  if (vectorGate())
    for (int64_t ks = 0; ks < keySteps(); ++ks)
      kRowFrags.push_back(loadA(ix, sK, m0, ix.c(16 * ks), lane));
  for (int64_t np = 0; np < steps; ++np) {
    Value a[2] = {zeroAcc(b), zeroAcc(b)};
    if (vectorGate()) {
      SmallVector<Value> pair = vectorGateScores(np, kRowFrags, Value());
      a[0] = pair[0], a[1] = pair[1];
    }
    for (int64_t ks = 0; !vectorGate() && ks < keySteps(); ++ks) {
      Value kRows = loadA(ix, sK, m0, ix.c(16 * ks), lane);
      auto [b0, b1] = loadBPair(ix, sK, ix.c(16 * np), ix.c(16 * ks), lane);
      a[0] = mma(b, kRows, b0, a[0]);
      a[1] = mma(b, kRows, b1, a[1]);
    }
    for (int64_t x = 0; x < 2; ++x)
      mapAcc(
          ix, a[x], m0, ix.c(16 * np + 8 * x), lane,
          [&](Value row, Value col, Value v) {
            Value f = arith::MulFOp::create(
                b, betaAt(row),
                arith::MulFOp::create(b, normAt(row), normAt(col)));
            if (gated() && !vectorGate())
              f = arith::MulFOp::create(
                  b, f,
                  math::ExpOp::create(
                      b, arith::SubFOp::create(b, rowGate(row), rowGate(col))));
            Value y = arith::SelectOp::create(
                b, ix.lt(col, row), arith::MulFOp::create(b, v, f), zero);
            memref::StoreOp::create(b, y, sT, ValueRange{row, col});
            return v;
          });
  }
  gpu::BarrierOp::create(b);
}

void LinearAttentionKernel::invertUnitLower(Value zero) {
  int64_t C = c.chunk;
  // T = (I + A)^-1 by forward substitution, a row at a time, in place:
  // T[i][c] = [i == c] - sum_{c <= j < i} A[i][j] T[j][c].
  forRange(ix.c(0), ix.c(C), [&](Value i) {
    Value col = tid;
    SmallVector<Value> v = ifThenElse(
        ix.lt(col, ix.c(C)), TypeRange{b.getF32Type()},
        [&] {
          auto loop = scf::ForOp::create(b, ix.min(col, i), i, ix.c(1),
                                         ValueRange{zero});
          {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(loop.getBody());
            Value j = loop.getInductionVar();
            Value aij = memref::LoadOp::create(b, sT, ValueRange{i, j});
            Value tjc = memref::LoadOp::create(b, sT, ValueRange{j, col});
            scf::YieldOp::create(b, ValueRange{arith::SubFOp::create(
                                        b, loop.getRegionIterArg(0),
                                        arith::MulFOp::create(b, aij, tjc))});
          }
          Value diag =
              arith::CmpIOp::create(b, arith::CmpIPredicate::eq, col, i);
          Value below = ix.lt(col, i);
          Value r = arith::SelectOp::create(b, below, loop.getResult(0), zero);
          return SmallVector<Value>{
              arith::SelectOp::create(b, diag, ix.f32(1.0f), r)};
        },
        [&] { return SmallVector<Value>{zero}; });
    gpu::BarrierOp::create(b);
    ifThen(ix.lt(col, ix.c(C)),
           [&] { memref::StoreOp::create(b, v[0], sT, ValueRange{i, col}); });
    gpu::BarrierOp::create(b);
  });
}

void LinearAttentionKernel::roundDeltaOperands() {
  int64_t C = c.chunk;
  // 16-bit operands, rounded once each: T diag(beta) (beta folded into T's
  // columns in f32, so V is used as given) and, with a gate, K exp(G).
  int64_t kp = c.paddedKey();
  forThreads(C * C, [&](Value idx) {
    Value i = ix.div(idx, C), j = ix.rem(idx, C);
    // High and low 16-bit parts of T diag(beta) and T diag(beta n).
    Value x = arith::MulFOp::create(
        b, memref::LoadOp::create(b, sT, ValueRange{i, j}), betaAt(j));
    storeHiLo(x, sTb, sTbLo, {i, j});
    storeHiLo(arith::MulFOp::create(b, x, normAt(j)), sTn, sTnLo, {i, j});
  });
  if (gated())
    forThreads(C * kp, [&](Value idx) {
      Value j = ix.div(idx, kp), k = ix.rem(idx, kp);
      Value f =
          math::ExpOp::create(b, vectorGate() ? gateAt(j, k) : rowGate(j));
      Value x = toF32(memref::LoadOp::create(b, sK, ValueRange{j, k}));
      memref::StoreOp::create(
          b,
          arith::TruncFOp::create(b, c.elemType,
                                  arith::MulFOp::create(b, x, f)),
          sKb, ValueRange{j, k});
    });
  gpu::BarrierOp::create(b);
}

void LinearAttentionKernel::correctedValues(Value m0) {
  int64_t steps = chunkSteps();
  // U = (T diag(beta)) V, W S with W = (T diag(beta)) (K exp(G)) one
  // 16-column slice at a time, V' = U - W S for this warp's rows.
  // T's high and low parts side by side: index js + steps is the low part.
  SmallVector<Value> tf, tn;
  for (Value tile : {sTb, sTbLo})
    for (int64_t js = 0; js < steps; ++js)
      tf.push_back(loadA(ix, tile, m0, ix.c(16 * js), lane));
  for (Value tile : {sTn, sTnLo})
    for (int64_t js = 0; js < steps; ++js)
      tn.push_back(loadA(ix, tile, m0, ix.c(16 * js), lane));
  int64_t nt = valueTiles();
  SmallVector<Value> u(nt, zeroAcc(b)), ws(nt, zeroAcc(b));
  for (int64_t np = 0; np < nt / 2; ++np)
    for (int64_t js = 0; js < 2 * steps; ++js) {
      auto [b0, b1] = loadBPairTransposed(ix, sV, ix.c(16 * (js % steps)),
                                          ix.c(16 * np), lane);
      u[2 * np] = mma(b, tf[js], b0, u[2 * np]);
      u[2 * np + 1] = mma(b, tf[js], b1, u[2 * np + 1]);
    }
  for (int64_t ks = 0; ks < keySteps(); ++ks) {
    Value w[2] = {zeroAcc(b), zeroAcc(b)};
    for (int64_t js = 0; js < 2 * steps; ++js) {
      auto [b0, b1] = loadBPairTransposed(
          ix, gated() ? sKb : sK, ix.c(16 * (js % steps)), ix.c(16 * ks), lane);
      w[0] = mma(b, tn[js], b0, w[0]);
      w[1] = mma(b, tn[js], b1, w[1]);
    }
    Value wa = packA(b, w[0], w[1], c.elemType);
    for (Value tile : {sS, sSlo})
      for (int64_t np = 0; np < nt / 2; ++np) {
        auto [b0, b1] =
            loadBPairTransposed(ix, tile, ix.c(16 * ks), ix.c(16 * np), lane);
        ws[2 * np] = mma(b, wa, b0, ws[2 * np]);
        ws[2 * np + 1] = mma(b, wa, b1, ws[2 * np + 1]);
      }
  }
  gpu::BarrierOp::create(b);
  auto half = VectorType::get({2}, c.elemType);
  for (int64_t n = 0; n < nt; ++n) {
    Value vp = arith::SubFOp::create(b, u[n], ws[n]);
    // Stored as n_j V'_j: P and the state update then use K as given.
    forAccRows(ix, m0, ix.c(8 * n), lane, [&](int64_t r, Value row, Value col) {
      Value x = vector::ExtractOp::create(b, vp, ArrayRef<int64_t>{r});
      x = arith::MulFOp::create(
          b, x, vector::BroadcastOp::create(b, x.getType(), normAt(row)));
      Value hi = arith::TruncFOp::create(b, half, x);
      vector::StoreOp::create(b, hi, sV, ValueRange{row, col});
      Value lo = arith::SubFOp::create(
          b, x, arith::ExtFOp::create(b, x.getType(), hi));
      vector::StoreOp::create(b, arith::TruncFOp::create(b, half, lo), sVlo,
                              ValueRange{row, col});
    });
  }
  gpu::BarrierOp::create(b);
}

SmallVector<Value> LinearAttentionKernel::updateState(ArrayRef<Value> s) {
  Value gLast;
  if (vectorGate()) {
    rescaleKeys(/*toChunkEnd=*/true);
    gpu::BarrierOp::create(b);
  } else if (gated()) {
    // Weight each token's value row by exp(G_last - G_j) in place.
    gLast = memref::LoadOp::create(b, sG, ValueRange{ix.c(c.chunk - 1)});
    forThreads(c.chunk * c.valueTile, [&](Value i) {
      Value row = ix.div(i, c.valueTile), col = ix.rem(i, c.valueTile);
      Value w = math::ExpOp::create(
          b, arith::SubFOp::create(
                 b, gLast, memref::LoadOp::create(b, sG, ValueRange{row})));
      Value x = toF32(memref::LoadOp::create(b, sV, ValueRange{row, col}));
      if (c.deltaRule)
        x = arith::AddFOp::create(
            b, x, toF32(memref::LoadOp::create(b, sVlo, ValueRange{row, col})));
      x = arith::MulFOp::create(b, x, w);
      storeHiLo(x, sV, sVlo, {row, col});
    });
    gpu::BarrierOp::create(b);
  }
  Value decay;
  if (gated() && !vectorGate())
    decay =
        vector::BroadcastOp::create(b, VectorType::get({2, 2}, b.getF32Type()),
                                    math::ExpOp::create(b, gLast));

  SmallVector<Value> next;
  int64_t nt = valueTiles();
  for (int64_t j = 0; j < stateTilesPerWarp(); ++j) {
    Value mt = stateTile(j);
    ArrayRef<Value> mine = s.slice(j * nt, nt);
    SmallVector<Type> types(nt, mine.front().getType());
    auto updated = ifThenElse(
        ix.lt(mt, stateTiles()), types,
        [&] {
          SmallVector<Value> acc(mine);
          if (decay)
            for (Value &a : acc)
              a = arith::MulFOp::create(b, a, decay);
          // Per key channel: row k of S decays by exp(G_last[k]).
          for (int64_t n = 0; vectorGate() && n < nt; ++n)
            acc[n] = mapAcc(
                ix, acc[n], ix.mul(mt, 16), ix.c(8 * n), lane,
                [&](Value row, Value, Value x) {
                  return arith::MulFOp::create(
                      b, x,
                      math::ExpOp::create(b, gateAt(ix.c(c.chunk - 1), row)));
                });
          // S += K^T V': A = K^T (rows = key dims) from the [token][key]
          // tile, B = V' from the [token][value] tile.
          for (int64_t ks = 0; ks < chunkSteps(); ++ks) {
            Value a = loadATransposed(ix, vectorGate() ? sKt : sK,
                                      ix.c(16 * ks), ix.mul(mt, 16), lane);
            for (Value tile : valueTilesInSmem())
              for (int64_t np = 0; np < nt / 2; ++np) {
                auto [b0, b1] = loadBPairTransposed(ix, tile, ix.c(16 * ks),
                                                    ix.c(16 * np), lane);
                acc[2 * np] = mma(b, a, b0, acc[2 * np]);
                acc[2 * np + 1] = mma(b, a, b1, acc[2 * np + 1]);
              }
          }
          return acc;
        },
        [&] { return SmallVector<Value>(mine); });
    next.append(updated.begin(), updated.end());
  }
  return next;
}

void LinearAttentionKernel::prepareChunk() {
  copyRows(d.k, sK, c.chunk, batch, t0, tokens, keyHead, ix.c(0), c.keyDim,
           c.keyDim);
  copyRows(d.v, sV, c.chunk, batch, t0, tokens, stateHead, v0, c.valueTile,
           c.valueDim);
  Value group = nvgpu::DeviceAsyncCreateGroupOp::create(
      b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
  if (gated())
    chunkGates();
  nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b);
  if (vectorGate()) {
    rescaleKeys(/*toChunkEnd=*/false);
    gpu::BarrierOp::create(b);
  }
  if (c.deltaRule) {
    // beta (doubled with negative eigenvalues); 0 past the sequence.
    ifThen(ix.lt(tid, ix.c(c.chunk)), [&] {
      Value t = ix.add(t0, tid);
      Value x = toF32(memref::LoadOp::create(
          b, d.beta,
          ValueRange{batch, ix.min(t, ix.sub(tokens, ix.c(1))), stateHead}));
      if (c.negEigval)
        x = arith::MulFOp::create(b, x, ix.f32(2.0f));
      x = arith::SelectOp::create(b, ix.lt(t, tokens), x, ix.f32(0.0f));
      memref::StoreOp::create(b, x, sBeta, ValueRange{tid});
    });
    normalizeKeys();
    gpu::BarrierOp::create(b);
    deltaRuleValues({});
  }
}

void LinearAttentionKernel::storeState(ArrayRef<Value> s, Value dst,
                                       Value index0, Value index1) {
  // dst[index0, index1, row, v0 + col] for rows < K and columns < V.
  for (int64_t j = 0; j < stateTilesPerWarp(); ++j)
    for (int64_t nt = 0; nt < valueTiles(); ++nt)
      forAccRows(ix, ix.mul(stateTile(j), 16), ix.c(8 * nt), lane,
                 [&](int64_t r, Value row, Value col) {
                   Value gcol = ix.add(v0, col);
                   Value ok = ix.both(ix.lt(row, ix.c(c.keyDim)),
                                      ix.lt(gcol, ix.c(c.valueDim)));
                   ifThen(ok, [&] {
                     Value x = vector::ExtractOp::create(
                         b, s[j * valueTiles() + nt], ArrayRef<int64_t>{r});
                     vector::StoreOp::create(
                         b, x, dst, ValueRange{index0, index1, row, gcol});
                   });
                 });
}

void LinearAttentionKernel::stateFromGlobal(Value chunk) {
  // The 16-bit copy of the state (and for the delta rule its low part),
  // straight from the f32 chunk states; padding rows and columns are 0.
  Value bh = ix.add(ix.mul(batch, c.hv), stateHead);
  int64_t vt = c.valueTile;
  forThreads(c.paddedKey() * vt, [&](Value i) {
    Value row = ix.div(i, vt), col = ix.rem(i, vt);
    Value gcol = ix.add(v0, col);
    Value ok =
        ix.both(ix.lt(row, ix.c(c.keyDim)), ix.lt(gcol, ix.c(c.valueDim)));
    Value x =
        memref::LoadOp::create(b, d.chunkStates,
                               ValueRange{bh, chunk, ix.min(row, c.keyDim - 1),
                                          ix.min(gcol, c.valueDim - 1)});
    x = arith::SelectOp::create(b, ok, x, ix.f32(0.0f));
    storeHiLo(x, sS, sSlo, {row, col});
  });
}

void LinearAttentionKernel::build(gpu::LaunchOp launch) {
  setUp(launch);
  launchChunk = launch.getBlockIds().z;
  Value block = launch.getBlockIds().x;
  batch = ix.div(block, c.hv);
  stateHead = ix.rem(block, c.hv);
  keyHead = ix.div(stateHead, c.hv / c.hk);
  v0 = ix.mul(launch.getBlockIds().y, c.valueTile);
  auto attrs = launch.getWorkgroupAttributions();
  sK = attrs[0], sV = attrs[1], sS = attrs[2], sG = attrs[3];
  if (vectorGate())
    sKt = attrs[4];
  if (c.deltaRule) {
    unsigned first = vectorGate() ? 5 : 4;
    sBeta = attrs[first], sNorm = attrs[first + 1], sT = attrs[first + 2];
    sTb = attrs[first + 3], sTn = attrs[first + 4], sKb = attrs[first + 5];
    sSlo = attrs[first + 6], sVlo = attrs[first + 7];
    sTbLo = attrs[first + 8], sTnLo = attrs[first + 9];
  }

  // Padding columns of the K and V tiles stay zero; copies never touch them.
  zeroShared(sK);
  zeroShared(sV);
  SmallVector<Value> state;
  if (mode != KernelMode::outputs) {
    state = initialState();
    stateToShared(state);
  }
  gpu::BarrierOp::create(b);

  if (mode == KernelMode::outputs) {
    // One chunk per block (grid z): its start state comes from the first
    // pass.
    Value chunk = launchChunk;
    t0 = ix.mul(chunk, c.chunk);
    lastInChunk = ix.sub(ix.sub(tokens, ix.c(1)), t0);
    stateFromGlobal(chunk);
    gpu::BarrierOp::create(b);
    prepareChunk();
    forRange(ix.c(0), ix.c(c.ho / c.hv), [&](Value i) { outputHead(i); });
    return;
  }

  Value chunks = ix.ceilDiv(tokens, c.chunk);
  auto loop = scf::ForOp::create(b, ix.c(0), chunks, ix.c(1), state);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> s(loop.getRegionIterArgs());
    t0 = ix.mul(loop.getInductionVar(), c.chunk);
    lastInChunk = ix.sub(ix.sub(tokens, ix.c(1)), t0);
    if (mode == KernelMode::states)
      storeState(s, d.chunkStates, ix.add(ix.mul(batch, c.hv), stateHead),
                 loop.getInductionVar());
    prepareChunk();
    if (mode == KernelMode::fused) {
      forRange(ix.c(0), ix.c(c.ho / c.hv), [&](Value i) { outputHead(i); });
      gpu::BarrierOp::create(b);
    }

    s = updateState(s);
    gpu::BarrierOp::create(b);
    stateToShared(s);
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, s);
  }
  storeState(SmallVector<Value>(loop.getResults()), d.state, batch, stateHead);
}

Value buildLinearAttentionLaunch(ImplicitLocOpBuilder &b,
                                 const LinearAttentionConfig &c,
                                 const DeviceBuffers &d, Value batch,
                                 Value tokens, Value dependency) {
  MLIRContext *ctx = b.getContext();
  Ix ix{b};
  auto ws = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  int64_t kp = c.paddedKey(), vs = c.valueTile + kRowPad;
  auto shared = [&](ArrayRef<int64_t> shape, Type elem) {
    return MemRefType::get(shape, elem, MemRefLayoutAttrInterface{}, ws);
  };
  SmallVector<Type> attributions = {
      shared({c.chunk, kp + kRowPad}, c.elemType),
      shared({c.chunk, vs}, c.elemType), shared({kp, vs}, c.elemType),
      c.vectorGate() ? shared({c.chunk, kp}, b.getF32Type())
                     : shared({c.chunk}, b.getF32Type())};
  if (c.vectorGate())
    attributions.push_back(shared({c.chunk, kp + kRowPad}, c.elemType));
  if (c.deltaRule) {
    attributions.push_back(shared({c.chunk}, b.getF32Type()));
    attributions.push_back(shared({c.chunk}, b.getF32Type()));
    attributions.push_back(shared({c.chunk, c.chunk + 1}, b.getF32Type()));
    attributions.push_back(shared({c.chunk, c.chunk + kRowPad}, c.elemType));
    attributions.push_back(shared({c.chunk, c.chunk + kRowPad}, c.elemType));
    attributions.push_back(shared({c.chunk, kp + kRowPad}, c.elemType));
    attributions.push_back(shared({kp, vs}, c.elemType));
    attributions.push_back(shared({c.chunk, vs}, c.elemType));
    attributions.push_back(shared({c.chunk, c.chunk + kRowPad}, c.elemType));
    attributions.push_back(shared({c.chunk, c.chunk + kRowPad}, c.elemType));
  }
  Value one = ix.c(1);
  Value grid = ix.mul(batch, c.hv);
  Value valueTiles = ix.c((c.valueDim + c.valueTile - 1) / c.valueTile);
  auto launchFor = [&](KernelMode mode, Value after) {
    Value chunks =
        mode == KernelMode::outputs ? ix.ceilDiv(tokens, c.chunk) : one;
    auto launch = gpu::LaunchOp::create(
        b, grid, valueTiles, chunks, ix.c(32 * c.warps()), one, one,
        /*dynamicSharedMemorySize=*/nullptr, gpu::AsyncTokenType::get(ctx),
        ValueRange{after}, attributions);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    LinearAttentionKernel(b, c, d, tokens, mode).build(launch);
    gpu::TerminatorOp::create(b);
    return launch.getAsyncToken();
  };
  if (!c.twoPass)
    return launchFor(KernelMode::fused, dependency);
  // States at every chunk start (sequential per block), then every chunk's
  // outputs in parallel.
  return launchFor(KernelMode::outputs,
                   launchFor(KernelMode::states, dependency));
}

} // namespace mixir::gpu_lowering
