//===- RaiseDPLR.cpp - DPLR scan loops to mix.recurrence ------------------===//
//
// A step loop (StepLoop.h) whose body updates its state S ([K, V] per head,
// or [V, K])
// by a diagonal-plus-low-rank (DPLR) transition, possibly several times per
// token, becomes one `mix.recurrence` (docs/MIXERS.md):
//
//   S = diag(d) S + b (a^T S) + k v^T        (one sub-step, R <= 1)
//   y = scale * S^T q                        (after the token's last one)
//
// written in any algebraically equal way: RWKV-7's `S * w + (S a) b^T +
// v k^T` on a [V, K] state, or Gated DeltaProduct's n Householder steps per
// token, each `S - beta k (k^T S) + beta k v^T`.
//
// Recognition works on what the body computes, as RaiseLoops.cpp does:
//  1. Split the body at its cuts: the state-shaped values every path from S
//     to the new state passes through (the state between sub-steps).
//  2. Evaluate each span between cuts in float64 as a function of its input
//     state X, on random inputs: C = F(0) and the K x K matrix A of F(X) - C
//     (one column of the state per column of A).
//  3. Explain the numbers with values the body computes from the token's
//     inputs alone (its dictionary): d such that A - diag(d) = b a^T, with a
//     and b each a dictionary vector times an optional dictionary scalar,
//     sign and d; C = k v^T likewise; and y = scale S^T q.
//  4. Accept when two independent random probes give the same explanation.
//     Since everything involved is an analytic function of the inputs,
//     agreeing at random points means being equal, up to events of
//     probability zero.
// A span that is a pure decay joins the span after it (d multiplies the
// state the low-rank term reads, so a becomes d * a).
//
// The rewrite moves the state-independent part of the body into a loop of
// its own (loop fission) that writes, for every token and sub-step, the
// operands q, k, v, a, b and the gate; sub-step j of token t lands at
// t * n + j, so the mix.recurrence runs over T * n steps with q zero on all
// but the last sub-step, and the output is read at the last sub-steps.
//
//===----------------------------------------------------------------------===//
#include "StepLoop.h"
#include "TensorUtils.h"

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/DenseSet.h"

#include <cmath>

using namespace mlir;

namespace mixir::raise {
namespace {

constexpr double kTol = kStepTol;

//===----------------------------------------------------------------------===//
// The body as a function of the state
//===----------------------------------------------------------------------===//

enum class EntryKind { scalar, keyVector, valueVector };

/// A state-independent body value with one number (scalar) or one vector per
/// state head.
struct Entry {
  Value value;
  EntryKind kind;
};

struct Body {
  const StepLoop *scan;
  Block *block;
  Value state;
  Shape prefix;
  int64_t H = 1, K = 0, V = 0;
  bool vk = false;                 // the state is [..., V, K]
  llvm::DenseSet<Value> dependent; // values that depend on the state
  SmallVector<Value> chain;        // state, cuts..., new state
  SmallVector<Entry> dict;         // body order
  llvm::DenseMap<Value, unsigned> dictIndex;

