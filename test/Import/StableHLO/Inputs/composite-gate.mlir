// mixir-stablehlo-flat v1
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2x8xf32>, sym_name = "main"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>, %g: tensor<1x4x2xf32>):
    %0 = "stablehlo.composite"(%q, %q, %q, %g, %g) <{name = "mixir.linear_attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2x8xf32>
    "func.return"(%0) : (tensor<1x4x2x8xf32>) -> ()
  }) : () -> ()
}) : () -> ()
