// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=32 --split-input-file | FileCheck %s
// As the CUDA pipeline asks: no branch, the chunked form at every length.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32 short-recurrent=false" --split-input-file | FileCheck %s --check-prefix=CUDA

// Scalar gate: chunks of 32 tokens, matmul-shaped linalg ops on static tiles,
// the in-chunk cumulative gate, exponents of differences, the state update.
// The dynamic length branches to the recurrent form below one chunk.
// CHECK-LABEL: func.func @scalar_gate
// CHECK: scf.if %{{.*}} -> (tensor<1x?x2x8xf32>, tensor<1x2x16x8xf32>)
// CHECK: %[[NCH:.*]] = arith.ceildivui %{{.*}}, %c32
// CHECK: scf.for %[[N:[a-z0-9]+]] = %{{[a-z0-9_]+}} to %[[NCH]] step
// CHECK:   arith.muli %[[N]], %c32
// CHECK:   %[[VALID:.*]] = arith.minui %c32
// CHECK:   scf.if %{{.*}} -> (vector<16xf32>)
// The in-chunk cumulative gate (each gate floored at -104, where exp is 0 in
// f32 anyway, so a gate of -1e4 does not swamp the sum), then exp(Gc) and
// exp(Gc_last - Gc) once per token.
// CHECK:   %[[FLOOR:.*]] = arith.constant -1.040000e+02 : f32
// CHECK:   arith.maximumf %{{.*}}, %[[FLOOR]] : f32
// CHECK:   tensor.insert %{{.*}} : tensor<32xf32>
// CHECK:   linalg.generic {{.*}}iterator_types = ["parallel"]} ins(%{{.*}} : tensor<32xf32>) outs(%{{.*}} : tensor<32xf32>)
// CHECK:     math.exp
// CHECK:   linalg.generic {{.*}}iterator_types = ["parallel"]} ins(%{{.*}} : tensor<32xf32>) outs(%{{.*}} : tensor<32xf32>)
// CHECK:     arith.subf
// CHECK:     math.exp
// Inter-chunk term (Q * exp(Gc)) S.
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// The intra-chunk product Q K^T as a plain matmul with K^T.
// CHECK:   %[[KT:.*]] = linalg.transpose ins(%{{.*}} : tensor<32x16xf32>) outs(%{{.*}} : tensor<16x32xf32>) permutation = [1, 0]
// CHECK:   %[[A:.*]] = linalg.matmul ins(%{{.*}}, %[[KT]] : tensor<32x16xf32>, tensor<16x32xf32>) outs(%{{.*}} : tensor<32x32xf32>)
// Causal mask and decay exp(Gc_i - Gc_j), Gc read through row and column maps.
// CHECK:   %[[AM:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<32xf32>, tensor<32xf32>) outs(%[[A]] : tensor<32x32xf32>)
// CHECK:     linalg.index 0
// CHECK:     linalg.index 1
// CHECK:     arith.cmpi ule
// CHECK:     arith.subf
// CHECK:     math.exp
// CHECK:     arith.select
// CHECK:   linalg.matmul ins(%[[AM]], %{{.*}} : tensor<32x32xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// Only the valid rows are stored.
// CHECK:   scf.for %{{.*}} = %{{[a-z0-9_]+}} to %[[VALID]] step
// CHECK:     vector.transfer_write
// State: (K * exp(G_last - Gc))^T V into its own tile, added to S * exp(G_last).
// CHECK:   %[[UPD:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK:   math.exp
// CHECK:   linalg.generic {{.*}} ins(%[[UPD]] : tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK:     arith.addf
// CHECK: } else {
// CHECK:   scf.forall
// CHECK-NOT: mix.linear_attention
func.func @scalar_gate(%q: tensor<1x?x2x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>, %g: tensor<1x?x2xf32>) -> tensor<1x?x2x8xf32> {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x2x16x8xf32>)
  return %o : tensor<1x?x2x8xf32>
}

// -----

// No gate: no exponentials at all.
// CHECK-LABEL: func.func @no_gate
// CHECK-NOT: math.exp
// CHECK: return
func.func @no_gate(%q: tensor<2x64x1x16xf32>, %k: tensor<2x64x1x16xf32>, %v: tensor<2x64x1x16xf32>) -> tensor<2x64x1x16xf32> {
  %o, %s = mix.linear_attention %q, %k, %v gate none : (tensor<2x64x1x16xf32>, tensor<2x64x1x16xf32>, tensor<2x64x1x16xf32>) -> (tensor<2x64x1x16xf32>, tensor<2x1x16x16xf32>)
  return %o : tensor<2x64x1x16xf32>
}

// -----

// The op's chunk_size attribute overrides the pass option.
// CHECK-LABEL: func.func @op_chunk_size
// CHECK: arith.ceildivui %{{.*}}, %c16
func.func @op_chunk_size(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate none {chunk_size = 16 : i64} : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// Per-channel gates: a [C, K] cumulative gate, 16-token sub-chunks; the
// diagonal blocks are contracted with exp(Gc_ik - Gc_jk) inside the sum
// (the else branch of their factored form, factor-blocks.mlir), the
// blocks below them through a per-block reference row R (two 16-wide blocks
// for C = 32: one diagonal pair and one 16 x 16 block below).
// CHECK-LABEL: func.func @vector_gate
// CHECK: scf.for {{.*}} -> (tensor<32x16xf32>, vector<16xf32>)
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK:   arith.subf
// CHECK:   math.exp
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[16, 0] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[16, 16] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// CHECK-NOT: mix.linear_attention
func.func @vector_gate(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %g: tensor<1x?x1x16xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate vector(%g) : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x16xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// chunk_size = 0 keeps the recurrent form for convert-mix-to-loops.
// CHECK-LABEL: func.func @recurrent_requested
// CHECK: mix.linear_attention
func.func @recurrent_requested(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate none {chunk_size = 0 : i64} : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// A dynamic length branches at run time: a sequence shorter than a chunk
// (decode) takes the recurrent form.
// CHECK-LABEL: func.func @dynamic_length_branch
// CHECK: %[[LONG:.*]] = arith.cmpi uge, %{{.*}}, %c32
// CHECK: scf.if %[[LONG]] -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
// CHECK:   linalg.matmul
// CHECK: } else {
// CHECK-NOT: linalg.matmul
// CHECK:   scf.forall
// CHECK:     scf.for
// CHECK:       vector.fma
// CUDA-LABEL: func.func @dynamic_length_branch
// CUDA-NOT: arith.cmpi uge, %{{.*}}, %c32
// CUDA-NOT: vector.fma
// CUDA: linalg.matmul
// CUDA-NOT: vector.fma
// CUDA: return
func.func @dynamic_length_branch(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate none : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}
