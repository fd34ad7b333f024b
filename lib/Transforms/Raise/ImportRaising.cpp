//===- ImportRaising.cpp - the passes the importers run after conversion --===//
//
// One pipeline for the ONNX and StableHLO importers, so both raise the same
// way (see addImportRaisingPasses in mixir/Transforms/Passes.h).
//
//===----------------------------------------------------------------------===//
#include "mixir/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

void mixir::addImportRaisingPasses(mlir::OpPassManager &pm, bool report,
                                   bool canonicalizeFirst) {
  if (canonicalizeFirst)
    pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  MixRaiseOptions options;
  options.report = report;
  pm.addNestedPass<mlir::func::FuncOp>(createMixRaise(options));
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}
