// RUN: mixir-opt %s | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of every op form of the mix dialect, through the custom and the
// generic assembly. The CHECK lines match the custom form.

//===----------------------------------------------------------------------===//
// mix.linear_attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @la_none_static_f32
// CHECK-SAME: (%[[Q:.*]]: tensor<2x16x4x32xf32>, %[[K:.*]]: tensor<2x16x4x32xf32>, %[[V:.*]]: tensor<2x16x4x64xf32>)
// CHECK: %[[O:.*]], %[[S:.*]] = mix.linear_attention %[[Q]], %[[K]], %[[V]] gate none :
// CHECK-SAME: (tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4x64xf32>) -> (tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>)
// CHECK: return %[[O]], %[[S]]
// GENERIC-LABEL: sym_name = "la_none_static_f32"
// GENERIC: "mix.linear_attention"
// GENERIC-SAME: gate_kind = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>
func.func @la_none_static_f32(%q: tensor<2x16x4x32xf32>, %k: tensor<2x16x4x32xf32>, %v: tensor<2x16x4x64xf32>)
    -> (tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4x64xf32>)
      -> (tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>)
  return %o, %s : tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>
}

// The default gate kind may be left out of the generic form; it prints back
// as `gate none`.
// CHECK-LABEL: func.func @la_none_generic_default
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none :
func.func @la_none_generic_default(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x1x16xf32>)
    -> (tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>) {
  %o:2 = "mix.linear_attention"(%q, %k, %v) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0>}>
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>)
      -> (tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>)
  return %o#0, %o#1 : tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>
}

// CHECK-LABEL: func.func @la_head_init_scale_dynamic_f16
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<4xf32>, %[[S0:[a-z0-9]+]]: tensor<?x4x64x64xf32>
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate head(%[[G]]) init(%[[S0]]) scale = 2.500000e-01 :
// CHECK-SAME: (tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<4xf32>, tensor<?x4x64x64xf32>) -> (tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>)
// GENERIC-LABEL: sym_name = "la_head_init_scale_dynamic_f16"
// GENERIC: "mix.linear_attention"
// GENERIC-SAME: gate_kind = 1 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0>, scale = 2.500000e-01 : f32
func.func @la_head_init_scale_dynamic_f16(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>,
                                          %g: tensor<4xf32>, %s0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g) init(%s0) scale = 0.25
      : (tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<4xf32>, tensor<?x4x64x64xf32>)
      -> (tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>
}

// A scalar gate in the input element type (bf16), dynamic T only.
// CHECK-LABEL: func.func @la_scalar_bf16_gate_bf16
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) :
// CHECK-SAME: (tensor<2x?x4x60xbf16>, tensor<2x?x4x60xbf16>, tensor<2x?x4x100xbf16>, tensor<2x?x4xbf16>) -> (tensor<2x?x4x100xbf16>, tensor<2x4x60x100xf32>)
// CHECK-NOT: init(
func.func @la_scalar_bf16_gate_bf16(%q: tensor<2x?x4x60xbf16>, %k: tensor<2x?x4x60xbf16>, %v: tensor<2x?x4x100xbf16>,
                                    %g: tensor<2x?x4xbf16>)
    -> (tensor<2x?x4x100xbf16>, tensor<2x4x60x100xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<2x?x4x60xbf16>, tensor<2x?x4x60xbf16>, tensor<2x?x4x100xbf16>, tensor<2x?x4xbf16>)
      -> (tensor<2x?x4x100xbf16>, tensor<2x4x60x100xf32>)
  return %o, %s : tensor<2x?x4x100xbf16>, tensor<2x4x60x100xf32>
}

// A vector gate in f32 with bf16 inputs, an initial state and a scale.
// CHECK-LABEL: func.func @la_vector_bf16_init_scale
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate vector(%{{.*}}) init(%{{.*}}) scale = 1.250000e-01 :
// CHECK-SAME: (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>) -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
// GENERIC-LABEL: sym_name = "la_vector_bf16_init_scale"
// GENERIC: gate_kind = 3 : i32
func.func @la_vector_bf16_init_scale(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>, %v: tensor<?x?x4x64xbf16>,
                                     %g: tensor<?x?x4x64xf32>, %s0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) init(%s0) scale = 0.125
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}

