// RUN: mixir-opt %s --convert-mix-to-chunked --split-input-file | FileCheck %s

// mix.recurrence with R = 2 low-rank terms per 16-token chunk: the rows of
// a and b are loaded token-major (row i R + r is a[t0 + i, r]), the
// cumulative gate is repeated R times for them, and the strictly lower
// triangular system (I - L_ab) U = A~ S + L_ak V is solved with
// T = (I - L_ab)^-1 (16-row blocks: forward substitution on the diagonal,
// matmuls below), W = T A~, U = T (L_ak V) + W S. The outputs and the state
// then take (B, U) as a second key/value pair next to (K, V).
// CHECK-LABEL: func.func @scalar_gate_rank2
// A dynamic length branches to the recurrent form below one chunk.
// CHECK: arith.cmpi uge, %{{.*}}, %c16{{(_[0-9]+)?}} :
// CHECK: scf.if %{{.*}} -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
// The cumulative gate through each token and before it (its own sum).
// CHECK: scf.for {{.*}} -> (tensor<16xf32>, f32, tensor<16xf32>)
// exp(Gc), exp(Gc_last - Gc), exp(Gc before the token).
// CHECK: math.exp
// CHECK: math.exp
// CHECK: math.exp
// a and b: 32 rows, token row / 2, term row % 2; 2 valid rows per token.
// CHECK: %[[VALIDA:.*]] = arith.muli %{{.*}}, %c2{{(_[0-9]+)?}} :
// CHECK: %[[A:.*]] = scf.for %{{.*}} = %{{.*}} to %c32{{(_[0-9]+)?}} {{.*}} -> (tensor<32x16xf32>)
// CHECK:   arith.cmpi ult, %{{.*}}, %[[VALIDA]]
// CHECK:   arith.divui %{{.*}}, %c2{{(_[0-9]+)?}} :
// CHECK:   arith.remui %{{.*}}, %c2{{(_[0-9]+)?}} :
// CHECK: %[[B:.*]] = scf.for %{{.*}} = %{{.*}} to %c32{{(_[0-9]+)?}} {{.*}} -> (tensor<32x16xf32>)
// Gates repeated per term: [16] -> [16, 2] -> [32].
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<16x2xf32> into tensor<32xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<16x2xf32> into tensor<32xf32>
// L_ab: A B^T masked to earlier tokens (row / 2 > column / 2), decayed by
// exp(Gc_{i-1} - Gc_j).
// CHECK: %[[BT:.*]] = linalg.transpose ins(%[[B]] : tensor<32x16xf32>) outs(%{{.*}} : tensor<16x32xf32>)
// CHECK: %[[AB:.*]] = linalg.matmul ins(%[[A]], %[[BT]] : tensor<32x16xf32>, tensor<16x32xf32>) outs(%{{.*}} : tensor<32x32xf32>)
// CHECK: %[[LAB:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<32xf32>, tensor<32xf32>) outs(%[[AB]] : tensor<32x32xf32>)
// CHECK:   %[[I:.*]] = linalg.index 0
// CHECK:   %[[J:.*]] = linalg.index 1
// CHECK:   %[[TI:.*]] = arith.divui %[[I]], %c2{{(_[0-9]+)?}} :
// CHECK:   %[[TJ:.*]] = arith.divui %[[J]], %c2{{(_[0-9]+)?}} :
// CHECK:   arith.cmpi ult, %[[TJ]], %[[TI]]
// CHECK:   math.exp
// CHECK:   arith.select
// L_ak: A K^T [32, 16], rows in tokens of 2 rows, columns one per token.
// CHECK: %[[AK:.*]] = linalg.matmul ins(%[[A]], %{{.*}} : tensor<32x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK: %[[LAK:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<32xf32>, tensor<16xf32>) outs(%[[AK]] : tensor<32x16xf32>)
// CHECK:   arith.divui
// CHECK-NOT: arith.divui
// CHECK:   arith.cmpi ult
// (I - L_ab)^-1: -L_ab, then forward substitution on the two diagonal
// 16 x 16 blocks and -T_11 A_10 T_00 below them.
// CHECK: %[[NEG:.*]] = linalg.generic {{.*}} outs(%[[LAB]] : tensor<32x32xf32>)
// CHECK:   arith.negf
// CHECK: tensor.extract_slice %[[NEG]][0, 0] [16, 16] [1, 1] : tensor<32x32xf32> to tensor<16x16xf32>
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     vector.fma
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[16, 16] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>)
// CHECK: %[[T:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[16, 0] [16, 16] [1, 1] : tensor<16x16xf32> into tensor<32x32xf32>
// W = T (A * exp(Gc_{i-1})); U = T (L_ak V) + W S.
// CHECK: %[[W:.*]] = linalg.matmul ins(%[[T]], %{{.*}} : tensor<32x32xf32>, tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK: %[[LAKV:.*]] = linalg.matmul ins(%[[LAK]], %{{.*}} : tensor<32x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK: %[[UBAR:.*]] = linalg.matmul ins(%[[T]], %[[LAKV]] : tensor<32x32xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK: %[[U:.*]] = linalg.matmul ins(%[[W]], %{{.*}} : tensor<32x16xf32>, tensor<16x8xf32>) outs(%[[UBAR]] : tensor<32x8xf32>)
// Outputs: (Q * exp(Gc)) S + M_qk V + M_qb U, M_qb masked to j / 2 <= i.
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: %[[OK:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: %[[QB:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x32xf32>) outs(%{{.*}} : tensor<16x32xf32>)
// CHECK: %[[MQB:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16xf32>, tensor<32xf32>) outs(%[[QB]] : tensor<16x32xf32>)
// CHECK:   %[[CI:.*]] = linalg.index 0
// CHECK:   %[[CJ:.*]] = linalg.index 1
// CHECK:   %[[TJ2:.*]] = arith.divui %[[CJ]], %c2{{(_[0-9]+)?}} :
// CHECK:   arith.cmpi ule, %[[TJ2]], %[[CI]]
// CHECK: linalg.matmul ins(%[[MQB]], %[[U]] : tensor<16x32xf32>, tensor<32x8xf32>) outs(%[[OK]] : tensor<16x8xf32>)
// State: (K * exp(Gc_last - Gc))^T V + (B * exp(Gc_last - Gc))^T U.
// CHECK: %[[UPD:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %[[U]] : tensor<32x16xf32>, tensor<32x8xf32>) outs(%[[UPD]] : tensor<16x8xf32>)
// CHECK: } else {
// CHECK:   scf.forall
// CHECK-NOT: mix.recurrence
func.func @scalar_gate_rank2(%q: tensor<1x?x1x16xf32>, %k: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a: tensor<1x?x1x2x16xf32>, %b: tensor<1x?x1x2x16xf32>, %g: tensor<1x?x1xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate scalar(%g) {chunk_size = 16 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x2x16xf32>, tensor<1x?x1x2x16xf32>, tensor<1x?x1xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// A signed per-channel decay: log(max(|d|, 1e-30)) and the sign, summed
// (multiplied) through each token and before it; the factors carry the
// signs (s exp(L)), and score tiles are multiplied by their rows' signs
// before the per-channel products (16-token sub-chunks, exact diagonal
// blocks). R = 1 needs no token arithmetic.
// CHECK-LABEL: func.func @signed_vector_gate
// CHECK: scf.for {{.*}} -> (tensor<32x16xf32>, vector<16xf32>, tensor<32x16xf32>, vector<16xf32>, tensor<32x16xf32>, tensor<32x16xf32>)
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK:   math.log
// CHECK:   arith.cmpf olt
// CHECK:   arith.select
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK:   math.exp
// CHECK:   arith.mulf
// CHECK-NOT: arith.divui %{{.*}}, %c1{{(_[0-9]+)?}} :
// Signs onto the rows of A (before each token) and of B (through it).
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK:   arith.mulf
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK:   arith.mulf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK:   math.exp
// CHECK: arith.cmpi ult
// CHECK-NOT: mix.recurrence
func.func @signed_vector_gate(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a: tensor<1x?x1x1x16xf32>, %g: tensor<1x?x1x16xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate vector(%g) decay signed {chunk_size = 32 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x1x16xf32>, tensor<1x?x1x1x16xf32>, tensor<1x?x1x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// R = 0 is linear attention: no solve, one key/value pair. With the pass
// option and no chunk_size, mix.recurrence is chunked like the other ops.
// CHECK-LABEL: func.func @rank0
// CHECK: arith.ceildivui %{{.*}}, %c64
// CHECK-NOT: arith.negf
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<64x16xf32>, tensor<16x64xf32>) outs(%{{.*}} : tensor<64x64xf32>)
// CHECK-NOT: arith.negf
// CHECK: scf.forall
// CHECK-NOT: mix.recurrence
func.func @rank0(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.recurrence %q, %q, %v gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// Without chunk_size, the pass option is capped so that C * R <= 128: 32
// tokens for R = 4.
// CHECK-LABEL: func.func @capped
// CHECK: arith.ceildivui %{{.*}}, %c32
// CHECK-NOT: mix.recurrence
func.func @capped(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a: tensor<1x?x1x4x16xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x4x16xf32>, tensor<1x?x1x4x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}
