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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

#include <random>

using namespace mlir;

namespace mixir::raise {
namespace {

using Role = RecurrenceRole;

HostTensor randomTensor(ArrayRef<int64_t> shape, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  HostTensor t{Shape(shape), {}};
  t.data.resize(t.numElements());
  for (double &x : t.data)
    x = dist(rng);
  return t;
}

std::optional<RecurrenceProbe> probe(const StepLoop &s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  HostTensor state = randomTensor(staticShapeOf(s.arg(s.state)), rng);
  SmallVector<HostTensor> reads;
  for (const StepRead &r : s.reads)
    reads.push_back(randomTensor(r.step, rng));
  auto ev = evaluateStep(s, state, reads);
  if (!ev)
    return std::nullopt;
  const HostTensor *next = ev->get(s.yielded(s.state));
  const HostTensor *out = ev->get(s.write->update);
  if (!next || !out)
    return std::nullopt;
  RecurrenceProbe p;
  for (HostTensor &x : reads)
    p.inputs.push_back(std::move(x.data));
  p.state = std::move(state.data);
  p.newState = next->data;
  p.out = out->data;
  return p;
}

bool isZero(Value v) {
  DenseElementsAttr c;
  return matchPattern(v, m_Constant(&c)) && c.isSplat() &&
         isa<FloatType>(c.getElementType()) &&
         c.getSplatValue<APFloat>().isZero();
}

/// The counter's value after the loop: T in the counter's type.
Value counterEnd(OpBuilder &b, Location loc, Type type, int64_t length) {
  if (auto t = dyn_cast<RankedTensorType>(type))
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(t,
                               IntegerAttr::get(t.getElementType(), length)));
  return arith::ConstantOp::create(b, loc, IntegerAttr::get(type, length));
}

/// Replaces the loop with the mix op of `c`: operands [1, T, H, D] from
/// the arrays read (time dim first), results back in the loop's layouts.
void rewrite(const StepLoop &s, const RecurrenceCandidate &c) {
  OpBuilder b(s.loop);
  Location loc = s.loop->getLoc();
  int64_t H = c.heads, K = c.keyDim, V = c.valueDim, T = s.length;
  Value operands[5];
  for (auto [i, role] : llvm::enumerate(c.roles)) {
    const StepRead &r = s.reads[i];
    Shape shape = {1, T, H};
    if (role == Role::q || role == Role::k || role == Role::v ||
        (role == Role::g && c.gate == mix::GateKind::vector))
      shape.push_back(r.step.back());
    operands[int(role)] =
        reshaped(b, loc, movedDim(b, loc, r.array, r.dim, 0), shape);
  }
  Type elem = elementTypeOf(operands[int(Role::q)]), f32 = b.getF32Type();
  for (Role role : {Role::k, Role::v})
    operands[int(role)] = castedTo(b, loc, operands[int(role)], elem);
  for (Role role : {Role::beta, Role::g})
    if (Value x = operands[int(role)];
        x && elementTypeOf(x) != elem && elementTypeOf(x) != f32)
      operands[int(role)] = castedTo(b, loc, x, f32);
  Value init = s.init(s.state), mixInit;
  if (!isZero(init)) {
    Value kv = c.stateVK ? swappedLastDims(b, loc, init) : init;
    mixInit = castedTo(b, loc, reshaped(b, loc, kv, {1, H, K, V}), f32);
  }
  auto [o, finalState] =
      createRecurrenceOp(b, loc, c, operands, mixInit, 1, T, H);

  SmallVector<Value> results(s.numCarried());
  for (unsigned i : s.passThrough)
    results[i] = s.init(i);
  if (s.counterCarried)
    results[*s.counterCarried] =
        counterEnd(b, loc, s.loop->getResult(*s.counterCarried).getType(), T);
  // [1, H, K, V] -> the state's [P..., K, V] or [P..., V, K].
  Value fs = c.stateVK ? swappedLastDims(b, loc, finalState) : finalState;
  results[s.state] = castedTo(b, loc, reshaped(b, loc, fs, staticShapeOf(init)),
                              elementTypeOf(init));
  const StepWrite &w = *s.write;
  Shape timeFirst = w.step;
  timeFirst.insert(timeFirst.begin(), T);
  Value y = movedDim(b, loc, reshaped(b, loc, o, timeFirst), 0, w.dim);
  results[w.carried] =
      castedTo(b, loc, y, elementTypeOf(s.loop->getResult(w.carried)));
  for (auto [r, v] : llvm::zip(s.loop->getResults(), results))
    r.replaceAllUsesWith(v);
  s.loop->erase();
}

bool raise(const StepLoop &s) {
  Shape stateShape = staticShapeOf(s.arg(s.state));
  if (stateShape.size() < 2)
    return false;
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

} // namespace

void raiseLoops(Operation *root) {
  SmallVector<Operation *> loops;
  root->walk([&](Operation *op) {
    if (isa<scf::ForOp, scf::WhileOp>(op))
      loops.push_back(op);
  });
  for (Operation *loop : loops)
    if (auto s = analyseStepLoop(loop))
      (void)raise(*s);
}

} // namespace mixir::raise
