//===- MmaSync.cpp - the mix-lower-mma-sync pass --------------------------===//
//
// MLIR 22's nvgpu-to-nvvm conversion derives PTX types for f16, tf32 and
// integer mma.sync only; bf16 operands fail with "failed to deduce operand
// PTX types". This pass rewrites 16-bit `nvgpu.mma.sync` (m16n8k16, f32
// accumulators) into `nvvm.mma.sync` itself: bf16 operand registers packed
// as i32 (two bf16 per register, what the PTX instruction takes), f16 ones
// as vector<2xf16>. Doing f16 here too keeps the fragments out of
// nvgpu-to-nvvm's type conversion, which leaves casts of constant
// fragments behind.
//
//===----------------------------------------------------------------------===//
#include "mixir/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mixir {
#define GEN_PASS_DEF_LOWERMMASYNC
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {
/// The rows of a vector<n x 2 x T> fragment as operand registers: i32 for
/// bf16, vector<2xf16> for f16.
SmallVector<Value> packedRegisters(ImplicitLocOpBuilder &b, Value frag) {
  auto type = cast<VectorType>(frag.getType());
  auto i32x1 = VectorType::get({1}, b.getI32Type());
  SmallVector<Value> regs;
  for (int64_t i = 0; i < type.getDimSize(0); ++i) {
    Value row = vector::ExtractOp::create(b, frag, ArrayRef<int64_t>{i});
    if (!type.getElementType().isBF16()) {
      regs.push_back(row);
      continue;
    }
    Value word = vector::BitCastOp::create(b, i32x1, row);
    regs.push_back(vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
  }
  return regs;
}

struct LowerMmaSync : mixir::impl::LowerMmaSyncBase<LowerMmaSync> {
  void runOnOperation() override {
    SmallVector<nvgpu::MmaSyncOp> ops;
    getOperation()->walk([&](nvgpu::MmaSyncOp op) {
      Type a = cast<VectorType>(op.getMatrixA().getType()).getElementType();
      if (a.isBF16() || a.isF16())
        ops.push_back(op);
    });
    for (nvgpu::MmaSyncOp op : ops) {
      auto shape = op.getMmaShapeAsArray();
      auto cType = cast<VectorType>(op.getMatrixC().getType());
      if (shape != std::array<int64_t, 3>{16, 8, 16} ||
          cType.getShape() != ArrayRef<int64_t>{2, 2} ||
          !cType.getElementType().isF32()) {
        op.emitOpError("16-bit mma.sync is lowered for m16n8k16 with f32 "
                       "accumulators only");
        return signalPassFailure();
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      auto ptxType =
          cast<VectorType>(op.getMatrixA().getType()).getElementType().isBF16()
              ? NVVM::MMATypes::bf16
              : NVVM::MMATypes::f16;
      SmallVector<Value> a = packedRegisters(b, op.getMatrixA());
      SmallVector<Value> bRegs = packedRegisters(b, op.getMatrixB());
      SmallVector<Value> c;
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          c.push_back(vector::ExtractOp::create(b, op.getMatrixC(),
                                                ArrayRef<int64_t>{i, j}));
      Type f32 = b.getF32Type();
      auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                         {f32, f32, f32, f32});
      Value d = NVVM::MmaOp::create(
          b, resultType, a, bRegs, c, ArrayRef<int64_t>{16, 8, 16},
          std::nullopt, std::nullopt,
          std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
      SmallVector<Value> elems;
      for (int64_t i = 0; i < 4; ++i)
        elems.push_back(LLVM::ExtractValueOp::create(b, d, i));
      op.replaceAllUsesWith(
          vector::FromElementsOp::create(b, cType, elems).getResult());
      op.erase();
    }
  }
};
} // namespace
