//===- StepLoop.cpp - loops over the steps of a sequence ------------------===//
#include "StepLoop.h"
#include "TensorUtils.h"

#include "mixir/Transforms/Recurrences.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace mixir::raise {
namespace {

/// Records why the analysis of `s` stopped; returns false.
bool stop(StepLoop &s, const Twine &why) {
  s.why = why.str();
  return false;
}

Shape shapeOf(Value v) {
  Shape s;
  staticShape(v.getType(), s);
  return s;
}

/// `v` (computed in `block` from `var` and constants only) for var = x,
/// as an integer; records in `used` the ops on the way that read `var`.
std::optional<int64_t> valueAt(Block *block, Value var, Value v, int64_t x,
                               DenseSet<Operation *> *used = nullptr) {
  BodyEvaluator ev;
  Shape shape = shapeOf(var);
  ev.set(var, HostTensor{shape, std::vector<double>(1, double(x))});
  DenseSet<Value> reading = {var};
  for (Operation *op : opsComputing(block, {v})) {
    bool reads = false;
    for (Value operand : op->getOperands()) {
      if (auto a = dyn_cast<BlockArgument>(operand);
          a && a != var && a.getOwner() == block)
        return std::nullopt;
      reads |= reading.contains(operand);
    }
    if (!BodyEvaluator::canEvaluate(op) || failed(ev.evaluate(op)))
      return std::nullopt;
    if (!reads)
      continue;
    reading.insert(op->getResults().begin(), op->getResults().end());
    if (used)
      used->insert(op);
  }
  const HostTensor *t = ev.get(v);
  if (!t || t->data.size() != 1)
    return std::nullopt;
  return int64_t(t->data[0]);
}

/// scf.for from 0 to a constant T by 1.
bool forLoop(scf::ForOp loop, StepLoop &s) {
  APInt lb, ub, step;
  if (!matchPattern(loop.getLowerBound(), m_ConstantInt(&lb)) ||
      !matchPattern(loop.getUpperBound(), m_ConstantInt(&ub)) ||
      !matchPattern(loop.getStep(), m_ConstantInt(&step)) || !lb.isZero() ||
      !step.isOne() || ub.getSExtValue() < 1)
    return stop(s, "the loop does not run from 0 to a constant by 1");
  s.body = loop.getBody();
  s.counter = loop.getInductionVar();
  s.length = ub.getSExtValue();
  s.firstInit = 3;
  return true;
}

/// The length of an scf.while whose condition is a function of carried
/// value `j` alone, true on 0..T-1 and false at T.
std::optional<int64_t> whileLength(scf::WhileOp loop, unsigned j) {
  Block &before = loop.getBefore().front();
  auto cond = cast<scf::ConditionOp>(before.getTerminator());
  if (ValueRange(cond.getArgs()) != ValueRange(before.getArguments()))
    return std::nullopt;
  Value var = before.getArgument(j), c = cond.getCondition();
  auto holds = [&](int64_t x) { return valueAt(&before, var, c, x); };
  if (holds(0) != 1)
    return std::nullopt;
  int64_t hi = 1;
  while (hi < (int64_t(1) << 31) && holds(hi) == 1)
    hi *= 2;
  if (holds(hi) != 0)
    return std::nullopt;
  int64_t lo = hi / 2; // holds(lo) == 1
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    auto h = holds(mid);
    if (!h)
      return std::nullopt;
    (*h ? lo : hi) = mid;
  }
  return hi;
}

/// scf.while with a carried counter from 0 by 1 while below a constant.
bool whileLoop(scf::WhileOp loop, StepLoop &s) {
  s.body = &loop.getAfter().front();
  s.firstInit = 0;
  if (loop.getBefore().front().getNumArguments() != loop.getNumResults() ||
      s.body->getNumArguments() != loop.getNumResults())
    return stop(s, "the loop's regions do not carry the same values");
  for (unsigned j = 0; j < loop.getNumResults(); ++j) {
    Value arg = s.body->getArgument(j), next = s.yielded(j);
    BodyEvaluator ev;
    Value start = loop.getInits()[j];
    const HostTensor *init =
        matchPattern(start, m_Constant()) ? ev.get(start) : nullptr;
    if (!init || init->data.size() != 1 || init->data[0] != 0.0 ||
        valueAt(s.body, arg, next, 0) != 1 ||
        valueAt(s.body, arg, next, 7) != 8)
      continue;
    auto length = whileLength(loop, j);
    if (!length)
      continue;
    s.counter = arg;
    s.counterCarried = j;
    s.length = *length;
    (void)valueAt(s.body, arg, next, 0, &s.indexOps);
    return true;
  }
  return stop(s, "no carried counter runs from 0 by 1 to a constant bound");
}

