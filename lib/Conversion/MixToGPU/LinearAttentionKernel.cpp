//===- LinearAttentionKernel.cpp - chunked linear attention on tensor cores -===//
//
// The fused single-pass kernel of mix.linear_attention (gate none, head or
// scalar) for sm_80 and later; see Kernels.h for the algorithm.
//
//===----------------------------------------------------------------------===//
#include "KernelBase.h"
#include "Kernels.h"

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
  if (!vectorGate())
    return bytes + 4 * chunk;
  // Per-channel cumulative gates (f32) and the rescaled key tile.
  return bytes + 4 * chunk * kp + e * chunk * (kp + kRowPad);
}

std::string configureLinearAttention(mix::LinearAttentionOp op,
                                     int64_t maxChunk,
                                     LinearAttentionConfig &c) {
  auto qType = cast<RankedTensorType>(op.getQ().getType());
  auto kType = cast<RankedTensorType>(op.getK().getType());
  auto vType = cast<RankedTensorType>(op.getV().getType());
  auto oType = cast<RankedTensorType>(op.getO().getType());
  c.elemType = qType.getElementType();
  if (!c.elemType.isBF16() && !c.elemType.isF16())
    return "inputs must be bf16 or f16 (the tensor cores take 16-bit "
           "operands; f32 inputs run on target cpu)";
  c.gate = op.getGateKind();
  c.hq = qType.getDimSize(2), c.hk = kType.getDimSize(2);
  c.hv = vType.getDimSize(2), c.ho = oType.getDimSize(2);
  c.keyDim = qType.getDimSize(3), c.valueDim = vType.getDimSize(3);
  c.scale = op.getScaleOrDefault();
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
  c.chunk = std::min<int64_t>(std::max<int64_t>(maxChunk, 16), 64);
  while (c.chunk > 16 && c.sharedBytes() > kSharedLimit)
    c.chunk /= 2;
  if (c.sharedBytes() > kSharedLimit)
    return "tiles need " + std::to_string(c.sharedBytes()) +
           " bytes of shared memory, above 48 KiB";
  return "";
}

namespace {
/// Builds the body of one kernel; every helper inserts at `b`'s point.
class LinearAttentionKernel : KernelBase {
public:
  LinearAttentionKernel(ImplicitLocOpBuilder &b,
                        const LinearAttentionConfig &c,
                        const DeviceBuffers &d, Value tokens)
      : KernelBase(b, c.warps()), c(c), d(d), tokens(tokens) {}

  void build(gpu::LaunchOp launch);

private:
  // Static tiling.
  int64_t kp() const { return c.paddedKey(); }
  int64_t valueTiles() const { return c.valueTile / 8; }  // n-tiles of 8
  int64_t keySteps() const { return kp() / 16; }          // k-steps of 16
  int64_t chunkSteps() const { return c.chunk / 16; }     // k-steps of 16
  int64_t stateTiles() const { return kp() / 16; }        // m-tiles of S
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
  /// P's two accumulators for key sub-chunk `np` (vector gate).
  SmallVector<Value> vectorGateScores(int64_t np, ArrayRef<Value> qf,
                                      Value queryHead);

  SmallVector<Value> initialState();
  /// The state's m-tile held by this warp in slot j (may be past the end).
  Value stateTile(int64_t j) { return ix.add(warp, warps() * j); }
  void stateToShared(ArrayRef<Value> s);
  void chunkGates();
  void outputHead(Value i);
  SmallVector<Value> updateState(ArrayRef<Value> s);

