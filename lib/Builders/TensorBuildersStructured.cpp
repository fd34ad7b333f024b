//===- TensorBuildersStructured.cpp - reductions, contractions ------------===//
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace mixir::build {
namespace {

Value add(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}

double reduceIdentity(ReduceKind kind, Type type) {
  bool isFloat = isa<FloatType>(type);
  switch (kind) {
  case ReduceKind::sum:
  case ReduceKind::mean:
    return 0.0;
  case ReduceKind::prod:
    return 1.0;
  case ReduceKind::max:
    return isFloat ? -std::numeric_limits<double>::infinity()
                   : (double)std::numeric_limits<int64_t>::min();
  case ReduceKind::min:
    return isFloat ? std::numeric_limits<double>::infinity()
                   : (double)std::numeric_limits<int64_t>::max();
  }
  return 0.0;
}

Value combine(OpBuilder &b, Location loc, ReduceKind kind, Value x, Value acc) {
  bool isFloat = isa<FloatType>(x.getType());
  switch (kind) {
  case ReduceKind::sum:
  case ReduceKind::mean:
    return add(b, loc, x, acc);
  case ReduceKind::prod:
    return mul(b, loc, x, acc);
  case ReduceKind::max:
    return isFloat ? arith::MaximumFOp::create(b, loc, x, acc).getResult()
                   : arith::MaxSIOp::create(b, loc, x, acc).getResult();
  case ReduceKind::min:
    return isFloat ? arith::MinimumFOp::create(b, loc, x, acc).getResult()
                   : arith::MinSIOp::create(b, loc, x, acc).getResult();
  }
  return x;
}

/// Broadcast sizes of two lists of batch dims (aligned at the right).
SmallVector<OpFoldResult> broadcastBatch(OpBuilder &b, Location loc, Value l,
                                         int64_t lRank, Value r,
                                         int64_t rRank) {
  int64_t rank = std::max(lRank, rRank);
  auto lt = cast<RankedTensorType>(l.getType());
  auto rt = cast<RankedTensorType>(r.getType());
  SmallVector<OpFoldResult> out;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t li = d - (rank - lRank), ri = d - (rank - rRank);
    int64_t ls = li >= 0 ? lt.getDimSize(li) : 1;
    int64_t rs = ri >= 0 ? rt.getDimSize(ri) : 1;
    if (!ShapedType::isDynamic(ls) && ls != 1)
      out.push_back(b.getIndexAttr(ls));
    else if (!ShapedType::isDynamic(rs) && rs != 1)
      out.push_back(b.getIndexAttr(rs));
    else if (ShapedType::isDynamic(ls))
      out.push_back(tensor::DimOp::create(b, loc, l, li).getResult());
    else if (ShapedType::isDynamic(rs))
      out.push_back(tensor::DimOp::create(b, loc, r, ri).getResult());
    else
      out.push_back(b.getIndexAttr(1));
  }
  return out;
}

} // namespace

Value reduce(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
             bool keepDims, ReduceKind kind) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type elem = type.getElementType();
  MLIRContext *ctx = b.getContext();
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axes)
    reduced[a] = true;
  SmallVector<OpFoldResult> inSizes = sizesOf(b, loc, x), outSizes, keptSizes;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t d = 0; d < rank; ++d) {
    iters.push_back(reduced[d] ? utils::IteratorType::reduction
                               : utils::IteratorType::parallel);
    if (!reduced[d]) {
      outSizes.push_back(inSizes[d]);
      outExprs.push_back(getAffineDimExpr(d, ctx));
      keptSizes.push_back(inSizes[d]);
    } else {
      keptSizes.push_back(b.getIndexAttr(1));
    }
  }
  Value init =
      filledTensor(b, loc, outSizes,
                   scalarConstant(b, loc, elem, reduceIdentity(kind, elem)));
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  Value result =
      linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{x}, ValueRange{init}, maps, iters,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(nb, nloc,
                                    combine(nb, nloc, kind, args[0], args[1]));
          })
          .getResult(0);
  if (kind == ReduceKind::mean) {
    Value count = arith::ConstantIndexOp::create(b, loc, 1);
    for (int64_t a : axes)
      count = arith::MulIOp::create(
          b, loc, count, getValueOrCreateConstantIndexOp(b, loc, inSizes[a]));
    Value countElem = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
    countElem = convertScalar(b, loc, countElem, elem);
    result =
        elementwise(b, loc, ValueRange{result}, elem,
                    [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
                      if (isa<FloatType>(elem))
                        return arith::DivFOp::create(nb, nloc, a[0], countElem);
                      return arith::DivSIOp::create(nb, nloc, a[0], countElem);
                    });
  }
  if (keepDims)
    result = reshape(b, loc, result, keptSizes);
  return result;
}

