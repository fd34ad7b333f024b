//===- MixOps.cpp - verifiers and shape contracts of the mix ops ---------===//
#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mixir/Compiler/ChunkSize.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mixir::mix;

#include "mixir/Dialect/Mix/IR/MixEnums.cpp.inc"

#define GET_OP_CLASSES
#include "mixir/Dialect/Mix/IR/MixOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shape contracts
//===----------------------------------------------------------------------===//

bool mixir::mix::isDynamicSymbol(StringRef symbol) {
  return symbol == "B" || symbol == "T" || symbol == "S" || symbol == "N" ||
         symbol == "P";
}

Value mixir::mix::getStateIndices(Operation *op) {
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<LinearAttentionOp, DeltaRuleOp, RecurrenceOp, CausalConv1dOp>(
          [](auto o) { return o.getStateIndices(); })
      .Default([](Operation *) { return Value(); });
}

bool mixir::mix::returnsAllStates(Operation *op) {
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case<LinearAttentionOp, DeltaRuleOp, RecurrenceOp>(
          [](auto o) { return o.getAllStates(); })
      .Default([](Operation *) { return false; });
}

Value mixir::mix::getCuSeqlens(Operation *op) {
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<LinearAttentionOp, DeltaRuleOp, RecurrenceOp, ScanOp,
            CausalConv1dOp, AttentionOp, AttentionGradOp>(
          [](auto o) { return o.getCuSeqlens(); })
      .Default([](Operation *) { return Value(); });
}

namespace {
using Dims = SmallVector<StringRef, 4>;

void addIfPresent(SmallVectorImpl<ShapedValue> &out, StringRef name, Value v,
                  Dims dims) {
  if (v)
    out.push_back({name, v, std::move(dims)});
}

/// The gate's dims for its kind, or none when the kind takes no gate.
std::optional<Dims> gateDims(GateKind kind) {
  switch (kind) {
  case GateKind::none:
    return std::nullopt;
  case GateKind::head:
    return Dims{"Hv"};
  case GateKind::scalar:
    return Dims{"B", "T", "Hv"};
  case GateKind::vector:
    return Dims{"B", "T", "Hv", "K"};
  }
  return std::nullopt;
}

/// The symbol of the states' dim 0: packed sequences keep one state per
/// sequence (N), a pool P slots, a batch one per row (B).
template <typename OpTy> StringRef stateCountSymbol(OpTy op) {
  return op.getStateIndices() ? "P" : op.getCuSeqlens() ? "N" : "B";
}

/// With `transposedRead` (mix.recurrence's `read transposed`) the queries
/// are [.., V] and the outputs [.., K]: o_t = S_t q_t.
template <typename OpTy>
void addRecurrenceContract(OpTy op, SmallVectorImpl<ShapedValue> &out,
                           bool transposedRead = false) {
  StringRef queryDim = transposedRead ? "V" : "K";
  StringRef outDim = transposedRead ? "K" : "V";
  out.push_back({"q", op.getQ(), {"B", "T", "Hq", queryDim}});
  out.push_back({"k", op.getK(), {"B", "T", "Hk", "K"}});
  out.push_back({"v", op.getV(), {"B", "T", "Hv", "V"}});
  if (auto dims = gateDims(op.getGateKind()))
    addIfPresent(out, "g", op.getG(), *dims);
  StringRef states = stateCountSymbol(op);
  addIfPresent(out, "initial_state", op.getInitialState(),
               {states, "Hv", "K", "V"});
  out.push_back({"o", op.getO(), {"B", "T", "Ho", outDim}});
  // With `all_states` the state after every token: [B, T, Hv, K, V].
  out.push_back({"final_state", op.getFinalState(),
                 op.getAllStates() ? Dims{"B", "T", "Hv", "K", "V"}
                                   : Dims{states, "Hv", "K", "V"}});
}

/// mix.rnn: the states are named after the cell's states ("h0", "final_c");
/// states beyond the cell's count (an op the verifier rejects) are left out.
void addRnnContract(RnnOp op, SmallVectorImpl<ShapedValue> &out) {
  static constexpr StringLiteral kInitNames[] = {"h0", "c0", "n0", "m0"};
  static constexpr StringLiteral kFinalNames[] = {"final_h", "final_c",
                                                  "final_n", "final_m"};
  size_t count = RnnOp::stateNames(op.getCell()).size();
  out.push_back({"wx", op.getWx(), {"B", "T", "H", "G", "D"}});
  out.push_back({"r", op.getR(), {"H", "G", "D", "D"}});
  addIfPresent(out, "b", op.getB(), {"H", "G", "D"});
  for (auto [i, v] : llvm::enumerate(op.getInitialStates()))
    if (i < count)
      out.push_back({kInitNames[i], v, {"B", "H", "D"}});
  out.push_back({"h", op.getH(), {"B", "T", "H", "D"}});
  for (auto [i, v] : llvm::enumerate(op.getFinalStates()))
    if (i < count)
      out.push_back({kFinalNames[i], v, {"B", "H", "D"}});
}
} // namespace

