// mixir-stablehlo-flat v1
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<4xf32>) -> tensor<4xf32>, sym_name = "main"}> ({
  ^bb0(%x: tensor<4xf32>):
    %0 = "stablehlo.cbrt"(%x) : (tensor<4xf32>) -> tensor<4xf32> loc(#loc2)
    "func.return"(%0) : (tensor<4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
#loc1 = loc("/home/u/model.py":12:4)
#loc2 = loc("jit(f)/jit(main)/cbrt"(#loc1))
