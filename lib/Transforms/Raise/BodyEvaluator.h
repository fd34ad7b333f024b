//===- BodyEvaluator.h - float64 evaluation of upstream ops -----*- C++ -*-===//
//
// Internal to lib/Transforms/Raise. Evaluates the pure ops of loop bodies in
// the upstream form the importers produce (arith, math, tensor, and every
// linalg structured op: generic, named contractions, fill, copy, transpose,
// broadcast, reduce, map) on dense float64 tensors. Scalars (index, integer,
// float) are rank-0 tensors. The loop raising evaluates a body on random
// inputs and compares it with a candidate mix op's step.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_BODYEVALUATOR_H
#define MIXIR_LIB_TRANSFORMS_RAISE_BODYEVALUATOR_H

#include "mixir/Transforms/HostTensor.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

namespace mixir::raise {

class BodyEvaluator {
public:
  /// True when `op` is one of the ops `evaluate` knows (it may still fail,
  /// e.g. on a dynamic shape).
  static bool canEvaluate(mlir::Operation *op);

  void set(mlir::Value v, HostTensor t) { values[v] = std::move(t); }
  /// The recorded value of `v`, or that of a constant it is the result of.
  const HostTensor *get(mlir::Value v) const;

  /// Computes and records the results of `op` from its operands' values.
  mlir::LogicalResult evaluate(mlir::Operation *op);

private:
  mlir::LogicalResult evaluateStructured(mlir::Operation *op);
  mlir::LogicalResult evaluateTensorOp(mlir::Operation *op);
  mutable llvm::DenseMap<mlir::Value, HostTensor> values;
};

/// A scalar arith/math op (or constant) resolved once, applied to many
/// operand values.
struct ScalarOp {
  uint8_t fn = 0;
  int predicate = 0; // of a comparison
  double constant = 0;

  /// The op's function, or nullopt for an op the evaluator does not know.
  static std::optional<ScalarOp> of(mlir::Operation *op);
  /// The result on `args` (the operands in order).
  double apply(llvm::ArrayRef<double> args) const;
};

} // namespace mixir::raise

#endif
