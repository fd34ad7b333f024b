//===- ScanLoop.h - lax.scan loops in the flat StableHLO form ---*- C++ -*-===//
//
// Internal to lib/Import/StableHLO. `jax.lax.scan` lowers to a
// `stablehlo.while` whose carried values are a counter i (0, 1, ..., T-1),
// the stacked inputs (passed through unchanged and read with dynamic_slice at
// i), one state, and the stacked outputs (written with dynamic_update_slice
// at i). `analyse` finds that structure; the raisers (ScanRaise.cpp for the
// specialised ops, ScanRaiseDPLR.cpp for mix.recurrence) decide what the
// body computes and rewrite the loop with the builders declared here.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_IMPORT_STABLEHLO_SCANLOOP_H
#define MIXIR_LIB_IMPORT_STABLEHLO_SCANLOOP_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Operation.h"

#include "Evaluator.h"

#include <random>

#include <optional>

namespace mixir::stablehlo_import::scan {

using Shape = llvm::SmallVector<int64_t>;

bool isOp(mlir::Operation *op, llvm::StringRef name);
/// The static shape of a ranked tensor value (empty otherwise).
Shape shapeOf(mlir::Value v);
Shape without(llvm::ArrayRef<int64_t> shape, int64_t dim);

/// A per-step read `dynamic_slice(x, ..., i, ...)` of a stacked input.
struct Read {
  unsigned carried;
  int64_t dim;
  mlir::Operation *slice;
  Shape step; // the slice's shape without the time dim
};

/// A per-step write `dynamic_update_slice(y, update, ..., i, ...)`.
struct Write {
  unsigned carried;
  int64_t dim;
  mlir::Value update;
  Shape step;
};

struct ScanLoop {
  mlir::Operation *loop;
  unsigned counter;
  int64_t length;
  llvm::SmallVector<unsigned> invariants;
  llvm::SmallVector<Read> reads;
  std::optional<Write> write;
  unsigned state;
};

/// The scan structure of a `stablehlo.while`, when it has one: a counter
/// from 0 to a constant length, stacked inputs read at the counter, one
/// ranked state, at most one stacked output, and otherwise only pure
/// ops the evaluator knows that read body values and constants.
std::optional<ScanLoop> analyse(mlir::Operation *loop);

//===----------------------------------------------------------------------===//
// The body in float64
//===----------------------------------------------------------------------===//

/// A tensor of `shape` with entries uniform in [-1, 1).
HostTensor randomTensor(llvm::ArrayRef<int64_t> shape, std::mt19937_64 &rng);

/// Per-step inputs of the body: its state and one value per read.
struct BodyInputs {
  HostTensor state;
  llvm::SmallVector<HostTensor> reads;
};
BodyInputs randomInputs(const ScanLoop &scan, uint64_t seed);

/// Relative tolerance of the raisers' float64 comparisons.
inline constexpr double kScanTol = 1e-9;

/// The sum of squares of `x`.
double sumSq(llvm::ArrayRef<double> x);

/// True for the body ops evaluateBody runs: all but the terminator, the
/// output write and the ops that read the counter (its update, the reads'
/// slices, whose values come from the inputs).
bool evaluatedInBody(const ScanLoop &scan, mlir::Operation &op);

/// Evaluates the body (the ops of evaluatedInBody) on `in`, with the body value
/// `at` (if any) replaced by `with`. Returns nullopt when an op fails to
/// evaluate.
std::optional<Evaluator> evaluateBody(const ScanLoop &scan,
                                      const BodyInputs &in, mlir::Value at = {},
                                      const HostTensor *with = nullptr);

//===----------------------------------------------------------------------===//
// Builders of flat (generic-form) StableHLO ops
//===----------------------------------------------------------------------===//

mlir::Value generic(mlir::OpBuilder &b, mlir::Location loc,
                    llvm::StringRef name, mlir::ValueRange operands,
                    mlir::Type result,
                    llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
mlir::RankedTensorType tensorOf(llvm::ArrayRef<int64_t> shape, mlir::Type elem);
mlir::Type elementOf(mlir::Value v);
mlir::Value transpose(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      llvm::ArrayRef<int64_t> perm);
mlir::Value reshape(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                    llvm::ArrayRef<int64_t> shape);
mlir::Value convert(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                    mlir::Type elem);
/// x with dim `from` moved to position `to`, the others in order.
mlir::Value moveDim(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                    int64_t from, int64_t to);
/// x[..., None] broadcast to `shape`: x's dims are the leading dims of
/// `shape` (`broadcast_in_dim`).
mlir::Value broadcastTrailing(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value x, llvm::ArrayRef<int64_t> shape);

/// Where the time dim sits among the per-step dims of an array that feeds
/// the scan. `lax.scan` iterates over dim 0, so users transpose [B, T, H, D]
/// inputs to [T, B, H, D] first; reading the array before that transpose
/// lets the mix op take it as it is, as [B, T, H, D] with B and H the
/// products of the dims before and after T.
struct Source {
  mlir::Value array; // the array the mix operand is reshaped from
  int64_t split;     // number of per-step dims before the time dim in `array`
};
Source sourceOf(mlir::Value stacked, int64_t dim);

/// x with its last two dims swapped.
mlir::Value swapLastDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// The mix op's initial state from the loop's: null when it is a splat 0,
/// else [outer, inner, K, V] in f32 (from [..., V, K] when `stateVK`).
mlir::Value mixInitialState(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value stateInit, bool stateVK, int64_t outer,
                            int64_t inner, int64_t K, int64_t V);

/// The replacement values of a raised loop's results, with the stacked
/// inputs passed through and the counter at its end (T); the state and the
/// output are left null for the caller.
llvm::SmallVector<mlir::Value> passThroughResults(mlir::OpBuilder &b,
                                                  mlir::Location loc,
                                                  const ScanLoop &scan);

/// Replaces the loop's results with `results` (one per loop result) and
/// erases the loop.
void replaceLoop(mlir::Operation *loop, llvm::ArrayRef<mlir::Value> results);

//===----------------------------------------------------------------------===//
// Loop fission (ScanFission.cpp)
//===----------------------------------------------------------------------===//

/// A constant of the counter's type.
mlir::Value indexConstant(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Type counterType, int64_t value);
/// `stack` ([N, shape of x...]) with x written at row `at`.
mlir::Value writeStep(mlir::OpBuilder &b, mlir::Location loc, mlir::Value stack,
                      mlir::Value x, mlir::Value at);

/// Builds, at the end of the fission loop's body, the new values of the
/// stacks from their current ones; `map` takes the scan body's values that
/// the roots need to the fission loop's, `counter` is its counter.
using StackWriter = llvm::function_ref<void(
    mlir::OpBuilder &b, mlir::IRMapping &map, mlir::Value counter,
    llvm::MutableArrayRef<mlir::Value> stacks)>;

/// Inserts before the scan loop a loop of its own over the same counter
/// that computes the body values `roots` (state-independent) and writes
/// stacked arrays of shapes `stackShapes` (zeros in `elem` at first) with
/// `write`. Returns the stacks, or nullopt when the loop's condition reads
/// more than the counter.
std::optional<llvm::SmallVector<mlir::Value>>
fission(const ScanLoop &scan, llvm::ArrayRef<mlir::Value> roots,
        llvm::ArrayRef<Shape> stackShapes, mlir::Type elem, StackWriter write);

//===----------------------------------------------------------------------===//
// Raisers
//===----------------------------------------------------------------------===//

/// Raises `scan` to mix.recurrence when its body is a diagonal-plus-low-rank
/// recurrence, possibly several sub-steps per token (ScanRaiseDPLR.cpp).
/// Returns false, leaving the loop alone, otherwise.
bool raiseToRecurrence(const ScanLoop &scan);

/// Raises `scan` to mix.scan when its state is a vector of channels that
/// each follow h = exp(g) * h + x, with g and x computed from the token's
/// inputs (ScanRaiseDiag.cpp). Returns false, leaving the loop alone,
/// otherwise.
bool raiseToScan(const ScanLoop &scan);

} // namespace mixir::stablehlo_import::scan

#endif
