//===- AttentionKernel.cpp - flash attention on tensor cores --------------===//
#include "Conversion/Utils/GateFloor.h"
#include "KernelBase.h"
#include "Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;

namespace mixir::gpu_lowering {

int64_t AttentionConfig::sharedBytes() const {
  int64_t e = elemType.getIntOrFloatBitWidth() / 8;
  return e * keyBlock * (paddedKey() + kRowPad + paddedValue() + kRowPad);
}

std::string configureAttention(mix::AttentionOp op, AttentionConfig &c) {
  auto qType = cast<RankedTensorType>(op.getQ().getType());
  auto kType = cast<RankedTensorType>(op.getK().getType());
  auto vType = cast<RankedTensorType>(op.getV().getType());
  c.elemType = qType.getElementType();
  if (!c.elemType.isBF16() && !c.elemType.isF16())
    return "inputs must be bf16 or f16 (the tensor cores take 16-bit "
           "operands; f32 inputs run on target cpu)";
  c.forgetGate = static_cast<bool>(op.getG());
  c.hq = qType.getDimSize(2), c.hkv = kType.getDimSize(2);
  c.keyDim = qType.getDimSize(3), c.valueDim = vType.getDimSize(3);
  c.causal = op.getCausal();
  c.window = op.getWindowOrZero();
  c.block = op.getBlockOrZero();
  c.scale = op.getScaleOrDefault();
  c.softcap = op.getSoftcapOrZero();
  if (c.keyDim % 2 || c.valueDim % 2)
    return "key and value head dims must be even (got K = " +
           std::to_string(c.keyDim) + ", V = " + std::to_string(c.valueDim) +
           ")";
  if (c.paddedKey() > 128 || c.paddedValue() > 128)
    return "head dims above 128 are not implemented for target cuda yet";
  while (c.keyBlock > 16 && c.sharedBytes() > kSharedLimit)
    c.keyBlock /= 2;
  return "";
}

namespace {
class AttentionKernel : KernelBase {
public:
  AttentionKernel(ImplicitLocOpBuilder &b, const AttentionConfig &c,
                  const DeviceBuffers &d, Value tokens, Value keys)
      : KernelBase(b, c.warps()), c(c), d(d), tokens(tokens), keys(keys) {}

  void build(gpu::LaunchOp launch);

private:
  int64_t keySteps() const { return c.paddedKey() / 16; }
  int64_t blockSteps() const { return c.keyBlock / 16; }
  int64_t valueTiles() const { return c.paddedValue() / 8; }

  /// One key block: returns the updated row maxima, row sums and outputs.
  SmallVector<Value> keyBlock(Value j0, ArrayRef<Value> carried,
                              ArrayRef<Value> qf);
  /// This warp's 16 rows of scaled scores against the key block at `j0`
  /// (with the forget gate's G_i - G_j), -inf where masked.
  SmallVector<Value> maskedScores(Value j0, ArrayRef<Value> qf);
  /// O = alpha O + P V into the carried outputs `next[4...]`, P the
  /// exponentiated scores `p`.
  void accumulateValues(ArrayRef<Value> p, ArrayRef<Value> alpha,
                        MutableArrayRef<Value> next);

