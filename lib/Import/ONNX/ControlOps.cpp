//===- ControlOps.cpp - ONNX Scan and Loop to scf.for ---------------------===//
//
// Both become one scf.for over the steps whose iteration arguments are the
// state variables and one stacked array per per-step output (written with
// tensor.insert_slice at the step, in place). The body graph is translated
// by the same node translators as the main graph, inside the loop. A Loop
// must have a trip count known at import time and a condition that stays
// true (the body passes its condition input through, or returns a constant
// true): a data-dependent exit has no fixed output shape.
//
//===----------------------------------------------------------------------===//
#include "Importer.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace mixir::onnx_import {
namespace {

/// How a node's loop reads and writes, common to Scan and Loop.
struct LoopPlan {
  Value trips; // index
  SmallVector<Value> states;
  /// The body graph's inputs at step `iv` (an index), given the states.
  std::function<SmallVector<Value>(OpBuilder &, Location, Value iv,
                                   ValueRange states)>
      bodyInputs;
  /// Body outputs before the state variables (Loop's condition).
  unsigned leading = 0;
  /// Per-step output k is stacked along outAxes[k], last step first when
  /// outReverse[k].
  SmallVector<int64_t> outAxes;
  SmallVector<bool> outReverse;
};

/// The `body` graph attribute, or null.
const onnx::GraphProto *bodyGraph(Node &n) {
  const onnx::AttributeProto *a = n.attr("body");
  return a && a->has_g() ? &a->g() : nullptr;
}

/// Offsets, sizes and strides selecting step `at` of `x` along `axis`.
void stepRange(OpBuilder &b, Location loc, Value x, int64_t axis, Value at,
               SmallVector<OpFoldResult> &offsets,
               SmallVector<OpFoldResult> &sizes,
               SmallVector<OpFoldResult> &strides) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  offsets.assign(rank, b.getIndexAttr(0));
  strides.assign(rank, b.getIndexAttr(1));
  sizes = tensor::getMixedSizes(b, loc, x);
  offsets[axis] = at;
  sizes[axis] = b.getIndexAttr(1);
}

/// x[..., at, ...] with `axis` dropped.
Value readStep(OpBuilder &b, Location loc, Value x, int64_t axis, Value at) {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  stepRange(b, loc, x, axis, at, offsets, sizes, strides);
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.erase(shape.begin() + axis);
  auto stepType = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, stepType, x, offsets, sizes,
                                        strides);
}

/// `stack` with `x` written as its step `at` along `axis`.
Value writeStep(OpBuilder &b, Location loc, Value stack, Value x, int64_t axis,
                Value at) {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  stepRange(b, loc, stack, axis, at, offsets, sizes, strides);
  return tensor::InsertSliceOp::create(b, loc, x, stack, offsets, sizes,
                                       strides);
}

/// `iv` counted from the end: trips - 1 - iv.
Value reversed(OpBuilder &b, Location loc, Value trips, Value iv) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value last = arith::SubIOp::create(b, loc, trips, one);
  return arith::SubIOp::create(b, loc, last, iv);
}

/// `v` as `type` when they differ only in static sizes (tensor.cast), else
/// null.
Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  if (!tensor::CastOp::areCastCompatible(v.getType(), type))
    return Value();
  return tensor::CastOp::create(b, loc, type, v);
}

/// The body of the loop at the builder's insertion point: translates the
/// body graph, yields the new states and returns the per-step outputs (and,
/// in `leading`, the outputs before the states).
FailureOr<SmallVector<Value>> buildBody(Node &n, const onnx::GraphProto &body,
                                        LoopPlan &plan, Value iv,
                                        ValueRange states,
                                        SmallVector<Value> &leading) {
  OpBuilder &b = n.b;
  std::string bodyError;
  auto outs = n.graph.importSubgraph(
      body, plan.bodyInputs(b, n.loc, iv, states), bodyError);
  if (failed(outs))
    return n.fail("in its body: " + bodyError);
  SmallVector<Value> next;
  for (auto [i, state] : llvm::enumerate(states)) {
    Value v = castTo(b, n.loc, (*outs)[plan.leading + i], state.getType());
    if (!v)
      return n.fail("state variable " + llvm::Twine(i) +
                    " changes type in the body");
    next.push_back(build::yieldedInPlace(b, n.loc, v, state));
  }
  scf::YieldOp::create(b, n.loc, next);
  leading.assign(outs->begin(), outs->begin() + plan.leading);
  return SmallVector<Value>(outs->begin() + plan.leading + states.size(),
                            outs->end());
}

