// RUN: mixir-opt %s --split-input-file --mix-derive-backward | FileCheck %s

// The backward takes the arguments, then one cotangent per returned result,
// and returns one gradient per argument. It is made of mix ops: the forward
// re-run (its final state enters the gate gradient), dv and dk from the
// recurrence over reversed time (scale folded into q, d final_state as the
// initial state), dq from the forward recurrence read through its transpose
// (keys v, values k, queries do, the op's own scale), and the reverse
// cumulative sum of the gate gradient as a mix.scan.
// CHECK-LABEL: func.func @gla(
// CHECK-NOT:     mix.derive_backward
// CHECK-LABEL: func.func @gla_backward(
// CHECK-SAME:    %[[Q:[a-z0-9]+]]: tensor<?x?x2x6xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x2x6xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x2x3xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x2xf32>, %[[S0:[a-z0-9]+]]: tensor<?x2x6x3xf32>, %[[DO:[a-z0-9]+]]: tensor<?x?x2x3xf32>, %[[DS:[a-z0-9]+]]: tensor<?x2x6x3xf32>)
// CHECK-SAME:    -> (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x2x6x3xf32>)
// CHECK:         %{{.*}}, %[[ST:.*]] = mix.linear_attention %[[Q]], %[[K]], %[[V]] gate scalar(%[[G]]) init(%[[S0]]) scale = 2.500000e-01
// CHECK:         mix.linear_attention {{.*}} gate scalar({{.*}}) init(%[[DS]]) scale = 1.000000e+00
// CHECK:         mix.linear_attention %[[DO]], %[[V]], %[[K]] gate scalar(%[[G]]) init(%{{.*}}) scale = 2.500000e-01
// CHECK:         mix.linear_attention {{.*}} gate scalar({{.*}}) init(%{{.*}}) scale = 1.000000e+00
// CHECK:         mix.scan
// CHECK:         return
func.func @gla(%q: tensor<?x?x2x6xf32>, %k: tensor<?x?x2x6xf32>, %v: tensor<?x?x2x3xf32>, %g: tensor<?x?x2xf32>, %s0: tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>) attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) init(%s0) scale = 0.25 : (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>)
  return %o, %s : tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>
}

// -----

// A vector gate decays the key axis, which the transposed reads (dq, dk)
// put on the value axis: there each key channel becomes a head of width 1
// with a scalar gate (2 heads x 6 channels = 12 heads). Only o is returned,
// so the forward is not re-run; bf16 inputs are computed in f32 and the
// gradients cast back.
// CHECK-LABEL: func.func @gla_vector_backward(
// CHECK-SAME:    tensor<?x?x2x6xf32>, %{{.*}}: tensor<?x?x2x3xbf16>)
// CHECK-SAME:    -> (tensor<?x?x2x6xbf16>, tensor<?x?x2x6xbf16>, tensor<?x?x2x3xbf16>, tensor<?x?x2x6xf32>)
// CHECK-COUNT-1: mix.linear_attention {{.*}} gate vector
// CHECK:         mix.linear_attention {{.*}} gate scalar({{.*}}) {{.*}}(tensor<?x?x2x3xf32>, tensor<?x?x2x3xf32>, tensor<?x?x12x1xf32>, tensor<?x?x12xf32>)
// CHECK:         mix.linear_attention {{.*}} gate scalar({{.*}}) {{.*}}(tensor<?x?x2x3xf32>, tensor<?x?x2x3xf32>, tensor<?x?x12x1xf32>, tensor<?x?x12xf32>)
// CHECK:         arith.truncf {{.*}} : f32 to bf16
// CHECK:         mix.scan
func.func @gla_vector(%q: tensor<?x?x2x6xbf16>, %k: tensor<?x?x2x6xbf16>, %v: tensor<?x?x2x3xbf16>, %g: tensor<?x?x2x6xf32>) -> tensor<?x?x2x3xbf16> attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) : (tensor<?x?x2x6xbf16>, tensor<?x?x2x6xbf16>, tensor<?x?x2x3xbf16>, tensor<?x?x2x6xf32>) -> (tensor<?x?x2x3xbf16>, tensor<?x2x6x3xf32>)
  return %o : tensor<?x?x2x3xbf16>
}

// -----

// Shared heads: the derivation works on one state copy per output head (4),
// then sums the gradients of shared inputs over their copies.
// CHECK-LABEL: func.func @gqa_backward(
// CHECK-SAME:    -> (tensor<?x?x4x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x2x8xf32>)
// CHECK:         mix.linear_attention {{.*}} : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]
func.func @gqa(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate none : (tensor<?x?x4x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x2x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x4x8xf32>
}
