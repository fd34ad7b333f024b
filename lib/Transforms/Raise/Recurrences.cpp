//===- Recurrences.cpp - which mix recurrence a loop step computes --------===//
//
// A loop whose body maps (S, x_1[i], ..., x_m[i]) to (S', y[i]) by one of the
// mix recurrences is one mix op. The body is not recognised by the shape of
// its expression tree (a user can write k @ S, einsum or an outer product as
// broadcasts, the state as [K, V] or [V, K], the gate before or after) but by
// what it computes: the loop raisers evaluate it in float64 on two sets of
// random inputs, and each candidate (op, gate kind, qk_l2norm,
// allow_neg_eigval, which input plays q/k/v/beta/g, state orientation) is
// computed here on the same inputs; a candidate is accepted when the new
// state agrees to 1e-9 and the output equals a fixed multiple of the
// candidate's (that multiple is the op's scale) on both sets. The body must
// consist of pure ops the evaluator knows and may read nothing from outside
// but constants, so it is an analytic function of its inputs, and agreeing
// with another analytic function at random points means being it, up to
// events of probability zero.
//
//===----------------------------------------------------------------------===//
#include "mixir/Transforms/Recurrences.h"

#include "llvm/ADT/SetVector.h"

#include <cmath>
#include <numeric>

using namespace mlir;

namespace mixir::raise {
namespace {

using Shape = SmallVector<int64_t>;
using Role = RecurrenceRole;

/// The candidate's new state (as [H, K, V]) and output ([H, V], scale 1) for
/// per-step inputs `x` (one per read, flat) and state `s` (flat, body order).
void compute(const RecurrenceCandidate &c,
             ArrayRef<const std::vector<double> *> x,
             const std::vector<double> &s, std::vector<double> &newState,
             std::vector<double> &out) {
  int64_t H = c.heads, K = c.keyDim, V = c.valueDim;
  const std::vector<double> *in[5] = {};
  for (auto [i, role] : llvm::enumerate(c.roles))
    in[int(role)] = x[i];
  newState.assign(H * K * V, 0.0);
  out.assign(H * V, 0.0);
  std::vector<double> q(K), k(K);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 0; i < K; ++i) {
      q[i] = (*in[int(Role::q)])[h * K + i];
      k[i] = (*in[int(Role::k)])[h * K + i];
    }
    if (c.l2norm) {
      for (auto *vec : {&q, &k}) {
        double ss = 0;
        for (double e : *vec)
          ss += e * e;
        double r = 1.0 / std::sqrt(ss + 1e-6);
        for (double &e : *vec)
          e *= r;
      }
    }
    double *S = &newState[h * K * V];
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < V; ++j) {
        double prev =
            c.stateVK ? s[h * K * V + j * K + i] : s[h * K * V + i * V + j];
        double decay = 1.0;
        if (c.gate == mix::GateKind::scalar)
          decay = std::exp((*in[int(Role::g)])[h]);
        else if (c.gate == mix::GateKind::vector)
          decay = std::exp((*in[int(Role::g)])[h * K + i]);
        S[i * V + j] = decay * prev;
      }
    for (int64_t j = 0; j < V; ++j) {
      double vj = (*in[int(Role::v)])[h * V + j];
      if (c.delta) {
        double ks = 0;
        for (int64_t i = 0; i < K; ++i)
          ks += k[i] * S[i * V + j];
        vj = (c.negEigval ? 2.0 : 1.0) * (*in[int(Role::beta)])[h] * (vj - ks);
      }
      for (int64_t i = 0; i < K; ++i)
        S[i * V + j] += k[i] * vj;
    }
    for (int64_t j = 0; j < V; ++j) {
      double acc = 0;
      for (int64_t i = 0; i < K; ++i)
        acc += q[i] * S[i * V + j];
      out[h * V + j] = acc;
    }
  }
}

double norm(ArrayRef<double> a) {
  double s = 0;
  for (double e : a)
    s += e * e;
  return std::sqrt(s);
}

} // namespace

SmallVector<RecurrenceCandidate>
recurrenceCandidates(ArrayRef<Shape> readSteps, ArrayRef<int64_t> writeStep,
                     ArrayRef<int64_t> stateShape) {
  SmallVector<RecurrenceCandidate> out;
  Shape prefix(stateShape.drop_back(2));
  int64_t a = stateShape[stateShape.size() - 2], b = stateShape.back();
  int64_t heads = 1;
  for (int64_t d : prefix)
    heads *= d;
  auto is = [&](ArrayRef<int64_t> step, std::optional<int64_t> last) {
    Shape want = prefix;
    if (last)
      want.push_back(*last);
    return Shape(step) == want;
  };
  struct Form {
    bool delta;
    mix::GateKind gate;
    SmallVector<Role> roles;
  };
  using G = mix::GateKind;
  const Form forms[] = {
      {false, G::none, {Role::q, Role::k, Role::v}},
      {false, G::scalar, {Role::q, Role::k, Role::v, Role::g}},
      {false, G::vector, {Role::q, Role::k, Role::v, Role::g}},
      {true, G::none, {Role::q, Role::k, Role::v, Role::beta}},
      {true, G::scalar, {Role::q, Role::k, Role::v, Role::beta, Role::g}},
      {true, G::vector, {Role::q, Role::k, Role::v, Role::beta, Role::g}},
  };
  size_t m = readSteps.size();
  for (bool vk : {false, true}) {
    int64_t K = vk ? b : a, V = vk ? a : b;
    Shape outStep = prefix;
    outStep.push_back(V);
    if (Shape(writeStep) != outStep)
      continue;
    for (const Form &form : forms) {
      if (form.roles.size() != m)
        continue;
      // Try every permutation of the roles over the reads.
      SmallVector<unsigned> perm(m);
      std::iota(perm.begin(), perm.end(), 0u);
      do {
        RecurrenceCandidate c;
        c.delta = form.delta;
        c.gate = form.gate;
        c.stateVK = vk;
        c.heads = heads;
        c.keyDim = K;
        c.valueDim = V;
        c.roles.resize(m);
        bool fits = true;
        for (size_t i = 0; i < m && fits; ++i) {
          Role role = form.roles[perm[i]];
          c.roles[i] = role;
          ArrayRef<int64_t> r = readSteps[i];
          switch (role) {
          case Role::q:
          case Role::k:
            fits = is(r, K);
            break;
          case Role::v:
            fits = is(r, V);
            break;
          case Role::beta:
            fits = is(r, std::nullopt);
            break;
          case Role::g:
            fits = form.gate == G::vector ? is(r, K) : is(r, std::nullopt);
            break;
          }
        }
        if (!fits)
          continue;
        out.push_back(c);
        if (c.delta) {
          // With qk_l2norm and/or allow_neg_eigval (the body doubles beta).
          for (auto [l2, neg] :
               {std::pair{true, false}, {false, true}, {true, true}}) {
            c.l2norm = l2;
            c.negEigval = neg;
            out.push_back(c);
          }
        }
      } while (std::next_permutation(perm.begin(), perm.end()));
    }
  }
  return out;
}

