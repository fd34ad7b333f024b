//===- RnnCell.h - what the two forms of mix.rnn share ----------*- C++ -*-===//
//
// Internal to lib/Conversion/MixToLoops: the plan of one mix.rnn, the
// cells' equations on f32 scalars or vectors, the head's recurrent weights
// as one transposed copy, and the output rows of one work item. Rnn.cpp
// builds the CPU form (vector FMAs over groups of batch rows), RnnBlocks.cpp
// the form convert-chunked-to-gpu runs on thread blocks.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOLOOPS_RNNCELL_H
#define MIXIR_LIB_CONVERSION_MIXTOLOOPS_RNNCELL_H

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mixir::lowering::rnn {
using mix::RnnCell;
using mlir::OpFoldResult;
using mlir::RankedTensorType;

/// The gates of each cell, in the order of wx's G dimension.
enum Gate : int64_t { kI = 0, kF = 1, kZ = 2, kO = 3 };
enum GruGate : int64_t { kR = 0, kUpdate = 1, kN = 2 };

/// What the lowerings need from one mix.rnn.
struct RnnPlan {
  RnnCell cell;
  Value wx, r, bias;
  llvm::SmallVector<Value> init; // empty, or one per state
  int64_t G, D, states;
  RankedTensorType hType;
};
RnnPlan planOf(mix::RnnOp op);

/// The results' tensors to fill: h [B, T, H, D], then the final states.
llvm::SmallVector<Value> emptyResults(ImplicitLocOpBuilder &b, mix::RnnOp op,
                                      const SymbolSizes &sizes);

/// Whether gate `g`'s pre-activation starts from wx: all gates but GRU's
/// n, whose wx is added after the reset gate scales R_n h + b_n.
inline bool accumulatesInput(const RnnPlan &p, int64_t g) {
  return !(p.cell == RnnCell::gru && g == kN);
}

/// The cells' functions on f32 vectors of `w` lanes, or on f32 scalars
/// when `w` is 0, built from exp (which mix-vectorize-tiles approximates
/// by a vector polynomial) and log1p.
struct CellMath {
  ImplicitLocOpBuilder &b;
  int64_t w;

  Value c(float v) { return w ? f32Splat(b, v, w) : f32Const(b, v); }
  Value add(Value x, Value y) { return mlir::arith::AddFOp::create(b, x, y); }
  Value sub(Value x, Value y) { return mlir::arith::SubFOp::create(b, x, y); }
  Value mul(Value x, Value y) { return mlir::arith::MulFOp::create(b, x, y); }
  Value div(Value x, Value y) { return mlir::arith::DivFOp::create(b, x, y); }
  Value fma(Value x, Value y, Value z) {
    if (w)
      return mlir::vector::FMAOp::create(b, x, y, z);
    return mlir::math::FmaOp::create(b, x, y, z);
  }
  Value exp(Value x) { return mlir::math::ExpOp::create(b, x); }
  Value negAbs(Value x) {
    return mlir::arith::NegFOp::create(b, mlir::math::AbsFOp::create(b, x));
  }
  /// 1 / (1 + exp(-x)).
  Value sigmoid(Value x) {
    return div(c(1.0f), add(c(1.0f), exp(mlir::arith::NegFOp::create(b, x))));
  }
  /// sign(x) (1 - e) / (1 + e) with e = exp(-2 |x|) <= 1.
  Value tanh(Value x) {
    Value e = exp(mul(c(2.0f), negAbs(x)));
    Value t = div(sub(c(1.0f), e), add(c(1.0f), e));
    return mlir::math::CopySignOp::create(b, t, x);
  }
  /// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).
  Value logSigmoid(Value x) {
    Value low = mlir::arith::MinimumFOp::create(b, x, c(0.0f));
    return sub(low, mlir::math::Log1pOp::create(b, exp(negAbs(x))));
  }
};

/// The inputs of one state update: the G pre-activations, the old states
/// and (GRU) wx of the n gate, all f32 of one shape.
struct TileInputs {
  llvm::SmallVector<Value> gates, states;
  Value wxN;
  Value first; // i1, slstm without initial states: the first step
};

/// The new states (h first), per the cell's equations (MIXERS.md).
llvm::SmallVector<Value> cellStep(CellMath &m, RnnCell cell,
                                  const TileInputs &in);

/// r[hh] transposed to [G, D_in, D_out] in `elem` (extended when it is
/// wider than r's type): copied once per head, so that the T steps read
/// rows of D_out contiguous values.
Value transposedWeights(ImplicitLocOpBuilder &b, const RnnPlan &p, Value hh,
                        mlir::Type elem);

/// The output rows h[b0 : b0 + rows, :, hh, :] of one work item as a
/// [rows, T, D] tensor, and where they go back. They are sliced at full
/// rank and collapsed: a rank-reducing slice [rows, T, 1, D] ->
/// [rows, T, D] is ambiguous when rows is 1, and the canonicalizer may drop
/// the wrong unit dim.
struct HeadRows {
  Value rows;
  RankedTensorType fullType;
  llvm::SmallVector<OpFoldResult> offsets, sizes;

  static HeadRows slice(ImplicitLocOpBuilder &b, const RnnPlan &p, Value b0,
                        Value hh, int64_t count, Value T, Value h);
  /// `rows` (updated) as the slice of h this work item writes.
  ParallelSlice finish(ImplicitLocOpBuilder &b, Value rows) const;
};

} // namespace mixir::lowering::rnn

#endif
