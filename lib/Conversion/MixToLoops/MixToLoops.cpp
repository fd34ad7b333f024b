//===- MixToLoops.cpp - the convert-mix-to-loops pass ----------------------===//
#include "LoweringUtils.h"
#include "mixir/Conversion/Passes.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mixir {
#define GEN_PASS_DEF_CONVERTMIXTOLOOPS
#define GEN_PASS_DEF_CONVERTMIXTOCHUNKED
#define GEN_PASS_DEF_SELECTALGORITHM
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {
/// mix.recurrence has only its recurrent form so far: an explicit request
/// for chunks is refused rather than ignored. (The chunked passes leave an op
/// without chunk_size in the recurrent form.)
LogicalResult refuseChunkedRecurrence(Operation *op) {
  auto rc = dyn_cast<mixir::mix::RecurrenceOp>(op);
  if (!rc || rc.getChunkSize().value_or(0) == 0)
    return success();
  return rc.emitOpError() << "has no chunked form yet, but chunk_size = "
                          << *rc.getChunkSize()
                          << " asks for one; use chunk_size = 0 (the "
                             "recurrent form) or leave it out";
}

struct ConvertMixToLoops
    : mixir::impl::ConvertMixToLoopsBase<ConvertMixToLoops> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<mixir::mix::MixDialect>(op->getDialect()))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      if (failed(refuseChunkedRecurrence(op)))
        return signalPassFailure();
      rewriter.setInsertionPoint(op);
      LogicalResult lowered =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](mixir::mix::LinearAttentionOp o) {
                return mixir::lowering::lowerLinearAttention(rewriter, o);
              })
              .Case([&](mixir::mix::DeltaRuleOp o) {
                return mixir::lowering::lowerDeltaRule(rewriter, o);
              })
              .Case([&](mixir::mix::AttentionOp o) {
                return mixir::lowering::lowerAttention(rewriter, o);
              })
              .Case([&](mixir::mix::ScanOp o) {
                return mixir::lowering::lowerScan(rewriter, o);
              })
              .Case([&](mixir::mix::RecurrenceOp o) {
                return mixir::lowering::lowerRecurrence(rewriter, o);
              })
              .Default([](Operation *) { return failure(); });
      if (failed(lowered)) {
        op->emitOpError("could not be lowered to loops");
        return signalPassFailure();
      }
    }
  }
};
} // namespace

namespace {
struct ConvertMixToChunked
    : mixir::impl::ConvertMixToChunkedBase<ConvertMixToChunked> {
  using Base::Base;
  void runOnOperation() override {
    if (std::string why = mixir::checkChunkSize(chunkSize); !why.empty()) {
      getOperation()->emitError(why);
      return signalPassFailure();
    }
    SmallVector<Operation *> recurrences;
    getOperation()->walk([&](Operation *op) {
      if (isa<mixir::mix::LinearAttentionOp, mixir::mix::DeltaRuleOp,
              mixir::mix::ScanOp, mixir::mix::RecurrenceOp>(op))
        recurrences.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : recurrences) {
      if (failed(refuseChunkedRecurrence(op)))
        return signalPassFailure();
      if (isa<mixir::mix::RecurrenceOp>(op))
        continue; // no chunked form yet: convert-mix-to-loops lowers it
      rewriter.setInsertionPoint(op);
      auto attr = op->getAttrOfType<IntegerAttr>("chunk_size");
      int64_t chunk = attr ? attr.getInt() : chunkSize;
      if (chunk == 0)
        continue; // the recurrent form, for convert-mix-to-loops
      LogicalResult lowered =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](mixir::mix::LinearAttentionOp la) {
                return mixir::lowering::lowerChunkedLinearAttention(
                    rewriter, la, chunk, /*minChunkedLength=*/chunk);
              })
              .Case([&](mixir::mix::DeltaRuleOp dr) {
                return mixir::lowering::lowerChunkedDeltaRule(
                    rewriter, dr, chunk, /*minChunkedLength=*/chunk);
              })
              .Case([&](mixir::mix::ScanOp sc) {
                return mixir::lowering::lowerChunkedScan(rewriter, sc, chunk);
              });
      if (failed(lowered)) {
        op->emitOpError("could not be lowered to the chunked form");
        return signalPassFailure();
      }
    }

    // Softmax attention: the flash form with blocks of chunk-size queries and
    // keys (mix.attention has no chunk_size attribute). Tiny static problems
    // keep the per-row reference form of convert-mix-to-loops.
    constexpr int64_t kMinFlashLength = 16;
    auto longEnough = [](int64_t n) {
      return ShapedType::isDynamic(n) || n >= kMinFlashLength;
    };
    SmallVector<mixir::mix::AttentionOp> attentionOps;
    getOperation()->walk(
        [&](mixir::mix::AttentionOp op) { attentionOps.push_back(op); });
    for (auto op : attentionOps) {
      if (chunkSize == 0)
        break;
      if (!longEnough(op.getQ().getType().getDimSize(1)) ||
          !longEnough(op.getK().getType().getDimSize(1)))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(mixir::lowering::lowerFlashAttention(rewriter, op, chunkSize,
                                                      chunkSize))) {
        op.emitOpError("could not be lowered to the flash-attention form");
        return signalPassFailure();
      }
    }
  }
};
} // namespace

namespace {
struct SelectAlgorithm : mixir::impl::SelectAlgorithmBase<SelectAlgorithm> {
  using Base::Base;
  void runOnOperation() override {
    if (std::string why = mixir::checkChunkSize(chunkSize); !why.empty()) {
      getOperation()->emitError(why);
      return signalPassFailure();
    }
    Builder b(&getContext());
    // mix.recurrence has a chunk_size attribute but only the recurrent form.
    WalkResult refused = getOperation()->walk([&](mixir::mix::RecurrenceOp op) {
      if (failed(refuseChunkedRecurrence(op)))
        return WalkResult::interrupt();
      op.setChunkSizeAttr(b.getI64IntegerAttr(0));
      return WalkResult::advance();
    });
    if (refused.wasInterrupted())
      return signalPassFailure();
    // The ops with a chunkwise lowering and a chunk_size attribute.
    getOperation()->walk([&](Operation *op) {
      if (!isa<mixir::mix::LinearAttentionOp, mixir::mix::DeltaRuleOp,
               mixir::mix::ScanOp>(op) ||
          op->hasAttr("chunk_size"))
        return;
      auto q = cast<RankedTensorType>(op->getOperand(0).getType());
      int64_t T = q.getDimSize(1);
      bool shortStatic = !ShapedType::isDynamic(T) && T < chunkSize;
      op->setAttr("chunk_size",
                  b.getI64IntegerAttr(shortStatic ? 0 : chunkSize));
    });
  }
};
} // namespace
