// mixir-stablehlo-flat v1
// Sliding-window softmax attention as JAX writes it: the mask comes from
// iota, compare and `and` at run time. The importer evaluates that constant
// subgraph, so mix-raise can check the mask element by element and finds
// causal + window 3 (keys i - 3 < j <= i).
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s --check-prefix=FOLD
//
// CHECK-LABEL: func.func public @main
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal window = 3 scale = 5.000000e-01
// CHECK-NOT: linalg.softmax
//
// The folded mask: a 1x1x5x5 i1 constant (broadcast over heads by the
// select's indexing map, not materialised), no iota left.
// FOLD-NOT: linalg.index
// FOLD: arith.constant dense<{{\[\[\[}}[true, false, false, false, false], [true, true, false, false, false], [true, true, true, false, false], [false, true, true, true, false], [false, false, true, true, true]]]]> : tensor<1x1x5x5xi1>
"builtin.module"() <{sym_name = "jit_attn_window"}> ({
  "func.func"() <{function_type = (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>) -> tensor<1x5x2x4xf32>, res_attrs = [{}], sym_name = "main", sym_visibility = "public"}> ({
  ^bb0(%arg3: tensor<1x5x2x4xf32>, %arg4: tensor<1x5x2x4xf32>, %arg5: tensor<1x5x2x4xf32>):
    %4 = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %5 = "stablehlo.constant"() <{value = dense<0xFF800000> : tensor<f32>}> : () -> tensor<f32>
    %6 = "stablehlo.constant"() <{value = dense<3> : tensor<i32>}> : () -> tensor<i32>
    %7 = "stablehlo.constant"() <{value = dense<5.000000e-01> : tensor<f32>}> : () -> tensor<f32>
    %8 = "stablehlo.dot_general"(%arg3, %arg4) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 2>, rhs_batching_dimensions = array<i64: 0, 2>, lhs_contracting_dimensions = array<i64: 3>, rhs_contracting_dimensions = array<i64: 3>}}> : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>) -> tensor<1x2x5x5xf32>
    %9 = "stablehlo.broadcast_in_dim"(%7) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x5x5xf32>
    %10 = "stablehlo.multiply"(%8, %9) : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
    %11 = "stablehlo.iota"() <{iota_dimension = 0 : i64}> : () -> tensor<5xi32>
    %12 = "stablehlo.broadcast_in_dim"(%11) <{broadcast_dimensions = array<i64: 0>}> : (tensor<5xi32>) -> tensor<5x1xi32>
    %13 = "stablehlo.iota"() <{iota_dimension = 0 : i64}> : () -> tensor<5xi32>
    %14 = "stablehlo.broadcast_in_dim"(%13) <{broadcast_dimensions = array<i64: 1>}> : (tensor<5xi32>) -> tensor<1x5xi32>
    %15 = "stablehlo.broadcast_in_dim"(%14) <{broadcast_dimensions = array<i64: 0, 1>}> : (tensor<1x5xi32>) -> tensor<5x5xi32>
    %16 = "stablehlo.broadcast_in_dim"(%12) <{broadcast_dimensions = array<i64: 0, 1>}> : (tensor<5x1xi32>) -> tensor<5x5xi32>
    %17 = "stablehlo.compare"(%15, %16) <{compare_type = "SIGNED", comparison_direction = "LE"}> : (tensor<5x5xi32>, tensor<5x5xi32>) -> tensor<5x5xi1>
    %18 = "stablehlo.broadcast_in_dim"(%12) <{broadcast_dimensions = array<i64: 0, 1>}> : (tensor<5x1xi32>) -> tensor<5x5xi32>
    %19 = "stablehlo.broadcast_in_dim"(%14) <{broadcast_dimensions = array<i64: 0, 1>}> : (tensor<1x5xi32>) -> tensor<5x5xi32>
    %20 = "stablehlo.subtract"(%18, %19) : (tensor<5x5xi32>, tensor<5x5xi32>) -> tensor<5x5xi32>
    %21 = "stablehlo.broadcast_in_dim"(%6) <{broadcast_dimensions = array<i64>}> : (tensor<i32>) -> tensor<5x5xi32>
    %22 = "stablehlo.compare"(%20, %21) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<5x5xi32>, tensor<5x5xi32>) -> tensor<5x5xi1>
    %23 = "stablehlo.and"(%17, %22) : (tensor<5x5xi1>, tensor<5x5xi1>) -> tensor<5x5xi1>
    %24 = "func.call"(%23, %10, %5) <{callee = @_where}> : (tensor<5x5xi1>, tensor<1x2x5x5xf32>, tensor<f32>) -> tensor<1x2x5x5xf32>
    %25 = "stablehlo.reduce"(%24, %5) <{dimensions = array<i64: 3>}> ({
    ^bb0(%arg8: tensor<f32>, %arg9: tensor<f32>):
      %39 = "stablehlo.maximum"(%arg8, %arg9) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%39) : (tensor<f32>) -> ()
    }) : (tensor<1x2x5x5xf32>, tensor<f32>) -> tensor<1x2x5xf32>
    %26 = "stablehlo.broadcast_in_dim"(%5) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x5xf32>
    %27 = "stablehlo.maximum"(%26, %25) : (tensor<1x2x5xf32>, tensor<1x2x5xf32>) -> tensor<1x2x5xf32>
    %28 = "stablehlo.broadcast_in_dim"(%27) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x5xf32>) -> tensor<1x2x5x1xf32>
    %29 = "stablehlo.broadcast_in_dim"(%28) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x5x1xf32>) -> tensor<1x2x5x5xf32>
    %30 = "stablehlo.subtract"(%24, %29) : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
    %31 = "stablehlo.exponential"(%30) : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
    %32 = "stablehlo.reduce"(%31, %4) <{dimensions = array<i64: 3>}> ({
    ^bb0(%arg6: tensor<f32>, %arg7: tensor<f32>):
      %38 = "stablehlo.add"(%arg6, %arg7) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%38) : (tensor<f32>) -> ()
    }) : (tensor<1x2x5x5xf32>, tensor<f32>) -> tensor<1x2x5xf32>
    %33 = "stablehlo.broadcast_in_dim"(%32) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x5xf32>) -> tensor<1x2x5x1xf32>
    %34 = "stablehlo.broadcast_in_dim"(%33) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x5x1xf32>) -> tensor<1x2x5x5xf32>
    %35 = "stablehlo.divide"(%31, %34) : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
    %36 = "stablehlo.dot_general"(%arg5, %35) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 2>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 3>}}> : (tensor<1x5x2x4xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x4x5xf32>
    %37 = "stablehlo.transpose"(%36) <{permutation = array<i64: 0, 3, 1, 2>}> : (tensor<1x2x4x5xf32>) -> tensor<1x5x2x4xf32>
    "func.return"(%37) : (tensor<1x5x2x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x5xi1>, tensor<1x2x5x5xf32>, tensor<f32>) -> tensor<1x2x5x5xf32>, sym_name = "_where", sym_visibility = "private"}> ({
  ^bb0(%arg0: tensor<5x5xi1>, %arg1: tensor<1x2x5x5xf32>, %arg2: tensor<f32>):
    %0 = "stablehlo.convert"(%arg2) : (tensor<f32>) -> tensor<f32>
    %1 = "stablehlo.broadcast_in_dim"(%arg0) <{broadcast_dimensions = array<i64: 2, 3>}> : (tensor<5x5xi1>) -> tensor<1x2x5x5xi1>
    %2 = "stablehlo.broadcast_in_dim"(%0) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x5x5xf32>
    %3 = "stablehlo.select"(%1, %arg1, %2) : (tensor<1x2x5x5xi1>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
    "func.return"(%3) : (tensor<1x2x5x5xf32>) -> ()
  }) : () -> ()
}) {} : () -> ()

