//===- mixir-compile.cpp - compile an .mlir module for a target -----------===//
//
//   mixir-compile IN.mlir -o OUT --target=cpu --emit=mlir|llvm|artifact
//   mixir-compile IN.mlir -o OUT --target=cuda [--chip=sm_80] --emit=ptx|cubin
//   mixir-compile IN.mlir -o OUT --target=cuda --chip=sm_80,sm_90a
//                --emit=artifact
//
// An artifact (mixrt/Artifact.h) holds the compiled module: host code for
// this CPU and, for target cuda, a cubin per chip and PTX for the lowest;
// `mixir-run` and the runtime C API (mixir-c/Runtime.h) load it. With
// several device modules, PTX is written one after the other (each after a
// "// gpu.binary @NAME" line) and cubins to OUT with the module name before
// the extension (out.cubin -> out.NAME.cubin).
//
//===----------------------------------------------------------------------===//
#include "mixir/Jit/JitModule.h"
#include "mixir/Jit/SharedObject.h"
#include "mixir/Tools/CommandLine.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace cl = llvm::cl;

static cl::OptionCategory toolOptions("mixir-compile options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<module.mlir>"),
                                      cl::cat(toolOptions));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::init("-"), cl::cat(toolOptions));
static cl::opt<std::string> chunkSizeText(
    "chunk-size",
    cl::desc("Tokens per chunk of the chunkwise-parallel lowering (a power "
             "of two; 0 selects the recurrent form; default: the target's)"),
    cl::value_desc("N"), cl::init(""), cl::cat(toolOptions));
static cl::opt<std::string>
    target("target", cl::desc("cpu or cuda"),
           cl::init(mixrt::targetName(mixrt::Target::cpu)),
           cl::cat(toolOptions));
static cl::opt<std::string> chip("chip",
                                 cl::desc("GPU architecture for --target=cuda: "
                                          "sm_80 (default), sm_86, sm_89, "
                                          "sm_90, sm_90a; --emit=artifact "
                                          "takes a list (sm_80,sm_90a)"),
                                 cl::init(""), cl::cat(toolOptions));
static cl::opt<std::string>
    emit("emit",
         cl::desc("mlir (LLVM dialect), llvm (LLVM IR), ptx, cubin, artifact"),
         cl::init("llvm"), cl::cat(toolOptions));

static int fail(llvm::StringRef message) {
  return mixir::failOneLine("mixir-compile", message);
}

/// --emit=ptx|cubin: the device code of every gpu.binary the CUDA pipeline
/// produced.
static int writeDeviceCode(llvm::StringRef source,
                           const mixir::CompileOptions &options) {
  bool ptx = emit == "ptx";
  auto binaries =
      mixir::lowerToDeviceCode(source, options, ptx ? "isa" : "bin");
  if (!binaries)
    return fail(llvm::toString(binaries.takeError()));
  auto write = [](llvm::StringRef path, llvm::StringRef bytes, bool text) {
    std::error_code ec;
    llvm::ToolOutputFile out(
        path, ec, text ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
    if (ec)
      return fail("cannot write '" + path.str() + "': " + ec.message());
    out.os() << bytes;
    out.keep();
    return 0;
  };
  if (binaries->size() == 1)
    return write(outputFile, binaries->front().bytes, ptx);
  if (ptx) {
    std::string all;
    for (const auto &b : *binaries)
      all += "// gpu.binary @" + b.name + "\n" + b.bytes + "\n";
    return write(outputFile, all, true);
  }
  if (outputFile == "-")
    return fail(std::to_string(binaries->size()) +
                " device modules: give -o FILE (each is written to "
                "FILE with its name before the extension)");
  llvm::StringRef stem = llvm::sys::path::stem(outputFile);
  llvm::StringRef ext = llvm::sys::path::extension(outputFile);
  for (const auto &b : *binaries) {
    llvm::SmallString<256> path = llvm::sys::path::parent_path(outputFile);
    llvm::sys::path::append(path, (stem + "." + b.name + ext).str());
    if (int rc = write(path, b.bytes, false))
      return rc;
  }
  return 0;
}

/// --chip split at commas (a list only for --emit=artifact).
static std::vector<std::string> chipList() {
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(chip).split(parts, ',');
  std::vector<std::string> out;
  for (llvm::StringRef p : parts)
    out.push_back(p.trim().str());
  return out;
}

int main(int argc, char **argv) {
  if (!mixir::parseCommandLine(argc, argv, "MixIR compiler\n", toolOptions,
                               fail))
    return 1;
  std::vector<std::string> chips = chipList();
  if (chips.size() > 1 && emit != "artifact")
    return fail("--chip=" + chip + ": a list of chips needs --emit=artifact");
  auto options = mixir::compileOptionsFor(inputFile, target, chips.front(),
                                          chunkSizeText, fail);
  if (!options)
    return 1;
  bool cuda = options->target == mixir::Target::cuda;
  bool deviceCode = emit == "ptx" || emit == "cubin";
  if (deviceCode && !cuda)
    return fail("--emit=" + emit + " needs --target=cuda");
  if (!deviceCode && emit != "mlir" && emit != "llvm" && emit != "artifact")
    return fail("--emit=" + emit + " is not available for --target=" + target +
                " in this build (use mlir, llvm" +
                (cuda ? ", ptx, cubin or artifact)" : " or artifact)"));
  if (emit == "artifact" && outputFile == "-")
    return fail("--emit=artifact writes a binary file; name it with -o");
  auto source = mixir::readSourceFile(inputFile);
  if (!source)
    return fail(llvm::toString(source.takeError()));
  if (deviceCode)
    return writeDeviceCode(*source, *options);
  std::string text;
  if (emit == "artifact") {
    auto info = mixir::compileArtifact(
        *source, *options, chip.empty() ? std::vector<std::string>() : chips);
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
