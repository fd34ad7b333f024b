// mixir-stablehlo-flat v1
// GLA written with jax.lax.scan, the state kept as [V, K] and the gate
// applied per key channel: mix.linear_attention with a vector gate; the
// final state is transposed back to [V, K].
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
//
// CHECK-LABEL: func.func public @main
// CHECK-NOT: scf.while
// CHECK: %[[O:.*]], %[[S:.*]] = mix.linear_attention %arg0, %arg1, %arg2 gate vector(%arg3) scale = 1.000000e+00
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x2x4x3xf32>) outs(%{{.*}} : tensor<1x2x3x4xf32>) permutation = [0, 1, 3, 2]
// CHECK-NOT: scf.while
"builtin.module"() <{sym_name = "jit_fn"}> ({
  "func.func"() <{function_type = (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x5x2x4xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x3x4xf32>), res_attrs = [{}, {}], sym_name = "main", sym_visibility = "public"}> ({
  ^bb0(%arg12: tensor<1x5x2x4xf32>, %arg13: tensor<1x5x2x4xf32>, %arg14: tensor<1x5x2x3xf32>, %arg15: tensor<1x5x2x4xf32>):
    %20 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %21 = "stablehlo.constant"() <{value = dense<5> : tensor<i32>}> : () -> tensor<i32>
    %22 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %23 = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %24 = "stablehlo.transpose"(%arg12) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %25 = "stablehlo.transpose"(%arg13) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %26 = "stablehlo.transpose"(%arg14) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x3xf32>) -> tensor<5x1x2x3xf32>
    %27 = "stablehlo.transpose"(%arg15) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %28 = "stablehlo.broadcast_in_dim"(%23) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x3x4xf32>
    %29 = "stablehlo.broadcast_in_dim"(%23) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<5x1x2x3xf32>
    %30:7 = "stablehlo.while"(%24, %25, %26, %27, %22, %28, %29) ({
    ^bb0(%arg23: tensor<5x1x2x4xf32>, %arg24: tensor<5x1x2x4xf32>, %arg25: tensor<5x1x2x3xf32>, %arg26: tensor<5x1x2x4xf32>, %arg27: tensor<i32>, %arg28: tensor<1x2x3x4xf32>, %arg29: tensor<5x1x2x3xf32>):
      %39 = "stablehlo.compare"(%arg27, %21) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%39) : (tensor<i1>) -> ()
    }, {
    ^bb0(%arg16: tensor<5x1x2x4xf32>, %arg17: tensor<5x1x2x4xf32>, %arg18: tensor<5x1x2x3xf32>, %arg19: tensor<5x1x2x4xf32>, %arg20: tensor<i32>, %arg21: tensor<1x2x3x4xf32>, %arg22: tensor<5x1x2x3xf32>):
      %32 = "func.call"(%arg16, %arg20) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %33 = "func.call"(%arg17, %arg20) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %34 = "func.call"(%arg18, %arg20) <{callee = @dynamic_index_in_dim_0}> : (tensor<5x1x2x3xf32>, tensor<i32>) -> tensor<1x2x3xf32>
      %35 = "func.call"(%arg19, %arg20) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %36:2 = "func.call"(%arg21, %32, %33, %34, %35) <{callee = @closed_call}> : (tensor<1x2x3x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>, tensor<1x2x4xf32>) -> (tensor<1x2x3x4xf32>, tensor<1x2x3xf32>)
      %37 = "func.call"(%arg22, %36#1, %arg20) <{callee = @dynamic_update_index_in_dim}> : (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>) -> tensor<5x1x2x3xf32>
      %38 = "stablehlo.add"(%arg20, %20) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%arg16, %arg17, %arg18, %arg19, %38, %36#0, %37) : (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<5x1x2x4xf32>, tensor<i32>, tensor<1x2x3x4xf32>, tensor<5x1x2x3xf32>) -> ()
    }) : (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<5x1x2x4xf32>, tensor<i32>, tensor<1x2x3x4xf32>, tensor<5x1x2x3xf32>) -> (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<5x1x2x4xf32>, tensor<i32>, tensor<1x2x3x4xf32>, tensor<5x1x2x3xf32>)
    %31 = "stablehlo.transpose"(%30#6) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<5x1x2x3xf32>) -> tensor<1x5x2x3xf32>
    "func.return"(%31, %30#5) : (tensor<1x5x2x3xf32>, tensor<1x2x3x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>, sym_name = "dynamic_index_in_dim", sym_visibility = "private"}> ({
  ^bb0(%arg10: tensor<5x1x2x4xf32>, %arg11: tensor<i32>):
    %17 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %18 = "stablehlo.dynamic_slice"(%arg10, %arg11, %17, %17, %17) <{slice_sizes = array<i64: 1, 1, 2, 4>}> : (tensor<5x1x2x4xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2x4xf32>
    %19 = "stablehlo.reshape"(%18) : (tensor<1x1x2x4xf32>) -> tensor<1x2x4xf32>
    "func.return"(%19) : (tensor<1x2x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x3xf32>, tensor<i32>) -> tensor<1x2x3xf32>, sym_name = "dynamic_index_in_dim_0", sym_visibility = "private"}> ({
  ^bb0(%arg8: tensor<5x1x2x3xf32>, %arg9: tensor<i32>):
    %14 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %15 = "stablehlo.dynamic_slice"(%arg8, %arg9, %14, %14, %14) <{slice_sizes = array<i64: 1, 1, 2, 3>}> : (tensor<5x1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2x3xf32>
    %16 = "stablehlo.reshape"(%15) : (tensor<1x1x2x3xf32>) -> tensor<1x2x3xf32>
    "func.return"(%16) : (tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x2x3x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>, tensor<1x2x4xf32>) -> (tensor<1x2x3x4xf32>, tensor<1x2x3xf32>), sym_name = "closed_call", sym_visibility = "private"}> ({
  ^bb0(%arg3: tensor<1x2x3x4xf32>, %arg4: tensor<1x2x4xf32>, %arg5: tensor<1x2x4xf32>, %arg6: tensor<1x2x3xf32>, %arg7: tensor<1x2x4xf32>):
    %3 = "stablehlo.exponential"(%arg7) : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
    %4 = "stablehlo.broadcast_in_dim"(%3) <{broadcast_dimensions = array<i64: 0, 1, 3>}> : (tensor<1x2x4xf32>) -> tensor<1x2x1x4xf32>
    %5 = "stablehlo.broadcast_in_dim"(%4) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x1x4xf32>) -> tensor<1x2x3x4xf32>
    %6 = "stablehlo.multiply"(%arg3, %5) : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
    %7 = "stablehlo.broadcast_in_dim"(%arg6) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x3xf32>) -> tensor<1x2x3x1xf32>
    %8 = "stablehlo.broadcast_in_dim"(%arg5) <{broadcast_dimensions = array<i64: 0, 1, 3>}> : (tensor<1x2x4xf32>) -> tensor<1x2x1x4xf32>
    %9 = "stablehlo.broadcast_in_dim"(%7) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x3x1xf32>) -> tensor<1x2x3x4xf32>
    %10 = "stablehlo.broadcast_in_dim"(%8) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x1x4xf32>) -> tensor<1x2x3x4xf32>
    %11 = "stablehlo.multiply"(%9, %10) : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
    %12 = "stablehlo.add"(%6, %11) : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
    %13 = "stablehlo.dot_general"(%12, %arg4) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 1>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64: 3>, rhs_contracting_dimensions = array<i64: 2>}}> : (tensor<1x2x3x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x3xf32>
    "func.return"(%12, %13) : (tensor<1x2x3x4xf32>, tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>) -> tensor<5x1x2x3xf32>, sym_name = "dynamic_update_index_in_dim", sym_visibility = "private"}> ({
  ^bb0(%arg0: tensor<5x1x2x3xf32>, %arg1: tensor<1x2x3xf32>, %arg2: tensor<i32>):
    %0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %1 = "stablehlo.broadcast_in_dim"(%arg1) <{broadcast_dimensions = array<i64: 1, 2, 3>}> : (tensor<1x2x3xf32>) -> tensor<1x1x2x3xf32>
    %2 = "stablehlo.dynamic_update_slice"(%arg0, %1, %arg2, %0, %0, %0) : (tensor<5x1x2x3xf32>, tensor<1x1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x1x2x3xf32>
    "func.return"(%2) : (tensor<5x1x2x3xf32>) -> ()
  }) : () -> ()
}) {} : () -> ()

