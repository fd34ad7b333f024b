//===- ScanLoop.cpp - lax.scan loops in the flat StableHLO form -----------===//
#include "ScanLoop.h"
#include "Convert.h"
#include "Evaluator.h"

using namespace mlir;

namespace mixir::stablehlo_import::scan {

using Shape = SmallVector<int64_t>;

bool isOp(Operation *op, StringRef name) {
  return op && op->getName().getStringRef() == name;
}

Shape shapeOf(Value v) {
  Shape s;
  staticShape(v.getType(), s);
  return s;
}

Shape without(ArrayRef<int64_t> shape, int64_t dim) {
  Shape s(shape);
  s.erase(s.begin() + dim);
  return s;
}

namespace {

/// The body's index operand is the counter (possibly converted).
bool isCounter(Value v, BlockArgument counter) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isOp(def, "stablehlo.convert") && !isOp(def, "stablehlo.reshape"))
      break;
    v = def->getOperand(0);
  }
  return v == counter;
}

/// The time dim of a dynamic_slice / dynamic_update_slice whose start
/// indices are the counter in one dim and constant zero in the others.
std::optional<int64_t> timeDim(ValueRange indices, BlockArgument counter) {
  std::optional<int64_t> dim;
  for (auto [d, idx] : llvm::enumerate(indices)) {
    if (isCounter(idx, counter)) {
      if (dim)
        return std::nullopt;
      dim = int64_t(d);
    } else if (splatConstant(idx) != 0.0) {
      return std::nullopt;
    }
  }
  return dim;
}

} // namespace

std::optional<ScanLoop> analyse(Operation *loop) {
  if (loop->getNumRegions() != 2 || !loop->getRegion(0).hasOneBlock() ||
      !loop->getRegion(1).hasOneBlock())
    return std::nullopt;
  Block &cond = loop->getRegion(0).front();
  Block &body = loop->getRegion(1).front();
  if (cond.empty() || body.empty())
    return std::nullopt;
  unsigned n = loop->getNumOperands();
  if (cond.getNumArguments() != n || body.getNumArguments() != n ||
      loop->getNumResults() != n)
    return std::nullopt;

  // cond: compare LT, %counter, %length.
  Operation *condRet = &cond.back();
  if (condRet->getNumOperands() != 1)
    return std::nullopt;
  Operation *cmp = condRet->getOperand(0).getDefiningOp();
  auto dir =
      cmp && isOp(cmp, "stablehlo.compare")
          ? dyn_cast_or_null<StringAttr>(cmp->getAttr("comparison_direction"))
          : StringAttr();
  if (!dir || dir.getValue() != "LT" || cmp->getNumOperands() != 2)
    return std::nullopt;
  auto counterArg = dyn_cast<BlockArgument>(cmp->getOperand(0));
  auto length = splatConstant(cmp->getOperand(1));
  if (!counterArg || counterArg.getOwner() != &cond || !length || *length < 1)
    return std::nullopt;
  ScanLoop scan;
  scan.loop = loop;
  scan.counter = counterArg.getArgNumber();
  scan.length = int64_t(*length);
  if (splatConstant(loop->getOperand(scan.counter)) != 0.0)
    return std::nullopt;

  Operation *ret = &body.back();
  if (ret->getNumOperands() != n)
    return std::nullopt;
  BlockArgument counter = body.getArgument(scan.counter);
  Operation *next = ret->getOperand(scan.counter).getDefiningOp();
  if (!isOp(next, "stablehlo.add") || next->getNumOperands() != 2 ||
      !((next->getOperand(0) == counter &&
         splatConstant(next->getOperand(1)) == 1.0) ||
        (next->getOperand(1) == counter &&
         splatConstant(next->getOperand(0)) == 1.0)))
    return std::nullopt;

  std::optional<unsigned> state;
  for (unsigned j = 0; j < n; ++j) {
    if (j == scan.counter)
      continue;
    BlockArgument arg = body.getArgument(j);
    Value result = ret->getOperand(j);
    Shape full = shapeOf(arg);
    if (full.empty() && !isa<RankedTensorType>(arg.getType()))
      return std::nullopt;
    if (result == arg) {
      // Passed through: a stacked input, read only at the counter.
      scan.invariants.push_back(j);
      for (Operation *user : arg.getUsers()) {
        if (user == ret)
          continue;
        if (!isOp(user, "stablehlo.dynamic_slice") ||
            user->getOperand(0) != arg || user->getNumResults() != 1)
          return std::nullopt;
        auto dim = timeDim(user->getOperands().drop_front(), counter);
        Shape window = shapeOf(user->getResult(0));
        if (!dim || full.size() != window.size() ||
            user->getNumOperands() != 1 + full.size() ||
            full[*dim] != scan.length || window[*dim] != 1)
          return std::nullopt;
        for (size_t d = 0; d < full.size(); ++d)
          if (int64_t(d) != *dim && window[d] != full[d])
            return std::nullopt;
        scan.reads.push_back({j, *dim, user, without(window, *dim)});
      }
      continue;
    }
    Operation *upd = result.getDefiningOp();
    if (isOp(upd, "stablehlo.dynamic_update_slice") &&
        upd->getNumOperands() >= 2 && upd->getOperand(0) == arg &&
        arg.hasOneUse()) {
      auto dim = timeDim(upd->getOperands().drop_front(2), counter);
      Shape window = shapeOf(upd->getOperand(1));
      if (!dim || scan.write || full.size() != window.size() ||
          upd->getNumOperands() != 2 + full.size() ||
          full[*dim] != scan.length || window[*dim] != 1)
        return std::nullopt;
      for (size_t d = 0; d < full.size(); ++d)
        if (int64_t(d) != *dim && window[d] != full[d])
          return std::nullopt;
      scan.write = Write{j, *dim, upd->getOperand(1), without(window, *dim)};
      continue;
    }
    if (state)
      return std::nullopt; // one state only
    state = j;
  }
  if (!state || !isa<RankedTensorType>(body.getArgument(*state).getType()))
    return std::nullopt;
  scan.state = *state;

  // Everything else in the body must be a pure op the evaluator knows,
  // reading only body values and constants.
  for (Operation &op : body) {
    if (&op == ret || &op == next ||
        llvm::any_of(scan.reads, [&](const Read &r) { return r.slice == &op; }))
      continue;
    if (scan.write && op.getNumResults() == 1 &&
        op.getResult(0) == ret->getOperand(scan.write->carried))
      continue;
    if (!Evaluator::canEvaluate(&op))
      return std::nullopt;
    for (Value v : op.getOperands()) {
      if (v == counter)
        return std::nullopt; // position-dependent body
      if (auto a = dyn_cast<BlockArgument>(v))
        if (a.getOwner() == &body && a.getArgNumber() != scan.state)
          return std::nullopt;
      if (v.getParentRegion() != &loop->getRegion(1) &&
          !isOp(v.getDefiningOp(), "stablehlo.constant"))
        return std::nullopt;
    }
  }
  return scan;
}

