// RUN: mixir-opt %s --split-input-file --mix-derive-backward | FileCheck %s

// mix.delta_rule (KDA: vector gate, qk_l2norm, allow_neg_eigval) through its
// mix.recurrence form: R = 1, a = exp(g) * k, b = -2 beta k, values
// 2 beta v, the normalised q and k. The backward of that recurrence follows
// (RecurrenceGrad; the forward re-run for d final_state's gate term), then
// the chain rule back to q, k, v, beta, g and the initial state. K = 6,
// V = 3, two state heads sharing one key head.
// CHECK-LABEL: func.func @kda_backward(
// CHECK-SAME:    -> (tensor<?x?x1x6xf32>, tensor<?x?x1x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x?x2x6xf32>, tensor<?x2x6x3xf32>)
// CHECK-NOT:     mix.delta_rule
// CHECK:         math.rsqrt
// CHECK:         mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%{{.*}}, %{{.*}}) gate vector(%{{.*}}) init(%{{.*}}) scale = 2.500000e-01 : (tensor<?x?x1x6xf32>, tensor<?x?x1x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x1x6xf32>, tensor<?x?x2x1x6xf32>, tensor<?x?x2x6xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence {{.*}} read transposed
// CHECK:         mix.scan
// CHECK:         return
func.func @kda(%q: tensor<?x?x1x6xf32>, %k: tensor<?x?x1x6xf32>, %v: tensor<?x?x2x3xf32>, %beta: tensor<?x?x2xf32>, %g: tensor<?x?x2x6xf32>, %s0: tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>) attributes {mix.derive_backward} {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector(%g) init(%s0) scale = 0.25 qk_l2norm allow_neg_eigval : (tensor<?x?x1x6xf32>, tensor<?x?x1x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x?x2x6xf32>, tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>)
  return %o, %s : tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>
}
