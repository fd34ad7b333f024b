// mix-fuse-elementwise-into-extracts: an element-wise linalg.generic read
// only by tensor.extract (and tensor.dim) is evaluated at each extract's
// indices, its inputs extracted through their indexing maps (A_log[h] at
// the h of the extract), and the generic disappears.
// RUN: mixir-opt %s --mix-fuse-elementwise-into-extracts --split-input-file | FileCheck %s

#bth = affine_map<(b, t, h) -> (b, t, h)>
#h = affine_map<(b, t, h) -> (h)>
// CHECK-LABEL: func.func @gate_prologue
// CHECK-SAME: (%[[A:.*]]: tensor<?x?x4xbf16>, %[[ALOG:.*]]: tensor<4xf32>, %{{.*}}: index, %[[B:.*]]: index, %[[H:.*]]: index)
// CHECK-NOT: linalg.generic
// CHECK: %[[D:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x?x4xf32>
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %[[D]]
// CHECK: %[[X:.*]] = tensor.extract %[[A]][%[[B]], %[[T]], %[[H]]] : tensor<?x?x4xbf16>
// CHECK: %[[R:.*]] = tensor.extract %[[ALOG]][%[[H]]] : tensor<4xf32>
// CHECK: %[[XF:.*]] = arith.extf %[[X]]
// CHECK: %[[E:.*]] = math.exp %[[R]]
// CHECK: arith.mulf %[[XF]], %[[E]]
func.func @gate_prologue(%a: tensor<?x?x4xbf16>, %alog: tensor<4xf32>,
                         %n: index, %b: index, %h: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %bs = tensor.dim %a, %c0 : tensor<?x?x4xbf16>
  %ts = tensor.dim %a, %c1 : tensor<?x?x4xbf16>
  %init = tensor.empty(%bs, %ts) : tensor<?x?x4xf32>
  %g = linalg.generic {indexing_maps = [#bth, #h, #bth],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %alog : tensor<?x?x4xbf16>, tensor<4xf32>)
      outs(%init : tensor<?x?x4xf32>) {
  ^bb0(%x: bf16, %r: f32, %out: f32):
    %xf = arith.extf %x : bf16 to f32
    %e = math.exp %r : f32
    %y = arith.mulf %xf, %e : f32
    linalg.yield %y : f32
  } -> tensor<?x?x4xf32>
  %len = tensor.dim %g, %c1 : tensor<?x?x4xf32>
  %sum = scf.for %t = %c0 to %len step %c1 iter_args(%acc = %zero) -> f32 {
    %v = tensor.extract %g[%b, %t, %h] : tensor<?x?x4xf32>
    %s = arith.addf %acc, %v : f32
    scf.yield %s : f32
  }
  return %sum : f32
}

// -----

// A generic whose result is also returned is left alone (its elements
// would be computed twice).
#m = affine_map<(i) -> (i)>
// CHECK-LABEL: func.func @also_returned
// CHECK: %[[G:.*]] = linalg.generic
// CHECK: tensor.extract %[[G]]
func.func @also_returned(%a: tensor<8xf32>, %i: index) -> (f32, tensor<8xf32>) {
  %init = tensor.empty() : tensor<8xf32>
  %g = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]}
      ins(%a : tensor<8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%x: f32, %out: f32):
    %y = math.exp %x : f32
    linalg.yield %y : f32
  } -> tensor<8xf32>
  %v = tensor.extract %g[%i] : tensor<8xf32>
  return %v, %g : f32, tensor<8xf32>
}

// -----

// A reduction is not element-wise: left alone.
#in = affine_map<(i, j) -> (i, j)>
#out = affine_map<(i, j) -> (i)>
// CHECK-LABEL: func.func @reduction
// CHECK: linalg.generic
func.func @reduction(%a: tensor<4x8xf32>, %i: index) -> f32 {
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<4xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#in, #out],
                       iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%fill : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %y = arith.addf %x, %acc : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  %v = tensor.extract %g[%i] : tensor<4xf32>
  return %v : f32
}