SmallVector<ShapedValue> mixir::mix::getShapeContract(Operation *op) {
  SmallVector<ShapedValue> out;
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](LinearAttentionOp la) { addRecurrenceContract(la, out); })
      .Case([&](DeltaRuleOp dr) {
        addRecurrenceContract(dr, out);
        out.insert(out.begin() + 3, {"beta", dr.getBeta(), {"B", "T", "Hv"}});
      })
      .Case([&](RecurrenceOp rc) {
        addRecurrenceContract(rc, out, rc.getReadTransposed());
        // a and b share one contract; R is bound by whichever comes first.
        Dims lowRank = {"B", "T", "Hv", "R", "K"};
        SmallVector<ShapedValue> terms;
        addIfPresent(terms, "a", rc.getA(), lowRank);
        addIfPresent(terms, "b", rc.getB(), lowRank);
        out.insert(out.begin() + 3, terms.begin(), terms.end());
      })
      .Case([&](AttentionOp at) {
        // A forget gate and a block mask index queries and keys by the same
        // positions, so the key length must equal the query length.
        StringRef keyLen = at.keysAreQueries() ? "T" : "S";
        out.push_back({"q", at.getQ(), {"B", "T", "Hq", "K"}});
        out.push_back({"k", at.getK(), {"B", keyLen, "Hk", "K"}});
        out.push_back({"v", at.getV(), {"B", keyLen, "Hk", "V"}});
        addIfPresent(out, "g", at.getG(), {"B", "T", "Hq"});
        addIfPresent(out, "kv_lens", at.getKvLens(), {"B"});
        out.push_back({"o", at.getO(), {"B", "T", "Hq", "V"}});
        addIfPresent(out, "lse", at.getLse(), {"B", "T", "Hq"});
      })
      .Case([&](AttentionGradOp ag) {
        StringRef keyLen = ag.keysAreQueries() ? "T" : "S";
        out.push_back({"q", ag.getQ(), {"B", "T", "Hq", "K"}});
        out.push_back({"k", ag.getK(), {"B", keyLen, "Hk", "K"}});
        out.push_back({"v", ag.getV(), {"B", keyLen, "Hk", "V"}});
        out.push_back({"dout", ag.getDout(), {"B", "T", "Hq", "V"}});
        addIfPresent(out, "g", ag.getG(), {"B", "T", "Hq"});
        addIfPresent(out, "dlse", ag.getDlse(), {"B", "T", "Hq"});
        out.push_back({"dq", ag.getDq(), {"B", "T", "Hq", "K"}});
        out.push_back({"dk", ag.getDk(), {"B", keyLen, "Hq", "K"}});
        out.push_back({"dv", ag.getDv(), {"B", keyLen, "Hq", "V"}});
        addIfPresent(out, "dg", ag.getDg(), {"B", "T", "Hq"});
      })
      .Case([&](ScanOp sc) {
        out.push_back({"x", sc.getX(), {"B", "T", "D"}});
        out.push_back({"g", sc.getG(), {"B", "T", "D"}});
        StringRef states = sc.getCuSeqlens() ? "N" : "B";
        addIfPresent(out, "initial_state", sc.getInitialState(), {states, "D"});
        out.push_back({"o", sc.getO(), {"B", "T", "D"}});
        out.push_back({"final_state", sc.getFinalState(), {states, "D"}});
      })
      .Case([&](RnnOp rnn) { addRnnContract(rnn, out); })
      .Case([&](CausalConv1dOp conv) {
        out.push_back({"x", conv.getX(), {"B", "T", "D"}});
        out.push_back({"w", conv.getW(), {"D", "W"}});
        addIfPresent(out, "bias", conv.getBias(), {"D"});
        StringRef states = stateCountSymbol(conv);
        addIfPresent(out, "conv_state", conv.getConvState(),
                     {states, "D", "W1"});
        out.push_back({"y", conv.getY(), {"B", "T", "D"}});
        out.push_back({"final_conv_state",
                       conv.getFinalConvState(),
                       {states, "D", "W1"}});
      });
  return out;
}

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {
std::string joinDims(ArrayRef<StringRef> dims) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(dims))
    s += (i ? ", " : "") + d.str();
  return s + "]";
}

