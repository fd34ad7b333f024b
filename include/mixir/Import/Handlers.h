//===- Handlers.h - the importers' tables of op converters ------*- C++ -*-===//
//
// Both importers convert an op (StableHLO) or a node (ONNX) with the handler
// registered under its name. Each file of handlers adds its own with
// addHandlers, all under one name prefix per call ("stablehlo.", or an ONNX
// domain and "::").
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_IMPORT_HANDLERS_H
#define MIXIR_IMPORT_HANDLERS_H

#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <initializer_list>
#include <utility>

namespace mixir::import {

/// The converters of an importer, keyed by op name; each converts the op or
/// node that `View` wraps.
template <typename View>
using HandlerMap = llvm::StringMap<mlir::LogicalResult (*)(View &)>;

/// Adds each (name, handler) of `handlers` to `map` under `prefix` + name.
template <typename View>
void addHandlers(
    HandlerMap<View> &map, llvm::StringRef prefix,
    std::initializer_list<
        std::pair<llvm::StringRef, mlir::LogicalResult (*)(View &)>>
        handlers) {
  for (const auto &[name, handler] : handlers)
    map[(prefix + name).str()] = handler;
}

} // namespace mixir::import

#endif // MIXIR_IMPORT_HANDLERS_H
