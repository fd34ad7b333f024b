//===- StatePool.cpp - sequences reading and writing slots of a state pool
//-===//
//
// MIXERS.md "State pools": sequence n starts from pool[idx[n]] and its final
// state is written back there; a negative index is padding (neither read
// nor written). The run-time checks (ShapeChecks) have made sure every
// non-negative index is < P and used once before these run.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::lowering {

PoolSlot poolSlot(ImplicitLocOpBuilder &b, Value indices, Value n) {
  Value raw = tensor::ExtractOp::create(b, indices, n);
  Value zero = arith::ConstantIntOp::create(b, raw.getType(), 0);
  Value padding =
      arith::CmpIOp::create(b, arith::CmpIPredicate::slt, raw, zero);
  return {arith::IndexCastOp::create(b, b.getIndexType(), raw), padding};
}

Value beginPooledStateSlice(ImplicitLocOpBuilder &b, Value states, Value pool,
                            const PoolSlot &slot, Value n, Value s) {
  auto shape = cast<ShapedType>(states.getType()).getShape();
  auto type = RankedTensorType::get({shape[2], shape[3]}, b.getF32Type());
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  SmallVector<OpFoldResult> sizes = {one, one, b.getIndexAttr(shape[2]),
                                     b.getIndexAttr(shape[3])};
  SmallVector<OpFoldResult> unit(4, one);
  Value slice = tensor::ExtractSliceOp::create(
      b, type, states, SmallVector<OpFoldResult>{n, s, zero, zero}, sizes,
      unit);
  auto read = scf::IfOp::create(b, TypeRange{type}, slot.padding,
                                /*withElseRegion=*/true);
  {
    auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &read.getThenRegion().front());
    Value zeros = linalg::FillOp::create(tb, ValueRange{f32Const(tb, 0.0f)},
                                         ValueRange{slice})
                      .getResult(0);
    scf::YieldOp::create(tb, zeros);
  }
  {
    auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &read.getElseRegion().front());
    Value from = tensor::ExtractSliceOp::create(
        eb, type, pool, SmallVector<OpFoldResult>{slot.index, s, zero, zero},
        sizes, unit);
    scf::YieldOp::create(
        eb, linalg::CopyOp::create(eb, ValueRange{from}, ValueRange{slice})
                .getResult(0));
  }
  return read.getResult(0);
}

Value scatterToPool(ImplicitLocOpBuilder &b, RankedTensorType poolType,
                    Value pool, Value indices, Value states, Value count,
                    const SymbolSizes &sizes) {
  Value out = emptyLike(b, poolType, {"P", "Hv", "K", "V"}, sizes);
  out =
      linalg::CopyOp::create(b, ValueRange{pool}, ValueRange{out}).getResult(0);
  auto shape = poolType.getShape();
  auto slabType =
      RankedTensorType::get({1, shape[1], shape[2], shape[3]}, b.getF32Type());
  OpFoldResult one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
  SmallVector<OpFoldResult> slab = {one, b.getIndexAttr(shape[1]),
                                    b.getIndexAttr(shape[2]),
                                    b.getIndexAttr(shape[3])};
  SmallVector<OpFoldResult> unit(4, one);
  return forLoop(
      b, indexConst(b, 0), count, {out},
      [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
        PoolSlot slot = poolSlot(b, indices, n);
        auto write = scf::IfOp::create(b, TypeRange{a[0].getType()},
                                       slot.padding, /*withElseRegion=*/true);
        auto tb = ImplicitLocOpBuilder::atBlockBegin(
            b.getLoc(), &write.getThenRegion().front());
        scf::YieldOp::create(tb, a[0]);
        auto eb = ImplicitLocOpBuilder::atBlockBegin(
            b.getLoc(), &write.getElseRegion().front());
        Value final = tensor::ExtractSliceOp::create(
            eb, slabType, states,
            SmallVector<OpFoldResult>{n, zero, zero, zero}, slab, unit);
        scf::YieldOp::create(
            eb, ValueRange{tensor::InsertSliceOp::create(
                    eb, final, a[0],
                    SmallVector<OpFoldResult>{slot.index, zero, zero, zero},
                    slab, unit)});
        return SmallVector<Value>{write.getResult(0)};
      })[0];
}

} // namespace mixir::lowering
