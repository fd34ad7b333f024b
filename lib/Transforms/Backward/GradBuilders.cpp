//===- GradBuilders.cpp - tensor pieces of derived backward passes --------===//
#include "GradBuilders.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::grad {
namespace {

Type elemOf(Value x) {
  return cast<RankedTensorType>(x.getType()).getElementType();
}

Value binary(OpBuilder &b, Location loc, Value x, Value y,
             llvm::function_ref<Value(OpBuilder &, Location, Value, Value)> f) {
  return build::elementwise(b, loc, ValueRange{x, y}, elemOf(x),
                            [&](OpBuilder &nb, Location l, ValueRange a) {
                              return f(nb, l, a[0], a[1]);
                            });
}

} // namespace

Value generate(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
               Type elem, IndexBody fn) {
  return build::elementwise(
      b, loc, ValueRange{}, elem,
      [&](OpBuilder &nb, Location l, ValueRange) {
        SmallVector<Value> idx;
        for (int64_t d = 0, e = sizes.size(); d < e; ++d)
          idx.push_back(linalg::IndexOp::create(nb, l, d));
        return fn(nb, l, idx);
      },
      sizes);
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value readAtTime(OpBuilder &b, Location loc, Value x, ArrayRef<Value> idx,
                 Value t) {
  SmallVector<Value> at(idx.begin(), idx.end());
  at[1] = t;
  return tensor::ExtractOp::create(b, loc, x, at);
}

int64_t dimOf(Value x, int64_t d) {
  return cast<RankedTensorType>(x.getType()).getDimSize(d);
}

Value outputCotangent(OpBuilder &b, Location loc, Value dO, Value q,
                      int64_t V) {
  if (dO)
    return toF32(b, loc, dO);
  SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, q);
  sizes[3] = b.getIndexAttr(V);
  return build::filledTensor(b, loc, sizes,
                             build::scalarConstant(b, loc, b.getF32Type(), 0));
}

Value toF32(OpBuilder &b, Location loc, Value x) {
  return build::castElements(b, loc, x, b.getF32Type());
}

Value castLike(OpBuilder &b, Location loc, Value x, Value like) {
  return build::castElements(b, loc, x, elemOf(like));
}

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return binary(b, loc, x, y, [](OpBuilder &nb, Location l, Value p, Value q) {
    return arith::MulFOp::create(nb, l, p, q).getResult();
  });
}

Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  return binary(b, loc, x, y, [](OpBuilder &nb, Location l, Value p, Value q) {
    return arith::SubFOp::create(nb, l, p, q).getResult();
  });
}

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return binary(b, loc, x, y, [](OpBuilder &nb, Location l, Value p, Value q) {
    return arith::AddFOp::create(nb, l, p, q).getResult();
  });
}

Value scaled(OpBuilder &b, Location loc, Value x, double factor) {
  if (factor == 1.0)
    return x;
  Type elem = elemOf(x);
  return build::elementwise(
      b, loc, ValueRange{x}, elem,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value f = build::scalarConstant(nb, l, elem, factor);
        return arith::MulFOp::create(nb, l, a[0], f).getResult();
      });
}

Value zerosLike(OpBuilder &b, Location loc, Value like) {
  return build::filledTensor(b, loc, build::sizesOf(b, loc, like),
                             build::scalarConstant(b, loc, elemOf(like), 0.0));
}

Value reverseTime(OpBuilder &b, Location loc, Value x) {
  return build::reverse(b, loc, x, 1);
}

Value repeatHeads(OpBuilder &b, Location loc, Value x, int64_t axis,
                  int64_t copies) {
  if (copies == 1)
    return x;
  SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, x);
  auto type = cast<RankedTensorType>(x.getType());
  sizes[axis] = b.getIndexAttr(type.getDimSize(axis) * copies);
  return generate(b, loc, sizes, type.getElementType(),
                  [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
                    SmallVector<Value> at(idx.begin(), idx.end());
                    at[axis] = arith::DivUIOp::create(
                        nb, l, idx[axis], indexConst(nb, l, copies));
                    return tensor::ExtractOp::create(nb, l, x, at).getResult();
                  });
}

Value firstCopy(OpBuilder &b, Location loc, Value x, int64_t axis,
                int64_t copies) {
  if (copies == 1)
    return x;
  Value spread = repeatHeads(b, loc, x, axis, copies);
  Type elem = elemOf(x);
  return generate(
      b, loc, build::sizesOf(b, loc, spread), elem,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        Value c = indexConst(nb, l, copies);
        Value rem = arith::RemUIOp::create(nb, l, idx[axis], c);
        Value keep = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, rem,
                                           indexConst(nb, l, 0));
        Value v = tensor::ExtractOp::create(nb, l, spread, idx);
        return arith::SelectOp::create(nb, l, keep, v,
                                       build::scalarConstant(nb, l, elem, 0.0))
            .getResult();
      });
}

namespace {
SmallVector<ReassociationIndices> groupAt(int64_t rank, int64_t d) {
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == d + 1)
      groups.back().push_back(i);
    else
      groups.push_back({i});
  }
  return groups;
}
} // namespace

Value mergeDims(OpBuilder &b, Location loc, Value x, int64_t d) {
  auto type = cast<RankedTensorType>(x.getType());
  return tensor::CollapseShapeOp::create(b, loc, x, groupAt(type.getRank(), d));
}

Value splitDim(OpBuilder &b, Location loc, Value x, int64_t d, int64_t inner) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, x);
  SmallVector<int64_t> shape(type.getShape());
  sizes[d] = b.getIndexAttr(shape[d] / inner);
  sizes.insert(sizes.begin() + d + 1, b.getIndexAttr(inner));
  shape[d] /= inner;
  shape.insert(shape.begin() + d + 1, inner);
  auto out = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, out, x, groupAt(shape.size(), d),
                                       sizes);
}

Value sumHeads(OpBuilder &b, Location loc, Value x, int64_t axis,
               int64_t copies) {
  if (copies == 1)
    return x;
  Value grouped = splitDim(b, loc, x, axis, copies);
  return build::reduce(b, loc, grouped, {axis + 1}, /*keepDims=*/false,
                       build::ReduceKind::sum);
}

Value stackHeads(OpBuilder &b, Location loc, Value first, Value rest) {
  if (!rest)
    return first;
  int64_t w = cast<RankedTensorType>(first.getType()).getDimSize(3);
  Value stacked =
      build::concat(b, loc, {splitDim(b, loc, first, 3, w), rest}, 3);
  return mergeDims(b, loc, stacked, 2);
}

std::pair<Value, Value> unstackHeads(OpBuilder &b, Location loc, Value x,
                                     int64_t rank) {
  if (rank == 0)
    return {x, Value()};
  Value split = splitDim(b, loc, x, 2, 1 + rank);
  SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, split);
  SmallVector<OpFoldResult> offsets(5, b.getIndexAttr(0)),
      strides(5, b.getIndexAttr(1));
  sizes[3] = b.getIndexAttr(1);
  Value first = build::slice(b, loc, split, offsets, sizes, strides);
  offsets[3] = b.getIndexAttr(1);
  sizes[3] = b.getIndexAttr(rank);
  Value rest = build::slice(b, loc, split, offsets, sizes, strides);
  // Copies, so that later ops (a GPU launch among them) get whole buffers
  // rather than strided views of the stacked result.
  auto copy = [&](Value x) {
    return build::elementwise(
        b, loc, ValueRange{x}, elemOf(x),
        [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  };
  return {copy(mergeDims(b, loc, first, 2)), copy(rest)};
}

} // namespace mixir::grad
