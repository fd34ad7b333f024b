//===- Version.h - what the tools print for --version -----------*- C++ -*-===//
#ifndef MIXIR_TOOLS_VERSION_H
#define MIXIR_TOOLS_VERSION_H

#include "mixir/Version.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mixir {

/// Makes `--version` print "TOOL MIXIR_VERSION (LLVM x.y.z)" instead of LLVM's
/// own version block; `argv0` gives TOOL. Call before the command line is
/// parsed.
inline void installVersionPrinter(llvm::StringRef argv0) {
  std::string tool = llvm::sys::path::filename(argv0).str();
  llvm::cl::SetVersionPrinter([tool](llvm::raw_ostream &os) {
    os << tool << " " MIXIR_VERSION " (LLVM " LLVM_VERSION_STRING ")\n";
  });
}

} // namespace mixir

#endif // MIXIR_TOOLS_VERSION_H
