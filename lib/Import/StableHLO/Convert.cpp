//===- Convert.cpp - translate `stablehlo.*` ops to upstream dialects -----===//
//
// The driver of convertToUpstream: walks each function body in order, hands
// every `stablehlo.*` op to the converter registered under its name, clones
// ops that are already upstream (or `mix`, from the earlier steps) with their
// operands remapped, and erases the StableHLO ops at the end.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "Stages.h"

#include "mixir/Builders/TensorBuilders.h"
#include "mixir/Dialect/Mix/IR/MixDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::stablehlo_import {

Attribute opAttr(Operation *op, StringRef name) {
  if (Attribute a = op->getDiscardableAttr(name))
    return a;
  if (auto props =
          dyn_cast_or_null<DictionaryAttr>(op->getPropertiesAsAttribute()))
    if (Attribute a = props.get(name))
      return a;
  return op->getAttr(name);
}

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> values) {
  SmallVector<OpFoldResult> out;
  for (int64_t v : values)
    out.push_back(b.getIndexAttr(v));
  return out;
}

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  type.print(os);
  return s;
}

//===----------------------------------------------------------------------===//
// OpView
//===----------------------------------------------------------------------===//

OpView::OpView(Converter &converter, Operation *op)
    : converter(converter), op(op), b(converter.b), loc(op->getLoc()) {}

Value OpView::operand(unsigned i) {
  return converter.lookup(op->getOperand(i));
}

RankedTensorType OpView::operandType(unsigned i) const {
  return cast<RankedTensorType>(op->getOperand(i).getType());
}

RankedTensorType OpView::resultType(unsigned i) const {
  return cast<RankedTensorType>(op->getResult(i).getType());
}

std::optional<SmallVector<int64_t>> OpView::i64Array(DictionaryAttr dict,
                                                     StringRef name) const {
  Attribute a = dict ? dict.get(name) : Attribute();
  if (auto arr = dyn_cast_or_null<DenseI64ArrayAttr>(a))
    return SmallVector<int64_t>(arr.asArrayRef());
  // Older printers write dense<[...]> : tensor<Nxi64>.
  if (auto dense = dyn_cast_or_null<DenseIntElementsAttr>(a)) {
    SmallVector<int64_t> out;
    for (const APInt &v : dense.getValues<APInt>())
      out.push_back(v.getSExtValue());
    return out;
  }
  return std::nullopt;
}

std::optional<SmallVector<int64_t>> OpView::i64Array(StringRef name) const {
  Attribute a = opAttr(op, name);
  if (!a)
    return std::nullopt;
  return i64Array(
      DictionaryAttr::get(
          op->getContext(),
          {NamedAttribute(StringAttr::get(op->getContext(), name), a)}),
      name);
}

std::optional<int64_t> OpView::i64Attr(StringRef name) const {
  if (auto a = opAttrOfType<IntegerAttr>(op, name))
    return a.getValue().getSExtValue();
  return std::nullopt;
}

std::optional<std::string> OpView::stringAttr(StringRef name) const {
  if (auto a = opAttrOfType<StringAttr>(op, name))
    return a.str();
  return std::nullopt;
}

FailureOr<SmallVector<int64_t>> OpView::perDim(StringRef name, int64_t rank,
                                               int64_t dflt) {
  std::optional<SmallVector<int64_t>> list = i64Array(name);
  if (!list)
    return SmallVector<int64_t>(rank, dflt);
  if ((int64_t)list->size() != rank)
    return fail("'" + name + "' must have one entry per dim");
  return *list;
}

LogicalResult OpView::paddingPairs(int64_t rank, SmallVector<int64_t> &lo,
                                   SmallVector<int64_t> &hi) {
  lo.assign(rank, 0);
  hi.assign(rank, 0);
  Attribute a = opAttr(op, "padding");
  if (!a)
    return success();
  SmallVector<int64_t> flat;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(a)) {
    for (const APInt &x : dense.getValues<APInt>())
      flat.push_back(x.getSExtValue());
  } else if (auto arr = dyn_cast<DenseI64ArrayAttr>(a)) {
    flat.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
  } else {
    return fail("'padding' must be a [rank, 2] integer attribute");
  }
  if ((int64_t)flat.size() != 2 * rank)
    return fail("'padding' must hold a (low, high) pair per dim");
  for (int64_t d = 0; d < rank; ++d) {
    lo[d] = flat[2 * d];
    hi[d] = flat[2 * d + 1];
    if (lo[d] < 0 || hi[d] < 0)
      return fail("negative padding is not supported");
  }
  return success();
}

LogicalResult OpView::setResult(unsigned i, Value v) {
  Type want = op->getResult(i).getType();
  if (v.getType() != want) {
    if (!tensor::CastOp::areCastCompatible(v.getType(), want))
      return fail("the translation has type " + typeString(v.getType()) +
                  ", expected " + typeString(want));
    v = tensor::CastOp::create(b, loc, want, v);
  }
  converter.mapping.map(op->getResult(i), v);
  return success();
}