/// Checks ranks and binds each dimension symbol to one static size, naming
/// the operand and dimension of every disagreement.
class ShapeVerifier {
public:
  explicit ShapeVerifier(Operation *op) : op(op) {}

  LogicalResult check(ArrayRef<ShapedValue> values) {
    for (const ShapedValue &sv : values) {
      auto type = cast<RankedTensorType>(sv.value.getType());
      if (type.getRank() != static_cast<int64_t>(sv.dims.size()))
        return op->emitOpError()
               << "'" << sv.name << "' must be a rank-" << sv.dims.size()
               << " tensor " << joinDims(sv.dims) << ", got " << type;
      for (auto [i, sym] : llvm::enumerate(sv.dims)) {
        int64_t size = type.getDimSize(i);
        if (ShapedType::isDynamic(size)) {
          if (!isDynamicSymbol(sym))
            return op->emitOpError() << "'" << sv.name << "' dim " << i << " ("
                                     << sym << ") must be static";
          continue;
        }
        if (size <= 0 && !isDynamicSymbol(sym))
          return op->emitOpError() << "'" << sv.name << "' dim " << i << " ("
                                   << sym << ") must be positive, got " << size;
        auto [it, inserted] = bound.try_emplace(
            sym, Binding{size, sv.name, static_cast<unsigned>(i)});
        if (!inserted && it->second.size != size)
          return op->emitOpError()
                 << "'" << sv.name << "' dim " << i << " (" << sym << ") is "
                 << size << ", but '" << it->second.from << "' dim "
                 << it->second.dim << " is " << it->second.size;
      }
    }
    return success();
  }

  /// The static size bound to `sym`; every non-batch, non-length symbol has
  /// one once check() succeeded.
  int64_t size(StringRef sym) const { return bound.lookup(sym).size; }
  /// The static size bound to `sym`, or `otherwise` when none is.
  int64_t sizeOr(StringRef sym, int64_t otherwise) const {
    auto it = bound.find(sym);
    return it == bound.end() ? otherwise : it->second.size;
  }

private:
  struct Binding {
    int64_t size = 0;
    StringRef from;
    unsigned dim = 0;
  };
  Operation *op;
  llvm::StringMap<Binding> bound;
};

