//===- mixir-opt.cpp - MlirOptMain with the mix dialect and pipelines -----===//
#include "mixir/InitAll.h"
#include "mixir/Tools/Version.h"
#include "mixir/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

/// mix-raise's `report` for every mix-raise in the pipeline.
static llvm::cl::opt<bool> reportRaising(
    "report-raising",
    llvm::cl::desc("Print a line on stderr for each candidate mix-raise "
                   "leaves (as mix-raise{report=true})"),
    llvm::cl::init(false), llvm::cl::callback([](const bool &on) {
      mixir::setReportRaisingByDefault(on);
    }));

int main(int argc, char **argv) {
  mixir::installVersionPrinter(argv[0]);
  mlir::DialectRegistry registry;
  mixir::registerAllDialects(registry);
  mixir::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "MixIR optimizer driver: mix dialect and pipelines\n",
      registry));
}