LogicalResult OpView::setResults(ValueRange values) {
  for (auto [i, v] : llvm::enumerate(values))
    if (failed(setResult(i, v)))
      return failure();
  return success();
}

LogicalResult OpView::fail(const Twine &message) {
  if (converter.error.empty())
    converter.error = describe(op, message);
  return failure();
}

//===----------------------------------------------------------------------===//
// Broadcast helpers
//===----------------------------------------------------------------------===//

std::optional<BroadcastSource> broadcastSource(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op || op->getName().getStringRef() != "stablehlo.broadcast_in_dim" ||
      op->getNumOperands() != 1)
    return std::nullopt;
  auto dimsAttr = opAttrOfType<DenseI64ArrayAttr>(op, "broadcast_dimensions");
  if (!dimsAttr)
    return std::nullopt;
  SmallVector<int64_t> dims(dimsAttr.asArrayRef());
  for (size_t i = 1; i < dims.size(); ++i)
    if (dims[i] <= dims[i - 1])
      return std::nullopt;
  BroadcastSource src{op->getOperand(0), dims};
  // Compose with the broadcast that produced the source, if any.
  if (auto inner = broadcastSource(src.source)) {
    SmallVector<int64_t> composed;
    for (int64_t d : inner->dims)
      composed.push_back(dims[d]);
    return BroadcastSource{inner->source, composed};
  }
  return src;
}

Value expandForBroadcast(Converter &c, OpBuilder &b, Location loc,
                         const BroadcastSource &src, int64_t rank) {
  auto type = cast<RankedTensorType>(src.source.getType());
  SmallVector<int64_t> shape(rank, 1);
  for (auto [i, d] : llvm::enumerate(src.dims))
    shape[d] = type.getDimSize(i);
  auto expandedType = RankedTensorType::get(shape, type.getElementType());
  // Constants are reshaped in place: mix-raise reads masks and scales as
  // constants.
  Value translated = c.lookup(src.source);
  DenseElementsAttr attr;
  if (auto cst = translated.getDefiningOp<arith::ConstantOp>())
    attr = dyn_cast<DenseElementsAttr>(cst.getValue());
  if (attr)
    return arith::ConstantOp::create(b, loc, attr.reshape(expandedType));
  return build::reshape(b, loc, translated, indexAttrs(b, shape));
}