/// Builds the loop of `plan` and sets the node's outputs: the final states,
/// then the stacked per-step outputs. `checkLeading` sees the outputs before
/// the states.
LogicalResult buildLoop(
    Node &n, const onnx::GraphProto &body, LoopPlan &plan,
    llvm::function_ref<LogicalResult(ArrayRef<Value>)> checkLeading = {}) {
  OpBuilder &b = n.b;
  Location loc = n.loc;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, zero, plan.trips, one, plan.states);
  FailureOr<SmallVector<Value>> steps = failure();
  SmallVector<Value> leading, writeAt;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value iv = loop.getInductionVar();
    steps = buildBody(n, body, plan, iv, loop.getRegionIterArgs(), leading);
    if (succeeded(steps) && steps->size() != plan.outAxes.size())
      steps = n.fail("the body returns " + llvm::Twine(steps->size()) +
                     " per-step outputs, the node's attributes describe " +
                     llvm::Twine(plan.outAxes.size()));
    if (succeeded(steps) && checkLeading && failed(checkLeading(leading)))
      steps = failure();
    for (size_t k = 0; succeeded(steps) && k < steps->size(); ++k) {
      b.setInsertionPoint(loop.getBody()->getTerminator());
      writeAt.push_back(plan.outReverse[k] ? reversed(b, loc, plan.trips, iv)
                                           : iv);
    }
  }
  if (failed(steps)) {
    loop.erase();
    return failure();
  }
  // One stack per per-step output: [trips] inserted at its axis, built
  // before the loop that carries it.
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop);
  SmallVector<Value> stacks;
  for (auto [k, step] : llvm::enumerate(*steps)) {
    auto type = cast<RankedTensorType>(step.getType());
    int64_t axis = plan.outAxes[k];
    if (axis < 0)
      axis += type.getRank() + 1;
    if (axis < 0 || axis > type.getRank())
      return n.fail("scan output axis " + llvm::Twine(plan.outAxes[k]) +
                    " is out of range for per-step rank " +
                    llvm::Twine(type.getRank()));
    if (!type.hasStaticShape())
      return n.fail("per-step output " + llvm::Twine(k) +
                    " has a dynamic shape (not supported)");
    plan.outAxes[k] = axis;
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : type.getShape())
      sizes.push_back(b.getIndexAttr(d));
    sizes.insert(sizes.begin() + axis, getAsOpFoldResult(plan.trips));
    stacks.push_back(
        tensor::EmptyOp::create(b, loc, sizes, type.getElementType()));
  }
  SmallVector<Value> results(loop.getResults());
  if (!stacks.empty()) {
    IRRewriter rewriter(b);
    rewriter.setInsertionPoint(loop);
    auto grown = loop.replaceWithAdditionalYields(
        rewriter, stacks, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &yb, Location yl, ArrayRef<BlockArgument> accs) {
          SmallVector<Value> written;
          for (auto [k, acc] : llvm::enumerate(accs))
            written.push_back(writeStep(yb, yl, acc, (*steps)[k],
                                        plan.outAxes[k], writeAt[k]));
          return written;
        });
    if (failed(grown))
      return n.fail("cannot add the per-step outputs to the loop");
    results.assign((*grown)->getResults().begin(),
                   (*grown)->getResults().end());
  }
  if (n.numOutputs() > results.size())
    return n.fail("the node has " + llvm::Twine(n.numOutputs()) +
                  " outputs, its body produces " + llvm::Twine(results.size()));
  for (auto [i, r] : llvm::enumerate(results))
    n.setOutput(i, r);
  return success();
}

