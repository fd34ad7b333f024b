//===- CollectMixOps.cpp - the mix ops a lowering rewrites ----------------===//
#include "Conversion/Utils/CollectMixOps.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

namespace mixir::lowering {

llvm::SmallVector<mlir::Operation *> collectMixOps(mlir::Operation *root) {
  llvm::SmallVector<mlir::Operation *> ops;
  root->walk([&](mlir::Operation *op) {
    if (mlir::isa<mix::MixDialect>(op->getDialect()))
      ops.push_back(op);
  });
  return ops;
}

} // namespace mixir::lowering
