// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=32 | FileCheck %s

// The delta rule's WY/UT transform per 32-token chunk: A = strict_lower(
// diag(beta) (K K^T * Gamma)); T = (I + A)^-1 by 16 x 16 diagonal blocks
// (forward substitution) merged with matmuls; W = T diag(beta)(K * exp(Gc)),
// U = T diag(beta) V as matmuls; V' = U - W S; then the linear-attention
// chunk step with V'.
// CHECK-LABEL: func.func @gated_deltanet
// Keys normalised (qk_l2norm) while loading the tile.
// CHECK: math.rsqrt
// beta doubled for negative eigenvalues, 0 on padded rows.
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.select
// Strictly lower scores.
// CHECK: arith.cmpi ult
// Diagonal blocks of (I + A)^-1: forward substitution on 16 x 16 blocks.
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [16, 16] [1, 1] : tensor<32x32xf32> to tensor<16x16xf32>
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     tensor.extract %{{.*}} : tensor<16x16xf32>
// CHECK:     arith.negf
// CHECK:     vector.fma
// The block below the diagonal: -T_11 A_10 T_00.
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: arith.negf
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[16, 0] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// W and U, then V' = U - W S.
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xf32>, tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK: arith.subf
// CHECK-NOT: mix.delta_rule
func.func @gated_deltanet(%q: tensor<1x?x1x16xf32>, %k: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %beta: tensor<1x?x1xf32>, %g: tensor<1x?x1xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm allow_neg_eigval : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}
