// mixir-stablehlo-flat v1
// Control flow. stablehlo.while becomes scf.while: the condition region the `before`
// region (ending in scf.condition on the extracted i1), the body the `after`
// region, whose new values are copied into the loop arguments
// (destination-passing, for one-shot bufferization).
//
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s
//
// CHECK-LABEL: func.func @main
// CHECK: %[[R:.*]]:2 = scf.while (%[[I:.*]] = %{{.*}}, %[[A:.*]] = %arg0) : (tensor<i32>, tensor<4xf32>) -> (tensor<i32>, tensor<4xf32>) {
// CHECK: arith.cmpi slt
// CHECK: %[[P:.*]] = tensor.extract %{{.*}}[] : tensor<i1>
// CHECK: scf.condition(%[[P]]) %[[I]], %[[A]] : tensor<i32>, tensor<4xf32>
// CHECK: } do {
// CHECK: ^bb0(%[[I2:.*]]: tensor<i32>, %[[A2:.*]]: tensor<4xf32>):
// CHECK: arith.addi
// CHECK: arith.mulf
// CHECK: %[[C1:.*]] = linalg.copy ins(%{{.*}} : tensor<i32>) outs(%[[I2]] : tensor<i32>)
// CHECK: %[[C2:.*]] = linalg.copy ins(%{{.*}} : tensor<4xf32>) outs(%[[A2]] : tensor<4xf32>)
// CHECK: scf.yield %[[C1]], %[[C2]]
// CHECK: return %[[R]]#1

// A scan output written with dynamic_update_slice into its loop argument is
// yielded as it is (no copy of the whole tensor per step).
// CHECK-LABEL: func.func @scan_output
// CHECK: scf.while
// CHECK: } do {
// CHECK: ^bb0(%{{.*}}: tensor<i32>, %[[YS:.*]]: tensor<3x4xf32>):
// CHECK: %[[U:.*]] = tensor.insert_slice %{{.*}} into %[[YS]]
// CHECK-NOT: linalg.copy {{.*}} outs(%[[YS]]
// CHECK: scf.yield %{{.*}}, %[[U]] : tensor<i32>, tensor<3x4xf32>

// stablehlo.if becomes scf.if; stablehlo.case (lax.cond, lax.switch)
// scf.index_switch with the last branch as the default (an index out of
// range runs it).
// CHECK-LABEL: func.func @branches
// CHECK: %[[P:.*]] = tensor.extract %arg1[] : tensor<i1>
// CHECK: scf.if %[[P]] -> (tensor<4xf32>) {
// CHECK: arith.addf
// CHECK: } else {
// CHECK: scf.yield %arg0
// CHECK: %[[I:.*]] = tensor.extract %arg2[] : tensor<i32>
// CHECK: %[[IX:.*]] = arith.index_cast %[[I]] : i32 to index
// CHECK: scf.index_switch %[[IX]] -> tensor<4xf32>
// CHECK: case 0 {
// CHECK: arith.mulf
// CHECK: default {
// CHECK: arith.negf
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<4xf32>) -> tensor<4xf32>, sym_name = "main"}> ({
  ^bb0(%x: tensor<4xf32>):
    %c0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %c1 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %c3 = "stablehlo.constant"() <{value = dense<3> : tensor<i32>}> : () -> tensor<i32>
    %r:2 = "stablehlo.while"(%c0, %x) ({
    ^bb0(%i: tensor<i32>, %a: tensor<4xf32>):
      %p = "stablehlo.compare"(%i, %c3) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%p) : (tensor<i1>) -> ()
    }, {
    ^bb0(%i: tensor<i32>, %a: tensor<4xf32>):
      %n = "stablehlo.add"(%i, %c1) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      %b = "stablehlo.multiply"(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      "stablehlo.return"(%n, %b) : (tensor<i32>, tensor<4xf32>) -> ()
    }) : (tensor<i32>, tensor<4xf32>) -> (tensor<i32>, tensor<4xf32>)
    "func.return"(%r#1) : (tensor<4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>, sym_name = "scan_output"}> ({
  ^bb0(%y: tensor<1x4xf32>, %ys0: tensor<3x4xf32>):
    %c0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %c1 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %c3 = "stablehlo.constant"() <{value = dense<3> : tensor<i32>}> : () -> tensor<i32>
    %r:2 = "stablehlo.while"(%c0, %ys0) ({
    ^bb0(%i: tensor<i32>, %ys: tensor<3x4xf32>):
      %p = "stablehlo.compare"(%i, %c3) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%p) : (tensor<i1>) -> ()
    }, {
    ^bb0(%i: tensor<i32>, %ys: tensor<3x4xf32>):
      %n = "stablehlo.add"(%i, %c1) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      %u = "stablehlo.dynamic_update_slice"(%ys, %y, %i, %c0) : (tensor<3x4xf32>, tensor<1x4xf32>, tensor<i32>, tensor<i32>) -> tensor<3x4xf32>
      "stablehlo.return"(%n, %u) : (tensor<i32>, tensor<3x4xf32>) -> ()
    }) : (tensor<i32>, tensor<3x4xf32>) -> (tensor<i32>, tensor<3x4xf32>)
    "func.return"(%r#1) : (tensor<3x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<4xf32>, tensor<i1>, tensor<i32>) -> (tensor<4xf32>, tensor<4xf32>), sym_name = "branches"}> ({
  ^bb0(%x: tensor<4xf32>, %p: tensor<i1>, %i: tensor<i32>):
    %0 = "stablehlo.if"(%p) ({
      %a = "stablehlo.add"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      "stablehlo.return"(%a) : (tensor<4xf32>) -> ()
    }, {
      "stablehlo.return"(%x) : (tensor<4xf32>) -> ()
    }) : (tensor<i1>) -> tensor<4xf32>
    %1 = "stablehlo.case"(%i) ({
      %m = "stablehlo.multiply"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      "stablehlo.return"(%m) : (tensor<4xf32>) -> ()
    }, {
      %n = "stablehlo.negate"(%x) : (tensor<4xf32>) -> tensor<4xf32>
      "stablehlo.return"(%n) : (tensor<4xf32>) -> ()
    }) : (tensor<i32>) -> tensor<4xf32>
    "func.return"(%0, %1) : (tensor<4xf32>, tensor<4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
