//===- RaiseDiag.cpp - diagonal scan loops to mix.scan --------------------===//
//
// A step loop (StepLoop.h) whose state h (any shape of rank >= 1) is updated
// channel by channel,
//
//   h = a * h + x        a = exp(g), a, g and x computed from the token
//   y = scale * h        (the stacked output)
//
// becomes one `mix.scan` over the flattened state (B = 1, D = the number of
// state elements).
//
// Recognition works on what the body computes, as the other raisers do:
// evaluated in float64 at a random state s, at 0 and at 1, the body gives
// C = F(0) and a = F(1) - C; it is affine and diagonal in h when
// F(s) = a * s + C at two random states. a and C must be values the body
// computes from the token's inputs alone (state-independent body values of
// the state's shape), the decay must be an exponential (an element-wise exp,
// possibly broadcast, reshaped or converted), so that g is its argument, and
// the output a fixed multiple of the new state. Two independent random probes
// must give the same explanation. A decay given as is (not as exp of a value)
// is left alone: mix.scan takes log decays, and log(a) is only valid where a >
// 0, which no evaluation at random points can promise for every input.
//
// The rewrite moves the state-independent part of the body into a loop of
// its own (LoopFission.cpp) that stacks x and g for every token.
//
//===----------------------------------------------------------------------===//
#include "StepLoop.h"
#include "TensorUtils.h"

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/DenseSet.h"

#include <cmath>

using namespace mlir;

namespace mixir::raise {
namespace {

constexpr double kTol = kStepTol;

struct DiagBody {
  const StepLoop *scan;
  Value newState;
  Shape shape;             // the state's
  SmallVector<Value> dict; // state-independent values of the state's shape
};

/// The dims of `shape` without its trailing ones, when they lead `state`'s
/// (a value broadcast along the state's last dims, as [B, H, 1] is to
/// [B, H, D]).
std::optional<Shape> leadingDims(Shape shape, ArrayRef<int64_t> state) {
  while (!shape.empty() && shape.back() == 1 &&
         (shape.size() > state.size() || state[shape.size() - 1] != 1))
    shape.pop_back();
  if (shape.empty() || shape.size() > state.size() ||
      !std::equal(shape.begin(), shape.end(), state.begin()))
    return std::nullopt;
  return shape;
}

/// `values` (of leading dims of `state`) repeated along the others.
std::vector<double> broadcastTo(ArrayRef<double> values,
                                ArrayRef<int64_t> state) {
  int64_t total = 1;
  for (int64_t d : state)
    total *= d;
  int64_t inner = values.empty() ? 1 : total / int64_t(values.size());
  std::vector<double> out(total);
  for (int64_t i = 0; i < total; ++i)
    out[i] = values[i / inner];
  return out;
}

std::optional<DiagBody> describe(const StepLoop &scan) {
  DiagBody body{&scan, scan.next(), staticShapeOf(scan.arg(scan.state)), {}};
  if (body.shape.empty() || scan.write->step != body.shape)
    return std::nullopt;
  llvm::DenseSet<Value> dependent = {scan.arg(scan.state)};
  for (Operation &op : *scan.body) {
    if (op.getNumResults() != 1 ||
        (!evaluatedInStep(scan, op) && !isRead(scan, &op)))
      continue;
    Value r = op.getResult(0);
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return dependent.contains(v); }))
      dependent.insert(r);
    else if (leadingDims(staticShapeOf(r), body.shape) &&
             isa<FloatType>(elementTypeOf(r)))
      body.dict.push_back(r);
  }
  if (!dependent.contains(body.newState))
    return std::nullopt;
  return body;
}

/// The ops from `decay` down to an element-wise exp (reshapes, broadcasts,
/// conversions), outermost first, then the exp; empty when the decay is not
/// one.
SmallVector<Operation *> exponentialChain(Value decay) {
  SmallVector<Operation *> chain;
  for (Operation *def = decay.getDefiningOp(); def;
       def = def->getOperand(0).getDefiningOp()) {
    chain.push_back(def);
    if (expGeneric(def))
      return chain;
    bool shapeOnly = isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                         linalg::BroadcastOp>(def);
    auto g = dyn_cast<linalg::GenericOp>(def);
    bool converts =
        g && g.getNumDpsInputs() == 1 &&
        g.getRegion().front().getOperations().size() == 2 &&
        isa<arith::ExtFOp, arith::TruncFOp>(g.getRegion().front().front());
    if (!shapeOnly && !converts)
      break;
  }
  return {};
}

