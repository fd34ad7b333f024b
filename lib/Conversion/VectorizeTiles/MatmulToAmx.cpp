//===- MatmulToAmx.cpp - bf16 tile products on the AMX tile unit ----------===//
//
// mix-matmul-to-amx: a matmul of bf16 buffers into an f32 buffer, as AMX
// tile operations. `tdpbf16ps` multiplies a 16 x 32 bf16 tile of A by a
// tile of B whose row r holds the pairs (B[2r, n], B[2r+1, n]) for 16
// columns n, into a 16 x 16 f32 tile: 16 x 16 x 32 multiply-adds per
// instruction. B is packed into that layout once per product; each 16 x 16
// block of C then stays in a tile register across the reduction.
//
//===----------------------------------------------------------------------===//
#include "MatmulToAmx.h"
#include "mixir/Conversion/AmxTiles.h"
#include "mixir/Conversion/Passes.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mixir {
#define GEN_PASS_DEF_MATMULTOAMX
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {

using mixir::kAmxCols;
using mixir::kAmxDepth;
using mixir::kAmxRows;

Value index(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

Value times(ImplicitLocOpBuilder &b, Value a, int64_t c) {
  return arith::MulIOp::create(b, a, index(b, c));
}

/// scf.for from 0 to `ub` by `step` around `body(iv)`.
void loop(ImplicitLocOpBuilder &b, int64_t ub, int64_t step,
          function_ref<void(ImplicitLocOpBuilder &, Value)> body) {
  scf::ForOp::create(b, index(b, 0), index(b, ub), index(b, step), ValueRange{},
                     [&](OpBuilder &nb, Location loc, Value iv, ValueRange) {
                       ImplicitLocOpBuilder ib(loc, nb);
                       body(ib, iv);
                       scf::YieldOp::create(ib);
                     });
}

/// The static shape of a matmul operand, or empty when it is not a static
/// 2-D shaped type of `element` (a buffer: with rows of adjacent elements,
/// which tile loads need).
ArrayRef<int64_t> staticShape(Value v, Type element) {
  auto type = dyn_cast<ShapedType>(v.getType());
  if (!type || !type.hasStaticShape() || type.getRank() != 2 ||
      type.getElementType() != element)
    return {};
  if (auto memref = dyn_cast<MemRefType>(type)) {
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(memref.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1)
      return {};
  }
  return type.getShape();
}

void lowerToAmx(linalg::MatmulOp op) {
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Value A = op.getInputs()[0], B = op.getInputs()[1], C = op.getOutputs()[0];
  ArrayRef<int64_t> cShape = staticShape(C, b.getF32Type());
  int64_t M = cShape[0], N = cShape[1];
  int64_t K = staticShape(A, b.getBF16Type())[1];
  Type bf16 = b.getBF16Type();
  auto operandTile = amx::TileType::get({kAmxRows, kAmxDepth}, bf16);
  auto resultTile = amx::TileType::get({kAmxRows, kAmxCols}, b.getF32Type());

  // P [K/2, 2N]: row r interleaves B's rows 2r and 2r + 1. (On the heap:
  // a stack buffer inside the chunk loops would need an alloca scope, whose
  // lowering splits the loop body into blocks.)
  auto packed = memref::AllocOp::create(
      b, MemRefType::get({K / 2, 2 * N}, bf16), b.getI64IntegerAttr(64));
  SmallVector<int64_t> interleave;
  for (int64_t i = 0; i < kAmxCols; ++i)
    interleave.append({i, kAmxCols + i});
  auto half = VectorType::get({kAmxCols}, bf16);
  Value pad = arith::ConstantOp::create(b, b.getZeroAttr(bf16));
  loop(b, K / 2, 1, [&](ImplicitLocOpBuilder &b, Value r) {
    Value k = times(b, r, 2);
    Value k1 = arith::AddIOp::create(b, k, index(b, 1));
    loop(b, N, kAmxCols, [&](ImplicitLocOpBuilder &b, Value n) {
      Value lo = vector::TransferReadOp::create(b, half, B, ValueRange{k, n},
                                                pad, ArrayRef<bool>{true});
      Value hi = vector::TransferReadOp::create(b, half, B, ValueRange{k1, n},
                                                pad, ArrayRef<bool>{true});
      Value both = vector::ShuffleOp::create(b, lo, hi, interleave);
      vector::TransferWriteOp::create(
          b, both, packed, ValueRange{r, times(b, n, 2)}, ArrayRef<bool>{true});
    });
  });

  loop(b, M, kAmxRows, [&](ImplicitLocOpBuilder &b, Value m) {
    loop(b, N, kAmxCols, [&](ImplicitLocOpBuilder &b, Value n) {
      Value acc = amx::TileLoadOp::create(b, resultTile, C, ValueRange{m, n});
      Value n2 = times(b, n, 2);
      for (int64_t k = 0; k < K; k += kAmxDepth) {
        Value a = amx::TileLoadOp::create(b, operandTile, A,
                                          ValueRange{m, index(b, k)});
        Value bt = amx::TileLoadOp::create(b, operandTile, packed,
                                           ValueRange{index(b, k / 2), n2});
        acc = amx::TileMulFOp::create(b, resultTile, a, bt, acc);
      }
      amx::TileStoreOp::create(b, C, ValueRange{m, n}, acc);
    });
  });
  memref::DeallocOp::create(b, packed);
  op.erase();
}

struct MatmulToAmx : mixir::impl::MatmulToAmxBase<MatmulToAmx> {
  void runOnOperation() override {
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (op.hasPureBufferSemantics() && mixir::fitsAmxTiles(op))
        matmuls.push_back(op);
    });
    for (linalg::MatmulOp op : matmuls)
      lowerToAmx(op);
  }
};

} // namespace

bool mixir::fitsAmxTiles(linalg::MatmulOp op) {
  if (op.getInputs().size() != 2 ||
      op.getIndexingMapsArray() !=
          linalg::MatmulOp::getDefaultIndexingMaps(op.getContext()))
    return false;
  Builder b(op.getContext());
  ArrayRef<int64_t> a = staticShape(op.getInputs()[0], b.getBF16Type());
  ArrayRef<int64_t> bs = staticShape(op.getInputs()[1], b.getBF16Type());
  ArrayRef<int64_t> c = staticShape(op.getOutputs()[0], b.getF32Type());
  if (a.empty() || bs.empty() || c.empty())
    return false;
  return mixir::fillsAmxTiles(c[0], a[1], c[1]);
}
