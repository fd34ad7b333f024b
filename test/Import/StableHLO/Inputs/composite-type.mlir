// mixir-stablehlo-flat v1
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x4x2x8xf32>) -> tensor<1x4x2x4xf32>, sym_name = "main"}> ({
  ^bb0(%q: tensor<1x4x2x8xf32>):
    %0 = "stablehlo.composite"(%q, %q, %q) <{name = "mixir.attention"}> : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x4x2x4xf32>
    "func.return"(%0) : (tensor<1x4x2x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