Type elementType(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// `name` must have the element type of `ref`, or also f32 when `allowF32`.
LogicalResult checkElementType(Operation *op, StringRef name, Value v,
                               StringRef refName, Value ref,
                               bool allowF32 = false) {
  if (!v)
    return success();
  Type got = elementType(v), want = elementType(ref);
  if (got == want || (allowF32 && got.isF32()))
    return success();
  auto diag = op->emitOpError()
              << "'" << name << "' has element type " << got << ", expected "
              << want << " (the element type of '" << refName << "')";
  if (allowF32)
    diag << " or f32";
  return diag;
}

std::optional<float> toFloat(std::optional<llvm::APFloat> v) {
  if (!v)
    return std::nullopt;
  return v->convertToFloat();
}

LogicalResult checkScale(Operation *op, std::optional<llvm::APFloat> attr) {
  std::optional<float> scale = toFloat(attr);
  if (scale && !(std::isfinite(*scale) && *scale > 0.0f))
    return op->emitOpError()
           << "'scale' must be positive and finite, got " << *scale;
  return success();
}

LogicalResult verifyChunkSize(Operation *op, std::optional<int64_t> chunk) {
  if (!chunk)
    return success();
  if (std::string why = mixir::checkChunkSize(*chunk); !why.empty())
    return op->emitOpError() << why;
  return success();
}

LogicalResult checkGatePresence(Operation *op, GateKind kind, Value g) {
  if (kind == GateKind::none && g)
    return op->emitOpError()
           << "has a gate operand 'g' but gate kind 'none'; name the kind "
              "(head, scalar or vector)";
  if (kind != GateKind::none && !g)
    return op->emitOpError() << "gate kind '" << stringifyGateKind(kind)
                             << "' needs a gate operand 'g'";
  return success();
}

LogicalResult checkMultiple(Operation *op, StringRef what, int64_t a,
                            StringRef ofWhat, int64_t b) {
  if (b <= 0 || a % b != 0)
    return op->emitOpError() << what << " (" << a << ") must be a multiple of "
                             << ofWhat << " (" << b << ")";
  return success();
}

/// The static rules of packed sequences (`varlen(%cu_seqlens)`): a batch of
/// one, and N + 1 offsets for the N states where both sizes are known.
LogicalResult checkPacking(Operation *op, const ShapeVerifier &shapes) {
  Value cu = mixir::mix::getCuSeqlens(op);
  if (!cu)
    return success();
  int64_t batch = shapes.sizeOr("B", ShapedType::kDynamic);
  if (!ShapedType::isDynamic(batch) && batch != 1)
    return op->emitOpError()
           << "packs sequences along T with 'cu_seqlens', so the batch (B) "
              "must be 1, got "
           << batch;
  int64_t offsets = cast<ShapedType>(cu.getType()).getDimSize(0);
  if (ShapedType::isDynamic(offsets))
    return success();
  if (offsets < 1)
    return op->emitOpError() << "'cu_seqlens' must hold N + 1 >= 1 offsets, "
                                "got an empty tensor";
  int64_t states = shapes.sizeOr("N", ShapedType::kDynamic);
  if (ShapedType::isDynamic(states) || states == offsets - 1)
    return success();
  std::string names;
  for (const ShapedValue &sv : getShapeContract(op))
    if (sv.dims.front() == "N")
      names += (names.empty() ? "'" : " and '") + sv.name.str() + "'";
  return op->emitOpError() << "'cu_seqlens' holds " << offsets
                           << " offsets, so N = " << offsets - 1
                           << " sequences, but the states have N = " << states
                           << " (dim 0 of " << names << ")";
}

/// The static rules of a state pool (`init(%pool) indices(%idx)`): the pool
/// is the initial state, and there is one index per sequence where both
/// sizes are known.
LogicalResult checkStatePool(Operation *op, const ShapeVerifier &shapes) {
  Value indices = mixir::mix::getStateIndices(op);
  if (!indices)
    return success();
  int64_t count = cast<ShapedType>(indices.getType()).getDimSize(0);
  Value cu = mixir::mix::getCuSeqlens(op);
  int64_t sequences = shapes.sizeOr("B", ShapedType::kDynamic);
  if (cu) {
    int64_t offsets = cast<ShapedType>(cu.getType()).getDimSize(0);
    sequences = ShapedType::isDynamic(offsets) ? offsets : offsets - 1;
  }
  if (!ShapedType::isDynamic(count) && !ShapedType::isDynamic(sequences) &&
      count != sequences)
    return op->emitOpError()
           << "'state_indices' holds " << count << " slots, but there are "
           << sequences << " sequences ("
           << (cu ? "'cu_seqlens' dim 0 - 1" : "the batch B") << ")";
  return success();
}

/// `state_indices` needs the pool: the state operand `name` (spelt
/// `keyword(%pool)`).
LogicalResult checkPoolOperand(Operation *op, Value state, StringRef name,
                               StringRef keyword) {
  if (!mixir::mix::getStateIndices(op) || state)
    return success();
  return op->emitOpError() << "'state_indices' needs the state pool as '"
                           << name << "' (" << keyword
                           << "(%pool) indices(%idx))";
}

/// Shared by linear_attention, delta_rule and recurrence: types, gate, heads
/// and shapes.
template <typename OpTy> LogicalResult verifyRecurrence(OpTy op) {
  Operation *o = op.getOperation();
  if (failed(checkElementType(o, "k", op.getK(), "q", op.getQ())) ||
      failed(checkElementType(o, "v", op.getV(), "q", op.getQ())) ||
      failed(checkElementType(o, "o", op.getO(), "q", op.getQ())) ||
      failed(checkElementType(o, "g", op.getG(), "q", op.getQ(),
                              /*allowF32=*/true)) ||
      failed(checkGatePresence(o, op.getGateKind(), op.getG())) ||
      failed(checkScale(o, op.getScale())) ||
      failed(verifyChunkSize(o, op.getChunkSize())))
    return failure();
  if (op.getAllStates() && op.getChunkSize().value_or(0) > 0)
    return op.emitOpError()
           << "'all_states' returns the state after every token, which only "
              "the recurrent form computes; it takes no chunk_size > 0, got "
           << *op.getChunkSize();
  ShapeVerifier shapes(o);
  if (failed(
          checkPoolOperand(o, op.getInitialState(), "initial_state", "init")) ||
      failed(shapes.check(getShapeContract(o))) ||
      failed(checkPacking(o, shapes)) || failed(checkStatePool(o, shapes)))
    return failure();
  int64_t hq = shapes.size("Hq"), hk = shapes.size("Hk"),
          hv = shapes.size("Hv"), ho = shapes.size("Ho");
  if (ho != std::max(hq, hv))
    return op.emitOpError() << "'o' dim 2 (Ho) is " << ho
                            << ", expected max(Hq, Hv) = " << std::max(hq, hv);
  if (failed(checkMultiple(o, "Ho", ho, "Hq", hq)) ||
      failed(checkMultiple(o, "Ho", ho, "Hv", hv)) ||
      failed(checkMultiple(o, "Hv", hv, "Hk", hk)))
    return failure();
  return success();
}

float defaultScale(std::optional<llvm::APFloat> attr, Value q) {
  if (std::optional<float> scale = toFloat(attr))
    return *scale;
  int64_t k = cast<ShapedType>(q.getType()).getShape().back();
  return 1.0f / std::sqrt(static_cast<float>(k));
}
} // namespace

