//===- RaiseLoops.h - the loop part of mix-raise ----------------*- C++ -*-===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_RAISELOOPS_H
#define MIXIR_LIB_TRANSFORMS_RAISE_RAISELOOPS_H

#include "Report.h"

#include "mlir/IR/Operation.h"

namespace mixir::raise {

/// Replaces each scf.for / scf.while under `root` that scans a sequence with
/// a linear-attention or delta-rule step by the mix op (RaiseLoops.cpp);
/// records in `report` each loop carrying a tensor that it leaves.
void raiseLoops(mlir::Operation *root, Report &report);

} // namespace mixir::raise

#endif
