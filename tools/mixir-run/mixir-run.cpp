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

static cl::OptionCategory toolOptions("mixir-run options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<module.mlir>"),
                                      cl::cat(toolOptions));
static cl::opt<std::string> entry("entry",
                                  cl::desc("Function to run (default: the "
                                           "only public function)"),
                                  cl::cat(toolOptions));
static cl::list<std::string> inputs("input",
                                    cl::desc("An argument as a .npy file, in "
                                             "argument order"),
                                    cl::cat(toolOptions));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Where out0.npy, out1.npy, ... "
                                               "are written"),
                                      cl::init("."), cl::cat(toolOptions));
static cl::opt<std::string> chunkSizeText(
    "chunk-size",
    cl::desc("Tokens per chunk of the chunkwise-parallel lowering (a power "
             "of two; 0 selects the recurrent form; default: the target's)"),
    cl::value_desc("N"), cl::init(""), cl::cat(toolOptions));
static cl::opt<std::string>
    target("target", cl::desc("cpu (default) or cuda"),
           cl::init(mixrt::targetName(mixrt::Target::cpu)),
           cl::cat(toolOptions));
static cl::opt<std::string> chip("chip",
                                 cl::desc("GPU architecture for --target=cuda "
                                          "(default: $MIXIR_CUDA_CHIP, else "
                                          "the device's)"),
                                 cl::init(""), cl::cat(toolOptions));
static cl::opt<std::string> benchText("bench",
                                      cl::desc("Also time N runs and print "
                                               "the median"),
                                      cl::value_desc("N"), cl::init("0"),
                                      cl::cat(toolOptions));

static int fail(llvm::StringRef message) {
  return mixir::failOneLine("mixir-run", message);
}

namespace {
using Arrays = std::vector<mixrt::HostArray>;
using Views = std::vector<mixrt::ArrayView>;

/// The module to run: compiled from source, or an artifact loaded from
/// memory; `call` runs one of its public `functions`.
struct RunnableModule {
  std::vector<mixrt::FunctionSignature> functions;
  std::function<mixrt::Status(const std::string &, const Views &, Arrays &)>
      call;
  std::unique_ptr<mixir::JitModule> jit;
  std::shared_ptr<mixrt::LoadedArtifact> artifact;
};

/// Loads `m` from the artifact in `bytes`; returns the exit code.
int loadArtifact(std::string bytes, RunnableModule &m) {
  if (mixrt::Status s =
          mixrt::LoadedArtifact::load(std::move(bytes), m.artifact);
      !s)
    return fail(inputFile + ": " + s.message());
  m.functions = m.artifact->info().functions;
  m.call = [&m](const std::string &name, const Views &args, Arrays &results) {
    for (size_t i = 0; i < m.functions.size(); ++i)
      if (m.functions[i].name == name)
        return mixrt::callCompiled(m.artifact->entryPoints()[i],
                                   m.artifact->info().target, m.functions[i],
                                   args, results);
    return mixrt::Status::error("no function @" + name);
  };
  return 0;
}

/// Loads `m` from --input's file (an artifact or MLIR source compiled for
/// `options`); returns the exit code.
int loadModule(const mixir::CompileOptions &options, RunnableModule &m) {
  std::string bytes;
  // Unreadable files get readSourceFile's message below.
  if (mixrt::readFileBytes(inputFile, bytes) &&
      mixrt::looksLikeArtifact(bytes.data(), bytes.size()))
    return loadArtifact(std::move(bytes), m);
  auto source = mixir::readSourceFile(inputFile);
  if (!source)
    return fail(llvm::toString(source.takeError()));
  auto module = mixir::JitModule::compile(*source, options);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  m.jit = std::move(*module);
  m.functions = m.jit->functions();
  m.call = [&m](const std::string &name, const Views &args, Arrays &results) {
    return m.jit->call(name, args, results);
  };
  return 0;
}

/// The function --entry names, or the only public one; empty after
/// reporting why there is none.
std::string entryName(const std::vector<mixrt::FunctionSignature> &functions) {
  std::string name = entry;
  if (name.empty()) {
    if (functions.size() != 1) {
      fail("'" + inputFile + "' has " + std::to_string(functions.size()) +
           " public functions; choose one with --entry=NAME");
      return "";
    }
    name = functions.front().name;
  }
  for (const auto &f : functions)
    if (f.name == name)
      return name;
  fail("no function @" + name + " in '" + inputFile + "'");
  return "";
}

/// Writes out0.npy, out1.npy, ... to --output-dir; returns the exit code.
int writeResults(const Arrays &results) {
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
    return fail("cannot create output directory '" + outputDir +
                "': " + ec.message());
  for (size_t i = 0; i < results.size(); ++i) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, "out" + std::to_string(i) + ".npy");
    if (mixrt::Status s = mixrt::writeNpy(std::string(path), results[i]); !s)
      return fail(s.message());
  }
  return 0;
}

/// --bench: times `runs` more calls and prints the median and the minimum;
/// returns the exit code.
int benchmark(const RunnableModule &m, const std::string &name,
              const Views &views, unsigned runs) {
  Arrays results;
  std::vector<double> ms;
  for (unsigned i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    mixrt::Status s = m.call(name, views, results);
    auto stop = std::chrono::steady_clock::now();
    if (!s)
      return fail(s.message());
    ms.push_back(
        std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  llvm::outs() << "@" << name << ": median "
               << llvm::format("%.3f", ms[ms.size() / 2]) << " ms over " << runs
               << " runs (min " << llvm::format("%.3f", ms.front()) << " ms)\n";
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  if (!mixir::parseCommandLine(argc, argv,
                               "MixIR runner: JIT-compiles an .mlir module "
                               "and runs one function\n",
                               toolOptions, fail))
    return 1;
  unsigned bench = 0;
  if (!mixir::parseUnsigned("bench", benchText, bench, fail))
    return 1;
  auto options =
      mixir::compileOptionsFor(inputFile, target, chip, chunkSizeText, fail);
  if (!options)
    return 1;
  RunnableModule m;
  if (int rc = loadModule(*options, m))
    return rc;
  std::string name = entryName(m.functions);
  if (name.empty())
    return 1;

  Arrays arrays(inputs.size());
  Views views;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (mixrt::Status s = mixrt::readNpy(inputs[i], arrays[i]); !s)
      return fail(s.message());
    views.push_back({arrays[i].bytes.data(), arrays[i].dtype, arrays[i].shape});
  }
  Arrays results;
  if (mixrt::Status s = m.call(name, views, results); !s)
    return fail(s.message());
  if (int rc = writeResults(results))
    return rc;
  return bench > 0 ? benchmark(m, name, views, bench) : 0;
}