// Initial state without a gate, and the chunk_size attribute in the dict.
// CHECK-LABEL: func.func @la_init_no_gate_chunk
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none init(%{{.*}}) {chunk_size = 32 : i64} :
func.func @la_init_no_gate_chunk(%q: tensor<1x?x2x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x16xf32>,
                                 %s0: tensor<1x2x16x16xf32>)
    -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0) {chunk_size = 32 : i64}
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
      -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
  return %o, %s : tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>
}

// GQA: more query heads (8) sharing each key/value state (2); Ho = Hq.
// CHECK-LABEL: func.func @la_gqa
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) :
// CHECK-SAME: (tensor<?x?x8x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x48xf32>, tensor<?x?x2xf32>) -> (tensor<?x?x8x48xf32>, tensor<?x2x32x48xf32>)
func.func @la_gqa(%q: tensor<?x?x8x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x48xf32>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x8x48xf32>, tensor<?x2x32x48xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<?x?x8x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x48xf32>, tensor<?x?x2xf32>)
      -> (tensor<?x?x8x48xf32>, tensor<?x2x32x48xf32>)
  return %o, %s : tensor<?x?x8x48xf32>, tensor<?x2x32x48xf32>
}

// GVA (Mamba2-style): few q/k heads, more value heads; Hq = 2, Hk = 1, Hv = 8,
// Ho = Hv.
// CHECK-LABEL: func.func @la_gva
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) scale = 1.000000e+00 :
// CHECK-SAME: (tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x8x32xf32>, tensor<?x?x8xf32>) -> (tensor<?x?x8x32xf32>, tensor<?x8x16x32xf32>)
func.func @la_gva(%q: tensor<?x?x2x16xf32>, %k: tensor<?x?x1x16xf32>, %v: tensor<?x?x8x32xf32>, %g: tensor<?x?x8xf32>)
    -> (tensor<?x?x8x32xf32>, tensor<?x8x16x32xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) scale = 1.0
      : (tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x8x32xf32>, tensor<?x?x8xf32>)
      -> (tensor<?x?x8x32xf32>, tensor<?x8x16x32xf32>)
  return %o, %s : tensor<?x?x8x32xf32>, tensor<?x8x16x32xf32>
}

//===----------------------------------------------------------------------===//
// mix.delta_rule
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @dr_none_f32
// CHECK: %[[O:.*]], %[[S:.*]] = mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA:.*]] gate none :
// CHECK-SAME: (tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4xf32>) -> (tensor<2x16x4x32xf32>, tensor<2x4x32x32xf32>)
// CHECK-NOT: qk_l2norm
// CHECK: return %[[O]], %[[S]]
// GENERIC-LABEL: sym_name = "dr_none_f32"
// GENERIC: "mix.delta_rule"
// GENERIC-SAME: operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0>
func.func @dr_none_f32(%q: tensor<2x16x4x32xf32>, %k: tensor<2x16x4x32xf32>, %v: tensor<2x16x4x32xf32>, %beta: tensor<2x16x4xf32>)
    -> (tensor<2x16x4x32xf32>, tensor<2x4x32x32xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4xf32>)
      -> (tensor<2x16x4x32xf32>, tensor<2x4x32x32xf32>)
  return %o, %s : tensor<2x16x4x32xf32>, tensor<2x4x32x32xf32>
}

// Gated DeltaNet with both unit attributes; beta in bf16 like the inputs.
// CHECK-LABEL: func.func @dr_scalar_l2norm_negeig_bf16
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) qk_l2norm allow_neg_eigval :
// CHECK-SAME: (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xf32>) -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
// GENERIC-LABEL: sym_name = "dr_scalar_l2norm_negeig_bf16"
// GENERIC: <{allow_neg_eigval, gate_kind = 2 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>, qk_l2norm}>
func.func @dr_scalar_l2norm_negeig_bf16(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>, %v: tensor<?x?x4x64xbf16>,
                                        %beta: tensor<?x?x4xbf16>, %g: tensor<?x?x4xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm allow_neg_eigval
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}

