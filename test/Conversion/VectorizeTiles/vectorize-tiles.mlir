// RUN: mixir-opt %s --split-input-file --mix-vectorize-tiles --canonicalize | FileCheck %s
// The pass alone (the pipeline canonicalizes after it; the checks hold either way).
// RUN: mixir-opt %s --split-input-file --mix-vectorize-tiles | FileCheck %s

// A matmul becomes 8 x 32 register tiles updated by one outer product (8
// broadcast-FMAs on 32-wide rows of B) per reduction step.
// CHECK-LABEL: func.func @matmul
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c8
// CHECK:   scf.for %{{.*}} = %c0 to %c128 step %c32
// CHECK:     scf.for %{{.*}} = %c0 to %c128 step %c1
// CHECK-COUNT-8: vector.fma %{{.*}} : vector<32xf32>
// CHECK-NOT: linalg.matmul
func.func @matmul(%a: tensor<64x128xf32>, %b: tensor<128x128xf32>, %c: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x128xf32>) outs(%c : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
}

// -----

// Head dims that are not multiples of 32 get the widest power-of-two tile
// that divides them (60 -> 4 columns), so no tile needs a mask.
// CHECK-LABEL: func.func @odd_columns
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c8
// CHECK:   scf.for %{{.*}} = %c0 to %c60 step %c4
// CHECK-COUNT-8: vector.fma %{{.*}} : vector<4xf32>
// CHECK-NOT: vector.mask
func.func @odd_columns(%a: tensor<64x100xf32>, %b: tensor<100x60xf32>, %c: tensor<64x60xf32>) -> tensor<64x60xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<64x100xf32>, tensor<100x60xf32>) outs(%c : tensor<64x60xf32>) -> tensor<64x60xf32>
  return %0 : tensor<64x60xf32>
}

// -----

// Element-wise maps with exp are vectorised, the per-row exp is computed
// once per row (8 of them, not 8 x 32), and exp becomes a polynomial (no
// math.exp left to scalarise into libm calls).
// CHECK-LABEL: func.func @row_scale
// CHECK: vector.transfer_read {{.*}} : tensor<64xf32>, vector<8xf32>
// CHECK-NOT: math.exp
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK-NOT: math.exp
// CHECK: arith.mulf {{.*}} : vector<8x32xf32>
func.func @row_scale(%g: tensor<64xf32>, %q: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%g : tensor<64xf32>) outs(%q : tensor<64x128xf32>) {
  ^bb0(%gi: f32, %x: f32):
    %e = math.exp %gi : f32
    %m = arith.mulf %x, %e : f32
    linalg.yield %m : f32
  } -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
}

// -----

// Fills and copies are left to simple loops.
// CHECK-LABEL: func.func @fill_stays
// CHECK: linalg.fill
func.func @fill_stays(%t: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %z = arith.constant 0.0 : f32
  %0 = linalg.fill ins(%z : f32) outs(%t : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
}

// -----

// A contraction whose inputs are all contiguous along the reduction (the
// per-channel gated scores sum_k x_ik y_jk exp(g_ik - g_jk)) is vectorised
// along k: 32-wide rows of y for 8 outputs j, reduced, instead of strided
// gathers across rows.
// CHECK-LABEL: func.func @reduction_innermost
// CHECK: scf.for %{{.*}} = %c0 to %c16 step %c1
// CHECK:   scf.for %{{.*}} = %c0 to %c16 step %c8
// CHECK:     scf.for %{{.*}} = %c0 to %c128 step %c32
// CHECK:       vector.transfer_read {{.*}} : tensor<16x128xf32>, vector<8x32xf32>
// CHECK:       vector.reduction <add>, %{{.*}} : vector<32xf32> into f32
func.func @reduction_innermost(%x: tensor<16x128xf32>, %y: tensor<16x128xf32>, %g: tensor<16x128xf32>, %init: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %y, %g, %g : tensor<16x128xf32>, tensor<16x128xf32>, tensor<16x128xf32>, tensor<16x128xf32>) outs(%init : tensor<16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %gi: f32, %gj: f32, %acc: f32):
    %d = arith.subf %gi, %gj : f32
    %e = math.exp %d : f32
    %p = arith.mulf %a, %b : f32
    %t = arith.mulf %p, %e : f32
    %s = arith.addf %acc, %t : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>
  return %0 : tensor<16x16xf32>
}
