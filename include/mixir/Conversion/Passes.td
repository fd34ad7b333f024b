//===- Passes.td - mix lowering passes ----------------------*- tablegen -*-===//
#ifndef MIXIR_CONVERSION_PASSES_TD
#define MIXIR_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMixToLoops : Pass<"convert-mix-to-loops"> {
  let summary = "Lower mix ops to their recurrent per-token loops";
  let description = [{
    Rewrites every `mix` op into the recurrent form of MIXERS.md on tensors:
    `scf.for` loops over batch, heads and tokens, vectorised over the key or
    value axis (`vector.transfer_read/write`), with f32 state and
    accumulation. Dynamic batch and sequence sizes are checked at run time:
    a mismatch calls `mixrtShapeError` with a message naming the operand and
    skips the computation instead of reading out of bounds.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::math::MathDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect", "mlir::linalg::LinalgDialect"
  ];
}

#endif
