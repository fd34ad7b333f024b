//===- CollectMixOps.h - the mix ops a lowering rewrites --------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_UTILS_COLLECTMIXOPS_H
#define MIXIR_LIB_CONVERSION_UTILS_COLLECTMIXOPS_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

namespace mixir::lowering {

/// Every op of the mix dialect under `root` (itself included), in walk
/// order. The lowerings collect them first and rewrite afterwards, since
/// replacing ops while walking would disturb the walk.
llvm::SmallVector<mlir::Operation *> collectMixOps(mlir::Operation *root);

} // namespace mixir::lowering

#endif // MIXIR_LIB_CONVERSION_UTILS_COLLECTMIXOPS_H
