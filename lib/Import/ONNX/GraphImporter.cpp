//===- GraphImporter.cpp - one ONNX graph to one func.func ----------------===//
#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <set>

namespace mixir::onnx_import {

//===----------------------------------------------------------------------===//
// Node
//===----------------------------------------------------------------------===//

static std::string domainName(const std::string &d) {
  return d.empty() ? "ai.onnx" : d;
}

Node::Node(GraphImporter &graph, const onnx::NodeProto &proto, int64_t opset)
    : proto(proto), graph(graph), opset(opset), b(graph.b),
      loc(NameLoc::get(StringAttr::get(graph.b.getContext(),
                                       proto.name().empty() ? proto.op_type()
                                                            : proto.name()))) {}

bool Node::hasInput(int i) const {
  return i < proto.input_size() && !proto.input(i).empty();
}

Value Node::input(int i) { return graph.lookup(proto.input(i), loc); }

SmallVector<Value> Node::presentInputs() {
  SmallVector<Value> in;
  for (int i = 0, e = numInputs(); i < e; ++i)
    if (hasInput(i))
      in.push_back(input(i));
  return in;
}

RankedTensorType Node::inputType(int i) {
  return cast<RankedTensorType>(input(i).getType());
}

DenseElementsAttr Node::constantInput(int i) {
  if (!hasInput(i))
    return {};
  return graph.constants.lookup(proto.input(i));
}

std::optional<SmallVector<int64_t>> Node::intsInput(int i) {
  DenseElementsAttr c = constantInput(i);
  if (!c || !isa<IntegerType>(c.getElementType()))
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &v : c.getValues<APInt>())
    out.push_back(v.getBitWidth() == 1 ? (int64_t)v.getZExtValue()
                                       : v.getSExtValue());
  return out;
}

std::optional<double> Node::scalarInput(int i) {
  DenseElementsAttr c = constantInput(i);
  if (!c || c.getNumElements() != 1)
    return std::nullopt;
  if (isa<FloatType>(c.getElementType()))
    return (*c.getValues<APFloat>().begin()).convertToDouble();
  return (double)(*c.getValues<APInt>().begin()).getSExtValue();
}

