// RUN: mixir-opt %s --split-input-file --mix-decompose-aggregates | FileCheck %s

// linalg.softmax becomes max, exp(x - max), sum and divide generics.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT:   linalg.softmax
// CHECK:       linalg.generic
// CHECK:         arith.maxnumf
// CHECK:       linalg.generic
// CHECK:         arith.subf
// CHECK:         math.exp
// CHECK:       linalg.generic
// CHECK:         arith.addf
// CHECK:       linalg.generic
// CHECK:         arith.divf
func.func @softmax(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %init = tensor.empty() : tensor<4x16xf32>
  %0 = linalg.softmax dimension(1) ins(%x : tensor<4x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// A dense i1 constant is rebuilt from an i8 one (bit-packed i1 storage does
// not survive the lowering to LLVM globals).
// CHECK-LABEL: func.func @mask
// CHECK:       %[[BYTES:.*]] = arith.constant dense<[1, 0, 1, 1]> : tensor<4xi8>
// CHECK:       linalg.generic {{.*}} ins(%[[BYTES]] : tensor<4xi8>)
// CHECK:         arith.trunci %{{.*}} : i8 to i1
// CHECK-NOT:   dense<[true
func.func @mask() -> tensor<4xi1> {
  %m = arith.constant dense<[true, false, true, true]> : tensor<4xi1>
  return %m : tensor<4xi1>
}