/// What a body computes: the dictionary entries of the decay and the
/// additive term (-1: 1 and 0) and the output's scale.
struct Diag {
  int decay = -1, add = -1;
  double scale = 1.0;
  bool operator==(const Diag &o) const {
    return decay == o.decay && add == o.add &&
           std::abs(scale - o.scale) <= 1e-8 * std::abs(scale);
  }
};

bool near(ArrayRef<double> x, ArrayRef<double> y) {
  double d = 0;
  for (auto [a, b] : llvm::zip(x, y))
    d += (a - b) * (a - b);
  return d <= kTol * kTol * (sumSq(y) + 1e-300);
}

/// The dictionary entry equal to `x` at the evaluation `ev`, or -1 when x
/// is `none` everywhere; nullopt when neither. `wanted` filters entries.
std::optional<int> entryEqual(const DiagBody &body, const BodyEvaluator &ev,
                              ArrayRef<double> x, double none,
                              function_ref<bool(Value)> wanted) {
  if (llvm::all_of(x, [&](double e) { return std::abs(e - none) <= kTol; }))
    return -1;
  for (auto [i, v] : llvm::enumerate(body.dict))
    if (const HostTensor *t = ev.get(v);
        t && wanted(v) && near(broadcastTo(t->data, body.shape), x))
      return int(i);
  return std::nullopt;
}

/// The state's image at `s` is a * s + c.
bool affineAt(const StepLoop &scan, const DiagBody &body, StepInputs in,
              const HostTensor &s, ArrayRef<double> a, ArrayRef<double> c) {
  in.state = s;
  auto ev = evaluateStep(scan, in);
  if (!ev || !ev->get(body.newState))
    return false;
  std::vector<double> want(c.begin(), c.end());
  for (size_t i = 0; i < want.size(); ++i)
    want[i] += a[i] * s.data[i];
  return near(ev->get(body.newState)->data, want);
}

std::optional<Diag> recognise(const DiagBody &body, uint64_t seed) {
  const StepLoop &scan = *body.scan;
  StepInputs in = randomInputs(scan, seed);
  HostTensor s = in.state;
  std::fill(in.state.data.begin(), in.state.data.end(), 0.0);
  auto zero = evaluateStep(scan, in);
  std::fill(in.state.data.begin(), in.state.data.end(), 1.0);
  auto one = evaluateStep(scan, in);
  if (!zero || !one || !zero->get(body.newState) || !one->get(body.newState))
    return std::nullopt;
  std::vector<double> c = zero->get(body.newState)->data;
  std::vector<double> a = one->get(body.newState)->data;
  for (size_t i = 0; i < a.size(); ++i)
    a[i] -= c[i];
  std::mt19937_64 rng(seed ^ 0xd1a9);
  if (!affineAt(scan, body, in, s, a, c) ||
      !affineAt(scan, body, in, randomTensor(body.shape, rng), a, c))
    return std::nullopt;
  // The dictionary and the output at the random state.
  in.state = s;
  auto base = evaluateStep(scan, in);
  if (!base || !base->get(scan.write->update))
    return std::nullopt;
  auto decay = entryEqual(body, *base, a, 1.0,
                          [](Value v) { return !exponentialChain(v).empty(); });
  auto add = entryEqual(body, *base, c, 0.0, [](Value) { return true; });
  if (!decay || !add)
    return std::nullopt;
  const std::vector<double> &h = base->get(body.newState)->data,
                            &y = base->get(scan.write->update)->data;
  double hh = sumSq(h), hy = 0;
  for (auto [p, q] : llvm::zip(h, y))
    hy += p * q;
  Diag d{*decay, *add, hh > 0 ? hy / hh : 0.0};
  std::vector<double> scaled(h);
  for (double &e : scaled)
    e *= d.scale;
  if (!std::isfinite(d.scale) || d.scale == 0.0 || !near(y, scaled))
    return std::nullopt;
  return d;
}

//===----------------------------------------------------------------------===//
// Rewrite
//===----------------------------------------------------------------------===//

