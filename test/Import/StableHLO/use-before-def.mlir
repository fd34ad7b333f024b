// mixir-stablehlo-flat v1
// The verifier does not check dominance inside the regions of unregistered
// ops (the flat form's stablehlo.while): the importer does, and a value used
// before its definition is an error in one line, not a crash later.
//
// RUN: not mixir-import-stablehlo %s -o %t 2>&1 | FileCheck %s
// CHECK: mixir-import-stablehlo: malformed flat-form StableHLO: 'stablehlo.add' at loc("<stablehlo>":19:{{[0-9]+}}) uses a value before or outside its definition
"builtin.module"() <{sym_name = "jit_fn"}> ({
  "func.func"() <{function_type = (tensor<4xf32>) -> tensor<4xf32>, sym_name = "main", sym_visibility = "public"}> ({
  ^bb0(%x: tensor<4xf32>):
    %c0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %c3 = "stablehlo.constant"() <{value = dense<3> : tensor<i32>}> : () -> tensor<i32>
    %w:2 = "stablehlo.while"(%c0, %x) ({
    ^bb0(%i: tensor<i32>, %s: tensor<4xf32>):
      %p = "stablehlo.compare"(%i, %c3) <{comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%p) : (tensor<i1>) -> ()
    }, {
    ^bb0(%i: tensor<i32>, %s: tensor<4xf32>):
      %n = "stablehlo.add"(%s, %t) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      %t = "stablehlo.multiply"(%s, %s) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      %one = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
      %j = "stablehlo.add"(%i, %one) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%j, %n) : (tensor<i32>, tensor<4xf32>) -> ()
    }) : (tensor<i32>, tensor<4xf32>) -> (tensor<i32>, tensor<4xf32>)
    "func.return"(%w#1) : (tensor<4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
