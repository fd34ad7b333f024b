//===- InitAll.cpp - register mix and upstream dialects and passes --------===//
#include "mixir/InitAll.h"

#include "mixir/Conversion/Passes.h"
#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mixir/Pipelines/Pipelines.h"
#include "mixir/Transforms/Passes.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <mutex>

void mixir::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mix::MixDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates device code to LLVM IR in-process.
  mlir::registerAllToLLVMIRTranslations(registry);
}

void mixir::registerAllPasses() {
  // Registering a pipeline twice is fatal; tools and the JIT may both call.
  static std::once_flag once;
  std::call_once(once, [] {
    mlir::registerAllPasses();
    mixir::registerMixConversionPasses();
    mixir::registerMixTransformsPasses();
    mixir::registerPipelines();
  });
}
