// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 --canonicalize | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-loops --canonicalize | FileCheck %s --check-prefix=PERROW

// Attention over a KV cache in the flash form: batch row b's keys are its
// kv_lens[b] cached ones (the key blocks end there), and its query rows sit
// at positions kv_lens[b] - T + row for the causal mask and the window.

// CHECK-LABEL: func.func @cached(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x2x16xf32>, %{{.*}}: tensor<?x?x2x8xf32>, %[[LENS:[a-z0-9]+]]: tensor<?xi32>)
// CHECK: %[[T:.*]] = tensor.dim %[[Q]], %c1
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[QB:[a-z0-9_]+]]) in
// CHECK: %[[L0:[a-z0-9_]+]] = tensor.extract %[[LENS]][%[[B]]]
// CHECK: %[[L:[a-z0-9_]+]] = arith.index_cast %[[L0]] : i32 to index
// CHECK: %[[SHIFT:[a-z0-9_]+]] = arith.subi %[[L]], %[[T]] : index
// CHECK: scf.if
// CHECK: %[[Q0:[a-z0-9_]+]] = arith.muli %[[QB]], %c16 : index
// CHECK: %[[P0:[a-z0-9_]+]] = arith.addi %[[SHIFT]], %[[Q0]] : index
// CHECK: %[[QVALID:[a-z0-9_]+]] = arith.minui %{{.*}}, %c16 : index
// Causal: keys up to the last query's position, at most kv_lens[b].
// CHECK: %[[PEND:[a-z0-9_]+]] = arith.addi %[[P0]], %[[QVALID]] : index
// CHECK: %[[KEND:[a-z0-9_]+]] = arith.minui %[[L]], %[[PEND]] : index
// CHECK: %[[KBHI:[a-z0-9_]+]] = arith.ceildivui %[[KEND]], %c16 : index
// The window starts at the first query's position - 31.
// CHECK: arith.addi %[[P0]], %c1 : index
// CHECK: scf.for %[[KB:[a-z0-9_]+]] = %{{.*}} to %[[KBHI]]
// CHECK: %[[K0:[a-z0-9_]+]] = arith.muli %[[KB]], %c16 : index
// CHECK: arith.subi %[[L]], %[[K0]] : index
// CHECK: vector.transfer_read %[[K]][%[[B]], %{{.*}}, %{{.*}}, %c0]

// The per-row form: row b's key loop runs to kv_lens[b] and query i's
// causal end is kv_lens[b] - T + i + 1.
// PERROW-LABEL: func.func @cached(
// PERROW-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x16xf32>, %{{.*}}: tensor<?x?x2x16xf32>, %{{.*}}: tensor<?x?x2x8xf32>, %[[LENS:[a-z0-9]+]]: tensor<?xi32>)
// PERROW: scf.for %[[B:[a-z0-9_]+]] =
// PERROW: %[[L0:[a-z0-9_]+]] = tensor.extract %[[LENS]][%[[B]]]
// PERROW: %[[L:[a-z0-9_]+]] = arith.index_cast %[[L0]] : i32 to index
// PERROW: %[[SHIFT:[a-z0-9_]+]] = arith.subi %[[L]], %{{.*}} : index
// PERROW: scf.for %{{.*}} = %c0 to %c4
// PERROW: scf.for %[[I:[a-z0-9_]+]] =
// PERROW: %[[POS:[a-z0-9_]+]] = arith.addi %[[SHIFT]], %[[I]] : index
// PERROW: %[[P1:[a-z0-9_]+]] = arith.addi %[[POS]], %c1 : index
// PERROW: arith.minsi %[[L]], %[[P1]] : index
func.func @cached(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>, %lens: tensor<?xi32>) -> tensor<?x?x4x8xf32> {
  %o = mix.attention %q, %k, %v kv_lens(%lens) causal window = 32
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?xi32>) -> tensor<?x?x4x8xf32>
  return %o : tensor<?x?x4x8xf32>
}

// A decode step (static T = 1): query blocks of one row, so the score tile
// is K (scale Q)^T [16, 1], not a block of 16 query rows of which 15 pad.
// CHECK-LABEL: func.func @decode(
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x1xf32>) outs(%{{.*}} : tensor<16x1xf32>)
func.func @decode(%q: tensor<?x1x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>, %lens: tensor<?xi32>) -> tensor<?x1x4x8xf32> {
  %o = mix.attention %q, %k, %v kv_lens(%lens) causal
      : (tensor<?x1x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?xi32>) -> tensor<?x1x4x8xf32>
  return %o : tensor<?x1x4x8xf32>
}
