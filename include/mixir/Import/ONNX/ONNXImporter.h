//===- ONNXImporter.h - ONNX models to mix + upstream MLIR ------*- C++ -*-===//
#ifndef MIXIR_IMPORT_ONNX_ONNXIMPORTER_H
#define MIXIR_IMPORT_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mixir {

struct ONNXImportOptions {
  /// Run `mix-raise` (and canonicalisation) on the imported function.
  bool raise = true;
  /// Print a line on stderr for each candidate `mix-raise` leaves as is.
  bool reportRaising = false;
};

/// Reads the ONNX model at `path` and translates its main graph into one
/// `func.func` (named after the graph) in a new module: mixer nodes become
/// `mix` ops, every other node linalg/tensor/arith/math ops. On failure
/// returns null and sets `error` to one line naming the file, or the node
/// (name, op type, domain) that could not be translated.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXFile(mlir::MLIRContext &context, llvm::StringRef path,
               const ONNXImportOptions &options, std::string &error);

} // namespace mixir

#endif
