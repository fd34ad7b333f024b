//===- Fold.cpp - evaluate constant StableHLO subgraphs at import ---------===//
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
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace mixir::stablehlo_import {
namespace {

constexpr int64_t kMaxElements = int64_t(1) << 24;
constexpr int64_t kMaxWork = int64_t(1) << 26;

bool isConstant(Value v) {
  Operation *def = v.getDefiningOp();
  return def && def->getName().getStringRef() == "stablehlo.constant" &&
         isa_and_nonnull<DenseElementsAttr>(def->getAttr("value"));
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
  (void)error;
  // The ops to evaluate, in program order: pure ops the evaluator knows,
  // within the size limits, whose operands are constants or results of ops
  // already chosen.
  llvm::SetVector<Operation *> chosen;
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    StringRef name = op->getName().getStringRef();
    if (!name.starts_with("stablehlo.") || name == "stablehlo.constant" ||
        op->getNumResults() != 1 || op->getNumRegions() != 0 ||
        !Evaluator::canEvaluate(op))
      return;
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.hasStaticShape() ||
        type.getNumElements() > kMaxElements || work(op) > kMaxWork)
      return;
    if (llvm::all_of(op->getOperands(), [&](Value v) {
          return isConstant(v) || chosen.contains(v.getDefiningOp());
        }))
      chosen.insert(op);
  });
  if (chosen.empty())
    return success();

  // Evaluate them with one evaluator, so that intermediate values (the
  // broadcast iotas of a T x T mask) never become attributes. An op whose
  // evaluation fails drops out with everything computed from it.
  Evaluator ev;
  llvm::DenseSet<Operation *> failedOps;
  for (Operation *op : chosen) {
    std::string why;
    if (llvm::any_of(
            op->getOperands(),
            [&](Value v) { return failedOps.contains(v.getDefiningOp()); }) ||
        failed(ev.evaluate(op, why)))
      failedOps.insert(op); // left for the converter, which reports problems
  }

  // Constants for the values used outside the subgraph. A broadcast of a
  // non-splat value stays a broadcast of the (smaller) constant: the
  // converter turns broadcasts into indexing maps, and a mask broadcast over
  // batch and heads would otherwise be materialised in full.
  auto inSubgraph = [&](Operation *op) {
    return chosen.contains(op) && !failedOps.contains(op);
  };
  auto isSplat = [](const HostTensor &t) {
    return llvm::all_of(t.data, [&](double x) { return x == t.data.front(); });
  };
  for (Operation *op : chosen) {
    if (!inSubgraph(op))
      continue;
    Value result = op->getResult(0);
    if (llvm::all_of(result.getUsers(), inSubgraph))
      continue;
    const HostTensor &value = *ev.get(result);
    OpBuilder b(op);
    auto type = cast<RankedTensorType>(result.getType());
    if (op->getName().getStringRef() == "stablehlo.broadcast_in_dim" &&
        !isSplat(value)) {
      Value input = op->getOperand(0);
      if (Operation *def = input.getDefiningOp(); def && inSubgraph(def)) {
        auto inType = cast<RankedTensorType>(input.getType());
        Operation *cst =
            createConstant(b, op->getLoc(), toAttr(inType, *ev.get(input)));
        // A copy of the broadcast, reading the constant, for the outside users.
        Operation *copy = b.clone(*op);
        copy->setOperand(0, cst->getResult(0));
        result.replaceUsesWithIf(copy->getResult(0), [&](OpOperand &use) {
          return !inSubgraph(use.getOwner());
        });
      }
      continue;
    }
    Operation *cst = createConstant(b, op->getLoc(), toAttr(type, value));
    result.replaceUsesWithIf(cst->getResult(0), [&](OpOperand &use) {
      return !inSubgraph(use.getOwner());
    });
  }
  // The evaluated ops are dead now; so are constants only they read.
  for (Operation *op : llvm::reverse(chosen))
    if (inSubgraph(op) && op->use_empty())
      op->erase();
  SmallVector<Operation *> dead;
  module.walk([&](Operation *op) {
    if (op->getName().getStringRef() == "stablehlo.constant" && op->use_empty())
      dead.push_back(op);
  });
  for (Operation *op : dead)
    op->erase();
  return success();
}

} // namespace mixir::stablehlo_import
