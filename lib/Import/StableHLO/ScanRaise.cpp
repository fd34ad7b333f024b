//===- ScanRaise.cpp - lax.scan state updates to mix ops ------------------===//
//
// `jax.lax.scan` lowers to a `stablehlo.while` whose carried values are a
// counter i (0, 1, ..., T-1), the stacked inputs (passed through unchanged
// and read with dynamic_slice at i), the state, and the stacked outputs
// (written with dynamic_update_slice at i). When the body maps
// (S, x_1[i], ..., x_m[i]) to (S', y[i]) by one of the mix recurrences, the
// loop is one mix op.
//
// The body is recognised by what it computes, not by its expression tree:
// it is evaluated in float64 on random inputs and compared with each
// candidate mix op (mixir/Transforms/Recurrences.h, shared with mix-raise's
// loop raising).
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "Evaluator.h"
#include "ScanLoop.h"
#include "Stages.h"

#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mixir/Transforms/Recurrences.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <numeric>

using namespace mlir;

namespace mixir::stablehlo_import {
namespace {
using namespace scan;

using raise::RecurrenceCandidate;
using raise::RecurrenceProbe;
using Role = raise::RecurrenceRole;

/// Evaluates the loop body on random inputs.
std::optional<RecurrenceProbe> probe(const ScanLoop &scan, uint64_t seed) {
  BodyInputs in = randomInputs(scan, seed);
  auto ev = evaluateBody(scan, in);
  if (!ev)
    return std::nullopt;
  Operation *ret = &scan.loop->getRegion(1).front().back();
  const HostTensor *ns = ev->get(ret->getOperand(scan.state));
  const HostTensor *y = ev->get(scan.write->update);
  if (!ns || !y)
    return std::nullopt;
  RecurrenceProbe p;
  for (const HostTensor &x : in.reads)
    p.inputs.push_back(x.data);
  p.state = in.state.data;
  p.newState = ns->data;
  p.out = y->data;
  return p;
}

//===----------------------------------------------------------------------===//
// Rewrite
//===----------------------------------------------------------------------===//

Shape splitShape(int64_t outer, int64_t T, int64_t inner,
                 std::optional<int64_t> last) {
  Shape s = {outer, T, inner};
  if (last)
    s.push_back(*last);
  return s;
}

void rewrite(const ScanLoop &scan, const RecurrenceCandidate &c) {
  Operation *loop = scan.loop;
  OpBuilder b(loop);
  Location loc = loop->getLoc();
  int64_t H = c.heads, K = c.keyDim, V = c.valueDim, T = scan.length;
  Value stateInit = loop->getOperand(scan.state);
  Shape stateShape = shapeOf(stateInit);
  Shape prefix(stateShape.begin(), stateShape.end() - 2);
  int64_t numPrefix = prefix.size();

  // One split for every operand: the one their sources share, else 0 (time
  // first, transposing where needed).
  SmallVector<Source> sources;
  for (const Read &r : scan.reads)
    sources.push_back(sourceOf(loop->getOperand(r.carried), r.dim));
  int64_t split = sources.front().split;
  if (!llvm::all_of(sources,
                    [&](const Source &s) { return s.split == split; }) ||
      split > numPrefix)
    split = 0;
  int64_t outer = 1;
  for (int64_t i = 0; i < split; ++i)
    outer *= prefix[i];
  int64_t inner = H / outer;

  Value operands[5];
  for (auto [i, role] : llvm::enumerate(c.roles)) {
    const Read &r = scan.reads[i];
    bool hasLast = role == Role::q || role == Role::k || role == Role::v ||
                   (role == Role::g && c.gate == mix::GateKind::vector);
    std::optional<int64_t> last;
    if (hasLast)
      last = r.step.back();
    Value array =
        sources[i].split == split
            ? sources[i].array
            : moveDim(b, loc, loop->getOperand(r.carried), r.dim, split);
    operands[int(role)] =
        reshape(b, loc, array, splitShape(outer, T, inner, last));
  }
  Value q = operands[int(Role::q)], k = operands[int(Role::k)],
        v = operands[int(Role::v)];
  Type elem = elementOf(q);
  Type f32 = b.getF32Type();
  k = convert(b, loc, k, elem);
  v = convert(b, loc, v, elem);
  auto scalarOperand = [&](Value x) {
    if (!x)
      return x;
    Type t = elementOf(x);
    return t == elem || t == f32 ? x : convert(b, loc, x, f32);
  };
  Value beta = scalarOperand(operands[int(Role::beta)]);
  Value g = scalarOperand(operands[int(Role::g)]);

  // The state: [P..., K, V] (or [P..., V, K]) <-> [outer, inner, K, V] f32.
  Value mixInit =
      mixInitialState(b, loc, stateInit, c.stateVK, outer, inner, K, V);

  operands[int(Role::k)] = k;
  operands[int(Role::v)] = v;
  operands[int(Role::beta)] = beta;
  operands[int(Role::g)] = g;
  auto [o, finalState] =
      raise::createRecurrenceOp(b, loc, c, operands, mixInit, outer, T, inner);

  // Results back in the loop's layouts.
  SmallVector<Value> results = passThroughResults(b, loc, scan);
  {
    Shape s = prefix;
    s.append({K, V});
    Value fs = reshape(b, loc, finalState, s);
    results[scan.state] =
        convert(b, loc, c.stateVK ? swapLastDims(b, loc, fs) : fs,
                elementOf(stateInit));
  }
  const Write &w = *scan.write;
  Value acc = loop->getResult(w.carried);
  Type accElem = elementOf(acc);
  // [P[:split]..., T, P[split:]..., V], the output with the split layout.
  Shape splitLayout(prefix.begin(), prefix.begin() + split);
  splitLayout.push_back(T);
  splitLayout.append(prefix.begin() + split, prefix.end());
  splitLayout.push_back(V);
  Value y = reshape(b, loc, o, splitLayout);
  // A user transposing the stacked output back to the split layout reads
  // the mix op's output directly.
  for (Operation *user : llvm::make_early_inc_range(acc.getUsers())) {
    if (!isOp(user, "stablehlo.transpose") ||
        sourceOf(user->getResult(0), split).array != acc)
      continue;
    Source back = sourceOf(user->getResult(0), split);
    if (back.split != w.dim || shapeOf(user->getResult(0)) != splitLayout)
      continue;
    user->getResult(0).replaceAllUsesWith(convert(b, loc, y, accElem));
    user->erase();
  }
  results[w.carried] =
      convert(b, loc, moveDim(b, loc, y, split, w.dim), accElem);
  replaceLoop(loop, results);
}

} // namespace

LogicalResult raiseScanLoops(ModuleOp module, std::string &error) {
  (void)error;
  SmallVector<Operation *> loops;
  module.walk([&](Operation *op) {
    if (isOp(op, "stablehlo.while"))
      loops.push_back(op);
  });
  bool raised = false;
  for (Operation *loop : loops) {
    auto scan = analyse(loop);
    if (!scan || !scan->write)
      continue;
    if (shapeOf(loop->getOperand(scan->state)).size() < 2) {
      raised |= raiseToScan(*scan);
      continue;
    }
    Shape stateShape = shapeOf(loop->getOperand(scan->state));
    auto first = probe(*scan, 0x5eed1), second = probe(*scan, 0x5eed2);
    if (!first || !second)
      continue;
    SmallVector<Shape> steps;
    SmallVector<Type> types;
    for (const Read &r : scan->reads) {
      steps.push_back(r.step);
      types.push_back(elementOf(r.slice->getResult(0)));
    }
    auto c = raise::findRecurrence(steps, types, scan->write->step, stateShape,
                                   *first, *second);
    if (c)
      rewrite(*scan, *c);
    // Not one of the specialised ops: the general DPLR form, or a diagonal
    // recurrence over the whole state.
    raised |= c || raiseToRecurrence(*scan) || raiseToScan(*scan);
  }
  // The transposes that fed the loops are usually dead now. Unregistered ops
  // are not erased by canonicalisation, so drop unused pure ops here.
  while (raised) {
    SmallVector<Operation *> dead;
    module.walk([&](Operation *op) {
      if (op->use_empty() && op->getNumResults() > 0 &&
          op->getNumRegions() == 0 && Evaluator::canEvaluate(op))
        dead.push_back(op);
    });
    for (Operation *op : dead)
      op->erase();
    raised = !dead.empty();
  }
  return success();
}

} // namespace mixir::stablehlo_import