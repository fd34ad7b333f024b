// RUN: mixir-opt %s --split-input-file --mix-derive-backward | FileCheck %s

// The backward takes the arguments, then one cotangent per returned result,
// and returns one gradient per argument. mix.linear_attention is
// mix.recurrence without low-rank terms, and its backward is that op's,
// made of mix ops: the forward re-run as mix.recurrence (its final state
// enters the gate gradient), dv from the recurrence over reversed time
// (scale folded into q, d final_state as the initial state), dk from the
// same read transposed, dq from the forward recurrence read transposed
// (queries do, the op's own scale), and the reverse cumulative sum of the
// gate gradient as a mix.scan. With one decay per token a transposed read
// is the normal read of the recurrence with keys and values swapped (its
// initial state transposed).
// CHECK-LABEL: func.func @gla(
// CHECK-NOT:     mix.derive_backward
// CHECK-LABEL: func.func @gla_backward(
// CHECK-SAME:    %[[Q:[a-z0-9]+]]: tensor<?x?x2x6xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x2x6xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x2x3xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x2xf32>, %[[S0:[a-z0-9]+]]: tensor<?x2x6x3xf32>, %[[DO:[a-z0-9]+]]: tensor<?x?x2x3xf32>, %[[DS:[a-z0-9]+]]: tensor<?x2x6x3xf32>)
// CHECK-SAME:    -> (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence %[[Q]], %[[K]], %[[V]] gate scalar(%[[G]]) init(%[[S0]]) scale = 2.500000e-01
// CHECK:         mix.recurrence {{.*}} gate scalar({{.*}}) init(%[[DS]]) scale = 1.000000e+00
// CHECK:         %[[DST:.*]] = linalg.transpose ins(%[[DS]] : {{.*}}) {{.*}} permutation = [0, 1, 3, 2]
// CHECK:         mix.recurrence {{.*}} gate scalar({{.*}}) init(%[[DST]]) scale = 1.000000e+00 : (tensor<?x?x2x3xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x6xf32>
// CHECK:         %[[S0T:.*]] = linalg.transpose ins(%[[S0]] : {{.*}}) {{.*}} permutation = [0, 1, 3, 2]
// CHECK:         mix.recurrence %[[DO]], %[[V]], %[[K]] gate scalar(%[[G]]) init(%[[S0T]]) scale = 2.500000e-01
// CHECK-NOT:     read transposed
// CHECK:         mix.scan
// CHECK:         return
func.func @gla(%q: tensor<?x?x2x6xf32>, %k: tensor<?x?x2x6xf32>, %v: tensor<?x?x2x3xf32>, %g: tensor<?x?x2xf32>, %s0: tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>) attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) init(%s0) scale = 0.25 : (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>)
  return %o, %s : tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>
}

// -----

// A vector gate: the transposed reads (dq, dk) keep the op's own gate, on
// the key axis, so every recurrence has the 2 heads of the op. Only o is
// returned, so the forward is not re-run; bf16 inputs are computed in f32
// and the gradients cast back.
// CHECK-LABEL: func.func @gla_vector_backward(
// CHECK-SAME:    tensor<?x?x2x6xf32>, %{{.*}}: tensor<?x?x2x3xbf16>)
// CHECK-SAME:    -> (tensor<?x?x2x6xbf16>, tensor<?x?x2x6xbf16>, tensor<?x?x2x3xbf16>, tensor<?x?x2x6xf32>)
// CHECK:         mix.recurrence {{.*}} gate vector({{.*}}) scale = 1.000000e+00 : (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x6xf32>)
// CHECK:         mix.recurrence {{.*}} gate vector({{.*}}) read transposed scale = 1.000000e+00 : (tensor<?x?x2x3xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x6xf32>)
// CHECK:         mix.recurrence {{.*}} gate vector({{.*}}) read transposed scale = 0.408248276 : (tensor<?x?x2x3xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x6xf32>)
// CHECK-NOT:     mix.recurrence
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
// CHECK:         mix.recurrence {{.*}} : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]
func.func @gqa(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate none : (tensor<?x?x4x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x2x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x4x8xf32>
}