Value matmul(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  bool lhsVector = lt.getRank() == 1, rhsVector = rt.getRank() == 1;
  if (lhsVector)
    lhs = reshape(b, loc, lhs, {b.getIndexAttr(1), sizesOf(b, loc, lhs)[0]});
  if (rhsVector)
    rhs = reshape(b, loc, rhs, {sizesOf(b, loc, rhs)[0], b.getIndexAttr(1)});
  lt = cast<RankedTensorType>(lhs.getType());
  rt = cast<RankedTensorType>(rhs.getType());
  int64_t lb = lt.getRank() - 2, rb = rt.getRank() - 2;
  SmallVector<OpFoldResult> sizes = broadcastBatch(b, loc, lhs, lb, rhs, rb);
  int64_t nb = sizes.size();
  SmallVector<int64_t> batchShape = staticShapeOf(sizes);
  SmallVector<OpFoldResult> ls = sizesOf(b, loc, lhs),
                            rs = sizesOf(b, loc, rhs);
  sizes.push_back(ls[lb]);     // M
  sizes.push_back(rs[rb + 1]); // N
  MLIRContext *ctx = b.getContext();
  // Loops: batch..., m, n, k.
  int64_t nLoops = nb + 3;
  auto operandMap = [&](RankedTensorType t, int64_t batchRank, AffineExpr r0,
                        AffineExpr r1) {
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < batchRank; ++i) {
      int64_t d = i + nb - batchRank;
      bool broadcast = t.getDimSize(i) == 1 && batchShape[d] != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                                : getAffineDimExpr(d, ctx));
    }
    exprs.push_back(r0);
    exprs.push_back(r1);
    return AffineMap::get(nLoops, 0, exprs, ctx);
  };
  AffineExpr m = getAffineDimExpr(nb, ctx), n = getAffineDimExpr(nb + 1, ctx),
             k = getAffineDimExpr(nb + 2, ctx);
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < nb; ++d)
    outExprs.push_back(getAffineDimExpr(d, ctx));
  outExprs.push_back(m);
  outExprs.push_back(n);
  SmallVector<AffineMap> maps = {operandMap(lt, lb, m, k),
                                 operandMap(rt, rb, k, n),
                                 AffineMap::get(nLoops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iters(nb + 2, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  // f16/bf16 products accumulate in f32 (MIXERS.md: every accumulation is
  // f32), then round once to the element type.
  Type elem = lt.getElementType();
  bool widen = elem.isF16() || elem.isBF16();
  Type accType = widen ? b.getF32Type() : elem;
  Value init =
      filledTensor(b, loc, sizes, scalarConstant(b, loc, accType, 0.0));
  Value result =
      linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{lhs, rhs}, ValueRange{init}, maps,
          iters,
          [&](OpBuilder &nb2, Location nloc, ValueRange args) {
            Value x = args[0], y = args[1];
            if (widen) {
              x = arith::ExtFOp::create(nb2, nloc, accType, x);
              y = arith::ExtFOp::create(nb2, nloc, accType, y);
            }
            linalg::YieldOp::create(
                nb2, nloc, add(nb2, nloc, args[2], mul(nb2, nloc, x, y)));
          })
          .getResult(0);
  if (widen)
    result = castElements(b, loc, result, elem);
  if (lhsVector || rhsVector) {
    SmallVector<OpFoldResult> outSizes(sizes.begin(), sizes.begin() + nb);
    if (!lhsVector)
      outSizes.push_back(sizes[nb]);
    if (!rhsVector)
      outSizes.push_back(sizes[nb + 1]);
    result = reshape(b, loc, result, outSizes);
  }
  return result;
}

Value transpose(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> perm) {
  SmallVector<OpFoldResult> in = sizesOf(b, loc, x), out;
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm)) {
    out.push_back(in[p]);
    identity &= (int64_t)i == p;
  }
  if (identity)
    return x;
  Value init = emptyTensor(
      b, loc, out, cast<RankedTensorType>(x.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
}

Value softmax(OpBuilder &b, Location loc, Value x, int64_t axis) {
  Value init =
      emptyTensor(b, loc, sizesOf(b, loc, x),
                  cast<RankedTensorType>(x.getType()).getElementType());
  return linalg::SoftmaxOp::create(b, loc, TypeRange{init.getType()}, x, init,
                                   (uint64_t)axis)
      .getResult()[0];
}

Value cumsum(OpBuilder &b, Location loc, Value x, int64_t axis, bool exclusive,
             bool reverse) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  // Loops: the output dims, then j (the summed position along `axis`).
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(getAffineDimExpr(d == axis ? rank : d, ctx));
    outExprs.push_back(getAffineDimExpr(d, ctx));
  }
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, inExprs, ctx),
                                 AffineMap::get(rank + 1, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Type elem = type.getElementType();
  Value init = filledTensor(b, loc, sizesOf(b, loc, x),
                            scalarConstant(b, loc, elem, 0.0));
  arith::CmpIPredicate pred =
      reverse
          ? (exclusive ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
          : (exclusive ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{x}, ValueRange{init}, maps,
             iters,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value i = linalg::IndexOp::create(nb, nloc, axis);
               Value j = linalg::IndexOp::create(nb, nloc, rank);
               Value take = arith::CmpIOp::create(nb, nloc, pred, j, i);
               Value zero = scalarConstant(nb, nloc, elem, 0.0);
               Value term =
                   arith::SelectOp::create(nb, nloc, take, args[0], zero);
               linalg::YieldOp::create(nb, nloc, add(nb, nloc, args[1], term));
             })
      .getResult(0);
}

