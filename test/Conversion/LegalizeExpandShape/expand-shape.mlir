// RUN: mixir-opt %s --mix-legalize-expand-shape | FileCheck %s

// [B*T, D] -> [B, T, D] with B and T dynamic (which MLIR 22's
// expand-strided-metadata crashes on) becomes a row-major cast, after a
// run-time check that B * T is the source's size; on a mismatch the error
// is reported and B is 0, so the view is empty.

// CHECK-LABEL: func.func @split
// CHECK: %[[BT:.*]] = arith.muli %{{.*}}, %arg2 : index
// CHECK: %[[N:.*]] = memref.dim %arg0, %{{.*}} : memref<?x8xf32>
// CHECK: scf.if
// CHECK: func.call @mixrtShapeError
// CHECK: %[[OK:.*]] = arith.cmpi eq, %[[BT]], %[[N]]
// CHECK: %[[B:.*]] = arith.select %[[OK]], %arg1, %{{.*}} : index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %arg2 : index
// CHECK-NOT: arith.muli
// CHECK: memref.reinterpret_cast %arg0 to offset: [0], sizes: [%[[B]], %arg2, 8], strides: [%[[S0]], 8, 1]
// CHECK-NOT: memref.expand_shape
func.func @split(%x: memref<?x8xf32>, %b: index, %t: index) -> memref<?x?x8xf32> {
  %y = memref.expand_shape %x [[0, 1], [2]] output_shape [%b, %t, 8]
      : memref<?x8xf32> into memref<?x?x8xf32>
  return %y : memref<?x?x8xf32>
}

// One dynamic size per group is left to expand-strided-metadata.
// CHECK-LABEL: func.func @one_dynamic
// CHECK: memref.expand_shape
func.func @one_dynamic(%x: memref<?x8xf32>, %b: index) -> memref<?x4x8xf32> {
  %y = memref.expand_shape %x [[0, 1], [2]] output_shape [%b, 4, 8]
      : memref<?x8xf32> into memref<?x4x8xf32>
  return %y : memref<?x4x8xf32>
}
