//===- KernelBase.cpp - shared pieces of the mix GPU kernels --------------===//
#include "KernelBase.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::gpu_lowering {

void KernelBase::setUp(gpu::LaunchOp launch) {
  tid = launch.getThreadIds().x;
  lane = laneOf(ix, tid);
  warp = ix.div(tid, 32);
}

void KernelBase::ifThen(Value cond, const std::function<void()> &then) {
  auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op.thenBlock()->getTerminator());
  then();
}

SmallVector<Value>
KernelBase::ifThenElse(Value cond, TypeRange types,
                       const std::function<SmallVector<Value>()> &t,
                       const std::function<SmallVector<Value>()> &e) {
  auto op = scf::IfOp::create(b, types, cond, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(op.thenBlock());
    scf::YieldOp::create(b, t());
    b.setInsertionPointToStart(op.elseBlock());
    scf::YieldOp::create(b, e());
  }
  return SmallVector<Value>(op.getResults());
}

void KernelBase::forRange(Value lb, Value ub,
                          const std::function<void(Value)> &f) {
  auto loop = scf::ForOp::create(b, lb, ub, ix.c(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  f(loop.getInductionVar());
}

void KernelBase::forThreads(int64_t total,
                            const std::function<void(Value)> &f) {
  auto loop = scf::ForOp::create(b, tid, ix.c(total), ix.c(threads()));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  f(loop.getInductionVar());
}

Value KernelBase::toF32(Value x) {
  if (x.getType().isF32())
    return x;
  return arith::ExtFOp::create(b, b.getF32Type(), x);
}

void KernelBase::zeroShared(Value tile) {
  auto type = cast<MemRefType>(tile.getType());
  int64_t cols = type.getDimSize(1);
  Value zero =
      arith::ConstantOp::create(b, b.getZeroAttr(type.getElementType()));
  forThreads(type.getNumElements(), [&](Value i) {
    memref::StoreOp::create(b, zero, tile,
                            ValueRange{ix.div(i, cols), ix.rem(i, cols)});
  });
}

void KernelBase::copyRows(Value src, Value dst, int64_t rows, Value batch,
                          Value t0, Value tokens, Value head, Value colBase,
                          int64_t cols, int64_t limit) {
  // 16-byte copies where the rows allow, else 8 or 4 bytes (dims are even).
  int64_t gran = 2;
  for (int64_t g : {8, 4})
    if (cols % g == 0 && limit % g == 0) {
      gran = g;
      break;
    }
  int64_t perRow = cols / gran;
  Type elem = cast<MemRefType>(dst.getType()).getElementType();
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  forThreads(rows * perRow, [&](Value i) {
    Value row = ix.div(i, perRow);
    Value col = ix.mul(ix.rem(i, perRow), gran);
    Value gcol = ix.add(colBase, col);
    Value t = ix.add(t0, row);
    Value ok = ix.both(ix.lt(t, tokens), ix.lt(gcol, ix.c(limit)));
    // Rows past the sequence and columns past the head dim are zero-filled.
    Value n = arith::SelectOp::create(b, ok, ix.c(gran), ix.c(0));
    Value tSafe = ix.min(t, ix.sub(tokens, ix.c(1)));
    Value cSafe = ix.min(gcol, limit - gran);
    UnitAttr bypassL1 = gran * elem.getIntOrFloatBitWidth() == 128
                            ? b.getUnitAttr()
                            : UnitAttr();
    nvgpu::DeviceAsyncCopyOp::create(b, tokenType, dst, ValueRange{row, col},
                                     src, ValueRange{batch, tSafe, head, cSafe},
                                     b.getIndexAttr(gran), n, bypassL1);
  });
}

SmallVector<Value> KernelBase::queryFragments(Value q, Value batch, Value t0,
                                              Value m0, Value tokens,
                                              Value head, int64_t keyDim,
                                              int64_t keySteps) {
  // Register r of an A fragment holds (row g + 8 (r % 2), cols 2q + 8 (r / 2)
  // and the next one).
  Type elem = cast<MemRefType>(q.getType()).getElementType();
  auto pair = VectorType::get({2}, elem);
  auto fragType = VectorType::get({4, 2}, elem);
  Value zeroPair = arith::ConstantOp::create(
      b, pair, DenseElementsAttr::get(pair, b.getZeroAttr(elem)));
  SmallVector<Value> frags;
  for (int64_t ks = 0; ks < keySteps; ++ks) {
    Value frag = arith::ConstantOp::create(
        b, fragType, DenseElementsAttr::get(fragType, b.getZeroAttr(elem)));
    for (int64_t r = 0; r < 4; ++r) {
      Value row = ix.add(ix.add(m0, lane.group), 8 * (r % 2));
      Value col = ix.add(ix.mul(lane.quad, 2), 16 * ks + 8 * (r / 2));
      Value t = ix.add(t0, row);
      Value ok = ix.both(ix.lt(t, tokens), ix.lt(col, ix.c(keyDim)));
      Value x = vector::LoadOp::create(
          b, pair, q,
          ValueRange{batch, ix.min(t, ix.sub(tokens, ix.c(1))), head,
                     ix.min(col, keyDim - 2)});
      x = arith::SelectOp::create(b, ok, x, zeroPair);
      frag = vector::InsertOp::create(b, x, frag, ArrayRef<int64_t>{r});
    }
    frags.push_back(frag);
  }
  return frags;
}

Value KernelBase::quadReduce(Value x, bool max) {
  for (int32_t offset : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(b, x, offset, 32, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    x = max ? Value(arith::MaximumFOp::create(b, x, other))
            : Value(arith::AddFOp::create(b, x, other));
  }
  return x;
}

void KernelBase::storeRows(Value acc, Value out, Value batch, Value t0,
                           Value m0, Value tokens, Value head, Value c0,
                           Value n0, int64_t limit) {
  Type elem = cast<MemRefType>(out.getType()).getElementType();
  auto pair = VectorType::get({2}, elem);
  forAccRows(ix, m0, n0, lane, [&](int64_t r, Value row, Value col) {
    Value t = ix.add(t0, row);
    Value gcol = ix.add(c0, col);
    Value ok = ix.both(ix.lt(t, tokens), ix.lt(gcol, ix.c(limit)));
    ifThen(ok, [&] {
      Value y = vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{r});
      if (elem != b.getF32Type())
        y = arith::TruncFOp::create(b, pair, y);
      vector::StoreOp::create(b, y, out, ValueRange{batch, t, head, gcol});
    });
  });
}

SmallVector<Value> KernelBase::queryKeyScores(ArrayRef<Value> qf, Value keys,
                                              int64_t slices) {
  SmallVector<Value> s;
  for (int64_t np = 0; np < slices; ++np) {
    Value s0 = zeroAcc(b), s1 = zeroAcc(b);
    for (auto [ks, frag] : llvm::enumerate(qf)) {
      auto [b0, b1] = loadBPair(ix, keys, ix.c(16 * np),
                                ix.c(16 * static_cast<int64_t>(ks)), lane);
      s0 = mma(b, frag, b0, s0);
      s1 = mma(b, frag, b1, s1);
    }
    s.push_back(s0);
    s.push_back(s1);
  }
  return s;
}

} // namespace mixir::gpu_lowering
