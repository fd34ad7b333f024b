// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 --canonicalize | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-loops --canonicalize | FileCheck %s --check-prefix=PERROW

// Packed softmax attention in the flash form: one forall iteration per
// (sequence, query head, query block), the blocks counted from the
// sequence's start (cu[n]) and cut by its length (none left past it), so no
// block straddles a boundary and the causal mask needs no change. The
// forall runs the longest sequence's blocks. Tiles are read at token start +
// position.

// CHECK-LABEL: func.func @attention_varlen(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %{{.*}}: tensor<1x?x2x8xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>)
// CHECK: scf.forall (%[[SEQ:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[QB:[a-z0-9_]+]]) in (%{{.*}}, 4, %{{.*}})
// CHECK: %[[C0:[a-z0-9_]+]] = tensor.extract %[[CU]][%[[SEQ]]]
// CHECK: %[[START:[a-z0-9_]+]] = arith.index_cast %[[C0]] : i32 to index
// CHECK: %[[C1:[a-z0-9_]+]] = tensor.extract %[[CU]][%{{.*}}]
// CHECK: %[[END:[a-z0-9_]+]] = arith.index_cast %[[C1]] : i32 to index
// CHECK: %[[LEN:[a-z0-9_]+]] = arith.subi %[[END]], %[[START]] : index
// CHECK: %[[BQ0:[a-z0-9_]+]] = arith.muli %[[QB]], %c16 : index
// CHECK: %[[PAST:[a-z0-9_]+]] = arith.cmpi uge, %[[BQ0]], %[[LEN]] : index
// CHECK: %[[LEFT:[a-z0-9_]+]] = arith.subi %[[LEN]], %[[BQ0]] : index
// CHECK: %[[LEFT0:[a-z0-9_]+]] = arith.select %[[PAST]], %c0, %[[LEFT]] : index
// CHECK: %[[NROWS:[a-z0-9_]+]] = arith.minui %[[LEFT0]], %c16 : index
// CHECK: %[[ANY:[a-z0-9_]+]] = arith.cmpi ne, %[[NROWS]], %c0 : index
// An empty block's (empty) slice stays at the sequence's start.
// CHECK: %[[OFF:[a-z0-9_]+]] = arith.select %[[ANY]], %[[BQ0]], %c0 : index
// CHECK: %[[FIRST:[a-z0-9_]+]] = arith.addi %[[START]], %[[OFF]] : index
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %{{.*}}[0, %[[FIRST]], %[[H]], 0] [1, %[[NROWS]], 1, 8]
// CHECK: %[[BLK:[a-z0-9_]+]] = scf.if %[[ANY]]
// CHECK: %[[Q0:[a-z0-9_]+]] = arith.muli %[[QB]], %c16 : index
// CHECK: %[[QVALID:[a-z0-9_]+]] = arith.minui %{{.*}}, %c16 : index
// CHECK: %[[QPOS:[a-z0-9_]+]] = arith.addi %[[Q0]], %{{.*}} : index
// CHECK: %[[QTOK:[a-z0-9_]+]] = arith.addi %[[START]], %[[QPOS]] : index
// CHECK: vector.transfer_read %[[Q]][%c0, %[[QTOK]], %[[H]], %c0]
// Causal: the key blocks end at the query block's last row, in the sequence.
// CHECK: %[[QEND:[a-z0-9_]+]] = arith.addi %[[Q0]], %[[QVALID]] : index
// CHECK: %[[KEND:[a-z0-9_]+]] = arith.minui %[[LEN]], %[[QEND]] : index
// CHECK: %[[KBLOCKS:[a-z0-9_]+]] = arith.ceildivui %[[KEND]], %c16 : index
// CHECK: scf.for %[[KB:[a-z0-9_]+]] = %c0 to %[[KBLOCKS]]
// CHECK: %[[K0:[a-z0-9_]+]] = arith.muli %[[KB]], %c16 : index
// CHECK: %[[KLEFT:[a-z0-9_]+]] = arith.subi %[[LEN]], %[[K0]] : index
// CHECK: %[[KPOS:[a-z0-9_]+]] = arith.addi %[[K0]], %{{.*}} : index
// CHECK: %[[KTOK:[a-z0-9_]+]] = arith.addi %[[START]], %[[KPOS]] : index
// CHECK: vector.transfer_read %[[K]][%c0, %[[KTOK]], %{{.*}}, %c0]
// CHECK: scf.yield %[[ROWS]]
// CHECK-NEXT: }
// CHECK-NEXT: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[BLK]] into %{{.*}}[0, %[[FIRST]], %[[H]], 0] [1, %[[NROWS]], 1, 8]

// The per-row form: a loop over the sequences, then over each one's rows;
// the causal key range of row i is [start, start + i], read at token
// start + j.
// PERROW-LABEL: func.func @attention_varlen(
// PERROW-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %{{.*}}: tensor<1x?x2x8xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>)
// PERROW: scf.for %[[SEQ:[a-z0-9_]+]] = %c0 to %{{.*}} step %c1
// PERROW: %[[C0:[a-z0-9_]+]] = tensor.extract %[[CU]][%[[SEQ]]]
// PERROW: %[[START:[a-z0-9_]+]] = arith.index_cast %[[C0]] : i32 to index
// PERROW: %[[LEN:[a-z0-9_]+]] = arith.subi %{{.*}}, %[[START]] : index
// PERROW: scf.for %[[H:[a-z0-9_]+]] = %c0 to %c4
// PERROW: scf.for %[[I:[a-z0-9_]+]] = %c0 to %[[LEN]]
// PERROW: %[[AT:[a-z0-9_]+]] = arith.addi %[[START]], %[[I]] : index
// PERROW: vector.transfer_read %[[Q]][%c0, %[[AT]], %[[H]], %c0]
// PERROW: %[[I1:[a-z0-9_]+]] = arith.addi %[[I]], %c1 : index
// PERROW: %[[HI:[a-z0-9_]+]] = arith.minsi %[[LEN]], %[[I1]] : index
// PERROW: scf.for %[[J:[a-z0-9_]+]] = %c0 to %[[HI]]
// PERROW: %[[KEY:[a-z0-9_]+]] = arith.addi %[[START]], %[[J]] : index
// PERROW: vector.transfer_read %[[K]][%c0, %[[KEY]], %{{.*}}, %c0]
func.func @attention_varlen(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>, %cu: tensor<?xi32>) -> tensor<1x?x4x8xf32> {
  %o = mix.attention %q, %k, %v varlen(%cu) causal
      : (tensor<1x?x4x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>, tensor<?xi32>) -> tensor<1x?x4x8xf32>
  return %o : tensor<1x?x4x8xf32>
}
