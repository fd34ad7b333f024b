// mixir-stablehlo-flat v1
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<4xf32>) -> tensor<4xi1>, sym_name = "main"}> ({
  ^bb0(%t: tensor<4xf32>):
    %0 = "stablehlo.is_finite"(%t, %t) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
    "func.return"(%0) : (tensor<4xi1>) -> ()
  }) : () -> ()
}) : () -> ()
