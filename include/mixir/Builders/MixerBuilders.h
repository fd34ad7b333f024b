//===- MixerBuilders.h - mix ops from format-neutral operands ---*- C++ -*-===//
//
// The `mix` op constructors shared by the importers whose model formats have
// a node that mirrors a mix op one to one (the ONNX `mixir` domain, the
// StableHLO `mixir.*` composites): same operands ([B, T, H, D] layout), same
// attribute names. Each checks what the format cannot (ranks, gate kinds)
// and returns the op's results, or fails with a one-line `error`.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_BUILDERS_MIXERBUILDERS_H
#define MIXIR_BUILDERS_MIXERBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>

namespace mixir::build {

/// The attributes of a mixer node, named as in the dialect. Absent ones keep
/// their defaults.
struct MixerOptions {
  /// "none", "head", "scalar" or "vector"; empty when not given (then "none"
  /// without a gate operand, an error with one).
  std::string gate;
  std::optional<float> scale;
  bool qkL2Norm = false;
  bool allowNegEigval = false;
  bool causal = true;
  int64_t window = 0;
};

/// The operands of a mixer node; null values are absent optionals.
struct MixerOperands {
  mlir::Value q, k, v, beta, g, initialState;
};

/// mix.linear_attention: results (o, final_state).
mlir::FailureOr<llvm::SmallVector<mlir::Value, 2>>
linearAttentionOp(mlir::OpBuilder &b, mlir::Location loc,
                  const MixerOperands &in, const MixerOptions &options,
                  std::string &error);
/// mix.delta_rule (needs `beta`): results (o, final_state).
mlir::FailureOr<llvm::SmallVector<mlir::Value, 2>>
deltaRuleOp(mlir::OpBuilder &b, mlir::Location loc, const MixerOperands &in,
            const MixerOptions &options, std::string &error);
/// mix.attention (`g` is the forget gate): result (o).
mlir::FailureOr<llvm::SmallVector<mlir::Value, 2>>
attentionOp(mlir::OpBuilder &b, mlir::Location loc, const MixerOperands &in,
            const MixerOptions &options, std::string &error);
/// mix.scan over `x: [B, T, D]` with gate `g`: results (o, final_state).
mlir::FailureOr<llvm::SmallVector<mlir::Value, 2>>
scanOp(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value g,
       mlir::Value initialState, std::string &error);

/// Cumulative sum of `x` along `axis` (inclusive or exclusive, forward or
/// reverse), as build::cumsum computes it. For f32/f16/bf16 with static
/// sizes it is a mix.scan with a zero gate over [outer, T, inner] (linear
/// in T, accumulated in f32); otherwise build::cumsum (a masked reduction,
/// quadratic in T).
mlir::Value cumulativeSum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                          int64_t axis, bool exclusive, bool reverse);

} // namespace mixir::build

#endif
