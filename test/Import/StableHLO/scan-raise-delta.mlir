// mixir-stablehlo-flat v1
// A gated DeltaNet written with jax.lax.scan over T (state [B, H, K, V],
// q scaled by 0.5 in the body), exported from JAX (B=1, T=5, H=2, K=4, V=3).
// The loop is evaluated on random inputs against every candidate recurrence
// and becomes one mix.delta_rule that reads the function's own [B, T, H, D]
// arguments (the transposes lax.scan needed are gone); with --no-raise it
// stays a loop.
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s --check-prefix=LOOP
//
// CHECK-LABEL: func.func public @main
// CHECK-NOT: scf.while
// CHECK: %[[O:.*]], %[[S:.*]] = mix.delta_rule %arg0, %arg1, %arg2, %arg3 gate scalar(%arg4) scale = 5.000000e-01
// CHECK-NOT: qk_l2norm
// CHECK-SAME: -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
// CHECK-NOT: scf.while
// CHECK: return %[[O]], %[[S]]
//
// LOOP: scf.while
// LOOP-NOT: mix.
"builtin.module"() <{sym_name = "jit_fn"}> ({
  "func.func"() <{function_type = (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x5x2xf32>, tensor<1x5x2xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>), res_attrs = [{}, {}], sym_name = "main", sym_visibility = "public"}> ({
  ^bb0(%arg15: tensor<1x5x2x4xf32>, %arg16: tensor<1x5x2x4xf32>, %arg17: tensor<1x5x2x3xf32>, %arg18: tensor<1x5x2xf32>, %arg19: tensor<1x5x2xf32>):
    %27 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %28 = "stablehlo.constant"() <{value = dense<5> : tensor<i32>}> : () -> tensor<i32>
    %29 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %30 = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %31 = "stablehlo.transpose"(%arg15) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %32 = "stablehlo.transpose"(%arg16) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x4xf32>) -> tensor<5x1x2x4xf32>
    %33 = "stablehlo.transpose"(%arg17) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<1x5x2x3xf32>) -> tensor<5x1x2x3xf32>
    %34 = "stablehlo.transpose"(%arg18) <{permutation = array<i64: 1, 0, 2>}> : (tensor<1x5x2xf32>) -> tensor<5x1x2xf32>
    %35 = "stablehlo.transpose"(%arg19) <{permutation = array<i64: 1, 0, 2>}> : (tensor<1x5x2xf32>) -> tensor<5x1x2xf32>
    %36 = "stablehlo.broadcast_in_dim"(%30) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x4x3xf32>
    %37 = "stablehlo.broadcast_in_dim"(%30) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<5x1x2x3xf32>
    %38:8 = "stablehlo.while"(%31, %32, %33, %34, %35, %29, %36, %37) ({
    ^bb0(%arg28: tensor<5x1x2x4xf32>, %arg29: tensor<5x1x2x4xf32>, %arg30: tensor<5x1x2x3xf32>, %arg31: tensor<5x1x2xf32>, %arg32: tensor<5x1x2xf32>, %arg33: tensor<i32>, %arg34: tensor<1x2x4x3xf32>, %arg35: tensor<5x1x2x3xf32>):
      %48 = "stablehlo.compare"(%arg33, %28) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%48) : (tensor<i1>) -> ()
    }, {
    ^bb0(%arg20: tensor<5x1x2x4xf32>, %arg21: tensor<5x1x2x4xf32>, %arg22: tensor<5x1x2x3xf32>, %arg23: tensor<5x1x2xf32>, %arg24: tensor<5x1x2xf32>, %arg25: tensor<i32>, %arg26: tensor<1x2x4x3xf32>, %arg27: tensor<5x1x2x3xf32>):
      %40 = "func.call"(%arg20, %arg25) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %41 = "func.call"(%arg21, %arg25) <{callee = @dynamic_index_in_dim}> : (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>
      %42 = "func.call"(%arg22, %arg25) <{callee = @dynamic_index_in_dim_0}> : (tensor<5x1x2x3xf32>, tensor<i32>) -> tensor<1x2x3xf32>
      %43 = "func.call"(%arg23, %arg25) <{callee = @dynamic_index_in_dim_1}> : (tensor<5x1x2xf32>, tensor<i32>) -> tensor<1x2xf32>
      %44 = "func.call"(%arg24, %arg25) <{callee = @dynamic_index_in_dim_1}> : (tensor<5x1x2xf32>, tensor<i32>) -> tensor<1x2xf32>
      %45:2 = "func.call"(%arg26, %40, %41, %42, %43, %44) <{callee = @closed_call}> : (tensor<1x2x4x3xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>, tensor<1x2xf32>, tensor<1x2xf32>) -> (tensor<1x2x4x3xf32>, tensor<1x2x3xf32>)
      %46 = "func.call"(%arg27, %45#1, %arg25) <{callee = @dynamic_update_index_in_dim}> : (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>) -> tensor<5x1x2x3xf32>
      %47 = "stablehlo.add"(%arg25, %27) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%arg20, %arg21, %arg22, %arg23, %arg24, %47, %45#0, %46) : (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<5x1x2xf32>, tensor<5x1x2xf32>, tensor<i32>, tensor<1x2x4x3xf32>, tensor<5x1x2x3xf32>) -> ()
    }) : (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<5x1x2xf32>, tensor<5x1x2xf32>, tensor<i32>, tensor<1x2x4x3xf32>, tensor<5x1x2x3xf32>) -> (tensor<5x1x2x4xf32>, tensor<5x1x2x4xf32>, tensor<5x1x2x3xf32>, tensor<5x1x2xf32>, tensor<5x1x2xf32>, tensor<i32>, tensor<1x2x4x3xf32>, tensor<5x1x2x3xf32>)
    %39 = "stablehlo.transpose"(%38#7) <{permutation = array<i64: 1, 0, 2, 3>}> : (tensor<5x1x2x3xf32>) -> tensor<1x5x2x3xf32>
    "func.return"(%39, %38#6) : (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x4xf32>, tensor<i32>) -> tensor<1x2x4xf32>, sym_name = "dynamic_index_in_dim", sym_visibility = "private"}> ({
  ^bb0(%arg13: tensor<5x1x2x4xf32>, %arg14: tensor<i32>):
    %24 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %25 = "stablehlo.dynamic_slice"(%arg13, %arg14, %24, %24, %24) <{slice_sizes = array<i64: 1, 1, 2, 4>}> : (tensor<5x1x2x4xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2x4xf32>
    %26 = "stablehlo.reshape"(%25) : (tensor<1x1x2x4xf32>) -> tensor<1x2x4xf32>
    "func.return"(%26) : (tensor<1x2x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x3xf32>, tensor<i32>) -> tensor<1x2x3xf32>, sym_name = "dynamic_index_in_dim_0", sym_visibility = "private"}> ({
  ^bb0(%arg11: tensor<5x1x2x3xf32>, %arg12: tensor<i32>):
    %21 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %22 = "stablehlo.dynamic_slice"(%arg11, %arg12, %21, %21, %21) <{slice_sizes = array<i64: 1, 1, 2, 3>}> : (tensor<5x1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2x3xf32>
    %23 = "stablehlo.reshape"(%22) : (tensor<1x1x2x3xf32>) -> tensor<1x2x3xf32>
    "func.return"(%23) : (tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2xf32>, tensor<i32>) -> tensor<1x2xf32>, sym_name = "dynamic_index_in_dim_1", sym_visibility = "private"}> ({
  ^bb0(%arg9: tensor<5x1x2xf32>, %arg10: tensor<i32>):
    %18 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %19 = "stablehlo.dynamic_slice"(%arg9, %arg10, %18, %18) <{slice_sizes = array<i64: 1, 1, 2>}> : (tensor<5x1x2xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x1x2xf32>
    %20 = "stablehlo.reshape"(%19) : (tensor<1x1x2xf32>) -> tensor<1x2xf32>
    "func.return"(%20) : (tensor<1x2xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x2x4x3xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>, tensor<1x2xf32>, tensor<1x2xf32>) -> (tensor<1x2x4x3xf32>, tensor<1x2x3xf32>), sym_name = "closed_call", sym_visibility = "private"}> ({
  ^bb0(%arg3: tensor<1x2x4x3xf32>, %arg4: tensor<1x2x4xf32>, %arg5: tensor<1x2x4xf32>, %arg6: tensor<1x2x3xf32>, %arg7: tensor<1x2xf32>, %arg8: tensor<1x2xf32>):
    %3 = "stablehlo.constant"() <{value = dense<5.000000e-01> : tensor<f32>}> : () -> tensor<f32>
    %4 = "stablehlo.exponential"(%arg8) : (tensor<1x2xf32>) -> tensor<1x2xf32>
    %5 = "stablehlo.broadcast_in_dim"(%4) <{broadcast_dimensions = array<i64: 0, 1>}> : (tensor<1x2xf32>) -> tensor<1x2x1x1xf32>
    %6 = "stablehlo.broadcast_in_dim"(%5) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x1x1xf32>) -> tensor<1x2x4x3xf32>
    %7 = "stablehlo.multiply"(%arg3, %6) : (tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x4x3xf32>
    %8 = "stablehlo.dot_general"(%arg5, %7) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 1>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64: 2>, rhs_contracting_dimensions = array<i64: 2>}}> : (tensor<1x2x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3xf32>
    %9 = "stablehlo.subtract"(%arg6, %8) : (tensor<1x2x3xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
    %10 = "stablehlo.broadcast_in_dim"(%arg7) <{broadcast_dimensions = array<i64: 0, 1>}> : (tensor<1x2xf32>) -> tensor<1x2x1xf32>
    %11 = "stablehlo.broadcast_in_dim"(%10) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x1xf32>) -> tensor<1x2x3xf32>
    %12 = "stablehlo.multiply"(%11, %9) : (tensor<1x2x3xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
    %13 = "stablehlo.dot_general"(%arg5, %12) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 1>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64>, rhs_contracting_dimensions = array<i64>}}> : (tensor<1x2x4xf32>, tensor<1x2x3xf32>) -> tensor<1x2x4x3xf32>
    %14 = "stablehlo.add"(%7, %13) : (tensor<1x2x4x3xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x4x3xf32>
    %15 = "stablehlo.broadcast_in_dim"(%3) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x4xf32>
    %16 = "stablehlo.multiply"(%arg4, %15) : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
    %17 = "stablehlo.dot_general"(%16, %14) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 1>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64: 2>, rhs_contracting_dimensions = array<i64: 2>}}> : (tensor<1x2x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3xf32>
    "func.return"(%14, %17) : (tensor<1x2x4x3xf32>, tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>, tensor<i32>) -> tensor<5x1x2x3xf32>, sym_name = "dynamic_update_index_in_dim", sym_visibility = "private"}> ({
  ^bb0(%arg0: tensor<5x1x2x3xf32>, %arg1: tensor<1x2x3xf32>, %arg2: tensor<i32>):
    %0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %1 = "stablehlo.broadcast_in_dim"(%arg1) <{broadcast_dimensions = array<i64: 1, 2, 3>}> : (tensor<1x2x3xf32>) -> tensor<1x1x2x3xf32>
    %2 = "stablehlo.dynamic_update_slice"(%arg0, %1, %arg2, %0, %0, %0) : (tensor<5x1x2x3xf32>, tensor<1x1x2x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x1x2x3xf32>
    "func.return"(%2) : (tensor<5x1x2x3xf32>) -> ()
  }) : () -> ()
}) {} : () -> ()

