//===- CommandLine.h - one-line command-line errors -------------*- C++ -*-===//
#ifndef MIXIR_TOOLS_COMMANDLINE_H
#define MIXIR_TOOLS_COMMANDLINE_H

#include "mixir/Compiler/CompileOptions.h"
#include "mixir/Tools/Version.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace mixir {

/// Prints "TOOL: MESSAGE" as one line on stderr and returns exit code 1.
inline int failOneLine(llvm::StringRef tool, llvm::StringRef message) {
  std::string line = message.str();
  for (char &c : line)
    if (c == '\n')
      c = ' ';
  llvm::errs() << tool << ": " << line << "\n";
  return 1;
}

/// Parses the options like cl::ParseCommandLineOptions but reports a mistake
/// through `fail` as one line (the first line of LLVM's message) instead of
/// printing several lines and exiting. LLVM prints errors in option values
/// itself, so tools take numbers as strings and parse them with
/// parseUnsigned below. --help lists only the tool's own options (those in
/// `category`) and LLVM's generic ones (--help, --version), not the ones
/// LLVM's libraries register.
template <typename FailFn>
bool parseCommandLine(int argc, char **argv, llvm::StringRef overview,
                      llvm::cl::OptionCategory &category, FailFn fail) {
  installVersionPrinter(argv[0]);
  llvm::cl::HideUnrelatedOptions(category);
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (llvm::cl::ParseCommandLineOptions(argc, argv, overview, &os))
    return true;
  llvm::StringRef first = llvm::StringRef(errors).split('\n').first.trim();
  // LLVM prefixes its messages with the program name.
  if (first.consume_front(llvm::StringRef(argv[0]).rsplit('/').second))
    first = first.ltrim(": ");
  std::string line = first.str();
  if (!first.contains("--help"))
    line += " (see --help)";
  fail(line);
  return false;
}

/// Parses a non-negative integer option value, or reports it through `fail`.
template <typename FailFn>
bool parseUnsigned(llvm::StringRef option, llvm::StringRef text,
                   unsigned &value, FailFn fail) {
  if (text.getAsInteger(10, value)) {
    fail("--" + option.str() + " expects a non-negative integer, got '" +
         text.str() + "'");
    return false;
  }
  return true;
}

/// The compile options of a tool's --target, --chip and --chunk-size, made
/// and checked by
/// makeCompileOptions like every front end's; a mistake is reported through
/// `fail`.
template <typename FailFn>
std::optional<CompileOptions>
compileOptionsFor(llvm::StringRef sourceName, llvm::StringRef target,
                  llvm::StringRef chip, llvm::StringRef chunkSizeText,
                  FailFn fail) {
  CompileOptionsInput input;
  input.target = target;
  input.chip = chip;
  input.sourceName = sourceName;
  if (!chunkSizeText.empty()) {
    unsigned chunkSize = 0;
    if (!parseUnsigned("chunk-size", chunkSizeText, chunkSize, fail))
      return std::nullopt;
    input.chunkSize = chunkSize;
  }
  auto options = makeCompileOptions(input);
  if (!options) {
    fail(llvm::toString(options.takeError()));
    return std::nullopt;
  }
  return std::move(*options);
}

/// Prints `module` to `outputFile` ("-" for stdout) for the importers, or
/// reports why it cannot through `fail`; returns the exit code.
template <typename FailFn>
int writeModule(mlir::Operation *module, const std::string &outputFile,
                FailFn fail) {
  std::error_code ec;
  llvm::ToolOutputFile out(outputFile, ec, llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message());
  module->print(out.os());
  out.os() << "\n";
  out.keep();
  return 0;
}

} // namespace mixir

#endif
