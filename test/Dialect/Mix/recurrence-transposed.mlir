// RUN: mixir-opt %s | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// `read transposed` round-trips after the decay and before the initial
// state; q is [B, T, Hq, V] and o [B, T, Ho, K] (K = 16, V = 32).
// CHECK-LABEL: func.func @transposed
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%{{.*}}, %{{.*}}) gate vector(%{{.*}}) decay signed read transposed init(%{{.*}}) :
// CHECK-SAME: -> (tensor<2x8x4x16xf32>, tensor<2x2x16x32xf32>)
// CHECK-LABEL: func.func @normal
// CHECK-NOT: read
// CHECK: return
// GENERIC: read_transposed
func.func @transposed(%q: tensor<2x8x4x32xf32>, %k: tensor<2x8x2x16xf32>,
                      %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x1x16xf32>,
                      %b: tensor<2x8x2x1x16xf32>, %g: tensor<2x8x2x16xf32>,
                      %s0: tensor<2x2x16x32xf32>)
    -> (tensor<2x8x4x16xf32>, tensor<2x2x16x32xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate vector(%g)
      decay signed read transposed init(%s0)
      : (tensor<2x8x4x32xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>,
         tensor<2x8x2x1x16xf32>, tensor<2x8x2x1x16xf32>, tensor<2x8x2x16xf32>,
         tensor<2x2x16x32xf32>)
      -> (tensor<2x8x4x16xf32>, tensor<2x2x16x32xf32>)
  return %o, %s : tensor<2x8x4x16xf32>, tensor<2x2x16x32xf32>
}

func.func @normal(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>,
                  %v: tensor<2x8x2x32xf32>)
    -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>) {
  %o, %s = mix.recurrence %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return %o, %s : tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>
}
