//===- Fold.cpp - evaluate constant StableHLO subgraphs at import ----------===//
//
// JAX builds masks and position tables at run time (iota, compare, and,
// select). Folding them into constants here lets mix-raise check a causal or
// windowed mask element by element, and spares the compiled code the work.
// Tensors above kMaxElements (and contractions above kMaxWork multiply-adds)
// stay as computations.
//
//===----------------------------------------------------------------------===//
#include "Evaluator.h"
#include "Stages.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace mixir::stablehlo_import {
namespace {

constexpr int64_t kMaxElements = int64_t(1) << 22;
constexpr int64_t kMaxWork = int64_t(1) << 26;

bool isConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && def->getName().getStringRef() == "stablehlo.constant" &&
         isa_and_nonnull<DenseElementsAttr>(def->getAttr("value"));
}

/// True when `v` is a constant or computed from constants by ops the
/// evaluator knows (looking `depth` ops up).
bool willBeConstant(Value v, int depth) {
  if (isConstant(v))
    return true;
  Operation *def = v.getDefiningOp();
  return depth > 0 && def && def->getNumRegions() == 0 &&
         Evaluator::canEvaluate(def) &&
         llvm::all_of(def->getOperands(),
                      [&](Value x) { return willBeConstant(x, depth - 1); });
}

int64_t elementCount(Type t) {
  auto shaped = dyn_cast<RankedTensorType>(t);
  return shaped && shaped.hasStaticShape() ? shaped.getNumElements() : -1;
}

/// A rough count of the scalar operations evaluating `op` takes.
int64_t work(Operation *op) {
  int64_t out = elementCount(op->getResult(0).getType());
  int64_t in = 0;
  for (Value v : op->getOperands())
    in = std::max(in, elementCount(v.getType()));
  StringRef name = op->getName().getStringRef();
  if (name == "stablehlo.dot_general") {
    // out * (contracted size) <= out * the larger operand.
    return out * std::max<int64_t>(in, 1);
  }
  return std::max(out, in);
}

} // namespace

Operation *createConstant(OpBuilder &b, Location loc, DenseElementsAttr value) {
  OperationState state(loc, "stablehlo.constant");
  state.addAttribute("value", value);
  state.addTypes(value.getType());
  return b.create(state);
}

LogicalResult foldConstantSubgraphs(ModuleOp module, std::string &error) {
  SmallVector<Operation *> ops;
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    StringRef name = op->getName().getStringRef();
    if (name.starts_with("stablehlo.") && name != "stablehlo.constant" &&
        op->getNumResults() == 1 && op->getNumRegions() == 0 &&
        Evaluator::canEvaluate(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    if (!llvm::all_of(op->getOperands(), isConstant))
      continue;
    // A broadcast of a non-splat constant that feeds computation on data
    // (a mask broadcast over batch and heads) stays a broadcast: folding it
    // would multiply the constant's size, and the converter turns broadcasts
    // into indexing maps anyway. It is folded when its users fold too
    // (iota broadcast to rows and columns, then compared).
    if (op->getName().getStringRef() == "stablehlo.broadcast_in_dim" &&
        !cast<DenseElementsAttr>(op->getOperand(0).getDefiningOp()->getAttr("value"))
             .isSplat() &&
        !llvm::all_of(op->getUsers(), [](Operation *user) {
          return Evaluator::canEvaluate(user) &&
                 llvm::all_of(user->getOperands(),
                              [](Value v) { return willBeConstant(v, 4); });
        }))
      continue;
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() > kMaxElements ||
        work(op) > kMaxWork)
      continue;
    Evaluator ev;
    std::string why;
    if (failed(ev.evaluate(op, why)))
      continue; // Left for the converter, which reports what it cannot do.
    OpBuilder b(op);
    Operation *cst =
        createConstant(b, op->getLoc(), toAttr(type, *ev.get(op->getResult(0))));
    op->getResult(0).replaceAllUsesWith(cst->getResult(0));
    op->erase();
  }
  // Constants whose users were all folded.
  SmallVector<Operation *> dead;
  module.walk([&](Operation *op) {
    if (op->getName().getStringRef() == "stablehlo.constant" && op->use_empty())
      dead.push_back(op);
  });
  for (Operation *op : dead)
    op->erase();
  (void)error;
  return success();
}

} // namespace mixir::stablehlo_import
