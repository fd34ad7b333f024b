//===- Unrolled.h - recurrences an exporter unrolled ------------*- C++ -*-===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_UNROLLED_H
#define MIXIR_LIB_TRANSFORMS_RAISE_UNROLLED_H

#include "Report.h"

#include "mlir/IR/Operation.h"

namespace mixir::raise {

/// Records in `report` each unrolled recurrence under `root` (Unrolled.cpp):
/// a value assembled slice by slice (tensor.insert_slice after
/// tensor.insert_slice, as Concat, ScatterElements and ScatterND import)
/// from at least four pieces, each computed from what the piece before it
/// computed. Such straight-line copies are not re-rolled into a loop, so
/// nothing raises them; the line names the copies, the slice they write and
/// the dimension they step along. Also records each segment-sum decay
/// exp(where(causal block mask, -inf, cumulative sum)) (a chunked SSD).
/// Changes nothing.
void reportUnrolled(mlir::Operation *root, Report &report);

} // namespace mixir::raise

#endif
