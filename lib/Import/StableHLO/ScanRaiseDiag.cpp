//===- ScanRaiseDiag.cpp - diagonal lax.scan recurrences to mix.scan ------===//
//
// A `lax.scan` whose state h (any shape of rank >= 1) is updated channel by
// channel,
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
// the state's shape), the decay must be an exponential (possibly broadcast
// or reshaped), so that g is its argument, and the output a fixed multiple
// of the new state. Two independent random probes must give the same
// explanation. A decay given as is (not as exp of a value) is left alone:
// mix.scan takes log decays, and log(a) is only valid where a > 0, which no
// evaluation at random points can promise for every input.
//
// The rewrite moves the state-independent part of the body into a loop of
// its own (ScanFission.cpp) that stacks x and g for every token.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "Evaluator.h"
#include "ScanLoop.h"

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "llvm/ADT/DenseSet.h"

#include <cmath>

using namespace mlir;

namespace mixir::stablehlo_import::scan {
namespace {

constexpr double kTol = kScanTol;

struct DiagBody {
  const ScanLoop *scan;
  Value newState;
  Shape shape;             // the state's
  SmallVector<Value> dict; // state-independent values of the state's shape
};

std::optional<DiagBody> describe(const ScanLoop &scan) {
  Block &block = scan.loop->getRegion(1).front();
  Operation *ret = &block.back();
  DiagBody body{&scan,
                ret->getOperand(scan.state),
                shapeOf(block.getArgument(scan.state)),
                {}};
  if (body.shape.empty() || scan.write->step != body.shape)
    return std::nullopt;
  llvm::DenseSet<Value> dependent = {block.getArgument(scan.state)};
  for (Operation &op : block) {
    if (op.getNumResults() != 1)
      continue;
    Value r = op.getResult(0);
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return dependent.contains(v); }))
      dependent.insert(r);
    else if (shapeOf(r) == body.shape && isa<FloatType>(elementOf(r)))
      body.dict.push_back(r);
  }
  if (!dependent.contains(body.newState))
    return std::nullopt;
  return body;
}

