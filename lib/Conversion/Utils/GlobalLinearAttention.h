//===- GlobalLinearAttention.h - ungated non-causal form --------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_UTILS_GLOBALLINEARATTENTION_H
#define MIXIR_LIB_CONVERSION_UTILS_GLOBALLINEARATTENTION_H

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <utility>

namespace mixir::lowering {

/// The output and final state of `op` (gate `none`, `causal = false`,
/// optionally `normalize`) in its global form, built at `b`: the state
/// S = sum over all t of k v^T per state head (f32), o = S^T (scale q) per
/// output head, divided by scale q . (sum over all t of k) for `normalize`
/// (0 where that is 0). Two contractions per head group (S, then o), plus
/// the sum of k and one more for the divisor: linalg ops on static tiles of
/// the sequence inside scf.for loops over the batch and the tiles.
std::pair<mlir::Value, mlir::Value>
buildGlobalLinearAttention(mlir::ImplicitLocOpBuilder &b,
                           mix::LinearAttentionOp op);

} // namespace mixir::lowering

#endif // MIXIR_LIB_CONVERSION_UTILS_GLOBALLINEARATTENTION_H