//===----------------------------------------------------------------------===//
// The body in float64
//===----------------------------------------------------------------------===//

HostTensor randomTensor(ArrayRef<int64_t> shape, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  HostTensor t;
  t.shape.assign(shape.begin(), shape.end());
  t.data.resize(t.numElements());
  for (double &x : t.data)
    x = dist(rng);
  return t;
}

BodyInputs randomInputs(const ScanLoop &scan, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Block &body = scan.loop->getRegion(1).front();
  BodyInputs in;
  in.state = randomTensor(shapeOf(body.getArgument(scan.state)), rng);
  for (const Read &r : scan.reads)
    in.reads.push_back(randomTensor(shapeOf(r.slice->getResult(0)), rng));
  return in;
}

double sumSq(ArrayRef<double> x) {
  double s = 0;
  for (double e : x)
    s += e * e;
  return s;
}

bool evaluatedInBody(const ScanLoop &scan, Operation &op) {
  Block &body = scan.loop->getRegion(1).front();
  return &op != &body.back() && !isOp(&op, "stablehlo.dynamic_update_slice") &&
         !llvm::is_contained(op.getOperands(), body.getArgument(scan.counter));
}

std::optional<Evaluator> evaluateBody(const ScanLoop &scan,
                                      const BodyInputs &in, Value at,
                                      const HostTensor *with) {
  Block &body = scan.loop->getRegion(1).front();
  Evaluator ev;
  ev.set(body.getArgument(scan.state), in.state);
  for (auto [r, x] : llvm::zip(scan.reads, in.reads))
    ev.set(r.slice->getResult(0), x);
  if (at)
    ev.set(at, *with);
  std::string error;
  for (Operation &op : body) {
    if (!evaluatedInBody(scan, op) ||
        (op.getNumResults() && ev.get(op.getResult(0))))
      continue;
    if (failed(ev.evaluate(&op, error)))
      return std::nullopt;
  }
  return ev;
}

