//===- MixOps.td - the mix dialect: sequence-mixer ops ------*- tablegen -*-===//
//
// Semantics of every op are defined in docs/MIXERS.md. Layout is
// sequence-first: q [B, T, Hq, K], k [B, T, Hk, K], v [B, T, Hv, V].
//
//===----------------------------------------------------------------------===//

#ifndef MIXIR_DIALECT_MIX_IR_MIXOPS_TD
#define MIXIR_DIALECT_MIX_IR_MIXOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Mix_Dialect : Dialect {
  let name = "mix";
  let cppNamespace = "::mixir::mix";
  let summary = "Sequence mixers: linear recurrences, delta rules, attention";
  let description = [{
    High-level ops for the token-mixing layers of modern language models. Each
    op is defined by its recurrent form; lowering passes choose the algorithm
    (recurrent per-token loop or chunkwise-parallel) and the target.

    The recurrent ops (linear_attention, delta_rule, recurrence, scan),
    causal_conv1d and attention take an optional `varlen(%cu_seqlens)`: a
    1-D i32 or i64 tensor of N + 1 offsets that packs N sequences along T
    of a batch of one (B = 1). Each sequence starts from its own row of
    `initial_state` (or `conv_state`, [N, ...]) and ends in its own row of
    the final state ([N, ...]); nothing crosses a boundary (attention: a
    query sees only its own sequence's keys, with the masks counted from the
    sequence's start). The offsets are data: one
    compiled function serves every packing, and a bad packing is a run-time
    error (MIXERS.md "Packed sequences").

    linear_attention, delta_rule, recurrence and causal_conv1d also take a
    state pool: `init(%pool) indices(%idx)` (causal_conv1d:
    `state(%pool) indices(%idx)`) with `pool: [P, Hv, K, V]` (causal_conv1d:
    `[P, D, W - 1]`) and `idx: [N]`
    (i32, one per sequence: batch row, or packed sequence). Sequence n
    starts from `pool[idx[n]]`; the final state result is the pool with
    each sequence's final state in its slot (the other slots unchanged). A
    negative index is padding: its slot is neither read nor written and its
    outputs are 0. An index >= P, or a non-negative index used twice, is a
    run-time error (MIXERS.md "State pools").
  }];
}

class Mix_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mix_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Mix_GateKind : I32EnumAttr<"GateKind", "kind of the log-decay gate", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"head", 1>,
    I32EnumAttrCase<"scalar", 2>,
    I32EnumAttrCase<"vector", 3>]> {
  let cppNamespace = "::mixir::mix";
}

// `log`: the decay is exp(g); `signed`: the decay is g itself, in [-1, 1]
// (C++ spells it DecayKind::signed_, `signed` being a keyword).
def Mix_DecayKind : I32EnumAttr<"DecayKind", "how a gate gives the decay", [
    I32EnumAttrCase<"log", 0>,
    I32EnumAttrCase<"signed_", 1, "signed">]> {
  let cppNamespace = "::mixir::mix";
}

// The cell of mix.rnn: the gates it has and how it updates its states.
def Mix_RnnCell
    : I32EnumAttr<"RnnCell", "cell of a head-wise RNN",
                  [I32EnumAttrCase<"lstm", 0>, I32EnumAttrCase<"gru", 1>,
                   I32EnumAttrCase<"slstm", 2>]> {
  let cppNamespace = "::mixir::mix";
}

def Mix_ConvActivation
    : I32EnumAttr<"ConvActivation", "activation after a causal convolution",
                  [I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"silu", 1>]> {
  let cppNamespace = "::mixir::mix";
}

def Mix_Float : AnyTypeOf<[F32, F16, BF16]>;
def Mix_Tensor : RankedTensorOf<[F32, F16, BF16]>;
def Mix_StateTensor : RankedTensorOf<[F32]>;
// The offsets of packed sequences (MIXERS.md "Packed sequences"): [N + 1],
// 0 first, non-decreasing, T last.
def Mix_SeqLens : 1DTensorOf<[I32, I64]>;
// The pool slot of each sequence (MIXERS.md "State pools"): [N], negative
// for padding.
def Mix_StateIndices : 1DTensorOf<[I32]>;
// The valid keys of each batch row of a KV cache (MIXERS.md "mix.attention"):
// [B], T <= kv_lens[b] <= S.
def Mix_KeyLengths : 1DTensorOf<[I32]>;

