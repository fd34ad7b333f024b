//===- Recurrences.h - recurrences of loop steps ----------------*- C++ -*-===//
//
// The candidate mix ops (linear attention and the delta rule, each with no,
// scalar or per-key-channel gate, qk_l2norm, allow_neg_eigval, the state as
// [K, V] or [V, K]) that a loop step over per-step inputs may compute,
// computed in float64 and compared with an evaluation of the step (see
// Recurrences.cpp). Used by the loop raising of mix-raise.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_TRANSFORMS_RECURRENCES_H
#define MIXIR_TRANSFORMS_RECURRENCES_H

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/IR/Builders.h"

#include <optional>
#include <vector>

namespace mixir::raise {

/// What a per-step input is to the mix op.
enum class RecurrenceRole { q, k, v, beta, g };

struct RecurrenceCandidate {
  bool delta = false;
  mix::GateKind gate = mix::GateKind::none;
  bool l2norm = false;
  bool negEigval =
      false; // beta doubled: eigenvalues of the transition in [-1, 1]
  bool stateVK = false;                    // the step's state is [..., V, K]
  llvm::SmallVector<RecurrenceRole> roles; // one per per-step input
  int64_t heads = 1, keyDim = 0, valueDim = 0;
  double scale = 1.0;
};

/// Every assignment of roles to the per-step inputs (of shapes `readSteps`)
/// that fits them, the per-step output's shape `writeStep` and the state's
/// `stateShape` ([P..., K, V] or [P..., V, K], heads = prod(P)).
llvm::SmallVector<RecurrenceCandidate>
recurrenceCandidates(llvm::ArrayRef<llvm::SmallVector<int64_t>> readSteps,
                     llvm::ArrayRef<int64_t> writeStep,
                     llvm::ArrayRef<int64_t> stateShape);

/// One evaluation of a step: its inputs (one per read, flat), state, new
/// state and output.
struct RecurrenceProbe {
  llvm::SmallVector<std::vector<double>> inputs;
  std::vector<double> state, newState, out;
};

/// True when `c` reproduces the probe (the output up to a positive factor,
/// `knownScale` when given); sets its scale.
bool matchesProbe(RecurrenceCandidate &c, const RecurrenceProbe &p,
                  std::optional<double> knownScale);

/// The first candidate that reproduces both probes (its scale fitted on the
/// first), or nullopt; none when a per-step input's element type is not
/// one the mix ops take (f32, f16, bf16).
std::optional<RecurrenceCandidate>
findRecurrence(llvm::ArrayRef<llvm::SmallVector<int64_t>> readSteps,
               llvm::ArrayRef<mlir::Type> readTypes,
               llvm::ArrayRef<int64_t> writeStep,
               llvm::ArrayRef<int64_t> stateShape, const RecurrenceProbe &first,
               const RecurrenceProbe &second);

/// The ops of `block` that compute `roots`, in block order.
llvm::SmallVector<mlir::Operation *>
opsComputing(mlir::Block *block, llvm::ArrayRef<mlir::Value> roots);

struct RecurrenceOp {
  mlir::Value o, finalState;
};
/// The mix op of `c` on `operands` (indexed by RecurrenceRole: q, k, v as
/// [outer, T, inner, D], beta and g as [outer, T, inner] or [.., K]; null
/// when unused) and an [outer, inner, K, V] f32 initial state (null: zeros).
RecurrenceOp createRecurrenceOp(mlir::OpBuilder &b, mlir::Location loc,
                                const RecurrenceCandidate &c,
                                llvm::ArrayRef<mlir::Value> operands,
                                mlir::Value initialState, int64_t outer,
                                int64_t T, int64_t inner);

} // namespace mixir::raise

#endif