//===----------------------------------------------------------------------===//
// Candidates
//===----------------------------------------------------------------------===//

Value broadcastTrailing(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> shape) {
  if (shapeOf(x) == Shape(shape))
    return x;
  auto dims = llvm::to_vector(llvm::seq<int64_t>(0, shapeOf(x).size()));
  return generic(
      b, loc, "stablehlo.broadcast_in_dim", x, tensorOf(shape, elementOf(x)),
      {b.getNamedAttr("broadcast_dimensions", b.getDenseI64ArrayAttr(dims))});
}

Value swapLastDims(OpBuilder &b, Location loc, Value x) {
  Shape perm = llvm::to_vector(llvm::seq<int64_t>(0, shapeOf(x).size()));
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose(b, loc, x, perm);
}

Value mixInitialState(OpBuilder &b, Location loc, Value stateInit, bool stateVK,
                      int64_t outer, int64_t inner, int64_t K, int64_t V) {
  if (splatConstant(stateInit) == 0.0)
    return {};
  Value s = stateVK ? swapLastDims(b, loc, stateInit) : stateInit;
  return convert(b, loc, reshape(b, loc, s, {outer, inner, K, V}),
                 b.getF32Type());
}

SmallVector<Value> passThroughResults(OpBuilder &b, Location loc,
                                      const ScanLoop &scan) {
  Operation *loop = scan.loop;
  SmallVector<Value> results(loop->getNumResults());
  for (unsigned j : scan.invariants)
    results[j] = loop->getOperand(j);
  auto counterType =
      cast<RankedTensorType>(loop->getResult(scan.counter).getType());
  results[scan.counter] =
      createConstant(b, loc,
                     toAttr(counterType, HostTensor{{}, {double(scan.length)}}))
          ->getResult(0);
  return results;
}

void replaceLoop(Operation *loop, ArrayRef<Value> results) {
  for (auto [r, v] : llvm::zip(loop->getResults(), results))
    r.replaceAllUsesWith(v);
  loop->erase();
}

Value generic(OpBuilder &b, Location loc, StringRef name, ValueRange operands,
              Type result, ArrayRef<NamedAttribute> attrs) {
  OperationState state(loc, name);
  state.addOperands(operands);
  state.addTypes(result);
  state.addAttributes(attrs);
  return b.create(state)->getResult(0);
}

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elem) {
  return RankedTensorType::get(shape, elem);
}

Type elementOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

Value transpose(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> perm) {
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return x;
  Shape in = shapeOf(x), out;
  for (int64_t p : perm)
    out.push_back(in[p]);
  return generic(b, loc, "stablehlo.transpose", x, tensorOf(out, elementOf(x)),
                 {b.getNamedAttr("permutation", b.getDenseI64ArrayAttr(perm))});
}

Value reshape(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> shape) {
  if (shapeOf(x) == Shape(shape))
    return x;
  return generic(b, loc, "stablehlo.reshape", x, tensorOf(shape, elementOf(x)));
}

Value convert(OpBuilder &b, Location loc, Value x, Type elem) {
  if (elementOf(x) == elem)
    return x;
  return generic(b, loc, "stablehlo.convert", x, tensorOf(shapeOf(x), elem));
}

Source sourceOf(Value stacked, int64_t dim) {
  Operation *def = stacked.getDefiningOp();
  if (isOp(def, "stablehlo.transpose"))
    if (auto perm =
            dyn_cast_or_null<DenseI64ArrayAttr>(def->getAttr("permutation"))) {
      // stacked dim i is dim perm[i] of the operand; the other dims must keep
      // their order.
      SmallVector<int64_t> rest;
      for (auto [i, p] : llvm::enumerate(perm.asArrayRef()))
        if (int64_t(i) != dim)
          rest.push_back(p);
      if (llvm::is_sorted(rest))
        return {def->getOperand(0), perm.asArrayRef()[dim]};
    }
  return {stacked, dim};
}

Value moveDim(OpBuilder &b, Location loc, Value x, int64_t from, int64_t to) {
  Shape perm;
  int64_t rank = shapeOf(x).size();
  for (int64_t d = 0; d < rank; ++d)
    if (d != from)
      perm.push_back(d);
  perm.insert(perm.begin() + to, from);
  return transpose(b, loc, x, perm);
}
} // namespace mixir::stablehlo_import::scan