  Value newState() const { return scan->next(); }
  /// Flat index of S[h][i][j] (i a key, j a value channel).
  int64_t at(int64_t h, int64_t i, int64_t j) const {
    return vk ? (h * V + j) * K + i : (h * K + i) * V + j;
  }
};

/// The kind of a state-independent value of shape `shape`: the prefix, then
/// nothing but ones and at most one dim of K or V.
std::optional<EntryKind> kindOf(const Body &body, const Shape &shape,
                                bool key) {
  if (shape.size() < body.prefix.size() ||
      !std::equal(body.prefix.begin(), body.prefix.end(), shape.begin()))
    return std::nullopt;
  Shape rest;
  for (int64_t d : ArrayRef<int64_t>(shape).drop_front(body.prefix.size()))
    if (d != 1)
      rest.push_back(d);
  if (rest.empty())
    return EntryKind::scalar;
  if (rest.size() == 1 && rest[0] == (key ? body.K : body.V))
    return key ? EntryKind::keyVector : EntryKind::valueVector;
  return std::nullopt;
}

/// State-shaped values that every path from the state to the new state
/// passes through, in body order.
SmallVector<Value> cuts(const Body &body) {
  Shape stateShape = staticShapeOf(body.state);
  SmallVector<Value> out = {body.state};
  for (Operation &op : *body.block) {
    if (op.getNumResults() != 1 || !body.dependent.contains(op.getResult(0)))
      continue;
    Value x = op.getResult(0);
    if (x == body.newState() || staticShapeOf(x) != stateShape)
      continue;
    llvm::DenseSet<Value> reach = {body.state};
    for (Operation &o : *body.block)
      if (&o != &op && o.getNumResults() == 1 &&
          llvm::any_of(o.getOperands(),
                       [&](Value v) { return reach.contains(v); }))
        reach.insert(o.getResult(0));
    if (!reach.contains(body.newState()))
      out.push_back(x);
  }
  out.push_back(body.newState());
  return out;
}

std::optional<Body> describe(const StepLoop &scan, bool vk) {
  Body body;
  body.scan = &scan;
  body.block = scan.body;
  body.state = scan.arg(scan.state);
  Shape s = staticShapeOf(body.state);
  body.prefix.assign(s.begin(), s.end() - 2);
  for (int64_t d : body.prefix)
    body.H *= d;
  body.vk = vk;
  body.K = vk ? s.back() : s[s.size() - 2];
  body.V = vk ? s[s.size() - 2] : s.back();
  if (body.K == 0 || body.V == 0)
    return std::nullopt;
  Shape out = body.prefix;
  out.push_back(body.V);
  if (!scan.write || scan.write->step != out)
    return std::nullopt;

  body.dependent.insert(body.state);
  for (Operation &op : *body.block) {
    if (!evaluatedInStep(*body.scan, op) && !isRead(*body.scan, &op))
      continue;
    if (op.getNumResults() != 1)
      return std::nullopt;
    Value r = op.getResult(0);
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return body.dependent.contains(v); })) {
      body.dependent.insert(r);
      continue;
    }
    for (bool key : {true, false})
      if (auto kind = kindOf(body, staticShapeOf(r), key)) {
        body.dictIndex[r] = body.dict.size();
        body.dict.push_back({r, *kind});
        if (*kind == EntryKind::scalar)
          break;
      }
  }
  if (!body.dependent.contains(body.newState()))
    return std::nullopt;
  body.chain = cuts(body);
  return body;
}

//===----------------------------------------------------------------------===//
// Probes
//===----------------------------------------------------------------------===//

/// One span of the body at one probe: its additive term C (H x K x V) and
/// its transition A (H x K x K), and the dictionary's values.
struct SpanNumbers {
  std::vector<double> C, A;
};

std::optional<SpanNumbers> spanNumbers(const Body &body, const StepInputs &p,
                                       Value from, Value to) {
  int64_t H = body.H, K = body.K, V = body.V;
  HostTensor x;
  x.shape = staticShapeOf(body.state);
  x.data.assign(H * K * V, 0.0);
  auto ev = evaluateStep(*body.scan, p, from, &x);
  if (!ev || !ev->get(to))
    return std::nullopt;
  SpanNumbers n;
  n.C.resize(H * K * V);
  const std::vector<double> &c = ev->get(to)->data;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < V; ++j)
        n.C[(h * K + i) * V + j] = c[body.at(h, i, j)];
  // Column j of block p of the identity: key channel p * V + j.
  n.A.assign(H * K * K, 0.0);
  for (int64_t p0 = 0; p0 < K; p0 += V) {
    std::fill(x.data.begin(), x.data.end(), 0.0);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < V && p0 + j < K; ++j)
        x.data[body.at(h, p0 + j, j)] = 1.0;
    auto e = evaluateStep(*body.scan, p, from, &x);
    if (!e || !e->get(to))
      return std::nullopt;
    const std::vector<double> &y = e->get(to)->data;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < V && p0 + j < K; ++j)
          n.A[(h * K + i) * K + p0 + j] =
              y[body.at(h, i, j)] - n.C[(h * K + i) * V + j];
  }
  return n;
}

//===----------------------------------------------------------------------===//
// Explaining the numbers
//===----------------------------------------------------------------------===//

/// sign * [scalar entry] * [decay] * vector entry, per state head; `vec` < 0
/// is zero.
struct Term {
  int vec = -1, scalar = -1;
  bool negate = false, timesDecay = false;
  bool operator==(const Term &o) const {
    return vec == o.vec && scalar == o.scalar && negate == o.negate &&
           timesDecay == o.timesDecay;
  }
};