//===----------------------------------------------------------------------===//
// Op verifiers
//===----------------------------------------------------------------------===//

LogicalResult LinearAttentionOp::verify() {
  if (!isPlainCausal() &&
      (getInitialState() || getCuSeqlens() || getStateIndices()))
    return emitOpError()
           << (getCausal() ? "'normalize'" : "'causal = false'")
           << " takes no initial state, packed sequences or state pool";
  if (!isPlainCausal() && getAllStates())
    return emitOpError() << (getCausal() ? "'normalize'" : "'causal = false'")
                         << " has no state after every token ('all_states')";
  return verifyRecurrence(*this);
}

float LinearAttentionOp::getScaleOrDefault() {
  return defaultScale(getScale(), getQ());
}

LogicalResult DeltaRuleOp::verify() {
  if (getGateKind() == GateKind::head)
    return emitOpError() << "gate kind 'head' is not supported; use 'scalar' "
                            "with the per-head value broadcast over [B, T]";
  if (failed(checkElementType(*this, "beta", getBeta(), "q", getQ(),
                              /*allowF32=*/true)))
    return failure();
  return verifyRecurrence(*this);
}

float DeltaRuleOp::getScaleOrDefault() {
  return defaultScale(getScale(), getQ());
}

LogicalResult RecurrenceOp::verify() {
  Value a = getA(), b = getB();
  if (!a != !b)
    return emitOpError() << "'a' and 'b' must be given together "
                            "(lowrank(a, b); neither means R = 0)";
  if (getDecay() == DecayKind::signed_ && getGateKind() == GateKind::none)
    return emitOpError() << "decay 'signed' needs a gate (head, scalar or "
                            "vector); gate kind 'none' has no decay";
  if (failed(checkElementType(*this, "a", a, "q", getQ(), /*allowF32=*/true)) ||
      failed(checkElementType(*this, "b", b, "a", a)))
    return failure();
  // R = 0 is spelt without lowrank(a, b), so no tensor is ever empty.
  auto aType = a ? cast<RankedTensorType>(a.getType()) : RankedTensorType();
  if (aType && aType.getRank() == 5 && aType.getDimSize(3) == 0)
    return emitOpError() << "'a' dim 3 (R) is 0; leave out lowrank(a, b) "
                            "for a recurrence without low-rank terms";
  if (failed(verifyRecurrence(*this)))
    return failure();
  if (getRank() > kMaxRank)
    return emitOpError() << "'a' dim 3 (R) must be at most " << kMaxRank
                         << ", got " << getRank();
  return success();
}