// Only one of the unit attributes.
// CHECK-LABEL: func.func @dr_negeig_only
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate none allow_neg_eigval :
// CHECK-LABEL: func.func @dr_l2norm_only
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate none qk_l2norm :
func.func @dr_negeig_only(%q: tensor<1x4x1x8xf32>, %k: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x8xf32>, %beta: tensor<1x4x1xf32>)
    -> (tensor<1x4x1x8xf32>, tensor<1x1x8x8xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none allow_neg_eigval
      : (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x1x8x8xf32>)
  return %o, %s : tensor<1x4x1x8xf32>, tensor<1x1x8x8xf32>
}
func.func @dr_l2norm_only(%q: tensor<1x4x1x8xf32>, %k: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x8xf32>, %beta: tensor<1x4x1xf32>)
    -> (tensor<1x4x1x8xf32>, tensor<1x1x8x8xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none qk_l2norm
      : (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x1x8x8xf32>)
  return %o, %s : tensor<1x4x1x8xf32>, tensor<1x1x8x8xf32>
}

// KDA-style vector gate with an initial state and a scale, f16, f32 beta.
// CHECK-LABEL: func.func @dr_vector_init_scale_f16
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate vector(%{{.*}}) init(%{{.*}}) scale = 5.000000e-01 qk_l2norm :
// CHECK-SAME: (tensor<?x?x2x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2x24xf16>, tensor<?x?x2xf32>, tensor<?x?x2x16xf16>, tensor<?x2x16x24xf32>) -> (tensor<?x?x2x24xf16>, tensor<?x2x16x24xf32>)
// GENERIC-LABEL: sym_name = "dr_vector_init_scale_f16"
// GENERIC: gate_kind = 3 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0>, qk_l2norm, scale = 5.000000e-01 : f32
func.func @dr_vector_init_scale_f16(%q: tensor<?x?x2x16xf16>, %k: tensor<?x?x2x16xf16>, %v: tensor<?x?x2x24xf16>,
                                    %beta: tensor<?x?x2xf32>, %g: tensor<?x?x2x16xf16>, %s0: tensor<?x2x16x24xf32>)
    -> (tensor<?x?x2x24xf16>, tensor<?x2x16x24xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector(%g) init(%s0) scale = 0.5 qk_l2norm
      : (tensor<?x?x2x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2x24xf16>, tensor<?x?x2xf32>, tensor<?x?x2x16xf16>, tensor<?x2x16x24xf32>)
      -> (tensor<?x?x2x24xf16>, tensor<?x2x16x24xf32>)
  return %o, %s : tensor<?x?x2x24xf16>, tensor<?x2x16x24xf32>
}

// Delta rule with GVA head sharing (Hq = Hk = 1, Hv = 4).
// CHECK-LABEL: func.func @dr_gva
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate none :
// CHECK-SAME: (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4xf32>) -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>)
func.func @dr_gva(%q: tensor<1x?x1x16xf32>, %k: tensor<1x?x1x16xf32>, %v: tensor<1x?x4x16xf32>, %beta: tensor<1x?x4xf32>)
    -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4xf32>)
      -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>)
  return %o, %s : tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>
}

//===----------------------------------------------------------------------===//
// mix.attention
//===----------------------------------------------------------------------===//

// Bidirectional attention, S != T, static.
// CHECK-LABEL: func.func @attn_plain_cross
// CHECK: %[[O:.*]] = mix.attention %{{.*}}, %{{.*}}, %{{.*}} :
// CHECK-SAME: (tensor<2x16x4x32xf32>, tensor<2x48x4x32xf32>, tensor<2x48x4x64xf32>) -> tensor<2x16x4x64xf32>
// CHECK: return %[[O]]
// GENERIC-LABEL: sym_name = "attn_plain_cross"
// GENERIC: "mix.attention"(%{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>}> : (
func.func @attn_plain_cross(%q: tensor<2x16x4x32xf32>, %k: tensor<2x48x4x32xf32>, %v: tensor<2x48x4x64xf32>)
    -> tensor<2x16x4x64xf32> {
  %o = mix.attention %q, %k, %v
      : (tensor<2x16x4x32xf32>, tensor<2x48x4x32xf32>, tensor<2x48x4x64xf32>) -> tensor<2x16x4x64xf32>
  return %o : tensor<2x16x4x64xf32>
}

// CHECK-LABEL: func.func @attn_causal
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal :
// CHECK-NOT: window
func.func @attn_causal(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x4x32xf32>, %v: tensor<?x?x4x32xf32>)
    -> tensor<?x?x4x32xf32> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>) -> tensor<?x?x4x32xf32>
  return %o : tensor<?x?x4x32xf32>
}