  const AttentionConfig &c;
  const DeviceBuffers &d;
  Value tokens, keys;
  Value batch, head, kvHead, q0, m0, sK, sV;
};
} // namespace

SmallVector<Value> AttentionKernel::keyBlock(Value j0, ArrayRef<Value> carried,
                                             ArrayRef<Value> qf) {
  copyRows(d.k, sK, c.keyBlock, batch, j0, keys, kvHead, ix.c(0), c.keyDim,
           c.keyDim);
  copyRows(d.v, sV, c.keyBlock, batch, j0, keys, kvHead, ix.c(0), c.valueDim,
           c.valueDim);
  Value group = nvgpu::DeviceAsyncCreateGroupOp::create(
      b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
  nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b);

  SmallVector<Value> s = maskedScores(j0, qf);
  Value negInf = ix.f32(-std::numeric_limits<float>::infinity());

  // Online softmax per row (r = 0: row g, r = 1: row g + 8).
  Value zero = ix.f32(0.0f);
  SmallVector<Value> next(carried);
  Value shift[2], alpha[2];
  for (int64_t r = 0; r < 2; ++r) {
    Value mx = negInf;
    for (Value acc : s)
      for (int64_t e = 0; e < 2; ++e)
        mx = arith::MaximumFOp::create(
            b, mx, vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{r, e}));
    Value mNew = arith::MaximumFOp::create(b, carried[r], quadReduce(mx, true));
    // A row with no allowed key so far keeps max -inf: shift by 0 instead
    // so that exp() gives 0, not NaN.
    Value empty =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mNew, negInf);
    shift[r] = arith::SelectOp::create(b, empty, zero, mNew);
    alpha[r] =
        math::ExpOp::create(b, arith::SubFOp::create(b, carried[r], shift[r]));
    next[r] = mNew;
  }
  Value rowSum[2] = {zero, zero};
  for (size_t nt = 0; nt < s.size(); ++nt)
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t e = 0; e < 2; ++e) {
        Value x = vector::ExtractOp::create(b, s[nt], ArrayRef<int64_t>{r, e});
        Value p = math::ExpOp::create(b, arith::SubFOp::create(b, x, shift[r]));
        rowSum[r] = arith::AddFOp::create(b, rowSum[r], p);
        s[nt] = vector::InsertOp::create(b, p, s[nt], ArrayRef<int64_t>{r, e});
      }
  for (int64_t r = 0; r < 2; ++r)
    next[2 + r] = arith::AddFOp::create(
        b, arith::MulFOp::create(b, carried[2 + r], alpha[r]),
        quadReduce(rowSum[r], false));

  accumulateValues(s, alpha, next);
  // Every warp is done with the tiles before the next block overwrites them.
  gpu::BarrierOp::create(b);
  return next;
}

SmallVector<Value> AttentionKernel::maskedScores(Value j0, ArrayRef<Value> qf) {
  // Scores of this warp's 16 rows against the block's keys.
  SmallVector<Value> s = queryKeyScores(qf, sK, blockSteps());
  Value negInf = ix.f32(-std::numeric_limits<float>::infinity());
  Value scale = ix.f32(c.scale);
  for (size_t nt = 0; nt < s.size(); ++nt)
    s[nt] = mapAcc(
        ix, s[nt], m0, ix.c(8 * nt), lane, [&](Value row, Value col, Value x) {
          Value i = ix.add(q0, row), j = ix.add(j0, col);
          Value ok = ix.lt(j, keys);
          if (c.causal)
            ok = ix.both(ok, ix.le(j, i));
          if (c.window > 0) // i - window < j
            ok = ix.both(ok, ix.lt(i, ix.add(j, c.window)));
          if (c.block > 0)
            ok = ix.both(ok, arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                   ix.div(i, c.block),
                                                   ix.div(j, c.block)));
          Value y = arith::MulFOp::create(b, x, scale);
          if (c.softcap > 0.0f) // cap * tanh(y / cap)
            y = arith::MulFOp::create(
                b,
                math::TanhOp::create(
                    b, arith::DivFOp::create(b, y, ix.f32(c.softcap))),
                ix.f32(c.softcap));
          if (c.forgetGate) {
            Value last = ix.sub(tokens, ix.c(1));
            Value gi = memref::LoadOp::create(
                b, d.state, ValueRange{batch, ix.min(i, last), head});
            Value gj = memref::LoadOp::create(
                b, d.state, ValueRange{batch, ix.min(j, last), head});
            y = arith::AddFOp::create(b, y, gateBias(b, b.getLoc(), gi, gj));
          }
          return arith::SelectOp::create(b, ok, y, negInf);
        });
  return s;
}

void AttentionKernel::accumulateValues(ArrayRef<Value> p, ArrayRef<Value> alpha,
                                       MutableArrayRef<Value> next) {
  SmallVector<Value> pa;
  for (int64_t ks = 0; ks < blockSteps(); ++ks)
    pa.push_back(packA(b, p[2 * ks], p[2 * ks + 1], c.elemType));
  for (int64_t nt = 0; nt < valueTiles(); ++nt) {
    Value &o = next[4 + nt];
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t e = 0; e < 2; ++e) {
        Value x = vector::ExtractOp::create(b, o, ArrayRef<int64_t>{r, e});
        o = vector::InsertOp::create(b, arith::MulFOp::create(b, x, alpha[r]),
                                     o, ArrayRef<int64_t>{r, e});
      }
  }
  for (int64_t ks = 0; ks < blockSteps(); ++ks)
    for (int64_t np = 0; np < valueTiles() / 2; ++np) {
      auto [b0, b1] =
          loadBPairTransposed(ix, sV, ix.c(16 * ks), ix.c(16 * np), lane);
      next[4 + 2 * np] = mma(b, pa[ks], b0, next[4 + 2 * np]);
      next[5 + 2 * np] = mma(b, pa[ks], b1, next[5 + 2 * np]);
    }
}

