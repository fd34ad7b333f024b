//===- OnnxFuzzer.cpp - libFuzzer target for the ONNX importer ------------===//
//
// Feeds any bytes to the ONNX importer as mixir-import-onnx does: written to
// a model file, read with importONNXFile (protobuf parse, graph translation,
// verification) with mix-raise and its canonicalisation run afterwards (the
// tool's default), and the module printed. A rejected model must give a
// one-line error; an accepted one must print.
//
// The model file lives in a directory of its own, made at start-up, so that
// external data (which must stay inside the model's folder) finds nothing
// but the model itself.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"
#include "ImportCheck.h"

#include "mixir/Import/ONNX/ONNXImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

using mixir::fuzz::check;

namespace {
llvm::SmallString<128> &modelDir() {
  static llvm::SmallString<128> dir;
  return dir;
}

std::string modelPath() {
  llvm::SmallString<128> path(modelDir());
  llvm::sys::path::append(path, "model.onnx");
  return std::string(path);
}

void removeModelDir() {
  llvm::sys::fs::remove(modelPath());
  llvm::sys::fs::remove(modelDir());
}
} // namespace

MIXIR_FUZZ_INIT(onnx) {
  if (modelDir().empty()) {
    check(!llvm::sys::fs::createUniqueDirectory("mixir-fuzz-onnx", modelDir()));
    std::atexit(removeModelDir);
  }
  return 0;
}

MIXIR_FUZZ_TARGET(onnx) {
  std::string path = modelPath();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    check(!ec);
    os.write(reinterpret_cast<const char *>(data), size);
  }
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  std::string error;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mixir::importONNXFile(context, path, mixir::ONNXImportOptions(), error);
  mixir::fuzz::checkImport(module, error, /*oneLineError=*/true);
  return 0;
}