float RecurrenceOp::getScaleOrDefault() {
  // K^-1/2 from the keys: with `read transposed` q has V entries.
  return defaultScale(getScale(), getK());
}

int64_t RecurrenceOp::getRank() {
  return getA() ? cast<ShapedType>(getA().getType()).getDimSize(3) : 0;
}

namespace {
/// The rules mix.attention and mix.attention_grad share: element types of
/// k, v and g, the scale, the masks, the soft-cap, the shapes.
template <typename AttentionLike>
LogicalResult verifyAttention(AttentionLike op) {
  Operation *o = op.getOperation();
  if (failed(checkElementType(o, "k", op.getK(), "q", op.getQ())) ||
      failed(checkElementType(o, "v", op.getV(), "q", op.getQ())) ||
      failed(checkElementType(o, "g", op.getG(), "q", op.getQ(),
                              /*allowF32=*/true)) ||
      failed(checkScale(o, op.getScale())))
    return failure();
  if (op.getWindowOrZero() < 0)
    return op.emitOpError() << "'window' must be >= 0 (0 means unlimited), got "
                            << op.getWindowOrZero();
  if (op.getBlockOrZero() < 0)
    return op.emitOpError()
           << "'block' must be >= 0 (0 means off), got " << op.getBlockOrZero();
  int64_t T = op.getQ().getType().getDimSize(1),
          S = op.getK().getType().getDimSize(1);
  if (op.getBlockOrZero() > 0 && !ShapedType::isDynamic(T) &&
      !ShapedType::isDynamic(S) && S != T)
    return op.emitOpError() << "'block' needs keys at the query positions (S "
                               "= T), got S = "
                            << S << ", T = " << T;
  if (float cap = op.getSoftcapOrZero();
      op.getSoftcap() && !(std::isfinite(cap) && cap > 0.0f))
    return op.emitOpError()
           << "'softcap' must be positive and finite, got " << cap;
  ShapeVerifier shapes(o);
  if (failed(shapes.check(getShapeContract(o))) ||
      failed(checkPacking(o, shapes)))
    return failure();
  return checkMultiple(o, "Hq", shapes.size("Hq"), "Hk", shapes.size("Hk"));
}
} // namespace

LogicalResult AttentionOp::verify() {
  if (failed(checkElementType(*this, "o", getO(), "q", getQ())))
    return failure();
  if (getKvLens()) {
    StringRef other = getG()             ? "forget gate ('forget')"
                      : getCuSeqlens()   ? "packing ('varlen')"
                      : getBlockOrZero() ? "block mask ('block')"
                                         : "";
    if (!other.empty())
      return emitOpError() << "'kv_lens' (a KV cache, queries at its last T "
                              "positions) takes no "
                           << other;
    int64_t T = getQ().getType().getDimSize(1),
            S = getK().getType().getDimSize(1);
    if (!ShapedType::isDynamic(T) && !ShapedType::isDynamic(S) && T > S)
      return emitOpError() << "'kv_lens' needs the queries in the cache (T <= "
                              "S), got T = "
                           << T << ", S = " << S;
  }
  return verifyAttention(*this);
}

LogicalResult AttentionGradOp::verify() {
  if (failed(checkElementType(*this, "dout", getDout(), "q", getQ())))
    return failure();
  if (!getG() != !getDg())
    return emitOpError() << "has a result 'dg' exactly when it has a forget "
                            "gate 'g'";
  return verifyAttention(*this);
}

float AttentionGradOp::getScaleOrDefault() {
  return defaultScale(getScale(), getQ());
}

float AttentionOp::getScaleOrDefault() {
  return defaultScale(getScale(), getQ());
}

LogicalResult ScanOp::verify() {
  Operation *o = getOperation();
  if (failed(
          checkElementType(o, "g", getG(), "x", getX(), /*allowF32=*/true)) ||
      failed(checkElementType(o, "o", getO(), "x", getX())) ||
      failed(verifyChunkSize(o, getChunkSize())))
    return failure();
  ShapeVerifier shapes(o);
  if (failed(shapes.check(getShapeContract(o))))
    return failure();
  return checkPacking(o, shapes);
}

