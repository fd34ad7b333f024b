// RUN: mixir-opt %s --convert-mix-to-loops --canonicalize | FileCheck %s

// `all_states` in the recurrent form: the per-token states [1, T, Hv, K, V]
// start as zeros (padding sequences run no token), each (sequence, state
// head) writes row i of its [length, K, V] slice after token i, and the
// pool is only read: no scatter back into it.

// CHECK-LABEL: func.func @dr_pool(
// CHECK-SAME: %[[POOL:[a-z0-9]+]]: tensor<5x2x8x16xf32>
// CHECK: %[[E:[a-z0-9_]+]] = tensor.empty(%{{.*}}) : tensor<1x?x2x8x16xf32>
// CHECK: %[[Z:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<1x?x2x8x16xf32>)
// CHECK: %[[F:[a-z0-9_]+]]:2 = scf.forall (%[[SEQ:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%{{.*}}, 2) shared_outs(%{{.*}} = %{{.*}}, %[[ALL:[a-z0-9_]+]] = %[[Z]])
// CHECK: tensor.extract_slice %[[POOL]]
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[ALL]][0, %[[START:[a-z0-9_]+]], %[[H]], 0, 0] [1, %[[LEN:[a-z0-9_]+]], 1, 8, 16]
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %[[LEN]] step %c1 iter_args({{.*}}, %[[SR:[a-z0-9_]+]] = %[[ROWS]])
// CHECK: tensor.insert_slice %{{.*}} into %[[SR]][%[[I]], 0, 0] [1, 8, 16] [1, 1, 1] : tensor<8x16xf32> into tensor<?x8x16xf32>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[ALL]][0, %[[START]], %[[H]], 0, 0] [1, %[[LEN]], 1, 8, 16]
// CHECK-NOT: %[[POOL]]
// CHECK: return %{{.*}}, %[[F]]#1
func.func @dr_pool(%q: tensor<1x?x2x8xf32>, %v: tensor<1x?x2x16xf32>, %beta: tensor<1x?x2xf32>, %pool: tensor<5x2x8x16xf32>, %cu: tensor<4xi32>, %idx: tensor<3xi32>) -> (tensor<1x?x2x16xf32>, tensor<1x?x2x8x16xf32>) {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none init(%pool) varlen(%cu) indices(%idx) all_states
      : (tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2xf32>, tensor<5x2x8x16xf32>, tensor<4xi32>, tensor<3xi32>)
      -> (tensor<1x?x2x16xf32>, tensor<1x?x2x8x16xf32>)
  return %o, %s : tensor<1x?x2x16xf32>, tensor<1x?x2x8x16xf32>
}
