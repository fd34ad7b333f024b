// mixir-stablehlo-flat v1
// `jax.lax.composite` ops named mixir.* become the mix op directly (operands
// and attributes as in the ONNX `mixir` domain); their decomposition
// functions go away. Other composites and func.call are inlined.
//
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s
//
// CHECK-LABEL: func.func public @la
// CHECK: %[[O:.*]], %{{.*}} = mix.linear_attention %arg0, %arg1, %arg2 gate none scale = 5.000000e-01
// CHECK: return %[[O]]
// CHECK-LABEL: func.func public @la_gated
// CHECK: mix.linear_attention %arg0, %arg1, %arg2 gate scalar(%arg3) init(%arg4)
// CHECK-LABEL: func.func public @la_init
// CHECK: mix.linear_attention %arg0, %arg1, %arg2 gate none init(%arg3)
// CHECK-LABEL: func.func public @dr
// CHECK: %[[DO:.*]], %[[DS:.*]] = mix.delta_rule %arg0, %arg1, %arg2, %arg3 gate vector(%arg4) qk_l2norm allow_neg_eigval
// CHECK: return %[[DO]], %[[DS]]
// CHECK-LABEL: func.func public @attn
// CHECK: mix.attention %arg0, %arg1, %arg2 window = 2 scale = 2.500000e-01
// CHECK-NOT: causal
// CHECK-LABEL: func.func public @attn_forget
// CHECK: mix.attention %arg0, %arg1, %arg2 forget(%arg3) causal :
// CHECK-LABEL: func.func public @scan
// CHECK: mix.scan %arg0, %arg1 init(%arg2)
// CHECK-LABEL: func.func public @inlined
// CHECK-NOT: call
// CHECK: math.tanh
// CHECK: arith.mulf
// CHECK: return
// CHECK-NOT: func.func private
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32>, sym_name = "la", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>):
    %o = "stablehlo.composite"(%q, %k, %v) <{composite_attributes = {scale = 5.000000e-01 : f64}, decomposition = @mixir.linear_attention, name = "mixir.linear_attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32>
    "func.return"(%o) : (tensor<1x4x2x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32>, sym_name = "mixir.linear_attention", sym_visibility = "private"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>):
    %x = "stablehlo.custom_call"(%q) <{call_target_name = "never_converted"}> : (tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32>
    "func.return"(%x) : (tensor<1x4x2x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x2x8x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>), sym_name = "la_gated", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %g: tensor<1x4x2xf32>, %s0: tensor<1x2x8x8xf32>):
    %o:2 = "stablehlo.composite"(%q, %k, %v, %g, %s0) <{composite_attributes = {gate = "scalar"}, name = "mixir.linear_attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x2x8x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>)
    "func.return"(%o#0, %o#1) : (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x4x2x8xf32>, sym_name = "la_init", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %s0: tensor<1x2x8x8xf32>):
    %o = "stablehlo.composite"(%q, %k, %v, %s0) <{name = "mixir.linear_attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x4x2x8xf32>
    "func.return"(%o) : (tensor<1x4x2x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>), sym_name = "dr", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %beta: tensor<1x4x2xf32>, %g: tensor<1x4x2x8xf32>):
    %o:2 = "stablehlo.composite"(%q, %k, %v, %beta, %g) <{composite_attributes = {gate = "vector", qk_l2norm = true, allow_neg_eigval = 1 : i64}, name = "mixir.delta_rule"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>)
    "func.return"(%o#0, %o#1) : (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32>, sym_name = "attn", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>):
    %o = "stablehlo.composite"(%q, %k, %v) <{composite_attributes = {causal = false, window = 2 : i64, scale = 2.500000e-01 : f32}, name = "mixir.attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32>
    "func.return"(%o) : (tensor<1x4x2x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2x8xf32>, sym_name = "attn_forget", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %g: tensor<1x4x2xf32>):
    %o = "stablehlo.composite"(%q, %k, %v, %g) <{name = "mixir.attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2x8xf32>
    "func.return"(%o) : (tensor<1x4x2x8xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x5x3xf32>, tensor<2x5x3xf32>, tensor<2x3xf32>) -> (tensor<2x5x3xf32>, tensor<2x3xf32>), sym_name = "scan", sym_visibility = "public"}> ({
  ^bb0(%x: tensor<2x5x3xf32>, %g: tensor<2x5x3xf32>, %h0: tensor<2x3xf32>):
    %o:2 = "stablehlo.composite"(%x, %g, %h0) <{name = "mixir.scan"}> : (tensor<2x5x3xf32>, tensor<2x5x3xf32>, tensor<2x3xf32>) -> (tensor<2x5x3xf32>, tensor<2x3xf32>)
    "func.return"(%o#0, %o#1) : (tensor<2x5x3xf32>, tensor<2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<3xf32>) -> tensor<3xf32>, sym_name = "inlined", sym_visibility = "public"}> ({
  ^bb0(%x: tensor<3xf32>):
    %y = "stablehlo.composite"(%x) <{decomposition = @my.thing, name = "my.thing"}> : (tensor<3xf32>) -> tensor<3xf32>
    "func.return"(%y) : (tensor<3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<3xf32>) -> tensor<3xf32>, sym_name = "my.thing", sym_visibility = "private"}> ({
  ^bb0(%x: tensor<3xf32>):
    %t = "func.call"(%x) <{callee = @helper}> : (tensor<3xf32>) -> tensor<3xf32>
    %c = "stablehlo.constant"() <{value = dense<2.000000e+00> : tensor<3xf32>}> : () -> tensor<3xf32>
    %y = "stablehlo.multiply"(%t, %c) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    "func.return"(%y) : (tensor<3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<3xf32>) -> tensor<3xf32>, sym_name = "helper", sym_visibility = "private"}> ({
  ^bb0(%x: tensor<3xf32>):
    %t = "stablehlo.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
    "func.return"(%t) : (tensor<3xf32>) -> ()
  }) : () -> ()
}) : () -> ()