//===----------------------------------------------------------------------===//
// mix.rnn
//===----------------------------------------------------------------------===//

int64_t RnnOp::gateCount(RnnCell cell) { return cell == RnnCell::gru ? 3 : 4; }

ArrayRef<StringRef> RnnOp::stateNames(RnnCell cell) {
  static const StringRef kNames[] = {"h", "c", "n", "m"};
  switch (cell) {
  case RnnCell::gru:
    return ArrayRef(kNames).take_front(1);
  case RnnCell::lstm:
    return ArrayRef(kNames).take_front(2);
  case RnnCell::slstm:
    return ArrayRef(kNames);
  }
  return {};
}

namespace {
/// "2 initial states (h, c)" for the states of `cell`.
std::string describeStates(RnnCell cell, StringRef what) {
  ArrayRef<StringRef> names = RnnOp::stateNames(cell);
  std::string s = std::to_string(names.size()) + " " + what.str() +
                  (names.size() == 1 ? "" : "s") + " (";
  for (auto [i, n] : llvm::enumerate(names))
    s += (i ? ", " : "") + n.str();
  return s + ")";
}
} // namespace

LogicalResult RnnOp::verify() {
  RnnCell cell = getCell();
  StringRef cellName = stringifyRnnCell(cell);
  size_t states = stateNames(cell).size();
  size_t inits = getInitialStates().size(), finals = getFinalStates().size();
  if (inits != 0 && inits != states)
    return emitOpError() << "cell '" << cellName << "' takes "
                         << describeStates(cell, "initial state")
                         << " or none, got " << inits;
  if (finals != states)
    return emitOpError() << "cell '" << cellName << "' returns "
                         << describeStates(cell, "final state")
                         << " after 'h', got " << finals;
  Operation *o = getOperation();
  if (failed(checkElementType(o, "r", getR(), "wx", getWx(),
                              /*allowF32=*/true)) ||
      failed(checkElementType(o, "b", getB(), "wx", getWx(),
                              /*allowF32=*/true)) ||
      failed(checkElementType(o, "h", getH(), "wx", getWx())))
    return failure();
  ShapeVerifier shapes(o);
  if (failed(shapes.check(getShapeContract(o))))
    return failure();
  int64_t gates = shapes.size("G");
  if (gates != gateCount(cell))
    return emitOpError() << "cell '" << cellName << "' has " << gateCount(cell)
                         << " gates, but 'wx' dim 3 (G) is " << gates;
  return success();
}

//===----------------------------------------------------------------------===//
// mix.causal_conv1d
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::verify() {
  Operation *o = getOperation();
  if (failed(
          checkElementType(o, "w", getW(), "x", getX(), /*allowF32=*/true)) ||
      failed(checkElementType(o, "bias", getBias(), "x", getX(),
                              /*allowF32=*/true)) ||
      failed(checkElementType(o, "conv_state", getConvState(), "x", getX())) ||
      failed(checkElementType(o, "y", getY(), "x", getX())) ||
      failed(checkElementType(o, "final_conv_state", getFinalConvState(), "x",
                              getX())))
    return failure();
  auto wType = getW().getType();
  if (wType.getRank() == 2 && !wType.isDynamicDim(1) &&
      (wType.getDimSize(1) < 2 || wType.getDimSize(1) > kMaxTaps))
    return emitOpError() << "'w' dim 1 (W, the taps) must be in [2, "
                         << kMaxTaps << "], got " << wType.getDimSize(1);
  ShapeVerifier shapes(o);
  if (failed(checkPoolOperand(o, getConvState(), "conv_state", "state")) ||
      failed(shapes.check(getShapeContract(o))) ||
      failed(checkPacking(o, shapes)) || failed(checkStatePool(o, shapes)))
    return failure();
  int64_t taps = shapes.size("W");
  if (shapes.size("W1") != taps - 1)
    return emitOpError() << "the conv state holds W - 1 = " << taps - 1
                         << " inputs, but its dim 2 is " << shapes.size("W1");
  return success();
}