void AttentionKernel::build(gpu::LaunchOp launch) {
  setUp(launch);
  Value block = launch.getBlockIds().x;
  batch = ix.div(block, c.hq);
  head = ix.rem(block, c.hq);
  kvHead = ix.div(head, c.hq / c.hkv);
  q0 = ix.mul(launch.getBlockIds().y, c.queryBlock);
  m0 = ix.mul(warp, 16);
  auto attrs = launch.getWorkgroupAttributions();
  sK = attrs[0], sV = attrs[1];
  zeroShared(sK);
  zeroShared(sV);
  gpu::BarrierOp::create(b);

  SmallVector<Value> qf =
      queryFragments(d.q, batch, q0, m0, tokens, head, c.keyDim, keySteps());
  // Key blocks that can hold an allowed key for some row of this block.
  Value end = keys;
  if (c.causal)
    end = ix.min(end, ix.add(q0, c.queryBlock));
  Value first = ix.c(0);
  if (c.window > 0) {
    // max(0, q0 - window + 1), rounded down to a block.
    Value lo = ix.add(q0, 1);
    Value w = ix.c(c.window);
    Value start =
        arith::SelectOp::create(b, ix.lt(w, lo), ix.sub(lo, w), ix.c(0));
    first = ix.div(start, c.keyBlock);
  }
  if (c.block > 0) {
    // From the block of the first row to the end of the last row's.
    Value start = ix.mul(ix.div(q0, c.block), c.block);
    Value stop = ix.mul(
        ix.add(ix.div(ix.add(q0, c.queryBlock - 1), c.block), 1), c.block);
    first = arith::MaxUIOp::create(b, first, ix.div(start, c.keyBlock));
    end = ix.min(end, stop);
  }
  Value last = ix.ceilDiv(end, c.keyBlock);
  last = arith::MaxUIOp::create(b, last, first);

  Value negInf = ix.f32(-std::numeric_limits<float>::infinity());
  SmallVector<Value> init = {negInf, negInf, ix.f32(0.0f), ix.f32(0.0f)};
  for (int64_t nt = 0; nt < valueTiles(); ++nt)
    init.push_back(zeroAcc(b));
  auto loop = scf::ForOp::create(b, first, last, ix.c(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> carried(loop.getRegionIterArgs());
    scf::YieldOp::create(
        b, keyBlock(ix.mul(loop.getInductionVar(), c.keyBlock), carried, qf));
  }
  SmallVector<Value> final(loop.getResults());
  Value zero = ix.f32(0.0f), one = ix.f32(1.0f);
  Value inv[2];
  for (int64_t r = 0; r < 2; ++r) {
    // Rows without any allowed key give 0.
    Value empty =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, final[2 + r], zero);
    inv[r] = arith::SelectOp::create(
        b, empty, zero, arith::DivFOp::create(b, one, final[2 + r]));
  }
  for (int64_t nt = 0; nt < valueTiles(); ++nt) {
    Value o = final[4 + nt];
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t e = 0; e < 2; ++e) {
        Value x = vector::ExtractOp::create(b, o, ArrayRef<int64_t>{r, e});
        o = vector::InsertOp::create(b, arith::MulFOp::create(b, x, inv[r]), o,
                                     ArrayRef<int64_t>{r, e});
      }
    storeRows(o, d.o, batch, q0, m0, tokens, head, ix.c(0), ix.c(8 * nt),
              c.valueDim);
  }
}

namespace {
/// G[b, :, h] = cumsum(g[b, :, h]) in f64 with one block of 128 threads per
/// (batch, head): each thread sums a contiguous segment, thread 0 scans the 128
/// partial sums, then every thread rescans its segment from its offset.
class ForgetGateScan : KernelBase {
public:
  ForgetGateScan(ImplicitLocOpBuilder &b, const DeviceBuffers &d, int64_t heads,
                 Value tokens)
      : KernelBase(b, kThreads / 32), d(d), heads(heads), tokens(tokens) {}
  static constexpr int64_t kThreads = 128;