/// One DPLR sub-step: decay d (a dictionary entry, or none), a rank-one
/// term b a^T (a.vec < 0: none) and the write k v^T (k.vec < 0: none).
struct Step {
  int decay = -1;
  Term a, b, k, v;
  bool operator==(const Step &o) const {
    return decay == o.decay && a == o.a && b == o.b && k == o.k && v == o.v;
  }
  bool pureDecay() const { return a.vec < 0 && k.vec < 0; }
};

/// The dictionary's values at one probe, and the decay of the step being
/// explained (per head and key channel, H x K).
struct Explainer {
  const Body &body;
  SmallVector<std::vector<double>> values; // per dictionary entry
  std::vector<double> decay;

  /// The entry's vector for head h, times the decay when asked.
  std::vector<double> vectorOf(int e, bool timesDecay, int64_t h) const {
    int64_t n = body.dict[e].kind == EntryKind::valueVector ? body.V : body.K;
    std::vector<double> out(values[e].begin() + h * n,
                            values[e].begin() + (h + 1) * n);
    if (timesDecay)
      for (int64_t i = 0; i < n; ++i)
        out[i] *= decay[h * body.K + i];
    return out;
  }

  /// A term equal to x (H x n).
  std::optional<Term> match(ArrayRef<double> x, EntryKind kind,
                            bool allowDecay) const {
    int64_t n = kind == EntryKind::valueVector ? body.V : body.K;
    double xx = sumSq(x);
    if (xx == 0.0)
      return Term{};
    for (auto [e, entry] : llvm::enumerate(body.dict)) {
      if (entry.kind != kind)
        continue;
      for (bool td : {false, true}) {
        if (td && (!allowDecay || kind != EntryKind::keyVector))
          continue;
        std::vector<double> ratio(body.H);
        double resid = 0;
        bool ok = true;
        for (int64_t h = 0; h < body.H && ok && resid <= kTol * kTol * xx;
             ++h) {
          std::vector<double> u = vectorOf(e, td, h);
          double uu = sumSq(u), xu = 0;
          for (int64_t i = 0; i < n; ++i)
            xu += x[h * n + i] * u[i];
          ok = uu > 0;
          ratio[h] = ok ? xu / uu : 0;
          for (int64_t i = 0; i < n && ok; ++i) {
            double d = x[h * n + i] - ratio[h] * u[i];
            resid += d * d;
          }
        }
        if (!ok || resid > kTol * kTol * xx)
          continue;
        if (auto t = factor(ratio)) {
          t->vec = e;
          t->timesDecay = td;
          return t;
        }
      }
    }
    return std::nullopt;
  }

  /// +-1 or +- a scalar entry, per head.
  std::optional<Term> factor(ArrayRef<double> ratio) const {
    auto equal = [](double a, double b) {
      return std::abs(a - b) <= 1e-8 * (std::abs(a) + std::abs(b) + 1e-30);
    };
    for (bool neg : {false, true}) {
      double s = neg ? -1.0 : 1.0;
      if (llvm::all_of(ratio, [&](double r) { return equal(r, s); }))
        return Term{-1, -1, neg, false};
      for (auto [e, entry] : llvm::enumerate(body.dict))
        if (entry.kind == EntryKind::scalar &&
            llvm::all_of(llvm::seq<int64_t>(0, body.H), [&](int64_t h) {
              return equal(ratio[h], s * values[e][h]);
            }))
          return Term{-1, int(e), neg, false};
    }
    return std::nullopt;
  }

