// mixir-stablehlo-flat v1
// h = a * h + x with the decay a read as is: mix.scan takes log decays and
// log(a) is only valid for a > 0, which evaluation at random points cannot
// promise for every input, so the loop stays a loop.
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
//
// CHECK-LABEL: func.func public @main
// CHECK-NOT: mix.
// CHECK: scf.while
// CHECK-NOT: mix.
"builtin.module"() <{sym_name = "jit_raw_decay"}> ({
  "func.func"() ({
  ^bb0(%arg8: tensor<2x5x3xf32>, %arg9: tensor<2x5x3xf32>):
    %8 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %9 = "stablehlo.constant"() <{value = dense<5> : tensor<i32>}> : () -> tensor<i32>
    %10 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %11 = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %12 = "stablehlo.broadcast_in_dim"(%11) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<2x3xf32>
    %13 = "stablehlo.transpose"(%arg8) <{permutation = array<i64: 1, 0, 2>}> : (tensor<2x5x3xf32>) -> tensor<5x2x3xf32>
    %14 = "stablehlo.transpose"(%arg9) <{permutation = array<i64: 1, 0, 2>}> : (tensor<2x5x3xf32>) -> tensor<5x2x3xf32>
    %15 = "stablehlo.broadcast_in_dim"(%11) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<5x2x3xf32>
    %16:5 = "stablehlo.while"(%13, %14, %10, %12, %15) ({
    ^bb0(%arg15: tensor<5x2x3xf32>, %arg16: tensor<5x2x3xf32>, %arg17: tensor<i32>, %arg18: tensor<2x3xf32>, %arg19: tensor<5x2x3xf32>):
      %23 = "stablehlo.compare"(%arg17, %9) {compare_type = "SIGNED", comparison_direction = "LT"} : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%23) : (tensor<i1>) -> ()
    }, {
    ^bb0(%arg10: tensor<5x2x3xf32>, %arg11: tensor<5x2x3xf32>, %arg12: tensor<i32>, %arg13: tensor<2x3xf32>, %arg14: tensor<5x2x3xf32>):
      %18 = "func.call"(%arg10, %arg12) <{callee = @dynamic_index_in_dim}> : (tensor<5x2x3xf32>, tensor<i32>) -> tensor<2x3xf32>
      %19 = "func.call"(%arg11, %arg12) <{callee = @dynamic_index_in_dim}> : (tensor<5x2x3xf32>, tensor<i32>) -> tensor<2x3xf32>
      %20:2 = "func.call"(%arg13, %18, %19) <{callee = @closed_call}> : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>)
      %21 = "func.call"(%arg14, %20#1, %arg12) <{callee = @dynamic_update_index_in_dim}> : (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<i32>) -> tensor<5x2x3xf32>
      %22 = "stablehlo.add"(%arg12, %8) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%arg10, %arg11, %22, %20#0, %21) : (tensor<5x2x3xf32>, tensor<5x2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<5x2x3xf32>) -> ()
    }) : (tensor<5x2x3xf32>, tensor<5x2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<5x2x3xf32>) -> (tensor<5x2x3xf32>, tensor<5x2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<5x2x3xf32>)
    %17 = "stablehlo.transpose"(%16#4) <{permutation = array<i64: 1, 0, 2>}> : (tensor<5x2x3xf32>) -> tensor<2x5x3xf32>
    "func.return"(%17, %16#3) : (tensor<2x5x3xf32>, tensor<2x3xf32>) -> ()
  }) {function_type = (tensor<2x5x3xf32>, tensor<2x5x3xf32>) -> (tensor<2x5x3xf32>, tensor<2x3xf32>), sym_name = "main", sym_visibility = "public"} : () -> ()
  "func.func"() ({
  ^bb0(%arg6: tensor<5x2x3xf32>, %arg7: tensor<i32>):
    %5 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %6 = "stablehlo.dynamic_slice"(%arg6, %arg7, %5, %5) <{slice_sizes = array<i64: 1, 2, 3>}> : (tensor<5x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x2x3xf32>
    %7 = "stablehlo.reshape"(%6) : (tensor<1x2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%7) : (tensor<2x3xf32>) -> ()
  }) {function_type = (tensor<5x2x3xf32>, tensor<i32>) -> tensor<2x3xf32>, sym_name = "dynamic_index_in_dim", sym_visibility = "private"} : () -> ()
  "func.func"() ({
  ^bb0(%arg3: tensor<2x3xf32>, %arg4: tensor<2x3xf32>, %arg5: tensor<2x3xf32>):
    %3 = "stablehlo.multiply"(%arg4, %arg3) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %4 = "stablehlo.add"(%3, %arg5) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%4, %4) : (tensor<2x3xf32>, tensor<2x3xf32>) -> ()
  }) {function_type = (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>), sym_name = "closed_call", sym_visibility = "private"} : () -> ()
  "func.func"() ({
  ^bb0(%arg0: tensor<5x2x3xf32>, %arg1: tensor<2x3xf32>, %arg2: tensor<i32>):
    %0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %1 = "stablehlo.broadcast_in_dim"(%arg1) <{broadcast_dimensions = array<i64: 1, 2>}> : (tensor<2x3xf32>) -> tensor<1x2x3xf32>
    %2 = "stablehlo.dynamic_update_slice"(%arg0, %1, %arg2, %0, %0) : (tensor<5x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x2x3xf32>
    "func.return"(%2) : (tensor<5x2x3xf32>) -> ()
  }) {function_type = (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<i32>) -> tensor<5x2x3xf32>, sym_name = "dynamic_update_index_in_dim", sym_visibility = "private"} : () -> ()
}) : () -> ()
