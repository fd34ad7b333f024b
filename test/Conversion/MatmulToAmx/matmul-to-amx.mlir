// RUN: mixir-opt %s --split-input-file --mix-matmul-to-amx | FileCheck %s

// A bf16 matmul into an f32 buffer in whole AMX tiles: B packed in pairs of
// rows ([K/2, 2N]: rows 2r and 2r + 1 interleaved by one shuffle per 16
// columns), then per 16 x 16 block of C one tile accumulating K / 32 tile
// products, stored back; the packed copy is freed.
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    %[[A:[a-z0-9]+]]: memref<32x64xbf16>, %[[B:[a-z0-9]+]]: memref<64x48xbf16>, %[[C:[a-z0-9]+]]: memref<32x48xf32>)
// CHECK:         %[[P:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x96xbf16>
// Packing: P[r, 2n ..] interleaves B[2r, n ..] and B[2r + 1, n ..].
// CHECK:         scf.for %[[R:.*]] = %{{.*}} to %c32 step %c1
// CHECK:           %[[K0:.*]] = arith.muli %[[R]], %c2
// CHECK:           %[[K1:.*]] = arith.addi %[[K0]], %c1
// CHECK:           scf.for %[[N:.*]] = %{{.*}} to %c48 step %c16
// CHECK:             %[[LO:.*]] = vector.transfer_read %[[B]][%[[K0]], %[[N]]]
// CHECK:             %[[HI:.*]] = vector.transfer_read %[[B]][%[[K1]], %[[N]]]
// CHECK:             %[[BOTH:.*]] = vector.shuffle %[[LO]], %[[HI]] [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31]
// CHECK:             %[[N2:.*]] = arith.muli %[[N]], %c2
// CHECK:             vector.transfer_write %[[BOTH]], %[[P]][%[[R]], %[[N2]]]
// Tiles: C[m, n] accumulates A[m, k] times P[k / 2, 2n] for k = 0, 32.
// CHECK:         scf.for %[[M:.*]] = %{{.*}} to %{{.*}} step %c16
// CHECK:           scf.for %[[NN:.*]] = %{{.*}} to %{{.*}} step %c16
// CHECK:             %[[ACC:.*]] = amx.tile_load %[[C]][%[[M]], %[[NN]]] : memref<32x48xf32> into !amx.tile<16x16xf32>
// CHECK:             %[[NP:.*]] = arith.muli %[[NN]], %c2
// CHECK:             %[[A0:.*]] = amx.tile_load %[[A]][%[[M]], %c0{{.*}}] : memref<32x64xbf16> into !amx.tile<16x32xbf16>
// CHECK:             %[[B0:.*]] = amx.tile_load %[[P]][%c0{{.*}}, %[[NP]]] : memref<32x96xbf16> into !amx.tile<16x32xbf16>
// CHECK:             %[[M0:.*]] = amx.tile_mulf %[[A0]], %[[B0]], %[[ACC]]
// CHECK:             %[[C32:.*]] = arith.constant 32 : index
// CHECK:             %[[A1:.*]] = amx.tile_load %[[A]][%[[M]], %[[C32]]]
// CHECK:             %[[C16:.*]] = arith.constant 16 : index
// CHECK:             %[[B1:.*]] = amx.tile_load %[[P]][%[[C16]], %[[NP]]]
// CHECK:             %[[M1:.*]] = amx.tile_mulf %[[A1]], %[[B1]], %[[M0]]
// CHECK-NOT:         amx.tile_mulf
// CHECK:             amx.tile_store %[[C]][%[[M]], %[[NN]]], %[[M1]]
// CHECK:         memref.dealloc %[[P]]
// CHECK-NOT:     linalg.matmul
func.func @matmul(%a: memref<32x64xbf16>, %b: memref<64x48xbf16>, %c: memref<32x48xf32>) {
  linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x48xbf16>) outs(%c : memref<32x48xf32>)
  return
}

// -----

// Strided views (tiles of larger buffers) are read through their strides.
// CHECK-LABEL: func.func @views(
// CHECK:         amx.tile_mulf
// CHECK-NOT:     linalg.matmul
func.func @views(%a: memref<16x64xbf16, strided<[128, 1], offset: ?>>, %b: memref<32x16xbf16, strided<[64, 1], offset: ?>>, %c: memref<16x16xf32, strided<[32, 1], offset: ?>>) {
  %a2 = memref.subview %a[0, 0] [16, 32] [1, 1] : memref<16x64xbf16, strided<[128, 1], offset: ?>> to memref<16x32xbf16, strided<[128, 1], offset: ?>>
  linalg.matmul ins(%a2, %b : memref<16x32xbf16, strided<[128, 1], offset: ?>>, memref<32x16xbf16, strided<[64, 1], offset: ?>>) outs(%c : memref<16x16xf32, strided<[32, 1], offset: ?>>)
  return
}

// -----

// What the tiles do not cover is left as it is: a reduction that is not a
// multiple of 32, columns that are not a multiple of 16, f32 operands,
// tensors, rows whose elements are not adjacent (a transposed view).
// CHECK-LABEL: func.func @left(
// CHECK-NOT:     amx.
// CHECK-COUNT-5: linalg.matmul
// CHECK-NOT:     amx.
func.func @left(%a: memref<16x48xbf16>, %b: memref<48x16xbf16>, %c: memref<16x16xf32>,
                %b2: memref<32x60xbf16>, %c2: memref<16x60xf32>, %a3: memref<16x32xbf16>,
                %f: memref<16x32xf32>, %g: memref<32x16xf32>, %u2: memref<32x16xbf16>,
                %t: tensor<16x32xbf16>, %u: tensor<32x16xbf16>, %v: tensor<16x16xf32>,
                %w: memref<16x32xbf16, strided<[1, 16]>>) -> tensor<16x16xf32> {
  linalg.matmul ins(%a, %b : memref<16x48xbf16>, memref<48x16xbf16>) outs(%c : memref<16x16xf32>)
  linalg.matmul ins(%a3, %b2 : memref<16x32xbf16>, memref<32x60xbf16>) outs(%c2 : memref<16x60xf32>)
  linalg.matmul ins(%f, %g : memref<16x32xf32>, memref<32x16xf32>) outs(%c : memref<16x16xf32>)
  linalg.matmul ins(%w, %u2 : memref<16x32xbf16, strided<[1, 16]>>, memref<32x16xbf16>) outs(%c : memref<16x16xf32>)
  %r = linalg.matmul ins(%t, %u : tensor<16x32xbf16>, tensor<32x16xbf16>) outs(%v : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}