// Sliding window with GQA (8 query heads, 2 kv heads), f16, dynamic S != T.
// CHECK-LABEL: func.func @attn_causal_window_scale_gqa_f16
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal window = 512 scale = 1.250000e-01 :
// CHECK-SAME: (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
// GENERIC-LABEL: sym_name = "attn_causal_window_scale_gqa_f16"
// GENERIC: <{causal, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>, scale = 1.250000e-01 : f32, window = 512 : i64}>
func.func @attn_causal_window_scale_gqa_f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>)
    -> tensor<?x?x8x64xf16> {
  %o = mix.attention %q, %k, %v causal window = 512 scale = 0.125
      : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
  return %o : tensor<?x?x8x64xf16>
}

// Gemma 2's logit soft-cap with a sliding window and GQA.
// CHECK-LABEL: func.func @attn_softcap_window_gqa
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal window = 8 scale = 2.500000e-01 softcap = 5.000000e+01 :
// GENERIC-LABEL: sym_name = "attn_softcap_window_gqa"
// GENERIC: <{causal, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>, scale = 2.500000e-01 : f32, softcap = 5.000000e+01 : f32, window = 8 : i64}>
func.func @attn_softcap_window_gqa(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>)
    -> tensor<?x?x4x16xf32> {
  %o = mix.attention %q, %k, %v causal window = 8 scale = 0.25 softcap = 50.0
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return %o : tensor<?x?x4x16xf32>
}

// Non-causal (bidirectional) and normalised linear attention; causal = true
// is the default and is not printed.
// CHECK-LABEL: func.func @la_bidirectional_normalize
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) scale = 1.250000e-01 causal = false normalize :
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none normalize :
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none :
// GENERIC-LABEL: sym_name = "la_bidirectional_normalize"
// GENERIC: <{causal = false, gate_kind = 2 : i32, normalize,
func.func @la_bidirectional_normalize(%q: tensor<?x?x4x64xbf16>, %v: tensor<?x?x4x64xbf16>, %g: tensor<?x?x4xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %q, %v gate scalar(%g) scale = 0.125 causal = false normalize
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  %o2, %s2 = mix.linear_attention %q, %q, %v gate none causal = true normalize
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  %o3, %s3 = mix.linear_attention %o, %o2, %v gate none causal = true
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  return %o3, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}

// Block attention with a window, causal masking, GQA and the soft-cap.
// CHECK-LABEL: func.func @attn_block_window_gqa
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal window = 8 block = 64 softcap = 3.000000e+01 :
// GENERIC-LABEL: sym_name = "attn_block_window_gqa"
// GENERIC: <{block = 64 : i64, causal, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>, softcap = 3.000000e+01 : f32, window = 8 : i64}>
func.func @attn_block_window_gqa(%q: tensor<?x?x4x16xbf16>, %k: tensor<?x?x2x16xbf16>, %v: tensor<?x?x2x16xbf16>)
    -> tensor<?x?x4x16xbf16> {
  %o = mix.attention %q, %k, %v causal window = 8 block = 64 softcap = 30.0
      : (tensor<?x?x4x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>) -> tensor<?x?x4x16xbf16>
  return %o : tensor<?x?x4x16xbf16>
}

// block = 0 (off) is kept as written.
// CHECK-LABEL: func.func @attn_block_zero
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} block = 0 :
func.func @attn_block_zero(%q: tensor<1x5x2x16xf32>, %k: tensor<1x7x2x16xf32>, %v: tensor<1x7x2x16xf32>)
    -> tensor<1x5x2x16xf32> {
  %o = mix.attention %q, %k, %v block = 0
      : (tensor<1x5x2x16xf32>, tensor<1x7x2x16xf32>, tensor<1x7x2x16xf32>) -> tensor<1x5x2x16xf32>
  return %o : tensor<1x5x2x16xf32>
}

// A window without causal masking, bf16.
// CHECK-LABEL: func.func @attn_window_only_bf16
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} window = 0 :
// CHECK-SAME: -> tensor<1x?x2x16xbf16>
func.func @attn_window_only_bf16(%q: tensor<1x?x2x16xbf16>, %k: tensor<1x?x2x16xbf16>, %v: tensor<1x?x2x16xbf16>)
    -> tensor<1x?x2x16xbf16> {
  %o = mix.attention %q, %k, %v window = 0
      : (tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>) -> tensor<1x?x2x16xbf16>
  return %o : tensor<1x?x2x16xbf16>
}