  /// Rank-one factors of M (H x n x m): M_h = u_h w_h^T with u a term of
  /// kind `left` and w one of kind `right`.
  std::optional<std::pair<Term, Term>>
  rankOne(ArrayRef<double> M, int64_t n, int64_t m, EntryKind right) const {
    const double limit = kTol * kTol * sumSq(M);
    for (auto [e, entry] : llvm::enumerate(body.dict)) {
      if (entry.kind != EntryKind::keyVector)
        continue;
      for (bool td : {false, true}) {
        std::vector<double> w(body.H * m, 0.0);
        double resid = 0;
        bool ok = true;
        for (int64_t h = 0; h < body.H && ok && resid <= limit; ++h) {
          std::vector<double> u = vectorOf(e, td, h);
          double uu = sumSq(u);
          ok = uu > 0;
          for (int64_t j = 0; j < m && ok; ++j) {
            for (int64_t i = 0; i < n; ++i)
              w[h * m + j] += M[(h * n + i) * m + j] * u[i];
            w[h * m + j] /= uu;
          }
          for (int64_t i = 0; i < n && ok; ++i)
            for (int64_t j = 0; j < m; ++j) {
              double d = M[(h * n + i) * m + j] - u[i] * w[h * m + j];
              resid += d * d;
            }
        }
        if (!ok || resid > limit)
          continue;
        if (auto t = match(w, right, /*allowDecay=*/true))
          return std::pair{Term{int(e), -1, false, td}, *t};
      }
    }
    return std::nullopt;
  }

  void setDecay(int d) {
    decay.assign(body.H * body.K, 1.0);
    if (d < 0)
      return;
    for (int64_t h = 0; h < body.H; ++h)
      for (int64_t i = 0; i < body.K; ++i)
        decay[h * body.K + i] = body.dict[d].kind == EntryKind::scalar
                                    ? values[d][h]
                                    : values[d][h * body.K + i];
  }

  /// The step that explains `n`, if any.
  std::optional<Step> explain(const SpanNumbers &n) {
    int64_t H = body.H, K = body.K, V = body.V;
    double aa = sumSq(n.A);
    SmallVector<int> decays = {-1};
    for (auto [e, entry] : llvm::enumerate(body.dict))
      if (entry.kind != EntryKind::valueVector)
        decays.push_back(int(e));
    for (int d : decays) {
      setDecay(d);
      std::vector<double> L = n.A;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < K; ++i)
          L[(h * K + i) * K + i] -= decay[h * K + i];
      Step step;
      step.decay = d;
      if (sumSq(L) > kTol * kTol * aa) {
        // L_h = b_h a_h^T: L's transpose is a b^T.
        std::vector<double> Lt(L.size());
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < K; ++i)
            for (int64_t j = 0; j < K; ++j)
              Lt[(h * K + j) * K + i] = L[(h * K + i) * K + j];
        auto ab = rankOne(Lt, K, K, EntryKind::keyVector);
        if (!ab)
          continue;
        std::tie(step.a, step.b) = *ab;
      }
      if (sumSq(n.C) > 0) {
        auto kv = rankOne(n.C, K, V, EntryKind::valueVector);
        if (!kv)
          continue;
        std::tie(step.k, step.v) = *kv;
      }
      return step;
    }
    return std::nullopt;
  }

  /// q and the scale with y = scale * S^T q for the body's output y and
  /// its new state S.
  std::optional<std::pair<int, double>> output(const BodyEvaluator &ev) const {
    const HostTensor *y = ev.get(body.scan->write->update);
    const HostTensor *s = ev.get(body.newState());
    if (!y || !s)
      return std::nullopt;
    int64_t H = body.H, K = body.K, V = body.V;
    for (auto [e, entry] : llvm::enumerate(body.dict)) {
      if (entry.kind != EntryKind::keyVector)
        continue;
      std::vector<double> z(H * V, 0.0);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < K; ++i)
          for (int64_t j = 0; j < V; ++j)
            z[h * V + j] += s->data[body.at(h, i, j)] * values[e][h * K + i];
      double zz = sumSq(z), zy = 0;
      for (size_t i = 0; i < z.size(); ++i)
        zy += z[i] * y->data[i];
      if (zz == 0)
        continue;
      double scale = zy / zz, resid = 0;
      for (size_t i = 0; i < z.size(); ++i)
        resid += std::pow(y->data[i] - scale * z[i], 2);
      // mix.recurrence's scale is a positive, finite f32.
      float f = static_cast<float>(scale);
      if (scale > 0 && std::isfinite(f) && f > 0 &&
          resid <= kTol * kTol * sumSq(y->data))
        return std::pair{int(e), scale};
    }
    return std::nullopt;
  }
};