std::optional<double> splatConstant(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    StringRef name = op->getName().getStringRef();
    if (name == "stablehlo.broadcast_in_dim" || name == "stablehlo.convert" ||
        name == "stablehlo.reshape") {
      value = op->getOperand(0);
      continue;
    }
    if (name != "stablehlo.constant")
      return std::nullopt;
    auto attr = opAttrOfType<DenseElementsAttr>(op, "value");
    if (!attr || !attr.isSplat())
      return std::nullopt;
    if (isa<FloatType>(attr.getElementType()))
      return attr.getSplatValue<APFloat>().convertToDouble();
    if (attr.getElementType().isInteger(1))
      return attr.getSplatValue<bool>() ? 1.0 : 0.0;
    if (isa<IntegerType>(attr.getElementType()))
      return (double)attr.getSplatValue<APInt>().getSExtValue();
    return std::nullopt;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Converter
//===----------------------------------------------------------------------===//

Converter::Converter(MLIRContext *ctx) : b(ctx) {
  registerElementwiseOps(handlers);
  registerShapeOps(handlers);
  registerStructuredOps(handlers);
  registerReduceOps(handlers);
  registerControlOps(handlers);
  registerCompositeOps(handlers);
}

namespace {

/// Statically shaped tensors of the element types the builders handle
/// (StableHLO values are all tensors; tokens and tuples are refused).
std::optional<std::string> unsupportedType(Type type) {
  auto tensor = dyn_cast<TensorType>(type);
  if (!tensor)
    return "type " + typeString(type) + " is not supported (tensors only)";
  if (!isa<RankedTensorType>(tensor))
    return "unranked tensors are not supported";
  if (!tensor.hasStaticShape())
    return "dynamic shapes are not supported (" + typeString(type) +
           "); export with static shapes";
  Type e = tensor.getElementType();
  if (e.isF16() || e.isBF16() || e.isF32() || e.isF64() ||
      e.isSignlessInteger())
    return std::nullopt;
  return "element type " + typeString(e) + " is not supported";
}

/// Operand and result counts of the fixed-arity ops (malformed generic text
/// can give any), so that converters may index operands freely. Ops not
/// listed check their own operands.
LogicalResult checkArity(OpView &v) {
  static const llvm::StringMap<std::pair<unsigned, unsigned>> arity = [] {
    llvm::StringMap<std::pair<unsigned, unsigned>> m;
    auto add = [&](StringRef names, unsigned operands) {
      SmallVector<StringRef> list;
      names.split(list, ' ');
      for (StringRef n : list)
        m[("stablehlo." + n).str()] = {operands, 1};
    };
    add("constant iota", 0);
    add("not negate abs sign exponential exponential_minus_one log "
        "log_plus_one logistic tanh sqrt rsqrt sine cosine floor ceil "
        "round_nearest_even is_finite convert broadcast_in_dim reshape "
        "transpose slice reverse",
        1);
    add("add subtract multiply divide remainder maximum minimum power and or "
        "xor compare dot_general dot pad gather convolution",
        2);
    add("select clamp", 3);
    return m;
  }();
  auto it = arity.find(v.op->getName().getStringRef());
  unsigned results = v.op->getNumResults();
  if (it != arity.end()) {
    if (v.numOperands() != it->second.first || results != it->second.second)
      return v.fail("expects " + Twine(it->second.first) +
                    (it->second.first == 1 ? " operand" : " operands") +
                    " and one result");
    return success();
  }
  // Variadic ops still need an operand to look at and a result to define.
  StringRef name = v.op->getName().getStringRef();
  if ((name == "stablehlo.dynamic_slice" ||
       name == "stablehlo.dynamic_update_slice" ||
       name == "stablehlo.concatenate") &&
      (v.numOperands() < 2 - (name == "stablehlo.concatenate") || results != 1))
    return v.fail("expects operands and one result");
  return success();
}

} // namespace

LogicalResult Converter::convertOp(Operation *op) {
  OpView view(*this, op);
  StringRef name = op->getName().getStringRef();
  if (name.starts_with("stablehlo.")) {
    for (Type t : op->getOperandTypes())
      if (auto why = unsupportedType(t))
        return view.fail(*why);
    for (Type t : op->getResultTypes())
      if (auto why = unsupportedType(t))
        return view.fail(*why);
  } else {
    // Ops of registered dialects (mix ops from the scan raising, constants)
    // are kept with their operands translated.
    if (op->isRegistered() && !isa<func::CallOp>(op)) {
      b.clone(*op, mapping);
      return success();
    }
    return view.fail("not supported by the StableHLO importer");
  }
  auto it = handlers.find(name);
  if (it == handlers.end())
    return view.fail("not supported by the StableHLO importer");
  if (failed(checkArity(view)))
    return failure();
  return it->second(view);
}

LogicalResult Converter::convertOps(Block &block) {
  // A snapshot: clones may land in the same block. The terminator
  // (func.return, or stablehlo.return, which MLIR does not know to be one)
  // is left to the caller.
  SmallVector<Operation *> ops;
  for (Operation &op : block)
    ops.push_back(&op);
  if (!ops.empty() &&
      (isa<func::ReturnOp>(ops.back()) ||
       ops.back()->getName().getStringRef() == "stablehlo.return"))
    ops.pop_back();
  for (Operation *op : ops)
    if (failed(convertOp(op)))
      return failure();
  return success();
}

LogicalResult convertToUpstream(ModuleOp module, std::string &error) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<arith::ArithDialect, func::FuncDialect,
                   linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                   tensor::TensorDialect, mix::MixDialect>();
  for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
    if (func.isExternal())
      continue;
    for (Type t : func.getFunctionType().getInputs())
      if (auto why = unsupportedType(t)) {
        error = "function '" + func.getName().str() + "': " + *why;
        return failure();
      }
    for (Type t : func.getFunctionType().getResults())
      if (auto why = unsupportedType(t)) {
        error = "function '" + func.getName().str() + "': " + *why;
        return failure();
      }
    if (!func.getBody().hasOneBlock()) {
      error = "function '" + func.getName().str() + "' has more than one block";
      return failure();
    }
    Block &body = func.getBody().front();
    Operation *terminator = body.getTerminator();
    if (!isa<func::ReturnOp>(terminator)) {
      error = describe(terminator, "expected func.return at the end of '" +
                                       func.getName() + "'");
      return failure();
    }
    SmallVector<Operation *> old;
    for (Operation &op : body.without_terminator())
      old.push_back(&op);
    Converter c(ctx);
    c.b.setInsertionPoint(terminator);
    // Each new op goes right before the first old op, in order.
    if (!old.empty())
      c.b.setInsertionPoint(old.front());
    if (failed(c.convertOps(body))) {
      error = c.error;
      return failure();
    }
    c.b.setInsertionPoint(terminator);
    SmallVector<Value> results;
    for (Value v : terminator->getOperands())
      results.push_back(c.lookup(v));
    func::ReturnOp::create(c.b, terminator->getLoc(), results);
    terminator->erase();
    for (Operation *op : llvm::reverse(old)) {
      op->dropAllUses();
      op->erase();
    }
  }
  return success();
}

} // namespace mixir::stablehlo_import
