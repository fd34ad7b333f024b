//===- LoopFission.cpp - rewriting step loops -----------------------------===//
//
// The raisers that do not read the mix op's operands straight from the
// arrays the loop reads (RaiseDPLR.cpp, RaiseDiag.cpp) move the part of the
// body that does not depend on the state into a loop of its own (loop
// fission): an scf.for over the same steps that computes the operands of
// every token and writes them into stacked arrays.
//
//===----------------------------------------------------------------------===//
#include "StepLoop.h"
#include "TensorUtils.h"

#include "mixir/Transforms/Recurrences.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace mixir::raise {

SmallVector<Value> passThroughResults(OpBuilder &b, Location loc,
                                      const StepLoop &s) {
  SmallVector<Value> results(s.numCarried());
  for (unsigned i : s.passThrough)
    results[i] = s.init(i);
  if (s.counterCarried) {
    Type type = s.loop->getResult(*s.counterCarried).getType();
    auto t = dyn_cast<RankedTensorType>(type);
    Type elem = t ? t.getElementType() : type;
    Attribute end = IntegerAttr::get(elem, s.length);
    results[*s.counterCarried] = arith::ConstantOp::create(
        b, loc,
        t ? cast<TypedAttr>(DenseElementsAttr::get(t, end))
          : cast<TypedAttr>(end));
  }
  return results;
}

Value asWritten(OpBuilder &b, Location loc, const StepLoop &s, Value y,
                int64_t dim) {
  return s.write->reversed ? reversedAlong(b, loc, y, dim) : y;
}

void replaceLoop(const StepLoop &s, ArrayRef<Value> results) {
  for (auto [r, v] : llvm::zip(s.loop->getResults(), results))
    r.replaceAllUsesWith(v);
  s.loop->erase();
}

Value mixInitialState(OpBuilder &b, Location loc, Value stateInit, bool stateVK,
                      int64_t outer, int64_t inner, int64_t K, int64_t V) {
  DenseElementsAttr c;
  if (matchPattern(stateInit, m_Constant(&c)) && c.isSplat() &&
      isa<FloatType>(c.getElementType()) && c.getSplatValue<APFloat>().isZero())
    return {};
  Value s = stateVK ? swappedLastDims(b, loc, stateInit) : stateInit;
  return castedTo(b, loc, reshaped(b, loc, s, {outer, inner, K, V}),
                  b.getF32Type());
}

Value writeStep(OpBuilder &b, Location loc, Value stack, Value x, Value at) {
  Shape shape = staticShapeOf(stack);
  SmallVector<OpFoldResult> offsets(shape.size(), b.getIndexAttr(0)), sizes,
      strides(shape.size(), b.getIndexAttr(1));
  offsets[0] = at;
  sizes.push_back(b.getIndexAttr(1));
  for (int64_t d : ArrayRef<int64_t>(shape).drop_front())
    sizes.push_back(b.getIndexAttr(d));
  Shape row(shape.begin() + 1, shape.end());
  return tensor::InsertSliceOp::create(b, loc, reshaped(b, loc, x, row), stack,
                                       offsets, sizes, strides);
}

/// The step loop's counter from the fission loop's induction variable.
Value counterFrom(OpBuilder &b, Location loc, Type type, Value iv) {
  if (type.isIndex())
    return iv;
  auto t = dyn_cast<RankedTensorType>(type);
  Type elem = t ? t.getElementType() : type;
  Value x = arith::IndexCastOp::create(b, loc, elem, iv);
  return t ? tensor::FromElementsOp::create(b, loc, t, ValueRange{x})
                 .getResult()
           : x;
}

SmallVector<Value> fission(const StepLoop &s, ArrayRef<Value> roots,
                           ArrayRef<Shape> stackShapes, Type elem,
                           StackWriter write) {
  OpBuilder b(s.loop);
  Location loc = s.loop->getLoc();
  SmallVector<Value> inits;
  for (const Shape &shape : stackShapes)
    inits.push_back(splatTensor(b, loc, shape, elem, 0.0));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value end = arith::ConstantIndexOp::create(b, loc, s.length);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, end, one, inits,
      [&](OpBuilder &bb, Location l, Value iv, ValueRange args) {
        IRMapping map;
        map.map(s.counter, counterFrom(bb, l, s.counter.getType(), iv));
        for (unsigned i : s.passThrough)
          map.map(s.arg(i), s.init(i));
        for (Operation *op : opsComputing(s.body, roots))
          bb.clone(*op, map);
        SmallVector<Value> stacks(args);
        write(bb, map, iv, stacks);
        scf::YieldOp::create(bb, l, stacks);
      });
  return SmallVector<Value>(loop.getResults());
}

} // namespace mixir::raise
