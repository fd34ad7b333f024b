//===- RNNOps.cpp - ONNX LSTM and GRU to mix.rnn --------------------------===//
//
// An LSTM or GRU node becomes one mix.rnn per direction, with one head of
// hidden_size channels. The input projection X W^T + Wb is a matmul over all
// tokens; R and Rb are the op's recurrent weights and bias. ONNX orders the
// gates i, o, f, c (LSTM) and z, r, h (GRU); mix.rnn orders them i, f, z, o
// and r, z, n, so the gate blocks of W, R and B are permuted on the way. A
// reverse direction reads the tokens backwards: its pre-activations are
// flipped along T before the op and its outputs after it. What mix.rnn
// cannot compute is refused by name: peepholes, clip, input_forget, other
// activations, sequence_lens shorter than T, GRU's linear_before_reset=0.
//
//===----------------------------------------------------------------------===//
#include "Importer.h"
#include "mixir/Builders/TensorBuilders.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/StringExtras.h"

namespace mixir::onnx_import {
namespace {

using build::sizesOf;

/// What tells LSTM and GRU apart.
struct CellSpec {
  mix::RnnCell cell;
  /// For each gate of mix.rnn, in its order, the gate's block in ONNX.
  ArrayRef<int64_t> onnxGate;
  /// ONNX's default activations for one direction.
  ArrayRef<StringRef> activations;
  /// The optional state inputs (initial_h, then initial_c for LSTM).
  ArrayRef<int> stateInputs;
  int64_t gates() const { return onnxGate.size(); }
};

// mix.rnn lstm (i, f, z, o) from ONNX (i, o, f, c).
constexpr int64_t kLstmGates[] = {0, 2, 3, 1};
constexpr StringRef kLstmActivations[] = {"Sigmoid", "Tanh", "Tanh"};
constexpr int kLstmStates[] = {5, 6};
// mix.rnn gru (r, z, n) from ONNX (z, r, h).
constexpr int64_t kGruGates[] = {1, 0, 2};
constexpr StringRef kGruActivations[] = {"Sigmoid", "Tanh"};
constexpr int kGruStates[] = {5};

constexpr int kX = 0, kW = 1, kR = 2, kB = 3, kSequenceLens = 4, kPeepholes = 7;

/// The node's shape and direction, once checked.
struct RnnLayout {
  SmallVector<bool, 2> reversed; // one per direction
  bool batchFirst = false;       // layout = 1
  int64_t hidden = 0;
  Type elem;
};

int64_t dirCount(const RnnLayout &l) { return l.reversed.size(); }

/// The direction, layout and activation attributes, and those mix.rnn has
/// no equivalent for.
LogicalResult checkAttributes(Node &n, const CellSpec &spec, RnnLayout &out) {
  std::string direction = n.stringAttr("direction", "forward");
  if (direction == "forward" || direction == "reverse")
    out.reversed = {direction == "reverse"};
  else if (direction == "bidirectional")
    out.reversed = {false, true};
  else
    return n.fail("direction '" + direction +
                  "' is not forward, reverse or bidirectional");
  int64_t layout = n.intAttr("layout", 0);
  if (layout != 0 && layout != 1)
    return n.fail("layout must be 0 or 1, got " + llvm::Twine(layout));
  out.batchFirst = layout == 1;
  if (n.hasAttr("clip"))
    return n.fail("the clip attribute is not supported (mix.rnn does not "
                  "clip its pre-activations)");
  if (n.intAttr("input_forget", 0) != 0)
    return n.fail("input_forget=1 (coupled input and forget gates) is not "
                  "supported");
  if (spec.cell == mix::RnnCell::gru &&
      n.intAttr("linear_before_reset", 0) != 1)
    return n.fail("linear_before_reset=0 (the ONNX default) is not supported: "
                  "mix.rnn's GRU applies the reset gate to R_h h + Rb_h, which "
                  "is linear_before_reset=1, as torch exports nn.GRU");
  if (const onnx::AttributeProto *a = n.attr("activations")) {
    bool defaults = a->strings_size() ==
                    (int)(spec.activations.size() * out.reversed.size());
    for (int i = 0; defaults && i < a->strings_size(); ++i)
      defaults = StringRef(a->strings(i))
                     .equals_insensitive(
                         spec.activations[i % spec.activations.size()]);
    if (!defaults)
      return n.fail("activations other than the defaults (" +
                    llvm::join(spec.activations, ", ") +
                    " per direction) are not supported");
  }
  return success();
}

/// Fails unless input `i` has the given static sizes (negative: any size).
LogicalResult checkShape(Node &n, int i, StringRef name,
                         ArrayRef<int64_t> want) {
  RankedTensorType t = n.inputType(i);
  bool ok = t.getRank() == (int64_t)want.size();
  for (int64_t d = 0; ok && d < t.getRank(); ++d)
    ok = want[d] < 0 ? true : t.getDimSize(d) == want[d];
  if (ok)
    return success();
  auto text = [](ArrayRef<int64_t> dims) {
    std::string s;
    for (int64_t d : dims)
      s += (s.empty() ? "" : ", ") + (d < 0 ? "?" : std::to_string(d));
    return "[" + s + "]";
  };
  return n.fail(name + " must be " + text(want) + ", got " +
                text(t.getShape()));
}

/// The shapes of X, W, R, B and the initial states.
LogicalResult checkShapes(Node &n, const CellSpec &spec, RnnLayout &l) {
  l.elem = n.inputType(kX).getElementType();
  if (!l.elem.isF32() && !l.elem.isF16() && !l.elem.isBF16())
    return n.fail("expects f32, f16 or bf16 inputs");
  int64_t dirs = dirCount(l), gates = spec.gates();
  RankedTensorType rt = n.inputType(kR);
  // (The bound keeps gates * hidden far from overflowing.)
  if (rt.getRank() != 3 || rt.isDynamicDim(2) || rt.getDimSize(2) <= 0 ||
      rt.getDimSize(2) > (int64_t(1) << 24))
    return n.fail("R must be 3-D with a static hidden size in [1, 2^24]");
  l.hidden = rt.getDimSize(2);
  int64_t attr = n.intAttr("hidden_size", l.hidden);
  if (attr != l.hidden)
    return n.fail("hidden_size " + llvm::Twine(attr) + " disagrees with R (" +
                  llvm::Twine(l.hidden) + ")");
  int64_t rows = gates * l.hidden;
  RankedTensorType xt = n.inputType(kX);
  if (xt.getRank() != 3)
    return n.fail("X must be 3-D");
  int64_t features = xt.getDimSize(2);
  if (failed(checkShape(n, kW, "W", {dirs, rows, features})) ||
      failed(checkShape(n, kR, "R", {dirs, rows, l.hidden})) ||
      (n.hasInput(kB) && failed(checkShape(n, kB, "B", {dirs, 2 * rows}))))
    return failure();
  if (ShapedType::isDynamic(features) || features <= 0)
    return n.fail("X needs a static, positive input size");
  int64_t batch = xt.getDimSize(l.batchFirst ? 0 : 1);
  SmallVector<int64_t> state = {dirs, batch, l.hidden};
  if (l.batchFirst)
    std::swap(state[0], state[1]);
  for (int i : spec.stateInputs)
    if (n.hasInput(i) &&
        failed(checkShape(
            n, i, i == spec.stateInputs[0] ? "initial_h" : "initial_c", state)))
      return failure();
  for (int i : {kW, kR, kB, spec.stateInputs[0], spec.stateInputs.back()})
    if (n.hasInput(i) && n.inputType(i).getElementType() != l.elem)
      return n.fail("X, W, R, B and the initial states must have one element "
                    "type");
  return success();
}

/// sequence_lens may only say that every sequence has all T tokens, and the
/// peepholes (LSTM) may only be zero.
LogicalResult checkSequenceLensAndPeepholes(Node &n, const CellSpec &spec,
                                            const RnnLayout &l) {
  if (n.hasInput(kSequenceLens)) {
    int64_t t = n.inputType(kX).getDimSize(l.batchFirst ? 1 : 0);
    std::optional<SmallVector<int64_t>> lens = n.intsInput(kSequenceLens);
    bool full = lens && !ShapedType::isDynamic(t);
    for (size_t i = 0; full && i < lens->size(); ++i)
      full = (*lens)[i] == t;
    if (!full)
      return n.fail("sequence_lens is supported only as a constant equal to "
                    "the sequence length everywhere (no ragged batches)");
  }
  if (spec.cell == mix::RnnCell::lstm && n.hasInput(kPeepholes)) {
    DenseElementsAttr p = n.constantInput(kPeepholes);
    bool zero = p && isa<FloatType>(p.getElementType());
    if (zero)
      for (const APFloat &v : p.getValues<APFloat>())
        zero = zero && v.isZero();
    if (!zero)
      return n.fail("peepholes (input P) are not supported unless all zero");
  }
  return success();
}

/// Row `index` of `x` along `axis`, with that axis dropped.
Value takeRow(OpBuilder &b, Location loc, Value x, int64_t axis,
              int64_t index) {
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, x);
  SmallVector<OpFoldResult> offsets(sizes.size(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
  offsets[axis] = b.getIndexAttr(index);
  sizes[axis] = b.getIndexAttr(1);
  Value row = build::slice(b, loc, x, offsets, sizes, strides);
  sizes.erase(sizes.begin() + axis);
  return build::reshape(b, loc, row, sizes);
}

/// `x` with its gate axis (static size G) split into [G, D] and permuted
/// into mix.rnn's gate order.
Value gateBlocks(OpBuilder &b, Location loc, Value x, int64_t axis,
                 const CellSpec &spec, int64_t hidden) {
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, x);
  sizes[axis] = b.getIndexAttr(hidden);
  sizes.insert(sizes.begin() + axis, b.getIndexAttr(spec.gates()));
  Value split = build::reshape(b, loc, x, sizes);
  auto indexType = RankedTensorType::get({spec.gates()}, b.getI64Type());
  Value order = arith::ConstantOp::create(
      b, loc, DenseIntElementsAttr::get(indexType, spec.onnxGate));
  return build::gather(b, loc, split, order, axis);
}

/// The operands of one direction's mix.rnn.
struct Direction {
  Value wx, r, bias;
  SmallVector<Value, 2> init;
};

/// wx: [B, T, 1, G, D] = X W^T + Wb for direction `d`, and bias (Rb) and r
/// in mix.rnn's shapes and gate order.
Direction projectInput(Node &n, const CellSpec &spec, const RnnLayout &l,
                       Value x, int64_t d) {
  OpBuilder &b = n.b;
  Location loc = n.loc;
  int64_t g = spec.gates(), hd = l.hidden;
  Direction out;
  // W: [G*D, I] -> [G, D, I] reordered -> [I, G*D].
  Value w = gateBlocks(b, loc, takeRow(b, loc, n.input(kW), 0, d), 0, spec, hd);
  SmallVector<OpFoldResult> wSizes = sizesOf(b, loc, w);
  w = build::reshape(b, loc, w, {b.getIndexAttr(g * hd), wSizes[2]});
  Value xw = build::matmul(b, loc, x, build::transpose(b, loc, w, {1, 0}));
  SmallVector<OpFoldResult> xs = sizesOf(b, loc, x);
  xw = build::reshape(b, loc, xw,
                      {xs[0], xs[1], b.getIndexAttr(g), b.getIndexAttr(hd)});
  if (n.hasInput(kB)) {
    // B: [2*G*D] (Wb then Rb) -> [2, G, D] reordered.
    Value bias = build::reshape(b, loc, takeRow(b, loc, n.input(kB), 0, d),
                                {b.getIndexAttr(2), b.getIndexAttr(g * hd)});
    bias = gateBlocks(b, loc, bias, 1, spec, hd);
    xw = build::elementwise(
        b, loc, ValueRange{xw, takeRow(b, loc, bias, 0, 0)}, l.elem,
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::AddFOp::create(nb, nl, a[0], a[1]);
        });
    out.bias = build::reshape(
        b, loc, takeRow(b, loc, bias, 0, 1),
        {b.getIndexAttr(1), b.getIndexAttr(g), b.getIndexAttr(hd)});
  }
  out.wx = build::reshape(
      b, loc, xw,
      {xs[0], xs[1], b.getIndexAttr(1), b.getIndexAttr(g), b.getIndexAttr(hd)});
  Value r = gateBlocks(b, loc, takeRow(b, loc, n.input(kR), 0, d), 0, spec, hd);
  out.r = build::reshape(b, loc, r,
                         {b.getIndexAttr(1), b.getIndexAttr(g),
                          b.getIndexAttr(hd), b.getIndexAttr(hd)});
  return out;
}

/// The initial states of direction `d` as [B, 1, D] f32: all of the cell's
/// states when any is given (zeros for the others), none otherwise.
SmallVector<Value, 2> initialStates(Node &n, const CellSpec &spec,
                                    const RnnLayout &l, Value x, int64_t d) {
  OpBuilder &b = n.b;
  Location loc = n.loc;
  if (llvm::none_of(spec.stateInputs, [&](int i) { return n.hasInput(i); }))
    return {};
  SmallVector<OpFoldResult> sizes = {sizesOf(b, loc, x)[0], b.getIndexAttr(1),
                                     b.getIndexAttr(l.hidden)};
  SmallVector<Value, 2> states;
  for (int i : spec.stateInputs) {
    if (!n.hasInput(i)) {
      states.push_back(build::filledTensor(
          b, loc, sizes, build::scalarConstant(b, loc, b.getF32Type(), 0.0)));
      continue;
    }
    Value s = takeRow(b, loc, n.input(i), l.batchFirst ? 1 : 0, d);
    s = build::reshape(b, loc, s, sizes);
    states.push_back(build::castElements(b, loc, s, b.getF32Type()));
  }
  return states;
}

/// Concatenates the directions' values along `dirAxis` (their size-1 head
/// axis) and moves that axis where ONNX's layout wants it.
Value joinDirections(OpBuilder &b, Location loc, ArrayRef<Value> parts,
                     int64_t dirAxis, ArrayRef<int64_t> perm) {
  Value all = build::concat(b, loc, parts, dirAxis);
  return build::transpose(b, loc, all, perm);
}

LogicalResult rnnNode(Node &n, const CellSpec &spec) {
  RnnLayout l;
  if (failed(checkAttributes(n, spec, l)) || failed(checkShapes(n, spec, l)) ||
      failed(checkSequenceLensAndPeepholes(n, spec, l)))
    return failure();
  OpBuilder &b = n.b;
  Location loc = n.loc;
  Value x = n.input(kX);
  if (!l.batchFirst)
    x = build::transpose(b, loc, x, {1, 0, 2}); // [B, T, I]
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t batch = xt.getDimSize(0), hd = l.hidden;
  auto hType = RankedTensorType::get({batch, xt.getDimSize(1), 1, hd}, l.elem);
  auto sType = RankedTensorType::get({batch, 1, hd}, b.getF32Type());
  size_t numStates = spec.stateInputs.size();
  SmallVector<Value> ys;
  SmallVector<SmallVector<Value>> finals(numStates);
  for (int64_t d = 0; d < dirCount(l); ++d) {
    Direction dir = projectInput(n, spec, l, x, d);
    dir.init = initialStates(n, spec, l, x, d);
    bool rev = l.reversed[d];
    Value wx = rev ? build::reverse(b, loc, dir.wx, 1) : dir.wx;
    auto op =
        mix::RnnOp::create(b, loc, hType, SmallVector<Type>(numStates, sType),
                           wx, dir.r, dir.bias, dir.init, spec.cell);
    ys.push_back(rev ? build::reverse(b, loc, op.getH(), 1) : op.getH());
    for (size_t s = 0; s < numStates; ++s)
      finals[s].push_back(
          build::castElements(b, loc, op.getFinalStates()[s], l.elem));
  }
  // Y: [B, T, nd, D] (layout 1) or [T, nd, B, D]; Y_h, Y_c: [B, nd, D] or
  // [nd, B, D].
  SmallVector<int64_t> yPerm = {0, 1, 2, 3}, sPerm = {0, 1, 2};
  if (!l.batchFirst)
    yPerm = {1, 2, 0, 3}, sPerm = {1, 0, 2};
  n.setOutput(0, joinDirections(b, loc, ys, 2, yPerm));
  for (size_t s = 0; s < numStates; ++s)
    n.setOutput(1 + s, joinDirections(b, loc, finals[s], 1, sPerm));
  return success();
}

LogicalResult lstm(Node &n) {
  return rnnNode(
      n, {mix::RnnCell::lstm, kLstmGates, kLstmActivations, kLstmStates});
}

LogicalResult gru(Node &n) {
  return rnnNode(n,
                 {mix::RnnCell::gru, kGruGates, kGruActivations, kGruStates});
}

LogicalResult plainRnn(Node &n) {
  return n.fail("the plain RNN cell is not supported (mix.rnn has LSTM and GRU "
                "cells): export the model with nn.LSTM or nn.GRU");
}

} // namespace

void registerRNNOps(HandlerMap &m) {
  import::addHandlers(m,
                      "::", {{"LSTM", lstm}, {"GRU", gru}, {"RNN", plainRnn}});
}

} // namespace mixir::onnx_import