Value triangle(OpBuilder &b, Location loc, Value x, int64_t k, bool upper) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type elem = type.getElementType();
  return elementwise(
      b, loc, ValueRange{x}, elem,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        Value row = linalg::IndexOp::create(nb, nloc, rank - 2);
        Value col = linalg::IndexOp::create(nb, nloc, rank - 1);
        Value diff = arith::SubIOp::create(nb, nloc, col, row);
        Value kv = arith::ConstantIndexOp::create(nb, nloc, k);
        Value keep = arith::CmpIOp::create(nb, nloc,
                                           upper ? arith::CmpIPredicate::sge
                                                 : arith::CmpIPredicate::sle,
                                           diff, kv);
        Value zero = scalarConstant(nb, nloc, elem, 0.0);
        return arith::SelectOp::create(nb, nloc, keep, a[0], zero);
      });
}

Value conv1d(OpBuilder &b, Location loc, Value x, Value w, Value bias,
             int64_t groups, int64_t stride, int64_t dilation, int64_t padBegin,
             int64_t padEnd) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto wt = cast<RankedTensorType>(w.getType());
  Type elem = xt.getElementType();
  MLIRContext *ctx = b.getContext();
  if (padBegin || padEnd) {
    SmallVector<OpFoldResult> lo = {b.getIndexAttr(0), b.getIndexAttr(0),
                                    b.getIndexAttr(padBegin)};
    SmallVector<OpFoldResult> hi = {b.getIndexAttr(0), b.getIndexAttr(0),
                                    b.getIndexAttr(padEnd)};
    Value zero = scalarConstant(b, loc, elem, 0.0);
    x = tensor::PadOp::create(b, loc, Type(), x, lo, hi, zero);
  }
  SmallVector<OpFoldResult> xs = sizesOf(b, loc, x), ws = sizesOf(b, loc, w);
  int64_t kernel = wt.getDimSize(2), cPerGroup = wt.getDimSize(1);
  int64_t outChannels = wt.getDimSize(0), mPerGroup = outChannels / groups;
  (void)outChannels;
  // T_out = (T_padded - dilation * (K - 1) - 1) / stride + 1.
  Value tPadded = getValueOrCreateConstantIndexOp(b, loc, xs[2]);
  Value span =
      arith::ConstantIndexOp::create(b, loc, dilation * (kernel - 1) + 1);
  Value tOut = arith::SubIOp::create(b, loc, tPadded, span);
  tOut = arith::DivUIOp::create(b, loc, tOut,
                                arith::ConstantIndexOp::create(b, loc, stride));
  tOut = arith::AddIOp::create(b, loc, tOut,
                               arith::ConstantIndexOp::create(b, loc, 1));
  OpFoldResult tOutSize = tOut;
  if (auto c = getConstantIntValue(xs[2]))
    tOutSize = b.getIndexAttr((*c - dilation * (kernel - 1) - 1) / stride + 1);
  // Groups become their own loop (x: [N, G, C/G, T], w: [G, M/G, C/G, K],
  // out: [N, G, M/G, T]) so every map stays a projected permutation.
  Value xg = reshape(
      b, loc, x,
      {xs[0], b.getIndexAttr(groups), b.getIndexAttr(cPerGroup), xs[2]});
  Value wg = reshape(b, loc, w,
                     {b.getIndexAttr(groups), b.getIndexAttr(mPerGroup),
                      b.getIndexAttr(cPerGroup), b.getIndexAttr(kernel)});
  SmallVector<OpFoldResult> outSizes = {xs[0], b.getIndexAttr(groups),
                                        b.getIndexAttr(mPerGroup), tOutSize};
  Value init;
  if (bias) {
    SmallVector<OpFoldResult> biasShape = {
        b.getIndexAttr(1), b.getIndexAttr(groups), b.getIndexAttr(mPerGroup),
        b.getIndexAttr(1)};
    Value bias4 = reshape(b, loc, bias, biasShape);
    init = elementwise(
        b, loc, ValueRange{bias4}, elem,
        [](OpBuilder &, Location, ValueRange a) { return a[0]; }, outSizes);
  } else {
    init = filledTensor(b, loc, outSizes, scalarConstant(b, loc, elem, 0.0));
  }
  // Loops: n, g, m, t, ci, k.
  AffineExpr n = getAffineDimExpr(0, ctx), g = getAffineDimExpr(1, ctx),
             m = getAffineDimExpr(2, ctx), t = getAffineDimExpr(3, ctx),
             ci = getAffineDimExpr(4, ctx), k = getAffineDimExpr(5, ctx);
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0, {n, g, ci, t * stride + k * dilation}, ctx),
      AffineMap::get(6, 0, {g, m, ci, k}, ctx),
      AffineMap::get(6, 0, {n, g, m, t}, ctx)};
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  iters.push_back(utils::IteratorType::reduction);
  Value out =
      linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{xg, wg}, ValueRange{init}, maps,
          iters,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(
                nb, nloc,
                add(nb, nloc, args[2], mul(nb, nloc, args[0], args[1])));
          })
          .getResult(0);
  return reshape(b, loc, out, {xs[0], ws[0], tOutSize});
}

} // namespace mixir::build
