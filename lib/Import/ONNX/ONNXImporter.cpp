//===- ONNXImporter.cpp - read a ModelProto, translate its graph ----------===//
#include "mixir/Import/ONNX/ONNXImporter.h"

#include "Importer.h"
#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mixir/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>

using namespace mlir;

namespace mixir {

/// Names in a damaged model can hold any bytes: keep the message one line of
/// valid UTF-8 (control bytes and invalid UTF-8 escaped as \xNN).
static std::string printableMessage(const std::string &message) {
  bool utf8 = llvm::json::isUTF8(message);
  std::string out;
  for (unsigned char c : message) {
    if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += (char)c;
    }
  }
  return out;
}

static OwningOpRef<ModuleOp>
importONNXFileImpl(MLIRContext &context, llvm::StringRef path,
                   const ONNXImportOptions &options, std::string &error);

OwningOpRef<ModuleOp> importONNXFile(MLIRContext &context, llvm::StringRef path,
                                     const ONNXImportOptions &options,
                                     std::string &error) {
  OwningOpRef<ModuleOp> module =
      importONNXFileImpl(context, path, options, error);
  if (!module)
    error = printableMessage(error);
  return module;
}

static OwningOpRef<ModuleOp>
importONNXFileImpl(MLIRContext &context, llvm::StringRef path,
                   const ONNXImportOptions &options, std::string &error) {
  std::string file = path.str();
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read '" + file + "': " + buffer.getError().message();
    return nullptr;
  }
  size_t size = (*buffer)->getBufferSize();
  if (size > (size_t)INT_MAX) {
    error = "'" + file +
            "' is larger than protobuf's 2 GiB message limit; "
            "store the weights as external data";
    return nullptr;
  }
  onnx::ModelProto model;
  {
    google::protobuf::io::ArrayInputStream stream((*buffer)->getBufferStart(),
                                                  (int)size);
    google::protobuf::io::CodedInputStream coded(&stream);
    coded.SetTotalBytesLimit(INT_MAX);
    if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
      error = "'" + file +
              "' is not a valid ONNX model (truncated or malformed "
              "protobuf)";
      return nullptr;
    }
  }
  if (!model.has_graph() || model.ir_version() <= 0) {
    error = "'" + file + "' is not a valid ONNX model (" +
            (model.has_graph() ? "no IR version" : "no graph") +
            "; truncated or not an ONNX file?)";
    return nullptr;
  }

  std::map<std::string, int64_t> opsets;
  for (const auto &o : model.opset_import())
    opsets[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
  if (model.opset_import_size() == 0)
    opsets[""] = 1; // IR version 1/2 models have no opset imports

  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                      tensor::TensorDialect, mix::MixDialect>();
  OpBuilder b(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  onnx_import::GraphImporter importer(b, std::string(dir), std::move(opsets));
  if (failed(importer.importGraph(model.graph(), *module))) {
    error = "'" + file + "': " + importer.error;
    return nullptr;
  }

  // Diagnostics from verification or the passes become the one-line error.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diagnostics.empty())
      diagnostics = diag.str();
    return success();
  });
  if (failed(verify(*module))) {
    error = "'" + file + "': the imported IR does not verify: " + diagnostics;
    return nullptr;
  }
  if (options.raise) {
    PassManager pm(&context);
    mixir::addImportRaisingPasses(pm, options.reportRaising,
                                  /*canonicalizeFirst=*/true);
    if (failed(pm.run(*module))) {
      error =
          "'" + file + "': simplifying the imported IR failed: " + diagnostics;
      return nullptr;
    }
  }
  return module;
}

} // namespace mixir
