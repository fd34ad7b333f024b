//===- MixerOps.cpp - ONNX mixer nodes to mix ops -------------------------===//
//
// Standard Attention (opset 23+), LinearAttention (opset 27 and
// com.microsoft), and the `mixir` custom domain, which mirrors the dialect
// one to one (layout [B, T, H, D], the dialect's attribute names).
//
//===----------------------------------------------------------------------===//
#include "Importer.h"
#include "mixir/Builders/MixerBuilders.h"
#include "mixir/Builders/TensorBuilders.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::onnx_import {
namespace {

using build::sizesOf;

bool isMixFloat(Type t) { return t.isF32() || t.isF16() || t.isBF16(); }

/// [B, T, H*D] -> [B, T, H, D]; fails when the last dim is not a static
/// multiple of `heads`.
FailureOr<Value> unpackHeads(Node &n, Value x, int64_t heads,
                             llvm::StringRef what) {
  auto t = cast<RankedTensorType>(x.getType());
  if (t.getRank() != 3)
    return n.fail(what + " must be 3-D [B, T, H*D], got rank " +
                  llvm::Twine(t.getRank()));
  int64_t packed = t.getDimSize(2);
  if (heads <= 0 || ShapedType::isDynamic(packed) || packed % heads)
    return n.fail(what + " last dimension (" +
                  (ShapedType::isDynamic(packed) ? std::string("?")
                                                 : std::to_string(packed)) +
                  ") is not a static multiple of the head count " +
                  llvm::Twine(heads));
  SmallVector<OpFoldResult> s = sizesOf(n.b, n.loc, x);
  return build::reshape(
      n.b, n.loc, x,
      {s[0], s[1], n.b.getIndexAttr(heads), n.b.getIndexAttr(packed / heads)});
}

/// [B, T, H, D] -> [B, T, H*D].
Value packHeads(Node &n, Value x) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> s = sizesOf(n.b, n.loc, x);
  return build::reshape(
      n.b, n.loc, x,
      {s[0], s[1], n.b.getIndexAttr(t.getDimSize(2) * t.getDimSize(3))});
}

RankedTensorType withShape(Value like, ArrayRef<int64_t> shape,
                           Type elem = Type()) {
  auto t = cast<RankedTensorType>(like.getType());
  return RankedTensorType::get(shape, elem ? elem : t.getElementType());
}

int64_t dim(Value v, int64_t d) {
  return cast<RankedTensorType>(v.getType()).getDimSize(d);
}

//===----------------------------------------------------------------------===//
// Attention (opset 23, 24)
//===----------------------------------------------------------------------===//

/// For a constant `mask` ([..., T, T], bool or additive float, the same
/// matrix in every leading position): 0 when it is the causal mask (keep/0
/// on and below the diagonal, drop/<= -1e4 above), W when it is a causal
/// band keeping i - W < j <= i (a sliding window narrower than T), nullopt
/// otherwise.
std::optional<int64_t> constantCausalWindow(DenseElementsAttr mask) {
  auto type = cast<RankedTensorType>(mask.getType());
  if (type.getRank() < 2 || mask.getNumElements() > (1 << 24))
    return std::nullopt;
  int64_t rows = type.getDimSize(type.getRank() - 2);
  int64_t cols = type.getDimSize(type.getRank() - 1);
  if (rows != cols || rows == 0)
    return std::nullopt;
  std::vector<char> keep;
  keep.reserve(mask.getNumElements());
  if (type.getElementType().isInteger(1)) {
    for (bool v : mask.getValues<bool>())
      keep.push_back(v);
  } else if (isa<FloatType>(type.getElementType())) {
    for (const APFloat &f : mask.getValues<APFloat>()) {
      double v = f.convertToDouble();
      if (v != 0.0 && !(v <= -1e4))
        return std::nullopt;
      keep.push_back(v == 0.0);
    }
  } else {
    return std::nullopt;
  }
  // The window is read off the last row, then every element is checked.
  int64_t w = 0;
  for (int64_t j = 0; j < cols; ++j)
    w += keep[(rows - 1) * cols + j];
  if (w < 1)
    return std::nullopt;
  for (int64_t at = 0, e = keep.size(); at < e; ++at) {
    int64_t i = (at / cols) % rows, j = at % cols;
    if ((bool)keep[at] != (j <= i && i - j < w))
      return std::nullopt;
  }
  return w >= rows ? 0 : w;
}

