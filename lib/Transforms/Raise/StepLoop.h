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
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>
#include <random>
#include <string>

namespace mixir::raise {

using Shape = llvm::SmallVector<int64_t>;

/// A per-step read x[.., i, ..] of `array` (defined outside the loop).
struct StepRead {
  mlir::Value array;
  int64_t dim;
  mlir::Operation *slice;
  Shape step;            // the array's shape without the time dim
  bool reversed = false; // step i reads x[T - 1 - i]
};

/// The per-step write of carried value `carried` at the step.
struct StepWrite {
  unsigned carried;
  int64_t dim;
  mlir::Value update;
  mlir::Operation *insert;
  Shape step;
  bool reversed = false; // step i writes y[T - 1 - i]
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
  /// Why analyseStepLoop gave up (the raising report).
  std::string why;

  unsigned numCarried() const { return loop->getNumResults(); }
  mlir::Value init(unsigned i) const { return loop->getOperand(firstInit + i); }
  mlir::Value arg(unsigned i) const {
    return body->getArgument(body->getNumArguments() - numCarried() + i);
  }
  mlir::Value yielded(unsigned i) const { return yield->getOperand(i); }
  /// The state's new value (before a copy into the state's buffer).
  mlir::Value next() const;
};

/// The step structure of an scf.for / scf.while, when it has one and its
/// body is otherwise pure ops the evaluator knows that read only the state,
/// the per-step inputs and constants. Otherwise sets `why` (when given) to
/// the check that failed.
std::optional<StepLoop> analyseStepLoop(mlir::Operation *loop,
                                        std::string *why = nullptr);

/// Relative tolerance of the raisers' float64 comparisons.
inline constexpr double kStepTol = 1e-9;

/// The sum of squares of `x`.
double sumSq(llvm::ArrayRef<double> x);
/// A tensor of `shape` with entries uniform in [-1, 1).
HostTensor randomTensor(llvm::ArrayRef<int64_t> shape, std::mt19937_64 &rng);

/// Per-step inputs of the body: its state and one value per read.
struct StepInputs {
  HostTensor state;
  llvm::SmallVector<HostTensor> reads;
};
StepInputs randomInputs(const StepLoop &loop, uint64_t seed);

/// The body evaluated on `in`, with the body value `at` (if any) set to
/// `with` (the ops computing it are skipped); nullopt when an op fails.
std::optional<BodyEvaluator> evaluateStep(const StepLoop &loop,
                                          const StepInputs &in,
                                          mlir::Value at = {},
                                          const HostTensor *with = nullptr);

/// True for the body ops evaluateStep runs (all but the terminator, the
/// reads, the write and the index arithmetic).
bool evaluatedInStep(const StepLoop &loop, mlir::Operation &op);
bool isRead(const StepLoop &loop, mlir::Operation *op);

//===----------------------------------------------------------------------===//
// Rewriting a step loop (LoopFission.cpp)
//===----------------------------------------------------------------------===//

/// The replacement values of a raised loop's results with the arrays passed
/// through and the counter at its end (T); the state and the output are
/// left null for the caller.
llvm::SmallVector<mlir::Value> passThroughResults(mlir::OpBuilder &b,
                                                  mlir::Location loc,
                                                  const StepLoop &loop);
/// The stacked output `y` ([T, ...] along `dim`) in the order the loop
/// wrote it (reversed along `dim` for a write at T - 1 - i).
mlir::Value asWritten(mlir::OpBuilder &b, mlir::Location loc,
                      const StepLoop &loop, mlir::Value y, int64_t dim);
/// Replaces the loop's results with `results` and erases it.
void replaceLoop(const StepLoop &loop, llvm::ArrayRef<mlir::Value> results);
/// The mix op's initial state from the loop's: null when it is a splat 0,
/// else [outer, inner, K, V] in f32 (from [..., V, K] when `stateVK`).
mlir::Value mixInitialState(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value stateInit, bool stateVK, int64_t outer,
                            int64_t inner, int64_t K, int64_t V);
/// `stack` ([N, shape of x...]) with x written at row `at` (an index).
mlir::Value writeStep(mlir::OpBuilder &b, mlir::Location loc, mlir::Value stack,
                      mlir::Value x, mlir::Value at);

/// Builds, at the end of the fission loop's body, the new values of the
/// stacks from their current ones; `map` takes the step loop's body values
/// that the roots need to the fission loop's, `step` is its induction
/// variable (an index).
using StackWriter = llvm::function_ref<void(
    mlir::OpBuilder &b, mlir::IRMapping &map, mlir::Value step,
    llvm::MutableArrayRef<mlir::Value> stacks)>;

/// Inserts before the loop an scf.for over the same steps that computes the
/// body values `roots` (state-independent) and writes stacked arrays of
/// shapes `stackShapes` (zeros in `elem` at first) with `write`. Returns
/// the stacks.
llvm::SmallVector<mlir::Value> fission(const StepLoop &loop,
                                       llvm::ArrayRef<mlir::Value> roots,
                                       llvm::ArrayRef<Shape> stackShapes,
                                       mlir::Type elem, StackWriter write);

//===----------------------------------------------------------------------===//
// Raisers
//===----------------------------------------------------------------------===//

/// mix.recurrence for a diagonal-plus-low-rank step, possibly several
/// sub-steps per token (RaiseDPLR.cpp); false, leaving the loop, otherwise.
bool raiseToRecurrence(const StepLoop &loop);
/// mix.scan for a state whose channels each follow h = exp(g) * h + x
/// (RaiseDiag.cpp); false, leaving the loop, otherwise.
bool raiseToScan(const StepLoop &loop);

} // namespace mixir::raise

#endif
