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

namespace {
/// One slab along dim 0 of a tensor of `type` ([1, rest...]): the pool slot
/// or the sequence's state that the gather and scatter move.
struct Slab {
  RankedTensorType type;
  SmallVector<OpFoldResult> sizes, unit;

  SmallVector<OpFoldResult> at(ImplicitLocOpBuilder &b, Value row) const {
    SmallVector<OpFoldResult> offsets(sizes.size(), b.getIndexAttr(0));
    offsets[0] = row;
    return offsets;
  }
};

Slab slabOf(ImplicitLocOpBuilder &b, RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = 1;
  Slab slab{RankedTensorType::get(shape, type.getElementType()), {}, {}};
  for (int64_t d : shape)
    slab.sizes.push_back(b.getIndexAttr(d));
  slab.unit.assign(shape.size(), b.getIndexAttr(1));
  return slab;
}

/// An scf.if on a pool slot's padding flag: `padding` builds the then
/// value, `live` the else value, both of `type`.
Value ifPadding(ImplicitLocOpBuilder &b, const PoolSlot &slot, Type type,
                llvm::function_ref<Value(ImplicitLocOpBuilder &)> padding,
                llvm::function_ref<Value(ImplicitLocOpBuilder &)> live) {
  auto branch = scf::IfOp::create(b, TypeRange{type}, slot.padding,
                                  /*withElseRegion=*/true);
  auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                               &branch.getThenRegion().front());
  scf::YieldOp::create(tb, padding(tb));
  auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                               &branch.getElseRegion().front());
  scf::YieldOp::create(eb, live(eb));
  return branch.getResult(0);
}
} // namespace

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
  return ifPadding(
      b, slot, type,
      [&](ImplicitLocOpBuilder &tb) -> Value {
        return linalg::FillOp::create(tb, ValueRange{f32Const(tb, 0.0f)},
                                      ValueRange{slice})
            .getResult(0);
      },
      [&](ImplicitLocOpBuilder &eb) -> Value {
        Value from = tensor::ExtractSliceOp::create(
            eb, type, pool,
            SmallVector<OpFoldResult>{slot.index, s, zero, zero}, sizes, unit);
        return linalg::CopyOp::create(eb, ValueRange{from}, ValueRange{slice})
            .getResult(0);
      });
}

Value gatherFromPool(ImplicitLocOpBuilder &b, Value pool, Value indices,
                     Value count) {
  auto poolType = cast<RankedTensorType>(pool.getType());
  Slab slab = slabOf(b, poolType);
  SmallVector<int64_t> shape(poolType.getShape());
  shape[0] = ShapedType::kDynamic;
  Type elem = poolType.getElementType();
  Value out = tensor::EmptyOp::create(b, shape, elem, ValueRange{count});
  return forLoop(
      b, indexConst(b, 0), count, {out},
      [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
        PoolSlot slot = poolSlot(b, indices, n);
        Value state = ifPadding(
            b, slot, slab.type,
            [&](ImplicitLocOpBuilder &tb) -> Value {
              Value zero =
                  arith::ConstantOp::create(tb, tb.getFloatAttr(elem, 0.0));
              Value empty = tensor::EmptyOp::create(tb, slab.type.getShape(),
                                                    elem, ValueRange{});
              return linalg::FillOp::create(tb, ValueRange{zero},
                                            ValueRange{empty})
                  .getResult(0);
            },
            [&](ImplicitLocOpBuilder &eb) -> Value {
              return tensor::ExtractSliceOp::create(eb, slab.type, pool,
                                                    slab.at(eb, slot.index),
                                                    slab.sizes, slab.unit);
            });
        return SmallVector<Value>{tensor::InsertSliceOp::create(
            b, state, a[0], slab.at(b, n), slab.sizes, slab.unit)};
      })[0];
}

Value scatterToPool(ImplicitLocOpBuilder &b, RankedTensorType poolType,
                    Value pool, Value indices, Value states, Value count,
                    const SymbolSizes &sizes) {
  SmallVector<StringRef> dims(poolType.getRank(), "");
  dims[0] = "P"; // the other dims are static
  Value out = emptyLike(b, poolType, dims, sizes);
  out =
      linalg::CopyOp::create(b, ValueRange{pool}, ValueRange{out}).getResult(0);
  Slab slab = slabOf(b, poolType);
  return forLoop(
      b, indexConst(b, 0), count, {out},
      [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
        PoolSlot slot = poolSlot(b, indices, n);
        Value updated = ifPadding(
            b, slot, a[0].getType(),
            [&](ImplicitLocOpBuilder &) { return a[0]; },
            [&](ImplicitLocOpBuilder &eb) -> Value {
              Value final = tensor::ExtractSliceOp::create(
                  eb, slab.type, states, slab.at(eb, n), slab.sizes, slab.unit);
              return tensor::InsertSliceOp::create(eb, final, a[0],
                                                   slab.at(eb, slot.index),
                                                   slab.sizes, slab.unit);
            });
        return SmallVector<Value>{updated};
      })[0];
}

} // namespace mixir::lowering
