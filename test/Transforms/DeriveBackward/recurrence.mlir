// RUN: mixir-opt %s --split-input-file --mix-derive-backward | FileCheck %s

// mix.recurrence (R = 2, vector log gate, initial state): the forward re-run
// for its final state, then five recurrences. The reverse one (state
// gradient R_t) has keys s q, values do, lowrank(b, a) swapped and shifted,
// d final_state as its initial state; it is read normally with k and the b
// rows stacked as heads (2 * (1 + 2) = 6: dv and y = R^T b) and through its
// transpose with v and u (dk and db). The forward one is read through its
// transpose with do (dq, the op's scale); the forward one on inputs shifted
// by a step (S_{t-1}) normally with a (u, 2 * 2 = 4 heads) and through its
// transpose with y (da). The gate gradient's reverse cumulative sum is a
// mix.scan. K = 6, V = 3.
// CHECK-LABEL: func.func @dplr_backward(
// CHECK-SAME:    -> (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x2x6xf32>, tensor<?x?x2x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence %{{.*}} lowrank(%{{.*}}) gate vector(%{{.*}}) init(%{{.*}}) scale = 5.000000e-01
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate vector({{.*}}) init(%{{.*}}) scale = 1.000000e+00 : (tensor<?x?x6x6xf32>, {{.*}} -> (tensor<?x?x6x3xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate vector({{.*}}) init(%{{.*}}) scale = 1.000000e+00 : (tensor<?x?x4x6xf32>, {{.*}} -> (tensor<?x?x4x3xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate vector({{.*}}) read transposed init(%{{.*}}) scale = 1.000000e+00 : (tensor<?x?x6x3xf32>, {{.*}} -> (tensor<?x?x6x6xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate vector({{.*}}) read transposed init(%{{.*}}) scale = 5.000000e-01 : (tensor<?x?x2x3xf32>, {{.*}} -> (tensor<?x?x2x6xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate vector({{.*}}) read transposed init(%{{.*}}) scale = 1.000000e+00 : (tensor<?x?x4x3xf32>, {{.*}} -> (tensor<?x?x4x6xf32>, tensor<?x2x6x3xf32>)
// CHECK:         mix.scan
// CHECK:         return
func.func @dplr(%q: tensor<?x?x2x6xf32>, %k: tensor<?x?x2x6xf32>, %v: tensor<?x?x2x3xf32>, %a: tensor<?x?x2x2x6xf32>, %b: tensor<?x?x2x2x6xf32>, %g: tensor<?x?x2x6xf32>, %s0: tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>) attributes {mix.derive_backward} {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate vector(%g) init(%s0) scale = 0.5 : (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x2x6xf32>, tensor<?x?x2x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x2x6x3xf32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>)
  return %o, %s : tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>
}