  const LinearAttentionConfig &c;
  const DeviceBuffers &d;
  Value tokens;
  // Per kernel.
  Value batch, stateHead, keyHead, v0, sK, sV, sS, sG, sKt;
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
        acc = mapAcc(ix, acc, m0, ix.c(8 * nt), lane,
                     [&](Value row, Value col, Value zero) {
                       Value gcol = ix.add(v0, col);
                       Value ok = ix.both(ix.lt(row, ix.c(c.keyDim)),
                                          ix.lt(gcol, ix.c(c.valueDim)));
                       Value x = memref::LoadOp::create(
                           b, d.init,
                           ValueRange{batch, stateHead,
                                      ix.min(row, c.keyDim - 1),
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
        forAccRows(ix, ix.mul(mt, 16), ix.c(8 * nt), lane,
                   [&](int64_t r, Value row, Value col) {
                     Value x = vector::ExtractOp::create(
                         b, s[j * valueTiles() + nt], ArrayRef<int64_t>{r});
                     Value h = arith::TruncFOp::create(b, half, x);
                     vector::StoreOp::create(b, h, sS, ValueRange{row, col});
                   });
    });
  }
}

void LinearAttentionKernel::rescaleKeys(bool toChunkEnd) {
  int64_t kp = c.paddedKey();
  forThreads(c.chunk * kp, [&](Value i) {
    Value j = ix.div(i, kp), k = ix.rem(i, kp);
    Value ref = toChunkEnd ? ix.c(c.chunk - 1)
                           : ix.add(ix.mul(ix.div(j, 16), 16), 15);
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
  Value scale = ix.f32(c.scale);
  auto rowGate = [&](Value row) -> Value {
    return memref::LoadOp::create(b, sG, ValueRange{row});
  };

  // P = Q K^T over the chunk's keys, masked causally and decayed.
  SmallVector<Value> p;
  for (int64_t np = 0; vectorGate() && np < chunkSteps(); ++np) {
    SmallVector<Value> pair = vectorGateScores(np, qf, queryHead);
    p.append(pair.begin(), pair.end());
  }
  for (int64_t np = 0; !vectorGate() && np < chunkSteps(); ++np) {
    Value p0 = zeroAcc(b), p1 = zeroAcc(b);
    for (int64_t ks = 0; ks < keySteps(); ++ks) {
      auto [b0, b1] = loadBPair(ix, sK, ix.c(16 * np), ix.c(16 * ks), lane);
      p0 = mma(b, qf[ks], b0, p0);
      p1 = mma(b, qf[ks], b1, p1);
    }
    p.push_back(p0);
    p.push_back(p1);
  }
  Value zero = ix.f32(0.0f);
  for (size_t nt = 0; nt < p.size(); ++nt)
    p[nt] = mapAcc(ix, p[nt], m0, ix.c(8 * nt), lane,
                 [&](Value row, Value col, Value x) {
                   Value f = scale;
                   if (gated() && !vectorGate())
                     f = arith::MulFOp::create(
                         b, f,
                         math::ExpOp::create(
                             b, arith::SubFOp::create(b, rowGate(row),
                                                      rowGate(col))));
                   Value y = arith::MulFOp::create(b, x, f);
                   return arith::SelectOp::create(b, ix.le(col, row), y, zero);
                 });
  SmallVector<Value> pa;
  for (int64_t ks = 0; ks < chunkSteps(); ++ks)
    pa.push_back(packA(b, p[2 * ks], p[2 * ks + 1], c.elemType));

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
    for (int64_t ks = 0; ks < keySteps(); ++ks) {
      auto [b0, b1] =
          loadBPairTransposed(ix, sS, ix.c(16 * ks), ix.c(16 * np), lane);
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
    for (int64_t ks = 0; ks < chunkSteps(); ++ks) {
      auto [b0, b1] =
          loadBPairTransposed(ix, sV, ix.c(16 * ks), ix.c(16 * np), lane);
      o[0] = mma(b, pa[ks], b0, o[0]);
      o[1] = mma(b, pa[ks], b1, o[1]);
    }
    for (int64_t x = 0; x < 2; ++x)
      storeRows(o[x], d.o, batch, t0, m0, tokens, head, v0,
                ix.c(16 * np + 8 * x), c.valueDim);
  }
}

SmallVector<Value>
LinearAttentionKernel::vectorGateScores(int64_t np, ArrayRef<Value> qf,
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
        Value q = toF32(memref::LoadOp::create(
            b, d.q, ValueRange{batch, ts[r], queryHead, k}));
        Value gi = gateAt(rows[r], k);
        for (int64_t x = 0; x < 2; ++x)
          for (int64_t e = 0; e < 2; ++e) {
            Value j = cols[x][e];
            Value kv = toF32(memref::LoadOp::create(b, sK, ValueRange{j, k}));
            Value w = math::ExpOp::create(
                b, arith::SubFOp::create(b, gi, gateAt(j, k)));
            Value term = arith::MulFOp::create(
                b, arith::MulFOp::create(b, q, kv), w);
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
    return ifThenElse(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, sub,
                                            warp),
                      types, diagonal, zeros);
  });
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
      x = arith::TruncFOp::create(b, c.elemType,
                                  arith::MulFOp::create(b, x, w));
      memref::StoreOp::create(b, x, sV, ValueRange{row, col});
    });
    gpu::BarrierOp::create(b);
  }
  Value decay;
  if (gated() && !vectorGate())
    decay = vector::BroadcastOp::create(
        b, VectorType::get({2, 2}, b.getF32Type()),
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
            acc[n] = mapAcc(ix, acc[n], ix.mul(mt, 16), ix.c(8 * n), lane,
                            [&](Value row, Value, Value x) {
                              return arith::MulFOp::create(
                                  b, x,
                                  math::ExpOp::create(
                                      b, gateAt(ix.c(c.chunk - 1), row)));
                            });
          // S += K^T V': A = K^T (rows = key dims) from the [token][key]
          // tile, B = V' from the [token][value] tile.
          for (int64_t ks = 0; ks < chunkSteps(); ++ks) {
            Value a = loadATransposed(ix, vectorGate() ? sKt : sK,
                                      ix.c(16 * ks), ix.mul(mt, 16), lane);
            for (int64_t np = 0; np < nt / 2; ++np) {
              auto [b0, b1] = loadBPairTransposed(ix, sV, ix.c(16 * ks),
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

void LinearAttentionKernel::build(gpu::LaunchOp launch) {
  setUp(launch);
  Value block = launch.getBlockIds().x;
  batch = ix.div(block, c.hv);
  stateHead = ix.rem(block, c.hv);
  keyHead = ix.div(stateHead, c.hv / c.hk);
  v0 = ix.mul(launch.getBlockIds().y, c.valueTile);
  auto attrs = launch.getWorkgroupAttributions();
  sK = attrs[0], sV = attrs[1], sS = attrs[2], sG = attrs[3];
  if (vectorGate())
    sKt = attrs[4];

  // Padding columns of the K and V tiles stay zero; copies never touch them.
  zeroShared(sK);
  zeroShared(sV);
  SmallVector<Value> state = initialState();
  stateToShared(state);
  gpu::BarrierOp::create(b);

  Value chunks = ix.ceilDiv(tokens, c.chunk);
  auto loop = scf::ForOp::create(b, ix.c(0), chunks, ix.c(1), state);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> s(loop.getRegionIterArgs());
    t0 = ix.mul(loop.getInductionVar(), c.chunk);
    lastInChunk = ix.sub(ix.sub(tokens, ix.c(1)), t0);
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

    forRange(ix.c(0), ix.c(c.ho / c.hv), [&](Value i) { outputHead(i); });
    gpu::BarrierOp::create(b);

    s = updateState(s);
    gpu::BarrierOp::create(b);
    stateToShared(s);
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, s);
  }
  SmallVector<Value> final(loop.getResults());

  for (int64_t j = 0; j < stateTilesPerWarp(); ++j)
    for (int64_t nt = 0; nt < valueTiles(); ++nt)
      forAccRows(ix, ix.mul(stateTile(j), 16), ix.c(8 * nt), lane,
                 [&](int64_t r, Value row, Value col) {
                   Value gcol = ix.add(v0, col);
                   Value ok = ix.both(ix.lt(row, ix.c(c.keyDim)),
                                      ix.lt(gcol, ix.c(c.valueDim)));
                   ifThen(ok, [&] {
                     Value x = vector::ExtractOp::create(
                         b, final[j * valueTiles() + nt],
                         ArrayRef<int64_t>{r});
                     vector::StoreOp::create(
                         b, x, d.state,
                         ValueRange{batch, stateHead, row, gcol});
                   });
                 });
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
  Value one = ix.c(1);
  Value grid = ix.mul(batch, c.hv);
  Value valueTiles = ix.c((c.valueDim + c.valueTile - 1) / c.valueTile);
  auto launch = gpu::LaunchOp::create(
      b, grid, valueTiles, one, ix.c(32 * c.warps()), one, one,
      /*dynamicSharedMemorySize=*/nullptr, gpu::AsyncTokenType::get(ctx),
      ValueRange{dependency}, attributions);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    LinearAttentionKernel(b, c, d, tokens).build(launch);
    gpu::TerminatorOp::create(b);
  }
  return launch.getAsyncToken();
}

} // namespace mixir::gpu_lowering
