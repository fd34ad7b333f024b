//===- mixir-import-onnx.cpp - ONNX model to MLIR -------------------------===//
//
//   mixir-import-onnx MODEL.onnx -o OUT.mlir [--no-raise] [--report-raising]
//
// Mixer nodes become mix ops, the rest linalg/tensor/arith/math on tensors;
// `mix-raise` then replaces written-out attention chains it can prove.
//
//===----------------------------------------------------------------------===//
#include "mixir/Import/ONNX/ONNXImporter.h"
#include "mixir/Tools/CommandLine.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"

namespace cl = llvm::cl;

static cl::OptionCategory toolOptions("mixir-import-onnx options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx>"),
                                      cl::cat(toolOptions));
static cl::opt<std::string> outputFile("o", cl::desc("Output .mlir file"),
                                       cl::init("-"), cl::cat(toolOptions));
static cl::opt<bool> noRaise("no-raise",
                             cl::desc("Do not run mix-raise on the import"),
                             cl::init(false), cl::cat(toolOptions));
static cl::opt<bool> reportRaising(
    "report-raising",
    cl::desc("Print a line on stderr for each candidate mix-raise leaves"),
    cl::init(false), cl::cat(toolOptions));

static int fail(llvm::StringRef message) {
  return mixir::failOneLine("mixir-import-onnx", message);
}

int main(int argc, char **argv) {
  if (!mixir::parseCommandLine(argc, argv, "MixIR ONNX importer\n", toolOptions,
                               fail))
    return 1;
  mlir::MLIRContext context;
  context.disableMultithreading();
  mixir::ONNXImportOptions options;
  options.raise = !noRaise;
  options.reportRaising = reportRaising;
  std::string error;
  auto module = mixir::importONNXFile(context, inputFile, options, error);
  if (!module)
    return fail(error);
  return mixir::writeModule(*module, outputFile, fail);
}
