//===- Importer.h - state shared by the ONNX node translators ---*- C++ -*-===//
//
// Internal to lib/Import/ONNX. One GraphImporter translates one GraphProto;
// each node is seen through a Node, which gives its inputs as MLIR values (or
// as constants when they are known at import time), its attributes with
// defaults, and a one-line failure naming the node.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_IMPORT_ONNX_IMPORTER_H
#define MIXIR_LIB_IMPORT_ONNX_IMPORTER_H

#include "onnx.pb.h"

#include "mixir/Import/Handlers.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <string>

namespace mixir::onnx_import {

using namespace mlir;

/// The MLIR element type of an ONNX TensorProto.DataType, or null.
Type elementTypeFor(MLIRContext *ctx, int32_t dataType);
/// Decodes an initializer or Constant value (raw, typed or external data).
/// `modelDir` resolves external data files. Sets `error` on failure.
DenseElementsAttr decodeTensor(MLIRContext *ctx, const onnx::TensorProto &t,
                               llvm::StringRef modelDir, std::string &error);

class GraphImporter;

class Node {
public:
  Node(GraphImporter &graph, const onnx::NodeProto &proto, int64_t opset);

  const onnx::NodeProto &proto;
  GraphImporter &graph;
  /// The opset version of the node's domain.
  int64_t opset;
  OpBuilder &b;
  Location loc;

  size_t numInputs() const { return proto.input_size(); }
  bool hasInput(int i) const;
  /// The value of input `i` (materialising a constant when needed).
  Value input(int i);
  /// The values of the inputs that are present (variadic ops: Sum, Max,
  /// Concat, ...).
  SmallVector<Value> presentInputs();
  RankedTensorType inputType(int i);
  /// Input `i` when its value is known at import time.
  DenseElementsAttr constantInput(int i);
  /// A constant integer input as int64 values.
  std::optional<SmallVector<int64_t>> intsInput(int i);
  /// A constant scalar (one-element) input as a double.
  std::optional<double> scalarInput(int i);

  bool hasAttr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t dflt) const;
  float floatAttr(llvm::StringRef name, float dflt) const;
  std::string stringAttr(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<SmallVector<int64_t>> intsAttr(llvm::StringRef name) const;
  const onnx::AttributeProto *attr(llvm::StringRef name) const;

  size_t numOutputs() const { return proto.output_size(); }
  bool hasOutput(int i) const;
  void setOutput(int i, Value v);
  void setConstantOutput(int i, DenseElementsAttr value);

  /// Records "node 'NAME' (OP, domain 'D'): MESSAGE" and returns failure.
  LogicalResult fail(const llvm::Twine &message);
  /// Normalises a possibly negative axis for `rank`, or fails.
  FailureOr<int64_t> axis(int64_t a, int64_t rank);
};

/// Keyed by "DOMAIN::OpType" with the default domain spelled "".
using HandlerMap = import::HandlerMap<Node>;

void registerElementwiseOps(HandlerMap &map);
void registerShapeOps(HandlerMap &map);
void registerNNOps(HandlerMap &map);
void registerScatterOps(HandlerMap &map);
void registerIndexingOps(HandlerMap &map);
void registerMixerOps(HandlerMap &map);
void registerRNNOps(HandlerMap &map);
void registerControlOps(HandlerMap &map);

class GraphImporter {
public:
  GraphImporter(OpBuilder &b, std::string modelDir,
                std::map<std::string, int64_t> opsets)
      : b(b), modelDir(std::move(modelDir)), opsets(std::move(opsets)) {}

  /// Translates `graph` into a new func.func in `module`.
  LogicalResult importGraph(const onnx::GraphProto &graph, ModuleOp module);

  OpBuilder &b;
  std::string modelDir;
  std::map<std::string, int64_t> opsets;
  std::string error;
  llvm::StringMap<Value> values;
  llvm::StringMap<DenseElementsAttr> constants;
  /// Declared types of values (graph inputs/outputs and value_info).
  llvm::StringMap<const onnx::TypeProto *> declared;

  Value lookup(llvm::StringRef name, Location loc);
  /// Translates the nodes of `graph` (a Scan or Loop body) at the builder's
  /// insertion point with its inputs bound to `inputs`; the enclosing graph's
  /// values stay visible. Returns the values of its outputs, or failure with
  /// `bodyError` set.
  FailureOr<SmallVector<Value>> importSubgraph(const onnx::GraphProto &graph,
                                               ValueRange inputs,
                                               std::string &bodyError);
  LogicalResult fail(const llvm::Twine &message);

private:
  LogicalResult importNode(const onnx::NodeProto &node);
};

/// Folds small integer computations on shapes (Shape, Gather, Concat, ...)
/// when every input is a constant; returns true when it did.
bool foldIntegerNode(Node &node);

} // namespace mixir::onnx_import

#endif