/// `name` (one int per entry, default zeros), checked to have `count`
/// entries within [lo, hi].
FailureOr<SmallVector<int64_t>> intsOf(Node &n, StringRef name, size_t count,
                                       int64_t lo, int64_t hi) {
  SmallVector<int64_t> v =
      n.intsAttr(name).value_or(SmallVector<int64_t>(count, 0));
  if (v.size() != count)
    return n.fail("attribute '" + name + "' has " + llvm::Twine(v.size()) +
                  " entries, expected " + llvm::Twine(count));
  for (int64_t x : v)
    if (x < lo || x > hi)
      return n.fail("attribute '" + name + "' holds " + llvm::Twine(x) +
                    ", outside [" + llvm::Twine(lo) + ", " + llvm::Twine(hi) +
                    "]");
  return v;
}

/// ONNX Scan (opset 9 and later): inputs are the initial states then the
/// scanned arrays; outputs the final states then the stacked per-step
/// outputs.
LogicalResult scanOp(Node &n) {
  if (n.opset < 9)
    return n.fail("Scan before opset 9 (batched, with sequence_lens) is not "
                  "supported");
  const onnx::GraphProto *body = bodyGraph(n);
  if (!body)
    return n.fail("missing the 'body' graph attribute");
  if (!n.hasAttr("num_scan_inputs"))
    return n.fail("missing the 'num_scan_inputs' attribute");
  int64_t numIn = n.numInputs(), m = n.intAttr("num_scan_inputs", 0);
  if (m < 1 || m > numIn)
    return n.fail("num_scan_inputs is " + llvm::Twine(m) +
                  ", expected 1 to the number of inputs (" +
                  llvm::Twine(numIn) + ")");
  int64_t numStates = numIn - m;
  if (body->input_size() != numIn)
    return n.fail("the body takes " + llvm::Twine(body->input_size()) +
                  " inputs, the node passes " + llvm::Twine(numIn) +
                  " (states and scanned arrays)");
  if (body->output_size() < numStates)
    return n.fail("the body returns " + llvm::Twine(body->output_size()) +
                  " outputs, fewer than the " + llvm::Twine(numStates) +
                  " states");
  size_t numSteps = body->output_size() - numStates;
  auto inAxes = intsOf(n, "scan_input_axes", m, INT32_MIN, INT32_MAX);
  auto inDirs = intsOf(n, "scan_input_directions", m, 0, 1);
  auto outAxes = intsOf(n, "scan_output_axes", numSteps, INT32_MIN, INT32_MAX);
  auto outDirs = intsOf(n, "scan_output_directions", numSteps, 0, 1);
  if (failed(inAxes) || failed(inDirs) || failed(outAxes) || failed(outDirs))
    return failure();
  for (int64_t i = 0; i < numIn; ++i)
    if (!n.hasInput(i))
      return n.fail("input " + llvm::Twine(i) + " is missing");
  LoopPlan plan;
  SmallVector<Value> arrays;
  int64_t length = ShapedType::kDynamic;
  for (int64_t i = 0; i < numIn; ++i) {
    if (i < numStates) {
      plan.states.push_back(n.input(i));
      continue;
    }
    Value x = n.input(i);
    auto type = n.inputType(i);
    auto axis = n.axis((*inAxes)[i - numStates], type.getRank());
    if (failed(axis))
      return failure();
    (*inAxes)[i - numStates] = *axis;
    int64_t len = type.getDimSize(*axis);
    if (!ShapedType::isDynamic(len) && !ShapedType::isDynamic(length) &&
        len != length)
      return n.fail("the scanned inputs have different lengths (" +
                    llvm::Twine(length) + " and " + llvm::Twine(len) + ")");
    if (!ShapedType::isDynamic(len))
      length = len;
    arrays.push_back(x);
  }
  // With a dynamic length the steps are the shortest input's: a malformed
  // model with unequal lengths then reads no step past any input's end.
  bool anyDynamic = llvm::any_of(llvm::enumerate(arrays), [&](auto jx) {
    return cast<RankedTensorType>(jx.value().getType())
        .isDynamicDim((*inAxes)[jx.index()]);
  });
  if (anyDynamic) {
    plan.trips = tensor::DimOp::create(n.b, n.loc, arrays[0], (*inAxes)[0]);
    for (auto [j, x] : llvm::enumerate(arrays))
      if (j > 0)
        plan.trips = arith::MinUIOp::create(
            n.b, n.loc, plan.trips,
            tensor::DimOp::create(n.b, n.loc, x, (*inAxes)[j]));
  } else {
    plan.trips = arith::ConstantIndexOp::create(n.b, n.loc, length);
  }
  plan.bodyInputs = [&](OpBuilder &b, Location loc, Value iv,
                        ValueRange states) {
    SmallVector<Value> in(states);
    for (auto [j, x] : llvm::enumerate(arrays)) {
      Value at = (*inDirs)[j] ? reversed(b, loc, plan.trips, iv) : iv;
      in.push_back(readStep(b, loc, x, (*inAxes)[j], at));
    }
    return in;
  };
  plan.outAxes = *outAxes;
  for (int64_t d : *outDirs)
    plan.outReverse.push_back(d == 1);
  return buildLoop(n, *body, plan);
}

