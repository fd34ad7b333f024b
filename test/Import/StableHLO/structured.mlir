// mixir-stablehlo-flat v1
// dot_general becomes the batched matmul generic the other builders emit
// (batch, lhs free, rhs free); reduce starts from its init operand.
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s

// x @ w: after canonicalisation no transpose is left.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<2x3xf32>, tensor<3x4xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf

// A bf16 product with an f32 result accumulates in f32.
// CHECK-LABEL: func.func @batched_bf16
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} {{.*}} outs(%{{.*}} : tensor<5x2x4xf32>)
// CHECK: return {{.*}} : tensor<5x2x4xf32>

// CHECK-LABEL: func.func @reductions
// CHECK: %[[I0:.*]] = tensor.extract %arg1[] : tensor<f32>
// CHECK: linalg.fill ins(%[[I0]] : f32) outs(%{{.*}} : tensor<2xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.andi
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>, sym_name = "matmul"}> ({
  ^bb0(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>):
    %0 = "stablehlo.dot_general"(%x, %w) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>}}> : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    "func.return"(%0) : (tensor<2x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x5x3xbf16>, tensor<3x4x5xbf16>) -> tensor<5x2x4xf32>, sym_name = "batched_bf16"}> ({
  ^bb0(%a: tensor<2x5x3xbf16>, %b: tensor<3x4x5xbf16>):
    %0 = "stablehlo.dot_general"(%a, %b) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 1>, rhs_batching_dimensions = array<i64: 2>, lhs_contracting_dimensions = array<i64: 2>, rhs_contracting_dimensions = array<i64: 0>}}> : (tensor<2x5x3xbf16>, tensor<3x4x5xbf16>) -> tensor<5x2x4xf32>
    "func.return"(%0) : (tensor<5x2x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3x4xf32>, tensor<f32>, tensor<2x3x4xi1>) -> (tensor<2xf32>, tensor<3xf32>, tensor<2x4xi1>), sym_name = "reductions"}> ({
  ^bb0(%x: tensor<2x3x4xf32>, %init: tensor<f32>, %p: tensor<2x3x4xi1>):
    %ninf = "stablehlo.constant"() <{value = dense<0xFF800000> : tensor<f32>}> : () -> tensor<f32>
    %true = "stablehlo.constant"() <{value = dense<true> : tensor<i1>}> : () -> tensor<i1>
    %0 = "stablehlo.reduce"(%x, %init) <{dimensions = array<i64: 1, 2>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3x4xf32>, tensor<f32>) -> tensor<2xf32>
    %1 = "stablehlo.reduce"(%x, %ninf) <{dimensions = array<i64: 0, 2>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.maximum"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3x4xf32>, tensor<f32>) -> tensor<3xf32>
    %2 = "stablehlo.reduce"(%p, %true) <{dimensions = array<i64: 1>}> ({
    ^bb0(%a: tensor<i1>, %b: tensor<i1>):
      %r = "stablehlo.and"(%a, %b) : (tensor<i1>, tensor<i1>) -> tensor<i1>
      "stablehlo.return"(%r) : (tensor<i1>) -> ()
    }) : (tensor<2x3x4xi1>, tensor<i1>) -> tensor<2x4xi1>
    "func.return"(%0, %1, %2) : (tensor<2xf32>, tensor<3xf32>, tensor<2x4xi1>) -> ()
  }) : () -> ()
}) : () -> ()
