//===- MlirFuzzer.cpp - libFuzzer target for the .mlir parser -------------===//
//
// Parses any text as a module with the mix dialect and the upstream dialects
// registered (what mixir-opt, mixir-compile and mixir-run accept) and
// verifies it: the mix ops' parsers and verifiers must turn every input into
// a diagnostic or a valid module, never a crash. Diagnostics are dropped.
//
// A verified module that holds a mix op then goes through the mix half of
// the default CPU pipeline (addMixLoweringPasses: backward derivation, the
// cost model, the chunked and the recurrent lowering), which may refuse it
// with a diagnostic but must not crash, and whose output must verify. The
// upstream half (bufferization to LLVM) is not run: it takes seconds a
// module, and it is LLVM's code, fuzzed upstream. Modules with a tensor of
// more than 2^20 elements are not lowered, so that constant folding stays
// within the fuzzer's memory limit.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mixir/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

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

/// Whether `module` holds a mix op and no tensor type too large to fold.
bool worthLowering(mlir::ModuleOp module) {
  bool hasMix = false, small = true;
  module.walk([&](mlir::Operation *op) {
    hasMix |= llvm::isa<mixir::mix::MixDialect>(op->getDialect());
    auto isLarge = [](mlir::Type t) {
      auto shaped = llvm::dyn_cast<mlir::ShapedType>(t);
      return shaped && shaped.hasStaticShape() &&
             shaped.getNumElements() > (int64_t(1) << 20);
    };
    for (mlir::Type t : op->getResultTypes())
      small &= !isLarge(t);
    for (mlir::Type t : op->getOperandTypes())
      small &= !isLarge(t);
    return small ? mlir::WalkResult::advance() : mlir::WalkResult::interrupt();
  });
  return hasMix && small;
}

/// The mix half of the default CPU pipeline; a failure is a diagnostic, a
/// success must leave a valid module.
void lowerMixOps(mlir::ModuleOp module) {
  mlir::PassManager pm(module.getContext());
  mixir::addMixLoweringPasses(pm, mixir::CompileOptions());
  if (mlir::succeeded(pm.run(module)))
    mixir::fuzz::check(mlir::succeeded(mlir::verify(module)));
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
  if (module && mlir::succeeded(mlir::verify(*module)) &&
      worthLowering(*module))
    lowerMixOps(*module);
  return 0;
}
