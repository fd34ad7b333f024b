//===- mixir-opt.cpp - MlirOptMain with the mix dialect and pipelines -----===//
#include "mixir/InitAll.h"
#include "mixir/Tools/Version.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mixir::installVersionPrinter(argv[0]);
  mlir::DialectRegistry registry;
  mixir::registerAllDialects(registry);
  mixir::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "MixIR optimizer driver: mix dialect and pipelines\n",
      registry));
}
