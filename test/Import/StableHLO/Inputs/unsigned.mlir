// mixir-stablehlo-flat v1
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<4xui32>) -> tensor<4xui32>, sym_name = "main"}> ({
  ^bb0(%t: tensor<4xui32>):
    "func.return"(%t) : (tensor<4xui32>) -> ()
  }) : () -> ()
}) : () -> ()
