// RUN: mixir-opt %s --convert-mix-to-loops | FileCheck %s

// The recurrent form of `read transposed` (o_t = S_t (scale q_t)): the
// query row of V entries is read once per token; in the pass over the K
// rows of the state each updated row is dotted with it and the sum stored
// as o[t, k], so no [V] accumulator is carried. K = 8, V = 16.
// CHECK-LABEL: func.func @rt(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x4x1x16xf32>
// CHECK: scf.forall
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4
// CHECK: %[[QROW:[a-z0-9_]+]] = vector.transfer_read %[[Q]][%{{.*}}, %[[T]], %{{.*}}, %c0]{{.*}} : tensor<1x4x1x16xf32>, vector<16xf32>
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %c8{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[O:[a-z0-9_]+]] = %{{.*}}) -> (tensor<8x16xf32>, tensor<?x1x8xf32>)
// CHECK: %[[ROW:[a-z0-9_]+]] = vector.fma
// CHECK: %[[PROD:[a-z0-9_]+]] = arith.mulf %[[ROW]], %[[QROW]] : vector<16xf32>
// CHECK: %[[DOT:[a-z0-9_]+]] = vector.reduction <add>, %[[PROD]] : vector<16xf32> into f32
// CHECK: %[[SCALED:[a-z0-9_]+]] = arith.mulf %[[DOT]], %{{.*}} : f32
// CHECK: tensor.insert %[[SCALED]] into %[[O]][%[[T]], %{{.*}}, %[[I]]] : tensor<?x1x8xf32>
func.func @rt(%q: tensor<1x4x1x16xf32>, %k: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x16xf32>)
    -> (tensor<1x4x1x8xf32>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.recurrence %q, %k, %v gate none read transposed
      : (tensor<1x4x1x16xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x4x1x8xf32>, tensor<1x1x8x16xf32>
}
