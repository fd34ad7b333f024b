// mixir-stablehlo-flat v1
// An HGRN-style diagonal recurrence written with jax.lax.scan (state [2, 3],
// a = exp(lg) in the body, input (1 - a) * x, a given initial state, output
// 2 h): mix.scan over the 6 flattened channels. A loop of its own (an
// scf.for that mix-raise writes) computes x and g per token; the output is scaled by 2 and moved back to [B, T, D].
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
//
// CHECK-LABEL: func.func public @main
// CHECK: scf.for {{.*}} -> (tensor<5x6xf32>, tensor<5x6xf32>)
// CHECK-NOT: scf.while
// CHECK: %[[O:.*]], %[[S:.*]] = mix.scan %{{.*}}, %{{.*}} init(%{{.*}}) : (tensor<1x5x6xf32>, tensor<1x5x6xf32>, tensor<1x6xf32>) -> (tensor<1x5x6xf32>, tensor<1x6xf32>)
// CHECK: arith.mulf
// CHECK: linalg.transpose {{.*}} permutation = [1, 0, 2]
// CHECK-NOT: scf.while
"builtin.module"() <{sym_name = "jit_hgrn_like"}> ({
  "func.func"() ({
  ^bb0(%arg8: tensor<2x3xf32>, %arg9: tensor<2x5x3xf32>, %arg10: tensor<2x5x3xf32>):
    %16 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %17 = "stablehlo.constant"() <{value = dense<5> : tensor<i32>}> : () -> tensor<i32>
    %18 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %19 = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %20 = "stablehlo.transpose"(%arg9) <{permutation = array<i64: 1, 0, 2>}> : (tensor<2x5x3xf32>) -> tensor<5x2x3xf32>
    %21 = "stablehlo.transpose"(%arg10) <{permutation = array<i64: 1, 0, 2>}> : (tensor<2x5x3xf32>) -> tensor<5x2x3xf32>
    %22 = "stablehlo.broadcast_in_dim"(%19) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<5x2x3xf32>
    %23:5 = "stablehlo.while"(%20, %21, %18, %arg8, %22) ({
    ^bb0(%arg16: tensor<5x2x3xf32>, %arg17: tensor<5x2x3xf32>, %arg18: tensor<i32>, %arg19: tensor<2x3xf32>, %arg20: tensor<5x2x3xf32>):
      %30 = "stablehlo.compare"(%arg18, %17) {compare_type = "SIGNED", comparison_direction = "LT"} : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%30) : (tensor<i1>) -> ()
    }, {
    ^bb0(%arg11: tensor<5x2x3xf32>, %arg12: tensor<5x2x3xf32>, %arg13: tensor<i32>, %arg14: tensor<2x3xf32>, %arg15: tensor<5x2x3xf32>):
      %25 = "func.call"(%arg11, %arg13) <{callee = @dynamic_index_in_dim}> : (tensor<5x2x3xf32>, tensor<i32>) -> tensor<2x3xf32>
      %26 = "func.call"(%arg12, %arg13) <{callee = @dynamic_index_in_dim}> : (tensor<5x2x3xf32>, tensor<i32>) -> tensor<2x3xf32>
      %27:2 = "func.call"(%arg14, %25, %26) <{callee = @closed_call}> : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>)
      %28 = "func.call"(%arg15, %27#1, %arg13) <{callee = @dynamic_update_index_in_dim}> : (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<i32>) -> tensor<5x2x3xf32>
      %29 = "stablehlo.add"(%arg13, %16) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%arg11, %arg12, %29, %27#0, %28) : (tensor<5x2x3xf32>, tensor<5x2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<5x2x3xf32>) -> ()
    }) : (tensor<5x2x3xf32>, tensor<5x2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<5x2x3xf32>) -> (tensor<5x2x3xf32>, tensor<5x2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<5x2x3xf32>)
    %24 = "stablehlo.transpose"(%23#4) <{permutation = array<i64: 1, 0, 2>}> : (tensor<5x2x3xf32>) -> tensor<2x5x3xf32>
    "func.return"(%24, %23#3) : (tensor<2x5x3xf32>, tensor<2x3xf32>) -> ()
  }) {function_type = (tensor<2x3xf32>, tensor<2x5x3xf32>, tensor<2x5x3xf32>) -> (tensor<2x5x3xf32>, tensor<2x3xf32>), sym_name = "main", sym_visibility = "public"} : () -> ()
  "func.func"() ({
  ^bb0(%arg6: tensor<5x2x3xf32>, %arg7: tensor<i32>):
    %13 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %14 = "stablehlo.dynamic_slice"(%arg6, %arg7, %13, %13) <{slice_sizes = array<i64: 1, 2, 3>}> : (tensor<5x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x2x3xf32>
    %15 = "stablehlo.reshape"(%14) : (tensor<1x2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%15) : (tensor<2x3xf32>) -> ()
  }) {function_type = (tensor<5x2x3xf32>, tensor<i32>) -> tensor<2x3xf32>, sym_name = "dynamic_index_in_dim", sym_visibility = "private"} : () -> ()
  "func.func"() ({
  ^bb0(%arg3: tensor<2x3xf32>, %arg4: tensor<2x3xf32>, %arg5: tensor<2x3xf32>):
    %3 = "stablehlo.constant"() <{value = dense<2.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %4 = "stablehlo.constant"() <{value = dense<1.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %5 = "stablehlo.exponential"(%arg4) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %6 = "stablehlo.multiply"(%5, %arg3) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %7 = "stablehlo.broadcast_in_dim"(%4) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<2x3xf32>
    %8 = "stablehlo.subtract"(%7, %5) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %9 = "stablehlo.multiply"(%8, %arg5) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %10 = "stablehlo.add"(%6, %9) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %11 = "stablehlo.broadcast_in_dim"(%3) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<2x3xf32>
    %12 = "stablehlo.multiply"(%11, %10) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%10, %12) : (tensor<2x3xf32>, tensor<2x3xf32>) -> ()
  }) {function_type = (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>), sym_name = "closed_call", sym_visibility = "private"} : () -> ()
  "func.func"() ({
  ^bb0(%arg0: tensor<5x2x3xf32>, %arg1: tensor<2x3xf32>, %arg2: tensor<i32>):
    %0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %1 = "stablehlo.broadcast_in_dim"(%arg1) <{broadcast_dimensions = array<i64: 1, 2>}> : (tensor<2x3xf32>) -> tensor<1x2x3xf32>
    %2 = "stablehlo.dynamic_update_slice"(%arg0, %1, %arg2, %0, %0) : (tensor<5x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x2x3xf32>
    "func.return"(%2) : (tensor<5x2x3xf32>) -> ()
  }) {function_type = (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<i32>) -> tensor<5x2x3xf32>, sym_name = "dynamic_update_index_in_dim", sym_visibility = "private"} : () -> ()
}) : () -> ()
