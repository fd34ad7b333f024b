// mixir-stablehlo-flat v1
// A scan whose output reads the state before the update (exclusive) is not
// a mix recurrence: the loop stays.
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
// RUN: mixir-import-stablehlo %s -o /dev/null 2>&1 | count 0
// RUN: mixir-import-stablehlo %s --report-raising -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REPORT
//
// CHECK-LABEL: func.func public @main
// CHECK: scf.while
// CHECK-NOT: mix.
//
// --report-raising names the loop (the stablehlo.while below) and why it
// stays:
// REPORT: loc("<stablehlo>":[[@LINE+14]]:{{[0-9]+}}): mix-raise: loop: left as is: the step is not linear attention, the delta rule, a diagonal-plus-low-rank or a diagonal recurrence
// REPORT-NOT: mix-raise
"builtin.module"() <{sym_name = "jit_fn"}> ({
  "func.func"() <{function_type = (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>), res_attrs = [{}, {}], sym_name = "main", sym_visibility = "public"}> ({
  ^bb0(%arg11: tensor<1x5x2x4xf32>, %arg12: tensor<1x5x2x4xf32>, %arg13: tensor<1x5x2x3xf32>):
    %16 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %17 = "stablehlo.constant"() <{value = dense<5> : tensor<i32>}> : () -> tensor<i32>
    %18 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %19 = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %20 = "stablehlo.transpose"(%arg11) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %21 = "stablehlo.transpose"(%arg12) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %22 = "stablehlo.transpose"(%arg13) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x3xf32>) -> tensor<5x1x2x3xf32>
    %23 = "stablehlo.broadcast_in_dim"(%19) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x4x3xf32>
    %24 = "stablehlo.broadcast_in_dim"(%19) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<5x1x2x3xf32>
    %25:6 = "stablehlo.while"(%20, %21, %22, %18, %23, %24) ({
    ^bb0(%arg20: tensor<5x1x2x4xf32>, %arg21: tensor<5x1x2x4xf32>, %arg22: tensor<5x1x2x3xf32>, %arg23: tensor<i32>, %arg24: tensor<1x2x4x3xf32>, %arg25: tensor<5x1x2x3xf32>):
      %33 = "stablehlo.compare"(%arg23, %17) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%33) : (tensor<i1>) -> ()
    }, {
    ^bb0(%arg14: tensor<5x1x2x4xf32>, %arg15: tensor<5x1x2x4xf32>, %arg16: tensor<5x1x2x3xf32>, %arg17: tensor<i32>, %arg18: tensor<1x2x4x3xf32>, %arg19: tensor<5x1x2x3xf32>):
      %27 = "func.call"(%arg14, %arg17) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %28 = "func.call"(%arg15, %arg17) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %29 = "func.call"(%arg16, %arg17) <{callee = @dynamic_index_in_dim_0}> : (tensor<5x1x2x3xf32>, tensor<i32>) -> tensor<1x2x3xf32>
      %30:2 = "func.call"(%arg18, %27, %28, %29) <{callee = @closed_call}> : (tensor<1x2x4x3xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>) -> (tensor<1x2x4x3xf32>, tensor<1x2x3xf32>)
      %31 = "func.call"(%arg19, %30#1, %arg17) <{callee = @dynamic_update_index_in_dim}> : (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>) -> tensor<5x1x2x3xf32>
      %32 = "stablehlo.add"(%arg17, %16) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%arg14, %arg15, %arg16, %32, %30#0, %31) : (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<i32>, tensor<1x2x4x3xf32>, tensor<5x1x2x3xf32>) -> ()
    }) : (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<i32>, tensor<1x2x4x3xf32>, tensor<5x1x2x3xf32>) -> (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<i32>, tensor<1x2x4x3xf32>, tensor<5x1x2x3xf32>)
    %26 = "stablehlo.transpose"(%25#5) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<5x1x2x3xf32>) -> tensor<1x5x2x3xf32>
    "func.return"(%26, %25#4) : (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>, sym_name = "dynamic_index_in_dim", sym_visibility = "private"}> ({
  ^bb0(%arg9: tensor<5x1x2x4xf32>, %arg10: tensor<i32>):
    %13 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %14 = "stablehlo.dynamic_slice"(%arg9, %arg10, %13, %13, %13) <{slice_sizes = array<i64: 1, 1, 2, 4>}> : (tensor<5x1x2x4xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2x4xf32>
    %15 = "stablehlo.reshape"(%14) : (tensor<1x1x2x4xf32>) -> tensor<1x2x4xf32>
    "func.return"(%15) : (tensor<1x2x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x3xf32>, tensor<i32>) -> tensor<1x2x3xf32>, sym_name = "dynamic_index_in_dim_0", sym_visibility = "private"}> ({
  ^bb0(%arg7: tensor<5x1x2x3xf32>, %arg8: tensor<i32>):
    %10 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %11 = "stablehlo.dynamic_slice"(%arg7, %arg8, %10, %10, %10) <{slice_sizes = array<i64: 1, 1, 2, 3>}> : (tensor<5x1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2x3xf32>
    %12 = "stablehlo.reshape"(%11) : (tensor<1x1x2x3xf32>) -> tensor<1x2x3xf32>
    "func.return"(%12) : (tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x2x4x3xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>) -> (tensor<1x2x4x3xf32>, tensor<1x2x3xf32>), sym_name = "closed_call", sym_visibility = "private"}> ({
  ^bb0(%arg3: tensor<1x2x4x3xf32>, %arg4: tensor<1x2x4xf32>, %arg5: tensor<1x2x4xf32>, %arg6: tensor<1x2x3xf32>):
    %3 = "stablehlo.dot_general"(%arg4, %arg3) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 1>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64: 2>, rhs_contracting_dimensions = array<i64: 2>}}> : (tensor<1x2x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3xf32>
    %4 = "stablehlo.broadcast_in_dim"(%arg5) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x4xf32>) -> tensor<1x2x4x1xf32>
    %5 = "stablehlo.broadcast_in_dim"(%arg6) <{broadcast_dimensions = array<i64: 0, 1, 3>}> : (tensor<1x2x3xf32>) -> tensor<1x2x1x3xf32>
    %6 = "stablehlo.broadcast_in_dim"(%4) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x4x1xf32>) -> tensor<1x2x4x3xf32>
    %7 = "stablehlo.broadcast_in_dim"(%5) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x1x3xf32>) -> tensor<1x2x4x3xf32>
    %8 = "stablehlo.multiply"(%6, %7) : (tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x4x3xf32>
    %9 = "stablehlo.add"(%arg3, %8) : (tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x4x3xf32>
    "func.return"(%9, %3) : (tensor<1x2x4x3xf32>, tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>) -> tensor<5x1x2x3xf32>, sym_name = "dynamic_update_index_in_dim", sym_visibility = "private"}> ({
  ^bb0(%arg0: tensor<5x1x2x3xf32>, %arg1: tensor<1x2x3xf32>, %arg2: tensor<i32>):
    %0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %1 = "stablehlo.broadcast_in_dim"(%arg1) <{broadcast_dimensions = array<i64: 1, 2, 3>}> : (tensor<1x2x3xf32>) -> tensor<1x1x2x3xf32>
    %2 = "stablehlo.dynamic_update_slice"(%arg0, %1, %arg2, %0, %0, %0) : (tensor<5x1x2x3xf32>, tensor<1x1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x1x2x3xf32>
    "func.return"(%2) : (tensor<5x1x2x3xf32>) -> ()
  }) : () -> ()
}) {} : () -> ()

