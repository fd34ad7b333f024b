//===- DecomposeAggregates.cpp - linalg.softmax to generics ---------------===//
#include "mixir/Transforms/Passes.h"

namespace mixir {
#define GEN_PASS_DEF_DECOMPOSEAGGREGATES
#include "mixir/Transforms/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {
struct DecomposeAggregates
    : mixir::impl::DecomposeAggregatesBase<DecomposeAggregates> {
  void runOnOperation() override {
    SmallVector<linalg::SoftmaxOp> ops;
    getOperation().walk([&](linalg::SoftmaxOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::SoftmaxOp op : ops) {
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> results = op.decomposeOperation(rewriter);
      if (failed(results)) {
        op.emitOpError("could not be decomposed");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *results);
    }
    // Dense i1 tensor constants lose values on the way to LLVM globals
    // (bit-packed storage read as bytes), so they are rebuilt from i8.
    SmallVector<arith::ConstantOp> bools;
    getOperation().walk([&](arith::ConstantOp c) {
      auto type = dyn_cast<RankedTensorType>(c.getType());
      if (type && type.getElementType().isInteger(1) &&
          type.getNumElements() > 1)
        bools.push_back(c);
    });
    for (arith::ConstantOp c : bools) {
      auto attr = dyn_cast<DenseElementsAttr>(c.getValue());
      if (!attr)
        continue;
      auto type = cast<RankedTensorType>(c.getType());
      rewriter.setInsertionPoint(c);
      SmallVector<int8_t> bytes;
      for (bool b : attr.getValues<bool>())
        bytes.push_back(b ? 1 : 0);
      auto i8Type =
          RankedTensorType::get(type.getShape(), rewriter.getI8Type());
      Value wide = arith::ConstantOp::create(
          rewriter, c.getLoc(),
          DenseElementsAttr::get(i8Type, ArrayRef<int8_t>(bytes)));
      Value init = tensor::EmptyOp::create(
          rewriter, c.getLoc(), type.getShape(), rewriter.getI1Type());
      int64_t rank = type.getRank();
      SmallVector<AffineMap> maps(2, rewriter.getMultiDimIdentityMap(rank));
      SmallVector<utils::IteratorType> iters(rank,
                                             utils::IteratorType::parallel);
      Value narrow = linalg::GenericOp::create(
                         rewriter, c.getLoc(), type, ValueRange{wide},
                         ValueRange{init}, maps, iters,
                         [](OpBuilder &b, Location loc, ValueRange args) {
                           Value t = arith::TruncIOp::create(
                               b, loc, b.getI1Type(), args[0]);
                           linalg::YieldOp::create(b, loc, t);
                         })
                         .getResult(0);
      rewriter.replaceOp(c, narrow);
    }
  }
};
} // namespace
