//===- StableHLOFuzzer.cpp - libFuzzer target for the StableHLO importer --===//
//
// Feeds any text to the back stage of the StableHLO importer
// (importStableHLOFlat), which mixir-import-stablehlo runs in process on
// flat-form input: parse with unregistered dialects, inlining, constant
// folding, conversion, verification, and mix-raise with its
// canonicalisation afterwards (the tool's default); the module is printed.
// A rejected input must give an error message (the tool writes it on one
// line).
//
// The tool hands input that does not start with the flat-form header line to
// the Python front stage, a separate process; here such input gets the
// header line put in front, so that every mutation reaches the back stage.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"
#include "ImportCheck.h"

#include "mixir/Import/StableHLO/StableHLOImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <string>

MIXIR_FUZZ_TARGET(stablehlo) {
  // Like the tool, import from a string (NUL-terminated for the parser).
  std::string text(reinterpret_cast<const char *>(data), size);
  if (llvm::StringRef(text).split('\n').first.rtrim("\r") !=
      mixir::kStableHLOFlatHeader)
    text = (mixir::kStableHLOFlatHeader + "\n").str() + text;
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  std::string error;
  mlir::OwningOpRef<mlir::ModuleOp> module = mixir::importStableHLOFlat(
      context, text, mixir::StableHLOImportOptions(), error);
  // The tool writes the message on one line whatever it holds.
  mixir::fuzz::checkImport(module, error, /*oneLineError=*/false);
  return 0;
}