def Mix_LinearAttentionOp : Mix_Op<"linear_attention", [AttrSizedOperandSegments]> {
  let summary = "gated linear attention (RetNet, Lightning, GLA, Mamba2 SSD)";
  let description = [{
    `S_t = decay_t * S_{t-1} + k_t v_t^T`, `o_t = S_t^T (scale * q_t)`, one f32
    state `[K, V]` per value head. `gate` selects the decay: `none`, `head`
    (`g: [Hv]`), `scalar` (`g: [B, T, Hv]`) or `vector` (`g: [B, T, Hv, K]`);
    gates are natural-log decays. Results: `o: [B, T, max(Hq, Hv), V]` in the
    input element type and the final state `[B, Hv, K, V]` in f32.

    `causal = false` gives the bidirectional form: every token reads every
    token, the keys after it through the mirrored decay (the product of the
    decays of positions `t+1 .. s`; LION), the diagonal once. `normalize`
    divides each output row by the same sum with `v = 1` (a zero sum gives
    a zero row). The final state is the forward recurrence's either way.
    Both are rewritten into causal ops before lowering
    (`mix-expand-linear-attention`; without a gate the bidirectional form
    into the global one, `S = sum_t k v^T` and `o = S^T (scale q)`); neither takes an initial state, packed
    sequences or a state pool.

    `all_states` (speculative verification) makes the second result the
    state after every token, `[B, T, Hv, K, V]` in f32, instead of the final
    state; a state pool is then read and not written (the caller commits
    the state of the accepted prefix). It takes the recurrent form, so it
    refuses `chunk_size > 0`, and `causal = false`. mix.delta_rule and
    mix.recurrence take it too.

    ```mlir
    %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) init(%s0) scale = 0.125
        : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
           tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)
        -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
    ```
  }];
  let arguments = (ins Mix_Tensor:$q, Mix_Tensor:$k, Mix_Tensor:$v,
      Optional<Mix_Tensor>:$g, Optional<Mix_StateTensor>:$initial_state,
      Optional<Mix_SeqLens>:$cu_seqlens,
      Optional<Mix_StateIndices>:$state_indices,
      DefaultValuedAttr<Mix_GateKind,
                        "::mixir::mix::GateKind::none">:$gate_kind,
      OptionalAttr<F32Attr>:$scale, OptionalAttr<I64Attr>:$chunk_size,
      DefaultValuedAttr<BoolAttr, "true">:$causal, UnitAttr:$normalize,
      UnitAttr:$all_states);
  let results = (outs Mix_Tensor:$o, Mix_StateTensor:$final_state);
  let assemblyFormat = [{
    $q `,` $k `,` $v `gate` $gate_kind (`(` $g^ `)`)?
    (`init` `(` $initial_state^ `)`)?
    (`varlen` `(` $cu_seqlens^ `)`)? (`indices` `(` $state_indices^ `)`)?
    (`scale` `=` $scale^)? (`causal` `=` $causal^)?
    (`normalize` $normalize^)? (`all_states` $all_states^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let builders = [
      // The causal, unnormalised form.
      OpBuilder<(ins "::mlir::Type":$o, "::mlir::Type":$final_state,
                    "::mlir::Value":$q, "::mlir::Value":$k, "::mlir::Value":$v,
                    "::mlir::Value":$g, "::mlir::Value":$initial_state,
                    "::mlir::Value":$cu_seqlens, "::mlir::Value":$state_indices,
                    "GateKindAttr":$gate_kind, "::mlir::FloatAttr":$scale,
                    "::mlir::IntegerAttr":$chunk_size),
                [{
      build($_builder, $_state, o, final_state, q, k, v, g, initial_state,
            cu_seqlens, state_indices, gate_kind, scale, chunk_size,
            ::mlir::BoolAttr(), ::mlir::UnitAttr(), ::mlir::UnitAttr());
    }]>];
  let extraClassDeclaration = [{
    /// The scale applied to q: the attribute, or K^-1/2.
    float getScaleOrDefault();
    /// Whether the op is the plain causal form that the lowerings take
    /// (not `causal = false`, not `normalize`).
    bool isPlainCausal() { return getCausal() && !getNormalize(); }
  }];
}

def Mix_DeltaRuleOp : Mix_Op<"delta_rule", [AttrSizedOperandSegments]> {
  let summary = "delta rule (DeltaNet, Gated DeltaNet, negative eigenvalues, KDA)";
  let description = [{
    `S_t = decay_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T`,
    `o_t = S_t^T (scale * q_t)`. `beta: [B, T, Hv]`. `gate` is `none`,
    `scalar` (`g: [B, T, Hv]`) or `vector` (`g: [B, T, Hv, K]`). `qk_l2norm`
    normalises q and k over K (eps 1e-6) first; `allow_neg_eigval` doubles
    beta so the transition has eigenvalues in [-1, 1]. `all_states` as for
    mix.linear_attention.

    ```mlir
    %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm
        : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
           tensor<?x?x4xf32>, tensor<?x?x4xf32>)
        -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
    ```
  }];
  let arguments = (ins Mix_Tensor:$q, Mix_Tensor:$k, Mix_Tensor:$v,
      Mix_Tensor:$beta, Optional<Mix_Tensor>:$g,
      Optional<Mix_StateTensor>:$initial_state,
      Optional<Mix_SeqLens>:$cu_seqlens,
      Optional<Mix_StateIndices>:$state_indices,
      DefaultValuedAttr<Mix_GateKind,
                        "::mixir::mix::GateKind::none">:$gate_kind,
      OptionalAttr<F32Attr>:$scale, UnitAttr:$qk_l2norm,
      UnitAttr:$allow_neg_eigval, OptionalAttr<I64Attr>:$chunk_size,
      UnitAttr:$all_states);
  let results = (outs Mix_Tensor:$o, Mix_StateTensor:$final_state);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $beta `gate` $gate_kind (`(` $g^ `)`)?
    (`init` `(` $initial_state^ `)`)?
    (`varlen` `(` $cu_seqlens^ `)`)? (`indices` `(` $state_indices^ `)`)?
    (`scale` `=` $scale^)?
    (`qk_l2norm` $qk_l2norm^)? (`allow_neg_eigval` $allow_neg_eigval^)?
    (`all_states` $all_states^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let builders = [
      // Every attribute but all_states (the final state).
      OpBuilder<(ins "::mlir::Type":$o, "::mlir::Type":$final_state,
                    "::mlir::Value":$q, "::mlir::Value":$k, "::mlir::Value":$v,
                    "::mlir::Value":$beta, "::mlir::Value":$g,
                    "::mlir::Value":$initial_state, "::mlir::Value":$cu_seqlens,
                    "::mlir::Value":$state_indices, "GateKindAttr":$gate_kind,
                    "::mlir::FloatAttr":$scale, "::mlir::UnitAttr":$qk_l2norm,
                    "::mlir::UnitAttr":$allow_neg_eigval,
                    "::mlir::IntegerAttr":$chunk_size),
                [{
      build($_builder, $_state, o, final_state, q, k, v, beta, g,
            initial_state, cu_seqlens, state_indices, gate_kind, scale,
            qk_l2norm, allow_neg_eigval, chunk_size, ::mlir::UnitAttr());
    }]>];
  let extraClassDeclaration = [{
    float getScaleOrDefault();
  }];
}

def Mix_RecurrenceOp : Mix_Op<"recurrence", [AttrSizedOperandSegments]> {
  let summary = "diagonal-plus-low-rank (DPLR) linear recurrence (RWKV-7, DeltaProduct)";
  let description = [{
    The general linear recurrence with a diagonal-plus-low-rank transition,
    one f32 state `S: [K, V]` per value head:

        S_t = (D_t + sum_{r<R} b_{t,r} a_{t,r}^T) S_{t-1} + k_t v_t^T
        o_t = S_t^T (scale * q_t)

    with `D_t = diag(d_t)`. `lowrank(%a, %b)` gives `a, b: [B, T, Hv, R, K]`
    (same element type, f32 or the input type) with `1 <= R <= 4`; without
    it `R = 0` and the op is `mix.linear_attention`. `gate` picks the shape
    of `g` as for `mix.linear_attention`: `none` (`d = 1`), `head` (`[Hv]`),
    `scalar` (`[B, T, Hv]`) or `vector` (`[B, T, Hv, K]`). `decay log` (the
    default) reads `d = exp(g)`; `decay signed` reads `d = g`, which must lie
    in [-1, 1] for the recurrence to stay bounded (not checked: `g` is data).
    Results: `o: [B, T, max(Hq, Hv), V]` in the input element type and the
    final state `[B, Hv, K, V]` in f32; heads are shared as for
    `mix.linear_attention`.

    Special cases: the delta rule is `R = 1`, `a = d_t * k_t`,
    `b = -beta_t k_t` and `v -> beta_t v_t` (`2 beta` for negative
    eigenvalues); RWKV-7 is `d = w` (`decay signed`, or `log` of it),
    `a = kappa_hat`, `b = -(kappa_hat * a_rwkv)`; a Gated DeltaProduct with
    `n` Householder steps per token is `n` interleaved sub-steps per token.
    `chunk_size` (0: recurrent) selects the chunked CPU form, a generalised
    WY/UT solve of `chunk_size * R` rows per chunk; the chunked passes
    accept `chunk_size * R <= 128` (MIXERS.md).

    `read transposed` reads the state through its other side,
    `o_t = S_t (scale * q_t)`: then `q: [B, T, Hq, V]` and
    `o: [B, T, max(Hq, Hv), K]` (the derived backward needs this read; the
    default scale stays `K^-1/2`). `all_states` as for
    mix.linear_attention.

    ```mlir
    %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate vector(%w)
        decay signed init(%s0)
        : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
           tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>,
           tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)
        -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
    ```
  }];
  let arguments = (ins Mix_Tensor:$q, Mix_Tensor:$k, Mix_Tensor:$v,
      Optional<Mix_Tensor>:$a, Optional<Mix_Tensor>:$b, Optional<Mix_Tensor>:$g,
      Optional<Mix_StateTensor>:$initial_state,
      Optional<Mix_SeqLens>:$cu_seqlens,
      Optional<Mix_StateIndices>:$state_indices,
      DefaultValuedAttr<Mix_GateKind,
                        "::mixir::mix::GateKind::none">:$gate_kind,
      DefaultValuedAttr<Mix_DecayKind, "::mixir::mix::DecayKind::log">:$decay,
      OptionalAttr<F32Attr>:$scale, OptionalAttr<I64Attr>:$chunk_size,
      UnitAttr:$read_transposed, UnitAttr:$all_states);
  let results = (outs Mix_Tensor:$o, Mix_StateTensor:$final_state);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`lowrank` `(` $a^ `,` $b `)`)?
    `gate` $gate_kind (`(` $g^ `)`)? (`decay` $decay^)?
    (`read` `transposed` $read_transposed^)?
    (`init` `(` $initial_state^ `)`)?
    (`varlen` `(` $cu_seqlens^ `)`)? (`indices` `(` $state_indices^ `)`)?
    (`scale` `=` $scale^)? (`all_states` $all_states^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let builders = [
      // Every attribute but read_transposed and all_states (the normal
      // read, the final state).
      OpBuilder<(ins "::mlir::Type":$o, "::mlir::Type":$final_state,
                    "::mlir::Value":$q, "::mlir::Value":$k, "::mlir::Value":$v,
                    "::mlir::Value":$a, "::mlir::Value":$b, "::mlir::Value":$g,
                    "::mlir::Value":$initial_state, "::mlir::Value":$cu_seqlens,
                    "::mlir::Value":$state_indices, "GateKindAttr":$gate_kind,
                    "DecayKindAttr":$decay, "::mlir::FloatAttr":$scale,
                    "::mlir::IntegerAttr":$chunk_size),
                [{
      build($_builder, $_state, o, final_state, q, k, v, a, b, g,
            initial_state, cu_seqlens, state_indices, gate_kind, decay, scale,
            chunk_size, ::mlir::UnitAttr(), ::mlir::UnitAttr());
    }]>];
  let extraClassDeclaration = [{
    /// R, the number of rank-1 terms: 0 without lowrank(a, b).
    int64_t getRank();
    /// The largest R the op accepts.
    static constexpr int64_t kMaxRank = 4;
    float getScaleOrDefault();
  }];
}

def Mix_AttentionOp : Mix_Op<"attention", [AttrSizedOperandSegments]> {
  let summary = "softmax attention (causal, sliding window, forget gate, GQA)";
  let description = [{
    `o_i = sum_j softmax_j(scale * q_i . k_j + G_i - G_j) v_j` over the keys
    allowed by `causal` (`j <= i`) and `window` (`j > i - window`; 0 means
    unlimited). `q: [B, T, Hq, K]`, `k: [B, S, Hkv, K]`, `v: [B, S, Hkv, V]`;
    `forget(%g)` with `g: [B, T, Hq]` adds the Forgetting Transformer bias
    (`G = cumsum(g)`, needs `S = T`). `softcap = c` (> 0; Gemma 2) bounds
    each scaled score to `c * tanh(x / c)` before the gate and the masks.
    `block = n` (> 0; 0 or absent: off) also masks every key outside the
    query's block of `n` positions, `floor(i / n) != floor(j / n)`; it
    composes with the other masks and needs `S = T`. Rows with no allowed
    key give 0. `varlen(%cu_seqlens)` packs N sequences along T (B = 1,
    S = T): query i of a sequence sees only that sequence's keys, and the
    causal mask, the window, the block mask and the gate count positions
    from the sequence's start (flash-attention's varlen form).
    `kv_lens(%lens)` (`lens: [B]` i32) reads `k` and `v` as a KV cache:
    batch row b has `lens[b]` valid keys (T <= lens[b] <= S), and its
    queries are the last T positions, `lens[b] - T + i`, for the causal mask
    and the window (decode and speculative verification; flash-attention's
    `cache_seqlens`). It takes no forget gate, packing or block mask.
    A second result `lse: [B, T, Hq]` (f32), when present, is each row's
    log-sum-exp of its allowed (biased, masked) scores, -inf for a row with
    no allowed key: partial results over disjoint key sets merge exactly
    through it (ring attention, FlashAttention's `softmax_lse`).

    ```mlir
    %o = mix.attention %q, %k, %v causal window = 512
        : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>)
        -> tensor<?x?x8x64xf16>
    ```
  }];
  let arguments = (ins Mix_Tensor:$q, Mix_Tensor:$k, Mix_Tensor:$v,
      Optional<Mix_Tensor>:$g, Optional<Mix_SeqLens>:$cu_seqlens,
      Optional<Mix_KeyLengths>:$kv_lens,
      UnitAttr:$causal, OptionalAttr<I64Attr>:$window,
      OptionalAttr<F32Attr>:$scale, OptionalAttr<F32Attr>:$softcap,
      OptionalAttr<I64Attr>:$block);
  let results = (outs Mix_Tensor:$o, Optional<Mix_StateTensor>:$lse);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`forget` `(` $g^ `)`)?
    (`varlen` `(` $cu_seqlens^ `)`)? (`kv_lens` `(` $kv_lens^ `)`)?
    (`causal` $causal^)?
    (`window` `=` $window^)? (`block` `=` $block^)? (`scale` `=` $scale^)?
    (`softcap` `=` $softcap^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    float getScaleOrDefault();
    /// The window length, 0 when unlimited.
    int64_t getWindowOrZero() { return getWindow().value_or(0); }
    /// The block length, 0 when off.
    int64_t getBlockOrZero() { return getBlock().value_or(0); }
    /// Whether the keys are indexed by the query positions (S = T): with a
    /// forget gate, a block mask or packed sequences.
    bool keysAreQueries() {
      return getG() || getCuSeqlens() || getBlockOrZero() > 0;
    }
    /// The logit soft-cap, 0 when off.
    float getSoftcapOrZero() {
      return getSoftcap() ? getSoftcap()->convertToFloat() : 0.0f;
    }
  }];
}

def Mix_AttentionGradOp : Mix_Op<"attention_grad", [AttrSizedOperandSegments]> {
  let summary = "the gradients of mix.attention (made by mix-derive-backward)";
  let description = [{
    The flash-attention backward of the `mix.attention` with the same
    operands and attributes, for the cotangent `dout: [B, T, Hq, V]` of its
    output. With `P` the attention weights (recomputed from `q` and `k`
    with the row log-sum-exp), `D = rowsum(dout * o)`, `dP = dout v^T` and
    `dS = P * (dP - D)` (per query head):

    - `dq: [B, T, Hq, K] = scale dS' k` (`dS'` is `dS` through the
      soft-cap's derivative);
    - `dk: [B, S, Hq, K] = scale dS'^T q` and `dv: [B, S, Hq, V] = P^T dout`,
      one per query head (the caller sums the heads sharing a key head);
    - `dlse(%d)` (`[B, T, Hq]`, f32) is the cotangent of the forward's
      log-sum-exp result: `dS = P * (dP - D + dlse)`;
    - with `forget(%g)`, `dG: [B, T, Hq]`, the gradient of `G = cumsum(g)`:
      `-sum_i dS[i, t]` (the row sums of `dS` are 0), whose reverse
      cumulative sum is `dg`.

    Every result is f32. The lowering tiles it like the forward's flash
    form (MIXERS.md "Gradients").
  }];
  let arguments = (ins Mix_Tensor:$q, Mix_Tensor:$k, Mix_Tensor:$v,
      Mix_Tensor:$dout, Optional<Mix_Tensor>:$g,
      Optional<Mix_SeqLens>:$cu_seqlens, Optional<Mix_StateTensor>:$dlse,
      UnitAttr:$causal,
      OptionalAttr<I64Attr>:$window, OptionalAttr<F32Attr>:$scale,
      OptionalAttr<F32Attr>:$softcap, OptionalAttr<I64Attr>:$block);
  let results = (outs Mix_StateTensor:$dq, Mix_StateTensor:$dk,
      Mix_StateTensor:$dv, Optional<Mix_StateTensor>:$dg);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $dout (`forget` `(` $g^ `)`)?
    (`varlen` `(` $cu_seqlens^ `)`)? (`dlse` `(` $dlse^ `)`)?
    (`causal` $causal^)?
    (`window` `=` $window^)? (`block` `=` $block^)? (`scale` `=` $scale^)?
    (`softcap` `=` $softcap^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    float getScaleOrDefault();
    int64_t getWindowOrZero() { return getWindow().value_or(0); }
    int64_t getBlockOrZero() { return getBlock().value_or(0); }
    bool keysAreQueries() {
      return getG() || getCuSeqlens() || getBlockOrZero() > 0;
    }
    float getSoftcapOrZero() {
      return getSoftcap() ? getSoftcap()->convertToFloat() : 0.0f;
    }
  }];
}

def Mix_ScanOp : Mix_Op<"scan", [AttrSizedOperandSegments]> {
  let summary = "element-wise gated linear recurrence (HGRN, LRU)";
  let description = [{
    `h_t = exp(g_t) * h_{t-1} + x_t`, `o_t = h_t`, with `x, g: [B, T, D]` and
    an optional f32 initial state `[B, D]`. Returns `o` in the type of `x` and
    the final state in f32.

    ```mlir
    %o, %h = mix.scan %x, %g init(%h0)
        : (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x256xf32>)
        -> (tensor<?x?x256xf32>, tensor<?x256xf32>)
    ```
  }];
  let arguments = (ins Mix_Tensor:$x, Mix_Tensor:$g,
      Optional<Mix_StateTensor>:$initial_state,
      Optional<Mix_SeqLens>:$cu_seqlens,
      OptionalAttr<I64Attr>:$chunk_size);
  let results = (outs Mix_Tensor:$o, Mix_StateTensor:$final_state);
  let assemblyFormat = [{
    $x `,` $g (`init` `(` $initial_state^ `)`)? (`varlen` `(` $cu_seqlens^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Mix_RnnOp : Mix_Op<"rnn", [AttrSizedOperandSegments]> {
  let summary = "head-wise non-linear RNN (FlashRNN): LSTM, GRU, sLSTM";
  let description = [{
    A non-linear recurrence per (batch, head) over the pre-activations
    `wx: [B, T, H, G, D]` of the input projection, with block-diagonal
    recurrent weights `r: [H, G, D, D]` (`r[h, g]` is `[D_out, D_in]`, as the
    rows of torch's `weight_hh`) and an optional bias `b: [H, G, D]` (`r` and
    `b` in the element type of `wx` or f32). The cell fixes the gates: `G = 4`
    for `lstm` (i, f, z, o) and `slstm` (i, f, z, o; exponential input gate
    with the stabiliser `m`), `G = 3` for `gru` (r, z, n). The states, each
    `[B, H, D]` in f32, are `h` (gru), `h, c` (lstm) and `h, c, n, m`
    (slstm); `init(...)` gives all of them or none (zeros; for slstm the
    first step then takes `m = a_i`). Results: `h: [B, T, H, D]` in the
    element type of `wx`, then the final states in the same order.
    MIXERS.md gives the equations.

    ```mlir
    %h, %hT, %cT = mix.rnn lstm %wx, %r bias(%b) init(%h0, %c0)
        : (tensor<?x?x4x4x64xbf16>, tensor<4x4x64x64xbf16>,
           tensor<4x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>)
        -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>)
    ```
  }];
  let arguments = (ins Mix_Tensor:$wx, Mix_Tensor:$r, Optional<Mix_Tensor>:$b,
      Variadic<Mix_StateTensor>:$initial_states, Mix_RnnCell:$cell);
  let results = (outs Mix_Tensor:$h, Variadic<Mix_StateTensor>:$final_states);
  let assemblyFormat = [{
    $cell $wx `,` $r (`bias` `(` $b^ `)`)?
    (`init` `(` $initial_states^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of gates G of `cell`: 4 for lstm and slstm, 3 for gru.
    static int64_t gateCount(::mixir::mix::RnnCell cell);
    /// The names of the states of `cell`, in operand and result order.
    static ::llvm::ArrayRef<::llvm::StringRef> stateNames(
        ::mixir::mix::RnnCell cell);
  }];
}

def Mix_CausalConv1dOp : Mix_Op<"causal_conv1d", [AttrSizedOperandSegments]> {
  let summary = "short depthwise causal convolution (Mamba2, Gated DeltaNet)";
  let description = [{
    `y[b, t, d] = act(bias[d] + sum_{i < W} w[d, i] x[b, t - W + 1 + i, d])`
    over `x: [B, T, D]` with taps `w: [D, W]` (2 <= W <= 8) and an optional
    `bias: [D]` (`w` and `bias` in the element type of `x` or f32). Inputs
    before the start are read from `state(%s)`, the previous `W - 1` inputs
    `[B, D, W - 1]` (oldest first; zeros without it). `activation` is `none`
    (the default) or `silu`. Results: `y` in the element type of `x`, and the
    new state (the last `W - 1` inputs, reaching into the old state when
    `T < W - 1`) in the element type of `x`.

    `varlen(%cu_seqlens)` packs N sequences along T of a batch of one, as for
    the recurrent ops: no window crosses a boundary, and the conv states are
    one per sequence, `[N, D, W - 1]`. `state(%pool) indices(%idx)` reads
    sequence n's state from `pool[idx[n]]` (`pool: [P, D, W - 1]`) and
    returns the pool with each sequence's new state in its slot; a negative
    index is padding (not read, not written, its `y` rows 0).

    ```mlir
    %y, %s = mix.causal_conv1d %x, %w bias(%b) state(%s0) activation silu
        : (tensor<?x?x256xbf16>, tensor<256x4xbf16>, tensor<256xbf16>,
           tensor<?x256x3xbf16>) -> (tensor<?x?x256xbf16>, tensor<?x256x3xbf16>)
    %y2, %pool2 = mix.causal_conv1d %x1, %w state(%pool) varlen(%cu)
        indices(%idx)
        : (tensor<1x?x256xbf16>, tensor<256x4xbf16>, tensor<?x256x3xbf16>,
           tensor<?xi32>, tensor<?xi32>)
        -> (tensor<1x?x256xbf16>, tensor<?x256x3xbf16>)
    ```
  }];
  let arguments = (ins Mix_Tensor:$x, Mix_Tensor:$w, Optional<Mix_Tensor>:$bias,
      Optional<Mix_Tensor>:$conv_state, Optional<Mix_SeqLens>:$cu_seqlens,
      Optional<Mix_StateIndices>:$state_indices,
      DefaultValuedAttr<Mix_ConvActivation,
                        "::mixir::mix::ConvActivation::none">:$activation);
  let results = (outs Mix_Tensor:$y, Mix_Tensor:$final_conv_state);
  let assemblyFormat = [{
    $x `,` $w (`bias` `(` $bias^ `)`)? (`state` `(` $conv_state^ `)`)?
    (`varlen` `(` $cu_seqlens^ `)`)? (`indices` `(` $state_indices^ `)`)?
    (`activation` $activation^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The largest number of taps W the op accepts.
    static constexpr int64_t kMaxTaps = 8;
  }];
}

#endif // MIXIR_DIALECT_MIX_IR_MIXOPS_TD