LogicalResult attention(Node &n) {
  bool maskIsCausal = false;
  int64_t window = 0;
  if (n.hasInput(3)) {
    DenseElementsAttr mask = n.constantInput(3);
    std::optional<int64_t> w = mask ? constantCausalWindow(mask) : std::nullopt;
    if (!w)
      return n.fail("attn_mask is supported only as a constant causal mask, "
                    "optionally banded by a sliding window (bool, or 0 / -inf "
                    "additive); use is_causal=1");
    maskIsCausal = true;
    window = *w;
  }
  if (n.hasInput(4) || n.hasInput(5))
    return n.fail("past_key/past_value (KV cache) are not supported");
  if (n.hasInput(6))
    return n.fail("nonpad_kv_seqlen is not supported");
  // softcap: c * tanh(scores / c) before the mask, as mix.attention does.
  float softcap = n.floatAttr("softcap", 0.0f);
  if (!(std::isfinite(softcap) && softcap >= 0.0f))
    return n.fail("softcap must be >= 0 and finite");
  if (n.hasOutput(3))
    return n.fail("the qk_matmul_output output is not supported");
  Value q = n.input(0), k = n.input(1), v = n.input(2);
  Type elem = n.inputType(0).getElementType();
  if (!isMixFloat(elem))
    return n.fail("expects f32, f16 or bf16 inputs");
  int64_t rank = n.inputType(0).getRank();
  if (rank != 3 && rank != 4)
    return n.fail("Q must be 3-D or 4-D");
  if (n.inputType(1).getRank() != rank || n.inputType(2).getRank() != rank)
    return n.fail("Q, K and V must have the same rank");
  Value q4, k4, v4; // [B, T, H, D]
  if (rank == 4) {
    q4 = build::transpose(n.b, n.loc, q, {0, 2, 1, 3});
    k4 = build::transpose(n.b, n.loc, k, {0, 2, 1, 3});
    v4 = build::transpose(n.b, n.loc, v, {0, 2, 1, 3});
  } else {
    int64_t hq = n.intAttr("q_num_heads", 0),
            hkv = n.intAttr("kv_num_heads", 0);
    auto qu = unpackHeads(n, q, hq, "Q"), ku = unpackHeads(n, k, hkv, "K"),
         vu = unpackHeads(n, v, hkv, "V");
    if (failed(qu) || failed(ku) || failed(vu))
      return failure();
    q4 = *qu, k4 = *ku, v4 = *vu;
  }
  int64_t hq = dim(q4, 2), hkv = dim(k4, 2), d = dim(q4, 3), dv = dim(v4, 3);
  if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv) ||
      ShapedType::isDynamic(d) || ShapedType::isDynamic(dv))
    return n.fail("head counts and head sizes must be static");
  if (hkv == 0 || hq % hkv)
    return n.fail("q heads (" + llvm::Twine(hq) +
                  ") must be a multiple of kv heads (" + llvm::Twine(hkv) +
                  ")");
  if (dim(k4, 3) != d || dim(v4, 2) != hkv)
    return n.fail("K/V head counts or sizes disagree with Q");
  bool causal = n.intAttr("is_causal", 0) != 0 || maskIsCausal;
  int64_t t = dim(q4, 1), s = dim(k4, 1);
  if (maskIsCausal) {
    auto mt = n.inputType(3);
    if (ShapedType::isDynamic(t) || mt.getDimSize(mt.getRank() - 2) != t)
      return n.fail(
          "the causal attn_mask must be [T, T] with the static query length");
  }
  if (causal && !ShapedType::isDynamic(t) && !ShapedType::isDynamic(s) &&
      t != s)
    return n.fail("is_causal with different query (" + llvm::Twine(t) +
                  ") and key (" + llvm::Twine(s) +
                  ") lengths is not supported");
  FloatAttr scale;
  if (n.hasAttr("scale"))
    scale = n.b.getF32FloatAttr(n.floatAttr("scale", 1.0f));
  auto oType = withShape(q4, {dim(q4, 0), t, hq, dv});
  Value o = mix::AttentionOp::create(
                n.b, n.loc, oType, /*lse=*/Type(), q4, k4, v4, Value(),
                /*cu_seqlens=*/Value(),
                /*kv_lens=*/Value(), causal ? n.b.getUnitAttr() : UnitAttr(),
                window ? n.b.getI64IntegerAttr(window) : IntegerAttr(), scale,
                softcap > 0.0f ? n.b.getF32FloatAttr(softcap) : FloatAttr(),
                /*block=*/IntegerAttr())
                .getO();
  if (rank == 4) {
    n.setOutput(0, build::transpose(n.b, n.loc, o, {0, 2, 1, 3}));
    n.setOutput(1, k);
    n.setOutput(2, v);
  } else {
    n.setOutput(0, packHeads(n, o));
    if (n.hasOutput(1))
      n.setOutput(1, build::transpose(n.b, n.loc, k4, {0, 2, 1, 3}));
    if (n.hasOutput(2))
      n.setOutput(2, build::transpose(n.b, n.loc, v4, {0, 2, 1, 3}));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LinearAttention (opset 27, com.microsoft)
//===----------------------------------------------------------------------===//

/// update_rule of LinearAttention and GatedDeltaNet.
struct UpdateRule {
  std::string name;
  bool gated, delta;
};

FailureOr<UpdateRule> readUpdateRule(Node &n) {
  std::string rule = n.stringAttr("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" &&
      rule != "gated_delta")
    return n.fail("unknown update_rule '" + rule + "'");
  return UpdateRule{rule, rule == "gated" || rule == "gated_delta",
                    rule == "delta" || rule == "gated_delta"};
}

/// The mix op of an update rule: mix.delta_rule with a delta (`beta`, and
/// `l2` for qk_l2norm), mix.linear_attention otherwise.
Operation *createRuleMixer(OpBuilder &b, Location loc, const UpdateRule &rule,
                           Type oType, Type sType, Value q, Value k, Value v,
                           Value beta, Value g, Value init, mix::GateKind kind,
                           FloatAttr scale, bool l2 = false) {
  auto kindAttr = mix::GateKindAttr::get(b.getContext(), kind);
  if (rule.delta)
    return mix::DeltaRuleOp::create(b, loc, oType, sType, q, k, v, beta, g,
                                    init, Value(), Value(), kindAttr, scale,
                                    l2 ? b.getUnitAttr() : UnitAttr(),
                                    UnitAttr(), IntegerAttr());
  return mix::LinearAttentionOp::create(b, loc, oType, sType, q, k, v, g, init,
                                        Value(), Value(), kindAttr, scale,
                                        IntegerAttr());
}

LogicalResult linearAttention(Node &n) {
  if (n.intAttr("state_window", 0) != 0)
    return n.fail("state_window != 0 is not supported");
  FailureOr<UpdateRule> ruleOr = readUpdateRule(n);
  if (failed(ruleOr))
    return failure();
  const std::string &rule = ruleOr->name;
  bool gated = ruleOr->gated, delta = ruleOr->delta;
  int64_t hq = n.intAttr("q_num_heads", 0), hkv = n.intAttr("kv_num_heads", 0);
  if (hq <= 0 || hkv <= 0)
    return n.fail(
        "q_num_heads and kv_num_heads are required and must be positive");
  if (hq % hkv && hkv % hq)
    return n.fail("q_num_heads (" + llvm::Twine(hq) + ") and kv_num_heads (" +
                  llvm::Twine(hkv) + ") must divide one another");
  Type elem = n.inputType(0).getElementType();
  if (!isMixFloat(elem))
    return n.fail("expects f32, f16 or bf16 inputs");
  auto q = unpackHeads(n, n.input(0), hq, "query");
  auto k = unpackHeads(n, n.input(1), hkv, "key");
  auto v = unpackHeads(n, n.input(2), hkv, "value");
  if (failed(q) || failed(k) || failed(v))
    return failure();
  int64_t dk = dim(*q, 3), dv = dim(*v, 3);
  if (dim(*k, 3) != dk)
    return n.fail("query and key head sizes differ (" + llvm::Twine(dk) +
                  " vs " + llvm::Twine(dim(*k, 3)) + ")");
  Value init;
  if (n.hasInput(3)) {
    init = n.input(3);
    auto st = n.inputType(3);
    if (st.getElementType() != elem && !st.getElementType().isF32())
      return n.fail("past_state must have the inputs' element type or f32");
    // The mix state is always f32; ONNX keeps it in the input type.
    init = build::castElements(n.b, n.loc, init, n.b.getF32Type());
    if (st.getRank() != 4 || (!st.isDynamicDim(1) && st.getDimSize(1) != hkv) ||
        st.getDimSize(2) != dk || st.getDimSize(3) != dv)
      return n.fail("past_state must be [B, " + llvm::Twine(hkv) + ", " +
                    llvm::Twine(dk) + ", " + llvm::Twine(dv) + "]");
    if (st.isDynamicDim(1) || st.isDynamicDim(2) || st.isDynamicDim(3))
      init = tensor::CastOp::create(
          n.b, n.loc,
          RankedTensorType::get({st.getDimSize(0), hkv, dk, dv},
                                n.b.getF32Type()),
          init);
  }
  Value g;
  mix::GateKind kind = mix::GateKind::none;
  if (gated) {
    if (!n.hasInput(4))
      return n.fail("update_rule '" + rule + "' needs the decay input");
    Value decay = n.input(4);
    auto dt = n.inputType(4);
    if (dt.getRank() != 3 || dt.isDynamicDim(2))
      return n.fail("decay must be 3-D with a static last dimension");
    if (dt.getDimSize(2) == hkv) {
      g = decay, kind = mix::GateKind::scalar;
    } else if (dt.getDimSize(2) == hkv * dk) {
      auto gv = unpackHeads(n, decay, hkv, "decay");
      if (failed(gv))
        return failure();
      g = *gv, kind = mix::GateKind::vector;
    } else {
      return n.fail("decay last dimension (" + llvm::Twine(dt.getDimSize(2)) +
                    ") is neither kv_num_heads nor kv_num_heads * d_k");
    }
  } else if (n.hasInput(4)) {
    return n.fail("update_rule '" + rule + "' takes no decay input");
  }
  Value beta;
  if (delta) {
    if (!n.hasInput(5))
      return n.fail("update_rule '" + rule + "' needs the beta input");
    beta = n.input(5);
    auto bt = n.inputType(5);
    if (bt.getRank() != 3 || (bt.getDimSize(2) != 1 && bt.getDimSize(2) != hkv))
      return n.fail("beta must be [B, T, kv_num_heads] or [B, T, 1]");
    if (bt.getDimSize(2) == 1 && hkv != 1) {
      SmallVector<OpFoldResult> s = sizesOf(n.b, n.loc, beta);
      s[2] = n.b.getIndexAttr(hkv);
      beta = build::elementwise(
          n.b, n.loc, ValueRange{beta}, bt.getElementType(),
          [](OpBuilder &, Location, ValueRange a) { return a[0]; },
          ArrayRef<OpFoldResult>(s));
    }
  }
  float scaleAttr = n.floatAttr("scale", 0.0f);
  FloatAttr scale = n.b.getF32FloatAttr(
      scaleAttr != 0.0f ? scaleAttr : 1.0f / std::sqrt((float)dk));
  int64_t ho = std::max(hq, hkv);
  auto oType = withShape(*q, {dim(*q, 0), dim(*q, 1), ho, dv});
  auto sType =
      RankedTensorType::get({dim(*q, 0), hkv, dk, dv}, n.b.getF32Type());
  Operation *op = createRuleMixer(n.b, n.loc, *ruleOr, oType, sType, *q, *k, *v,
                                  beta, g, init, kind, scale);
  n.setOutput(0, packHeads(n, op->getResult(0)));
  n.setOutput(1, build::castElements(n.b, n.loc, op->getResult(1), elem));
  return success();
}

//===----------------------------------------------------------------------===//
// com.microsoft GatedDeltaNet: token-major [B, S, H, D] (or [B*S, H, D] with
// the batch from initial_state), V-major state [B, Hv, V, K]
//===----------------------------------------------------------------------===//

/// Qwen3-Next's decay, in f32: g = -exp(a_log) * softplus(decay + dt_bias).
Value softplusDecay(OpBuilder &b, Location loc, Value decay, Value aLog,
                    Value dtBias) {
  Type f32 = b.getF32Type();
  auto body = [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value x =
        arith::AddFOp::create(nb, l, build::convertScalar(nb, l, a[0], f32),
                              build::convertScalar(nb, l, a[2], f32));
    Value zero = build::scalarConstant(nb, l, f32, 0.0);
    // softplus(x) = max(x, 0) + log1p(exp(-|x|)), finite for any x.
    Value tail = math::Log1pOp::create(
        nb, l,
        math::ExpOp::create(
            nb, l,
            arith::NegFOp::create(nb, l, math::AbsFOp::create(nb, l, x))));
    Value sp = arith::AddFOp::create(
        nb, l, arith::MaximumFOp::create(nb, l, x, zero), tail);
    Value rate =
        math::ExpOp::create(nb, l, build::convertScalar(nb, l, a[1], f32));
    return arith::NegFOp::create(nb, l, arith::MulFOp::create(nb, l, rate, sp));
  };
  return build::elementwise(b, loc, ValueRange{decay, aLog, dtBias}, f32, body);
}

/// 1 / (1 + exp(-x)), in x's element type.
Value sigmoidOf(OpBuilder &b, Location loc, Value x) {
  Type et = cast<RankedTensorType>(x.getType()).getElementType();
  auto body = [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value one = build::scalarConstant(nb, l, et, 1.0);
    Value e = math::ExpOp::create(nb, l, arith::NegFOp::create(nb, l, a[0]));
    return arith::DivFOp::create(nb, l, one,
                                 arith::AddFOp::create(nb, l, one, e));
  };
  return build::elementwise(b, loc, ValueRange{x}, et, body);
}

/// GatedDeltaNet's inputs and outputs that the import refuses.
LogicalResult refuseUnsupportedGDNParts(Node &n) {
  if (n.hasInput(3))
    return n.fail("cu_seqlens (ragged packing) is not supported");
  if (!n.hasInput(1) || !n.hasInput(2))
    return n.fail("packed QKV (no key/value inputs) is not supported");
  for (int i = 9; i < (int)n.numInputs(); ++i)
    if (n.hasInput(i))
      return n.fail("state-update capture inputs are not supported");
  if (n.intAttr("state_update_capacity", 0) != 0 || n.hasOutput(2))
    return n.fail(
        "state_update_capacity / the state_update output are not supported");
  return success();
}

/// A GatedDeltaNet input as [B, S, ...]: rank-3 inputs ([B*S, H, D] when
/// the query's `rank` is 3) split their tokens into `batch` sequences.
FailureOr<Value> batchTokens(Node &n, Value x, int64_t batch, int64_t rank) {
  auto t = cast<RankedTensorType>(x.getType());
  if (t.getRank() == 4 || (t.getRank() == 3 && rank == 4))
    return x;
  int64_t tokens = t.getDimSize(0);
  if (ShapedType::isDynamic(tokens) || tokens % batch)
    return n.fail(
        "rank-3 inputs need a static token count divisible by the batch");
  SmallVector<OpFoldResult> s = sizesOf(n.b, n.loc, x);
  SmallVector<OpFoldResult> out = {n.b.getIndexAttr(batch),
                                   n.b.getIndexAttr(tokens / batch)};
  out.append(s.begin() + 1, s.end());
  return build::reshape(n.b, n.loc, x, out);
}

LogicalResult gatedDeltaNet(Node &n) {
  if (failed(refuseUnsupportedGDNParts(n)))
    return failure();
  FailureOr<UpdateRule> ruleOr = readUpdateRule(n);
  if (failed(ruleOr))
    return failure();
  const std::string &rule = ruleOr->name;
  bool gated = ruleOr->gated, delta = ruleOr->delta;
  std::string gateAct = n.stringAttr("gate_activation", "none");
  std::string betaAct = n.stringAttr("beta_activation", "none");
  if (gateAct != "none" && gateAct != "softplus" && gateAct != "qwen")
    return n.fail("gate_activation '" + gateAct +
                  "' is not supported (none, softplus)");
  if (betaAct != "none" && betaAct != "sigmoid")
    return n.fail("beta_activation '" + betaAct + "' is not supported");
  Value q = n.input(0), k = n.input(1), v = n.input(2);
  Type elem = n.inputType(0).getElementType();
  if (!isMixFloat(elem))
    return n.fail("expects f32, f16 or bf16 inputs");
  int64_t rank = n.inputType(0).getRank();
  Value init = n.hasInput(6) ? n.input(6) : Value();
  OpBuilder &b = n.b;
  Location loc = n.loc;
  auto toBatched = [&](Value x, int64_t batch) {
    return batchTokens(n, x, batch, rank);
  };
  int64_t batch = 1;
  if (rank == 3) {
    if (!init)
      return n.fail("rank-3 inputs without cu_seqlens need initial_state for "
                    "the batch size");
    batch = n.inputType(6).getDimSize(0);
    if (ShapedType::isDynamic(batch))
      return n.fail("initial_state needs a static batch size");
  } else if (rank != 4) {
    return n.fail("query must be [B, S, H, D] or [B*S, H, D]");
  }
  auto qb = toBatched(q, batch), kb = toBatched(k, batch),
       vb = toBatched(v, batch);
  if (failed(qb) || failed(kb) || failed(vb))
    return failure();
  q = *qb, k = *kb, v = *vb;
  int64_t hq = dim(q, 2), hk = dim(k, 2), hv = dim(v, 2), dk = dim(q, 3),
          dv = dim(v, 3);
  if (hq != hk || hv % hq)
    return n.fail("num_heads_q must equal num_heads_k and divide num_heads_v");
  Value g, beta;
  mix::GateKind kind = mix::GateKind::none;
  if (gated) {
    if (!n.hasInput(4))
      return n.fail("update_rule '" + rule + "' needs the decay input");
    auto gbRes = toBatched(n.input(4), batch);
    if (failed(gbRes))
      return failure();
    g = *gbRes;
    auto gt = cast<RankedTensorType>(g.getType());
    kind = gt.getRank() == 4 ? mix::GateKind::vector : mix::GateKind::scalar;
    if (gateAct != "none") {
      // g = -exp(a_log) * softplus(decay + dt_bias), in f32.
      if (!n.hasInput(7) || !n.hasInput(8))
        return n.fail("gate_activation 'softplus' needs a_log and dt_bias");
      Value aLog = n.input(7), dtBias = n.input(8);
      if (kind == mix::GateKind::vector &&
          cast<RankedTensorType>(dtBias.getType()).getRank() == 1 &&
          dim(dtBias, 0) == hv * dk)
        dtBias = build::reshape(b, loc, dtBias,
                                {b.getIndexAttr(hv), b.getIndexAttr(dk)});
      if (kind == mix::GateKind::vector)
        aLog = build::reshape(b, loc, aLog,
                              {b.getIndexAttr(hv), b.getIndexAttr(1)});
      g = softplusDecay(b, loc, g, aLog, dtBias);
    }
  }
  if (delta) {
    if (!n.hasInput(5))
      return n.fail("update_rule '" + rule + "' needs the beta input");
    auto bRes = toBatched(n.input(5), batch);
    if (failed(bRes))
      return failure();
    beta = *bRes;
    if (betaAct == "sigmoid")
      beta = sigmoidOf(b, loc, beta);
  }
  if (init) {
    auto st = cast<RankedTensorType>(init.getType());
    if (!st.getElementType().isF32() || st.getRank() != 4 ||
        st.getDimSize(1) != hv || st.getDimSize(2) != dv ||
        st.getDimSize(3) != dk)
      return n.fail("initial_state must be f32 [B, num_heads_v, head_size_v, "
                    "head_size_qk]");
    init = build::transpose(b, loc, init,
                            {0, 1, 3, 2}); // V-major -> [B, Hv, K, V]
  }
  bool l2 = n.intAttr("qk_l2_norm", 0) != 0;
  if (l2 && !delta)
    return n.fail("qk_l2_norm with update_rule '" + rule +
                  "' is not supported");
  float scaleAttr = n.floatAttr("scale", 0.0f);
  FloatAttr scale = b.getF32FloatAttr(
      scaleAttr != 0.0f ? scaleAttr : 1.0f / std::sqrt((float)dk));
  auto oType = withShape(q, {dim(q, 0), dim(q, 1), std::max(hq, hv), dv});
  auto sType = RankedTensorType::get({dim(q, 0), hv, dk, dv}, b.getF32Type());
  Operation *op = createRuleMixer(b, loc, *ruleOr, oType, sType, q, k, v, beta,
                                  g, init, kind, scale, l2);
  Value o = op->getResult(0);
  if (rank == 3) {
    SmallVector<OpFoldResult> s = sizesOf(b, loc, o);
    o = build::reshape(b, loc, o,
                       {b.getIndexAttr(dim(o, 0) * dim(o, 1)), s[2], s[3]});
  }
  n.setOutput(0, o);
  n.setOutput(1, build::transpose(b, loc, op->getResult(1), {0, 1, 3, 2}));
  return success();
}

//===----------------------------------------------------------------------===//
// mixir domain: the dialect's ops, [B, T, H, D] layout
//===----------------------------------------------------------------------===//

/// The node's attributes, named as in the dialect.
build::MixerOptions mixerOptions(Node &n) {
  build::MixerOptions options;
  options.gate = n.stringAttr("gate", "");
  if (n.hasAttr("scale"))
    options.scale = n.floatAttr("scale", 1.0f);
  options.qkL2Norm = n.intAttr("qk_l2norm", 0) != 0;
  options.allowNegEigval = n.intAttr("allow_neg_eigval", 0) != 0;
  options.causal = n.intAttr("causal", 1) != 0;
  options.window = n.intAttr("window", 0);
  return options;
}

Value optionalInput(Node &n, int i) {
  return n.hasInput(i) ? n.input(i) : Value();
}

/// Sets the node's outputs from a shared mixer builder's results.
LogicalResult setMixerOutputs(Node &n, FailureOr<SmallVector<Value, 2>> results,
                              const std::string &error) {
  if (failed(results))
    return n.fail(error);
  for (auto [i, v] : llvm::enumerate(*results))
    n.setOutput(i, v);
  return success();
}

using MixerBuilder = FailureOr<SmallVector<Value, 2>> (*)(
    OpBuilder &, Location, const build::MixerOperands &,
    const build::MixerOptions &, std::string &);

/// A mixer node of the mixir domain: `builder` with the node's inputs in the
/// order of its op's operands; `hasBeta` and `hasState` say whether the op
/// takes beta (before the gate) and an initial state (after it).
LogicalResult mixirMixer(Node &n, MixerBuilder builder, bool hasBeta,
                         bool hasState) {
  build::MixerOperands in;
  int next = 0;
  for (Value *operand : {&in.q, &in.k, &in.v})
    *operand = optionalInput(n, next++);
  if (hasBeta)
    in.beta = optionalInput(n, next++);
  in.g = optionalInput(n, next++);
  if (hasState)
    in.initialState = optionalInput(n, next++);
  std::string error;
  auto r = builder(n.b, n.loc, in, mixerOptions(n), error);
  return setMixerOutputs(n, r, error);
}

LogicalResult mixirLinearAttention(Node &n) {
  return mixirMixer(n, build::linearAttentionOp, /*hasBeta=*/false,
                    /*hasState=*/true);
}

LogicalResult mixirDeltaRule(Node &n) {
  return mixirMixer(n, build::deltaRuleOp, /*hasBeta=*/true,
                    /*hasState=*/true);
}

LogicalResult mixirAttention(Node &n) {
  return mixirMixer(n, build::attentionOp, /*hasBeta=*/false,
                    /*hasState=*/false);
}

LogicalResult mixirScan(Node &n) {
  std::string error;
  auto r = build::scanOp(n.b, n.loc, optionalInput(n, 0), optionalInput(n, 1),
                         optionalInput(n, 2), error);
  return setMixerOutputs(n, r, error);
}

} // namespace

void registerMixerOps(HandlerMap &m) {
  import::addHandlers(
      m,
      "::", {{"Attention", attention}, {"LinearAttention", linearAttention}});
  import::addHandlers(
      m, "com.microsoft::",
      {{"LinearAttention", linearAttention}, {"GatedDeltaNet", gatedDeltaNet}});
  import::addHandlers(m, "mixir::",
                      {{"LinearAttention", mixirLinearAttention},
                       {"DeltaRule", mixirDeltaRule},
                       {"Attention", mixirAttention},
                       {"Scan", mixirScan}});
}

} // namespace mixir::onnx_import