/// True when the span maps the state it read in the base evaluation, X, to
/// A X + C: the numbers describe a map that is affine in the state and acts
/// on every column the same way, not only on the probes' columns.
bool affine(const Body &body, const BodyEvaluator &base, const SpanNumbers &n,
            Value from, Value to) {
  const HostTensor *x = base.get(from), *y = base.get(to);
  if (!x || !y)
    return false;
  int64_t H = body.H, K = body.K, V = body.V;
  double err = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < V; ++j) {
        double want = n.C[(h * K + i) * V + j];
        for (int64_t l = 0; l < K; ++l)
          want += n.A[(h * K + i) * K + l] * x->data[body.at(h, l, j)];
        err += std::pow(y->data[body.at(h, i, j)] - want, 2);
      }
  return err <= kTol * kTol * (sumSq(y->data) + 1e-300);
}

/// The recurrence a body computes: its sub-steps, q and the scale.
struct Recognised {
  SmallVector<Step> steps;
  int q = -1;
  double scale = 1.0;
};

std::optional<Recognised> recognise(const Body &body, uint64_t seed) {
  StepInputs p = randomInputs(*body.scan, seed);
  auto base = evaluateStep(*body.scan, p);
  if (!base)
    return std::nullopt;
  Explainer ex{body, {}, {}};
  for (const Entry &e : body.dict)
    ex.values.push_back(base->get(e.value)->data);
  // Fewest sub-steps: from each cut, the longest span that is one step.
  Recognised r;
  size_t start = 0, last = body.chain.size() - 1;
  while (start < last) {
    size_t end = last;
    for (; end > start; --end) {
      auto n = spanNumbers(body, p, body.chain[start], body.chain[end]);
      if (!n)
        return std::nullopt;
      auto step = ex.explain(*n);
      if (!step || (step->pureDecay() && end != last) ||
          !affine(body, *base, *n, body.chain[start], body.chain[end]))
        continue;
      r.steps.push_back(*step);
      break;
    }
    if (end == start)
      return std::nullopt;
    start = end;
  }
  if (start != last || r.steps.empty())
    return std::nullopt;
  auto out = ex.output(*base);
  if (!out)
    return std::nullopt;
  std::tie(r.q, r.scale) = *out;
  return r;
}

//===----------------------------------------------------------------------===//
// Rewrite
//===----------------------------------------------------------------------===//

/// How the gate of the whole recurrence is given.
struct GatePlan {
  mix::GateKind kind = mix::GateKind::none;
  bool log = true; // every decay is exp(x) of a body value x (or none)
};

/// The argument of the element-wise exp computing `decay`, or null.
Value exponentOf(Value decay) {
  linalg::GenericOp g = expGeneric(decay.getDefiningOp());
  return g ? g.getDpsInputs()[0] : Value();
}

GatePlan planGate(const Body &body, const Recognised &r) {
  GatePlan plan;
  for (const Step &s : r.steps) {
    if (s.decay < 0)
      continue;
    const Entry &e = body.dict[s.decay];
    plan.log &= static_cast<bool>(exponentOf(e.value));
    auto kind = e.kind == EntryKind::scalar ? mix::GateKind::scalar
                                            : mix::GateKind::vector;
    if (plan.kind != mix::GateKind::vector)
      plan.kind = kind;
  }
  return plan;
}

/// Builds the per-step operands inside the fission loop's body.
struct StepBuilder {
  OpBuilder &b;
  Location loc;
  const Body &body;
  IRMapping &map;
  Type elem;