const onnx::AttributeProto *Node::attr(llvm::StringRef name) const {
  for (const auto &a : proto.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

bool Node::hasAttr(llvm::StringRef name) const { return attr(name) != nullptr; }

int64_t Node::intAttr(llvm::StringRef name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}

float Node::floatAttr(llvm::StringRef name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string Node::stringAttr(llvm::StringRef name, llvm::StringRef dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>> Node::intsAttr(llvm::StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

bool Node::hasOutput(int i) const {
  return i < proto.output_size() && !proto.output(i).empty();
}

void Node::setOutput(int i, Value v) {
  if (hasOutput(i))
    graph.values[proto.output(i)] = v;
}

void Node::setConstantOutput(int i, DenseElementsAttr value) {
  if (hasOutput(i))
    graph.constants[proto.output(i)] = value;
}

LogicalResult Node::fail(const llvm::Twine &message) {
  return graph.fail("node '" + proto.name() + "' (" + proto.op_type() +
                    ", domain '" + domainName(proto.domain()) +
                    "'): " + message);
}

FailureOr<int64_t> Node::axis(int64_t a, int64_t rank) {
  // A scalar has no axis (the translators index its missing dimension).
  if (a < -rank || a >= rank)
    return fail("axis " + llvm::Twine(a) + " is out of range for rank " +
                llvm::Twine(rank));
  return a < 0 ? a + rank : a;
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::fail(const llvm::Twine &message) {
  if (error.empty())
    error = message.str();
  return failure();
}

Value GraphImporter::lookup(llvm::StringRef name, Location loc) {
  if (Value v = values.lookup(name))
    return v;
  DenseElementsAttr c = constants.lookup(name);
  if (!c)
    return Value();
  Value v = arith::ConstantOp::create(b, loc, c);
  values[name] = v;
  return v;
}

static const HandlerMap &handlers() {
  static HandlerMap map = [] {
    HandlerMap m;
    registerElementwiseOps(m);
    registerShapeOps(m);
    registerNNOps(m);
    registerScatterOps(m);
    registerIndexingOps(m);
    registerMixerOps(m);
    registerRNNOps(m);
    registerControlOps(m);
    return m;
  }();
  return map;
}

static FailureOr<RankedTensorType> typeFromProto(MLIRContext *ctx,
                                                 const onnx::TypeProto &type) {
  if (!type.has_tensor_type())
    return failure();
  const auto &tt = type.tensor_type();
  Type elem = elementTypeFor(ctx, tt.elem_type());
  if (!elem || !tt.has_shape())
    return failure();
  SmallVector<int64_t> shape;
  for (const auto &d : tt.shape().dim())
    shape.push_back(d.has_dim_value() && d.dim_value() >= 0
                        ? d.dim_value()
                        : ShapedType::kDynamic);
  return RankedTensorType::get(shape, elem);
}

static std::string functionName(const std::string &graphName) {
  std::string name;
  for (char c : graphName)
    name += (isalnum((unsigned char)c) || c == '_') ? c : '_';
  if (name.empty() || isdigit((unsigned char)name[0]))
    name = "main" + (name.empty() ? "" : "_" + name);
  return name;
}

/// What to do instead, for unsupported ops that have a supported
/// alternative ("" when none is known).
static std::string unsupportedHint(const std::string &domain,
                                   const std::string &op) {
  if (domain == "com.microsoft" &&
      (op == "GroupQueryAttention" || op == "MultiHeadAttention" ||
       op == "Attention" || op == "PackedAttention" || op == "SparseAttention"))
    return "; export with opset >= 23 (torch.onnx.export(..., "
           "opset_version=23)) to "
           "get the standard Attention op, or without onnxruntime's fusions";
  if (domain.empty() && op == "If")
    return "; control flow is not supported: export with static shapes so that "
           "the exporter unrolls or folds it";
  return "";
}

/// How many leading inputs op `op` of the default domain cannot do without
/// (ONNX's schemas, in the oldest opset the importer reads; the translators
/// read them unchecked). Other domains' translators check their inputs.
static int requiredInputs(const std::string &domain, const std::string &op) {
  static const char *const kByCount[] = {
      // one
      "Exp Log Sqrt Tanh Erf Sin Cos Floor Ceil Neg Abs Reciprocal Sigmoid "
      "Softplus Relu LeakyRelu Gelu Clip Identity Dropout Cast Not Softmax "
      "LogSoftmax ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd Flatten "
      "Squeeze Unsqueeze Transpose Split Slice Reshape Shape Size "
      "ConstantOfShape Trilu Max Min Sum Concat",
      // two
      "Add Sub Mul Div Pow Equal Less LessOrEqual Greater GreaterOrEqual And "
      "Or Xor CastLike MatMul Gemm LayerNormalization RMSNormalization Conv "
      "Gather Expand CumSum",
      // three
      "Where Attention LinearAttention Range LSTM GRU RNN"};
  static const llvm::StringMap<int> counts = [] {
    llvm::StringMap<int> m;
    for (int n = 0; n < 3; ++n) {
      SmallVector<StringRef> names;
      StringRef(kByCount[n]).split(names, ' ');
      for (StringRef name : names)
        m[name] = n + 1;
    }
    return m;
  }();
  return domain.empty() ? counts.lookup(op) : 0;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node) {
  if (node.op_type().empty())
    return fail("node '" + node.name() + "' has no op type (malformed model?)");
  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  auto opset = opsets.find(domain);
  if (opset == opsets.end())
    return fail("node '" + node.name() + "' (" + node.op_type() + ", domain '" +
                domainName(domain) +
                "'): the model imports no opset for its domain");
  Node n(*this, node, opset->second);
  for (int i = 0; i < node.input_size(); ++i)
    if (n.hasInput(i) && !values.count(node.input(i)) &&
        !constants.count(node.input(i)))
      return n.fail(
          "input '" + node.input(i) +
          "' is not produced by any earlier node, input or initializer");
  for (int i = 0, e = requiredInputs(domain, node.op_type()); i < e; ++i)
    if (!n.hasInput(i))
      return n.fail("input " + llvm::Twine(i) + " is missing (the op needs " +
                    llvm::Twine(e) + ")");
  if (foldIntegerNode(n))
    return success();
  if (!error.empty())
    return failure();
  auto it = handlers().find(domain + "::" + node.op_type());
  if (it == handlers().end())
    return n.fail("unsupported op (opset " + llvm::Twine(opset->second) + ")" +
                  unsupportedHint(domain, node.op_type()));
  return it->second(n);
}

FailureOr<SmallVector<Value>>
GraphImporter::importSubgraph(const onnx::GraphProto &graph, ValueRange inputs,
                              std::string &bodyError) {
  GraphImporter body(b, modelDir, opsets);
  body.values = values;
  body.constants = constants;
  body.declared = declared;
  auto done = [&]() -> FailureOr<SmallVector<Value>> {
    bodyError = body.error;
    return failure();
  };
  for (const auto &init : graph.initializer()) {
    DenseElementsAttr value =
        decodeTensor(b.getContext(), init, modelDir, body.error);
    if (!value)
      return done();
    body.constants[init.name()] = value;
    body.values.erase(init.name());
  }
  for (auto [in, v] : llvm::zip(graph.input(), inputs)) {
    body.values[in.name()] = v;
    body.constants.erase(in.name());
  }
  for (const auto &node : graph.node())
    if (failed(body.importNode(node)))
      return done();
  SmallVector<Value> outs;
  Location loc = b.getUnknownLoc();
  for (const auto &out : graph.output()) {
    Value v = body.lookup(out.name(), loc);
    if (!v) {
      (void)body.fail("output '" + out.name() +
                      "' is not produced by any node");
      return done();
    }
    outs.push_back(v);
  }
  return outs;
}

LogicalResult GraphImporter::importGraph(const onnx::GraphProto &graph,
                                         ModuleOp module) {
  MLIRContext *ctx = b.getContext();
  std::set<std::string> initializerNames;
  for (const auto &init : graph.initializer()) {
    DenseElementsAttr value = decodeTensor(ctx, init, modelDir, error);
    if (!value)
      return failure();
    constants[init.name()] = value;
    initializerNames.insert(init.name());
  }
  if (graph.sparse_initializer_size())
    return fail("sparse initializers are not supported");

  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &in : graph.input()) {
    if (initializerNames.count(in.name()))
      continue; // an initializer listed as input (IR < 4): a constant
    auto type = typeFromProto(ctx, in.type());
    if (failed(type))
      return fail("graph input '" + in.name() +
                  "' is not a tensor with a known element type and rank");
    argTypes.push_back(*type);
    argNames.push_back(in.name());
  }
  for (const auto &out : graph.output())
    declared[out.name()] = &out.type();

  Location loc = NameLoc::get(StringAttr::get(ctx, graph.name()));
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc, functionName(graph.name()),
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [name, arg] : llvm::zip(argNames, entry->getArguments())) {
    values[name] = arg;
    constants.erase(name);
  }

  for (const auto &node : graph.node())
    if (failed(importNode(node))) {
      func.erase();
      return failure();
    }

  SmallVector<Value> results;
  for (const auto &out : graph.output()) {
    Value v = lookup(out.name(), loc);
    if (!v) {
      func.erase();
      return fail("graph output '" + out.name() +
                  "' is not produced by any node");
    }
    // Refine to the declared shape when it is more static and compatible.
    auto declaredType = typeFromProto(ctx, out.type());
    auto actual = cast<RankedTensorType>(v.getType());
    if (succeeded(declaredType) && *declaredType != actual &&
        declaredType->getElementType() == actual.getElementType() &&
        declaredType->getRank() == actual.getRank()) {
      bool compatible = true, refines = false;
      for (int64_t d = 0; d < actual.getRank(); ++d) {
        int64_t a = actual.getDimSize(d), e = declaredType->getDimSize(d);
        if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(e) && a != e)
          compatible = false;
        if (ShapedType::isDynamic(a) && !ShapedType::isDynamic(e))
          refines = true;
      }
      if (!compatible) {
        func.erase();
        return fail(
            "graph output '" + out.name() +
            "' has a declared shape that disagrees with the computed one");
      }
      if (refines)
        v = tensor::CastOp::create(b, loc, *declaredType, v);
    }
    results.push_back(v);
  }
  func::ReturnOp::create(b, loc, results);
  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  return success();
}

} // namespace mixir::onnx_import
