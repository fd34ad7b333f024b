//===- mixir-run.cpp - run a function of an .mlir module on .npy inputs ---===//
//
//   mixir-run IN.mlir|IN.mixir --entry=NAME --input=A.npy --input=B.npy
//             --output-dir=DIR [--target=cpu|cuda [--chip=sm_XX]] [--bench=N]
//
// An artifact (written by mixir-compile --emit=artifact, recognised by its
// magic) is loaded instead of compiled.
//
// Every failure is one line on stderr and exit code 1.
//
//===----------------------------------------------------------------------===//
#include "mixir/Jit/JitModule.h"
#include "mixir/Tools/CommandLine.h"
#include "mixrt/Artifact.h"
#include "mixrt/Npy.h"
#include "mixrt/TestPlugin.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>

namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<module.mlir>"));
static cl::opt<std::string> entry("entry",
                                  cl::desc("Function to run (default: the "
                                           "only public function)"));
static cl::list<std::string> inputs("input",
                                    cl::desc("An argument as a .npy file, in "
                                             "argument order"));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Where out0.npy, out1.npy, ... "
                                               "are written"),
                                      cl::init("."));
static cl::opt<std::string> chunkSizeText(
    "chunk-size",
    cl::desc("Tokens per chunk of the chunkwise-parallel lowering (a power "
             "of two; 0 selects the recurrent form; default: the target's)"),
    cl::value_desc("N"), cl::init(""));
static cl::opt<std::string>
    target("target", cl::desc("cpu (default) or cuda"),
           cl::init(mixrt::targetName(mixrt::Target::cpu)));
static cl::opt<std::string> chip("chip",
                                 cl::desc("GPU architecture for --target=cuda "
                                          "(default: $MIXIR_CUDA_CHIP, else "
                                          "the device's)"),
                                 cl::init(""));
static cl::opt<std::string> benchText("bench",
                                      cl::desc("Also time N runs and print "
                                               "the median"),
                                      cl::value_desc("N"), cl::init("0"));

static int fail(llvm::StringRef message) {
  return mixir::failOneLine("mixir-run", message);
}

int main(int argc, char **argv) {
  if (!mixir::parseCommandLine(argc, argv,
                               "MixIR runner: JIT-compiles an .mlir module "
                               "and runs one function\n",
                               fail))
    return 1;
  unsigned bench = 0;
  if (!mixir::parseUnsigned("bench", benchText, bench, fail))
    return 1;
  auto options =
      mixir::compileOptionsFor(inputFile, target, chip, chunkSizeText, fail);
  if (!options)
    return 1;

  // The module: compiled from source, or an artifact loaded from memory.
  std::vector<mixrt::FunctionSignature> functions;
  std::function<mixrt::Status(const std::string &,
                              const std::vector<mixrt::ArrayView> &,
                              std::vector<mixrt::HostArray> &)>
      call;
  std::unique_ptr<mixir::JitModule> jit;
  std::shared_ptr<mixrt::LoadedArtifact> artifact;
  std::string bytes;
  // Unreadable files get readSourceFile's message below.
  if (mixrt::readFileBytes(inputFile, bytes) &&
      mixrt::looksLikeArtifact(bytes.data(), bytes.size())) {
    if (mixrt::Status s =
            mixrt::LoadedArtifact::load(std::move(bytes), artifact);
        !s)
      return fail(inputFile + ": " + s.message());
    functions = artifact->info().functions;
    call = [&](const std::string &name,
               const std::vector<mixrt::ArrayView> &args,
               std::vector<mixrt::HostArray> &results) {
      for (size_t i = 0; i < functions.size(); ++i)
        if (functions[i].name == name) {
          return mixrt::callCompiled(artifact->entryPoints()[i],
                                     artifact->info().target, functions[i],
                                     args, results);
        }
      return mixrt::Status::error("no function @" + name);
    };
  } else {
    auto source = mixir::readSourceFile(inputFile);
    if (!source)
      return fail(llvm::toString(source.takeError()));
    auto module = mixir::JitModule::compile(*source, *options);
    if (!module)
      return fail(llvm::toString(module.takeError()));
    jit = std::move(*module);
    functions = jit->functions();
    call = [&](const std::string &name,
               const std::vector<mixrt::ArrayView> &args,
               std::vector<mixrt::HostArray> &results) {
      return jit->call(name, args, results);
    };
  }

  std::string name = entry;
  if (name.empty()) {
    if (functions.size() != 1)
      return fail("'" + inputFile + "' has " +
                  std::to_string(functions.size()) +
                  " public functions; choose one with --entry=NAME");
    name = functions.front().name;
  }
  bool found = false;
  for (const auto &f : functions)
    found = found || f.name == name;
  if (!found)
    return fail("no function @" + name + " in '" + inputFile + "'");

  std::vector<mixrt::HostArray> arrays(inputs.size());
  std::vector<mixrt::ArrayView> views;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (mixrt::Status s = mixrt::readNpy(inputs[i], arrays[i]); !s)
      return fail(s.message());
    views.push_back({arrays[i].bytes.data(), arrays[i].dtype, arrays[i].shape});
  }

  std::vector<mixrt::HostArray> results;
  if (mixrt::Status s = call(name, views, results); !s)
    return fail(s.message());

  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
    return fail("cannot create output directory '" + outputDir +
                "': " + ec.message());
  for (size_t i = 0; i < results.size(); ++i) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, "out" + std::to_string(i) + ".npy");
    if (mixrt::Status s = mixrt::writeNpy(std::string(path), results[i]); !s)
      return fail(s.message());
  }

  if (bench > 0) {
    std::vector<double> ms;
    for (unsigned i = 0; i < bench; ++i) {
      auto start = std::chrono::steady_clock::now();
      mixrt::Status s = call(name, views, results);
      auto stop = std::chrono::steady_clock::now();
      if (!s)
        return fail(s.message());
      ms.push_back(
          std::chrono::duration<double, std::milli>(stop - start).count());
    }
    std::sort(ms.begin(), ms.end());
    llvm::outs() << "@" << name << ": median "
                 << llvm::format("%.3f", ms[ms.size() / 2]) << " ms over "
                 << bench << " runs (min " << llvm::format("%.3f", ms.front())
                 << " ms)\n";
  }
  return 0;
}
