//===- Fragments.cpp - warp-level mma.sync fragments ----------------------===//
#include "Fragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::gpu_lowering {

Value Ix::c(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
Value Ix::add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
Value Ix::mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
Value Ix::sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
Value Ix::div(Value x, int64_t v) { return arith::DivUIOp::create(b, x, c(v)); }
Value Ix::rem(Value x, int64_t v) { return arith::RemUIOp::create(b, x, c(v)); }
Value Ix::min(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
Value Ix::ceilDiv(Value x, int64_t v) {
  return arith::CeilDivUIOp::create(b, x, c(v));
}
Value Ix::lt(Value x, Value y) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
}
Value Ix::le(Value x, Value y) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ule, x, y);
}
Value Ix::both(Value p, Value q) { return arith::AndIOp::create(b, p, q); }
Value Ix::f32(float v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

Lane laneOf(Ix &ix, Value threadId) {
  Lane l;
  l.lane = ix.rem(threadId, 32);
  l.group = ix.div(l.lane, 4);
  l.quad = ix.rem(l.lane, 4);
  return l;
}

Value zeroAcc(ImplicitLocOpBuilder &b) {
  auto type = VectorType::get({2, 2}, b.getF32Type());
  return arith::ConstantOp::create(b, type, DenseElementsAttr::get(type, 0.0f));
}

static Value ldmatrix(Ix &ix, Value smem, Value row, Value col, bool trans,
                      int64_t tiles) {
  auto elem = cast<MemRefType>(smem.getType()).getElementType();
  auto type = VectorType::get({tiles, 2}, elem);
  return nvgpu::LdMatrixOp::create(ix.b, type, smem, ValueRange{row, col},
                                   trans, static_cast<uint32_t>(tiles));
}

// ldmatrix .x4: lanes 8i..8i+7 address the rows of 8 x 8 matrix i, which
// becomes register i of every lane.
Value loadA(Ix &ix, Value smem, Value m0, Value k0, const Lane &l) {
  // Matrices (m0, k0), (m0+8, k0), (m0, k0+8), (m0+8, k0+8).
  Value row = ix.add(m0, ix.rem(l.lane, 16));
  Value col = ix.add(k0, ix.mul(ix.div(l.lane, 16), 8));
  return ldmatrix(ix, smem, row, col, /*trans=*/false, 4);
}

Value loadATransposed(Ix &ix, Value smem, Value k0, Value m0, const Lane &l) {
  // Stored blocks (k0, m0), (k0, m0+8), (k0+8, m0), (k0+8, m0+8), each
  // delivered transposed.
  Value row =
      ix.add(ix.add(k0, ix.rem(l.lane, 8)), ix.mul(ix.div(l.lane, 16), 8));
  Value col = ix.add(m0, ix.mul(ix.rem(ix.div(l.lane, 8), 2), 8));
  return ldmatrix(ix, smem, row, col, /*trans=*/true, 4);
}

static std::pair<Value, Value> splitPair(ImplicitLocOpBuilder &b, Value x4) {
  auto first = vector::ExtractStridedSliceOp::create(
      b, x4, ArrayRef<int64_t>{0, 0}, ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{1, 1});
  auto second = vector::ExtractStridedSliceOp::create(
      b, x4, ArrayRef<int64_t>{2, 0}, ArrayRef<int64_t>{2, 2},
      ArrayRef<int64_t>{1, 1});
  return {first, second};
}

std::pair<Value, Value> loadBPair(Ix &ix, Value smem, Value n0, Value k0,
                                  const Lane &l) {
  // Stored [N][K]: matrices (n0, k0), (n0, k0+8), (n0+8, k0), (n0+8, k0+8).
  Value row =
      ix.add(ix.add(n0, ix.rem(l.lane, 8)), ix.mul(ix.div(l.lane, 16), 8));
  Value col = ix.add(k0, ix.mul(ix.rem(ix.div(l.lane, 8), 2), 8));
  return splitPair(ix.b, ldmatrix(ix, smem, row, col, /*trans=*/false, 4));
}

std::pair<Value, Value> loadBPairTransposed(Ix &ix, Value smem, Value k0,
                                            Value n0, const Lane &l) {
  // Stored [K][N]: matrices (k0, n0), (k0+8, n0), (k0, n0+8), (k0+8, n0+8).
  Value row = ix.add(ix.add(k0, ix.rem(l.lane, 8)),
                     ix.mul(ix.rem(ix.div(l.lane, 8), 2), 8));
  Value col = ix.add(n0, ix.mul(ix.div(l.lane, 16), 8));
  return splitPair(ix.b, ldmatrix(ix, smem, row, col, /*trans=*/true, 4));
}

Value mma(ImplicitLocOpBuilder &b, Value a, Value bFrag, Value acc) {
  return nvgpu::MmaSyncOp::create(b, a, bFrag, acc,
                                  ArrayRef<int64_t>{16, 8, 16});
}

Value packA(ImplicitLocOpBuilder &b, Value acc0, Value acc1, Type elemType) {
  auto half = VectorType::get({2, 2}, elemType);
  auto full = VectorType::get({4, 2}, elemType);
  Value lo = arith::TruncFOp::create(b, half, acc0);
  Value hi = arith::TruncFOp::create(b, half, acc1);
  Value out = arith::ConstantOp::create(
      b, full, DenseElementsAttr::get(full, b.getZeroAttr(elemType)));
  out = vector::InsertStridedSliceOp::create(
      b, lo, out, ArrayRef<int64_t>{0, 0}, ArrayRef<int64_t>{1, 1});
  return vector::InsertStridedSliceOp::create(
      b, hi, out, ArrayRef<int64_t>{2, 0}, ArrayRef<int64_t>{1, 1});
}

Value mapAcc(Ix &ix, Value acc, Value m0, Value n0, const Lane &l,
             const ElementFn &f) {
  for (int64_t r = 0; r < 2; ++r) {
    Value row = ix.add(ix.add(m0, l.group), 8 * r);
    for (int64_t c = 0; c < 2; ++c) {
      Value col = ix.add(ix.add(n0, ix.mul(l.quad, 2)), c);
      Value v = vector::ExtractOp::create(ix.b, acc, ArrayRef<int64_t>{r, c});
      acc = vector::InsertOp::create(ix.b, f(row, col, v), acc,
                                     ArrayRef<int64_t>{r, c});
    }
  }
  return acc;
}

Value mapA(Ix &ix, Value frag, Value m0, Value k0, const Lane &l,
           const ElementFn &f) {
  // Register r holds (row g + 8 (r % 2), cols 2q + 8 (r / 2) + {0, 1}).
  Type elem = cast<VectorType>(frag.getType()).getElementType();
  for (int64_t r = 0; r < 4; ++r) {
    Value row = ix.add(ix.add(m0, l.group), 8 * (r % 2));
    for (int64_t c = 0; c < 2; ++c) {
      Value col = ix.add(ix.add(k0, ix.mul(l.quad, 2)), 8 * (r / 2) + c);
      Value v = vector::ExtractOp::create(ix.b, frag, ArrayRef<int64_t>{r, c});
      v = arith::ExtFOp::create(ix.b, ix.b.getF32Type(), v);
      v = arith::TruncFOp::create(ix.b, elem, f(row, col, v));
      frag = vector::InsertOp::create(ix.b, v, frag, ArrayRef<int64_t>{r, c});
    }
  }
  return frag;
}

void forAccRows(Ix &ix, Value m0, Value n0, const Lane &l,
                const std::function<void(int64_t, Value, Value)> &f) {
  Value col = ix.add(n0, ix.mul(l.quad, 2));
  for (int64_t r = 0; r < 2; ++r)
    f(r, ix.add(ix.add(m0, l.group), 8 * r), col);
}

} // namespace mixir::gpu_lowering
