// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 | FileCheck %s

// Block attention (block = 24) in the flash form with 16-row tiles: each
// query block visits only the key blocks from the block of positions holding
// its first row to the end of the one holding its last row (intersected with
// the causal range); key blocks that straddle a block edge evaluate the mask
// i / 24 == j / 24 per entry, the others skip it.
// CHECK-LABEL: func.func @block_causal(
// CHECK: scf.forall
// CHECK: scf.if
// CHECK: %[[Q0:.*]] = arith.muli %{{.*}}, %c16
// CHECK: %[[VALIDQ:.*]] = arith.minui %c16{{.*}}, %{{.*}} : index
// Causal end, then the block range.
// CHECK: %[[KBHI:.*]] = arith.ceildivui %{{.*}}, %c16
// CHECK: %[[N:.*]] = arith.constant 24 : index
// CHECK: %[[QEND:.*]] = arith.addi %[[Q0]], %[[VALIDQ]] : index
// CHECK: %[[LAST:.*]] = arith.subi %[[QEND]], %{{.*}} : index
// CHECK: %[[FB:.*]] = arith.divui %[[Q0]], %[[N]] : index
// CHECK: %[[FIRST:.*]] = arith.muli %[[FB]], %[[N]] : index
// CHECK: %[[LB:.*]] = arith.divui %[[LAST]], %[[N]] : index
// CHECK: %[[LB1:.*]] = arith.addi %[[LB]], %{{.*}} : index
// CHECK: %[[END:.*]] = arith.muli %[[LB1]], %[[N]] : index
// CHECK: %[[FIRSTB:.*]] = arith.divui %[[FIRST]], %{{.*}} : index
// CHECK: %[[KBLO:.*]] = arith.maxui %{{.*}}, %[[FIRSTB]] : index
// CHECK: %[[ENDB:.*]] = arith.ceildivui %[[END]], %{{.*}} : index
// CHECK: %[[KBHI2:.*]] = arith.minui %[[KBHI]], %[[ENDB]] : index
// CHECK: scf.for %{{.*}} = %[[KBLO]] to %[[KBHI2]] step
// Inside test: full, causal, and the query rows and keys in one block.
// CHECK: arith.divui %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi eq
// CHECK: arith.cmpi eq
// CHECK: arith.cmpi eq
// CHECK: %[[INSIDE:.*]] = arith.andi
// CHECK: scf.if %[[INSIDE]] -> (tensor<16x16xf32>)
// CHECK: } else {
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.cmpi ule
// CHECK: %[[BR:.*]] = arith.divui %[[ROW:.*]], %{{.*}} : index
// CHECK: %[[BC:.*]] = arith.divui %[[COL:.*]], %{{.*}} : index
// CHECK: arith.cmpi eq, %[[BC]], %[[BR]] : index
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
func.func @block_causal(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> {
  %o = mix.attention %q, %k, %v causal block = 24
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32>
  return %o : tensor<?x?x4x8xf32>
}
