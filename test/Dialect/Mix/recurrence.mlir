// RUN: mixir-opt %s | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of mix.recurrence, the diagonal-plus-low-rank recurrence, through
// the custom and the generic assembly. The CHECK lines match the custom form.
// Operand segments: q, k, v, a, b, g, initial_state.

// R = 0 (no lowrank): plain linear attention, default decay elided.
// CHECK-LABEL: func.func @rec_rank0_none
// CHECK-SAME: (%[[Q:.*]]: tensor<2x16x4x32xf32>, %[[K:.*]]: tensor<2x16x4x32xf32>, %[[V:.*]]: tensor<2x16x4x64xf32>)
// CHECK: %[[O:.*]], %[[S:.*]] = mix.recurrence %[[Q]], %[[K]], %[[V]] gate none :
// CHECK-SAME: (tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4x64xf32>) -> (tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>)
// CHECK: return %[[O]], %[[S]]
// GENERIC-LABEL: sym_name = "rec_rank0_none"
// GENERIC: "mix.recurrence"
// GENERIC-SAME: decay = 0 : i32, gate_kind = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0>
func.func @rec_rank0_none(%q: tensor<2x16x4x32xf32>, %k: tensor<2x16x4x32xf32>, %v: tensor<2x16x4x64xf32>)
    -> (tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>) {
  %o, %s = mix.recurrence %q, %k, %v gate none
      : (tensor<2x16x4x32xf32>, tensor<2x16x4x32xf32>, tensor<2x16x4x64xf32>)
      -> (tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>)
  return %o, %s : tensor<2x16x4x64xf32>, tensor<2x4x32x64xf32>
}

// `decay log` is the default and prints elided; the generic form without
// the attributes parses to the same op.
// CHECK-LABEL: func.func @rec_defaults
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) :
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} gate none :
func.func @rec_defaults(%q: tensor<1x8x1x16xf32>, %v: tensor<1x8x1x16xf32>, %g: tensor<1x8x1xf32>)
    -> (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) {
  %o, %s = mix.recurrence %q, %q, %v gate scalar(%g) decay log
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1xf32>)
      -> (tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>)
  %p:2 = "mix.recurrence"(%q, %q, %v) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0>}>
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>)
      -> (tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>)
  return %o, %p#0 : tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>
}

// R = 1 with a scalar gate (the gated delta rule's shape), bf16 inputs and
// bf16 low-rank terms, dynamic B and T.
// CHECK-LABEL: func.func @rec_rank1_scalar_bf16
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<?x?x2x1x64xbf16>, %[[B:[a-z0-9]+]]: tensor<?x?x2x1x64xbf16>, %[[G:[a-z0-9]+]]: tensor<?x?x2xf32>
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%[[A]], %[[B]]) gate scalar(%[[G]]) :
// CHECK-SAME: (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x1x64xbf16>, tensor<?x?x2x1x64xbf16>, tensor<?x?x2xf32>) -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
// GENERIC-LABEL: sym_name = "rec_rank1_scalar_bf16"
// GENERIC: "mix.recurrence"
// GENERIC-SAME: decay = 0 : i32, gate_kind = 2 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>
func.func @rec_rank1_scalar_bf16(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>,
                                 %a: tensor<?x?x2x1x64xbf16>, %b: tensor<?x?x2x1x64xbf16>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate scalar(%g)
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>,
         tensor<?x?x2x1x64xbf16>, tensor<?x?x2x1x64xbf16>, tensor<?x?x2xf32>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o, %s : tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>
}

// RWKV-7's shape: R = 1, signed vector decay, an initial state, a scale and
// an explicit recurrent chunk_size.
// CHECK-LABEL: func.func @rec_vector_signed_init
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<?x?x4x64xf32>, %[[S0:[a-z0-9]+]]: tensor<?x4x64x64xf32>
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%{{.*}}, %{{.*}}) gate vector(%[[W]]) decay signed init(%[[S0]]) scale = 1.000000e+00 {chunk_size = 0 : i64} :
// GENERIC-LABEL: sym_name = "rec_vector_signed_init"
// GENERIC: "mix.recurrence"
// GENERIC-SAME: chunk_size = 0 : i64, decay = 1 : i32, gate_kind = 3 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0>, scale = 1.000000e+00 : f32
func.func @rec_vector_signed_init(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>,
                                  %a: tensor<?x?x4x1x64xf32>, %b: tensor<?x?x4x1x64xf32>,
                                  %w: tensor<?x?x4x64xf32>, %s0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate vector(%w) decay signed init(%s0) scale = 1.0 {chunk_size = 0 : i64}
      : (tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>,
         tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>, tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)
      -> (tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xf16>, tensor<?x4x64x64xf32>
}

// The largest rank (R = 4) with a signed per-head decay.
// CHECK-LABEL: func.func @rec_rank4_head_signed
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%{{.*}}, %{{.*}}) gate head(%{{.*}}) decay signed :
// CHECK-SAME: tensor<2x8x2x4x16xf32>, tensor<2x8x2x4x16xf32>, tensor<2xf32>)
func.func @rec_rank4_head_signed(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                 %a: tensor<2x8x2x4x16xf32>, %g: tensor<2xf32>)
    -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>) {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate head(%g) decay signed
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>,
         tensor<2x8x2x4x16xf32>, tensor<2x8x2x4x16xf32>, tensor<2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return %o, %s : tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>
}

// Head sharing as for mix.linear_attention: one query head for two state
// heads (Ho = Hv = 2), and two query heads reading one state (Ho = Hq = 2).
// The low-rank terms are per state head.
// CHECK-LABEL: func.func @rec_gqa
// CHECK: mix.recurrence {{.*}} : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x2x16xf32>, tensor<1x8x2x2x16xf32>) -> (tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>)
// CHECK: mix.recurrence {{.*}} : (tensor<1x8x2x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x32xf32>, tensor<1x8x1x2x16xf32>, tensor<1x8x1x2x16xf32>) -> (tensor<1x8x2x32xf32>, tensor<1x1x16x32xf32>)
func.func @rec_gqa(%q1: tensor<1x8x1x16xf32>, %v2: tensor<1x8x2x32xf32>, %a2: tensor<1x8x2x2x16xf32>,
                   %q2: tensor<1x8x2x16xf32>, %v1: tensor<1x8x1x32xf32>, %a1: tensor<1x8x1x2x16xf32>)
    -> (tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>) {
  %o, %s = mix.recurrence %q1, %q1, %v2 lowrank(%a2, %a2) gate none
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x2x16xf32>, tensor<1x8x2x2x16xf32>)
      -> (tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>)
  %o2, %s2 = mix.recurrence %q2, %q1, %v1 lowrank(%a1, %a1) gate none
      : (tensor<1x8x2x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x32xf32>, tensor<1x8x1x2x16xf32>, tensor<1x8x1x2x16xf32>)
      -> (tensor<1x8x2x32xf32>, tensor<1x1x16x32xf32>)
  return %o, %o2 : tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>
}
