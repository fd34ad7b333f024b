//===- DeriveBackward.cpp - the backward function of a one-mixer function -===//
//
// For a function `@f` marked `mix.derive_backward` (or every function made
// of one mix op, with `all`), whose body is one mix op whose results it
// returns, adds
//
//   func.func @f_backward(<f's arguments>, <a cotangent per result of f>)
//       -> (<a gradient per argument of f>)
//
// computed by mix ops in reverse time (Grads.h). Arguments used twice get the
// sum of their gradients; arguments the op does not read get zeros. The
// backward is ordinary mix-level IR: the rest of the pipeline chunks and
// lowers it as it does the forward.
//
//===----------------------------------------------------------------------===//
#include "Grads.h"

#include "GradBuilders.h"

#include "mixir/Builders/TensorBuilders.h"
#include "mixir/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mixir {
#define GEN_PASS_DEF_DERIVEBACKWARD
#include "mixir/Transforms/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace mixir {
namespace {

constexpr llvm::StringLiteral kMarker = "mix.derive_backward";

/// The one mix op of `f` when its body is that op and a return of some of
/// its results (each at most once); null otherwise.
Operation *soleMixOp(func::FuncOp f) {
  if (f.isExternal() || !llvm::hasSingleElement(f.getBody()))
    return nullptr;
  Block &body = f.getBody().front();
  if (body.getOperations().size() != 2)
    return nullptr;
  Operation *op = &body.front();
  if (!isa<mix::MixDialect>(op->getDialect()))
    return nullptr;
  llvm::SmallPtrSet<Value, 4> seen;
  for (Value r : body.getTerminator()->getOperands())
    if (r.getDefiningOp() != op || !seen.insert(r).second)
      return nullptr;
  return op;
}

FailureOr<SmallVector<Value>> gradsOf(OpBuilder &b, Operation *op, Value dO,
                                      Value dS, std::string &why) {
  if (mix::getStateIndices(op)) {
    why = "the backward of a state pool ('indices', state_indices) is not "
          "derived (the pool is read and written in place); pass each "
          "sequence's state as a dense initial state, [N, Hv, K, V] with "
          "'varlen' (packed sequences have a derived backward)";
    return failure();
  }
  if (mix::returnsAllStates(op)) {
    why = "the backward of 'all_states' (the state after every token, for "
          "speculative verification) is not derived";
    return failure();
  }
  if (auto la = dyn_cast<mix::LinearAttentionOp>(op)) {
    if (!la.isPlainCausal()) {
      why = "the backward of mix.linear_attention with 'causal = false' or "
            "'normalize' is not derived yet";
      return failure();
    }
    return grad::linearAttentionGrad(b, la, dO, dS, why);
  }
  if (auto scan = dyn_cast<mix::ScanOp>(op))
    return grad::scanGrad(b, scan, dO, dS, why);
  if (auto rec = dyn_cast<mix::RecurrenceOp>(op))
    return grad::recurrenceGrad(b, rec, dO, dS, why);
  if (auto dr = dyn_cast<mix::DeltaRuleOp>(op))
    return grad::deltaRuleGrad(b, dr, dO, dS, why);
  if (auto at = dyn_cast<mix::AttentionOp>(op)) {
    if (at.getKvLens()) {
      why = "the backward of attention over a KV cache ('kv_lens', for "
            "decoding) is not derived";
      return failure();
    }
    return grad::attentionGrad(b, at, dO, dS, why);
  }
  why = "the backward of '" + op->getName().getStringRef().str() +
        "' is not derived yet (derived: mix.linear_attention, mix.scan, "
        "mix.recurrence, mix.delta_rule, mix.attention)";
  return failure();
}

LogicalResult derive(func::FuncOp f) {
  Operation *op = soleMixOp(f);
  if (!op)
    return f.emitError("mix.derive_backward: @")
           << f.getName()
           << " must hold exactly one mix op and return some of its results";
  for (Value operand : op->getOperands())
    if (!isa<BlockArgument>(operand))
      return op->emitError("mix.derive_backward: every operand must be an "
                           "argument of @")
             << f.getName();
  std::string name = (f.getName() + "_backward").str();
  auto module = f->getParentOfType<ModuleOp>();
  if (module.lookupSymbol(name))
    return f.emitError("mix.derive_backward: @") << name << " already exists";

  Operation *ret = f.getBody().front().getTerminator();
  SmallVector<Type> inputs(f.getArgumentTypes());
  for (Value r : ret->getOperands())
    inputs.push_back(r.getType());
  OpBuilder b(f);
  b.setInsertionPointAfter(f);
  auto bwd = func::FuncOp::create(
      b, f.getLoc(), name, b.getFunctionType(inputs, f.getArgumentTypes()));
  Block *entry = bwd.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  for (auto [from, to] : llvm::zip(f.getArguments(), entry->getArguments()))
    map.map(from, to);
  Operation *fwd = b.clone(*op, map);

  // Cotangents by result number (o is result 0, the final state result 1).
  SmallVector<Value> cot(op->getNumResults());
  for (auto [i, r] : llvm::enumerate(ret->getOperands()))
    cot[cast<OpResult>(r).getResultNumber()] =
        entry->getArgument(f.getNumArguments() + i);
  std::string why;
  FailureOr<SmallVector<Value>> grads =
      gradsOf(b, fwd, cot[0], cot.size() > 1 ? cot[1] : Value(), why);
  if (failed(grads)) {
    bwd.erase();
    return op->emitError("mix.derive_backward: ") << why;
  }
  SmallVector<Value> perArg(f.getNumArguments());
  for (auto [operand, g] : llvm::zip(op->getOperands(), *grads)) {
    Value &slot = perArg[cast<BlockArgument>(operand).getArgNumber()];
    slot = slot ? grad::add(b, f.getLoc(), slot, g) : g;
  }
  for (auto [i, slot] : llvm::enumerate(perArg))
    if (!slot)
      slot = grad::zerosLike(b, f.getLoc(), entry->getArgument(i));
  func::ReturnOp::create(b, f.getLoc(), perArg);
  if (fwd->use_empty())
    fwd->erase();
  f->removeAttr(kMarker);
  return success();
}

struct DeriveBackward : impl::DeriveBackwardBase<DeriveBackward> {
  using DeriveBackwardBase::DeriveBackwardBase;
  void runOnOperation() override {
    SmallVector<func::FuncOp> todo;
    for (auto f : getOperation().getOps<func::FuncOp>())
      if (f->hasAttr(kMarker) || (all && soleMixOp(f)))
        todo.push_back(f);
    for (func::FuncOp f : todo)
      if (failed(derive(f)))
        return signalPassFailure();
  }
};

} // namespace
} // namespace mixir