/// log(decay) in the fission loop: the chain cloned with its exp dropped.
Value logDecay(OpBuilder &b, IRMapping &map, Value decay) {
  SmallVector<Operation *> chain = exponentialChain(decay);
  Value x = logOfExp(b, map.lookup(chain.back()->getResult(0)));
  for (Operation *op : llvm::reverse(ArrayRef(chain).drop_back())) {
    IRMapping m = map;
    m.map(op->getOperand(0), x);
    x = b.clone(*op, m)->getResult(0);
  }
  return x;
}

/// The stacked x and g ([T, D] each, in `elem`), by loop fission.
SmallVector<Value> stackOperands(const DiagBody &body, const Diag &d,
                                 Type elem) {
  const StepLoop &scan = *body.scan;
  int64_t T = scan.length, D = 1;
  for (int64_t n : body.shape)
    D *= n;
  SmallVector<Value> roots;
  if (d.add >= 0)
    roots.push_back(body.dict[d.add]);
  if (d.decay >= 0)
    roots.push_back(body.dict[d.decay]);
  Location loc = scan.loop->getLoc();
  auto write = [&](OpBuilder &b, IRMapping &map, Value step,
                   MutableArrayRef<Value> stacks) {
    auto flat = [&](Value v) {
      Shape lead = *leadingDims(staticShapeOf(v), body.shape);
      if (lead != body.shape)
        v = broadcastTrailing(b, loc, reshaped(b, loc, v, lead), body.shape);
      return castedTo(b, loc, reshaped(b, loc, v, {D}), elem);
    };
    Value x = d.add >= 0 ? flat(map.lookup(body.dict[d.add]))
                         : splatTensor(b, loc, {D}, elem, 0.0);
    Value g = d.decay >= 0 ? flat(logDecay(b, map, body.dict[d.decay]))
                           : splatTensor(b, loc, {D}, elem, 0.0);
    stacks[0] = writeStep(b, loc, stacks[0], x, step);
    stacks[1] = writeStep(b, loc, stacks[1], g, step);
  };
  return fission(scan, roots, {Shape{T, D}, Shape{T, D}}, elem, write);
}

bool rewrite(const DiagBody &body, const Diag &d) {
  const StepLoop &scan = *body.scan;
  const StepWrite &w = *scan.write;
  Type elem = elementTypeOf(scan.loop->getResult(w.carried));
  if (!elem.isF32() && !elem.isF16() && !elem.isBF16())
    return false;
  SmallVector<Value> stacks = stackOperands(body, d, elem);
  OpBuilder b(scan.loop);
  Location loc = scan.loop->getLoc();
  int64_t T = scan.length, D = staticShapeOf(stacks[0])[1];
  Value x = reshaped(b, loc, stacks[0], {1, T, D});
  Value g = reshaped(b, loc, stacks[1], {1, T, D});
  Value stateInit = scan.init(scan.state);
  Value init = mixInitialState(b, loc, stateInit, false, 1, 1, 1, D);
  if (init)
    init = reshaped(b, loc, init, {1, D});
  Type f32 = b.getF32Type();
  auto op = mix::ScanOp::create(b, loc, RankedTensorType::get({1, T, D}, elem),
                                RankedTensorType::get({1, D}, f32), x, g, init,
                                Value(), IntegerAttr());
  SmallVector<Value> results = passThroughResults(b, loc, scan);
  results[scan.state] =
      castedTo(b, loc, reshaped(b, loc, op.getFinalState(), body.shape),
               elementTypeOf(stateInit));
  Shape perStep = body.shape;
  perStep.insert(perStep.begin(), T);
  Value o = reshaped(b, loc, op.getO(), perStep);
  if (d.scale != 1.0)
    o = multiplied(b, loc, o, splatTensor(b, loc, perStep, elem, d.scale));
  results[w.carried] =
      movedDim(b, loc, asWritten(b, loc, scan, o, 0), 0, w.dim);
  replaceLoop(scan, results);
  return true;
}

} // namespace

bool raiseToScan(const StepLoop &scan) {
  if (!scan.write)
    return false;
  auto body = describe(scan);
  if (!body)
    return false;
  auto first = recognise(*body, 0x5eed5), second = recognise(*body, 0x5eed6);
  if (!first || !second || !(*first == *second))
    return false;
  return rewrite(*body, *first);
}

} // namespace mixir::raise
