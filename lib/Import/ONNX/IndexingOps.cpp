//===- IndexingOps.cpp - ONNX TopK and GatherND (mixture-of-experts routing) =//
//
// A MoE router as torch.onnx exports it: TopK over the expert scores, then
// GatherND of the chosen experts' weights. TopK is two linalg.generic ops:
// each element's rank in its row (how many elements come before it: larger,
// or equal at a lower index), then output slot j takes the element of rank j.
// That is O(N^2) in the row length N, meant for rows of experts, not
// vocabularies.
//===----------------------------------------------------------------------===//
#include "Importer.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mixir::onnx_import {
namespace {

/// For each element of the last axis of x: the number of elements of its
/// row that TopK puts before it (i64).
Value rowRanks(OpBuilder &b, Location loc, Value x, bool largest) {
  auto t = cast<RankedTensorType>(x.getType());
  int64_t r = t.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> mine, other;
  for (int64_t d = 0; d < r; ++d) {
    mine.push_back(getAffineDimExpr(d, ctx));
    other.push_back(getAffineDimExpr(d == r - 1 ? r : d, ctx));
  }
  auto map = [&](ArrayRef<AffineExpr> e) {
    return AffineMap::get(r + 1, 0, e, ctx);
  };
  SmallVector<utils::IteratorType> iters(r, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Value init =
      build::filledTensor(b, loc, build::sizesOf(b, loc, x),
                          build::scalarConstant(b, loc, b.getI64Type(), 0));
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{x, x}, ValueRange{init},
             {map(mine), map(other), map(mine)}, iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value i = linalg::IndexOp::create(nb, l, r - 1);
               Value m = linalg::IndexOp::create(nb, l, r);
               auto pred = largest ? arith::CmpFPredicate::OGT
                                   : arith::CmpFPredicate::OLT;
               Value better = arith::CmpFOp::create(nb, l, pred, a[1], a[0]);
               Value tie = arith::AndIOp::create(
                   nb, l,
                   arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, a[1],
                                         a[0]),
                   arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, m,
                                         i));
               Value before = arith::OrIOp::create(nb, l, better, tie);
               Value one =
                   arith::ExtUIOp::create(nb, l, nb.getI64Type(), before);
               linalg::YieldOp::create(
                   nb, l, ValueRange{arith::AddIOp::create(nb, l, a[2], one)});
             })
      .getResult(0);
}

LogicalResult topK(Node &n) {
  if (!n.hasInput(0))
    return n.fail("expects an input");
  auto t = n.inputType(0);
  int64_t r = t.getRank();
  auto axis = n.axis(n.intAttr("axis", -1), r);
  if (failed(axis))
    return failure();
  if (*axis != r - 1)
    return n.fail("only TopK over the last axis is supported");
  if (!isa<FloatType>(t.getElementType()))
    return n.fail("only floating-point inputs are supported");
  auto kv = n.opset < 10 ? std::optional<SmallVector<int64_t>>(
                               SmallVector<int64_t>{n.intAttr("k", -1)})
                         : n.intsInput(1);
  int64_t size = t.getDimSize(r - 1);
  if (!kv || kv->size() != 1 || (*kv)[0] < 0 ||
      (!ShapedType::isDynamic(size) && (*kv)[0] > size))
    return n.fail("k must be a constant between 0 and the axis size");
  int64_t k = (*kv)[0];
  Value x = n.input(0);
  Value ranks = rowRanks(n.b, n.loc, x, n.intAttr("largest", 1) != 0);
  // Output slot j (loop r - 1) over the row's elements i (loop r).
  MLIRContext *ctx = n.b.getContext();
  SmallVector<AffineExpr> in, out;
  for (int64_t d = 0; d < r; ++d) {
    in.push_back(getAffineDimExpr(d == r - 1 ? r : d, ctx));
    out.push_back(getAffineDimExpr(d, ctx));
  }
  AffineMap inMap = AffineMap::get(r + 1, 0, in, ctx),
            outMap = AffineMap::get(r + 1, 0, out, ctx);
  SmallVector<OpFoldResult> sizes = build::sizesOf(n.b, n.loc, x);
  sizes.back() = n.b.getIndexAttr(k);
  Type i64 = n.b.getI64Type();
  Value values = build::filledTensor(
      n.b, n.loc, sizes,
      build::scalarConstant(n.b, n.loc, t.getElementType(), 0));
  Value indices = build::filledTensor(
      n.b, n.loc, sizes, build::scalarConstant(n.b, n.loc, i64, 0));
  SmallVector<utils::IteratorType> iters(r, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  auto pick = linalg::GenericOp::create(
      n.b, n.loc, TypeRange{values.getType(), indices.getType()},
      ValueRange{x, ranks}, ValueRange{values, indices},
      {inMap, inMap, outMap, outMap}, iters,
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value j = arith::IndexCastOp::create(
            b, l, i64, linalg::IndexOp::create(b, l, r - 1));
        Value i = arith::IndexCastOp::create(b, l, i64,
                                             linalg::IndexOp::create(b, l, r));
        Value hit =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, a[1], j);
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::SelectOp::create(b, l, hit, a[0], a[2]),
                       arith::SelectOp::create(b, l, hit, i, a[3])});
      });
  n.setOutput(0, pick.getResult(0));
  if (n.hasOutput(1))
    n.setOutput(1, pick.getResult(1));
  return success();
}

/// GatherND with batch_dims 0 and indices [..., 1]: rows of the data, i.e.
/// Gather along axis 0 of the indices less their last dimension.
LogicalResult gatherND(Node &n) {
  if (!n.hasInput(0) || !n.hasInput(1))
    return n.fail("expects data and indices");
  auto it = n.inputType(1);
  if (n.intAttr("batch_dims", 0) != 0 || it.getRank() < 1 ||
      it.getDimSize(it.getRank() - 1) != 1)
    return n.fail("only batch_dims 0 and indices of shape [..., 1] are "
                  "supported");
  SmallVector<OpFoldResult> sizes = build::sizesOf(n.b, n.loc, n.input(1));
  sizes.pop_back();
  Value idx = build::reshape(n.b, n.loc, n.input(1), sizes);
  n.setOutput(0, build::gather(n.b, n.loc, n.input(0), idx, 0));
  return success();
}

} // namespace

void registerIndexingOps(HandlerMap &m) {
  import::addHandlers(m, "::", {{"TopK", topK}, {"GatherND", gatherND}});
}

} // namespace mixir::onnx_import