/// Where a slice at the step sits: its time dim, and whether step i is at
/// T - 1 - i (a scan backwards).
struct StepPosition {
  int64_t dim;
  bool reversed;
};

/// The position of a slice at the step with `offsets`, `sizes` and unit
/// strides into `full`: the counter (or T - 1 - counter) in one dim with
/// the full extent T, 0 and the full size in the others.
std::optional<StepPosition> stepDim(StepLoop &s, ArrayRef<OpFoldResult> offsets,
                                    ArrayRef<OpFoldResult> sizes,
                                    ArrayRef<OpFoldResult> strides,
                                    ArrayRef<int64_t> full) {
  if (offsets.size() != full.size())
    return std::nullopt;
  std::optional<StepPosition> pos;
  int64_t last = s.length - 1;
  for (size_t d = 0; d < full.size(); ++d) {
    auto size = getConstantIntValue(sizes[d]);
    if (getConstantIntValue(strides[d]) != 1 || !size)
      return std::nullopt;
    auto at = [&](int64_t x) -> std::optional<int64_t> {
      if (auto c = getConstantIntValue(offsets[d]))
        return *c;
      return valueAt(s.body, s.counter, cast<Value>(offsets[d]), x,
                     &s.indexOps);
    };
    // (With one step, position 1 is out of range: clamped reads give 0.)
    bool forward =
        at(0) == 0 && (s.length == 1 || at(1) == 1) && at(last) == last;
    bool backward =
        s.length > 1 && at(0) == last && at(1) == last - 1 && at(last) == 0;
    if ((forward || backward) && !pos && *size == 1 && full[d] == s.length) {
      pos = StepPosition{int64_t(d), !forward};
      continue;
    }
    if (at(0) != 0 || at(last) != 0 || *size != full[d])
      return std::nullopt;
  }
  return pos;
}

Shape without(ArrayRef<int64_t> shape, int64_t dim) {
  Shape out(shape);
  out.erase(out.begin() + dim);
  return out;
}

/// The read `slice` is, when it reads `array` at the step.
std::optional<StepRead> readOf(StepLoop &s, tensor::ExtractSliceOp slice,
                               Value array) {
  Shape full = shapeOf(slice.getSource());
  if (full.empty())
    return std::nullopt;
  auto dim = stepDim(s, slice.getMixedOffsets(), slice.getMixedSizes(),
                     slice.getMixedStrides(), full);
  if (!dim)
    return std::nullopt;
  return StepRead{array, dim->dim, slice, without(full, dim->dim),
                  dim->reversed};
}

/// Sorts the carried values into the counter, pass-through arrays, the
/// stacked output and the state.
bool classifyCarried(StepLoop &s) {
  std::optional<unsigned> state;
  for (unsigned i = 0; i < s.numCarried(); ++i) {
    if (i == s.counterCarried)
      continue;
    Value arg = s.arg(i), next = s.yielded(i);
    if (next == arg) {
      s.passThrough.push_back(i);
      for (Operation *user : arg.getUsers()) {
        auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
        auto read = slice ? readOf(s, slice, s.init(i)) : std::nullopt;
        if (user != s.yield && !read)
          return stop(s, "a carried array is read other than at the step");
        if (read)
          s.reads.push_back(*read);
      }
      continue;
    }
    auto insert = next.getDefiningOp<tensor::InsertSliceOp>();
    if (insert && insert.getDest() == arg && arg.hasOneUse() && !s.write) {
      Shape full = shapeOf(arg);
      auto dim = full.empty() ? std::nullopt
                              : stepDim(s, insert.getMixedOffsets(),
                                        insert.getMixedSizes(),
                                        insert.getMixedStrides(), full);
      if (!dim)
        return stop(s, "the output is not written at the step");
      s.write = StepWrite{i,
                          dim->dim,
                          insert.getSource(),
                          insert,
                          without(full, dim->dim),
                          dim->reversed};
      continue;
    }
    if (shapeOf(arg).empty())
      return stop(s, "a carried value is a scalar or has a dynamic shape");
    if (state)
      return stop(s, "it carries more than one state");
    state = i;
  }
  if (!state)
    return stop(s, "it carries no state");
  s.state = *state;
  return true;
}

/// Per-step reads of arrays defined outside the loop (ONNX Scan's inputs).
bool readsFromOutside(StepLoop &s) {
  for (Operation &op : *s.body) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(op);
    if (!slice || !slice.getSource().getParentRegion()->isAncestor(
                      s.loop->getParentRegion()))
      continue;
    auto read = readOf(s, slice, slice.getSource());
    if (!read)
      return stop(s, "an array from outside is read other than at the step");
    s.reads.push_back(*read);
  }
  return true;
}

