//===- Evaluator.h - float64 evaluation of flat StableHLO ops ---*- C++ -*-===//
//
// Internal to lib/Import/StableHLO. Evaluates the pure, region-free
// `stablehlo.*` ops of the flat form (plus `reduce` with a one-op body) on
// dense float64 tensors, for foldConstantSubgraphs: it evaluates ops whose
// operands are all constants (masks built from iota and compare, position
// tables), so that mix-raise can check them element by element. (The loop
// raising of mix-raise evaluates loop bodies after the conversion, with its
// own evaluator of the upstream ops.) Integers are held exactly
// (|x| < 2^53); floats are not rounded to their element type, so the
// evaluation is the op's mathematics, not its precision.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_IMPORT_STABLEHLO_EVALUATOR_H
#define MIXIR_LIB_IMPORT_STABLEHLO_EVALUATOR_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

#include "mixir/Transforms/HostTensor.h"

#include <string>
#include <vector>

namespace mixir::stablehlo_import {

using raise::fromAttr;
using raise::HostTensor;
using raise::staticShape;
using raise::toAttr;

/// A `stablehlo.constant` op (generic form) holding `value`.
mlir::Operation *createConstant(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::DenseElementsAttr value);

class Evaluator {
public:
  /// True when `op` is one of the ops `evaluate` knows (it may still fail on
  /// an attribute it does not expect).
  static bool canEvaluate(mlir::Operation *op);

  void set(mlir::Value v, HostTensor t) { values[v] = std::move(t); }
  const HostTensor *get(mlir::Value v) const;

  /// Computes the results of `op` from the values of its operands (which
  /// must be set, or be `stablehlo.constant` results) and records them.
  /// Fails with `error` set for an op or attribute it does not handle.
  mlir::LogicalResult evaluate(mlir::Operation *op, std::string &error);

private:
  llvm::DenseMap<mlir::Value, HostTensor> values;
};

} // namespace mixir::stablehlo_import

#endif
