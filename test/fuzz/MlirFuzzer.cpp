//===- MlirFuzzer.cpp - libFuzzer target for the .mlir parser -------------===//
//
// Parses any text as a module with the mix dialect and the upstream dialects
// registered (what mixir-opt, mixir-compile and mixir-run accept) and
// verifies it: the mix ops' parsers and verifiers must turn every input into
// a diagnostic or a valid module, never a crash. Diagnostics are dropped.
// (The default CPU pipeline is not run: it takes seconds per module.)
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "mixir/Dialect/Mix/IR/MixDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"

#include <cstdint>
#include <string>

namespace {
const mlir::DialectRegistry &registry() {
  static mlir::DialectRegistry *r = [] {
    auto *reg = new mlir::DialectRegistry();
    reg->insert<mixir::mix::MixDialect>();
    mlir::registerAllDialects(*reg);
    return reg;
  }();
  return *r;
}
} // namespace

MIXIR_FUZZ_TARGET(mlir) {
  mlir::MLIRContext context(registry(), mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler drop(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  // The parser finds the end of the text at a NUL byte: like the compile
  // API (lib/Jit/JitModule.cpp), parse a terminated copy.
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