/// Everything evaluated is a pure op the evaluator knows, reading the state,
/// the reads, constants and other evaluated values only.
bool pureBody(StepLoop &s) {
  for (Operation &op : *s.body) {
    if (!evaluatedInStep(s, op))
      continue;
    if (!BodyEvaluator::canEvaluate(&op))
      return stop(s, "the step evaluator does not know '" +
                         op.getName().getStringRef() + "'");
    for (Value v : op.getOperands()) {
      Operation *def = v.getDefiningOp();
      if (auto a = dyn_cast<BlockArgument>(v); a && a.getOwner() == s.body) {
        if (a == s.counter)
          return stop(s, "the step depends on its position");
        if (a != s.arg(s.state))
          return stop(s, "the step reads a carried value other than the "
                         "state");
      } else if (def && def->getBlock() == s.body) {
        if (s.indexOps.contains(def))
          return stop(s, "the step depends on its position");
      } else if (!isRead(s, def) && !matchPattern(v, m_Constant()) &&
                 !v.getDefiningOp<tensor::EmptyOp>()) {
        // (CSE may share an empty tensor from outside)
        return stop(s, "the step reads a value from outside the loop that "
                       "is neither a per-step read nor a constant");
      }
    }
  }
  return true;
}

} // namespace

/// The loop's counter and length.
static bool countedLoop(Operation *loop, StepLoop &s) {
  if (auto f = dyn_cast<scf::ForOp>(loop)) {
    s.yield = f.getBody()->getTerminator();
    return forLoop(f, s);
  }
  auto w = dyn_cast<scf::WhileOp>(loop);
  if (!w)
    return stop(s, "not an scf.for or scf.while");
  if (!w.getBefore().hasOneBlock() || !w.getAfter().hasOneBlock())
    return stop(s, "a region of the loop has several blocks");
  s.yield = w.getAfter().front().getTerminator();
  return whileLoop(w, s);
}

static bool analyse(StepLoop &s) {
  if (!countedLoop(s.loop, s) || !classifyCarried(s) || !readsFromOutside(s))
    return false;
  if (!s.write)
    return stop(s, "it stacks no per-step output");
  if (!pureBody(s))
    return false;
  // An empty state explains every probe and divides by zero later.
  if (llvm::is_contained(staticShapeOf(s.init(s.state)), 0))
    return stop(s, "the state is empty");
  return true;
}

std::optional<StepLoop> analyseStepLoop(Operation *loop, std::string *why) {
  StepLoop s;
  s.loop = loop;
  if (analyse(s))
    return s;
  if (why)
    *why = s.why;
  return std::nullopt;
}

Value StepLoop::next() const {
  Value v = yielded(state);
  if (auto copy = v.getDefiningOp<linalg::CopyOp>();
      copy && copy.getOutputs()[0] == arg(state))
    return copy.getInputs()[0];
  return v;
}

bool isRead(const StepLoop &s, Operation *op) {
  return llvm::any_of(s.reads,
                      [&](const StepRead &r) { return r.slice == op; });
}

bool evaluatedInStep(const StepLoop &s, Operation &op) {
  return &op != s.yield && !isRead(s, &op) &&
         !(s.write && s.write->insert == &op) && !s.indexOps.contains(&op);
}

double sumSq(ArrayRef<double> x) {
  double sum = 0;
  for (double e : x)
    sum += e * e;
  return sum;
}

HostTensor randomTensor(ArrayRef<int64_t> shape, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  HostTensor t{Shape(shape), {}};
  t.data.resize(t.numElements());
  for (double &x : t.data)
    x = dist(rng);
  return t;
}

StepInputs randomInputs(const StepLoop &s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  StepInputs in;
  in.state = randomTensor(shapeOf(s.arg(s.state)), rng);
  for (const StepRead &r : s.reads)
    in.reads.push_back(randomTensor(shapeOf(r.slice->getResult(0)), rng));
  return in;
}

std::optional<BodyEvaluator> evaluateStep(const StepLoop &s,
                                          const StepInputs &in, Value at,
                                          const HostTensor *with) {
  BodyEvaluator ev;
  ev.set(s.arg(s.state), in.state);
  for (auto [r, x] : llvm::zip(s.reads, in.reads)) {
    HostTensor t = x;
    t.shape = shapeOf(r.slice->getResult(0));
    ev.set(r.slice->getResult(0), std::move(t));
  }
  if (at)
    ev.set(at, *with);
  for (Operation &op : *s.body) {
    if (!evaluatedInStep(s, op) ||
        (op.getNumResults() && ev.get(op.getResult(0))))
      continue;
    if (failed(ev.evaluate(&op)))
      return std::nullopt;
  }
  return ev;
}

} // namespace mixir::raise
