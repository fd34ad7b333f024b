//===- CostModel.h - the CPU cost of each form of a mixer -------*- C++ -*-===//
//
// What mix-select-algorithm asks when nobody chose a chunk length: which of
// the recurrent form and the chunked form with 16, 32, 64 or 128 tokens per
// chunk is fastest on the CPU for an op. The answer comes from a measured
// table (CostTable.inc, written by scripts/calibrate_cpu_costs.py), scaled
// by FLOPs to the op's head dimensions and rank.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_CONVERSION_MIXTOLOOPS_COSTMODEL_H
#define MIXIR_CONVERSION_MIXTOLOOPS_COSTMODEL_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace mixir::lowering {

/// What the cost of a mixer op depends on.
struct MixerShape {
  /// "linear_attention", "delta_rule", "recurrence" or "scan".
  llvm::StringRef op;
  /// The gate kind's name ("none", "head", "scalar", "vector").
  llvm::StringRef gate = "none";
  /// The input element type: "f32", "bf16" or "f16".
  llvm::StringRef elementType = "f32";
  /// Key and value head dimensions (the scan: its channels, V unused).
  int64_t keyDim = 0, valueDim = 0;
  /// Low-rank terms: R for mix.recurrence, 1 for the delta rule, else 0.
  int64_t rank = 0;
  /// The static sequence length, or a negative value when it is dynamic.
  int64_t length = -1;
  /// The longest chunk the op's chunked form allows.
  int64_t maxChunk = 128;
  /// mix.recurrence's `read transposed` (o = S q). The table is measured on
  /// the normal read; the transposed one's recurrent form reduces every
  /// state row across V (K horizontal sums a token) and measured 1.5 to
  /// 2.5x slower than each chunked form (K = 64 and 128, every gate kind),
  /// so it is chosen only when no chunk fits the length.
  bool transposedRead = false;
  /// bf16 tile products on AMX (convert-mix-to-chunked's bf16-products):
  /// priced by the table's "bf16+amx" rows where it has them.
  bool amx = false;
};

/// The chunk length the model finds fastest for `shape`: 0 for the
/// recurrent form, else 16, 32, 64 or 128 (at most `maxChunk`, and for a
/// static length at most that length).
int64_t chooseChunkSize(const MixerShape &shape);

} // namespace mixir::lowering

#endif
