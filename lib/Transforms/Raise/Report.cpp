//===- Report.cpp - why mix-raise left a candidate ------------------------===//
#include "Report.h"
#include "mixir/Transforms/Passes.h"

#include "llvm/Support/raw_ostream.h"

#include <atomic>

using namespace mlir;

namespace mixir {
namespace {
std::atomic<bool> reportByDefault{false};
} // namespace

void setReportRaisingByDefault(bool report) { reportByDefault = report; }
bool reportRaisingByDefault() { return reportByDefault; }

namespace raise {

void Report::left(Operation *op, StringRef pattern, StringRef why) {
  if (!enabled)
    return;
  llvm::raw_string_ostream os(lines);
  op->getLoc().print(os);
  os << ": mix-raise: " << pattern << ": left as is: " << why << "\n";
}

void Report::print() const {
  if (!lines.empty())
    llvm::errs() << lines;
}

} // namespace raise
} // namespace mixir
