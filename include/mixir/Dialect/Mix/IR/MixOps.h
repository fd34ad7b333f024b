//===- MixOps.h - mix dialect ops -------------------------------*- C++ -*-===//
#ifndef MIXIR_DIALECT_MIX_IR_MIXOPS_H
#define MIXIR_DIALECT_MIX_IR_MIXOPS_H

#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mixir/Dialect/Mix/IR/MixEnums.h.inc"

#define GET_OP_CLASSES
#include "mixir/Dialect/Mix/IR/MixOps.h.inc"

namespace mixir::mix {

/// One operand or result of a mix op with the symbolic name of each of its
/// dimensions, e.g. `q` with {"B", "T", "Hq", "K"}. The same symbol names the
/// same size everywhere in one op; only "B", "T", "S"
/// "N" (the number of packed sequences) and "P" (the slots of a state pool)
/// may be dynamic.
struct ShapedValue {
  llvm::StringRef name;
  mlir::Value value;
  llvm::SmallVector<llvm::StringRef, 4> dims;
};

/// The shape contract of a mix op (MIXERS.md), shared by the verifiers and
/// by the lowering, which checks the dynamic sizes at run time.
llvm::SmallVector<ShapedValue> getShapeContract(mlir::Operation *op);

/// True for the dimension symbols that may be dynamic.
bool isDynamicSymbol(llvm::StringRef symbol);

/// The `cu_seqlens` operand of a recurrent mix op (packed sequences), or
/// null when the op has none or is not a recurrent op.
mlir::Value getCuSeqlens(mlir::Operation *op);

/// The `state_indices` operand of a recurrent mix op (a state pool), or null.
mlir::Value getStateIndices(mlir::Operation *op);
/// Whether `op` (mix.linear_attention, mix.delta_rule or mix.recurrence)
/// returns the state after every token (`all_states`) instead of the final
/// state; false for any other op.
bool returnsAllStates(mlir::Operation *op);

} // namespace mixir::mix

#endif
