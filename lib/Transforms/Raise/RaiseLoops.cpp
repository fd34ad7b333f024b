//===- RaiseLoops.cpp - scan loops whose step is a mix recurrence ---------===//
//
// The loop part of mix-raise. A step loop (StepLoop.h) whose body maps
// (S, x_1[i], ..., x_m[i]) to (S', y[i]) by linear attention or the delta
// rule (any gate kind, the state as [K, V] or [V, K]) is replaced by the mix
// op: the body is evaluated in float64 on two sets of random inputs and
// compared with each candidate (mixir/Transforms/Recurrences.h). Loops that
// compute anything else (a non-linear state update, a position-dependent
// body, several states) stay as they are.
//
//===----------------------------------------------------------------------===//
#include "RaiseLoops.h"
#include "StepLoop.h"
#include "TensorUtils.h"

#include "mixir/Transforms/Recurrences.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

#include <random>

using namespace mlir;

namespace mixir::raise {
namespace {

using Role = RecurrenceRole;

std::optional<RecurrenceProbe> probe(const StepLoop &s, uint64_t seed) {
  StepInputs in = randomInputs(s, seed);
  auto ev = evaluateStep(s, in);
  if (!ev)
    return std::nullopt;
  const HostTensor *next = ev->get(s.next());
  const HostTensor *out = ev->get(s.write->update);
  if (!next || !out)
    return std::nullopt;
  RecurrenceProbe p;
  for (HostTensor &x : in.reads)
    p.inputs.push_back(std::move(x.data));
  p.state = std::move(in.state.data);
  p.newState = next->data;
  p.out = out->data;
  return p;
}

/// Where the time dim sits among the per-step dims of an array the loop
/// reads. Users transpose [B, T, H, D] inputs to [T, B, H, D] for a scan
/// over dim 0; reading the array before that transpose lets the mix op take
/// it as it is, as [B, T, H, D] with B and H the products of the dims
/// before and after T.
struct Source {
  Value array;   // the array the mix operand is reshaped from
  int64_t split; // number of per-step dims before the time dim in `array`
};

Source sourceOf(Value stacked, int64_t dim) {
  if (auto tr = stacked.getDefiningOp<linalg::TransposeOp>()) {
    // stacked dim i is dim perm[i] of the input; the other dims must keep
    // their order.
    ArrayRef<int64_t> perm = tr.getPermutation();
    SmallVector<int64_t> rest;
    for (auto [i, p] : llvm::enumerate(perm))
      if (int64_t(i) != dim)
        rest.push_back(p);
    if (llvm::is_sorted(rest))
      return {tr.getInput(), perm[dim]};
  }
  return {stacked, dim};
}

/// The split the operands share (else 0: time first, transposing where
/// needed), with their sources.
int64_t commonSplit(const StepLoop &s, int64_t numPrefix,
                    SmallVector<Source> &sources) {
  for (const StepRead &r : s.reads)
    sources.push_back(sourceOf(r.array, r.dim));
  int64_t split = sources.front().split;
  bool shared =
      llvm::all_of(sources, [&](const Source &x) { return x.split == split; });
  return shared && split <= numPrefix ? split : 0;
}

/// The stacked output `y` ([P[:split]..., T, P[split:]..., V]) as the loop
/// wrote it; a user transposing the loop's output back to that layout reads
/// `y` directly.
Value outputResult(OpBuilder &b, Location loc, const StepLoop &s, Value y,
                   int64_t split) {
  const StepWrite &w = *s.write;
  Value acc = s.loop->getResult(w.carried);
  Type accElem = elementTypeOf(acc);
  y = asWritten(b, loc, s, y, split);
  Shape layout = staticShapeOf(y);
  for (Operation *user : llvm::make_early_inc_range(acc.getUsers())) {
    auto tr = dyn_cast<linalg::TransposeOp>(user);
    if (!tr)
      continue;
    Source back = sourceOf(tr.getResult()[0], split);
    if (back.array != acc || back.split != w.dim ||
        staticShapeOf(tr.getResult()[0]) != layout)
      continue;
    tr.getResult()[0].replaceAllUsesWith(castedTo(b, loc, y, accElem));
    tr.erase();
  }
  return castedTo(b, loc, movedDim(b, loc, y, split, w.dim), accElem);
}

/// Replaces the loop with the mix op of `c` on the arrays read ([outer, T,
/// inner, D]), results back in the loop's layouts.
void rewrite(const StepLoop &s, const RecurrenceCandidate &c) {
  OpBuilder b(s.loop);
  Location loc = s.loop->getLoc();
  int64_t H = c.heads, K = c.keyDim, V = c.valueDim, T = s.length;
  Value init = s.init(s.state);
  Shape prefix = staticShapeOf(init);
  prefix.resize(prefix.size() - 2);
  SmallVector<Source> sources;
  int64_t split = commonSplit(s, prefix.size(), sources);
  int64_t outer = 1;
  for (int64_t i = 0; i < split; ++i)
    outer *= prefix[i];
  int64_t inner = H / outer;
  Value operands[5];
  for (auto [i, role] : llvm::enumerate(c.roles)) {
    const StepRead &r = s.reads[i];
    Shape shape = {outer, T, inner};
    if (role == Role::q || role == Role::k || role == Role::v ||
        (role == Role::g && c.gate == mix::GateKind::vector))
      shape.push_back(r.step.back());
    Value array = sources[i].split == split
                      ? sources[i].array
                      : movedDim(b, loc, r.array, r.dim, split);
    if (r.reversed) // the time dim is `split` in both
      array = reversedAlong(b, loc, array, split);
    operands[int(role)] = reshaped(b, loc, array, shape);
  }
  Type elem = elementTypeOf(operands[int(Role::q)]), f32 = b.getF32Type();
  for (Role role : {Role::k, Role::v})
    operands[int(role)] = castedTo(b, loc, operands[int(role)], elem);
  for (Role role : {Role::beta, Role::g})
    if (Value x = operands[int(role)];
        x && elementTypeOf(x) != elem && elementTypeOf(x) != f32)
      operands[int(role)] = castedTo(b, loc, x, f32);
  Value mixInit = mixInitialState(b, loc, init, c.stateVK, outer, inner, K, V);
  auto [o, finalState] =
      createRecurrenceOp(b, loc, c, operands, mixInit, outer, T, inner);

  SmallVector<Value> results = passThroughResults(b, loc, s);
  // [outer, inner, K, V] -> the state's [P..., K, V] or [P..., V, K].
  Value fs = c.stateVK ? swappedLastDims(b, loc, finalState) : finalState;
  results[s.state] = castedTo(b, loc, reshaped(b, loc, fs, staticShapeOf(init)),
                              elementTypeOf(init));
  Shape layout(prefix.begin(), prefix.begin() + split);
  layout.push_back(T);
  layout.append(prefix.begin() + split, prefix.end());
  layout.push_back(V);
  results[s.write->carried] =
      outputResult(b, loc, s, reshaped(b, loc, o, layout), split);
  replaceLoop(s, results);
}

/// linear attention or the delta rule, when the step is one.
bool raiseToSpecialised(const StepLoop &s) {
  Shape stateShape = staticShapeOf(s.arg(s.state));
  auto first = probe(s, 0x5eed1), second = probe(s, 0x5eed2);
  if (!first || !second)
    return false;
  SmallVector<Shape> steps;
  SmallVector<Type> types;
  for (const StepRead &r : s.reads) {
    steps.push_back(r.step);
    types.push_back(elementTypeOf(r.array));
  }
  auto c =
      findRecurrence(steps, types, s.write->step, stateShape, *first, *second);
  if (c)
    rewrite(s, *c);
  return c.has_value();
}

/// Whether `loop` carries a tensor: a loop the raising is meant for.
bool carriesTensor(Operation *loop) {
  return llvm::any_of(loop->getResultTypes(),
                      [](Type t) { return isa<RankedTensorType>(t); });
}

/// Tries the raisers on the step loop `s`; the reason it stays otherwise.
std::optional<StringRef> raiseStepLoop(const StepLoop &s) {
  // A vector state can only be a diagonal recurrence; a matrix state is
  // tried as the specialised ops, then the general DPLR form, then as a
  // diagonal recurrence over the whole state.
  if (staticShapeOf(s.arg(s.state)).size() < 2) {
    if (raiseToScan(s))
      return std::nullopt;
    return StringRef("the step on its vector state is not a diagonal "
                     "recurrence h = a * h + x (checked on random inputs)");
  }
  if (raiseToSpecialised(s) || raiseToRecurrence(s) || raiseToScan(s))
    return std::nullopt;
  return StringRef("the step is not linear attention, the delta rule, a "
                   "diagonal-plus-low-rank or a diagonal recurrence (checked "
                   "on random inputs)");
}

} // namespace

void raiseLoops(Operation *root, Report &report) {
  SmallVector<Operation *> loops;
  root->walk([&](Operation *op) {
    if (isa<scf::ForOp, scf::WhileOp>(op))
      loops.push_back(op);
  });
  for (Operation *loop : loops) {
    std::string why;
    auto s = analyseStepLoop(loop, &why);
    if (!s) {
      if (carriesTensor(loop))
        report.left(loop, "loop", why);
      continue;
    }
    if (auto left = raiseStepLoop(*s))
      report.left(loop, "loop", *left);
  }
}

} // namespace mixir::raise
