// mixir-stablehlo-flat v1
// Element-wise ops become one linalg.generic each; a broadcast_in_dim
// operand is read through the generic's indexing map.
//
// RUN: mixir-import-stablehlo %s --no-raise --no-fold -o - | FileCheck %s
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s --check-prefix=FOLD
//
// Folded, the iota and the converted constant are constants:
// FOLD-LABEL: func.func @convert_iota
// FOLD-DAG: arith.constant dense<{{\[}}[0, 1, 2], [0, 1, 2]]> : tensor<2x3xi32>
// FOLD-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf64>

// CHECK-LABEL: func.func @float_ops
// CHECK-DAG: arith.addf
// CHECK-DAG: arith.subf
// CHECK-DAG: arith.mulf
// CHECK-DAG: arith.divf
// CHECK-DAG: arith.negf
// CHECK-DAG: math.exp
// CHECK-DAG: math.log
// CHECK-DAG: math.tanh
// CHECK-DAG: math.sqrt
// CHECK-DAG: math.rsqrt
// CHECK-DAG: arith.maximumf
// CHECK-DAG: arith.minimumf
// CHECK-DAG: math.absf
// CHECK-DAG: math.powf
// CHECK: return

// CHECK-LABEL: func.func @logistic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf

// A scalar broadcast is folded into the generic: the generic reads the
// rank-0 operand reshaped to 1x1 with a constant map.
// CHECK-LABEL: func.func @broadcast_operand
// CHECK: %[[E:.*]] = tensor.expand_shape %{{.*}} output_shape [1, 1]
// CHECK: linalg.generic {indexing_maps = [#[[ID:.*]], #[[BC:.*]], #[[ID]]]{{.*}} ins(%arg0, %[[E]] : tensor<2x3xf32>, tensor<1x1xf32>)
// CHECK: arith.addf
// CHECK-NOT: linalg.generic

// CHECK-LABEL: func.func @compare_select
// CHECK: arith.cmpf olt
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi ult
// CHECK: arith.cmpf une
// CHECK: arith.select

// CHECK-LABEL: func.func @logic
// CHECK: arith.andi
// CHECK: arith.ori
// CHECK: arith.xori
// CHECK: arith.constant true
// CHECK: arith.xori
// Booleans add (and take maxima) as `or`, multiply as `and`.
// CHECK: arith.ori
// CHECK: arith.andi

// CHECK-LABEL: func.func @convert_iota
// CHECK: arith.constant dense<{{\[}}1, 2, 3]> : tensor<3xi32>
// CHECK: arith.sitofp {{.*}} : i32 to f64
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: arith.fptosi {{.*}} : f32 to i64
// CHECK: linalg.index 1
// CHECK: arith.index_cast
// CHECK: arith.trunci {{.*}} : i64 to i32
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>), sym_name = "float_ops"}> ({
  ^bb0(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>):
    %0 = "stablehlo.add"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %1 = "stablehlo.subtract"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %2 = "stablehlo.multiply"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %3 = "stablehlo.divide"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %4 = "stablehlo.negate"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %5 = "stablehlo.exponential"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %6 = "stablehlo.log"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %7 = "stablehlo.tanh"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %8 = "stablehlo.sqrt"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %9 = "stablehlo.rsqrt"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %10 = "stablehlo.maximum"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %11 = "stablehlo.minimum"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %12 = "stablehlo.abs"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %13 = "stablehlo.power"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13) : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<4xbf16>) -> tensor<4xbf16>, sym_name = "logistic"}> ({
  ^bb0(%a: tensor<4xbf16>):
    %0 = "stablehlo.logistic"(%a) : (tensor<4xbf16>) -> tensor<4xbf16>
    "func.return"(%0) : (tensor<4xbf16>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>, sym_name = "broadcast_operand"}> ({
  ^bb0(%a: tensor<2x3xf32>, %s: tensor<f32>):
    %b = "stablehlo.broadcast_in_dim"(%s) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<2x3xf32>
    %0 = "stablehlo.add"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%0) : (tensor<2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<3xf32>, tensor<3xf32>, tensor<3xi32>, tensor<3xi32>) -> (tensor<3xf32>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>), sym_name = "compare_select"}> ({
  ^bb0(%a: tensor<3xf32>, %b: tensor<3xf32>, %i: tensor<3xi32>, %j: tensor<3xi32>):
    %lt = "stablehlo.compare"(%a, %b) <{comparison_direction = "LT", compare_type = "FLOAT"}> : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
    %ge = "stablehlo.compare"(%i, %j) <{comparison_direction = "GE", compare_type = "SIGNED"}> : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    %ult = "stablehlo.compare"(%i, %j) <{comparison_direction = "LT", compare_type = "UNSIGNED"}> : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    %ne = "stablehlo.compare"(%a, %b) <{comparison_direction = "NE"}> : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
    %s = "stablehlo.select"(%lt, %a, %b) : (tensor<3xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    "func.return"(%s, %ge, %ult, %ne) : (tensor<3xf32>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<3xi1>, tensor<3xi1>) -> (tensor<3xi1>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>), sym_name = "logic"}> ({
  ^bb0(%a: tensor<3xi1>, %b: tensor<3xi1>):
    %0 = "stablehlo.and"(%a, %b) : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
    %1 = "stablehlo.or"(%0, %b) : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
    %2 = "stablehlo.xor"(%1, %a) : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
    %3 = "stablehlo.not"(%2) : (tensor<3xi1>) -> tensor<3xi1>
    %4 = "stablehlo.add"(%a, %b) : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
    %5 = "stablehlo.multiply"(%a, %b) : (tensor<3xi1>, tensor<3xi1>) -> tensor<3xi1>
    "func.return"(%2, %3, %4, %5) : (tensor<3xi1>, tensor<3xi1>, tensor<3xi1>, tensor<3xi1>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<3xf32>, tensor<3xf16>) -> (tensor<3xf64>, tensor<3xbf16>, tensor<3xf32>, tensor<3xi64>, tensor<2x3xi32>), sym_name = "convert_iota"}> ({
  ^bb0(%a: tensor<3xf32>, %h: tensor<3xf16>):
    %c = "stablehlo.constant"() <{value = dense<[1, 2, 3]> : tensor<3xi32>}> : () -> tensor<3xi32>
    %0 = "stablehlo.convert"(%c) : (tensor<3xi32>) -> tensor<3xf64>
    %1 = "stablehlo.convert"(%a) : (tensor<3xf32>) -> tensor<3xbf16>
    %2 = "stablehlo.convert"(%h) : (tensor<3xf16>) -> tensor<3xf32>
    %3 = "stablehlo.convert"(%a) : (tensor<3xf32>) -> tensor<3xi64>
    %4 = "stablehlo.iota"() <{iota_dimension = 1 : i64}> : () -> tensor<2x3xi32>
    "func.return"(%0, %1, %2, %3, %4) : (tensor<3xf64>, tensor<3xbf16>, tensor<3xf32>, tensor<3xi64>, tensor<2x3xi32>) -> ()
  }) : () -> ()
}) : () -> ()