// Forgetting Transformer: forget gate (f32) with bf16 inputs, S = T.
// CHECK-LABEL: func.func @attn_forget_causal
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} forget(%{{.*}}) causal :
// CHECK-SAME: (tensor<?x?x4x32xbf16>, tensor<?x?x4x32xbf16>, tensor<?x?x4x32xbf16>, tensor<?x?x4xf32>) -> tensor<?x?x4x32xbf16>
func.func @attn_forget_causal(%q: tensor<?x?x4x32xbf16>, %k: tensor<?x?x4x32xbf16>, %v: tensor<?x?x4x32xbf16>,
                              %g: tensor<?x?x4xf32>) -> tensor<?x?x4x32xbf16> {
  %o = mix.attention %q, %k, %v forget(%g) causal
      : (tensor<?x?x4x32xbf16>, tensor<?x?x4x32xbf16>, tensor<?x?x4x32xbf16>, tensor<?x?x4xf32>) -> tensor<?x?x4x32xbf16>
  return %o : tensor<?x?x4x32xbf16>
}

// Every optional piece at once.
// CHECK-LABEL: func.func @attn_all
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} forget(%{{.*}}) causal window = 8 scale = 2.000000e+00 :
func.func @attn_all(%q: tensor<1x32x4x16xf32>, %k: tensor<1x32x2x16xf32>, %v: tensor<1x32x2x8xf32>,
                    %g: tensor<1x32x4xf32>) -> tensor<1x32x4x8xf32> {
  %o = mix.attention %q, %k, %v forget(%g) causal window = 8 scale = 2.0
      : (tensor<1x32x4x16xf32>, tensor<1x32x2x16xf32>, tensor<1x32x2x8xf32>, tensor<1x32x4xf32>) -> tensor<1x32x4x8xf32>
  return %o : tensor<1x32x4x8xf32>
}

//===----------------------------------------------------------------------===//
// mix.scan
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @scan_basic
// CHECK: %[[O:.*]], %[[H:.*]] = mix.scan %{{.*}}, %{{.*}} :
// CHECK-SAME: (tensor<2x16x100xf32>, tensor<2x16x100xf32>) -> (tensor<2x16x100xf32>, tensor<2x100xf32>)
// CHECK: return %[[O]], %[[H]]
func.func @scan_basic(%x: tensor<2x16x100xf32>, %g: tensor<2x16x100xf32>)
    -> (tensor<2x16x100xf32>, tensor<2x100xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<2x16x100xf32>, tensor<2x16x100xf32>) -> (tensor<2x16x100xf32>, tensor<2x100xf32>)
  return %o, %h : tensor<2x16x100xf32>, tensor<2x100xf32>
}

// CHECK-LABEL: func.func @scan_init
// CHECK: mix.scan %{{.*}}, %{{.*}} init(%{{.*}}) :
// CHECK-SAME: (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x256xf32>) -> (tensor<?x?x256xf32>, tensor<?x256xf32>)
// GENERIC-LABEL: sym_name = "scan_init"
// GENERIC: "mix.scan"(%{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0>}> : (
func.func @scan_init(%x: tensor<?x?x256xf32>, %g: tensor<?x?x256xf32>, %h0: tensor<?x256xf32>)
    -> (tensor<?x?x256xf32>, tensor<?x256xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x256xf32>) -> (tensor<?x?x256xf32>, tensor<?x256xf32>)
  return %o, %h : tensor<?x?x256xf32>, tensor<?x256xf32>
}

// f16 inputs with an f32 gate; output in f16, state in f32.
// CHECK-LABEL: func.func @scan_f16
// CHECK: mix.scan %{{.*}}, %{{.*}} init(%{{.*}}) :
// CHECK-SAME: (tensor<1x?x64xf16>, tensor<1x?x64xf32>, tensor<1x64xf32>) -> (tensor<1x?x64xf16>, tensor<1x64xf32>)
func.func @scan_f16(%x: tensor<1x?x64xf16>, %g: tensor<1x?x64xf32>, %h0: tensor<1x64xf32>)
    -> (tensor<1x?x64xf16>, tensor<1x64xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<1x?x64xf16>, tensor<1x?x64xf32>, tensor<1x64xf32>) -> (tensor<1x?x64xf16>, tensor<1x64xf32>)
  return %o, %h : tensor<1x?x64xf16>, tensor<1x64xf32>
}