/// True when `c` reproduces the probe; sets its scale.
bool matchesProbe(RecurrenceCandidate &c, const RecurrenceProbe &p,
                  std::optional<double> knownScale) {
  SmallVector<const std::vector<double> *> x;
  for (const auto &in : p.inputs)
    x.push_back(&in);
  std::vector<double> ns, out;
  compute(c, x, p.state, ns, out);
  // The body's new state in [H, K, V] order.
  int64_t H = c.heads, K = c.keyDim, V = c.valueDim;
  double diff = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < V; ++j) {
        double body = c.stateVK ? p.newState[h * K * V + j * K + i]
                                : p.newState[h * K * V + i * V + j];
        double d = body - ns[h * K * V + i * V + j];
        diff += d * d;
      }
  if (!(std::sqrt(diff) <= 1e-9 * (norm(ns) + 1e-30)))
    return false;
  double dot = 0, oo = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    dot += out[i] * p.out[i];
    oo += out[i] * out[i];
  }
  if (!(oo > 0))
    return false;
  double scale = knownScale ? *knownScale : dot / oo;
  double err = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    double d = p.out[i] - scale * out[i];
    err += d * d;
  }
  // mix ops take a positive, finite f32 scale.
  if (!std::isfinite(scale) || !(scale > 0.0) ||
      !std::isfinite(static_cast<float>(scale)) ||
      static_cast<float>(scale) == 0.0f ||
      !(std::sqrt(err) <= 1e-9 * (norm(p.out) + 1e-30)))
    return false;
  c.scale = scale;
  return true;
}

std::optional<RecurrenceCandidate>
findRecurrence(ArrayRef<Shape> readSteps, ArrayRef<Type> readTypes,
               ArrayRef<int64_t> writeStep, ArrayRef<int64_t> stateShape,
               const RecurrenceProbe &first, const RecurrenceProbe &second) {
  if (!llvm::all_of(readTypes, [](Type t) {
        return t.isF32() || t.isF16() || t.isBF16();
      }))
    return std::nullopt;
  for (RecurrenceCandidate &c :
       recurrenceCandidates(readSteps, writeStep, stateShape))
    if (matchesProbe(c, first, std::nullopt) &&
        matchesProbe(c, second, c.scale))
      return c;
  return std::nullopt;
}

SmallVector<Operation *> opsComputing(Block *block, ArrayRef<Value> roots) {
  llvm::SetVector<Operation *> needed;
  SmallVector<Value> work(roots.begin(), roots.end());
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != block || !needed.insert(def))
      continue;
    llvm::append_range(work, def->getOperands());
  }
  SmallVector<Operation *> out;
  for (Operation &op : *block)
    if (needed.contains(&op))
      out.push_back(&op);
  return out;
}

RecurrenceOp createRecurrenceOp(OpBuilder &b, Location loc,
                                const RecurrenceCandidate &c,
                                ArrayRef<Value> operands, Value initialState,
                                int64_t outer, int64_t T, int64_t inner) {
  int64_t K = c.keyDim, V = c.valueDim;
  Value q = operands[int(Role::q)], k = operands[int(Role::k)],
        v = operands[int(Role::v)], beta = operands[int(Role::beta)],
        g = operands[int(Role::g)];
  Type elem = cast<ShapedType>(q.getType()).getElementType();
  auto oType = RankedTensorType::get({outer, T, inner, V}, elem);
  auto sType = RankedTensorType::get({outer, inner, K, V}, b.getF32Type());
  auto gateAttr = mix::GateKindAttr::get(b.getContext(), c.gate);
  auto scaleAttr = b.getF32FloatAttr(float(c.scale));
  if (c.delta) {
    auto op = mix::DeltaRuleOp::create(
        b, loc, oType, sType, q, k, v, beta, g, initialState, Value(), Value(),
        gateAttr, scaleAttr, c.l2norm ? b.getUnitAttr() : UnitAttr(),
        c.negEigval ? b.getUnitAttr() : UnitAttr(), IntegerAttr());
    return {op.getO(), op.getFinalState()};
  }
  auto op = mix::LinearAttentionOp::create(b, loc, oType, sType, q, k, v, g,
                                           initialState, Value(), Value(),
                                           gateAttr, scaleAttr, IntegerAttr());
  return {op.getO(), op.getFinalState()};
}

} // namespace mixir::raise
