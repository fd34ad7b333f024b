//===- Grads.h - the backward of each mix op, as mix-level IR ---*- C++ -*-===//
//
// Internal to lib/Transforms/Backward. Each function builds, at the
// builder's insertion point, the gradients of one mix op's operands from the
// cotangents of its results (`dO` for o, `dS` for the final state; a null
// value is a zero cotangent). The result has one entry per operand of the op,
// in operand order. The backward is written in mix ops (the recurrences run
// in reverse time on the cotangents) and tensor plumbing, so the chunking
// passes derive its chunkwise algorithm as they do the forward's.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_BACKWARD_GRADS_H
#define MIXIR_LIB_TRANSFORMS_BACKWARD_GRADS_H

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include <string>

namespace mixir::grad {

mlir::FailureOr<llvm::SmallVector<mlir::Value>>
linearAttentionGrad(mlir::OpBuilder &b, mix::LinearAttentionOp op,
                    mlir::Value dO, mlir::Value dS, std::string &why);

mlir::FailureOr<llvm::SmallVector<mlir::Value>>
recurrenceGrad(mlir::OpBuilder &b, mix::RecurrenceOp op, mlir::Value dO,
               mlir::Value dS, std::string &why);

mlir::FailureOr<llvm::SmallVector<mlir::Value>>
deltaRuleGrad(mlir::OpBuilder &b, mix::DeltaRuleOp op, mlir::Value dO,
              mlir::Value dS, std::string &why);

/// The flash-attention backward (no state; `dLse`, the cotangent of the
/// log-sum-exp result, when the op has one and it is returned).
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
attentionGrad(mlir::OpBuilder &b, mix::AttentionOp op, mlir::Value dO,
              mlir::Value dLse, std::string &why);

mlir::FailureOr<llvm::SmallVector<mlir::Value>>
scanGrad(mlir::OpBuilder &b, mix::ScanOp op, mlir::Value dO, mlir::Value dS,
         std::string &why);

} // namespace mixir::grad

#endif