/// True when `v` is a constant whose every element is true (non-zero).
bool alwaysTrue(Value v) {
  DenseElementsAttr c;
  if (!matchPattern(v, m_Constant(&c)) || !c.getElementType().isInteger())
    return false;
  return llvm::all_of(c.getValues<APInt>(),
                      [](const APInt &x) { return !x.isZero(); });
}

/// ONNX Loop with a constant trip count and a condition that stays true.
LogicalResult loopOp(Node &n) {
  const onnx::GraphProto *body = bodyGraph(n);
  if (!body)
    return n.fail("missing the 'body' graph attribute");
  int64_t numIn = n.numInputs();
  if (numIn < 2)
    return n.fail("expects the trip count and condition inputs (possibly "
                  "empty) before the loop-carried values");
  auto trips = n.hasInput(0) ? n.intsInput(0) : std::nullopt;
  if (!trips || trips->size() != 1 || (*trips)[0] < 0)
    return n.fail("only loops with a trip count known at import time are "
                  "supported (input M must be a non-negative constant)");
  int64_t count = (*trips)[0];
  if (n.hasInput(1)) {
    auto cond = n.intsInput(1);
    if (!cond || cond->size() != 1)
      return n.fail("the initial condition must be a constant");
    if ((*cond)[0] == 0)
      count = 0;
  }
  int64_t numStates = numIn - 2;
  for (int64_t i = 2; i < numIn; ++i)
    if (!n.hasInput(i))
      return n.fail("input " + llvm::Twine(i) + " is missing");
  if (body->input_size() != numIn)
    return n.fail("the body takes " + llvm::Twine(body->input_size()) +
                  " inputs, expected " + llvm::Twine(numIn) +
                  " (iteration number, condition, loop-carried values)");
  if (body->output_size() < 1 + numStates)
    return n.fail("the body returns " + llvm::Twine(body->output_size()) +
                  " outputs, expected at least " + llvm::Twine(1 + numStates) +
                  " (condition, loop-carried values)");
  LoopPlan plan;
  for (int64_t i = 2; i < numIn; ++i)
    plan.states.push_back(n.input(i));
  plan.trips = arith::ConstantIndexOp::create(n.b, n.loc, count);
  Value condIn;
  plan.bodyInputs = [&](OpBuilder &b, Location loc, Value iv,
                        ValueRange states) {
    Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), iv);
    Value iter = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, b.getI64Type()), ValueRange{i64});
    condIn = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, b.getI1Type()), true));
    SmallVector<Value> in = {iter, condIn};
    in.append(states.begin(), states.end());
    return in;
  };
  plan.leading = 1;
  size_t numSteps = body->output_size() - 1 - numStates;
  plan.outAxes.assign(numSteps, 0);
  plan.outReverse.assign(numSteps, false);
  return buildLoop(n, *body, plan, [&](ArrayRef<Value> leading) {
    if (leading[0] == condIn || alwaysTrue(leading[0]))
      return success();
    return n.fail("the body's condition output must pass its condition input "
                  "through or be a constant true (a data-dependent exit is "
                  "not supported)");
  });
}

} // namespace

void registerControlOps(HandlerMap &m) {
  import::addHandlers(m, "::", {{"Scan", scanOp}, {"Loop", loopOp}});
}

} // namespace mixir::onnx_import
