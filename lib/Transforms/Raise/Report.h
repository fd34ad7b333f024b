//===- Report.h - why mix-raise left a candidate ----------------*- C++ -*-===//
//
// Internal to lib/Transforms/Raise. With mix-raise's `report` option, each
// matcher that started to match an op (a candidate) and gave up records
// where, the pattern it tried and the check that stopped it; the pass prints
// one line per candidate at the end of the function. Raised candidates
// print nothing.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_RAISE_REPORT_H
#define MIXIR_LIB_TRANSFORMS_RAISE_REPORT_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mixir::raise {

class Report {
public:
  explicit Report(bool enabled) : enabled(enabled) {}

  /// Whether lines are recorded (checks that only report can be skipped).
  bool isEnabled() const { return enabled; }

  /// Records `op`, which `pattern` left as it was because of `why`:
  /// `LOC: mix-raise: PATTERN: left as is: WHY`. Nothing when disabled.
  void left(mlir::Operation *op, llvm::StringRef pattern, llvm::StringRef why);
  /// Writes the recorded lines to stderr at once (the pass may run on
  /// several functions in parallel).
  void print() const;

private:
  bool enabled;
  std::string lines;
};

} // namespace mixir::raise

#endif
