//===- mixir-compile.cpp - compile an .mlir module for a target ------------===//
//
//   mixir-compile IN.mlir -o OUT --target=cpu --emit=mlir|llvm|artifact
//
// An artifact (mixrt/Artifact.h) holds the compiled module for the host CPU;
// `mixir-run` and the runtime C API (mixir-c/Runtime.h) load it.
//
//===----------------------------------------------------------------------===//
#include "mixir/Jit/JitModule.h"
#include "mixir/Jit/SharedObject.h"
#include "mixir/Tools/CommandLine.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<module.mlir>"));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::init("-"));
static cl::opt<std::string> chunkSizeText(
    "chunk-size",
    cl::desc("Tokens per chunk of the chunkwise-parallel lowering (a power "
             "of two; 0 selects the recurrent form)"),
    cl::value_desc("N"), cl::init(std::to_string(mixir::kDefaultChunkSize)));
static cl::opt<std::string> target("target", cl::desc("cpu or cuda"),
                                   cl::init("cpu"));
static cl::opt<std::string> chip("chip", cl::desc("GPU architecture (cuda)"),
                                 cl::init(""));
static cl::opt<std::string>
    emit("emit",
         cl::desc("mlir (LLVM dialect), llvm (LLVM IR), ptx, cubin, artifact"),
         cl::init("llvm"));

static int fail(llvm::StringRef message) {
  return mixir::failOneLine("mixir-compile", message);
}

int main(int argc, char **argv) {
  if (!mixir::parseCommandLine(argc, argv, "MixIR compiler\n", fail))
    return 1;
  if (target != "cpu")
    return fail("target '" + target +
                "' is not available in this build (only --target=cpu)");
  if (emit != "mlir" && emit != "llvm" && emit != "artifact")
    return fail("--emit=" + emit +
                " is not available for --target=cpu in this build (use mlir, "
                "llvm or artifact)");
  if (emit == "artifact" && outputFile == "-")
    return fail("--emit=artifact writes a binary file; name it with -o");
  auto source = mixir::readSourceFile(inputFile);
  if (!source)
    return fail(llvm::toString(source.takeError()));
  auto options = mixir::compileOptionsFor(inputFile, chunkSizeText, fail);
  if (!options)
    return 1;
  std::string text;
  if (emit == "artifact") {
    auto info = mixir::compileArtifact(*source, *options);
    if (!info)
      return fail(llvm::toString(info.takeError()));
    text = mixrt::serializeArtifact(*info);
  } else {
    auto lowered = mixir::lowerToText(*source, *options, emit == "llvm");
    if (!lowered)
      return fail(llvm::toString(lowered.takeError()));
    text = std::move(*lowered);
  }
  std::error_code ec;
  llvm::ToolOutputFile out(outputFile, ec,
                           emit == "artifact" ? llvm::sys::fs::OF_None
                                              : llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message());
  out.os() << text;
  out.keep();
  return 0;
}
