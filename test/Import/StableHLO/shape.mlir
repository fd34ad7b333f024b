// mixir-stablehlo-flat v1
// Broadcasts, reshapes, transposes, slices, concatenation and padding.
//
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s

// A broadcast with unsorted dims transposes the operand first.
// CHECK-LABEL: func.func @broadcast
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
// CHECK: tensor.expand_shape {{.*}} into tensor<3x1x2xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<3x1x2xf32>) outs(%{{.*}} : tensor<3x4x2xf32>)
// A splat constant stays a constant.
// CHECK: arith.constant dense<1.500000e+00> : tensor<3x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: return

// CHECK-LABEL: func.func @reshape_transpose
// CHECK: tensor.collapse_shape %arg0 {{\[}}[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3xf32>) {{.*}} permutation = [1, 0]

// CHECK-LABEL: func.func @slices
// CHECK: tensor.extract_slice %arg0[1, 0] [1, 2] [1, 2] : tensor<2x3xf32> to tensor<1x2xf32>
// CHECK: %[[I:.*]] = tensor.extract %arg1[] : tensor<i32>
// CHECK: arith.index_cast %[[I]]
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract_slice %arg0[%{{.*}}, %{{.*}}] [2, 2] [1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %arg0[%{{.*}}, %{{.*}}] [1, 2] [1, 1]

// CHECK-LABEL: func.func @concat_pad
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<2x6xf32>
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, %{{.*}}] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<2x6xf32>
// CHECK: %[[V:.*]] = tensor.extract %arg1[] : tensor<f32>
// CHECK: tensor.extract_slice %arg0[0, 1] [2, 2] [1, 1]
// CHECK: tensor.pad %{{.*}} low[1, 0] high[0, 2]
// CHECK: tensor.yield %[[V]]

// Interior padding: x goes into a filled tensor at stride interior + 1,
// then the edges are cut or padded.
// CHECK-LABEL: func.func @interior_pad
// CHECK: %[[W:.*]] = tensor.extract %arg1[] : tensor<f32>
// CHECK: %[[F:.*]] = linalg.fill ins(%[[W]] : f32) outs(%{{.*}} : tensor<3x7xf32>)
// CHECK: tensor.insert_slice %arg0 into %[[F]][0, 0] [2, 3] [2, 3] : tensor<2x3xf32> into tensor<3x7xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 2] [3, 5] [1, 1]
// CHECK: tensor.pad %{{.*}} low[1, 0] high[0, 0]
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<2x3xf32>) -> (tensor<3x4x2xf32>, tensor<3x4xf32>), sym_name = "broadcast"}> ({
  ^bb0(%a: tensor<2x3xf32>):
    %0 = "stablehlo.broadcast_in_dim"(%a) <{broadcast_dimensions = array<i64: 2, 0>}> : (tensor<2x3xf32>) -> tensor<3x4x2xf32>
    %c = "stablehlo.constant"() <{value = dense<1.500000e+00> : tensor<f32>}> : () -> tensor<f32>
    %1 = "stablehlo.broadcast_in_dim"(%c) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<3x4xf32>
    "func.return"(%0, %1) : (tensor<3x4x2xf32>, tensor<3x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>) -> (tensor<6xf32>, tensor<3x2xf32>), sym_name = "reshape_transpose"}> ({
  ^bb0(%a: tensor<2x3xf32>):
    %0 = "stablehlo.reshape"(%a) : (tensor<2x3xf32>) -> tensor<6xf32>
    %1 = "stablehlo.transpose"(%a) <{permutation = array<i64: 1, 0>}> : (tensor<2x3xf32>) -> tensor<3x2xf32>
    "func.return"(%0, %1) : (tensor<6xf32>, tensor<3x2xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<i32>, tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2x3xf32>), sym_name = "slices"}> ({
  ^bb0(%a: tensor<2x3xf32>, %i: tensor<i32>, %u: tensor<1x2xf32>):
    %0 = "stablehlo.slice"(%a) <{start_indices = array<i64: 1, 0>, limit_indices = array<i64: 2, 3>, strides = array<i64: 1, 2>}> : (tensor<2x3xf32>) -> tensor<1x2xf32>
    %1 = "stablehlo.dynamic_slice"(%a, %i, %i) <{slice_sizes = array<i64: 2, 2>}> : (tensor<2x3xf32>, tensor<i32>, tensor<i32>) -> tensor<2x2xf32>
    %2 = "stablehlo.dynamic_update_slice"(%a, %u, %i, %i) : (tensor<2x3xf32>, tensor<1x2xf32>, tensor<i32>, tensor<i32>) -> tensor<2x3xf32>
    "func.return"(%0, %1, %2) : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<f32>) -> (tensor<2x6xf32>, tensor<3x4xf32>), sym_name = "concat_pad"}> ({
  ^bb0(%a: tensor<2x3xf32>, %v: tensor<f32>):
    %0 = "stablehlo.concatenate"(%a, %a) <{dimension = 1 : i64}> : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
    %1 = "stablehlo.pad"(%a, %v) <{edge_padding_low = array<i64: 1, -1>, edge_padding_high = array<i64: 0, 2>, interior_padding = array<i64: 0, 0>}> : (tensor<2x3xf32>, tensor<f32>) -> tensor<3x4xf32>
    "func.return"(%0, %1) : (tensor<2x6xf32>, tensor<3x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<f32>) -> tensor<4x5xf32>, sym_name = "interior_pad"}> ({
  ^bb0(%a: tensor<2x3xf32>, %v: tensor<f32>):
    %0 = "stablehlo.pad"(%a, %v) <{edge_padding_low = array<i64: 1, -2>, edge_padding_high = array<i64: 0, 0>, interior_padding = array<i64: 1, 2>}> : (tensor<2x3xf32>, tensor<f32>) -> tensor<4x5xf32>
    "func.return"(%0) : (tensor<4x5xf32>) -> ()
  }) : () -> ()
}) : () -> ()
