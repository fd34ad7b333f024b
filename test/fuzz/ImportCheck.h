//===- ImportCheck.h - what the import tools make of an import --*- C++ -*-===//
//
// The importer fuzz targets end like mixir-import-onnx and
// mixir-import-stablehlo: a refused input must come with an error message
// (of one line where the importer promises one), an accepted module is
// printed.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_TEST_FUZZ_IMPORTCHECK_H
#define MIXIR_TEST_FUZZ_IMPORTCHECK_H

#include "FuzzTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mixir::fuzz {
inline void checkImport(mlir::OwningOpRef<mlir::ModuleOp> &module,
                        const std::string &error, bool oneLineError) {
  if (!module) {
    check(!error.empty());
    check(!oneLineError || error.find('\n') == std::string::npos);
    return;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  check(!text.empty());
}
} // namespace mixir::fuzz

#endif