  Value constant(const Shape &shape, double value) const {
    return splatTensor(b, loc, shape, elem, value);
  }
  /// A dictionary value (or a value it is computed from) in the loop, as
  /// [H] or [H, n], in `elem`.
  Value entry(Value v, std::optional<int64_t> n) const {
    Shape s = {body.H};
    if (n)
      s.push_back(*n);
    return castedTo(b, loc, reshaped(b, loc, map.lookupOrDefault(v), s), elem);
  }
  Value mul(Value x, Value y) const { return multiplied(b, loc, x, y); }
  /// A per-head [H] value broadcast to [H, n].
  Value perHead(Value x, int64_t n) const {
    return broadcastTrailing(b, loc, x, {body.H, n});
  }
  Value decay(int d, int64_t n) const {
    const Entry &e = body.dict[d];
    if (e.kind == EntryKind::scalar)
      return perHead(entry(e.value, std::nullopt), n);
    return entry(e.value, n);
  }
  Value term(const Term &t, int decayEntry, int64_t n) const {
    if (t.vec < 0)
      return constant({body.H, n}, 0.0);
    Value x = entry(body.dict[t.vec].value, n);
    if (t.timesDecay && decayEntry >= 0)
      x = mul(x, decay(decayEntry, n));
    if (t.scalar >= 0)
      x = mul(x, perHead(entry(body.dict[t.scalar].value, std::nullopt), n));
    if (t.negate)
      x = negated(b, loc, x);
    return x;
  }
  Value gate(const Step &s, const GatePlan &plan) const {
    bool vector = plan.kind == mix::GateKind::vector;
    Shape shape = {body.H};
    if (vector)
      shape.push_back(body.K);
    if (s.decay < 0)
      return constant(shape, plan.log ? 0.0 : 1.0);
    const Entry &e = body.dict[s.decay];
    Value x = plan.log ? logOfExp(b, map.lookup(e.value)) : e.value;
    bool scalar = e.kind == EntryKind::scalar;
    Value g = entry(x, scalar ? std::nullopt : std::optional(body.K));
    return scalar && vector ? perHead(g, body.K) : g;
  }
};

/// The operands of every (token, sub-step), written by a loop of their own.
/// Returns the stacked [T * n, H, ...] arrays q, k, v, a, b, g (a, b and g
/// null when unused), in `elem`.
std::optional<SmallVector<Value, 6>> fissionOperands(const Body &body,
                                                     const Recognised &r,
                                                     const GatePlan &plan,
                                                     Type elem) {
  int64_t T = body.scan->length, n = r.steps.size(), H = body.H;
  int64_t Tn = T * n, K = body.K, V = body.V;
  bool lowRank =
      llvm::any_of(r.steps, [](const Step &s) { return s.a.vec >= 0; });
  bool gated = plan.kind != mix::GateKind::none;
  // Stacks: q, k, v, [a, b], [g].
  SmallVector<Shape> stackShapes = {{Tn, H, K}, {Tn, H, K}, {Tn, H, V}};
  if (lowRank)
    stackShapes.append({{Tn, H, 1, K}, {Tn, H, 1, K}});
  if (gated)
    stackShapes.push_back(plan.kind == mix::GateKind::vector ? Shape{Tn, H, K}
                                                             : Shape{Tn, H});
  SmallVector<Value> roots = {body.dict[r.q].value};
  for (const Step &s : r.steps) {
    for (const Term *t : {&s.a, &s.b, &s.k, &s.v})
      for (int e : {t->vec, t->scalar})
        if (e >= 0)
          roots.push_back(body.dict[e].value);
    if (s.decay >= 0) {
      Value d = body.dict[s.decay].value;
      roots.push_back(plan.log ? exponentOf(d) : d);
      roots.push_back(d);
    }
  }
  Location loc = body.scan->loop->getLoc();
  auto write = [&](OpBuilder &bb, IRMapping &map, Value step,
                   MutableArrayRef<Value> stacks) {
    StepBuilder sb{bb, loc, body, map, elem};
    for (auto [j, s] : llvm::enumerate(r.steps)) {
      Value at = step;
      if (n > 1) {
        Value times = arith::ConstantIndexOp::create(bb, loc, n);
        Value plus = arith::ConstantIndexOp::create(bb, loc, j);
        at = arith::AddIOp::create(
            bb, loc, arith::MulIOp::create(bb, loc, step, times), plus);
      }
      SmallVector<Value> values = {
          j + 1 == r.steps.size() ? sb.entry(body.dict[r.q].value, K)
                                  : sb.constant({H, K}, 0.0),
          sb.term(s.k, s.decay, K), sb.term(s.v, s.decay, V)};
      if (lowRank) {
        values.push_back(
            reshaped(bb, loc, sb.term(s.a, s.decay, K), {H, 1, K}));
        values.push_back(
            reshaped(bb, loc, sb.term(s.b, s.decay, K), {H, 1, K}));
      }
      if (gated)
        values.push_back(sb.gate(s, plan));
      for (auto [x, stack] : llvm::zip(values, stacks))
        stack = writeStep(bb, loc, stack, x, at);
    }
  };
  SmallVector<Value> stacks =
      fission(*body.scan, roots, stackShapes, elem, write);
  SmallVector<Value, 6> out(stacks.begin(), stacks.end());
  if (!lowRank)
    out.insert(out.begin() + 3, {Value(), Value()});
  if (!gated)
    out.push_back(Value());
  return out;
}

