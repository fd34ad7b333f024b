//===- StableHLOImporter.h - StableHLO (JAX) to MLIR ------------*- C++ -*-===//
//
// The StableHLO importer has two stages, because Debian's MLIR 22 has no
// StableHLO dialect while jaxlib's Python bindings have it:
//
//  1. The front stage (python/mixir/stablehlo.py, needs jax/jaxlib) reads
//     StableHLO text, VHLO portable artifacts, `jax.export` serialisations or
//     `jax.export.Exported` objects, legalises CHLO to StableHLO and writes
//     the "flat" form described below.
//  2. The back stage (this library) parses the flat form with unregistered
//     dialects allowed, inlines calls, folds constant subgraphs, raises
//     `lax.scan` loops and `mixir.*` composites to `mix` ops, converts every
//     other op by name to linalg/tensor/arith/math/scf through the same
//     builders the ONNX importer uses, and runs `mix-raise`.
//
// The flat form (version 1):
//  - The first line is exactly `// mixir-stablehlo-flat v1`.
//  - Then one `builtin.module` in MLIR's generic op form, holding func.func
//    ops whose bodies use only func.call / func.return and `stablehlo.*` ops
//    (CHLO already legalised). Locations may be present.
//  - StableHLO enum attributes (`#stablehlo<comparison_direction LT>`,
//    comparison_type, precision, transpose, ...) are StringAttrs holding the
//    keyword: `comparison_direction = "LT"`, `compare_type = "SIGNED"`.
//  - StableHLO struct attributes (`#stablehlo.dot<...>`, `.gather<...>`,
//    `.scatter<...>`, `.conv<...>`) are DictionaryAttrs with one entry per
//    field, named as in the textual form; integer lists are `array<i64: ...>`
//    (always present, empty when absent), single integers i64 attributes.
//  - precision_config, algorithm and result_accuracy are dropped, as are
//    jax.*, mhlo.*, sdy.* and tf.* attributes on the module and functions.
//  - Tokens, tuples and tensor encodings (bounds) are refused by the front
//    stage with a one-line error.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_IMPORT_STABLEHLO_STABLEHLOIMPORTER_H
#define MIXIR_IMPORT_STABLEHLO_STABLEHLOIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mixir {

/// The first line of every flat-form file.
inline constexpr llvm::StringLiteral kStableHLOFlatHeader =
    "// mixir-stablehlo-flat v1";

struct StableHLOImportOptions {
  /// Raise `lax.scan` loops and run `mix-raise` (and canonicalisation).
  bool raise = true;
  /// Print a line on stderr for each candidate `mix-raise` leaves as is.
  bool reportRaising = false;
  /// Evaluate constant subgraphs (masks from iota/compare) at import time.
  bool fold = true;
};

/// Translates flat-form text (see above) into a module of func.func ops over
/// mix + upstream dialects. On failure returns null and sets `error` to one
/// line naming the op (and its location) that could not be translated.
mlir::OwningOpRef<mlir::ModuleOp>
importStableHLOFlat(mlir::MLIRContext &context, llvm::StringRef flatText,
                    const StableHLOImportOptions &options, std::string &error);

} // namespace mixir

#endif
