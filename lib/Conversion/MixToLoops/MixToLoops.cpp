//===- MixToLoops.cpp - the convert-mix-to-loops pass ---------------------===//
#include "Conversion/Utils/CollectMixOps.h"
#include "Conversion/Utils/ExpandLinearAttention.h"
#include "CostModel.h"
#include "LoweringUtils.h"
#include "mixir/Compiler/ChunkSize.h"
#include "mixir/Conversion/Passes.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

namespace mixir {
#define GEN_PASS_DEF_CONVERTMIXTOLOOPS
#define GEN_PASS_DEF_CONVERTMIXTOCHUNKED
#define GEN_PASS_DEF_SELECTALGORITHM
#define GEN_PASS_DEF_EXPANDLINEARATTENTION
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {
using mixir::mix::RecurrenceOp;

/// mix.recurrence's chunked form solves a triangular system of C * R rows
/// per chunk (C tokens, R low-rank terms), unrolled in 16-row blocks at
/// compile time (IR that grows with (C R / 16)^3); C R is kept to this.
constexpr int64_t kMaxRecurrenceSolveRows = 128;

/// The longest chunk for mix.recurrence with `rank` low-rank terms: the
/// largest power of two C with C * R <= 128 (128 for R <= 1, 64 for R = 2,
/// 32 for R = 3 or 4).
int64_t maxRecurrenceChunk(int64_t rank) {
  return llvm::bit_floor(static_cast<uint64_t>(kMaxRecurrenceSolveRows /
                                               std::max<int64_t>(rank, 1)));
}

/// The chunk an op without chunk_size gets for the pass option `chunk`:
/// the option, capped for mix.recurrence by maxRecurrenceChunk, and 0 (the
/// recurrent form) for `all_states`, the state after every token. This is
/// the one place the chunk of mix.recurrence is chosen.
int64_t defaultChunk(Operation *op, int64_t chunk) {
  if (mixir::mix::returnsAllStates(op))
    return 0;
  if (auto rc = dyn_cast<RecurrenceOp>(op))
    return std::min(chunk, maxRecurrenceChunk(rc.getRank()));
  return chunk;
}

/// Whether bf16-products narrows `op`'s tile products: bf16 inputs and no
/// low-rank terms (mix.linear_attention, mix.recurrence with R = 0), or
/// softmax attention (Q K^T, and P V with P rounded as FlashAttention
/// does). The delta rule's WY/UT products are left in f32: with their
/// operands rounded to bf16, its output missed MIXERS.md's bf16 bound
/// (rel-RMS 5.5e-3 against 5e-3 at beta = 1).
bool hasNarrowableProducts(Operation *op) {
  if (!getElementTypeOrSelf(op->getOperand(0).getType()).isBF16())
    return false;
  if (auto rc = dyn_cast<RecurrenceOp>(op))
    return rc.getRank() == 0;
  return isa<mixir::mix::LinearAttentionOp, mixir::mix::AttentionOp>(op);
}

/// The ops a lowering inserts in place of `op`: those between its
/// neighbours once it is gone. With `narrow`, narrowProducts rewrites
/// their tile products to bf16 operands.
class InsertedOps {
public:
  InsertedOps(Operation *op, bool narrow)
      : before(op->getPrevNode()), after(op->getNextNode()),
        block(op->getBlock()), narrow(narrow) {}
  void narrowProducts(RewriterBase &rewriter) const {
    if (!narrow)
      return;
    SmallVector<Operation *> ops;
    for (Operation *it = before ? before->getNextNode() : &block->front();
         it && it != after; it = it->getNextNode())
      ops.push_back(it);
    mixir::lowering::narrowProducts(rewriter, ops);
  }

private:
  Operation *before, *after;
  Block *block;
  bool narrow;
};

/// An explicit chunk_size on mix.recurrence is never changed: one whose
/// C * R is too large is an error naming the op.
LogicalResult checkRecurrenceChunk(Operation *op) {
  auto rc = dyn_cast<RecurrenceOp>(op);
  if (!rc)
    return success();
  int64_t chunk = rc.getChunkSize().value_or(0), rank = rc.getRank();
  int64_t limit = maxRecurrenceChunk(rank);
  if (chunk <= limit)
    return success();
  return rc.emitOpError()
         << "chunk_size = " << chunk << " with R = " << rank
         << " low-rank terms needs a triangular solve of " << chunk * rank
         << " rows per chunk; the chunked form allows chunk_size * R <= "
         << kMaxRecurrenceSolveRows << " (chunk_size <= " << limit
         << " for R = " << rank << ")";
}

struct ConvertMixToLoops
    : mixir::impl::ConvertMixToLoopsBase<ConvertMixToLoops> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(mixir::lowering::expandLinearAttentionForms(getOperation())))
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (Operation *op : mixir::lowering::collectMixOps(getOperation())) {
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
              // The backward has the flash form only (blocks of the
              // default chunk when convert-mix-to-chunked did not run).
              .Case([&](mixir::mix::AttentionGradOp o) {
                return mixir::lowering::lowerFlashAttentionGrad(
                    rewriter, o, mixir::kDefaultChunkSize,
                    mixir::kDefaultChunkSize);
              })
              .Case([&](mixir::mix::ScanOp o) {
                return mixir::lowering::lowerScan(rewriter, o, gpuBlocks);
              })
              .Case([&](mixir::mix::RecurrenceOp o) {
                return mixir::lowering::lowerRecurrence(rewriter, o);
              })
              .Case([&](mixir::mix::RnnOp o) {
                return gpuBlocks
                           ? mixir::lowering::lowerRnnOnBlocks(rewriter, o)
                           : mixir::lowering::lowerRnn(rewriter, o);
              })
              .Case([&](mixir::mix::CausalConv1dOp o) {
                return mixir::lowering::lowerCausalConv1d(rewriter, o);
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
    if (failed(mixir::lowering::expandLinearAttentionForms(getOperation())))
      return signalPassFailure();
    SmallVector<Operation *> recurrences;
    getOperation()->walk([&](Operation *op) {
      if (isa<mixir::mix::LinearAttentionOp, mixir::mix::DeltaRuleOp,
              mixir::mix::ScanOp, mixir::mix::RecurrenceOp>(op))
        recurrences.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : recurrences) {
      if (failed(checkRecurrenceChunk(op)))
        return signalPassFailure();
      rewriter.setInsertionPoint(op);
      auto attr = op->getAttrOfType<IntegerAttr>("chunk_size");
      int64_t chunk = attr ? attr.getInt() : defaultChunk(op, chunkSize);
      if (chunk == 0)
        continue; // the recurrent form, for convert-mix-to-loops
      InsertedOps inserted(op, bf16Products && hasNarrowableProducts(op));
      LogicalResult lowered =
          isa<mixir::mix::ScanOp>(op)
              ? mixir::lowering::lowerChunkedScan(
                    rewriter, cast<mixir::mix::ScanOp>(op), chunk)
              : mixir::lowering::lowerChunkedRecurrence(
                    rewriter, op, chunk,
                    /*minChunkedLength=*/shortRecurrent ? chunk : 0,
                    factorBlocks);
      if (failed(lowered)) {
        op->emitOpError("could not be lowered to the chunked form");
        return signalPassFailure();
      }
      inserted.narrowProducts(rewriter);
    }

    // Softmax attention: the flash form with blocks of chunk-size queries and
    // keys (mix.attention has no chunk_size attribute). Tiny static problems
    // keep the per-row reference form of convert-mix-to-loops (but see
    // flashOnly).
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
      // Packed sequences, a KV cache and the log-sum-exp take the flash form
      // at every length: on CUDA they have no kernel of their own, and the
      // per-row form's loops would stay host code.
      bool flashOnly = op.getCuSeqlens() || op.getKvLens() || op.getLse();
      if (!flashOnly && (!longEnough(op.getQ().getType().getDimSize(1)) ||
                         !longEnough(op.getK().getType().getDimSize(1))))
        continue;
      // A static query length shorter than a block (a decode step, T = 1,
      // or the verification of a few drafted tokens) gets query blocks of
      // its own length, rounded up to a power of two, not mostly padding.
      int64_t blockQ = chunkSize;
      int64_t queries = op.getQ().getType().getDimSize(1);
      if (!ShapedType::isDynamic(queries) && queries < chunkSize)
        blockQ = std::max<int64_t>(1, llvm::PowerOf2Ceil(queries));
      rewriter.setInsertionPoint(op);
      InsertedOps inserted(op, bf16Products && hasNarrowableProducts(op));
      if (failed(mixir::lowering::lowerFlashAttention(rewriter, op, blockQ,
                                                      chunkSize))) {
        op.emitOpError("could not be lowered to the flash-attention form");
        return signalPassFailure();
      }
      inserted.narrowProducts(rewriter);
    }
    SmallVector<mixir::mix::AttentionGradOp> gradOps;
    getOperation()->walk(
        [&](mixir::mix::AttentionGradOp op) { gradOps.push_back(op); });
    for (auto op : gradOps) {
      if (chunkSize == 0)
        break;
      rewriter.setInsertionPoint(op);
      if (failed(mixir::lowering::lowerFlashAttentionGrad(
              rewriter, op, chunkSize, chunkSize))) {
        op.emitOpError("could not be lowered to the flash-attention form");
        return signalPassFailure();
      }
    }
  }
};
} // namespace

namespace {
/// What the cost model needs of a mixer op with a chunked form.
mixir::lowering::MixerShape mixerShape(Operation *op, bool amx) {
  mixir::lowering::MixerShape shape;
  shape.amx = amx && hasNarrowableProducts(op);
  shape.op = op->getName().stripDialect();
  auto q = cast<RankedTensorType>(op->getOperand(0).getType());
  int64_t T = q.getDimSize(1);
  shape.length = ShapedType::isDynamic(T) ? -1 : T;
  shape.elementType = q.getElementType().isF32()    ? "f32"
                      : q.getElementType().isBF16() ? "bf16"
                                                    : "f16";
  shape.keyDim = q.getShape().back();
  if (isa<mixir::mix::ScanOp>(op))
    return shape;
  shape.valueDim =
      cast<RankedTensorType>(op->getOperand(2).getType()).getShape().back();
  auto gate = op->getAttrOfType<mixir::mix::GateKindAttr>("gate_kind");
  shape.gate = mixir::mix::stringifyGateKind(gate ? gate.getValue()
                                                  : mixir::mix::GateKind::none);
  if (auto rc = dyn_cast<RecurrenceOp>(op)) {
    shape.rank = rc.getRank();
    shape.transposedRead = rc.getReadTransposed();
    // A transposed read's queries are V wide: K is the keys'.
    shape.keyDim = rc.getK().getType().getShape().back();
  } else if (isa<mixir::mix::DeltaRuleOp>(op))
    shape.rank = 1;
  shape.maxChunk = defaultChunk(op, mixir::kMaxChunkSize);
  return shape;
}

/// The chunk an op without chunk_size gets: the cost model's choice when
/// nobody asked for a chunk length (`option` unset), else the option,
/// capped for mix.recurrence, and 0 for a static length shorter than that
/// when `shortRecurrent`.
int64_t selectedChunk(Operation *op, int64_t option, bool shortRecurrent,
                      bool amx) {
  if (option == mixir::kChunkSizeUnset)
    return mixir::lowering::chooseChunkSize(mixerShape(op, amx));
  int64_t chunk = defaultChunk(op, option);
  int64_t T = cast<RankedTensorType>(op->getOperand(0).getType()).getDimSize(1);
  return shortRecurrent && !ShapedType::isDynamic(T) && T < chunk ? 0 : chunk;
}

struct SelectAlgorithm : mixir::impl::SelectAlgorithmBase<SelectAlgorithm> {
  using Base::Base;
  void runOnOperation() override {
    if (chunkSize != mixir::kChunkSizeUnset) {
      if (std::string why = mixir::checkChunkSize(chunkSize); !why.empty()) {
        getOperation()->emitError(why);
        return signalPassFailure();
      }
    }
    Builder b(&getContext());
    // The ops with a chunkwise lowering and a chunk_size attribute.
    WalkResult result = getOperation()->walk([&](Operation *op) {
      if (!isa<mixir::mix::LinearAttentionOp, mixir::mix::DeltaRuleOp,
               mixir::mix::ScanOp, RecurrenceOp>(op))
        return WalkResult::advance();
      if (failed(checkRecurrenceChunk(op)))
        return WalkResult::interrupt();
      if (cudaChunks) {
        // mix.scan's recurrent form runs on the GPU too (a block per batch
        // row and channel group, one kernel) and is its default there; the
        // chunked scan takes three kernels. Ops that return every state
        // have the recurrent form only (defaultChunk).
        bool scan = isa<mixir::mix::ScanOp>(op);
        bool recurrentOk = scan || mixir::mix::returnsAllStates(op);
        if (auto asked = op->getAttrOfType<IntegerAttr>("chunk_size")) {
          std::string why =
              recurrentOk && asked.getInt() == 0
                  ? ""
                  : mixir::checkCudaChunkSize(asked.getInt(), "cuda");
          if (!why.empty()) {
            op->emitOpError(why);
            return WalkResult::interrupt();
          }
        } else if (chunkSize == mixir::kChunkSizeUnset) {
          op->setAttr(
              "chunk_size",
              b.getI64IntegerAttr(
                  scan ? 0 : defaultChunk(op, mixir::kCudaMinChunkSize)));
        }
      }
      if (!op->hasAttr("chunk_size"))
        op->setAttr("chunk_size", b.getI64IntegerAttr(selectedChunk(
                                      op, chunkSize, shortRecurrent, amx)));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
  }
};
} // namespace

namespace {
struct ExpandLinearAttention
    : mixir::impl::ExpandLinearAttentionBase<ExpandLinearAttention> {
  void runOnOperation() override {
    if (failed(mixir::lowering::expandLinearAttentionForms(getOperation())))
      signalPassFailure();
  }
};
} // namespace