  void build(gpu::LaunchOp launch) {
    setUp(launch);
    Value partial = launch.getWorkgroupAttributions()[0];
    Value bh = launch.getBlockIds().x;
    Value bi = ix.div(bh, heads), h = ix.rem(bh, heads);
    Value seg = ix.ceilDiv(tokens, kThreads);
    Value lo = ix.min(ix.mul(tid, seg), tokens);
    Value hi = ix.min(ix.add(lo, seg), tokens);
    // Summed in f64 (see GateFloor.h), each gate floored first.
    auto gAt = [&](Value t) -> Value {
      Value g = floorLogGate(
          b, toF32(memref::LoadOp::create(b, d.g, ValueRange{bi, t, h})));
      return arith::ExtFOp::create(b, b.getF64Type(), g);
    };
    Value zero = arith::ConstantOp::create(b, b.getF64FloatAttr(0.0));
    auto sum = scf::ForOp::create(b, lo, hi, ix.c(1), ValueRange{zero});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(sum.getBody());
      scf::YieldOp::create(
          b, ValueRange{arith::AddFOp::create(b, sum.getRegionIterArg(0),
                                              gAt(sum.getInductionVar()))});
    }
    memref::StoreOp::create(b, sum.getResult(0), partial, ValueRange{tid});
    gpu::BarrierOp::create(b);
    // Exclusive scan of the partial sums by thread 0, in place.
    ifThen(ix.lt(tid, ix.c(1)), [&] {
      auto scan = scf::ForOp::create(b, ix.c(0), ix.c(kThreads), ix.c(1),
                                     ValueRange{zero});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(scan.getBody());
      Value i = scan.getInductionVar();
      Value x = memref::LoadOp::create(b, partial, ValueRange{i});
      memref::StoreOp::create(b, scan.getRegionIterArg(0), partial,
                              ValueRange{i});
      scf::YieldOp::create(
          b, ValueRange{arith::AddFOp::create(b, scan.getRegionIterArg(0), x)});
    });
    gpu::BarrierOp::create(b);
    Value offset = memref::LoadOp::create(b, partial, ValueRange{tid});
    auto write = scf::ForOp::create(b, lo, hi, ix.c(1), ValueRange{offset});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(write.getBody());
      Value t = write.getInductionVar();
      Value acc = arith::AddFOp::create(b, write.getRegionIterArg(0), gAt(t));
      memref::StoreOp::create(b, acc, d.state, ValueRange{bi, t, h});
      scf::YieldOp::create(b, ValueRange{acc});
    }
  }

private:
  const DeviceBuffers &d;
  int64_t heads;
  Value tokens;
};
} // namespace

Value buildAttentionLaunch(ImplicitLocOpBuilder &b, const AttentionConfig &c,
                           const DeviceBuffers &d, Value batch, Value tokens,
                           Value keys, Value dependency) {
  MLIRContext *ctx = b.getContext();
  Ix ix{b};
  if (c.forgetGate) {
    auto ws = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    Value one = ix.c(1);
    auto scan = gpu::LaunchOp::create(
        b, ix.mul(batch, c.hq), one, one, ix.c(ForgetGateScan::kThreads), one,
        one, nullptr, gpu::AsyncTokenType::get(ctx), ValueRange{dependency},
        TypeRange{MemRefType::get({ForgetGateScan::kThreads}, b.getF64Type(),
                                  MemRefLayoutAttrInterface{}, ws)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&scan.getBody().front());
      ForgetGateScan(b, d, c.hq, tokens).build(scan);
      gpu::TerminatorOp::create(b);
    }
    dependency = scan.getAsyncToken();
  }
  auto ws = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](ArrayRef<int64_t> shape) {
    return MemRefType::get(shape, c.elemType, MemRefLayoutAttrInterface{}, ws);
  };
  SmallVector<Type> attributions = {
      shared({c.keyBlock, c.paddedKey() + kRowPad}),
      shared({c.keyBlock, c.paddedValue() + kRowPad})};
  Value one = ix.c(1);
  auto launch = gpu::LaunchOp::create(
      b, ix.mul(batch, c.hq), ix.ceilDiv(tokens, c.queryBlock), one,
      ix.c(32 * c.warps()), one, one, /*dynamicSharedMemorySize=*/nullptr,
      gpu::AsyncTokenType::get(ctx), ValueRange{dependency}, attributions);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    AttentionKernel(b, c, d, tokens, keys).build(launch);
    gpu::TerminatorOp::create(b);
  }
  return launch.getAsyncToken();
}

} // namespace mixir::gpu_lowering
