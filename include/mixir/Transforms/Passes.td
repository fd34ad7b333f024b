//===- Passes.td - front-end passes on the upstream form ----*- tablegen -*-===//
#ifndef MIXIR_TRANSFORMS_PASSES_TD
#define MIXIR_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MixRaise : Pass<"mix-raise", "mlir::func::FuncOp"> {
  let summary = "Replace written-out attention and linear attention with mix ops";
  let description = [{
    Recognises, on the linalg/tensor form the importers emit, the quadratic
    (parallel) form of linear attention, `((Q K^T) * M) V` where `M` is a
    causal 0/1 mask, optionally times a decay matrix `gamma^(i-j)` (constant)
    or `exp(G_i - G_j)`, with no softmax, and softmax attention,
    `softmax(s * Q K^T [+ causal -inf mask]) V`. The mask and decay are
    constant-folded and checked element by element (zeros above the diagonal,
    ones or the decay on and below it; 0 and a large negative value for the
    additive mask) before the chain is replaced by `mix.linear_attention` or
    `mix.attention`; anything it cannot prove is left untouched.

    It also raises loops over the steps of a sequence (scf.for from 0 to T,
    or scf.while with a carried counter, reading per-step inputs with
    tensor.extract_slice at the step and stacking one output with
    tensor.insert_slice) whose step is linear attention or the delta rule
    (any gate kind, the state as [K, V] or [V, K]), a diagonal-plus-low-rank
    transition (mix.recurrence, several sub-steps per token allowed) or a
    diagonal one (mix.scan): the step is evaluated in float64 on random
    inputs and compared with each candidate, so it is recognised by what it
    computes, whatever ops spell it. Other loops stay as they are.

    With `report`, each candidate left as it was (a softmax or matmul chain
    that started to match attention or linear attention, a loop carrying a
    tensor) gets one line on stderr: its location, the pattern tried and the
    check that stopped it, `LOC: mix-raise: PATTERN: left as is: REASON`.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Print one line per candidate left as is: location, pattern, reason">
  ];
  let dependentDialects = ["mixir::mix::MixDialect", "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect", "mlir::arith::ArithDialect"];
}

def DecomposeAggregates : Pass<"mix-decompose-aggregates", "mlir::func::FuncOp"> {
  let summary = "Expand linalg.softmax into linalg.generic ops";
  let description = [{
    Importers emit `linalg.softmax` so `mix-raise` can recognise attention;
    the CPU pipeline expands what is left into max, exp, sum and divide
    generics before tiling and bufferization. It also rebuilds dense `i1`
    tensor constants from `i8` ones (their bit-packed storage does not
    survive the lowering to LLVM globals).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect", "mlir::tensor::TensorDialect"];
}

def DeriveBackward : Pass<"mix-derive-backward", "mlir::ModuleOp"> {
  let summary = "Add the backward function of each one-mixer function";
  let description = [{
    For every function marked `mix.derive_backward` (every function whose
    body is one mix op and a return of its results, with `all`), adds
    `@<name>_backward(<arguments>, <one cotangent per result>)` returning
    one gradient per argument. The backward is derived as mix-level IR: the
    state gradient is the same linear recurrence run in reverse time on the
    cotangents, the input gradients are reads of the forward and reverse
    recurrences, and gate gradients are reverse cumulative sums (mix.scan).
    Nothing is saved from the forward call: the chunk states are recomputed
    by the backward's own mix ops. Derived today: `mix.linear_attention`
    (every gate kind, shared heads, initial and final state) and `mix.scan`;
    other ops are an error naming the op.
  }];
  let options = [
    Option<"all", "all", "bool", /*default=*/"false",
           "Derive for every function made of one mix op, marked or not">
  ];
  let dependentDialects = ["mixir::mix::MixDialect", "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect", "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect", "mlir::scf::SCFDialect"];
}

#endif
