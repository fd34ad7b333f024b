//===- ExpandLinearAttention.h - non-causal, normalised ---------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_UTILS_EXPANDLINEARATTENTION_H
#define MIXIR_LIB_CONVERSION_UTILS_EXPANDLINEARATTENTION_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

namespace mixir::lowering {

/// Rewrites every `mix.linear_attention` under `root` with `causal = false`
/// or `normalize` into plain causal ops and element-wise linalg (MIXERS.md
/// "Non-causal and normalised linear attention"): the forward op; for
/// `causal = false` a second causal op on the time-reversed sequence (query
/// shifted by one, the decay of each key folded into it or its value) added
/// to it; for `normalize` a column of ones appended to `v` whose output
/// divides the others. With gate `none` and `causal = false` it builds the
/// global form instead (GlobalLinearAttention.h): no causal op, the sum of
/// every k v^T and one product with q. Every lowering pass runs it first.
mlir::LogicalResult expandLinearAttentionForms(mlir::Operation *root);

} // namespace mixir::lowering

#endif // MIXIR_LIB_CONVERSION_UTILS_EXPANDLINEARATTENTION_H