bool rewrite(const Body &body, const Recognised &r, const GatePlan &plan) {
  const StepLoop &scan = *body.scan;
  Operation *loop = scan.loop;
  Type elem = elementTypeOf(body.dict[r.q].value);
  if (!elem.isF32() && !elem.isF16() && !elem.isBF16())
    return false; // mix ops take f32, f16 and bf16
  auto stacks = fissionOperands(body, r, plan, elem);
  if (!stacks)
    return false;
  OpBuilder b(loop);
  Location loc = loop->getLoc();
  int64_t T = scan.length, n = r.steps.size(), H = body.H;
  int64_t K = body.K, V = body.V;
  auto withBatch = [&](Value x) {
    if (!x)
      return x;
    Shape s = staticShapeOf(x);
    s.insert(s.begin(), 1);
    return reshaped(b, loc, x, s);
  };
  Value q = withBatch((*stacks)[0]), k = withBatch((*stacks)[1]),
        v = withBatch((*stacks)[2]), a = withBatch((*stacks)[3]),
        bb = withBatch((*stacks)[4]), g = withBatch((*stacks)[5]);

  Value stateInit = scan.init(scan.state);
  Value init = mixInitialState(b, loc, stateInit, body.vk, 1, H, K, V);
  Type f32 = b.getF32Type();
  auto op = mix::RecurrenceOp::create(
      b, loc, RankedTensorType::get({1, T * n, H, V}, elem),
      RankedTensorType::get({1, H, K, V}, f32), q, k, v, a, bb, g, init,
      Value(), Value(), mix::GateKindAttr::get(b.getContext(), plan.kind),
      mix::DecayKindAttr::get(b.getContext(), plan.log
                                                  ? mix::DecayKind::log
                                                  : mix::DecayKind::signed_),
      b.getF32FloatAttr(float(r.scale)), IntegerAttr());

  SmallVector<Value> results = passThroughResults(b, loc, scan);
  Shape stateShape = staticShapeOf(stateInit);
  Value fs = op.getFinalState();
  if (body.vk) {
    Shape kv(stateShape.begin(), stateShape.end() - 2);
    kv.append({K, V});
    fs = swappedLastDims(b, loc, reshaped(b, loc, fs, kv));
  }
  results[scan.state] = castedTo(b, loc, reshaped(b, loc, fs, stateShape),
                                 elementTypeOf(stateInit));
  // The outputs of the last sub-steps, [T, prefix..., V], time at the
  // write's dim.
  Value o = reshaped(b, loc, op.getO(), {T, n, H, V});
  if (n > 1) {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                         b.getIndexAttr(n - 1),
                                         b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(T), b.getIndexAttr(1),
                                       b.getIndexAttr(H), b.getIndexAttr(V)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    o = tensor::ExtractSliceOp::create(b, loc, o, offsets, sizes, strides);
  }
  Shape perStep = body.prefix;
  perStep.insert(perStep.begin(), T);
  perStep.push_back(V);
  const StepWrite &w = *scan.write;
  Value acc = loop->getResult(w.carried);
  results[w.carried] = castedTo(
      b, loc,
      movedDim(b, loc, asWritten(b, loc, scan, reshaped(b, loc, o, perStep), 0),
               0, w.dim),
      elementTypeOf(acc));
  replaceLoop(scan, results);
  return true;
}

} // namespace

bool raiseToRecurrence(const StepLoop &scan) {
  if (!scan.write || staticShapeOf(scan.init(scan.state)).size() < 2)
    return false;
  for (bool vk : {false, true}) {
    auto body = describe(scan, vk);
    if (!body)
      continue;
    auto first = recognise(*body, 0x5eed3), second = recognise(*body, 0x5eed4);
    if (!first || !second || first->steps != second->steps ||
        first->q != second->q ||
        std::abs(first->scale - second->scale) > 1e-8 * std::abs(first->scale))
      continue;
    return rewrite(*body, *first, planGate(*body, *first));
  }
  return false;
}

} // namespace mixir::raise