/// The shape ops (broadcast_in_dim, reshape, convert) from `decay` down to
/// an exponential, outermost first, then the exponential; empty when the
/// decay is not one.
SmallVector<Operation *> exponentialChain(Value decay) {
  SmallVector<Operation *> chain;
  for (Operation *def = decay.getDefiningOp(); def;
       def = def->getOperand(0).getDefiningOp()) {
    chain.push_back(def);
    if (isOp(def, "stablehlo.exponential"))
      return chain;
    if (!isOp(def, "stablehlo.broadcast_in_dim") &&
        !isOp(def, "stablehlo.reshape") && !isOp(def, "stablehlo.convert"))
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
std::optional<int> entryEqual(const DiagBody &body, const Evaluator &ev,
                              ArrayRef<double> x, double none,
                              function_ref<bool(Value)> wanted) {
  if (llvm::all_of(x, [&](double e) { return std::abs(e - none) <= kTol; }))
    return -1;
  for (auto [i, v] : llvm::enumerate(body.dict))
    if (const HostTensor *t = ev.get(v); t && wanted(v) && near(t->data, x))
      return int(i);
  return std::nullopt;
}

/// The state's image at `s` is a * s + c.
bool affineAt(const ScanLoop &scan, const DiagBody &body, BodyInputs in,
              const HostTensor &s, ArrayRef<double> a, ArrayRef<double> c) {
  in.state = s;
  auto ev = evaluateBody(scan, in);
  if (!ev || !ev->get(body.newState))
    return false;
  std::vector<double> want(c.begin(), c.end());
  for (size_t i = 0; i < want.size(); ++i)
    want[i] += a[i] * s.data[i];
  return near(ev->get(body.newState)->data, want);
}

std::optional<Diag> recognise(const DiagBody &body, uint64_t seed) {
  const ScanLoop &scan = *body.scan;
  BodyInputs in = randomInputs(scan, seed);
  HostTensor s = in.state;
  std::fill(in.state.data.begin(), in.state.data.end(), 0.0);
  auto zero = evaluateBody(scan, in);
  std::fill(in.state.data.begin(), in.state.data.end(), 1.0);
  auto one = evaluateBody(scan, in);
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
  auto base = evaluateBody(scan, in);
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

/// log(decay) in the fission loop: the exponential's argument, through the
/// same shape ops.
Value logDecay(OpBuilder &b, IRMapping &map, Value decay) {
  SmallVector<Operation *> chain = exponentialChain(decay);
  Value x = map.lookupOrDefault(chain.back()->getOperand(0));
  for (Operation *op : llvm::reverse(ArrayRef(chain).drop_back())) {
    IRMapping m;
    m.map(op->getOperand(0), x);
    x = b.clone(*op, m)->getResult(0);
  }
  return x;
}

/// The stacked x and g ([T, D] each, in `elem`), by loop fission.
std::optional<SmallVector<Value>> stackOperands(const DiagBody &body,
                                                const Diag &d, Type elem) {
  const ScanLoop &scan = *body.scan;
  int64_t T = scan.length, D = 1;
  for (int64_t n : body.shape)
    D *= n;
  SmallVector<Value> roots;
  if (d.add >= 0)
    roots.push_back(body.dict[d.add]);
  if (d.decay >= 0)
    roots.push_back(exponentialChain(body.dict[d.decay]).back()->getOperand(0));
  Location loc = scan.loop->getLoc();
  auto constant = [&](OpBuilder &b, double value) {
    HostTensor t;
    t.shape = {D};
    t.data.assign(D, value);
    return createConstant(b, loc, toAttr(tensorOf({D}, elem), t))->getResult(0);
  };
  auto write = [&](OpBuilder &b, IRMapping &map, Value counter,
                   MutableArrayRef<Value> stacks) {
    auto flat = [&](Value v) {
      return convert(b, loc, reshape(b, loc, v, {D}), elem);
    };
    Value x = d.add >= 0 ? flat(map.lookup(body.dict[d.add])) : constant(b, 0);
    Value g = d.decay >= 0 ? flat(logDecay(b, map, body.dict[d.decay]))
                           : constant(b, 0);
    stacks[0] = writeStep(b, loc, stacks[0], x, counter);
    stacks[1] = writeStep(b, loc, stacks[1], g, counter);
  };
  return fission(scan, roots, {Shape{T, D}, Shape{T, D}}, elem, write);
}

bool rewrite(const DiagBody &body, const Diag &d) {
  const ScanLoop &scan = *body.scan;
  Operation *loop = scan.loop;
  const Write &w = *scan.write;
  Value acc = loop->getResult(w.carried);
  Type elem = elementOf(acc);
  if (!elem.isF32() && !elem.isF16() && !elem.isBF16())
    return false;
  auto stacks = stackOperands(body, d, elem);
  if (!stacks)
    return false;
  OpBuilder b(loop);
  Location loc = loop->getLoc();
  int64_t T = scan.length, D = shapeOf((*stacks)[0])[1];
  Value x = reshape(b, loc, (*stacks)[0], {1, T, D});
  Value g = reshape(b, loc, (*stacks)[1], {1, T, D});
  Value stateInit = loop->getOperand(scan.state);
  Value init;
  if (splatConstant(stateInit) != 0.0)
    init = convert(b, loc, reshape(b, loc, stateInit, {1, D}), b.getF32Type());
  auto op = mix::ScanOp::create(b, loc, tensorOf({1, T, D}, elem),
                                tensorOf({1, D}, b.getF32Type()), x, g, init,
                                Value(), IntegerAttr());
  SmallVector<Value> results = passThroughResults(b, loc, scan);
  results[scan.state] =
      convert(b, loc, reshape(b, loc, op.getFinalState(), body.shape),
              elementOf(stateInit));
  Shape perStep = body.shape;
  perStep.insert(perStep.begin(), T);
  Value o = reshape(b, loc, op.getO(), perStep);
  if (d.scale != 1.0) {
    HostTensor s;
    s.shape = perStep;
    s.data.assign(s.numElements(), d.scale);
    Value scale = createConstant(b, loc, toAttr(tensorOf(perStep, elem), s))
                      ->getResult(0);
    o = generic(b, loc, "stablehlo.multiply", {o, scale}, o.getType());
  }
  results[w.carried] = moveDim(b, loc, o, 0, w.dim);
  replaceLoop(loop, results);
  return true;
}

} // namespace

bool raiseToScan(const ScanLoop &scan) {
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

} // namespace mixir::stablehlo_import::scan
