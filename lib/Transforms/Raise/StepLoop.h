//===- StepLoop.h - loops over the steps of a sequence ----------*- C++ -*-===//
//
// Internal to lib/Transforms/Raise. A scan, as the importers write it in the
// upstream form: an scf.for from 0 to T by 1, or an scf.while whose carried
// counter runs 0, 1, ..., T-1 (the StableHLO importer's while), carrying one
// state and at most one stacked output written with tensor.insert_slice at
// the step, and reading per-step inputs with tensor.extract_slice at the
// step from arrays defined outside the loop or carried through unchanged.
// `analyseStepLoop` finds that structure by evaluating the index arithmetic
// (clamps, casts) on the counter rather than by matching its ops.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_STEPLOOP_H
#define MIXIR_LIB_TRANSFORMS_RAISE_STEPLOOP_H

#include "BodyEvaluator.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>

namespace mixir::raise {

using Shape = llvm::SmallVector<int64_t>;

/// A per-step read x[.., i, ..] of `array` (defined outside the loop).
struct StepRead {
  mlir::Value array;
  int64_t dim;
  mlir::Operation *slice;
  Shape step; // the array's shape without the time dim
};

/// The per-step write of carried value `carried` at the step.
struct StepWrite {
  unsigned carried;
  int64_t dim;
  mlir::Value update;
  mlir::Operation *insert;
  Shape step;
};

struct StepLoop {
  mlir::Operation *loop;
  mlir::Block *body;
  mlir::Operation *yield;
  mlir::Value counter;                    // in the body
  std::optional<unsigned> counterCarried; // scf.while's carried counter
  int64_t length = 0;
  unsigned firstInit = 0; // operand index of the first carried value
  llvm::SmallVector<StepRead> reads;
  std::optional<StepWrite> write;
  unsigned state = 0;
  llvm::SmallVector<unsigned> passThrough;
  /// Body ops that compute positions from the counter (not evaluated).
  llvm::DenseSet<mlir::Operation *> indexOps;

  unsigned numCarried() const { return loop->getNumResults(); }
  mlir::Value init(unsigned i) const { return loop->getOperand(firstInit + i); }
  mlir::Value arg(unsigned i) const {
    return body->getArgument(body->getNumArguments() - numCarried() + i);
  }
  mlir::Value yielded(unsigned i) const { return yield->getOperand(i); }
};

/// The step structure of an scf.for / scf.while, when it has one and its
/// body is otherwise pure ops the evaluator knows that read only the state,
/// the per-step inputs and constants.
std::optional<StepLoop> analyseStepLoop(mlir::Operation *loop);

/// The body evaluated on `state` and the per-step inputs `reads` (one per
/// read); nullopt when an op fails.
std::optional<BodyEvaluator> evaluateStep(const StepLoop &loop,
                                          const HostTensor &state,
                                          llvm::ArrayRef<HostTensor> reads);

} // namespace mixir::raise

#endif
