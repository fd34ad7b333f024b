//===- mixir-import-stablehlo.cpp - StableHLO (JAX) to MLIR ---------------===//
//
//   mixir-import-stablehlo IN -o OUT.mlir [--no-raise] [--no-fold]
//                          [--report-raising]
//
// IN in the flat form (its first line `// mixir-stablehlo-flat v1`) is
// imported directly; anything else (StableHLO text or bytecode, a VHLO
// artifact, a `jax.export` serialisation) goes through the Python front stage
// first: `$MIXIR_PYTHON -m mixir.stablehlo IN -o TMP` with the build tree's
// `python` directory on PYTHONPATH. `-` reads stdin.
//
//===----------------------------------------------------------------------===//
#include "mixir/Import/StableHLO/StableHLOImporter.h"
#include "mixir/Tools/CommandLine.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

extern char **environ;

namespace cl = llvm::cl;

static cl::OptionCategory toolOptions("mixir-import-stablehlo options");

static cl::opt<std::string>
    inputFile(cl::Positional, cl::Required,
              cl::desc("<input: flat form, StableHLO, "
                       "VHLO or jax.export file, or ->"),
              cl::cat(toolOptions));
static cl::opt<std::string> outputFile("o", cl::desc("Output .mlir file"),
                                       cl::init("-"), cl::cat(toolOptions));
static cl::opt<bool>
    noFold("no-fold",
           cl::desc("Keep constant subgraphs (iota, masks) as computations"),
           cl::init(false), cl::cat(toolOptions));
static cl::opt<bool>
    noRaise("no-raise", cl::desc("Do not raise scan loops or run mix-raise"),
            cl::init(false), cl::cat(toolOptions));
static cl::opt<bool> reportRaising(
    "report-raising",
    cl::desc("Print a line on stderr for each candidate mix-raise leaves"),
    cl::init(false), cl::cat(toolOptions));

static int fail(llvm::StringRef message) {
  return mixir::failOneLine("mixir-import-stablehlo", message);
}

/// Removes a temporary file when it goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

/// The last non-empty line of `text`.
static std::string lastLine(llvm::StringRef text) {
  text = text.rtrim();
  size_t nl = text.find_last_of('\n');
  return (nl == llvm::StringRef::npos ? text : text.substr(nl + 1))
      .trim()
      .str();
}

/// Runs the Python front stage on `input`; returns the flat text or sets
/// `error`.
static std::optional<std::string>
runFrontStage(const char *argv0, llvm::StringRef input, std::string &error) {
  const char *envPython = std::getenv("MIXIR_PYTHON");
  std::string python = envPython && *envPython ? envPython : "python3";
  auto pythonPath = llvm::sys::findProgramByName(python);
  if (!pythonPath || !llvm::sys::fs::can_execute(*pythonPath)) {
    error = "the input is not in the flat form and the Python front stage "
            "cannot run: '" +
            python + "' not found (set MIXIR_PYTHON)";
    return std::nullopt;
  }
  TempFile out, err;
  if (llvm::sys::fs::createTemporaryFile("mixir-stablehlo", "mlir", out.path) ||
      llvm::sys::fs::createTemporaryFile("mixir-stablehlo", "err", err.path)) {
    error = "cannot create a temporary file";
    return std::nullopt;
  }
  // The build tree's (or install tree's) mixir package: <bin>/../python.
  std::string exe =
      llvm::sys::fs::getMainExecutable(argv0, (void *)&runFrontStage);
  llvm::SmallString<256> pkg(llvm::sys::path::parent_path(exe));
  llvm::sys::path::append(pkg, "..", "python");
  std::string pythonPathVar = "PYTHONPATH=" + std::string(pkg);
  if (const char *old = std::getenv("PYTHONPATH"); old && *old)
    pythonPathVar += std::string(":") + old;
  std::vector<std::string> envStorage;
  for (char **e = environ; *e; ++e)
    if (!llvm::StringRef(*e).starts_with("PYTHONPATH="))
      envStorage.push_back(*e);
  envStorage.push_back(pythonPathVar);
  std::vector<llvm::StringRef> env(envStorage.begin(), envStorage.end());
  llvm::SmallVector<llvm::StringRef> args = {
      *pythonPath, "-m", "mixir.stablehlo", input, "-o", out.path};
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(""), llvm::StringRef(err.path)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(*pythonPath, args, env, redirects, 0, 0,
                                     &execError);
  if (rc != 0) {
    std::string detail;
    if (auto buf = llvm::MemoryBuffer::getFile(err.path))
      detail = lastLine((*buf)->getBuffer());
    if (detail.empty())
      detail =
          execError.empty() ? "exit code " + std::to_string(rc) : execError;
    error = "the Python front stage failed: " + detail;
    return std::nullopt;
  }
  auto buf = llvm::MemoryBuffer::getFile(out.path);
  if (!buf) {
    error = "the Python front stage wrote no output";
    return std::nullopt;
  }
  return (*buf)->getBuffer().str();
}

int main(int argc, char **argv) {
  if (!mixir::parseCommandLine(argc, argv, "MixIR StableHLO importer\n",
                               toolOptions, fail))
    return 1;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputFile, /*IsText=*/false);
  if (!buffer)
    return fail("cannot read '" + inputFile +
                "': " + buffer.getError().message());
  std::string text = (*buffer)->getBuffer().str();
  if (llvm::StringRef(text).split('\n').first.rtrim("\r") !=
      mixir::kStableHLOFlatHeader) {
    std::string path = inputFile;
    TempFile stdinCopy;
    if (inputFile == "-") {
      // The front stage reads files: keep stdin in one.
      int fd;
      if (llvm::sys::fs::createTemporaryFile("mixir-stablehlo-in", "bin", fd,
                                             stdinCopy.path))
        return fail("cannot create a temporary file");
      llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
      os << text;
      path = std::string(stdinCopy.path);
    }
    std::string error;
    auto flat = runFrontStage(argv[0], path, error);
    if (!flat)
      return fail(error);
    text = std::move(*flat);
  }
  mlir::MLIRContext context;
  context.disableMultithreading();
  mixir::StableHLOImportOptions options;
  options.raise = !noRaise;
  options.reportRaising = reportRaising;
  options.fold = !noFold;
  std::string error;
  auto module = mixir::importStableHLOFlat(context, text, options, error);
  if (!module)
    return fail(error);
  return mixir::writeModule(*module, outputFile, fail);
}
