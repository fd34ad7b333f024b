//===- Convert.h - state shared by the StableHLO op converters --*- C++ -*-===//
//
// Internal to lib/Import/StableHLO. convertToUpstream translates each
// function body op by op: the upstream ops are built before the `stablehlo`
// op they replace and the old ops are erased only at the end, so converters
// can still look at the StableHLO producers of their operands (broadcasts to
// fold into element-wise maps, the softmax written out by JAX). An OpView
// gives a converter the op, its operands already translated, its attributes
// and a one-line failure naming the op.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_IMPORT_STABLEHLO_CONVERT_H
#define MIXIR_LIB_IMPORT_STABLEHLO_CONVERT_H

#include "mixir/Import/Handlers.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

namespace mixir::stablehlo_import {

using namespace mlir;

class Converter;

/// The attribute `name` of `op`, from its properties (where the parser puts
/// `<{...}>` of unregistered ops) or its discardable attributes.
Attribute opAttr(Operation *op, StringRef name);
template <typename AttrTy> AttrTy opAttrOfType(Operation *op, StringRef name) {
  return dyn_cast_or_null<AttrTy>(opAttr(op, name));
}

class OpView {
public:
  OpView(Converter &converter, Operation *op);

  Converter &converter;
  Operation *op;
  OpBuilder &b;
  Location loc;

  unsigned numOperands() const { return op->getNumOperands(); }
  /// Operand `i` translated to upstream ops.
  Value operand(unsigned i);
  RankedTensorType operandType(unsigned i) const;
  RankedTensorType resultType(unsigned i = 0) const;

  /// An i64 array attribute (array<i64: ...>) or nullopt when absent or of
  /// another kind.
  std::optional<SmallVector<int64_t>> i64Array(StringRef name) const;
  std::optional<SmallVector<int64_t>> i64Array(DictionaryAttr dict,
                                               StringRef name) const;
  std::optional<int64_t> i64Attr(StringRef name) const;
  std::optional<std::string> stringAttr(StringRef name) const;
  /// An optional list attribute with one entry per dim (window strides,
  /// dilations), `dflt` everywhere when absent.
  FailureOr<SmallVector<int64_t>> perDim(StringRef name, int64_t rank,
                                         int64_t dflt);
  /// The `padding` attribute (dense<[[lo, hi], ...]> : tensor<Rx2xi64>) as
  /// non-negative lo and hi lists; zeros when absent.
  LogicalResult paddingPairs(int64_t rank, SmallVector<int64_t> &lo,
                             SmallVector<int64_t> &hi);

  /// Maps result `i` to `v`, casting to the declared result type when only
  /// static information differs.
  LogicalResult setResult(unsigned i, Value v);
  /// setResult for each result in order.
  LogicalResult setResults(ValueRange values);
  /// Records "'OP' at LOC: MESSAGE" and returns failure.
  LogicalResult fail(const Twine &message);
};

/// Keyed by the op name ("stablehlo.add").
using HandlerMap = import::HandlerMap<OpView>;

void registerElementwiseOps(HandlerMap &map);
void registerShapeOps(HandlerMap &map);
void registerStructuredOps(HandlerMap &map);
void registerReduceOps(HandlerMap &map);
void registerControlOps(HandlerMap &map);
void registerCompositeOps(HandlerMap &map);

/// When `v` (a reduce_window) is a cumulative sum over one whole axis (what
/// jnp.cumsum lowers to), converts it to build::cumsum, sets `result` and
/// returns true; returns false, building nothing, for any other window.
bool convertCumulativeSum(OpView &v, LogicalResult &result);

class Converter {
public:
  Converter(MLIRContext *ctx);

  OpBuilder b;
  IRMapping mapping;
  HandlerMap handlers;
  std::string error;

  Value lookup(Value old) { return mapping.lookupOrDefault(old); }
  /// Translates the ops of `block` (all but its terminator) at the builder's
  /// insertion point; `mapping` must already map the block's arguments.
  LogicalResult convertOps(Block &block);
  LogicalResult convertOp(Operation *op);
};

/// Static sizes as index attributes.
SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> values);
/// A type as MLIR prints it, for messages.
std::string typeString(Type type);

/// The source of a chain of `stablehlo.broadcast_in_dim` ops with increasing
/// dimensions: `value` (a StableHLO value) is `source` broadcast with the
/// source dims going to `dims` of the result. Nullopt when `value` is not
/// such a broadcast.
struct BroadcastSource {
  Value source;
  SmallVector<int64_t> dims;
};
std::optional<BroadcastSource> broadcastSource(Value value);

/// The translated `source` of a broadcast reshaped to the result's rank, with
/// unit dims where the broadcast adds dims, so that numpy-style broadcasting
/// in build::elementwise does the rest (constants are reshaped in place).
Value expandForBroadcast(Converter &c, OpBuilder &b, Location loc,
                         const BroadcastSource &src, int64_t rank);

/// A splat float constant (through broadcasts and converts), or nullopt.
std::optional<double> splatConstant(Value value);

} // namespace mixir::stablehlo_import

#endif
