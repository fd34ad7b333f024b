// RUN: mixir-opt %s --convert-mix-to-loops --canonicalize --split-input-file | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s --check-prefix=MSG

// Packed sequences (varlen): the forall over (batch, state head) becomes a
// forall over (sequence, state head); sequence n reads its offsets from
// cu_seqlens at run time, takes its output rows at [0, start, ...] with
// `length` rows and its state from row n of the initial state. The packing
// is checked first (run-time errors, the loops then run over no sequence).

// The messages (decoded):
//   mix.linear_attention: 'initial_state' dim 0 (N) does not match 'cu_seqlens' dim 0 - 1
//   mix.linear_attention: the batch (B, dim 0 of the inputs) must be 1 with 'cu_seqlens' (sequences are packed along T)
//   mix.linear_attention: 'cu_seqlens' must hold N + 1 >= 1 offsets; got: none
//   mix.linear_attention: 'cu_seqlens'[0] must be 0
//   mix.linear_attention: the last offset 'cu_seqlens'[N] must be T, the packed length (dim 1 of the inputs)
//   mix.linear_attention: 'cu_seqlens' must be non-decreasing; ...
// MSG-COUNT-6: func.call @mixrtShapeError

// CHECK-LABEL: func.func @la_varlen(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x2x8xf32>, %[[S0:[a-z0-9]+]]: tensor<?x2x16x8xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>)
// CHECK-DAG: %[[LEN:[a-z0-9_]+]] = tensor.dim %[[CU]], %c0
// CHECK-DAG: %[[LEN1:[a-z0-9_]+]] = arith.maxui %[[LEN]], %c1
// CHECK-DAG: %[[N:[a-z0-9_]+]] = arith.subi %[[LEN1]], %c1
// The offsets are read once before anything else: first, last, first drop.
// CHECK: %[[READ:[a-z0-9_]+]]:3 = scf.if %{{.*}} -> (index, index, index) {
// CHECK: tensor.extract %[[CU]][%c0] : tensor<?xi32>
// CHECK: scf.for
// CHECK: arith.cmpi slt
// CHECK: } else {
// CHECK: arith.cmpi eq, %[[READ]]#0, %c0
// CHECK: arith.cmpi eq, %[[READ]]#1, %[[TQ:[a-z0-9_]+]]
// CHECK: %[[BAD:[a-z0-9_]+]] = arith.xori %[[OK:[a-z0-9_]+]], %true
// CHECK: scf.if %[[BAD]] {
// CHECK: func.call @mixrtShapeError
// CHECK: %[[NS:[a-z0-9_]+]] = arith.select %[[OK]], %[[N]], %c0 : index
// CHECK: %[[SE:[a-z0-9_]+]] = tensor.empty(%[[NS]]) : tensor<?x2x16x8xf32>
// CHECK: scf.forall (%[[SEQ:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%[[NS]], 2) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %[[SE]])
// CHECK: %[[C0:[a-z0-9_]+]] = tensor.extract %[[CU]][%[[SEQ]]] : tensor<?xi32>
// CHECK: %[[START:[a-z0-9_]+]] = arith.index_cast %[[C0]] : i32 to index
// CHECK: %[[NEXT:[a-z0-9_]+]] = arith.addi %[[SEQ]], %c1
// CHECK: %[[C1:[a-z0-9_]+]] = tensor.extract %[[CU]][%[[NEXT]]] : tensor<?xi32>
// CHECK: %[[END:[a-z0-9_]+]] = arith.index_cast %[[C1]] : i32 to index
// CHECK: %[[LENGTH:[a-z0-9_]+]] = arith.subi %[[END]], %[[START]] : index
// CHECK: tensor.extract_slice %[[OS]][0, %[[START]], %[[H]], 0] [1, %[[LENGTH]], 1, 8]
// CHECK: tensor.extract_slice %[[S0]][%[[SEQ]], %[[H]], 0, 0] [1, 1, 16, 8]
// The token loop runs over the sequence's rows i, tokens t = start + i of
// batch row 0, and writes output row i.
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %[[LENGTH]] step %c1
// CHECK: %[[T:[a-z0-9_]+]] = arith.addi %[[START]], %[[I]] : index
// CHECK: vector.transfer_read %[[V]][%c0, %[[T]], %[[H]], %c0]
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%[[I]], %c0, %c0]
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[OS]][0, %[[START]], %[[H]], 0] [1, %[[LENGTH]], 1, 8]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[SS]][%[[SEQ]], %[[H]], 0, 0] [1, 1, 16, 8]
func.func @la_varlen(%q: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>, %s0: tensor<?x2x16x8xf32>, %cu: tensor<?xi32>) -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%s0) varlen(%cu)
      : (tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>, tensor<?xi32>)
      -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>)
  return %o, %s : tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>
}

// -----

// A static batch of one is not checked again at run time (five checks); i64
// offsets are cast the same way.
// MSG-LABEL: func.func @scan_varlen
// MSG-COUNT-5: func.call @mixrtShapeError
// MSG-NOT: func.call @mixrtShapeError
// CHECK-LABEL: func.func @scan_varlen(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<1x?x4xf32>, %[[G:[a-z0-9]+]]: tensor<1x?x4xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi64>)
// CHECK: scf.forall (%[[SEQ:[a-z0-9_]+]]) in (%{{.*}}) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %{{.*}})
// CHECK: %[[C0:[a-z0-9_]+]] = tensor.extract %[[CU]][%[[SEQ]]] : tensor<?xi64>
// CHECK: %[[START:[a-z0-9_]+]] = arith.index_cast %[[C0]] : i64 to index
// CHECK: %[[LENGTH:[a-z0-9_]+]] = arith.subi %{{.*}}, %[[START]] : index
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %[[LENGTH]] step %c1
// CHECK: %[[T:[a-z0-9_]+]] = arith.addi %[[START]], %[[I]] : index
// CHECK: vector.transfer_read %[[G]][%c0, %[[T]], %c0]
// CHECK: vector.transfer_read %[[X]][%c0, %[[T]], %c0]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[OS]][0, %[[START]], 0] [1, %[[LENGTH]], 4]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[SS]][%[[SEQ]], 0] [1, 4]
func.func @scan_varlen(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>, %cu: tensor<?xi64>) -> (tensor<1x?x4xf32>, tensor<?x4xf32>) {
  %o, %h = mix.scan %x, %g varlen(%cu)
      : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<?xi64>)
      -> (tensor<1x?x4xf32>, tensor<?x4xf32>)
  return %o, %h : tensor<1x?x4xf32>, tensor<?x4xf32>
}

// -----

// A state pool: the indices are checked (their number against N, each below
// P, no slot twice) with the packing; outputs start at zero, a padding
// sequence (negative index) runs no token and starts from a zero state
// instead of reading the pool, and after the loop the final states are
// written into a copy of the pool at their slots (padding skipped).
// MSG-LABEL: func.func @la_pool
// MSG-COUNT-9: func.call @mixrtShapeError
// MSG-NOT: func.call @mixrtShapeError
// CHECK-LABEL: func.func @la_pool(
// CHECK-SAME: %[[POOL:[a-z0-9]+]]: tensor<?x2x8x8xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>, %[[IDX:[a-z0-9]+]]: tensor<?xi32>)
// CHECK-DAG: %[[P:[a-z0-9_]+]] = tensor.dim %[[POOL]], %c0
// CHECK: %[[NIDX:[a-z0-9_]+]] = tensor.dim %[[IDX]], %c0
// CHECK: %[[SLOTS:[a-z0-9_]+]]:2 = scf.for %[[I:[a-z0-9_]+]] = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> (index, index)
// CHECK: %[[SLOT:[a-z0-9_]+]] = tensor.extract %[[IDX]][%[[I]]]
// CHECK: %[[SLOTI:[a-z0-9_]+]] = arith.index_cast %[[SLOT]] : i32 to index
// CHECK: arith.cmpi sge, %[[SLOTI]], %[[P]] : index
// CHECK: scf.for %{{.*}} = %c0 to %[[I]] step %c1
// CHECK: %[[NS:[a-z0-9_]+]] = arith.select %{{.*}}, %{{.*}}, %c0 : index
// CHECK: %[[OZ:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x?x2x8xf32>)
// CHECK: scf.forall (%[[SEQ:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%[[NS]], 2) shared_outs(%{{.*}} = %[[OZ]], %{{.*}} = %{{.*}})
// CHECK: %[[MINE:[a-z0-9_]+]] = tensor.extract %[[IDX]][%[[SEQ]]] : tensor<?xi32>
// CHECK: %[[PAD:[a-z0-9_]+]] = arith.cmpi slt, %[[MINE]], %c0_i32 : i32
// CHECK: %[[MYSLOT:[a-z0-9_]+]] = arith.index_cast %[[MINE]] : i32 to index
// CHECK: %[[LEN:[a-z0-9_]+]] = arith.select %[[PAD]], %c0, %{{.*}} : index
// CHECK: scf.if %[[PAD]] -> (tensor<8x8xf32>) {
// CHECK: linalg.fill
// CHECK: } else {
// CHECK: tensor.extract_slice %[[POOL]][%[[MYSLOT]], %[[H]], 0, 0] [1, 1, 8, 8]
// CHECK: linalg.copy
// CHECK: scf.for %{{.*}} = %c0 to %[[LEN]] step %c1
// CHECK: scf.forall.in_parallel
// The scatter: a copy of the pool, each sequence's states at its slot.
// CHECK: %[[COPY:[a-z0-9_]+]] = linalg.copy ins(%[[POOL]] : tensor<?x2x8x8xf32>)
// CHECK: scf.for %[[N:[a-z0-9_]+]] = %c0 to %[[NS]] step %c1 iter_args(%[[ACC:[a-z0-9_]+]] = %[[COPY]])
// CHECK: %[[S:[a-z0-9_]+]] = tensor.extract %[[IDX]][%[[N]]]
// CHECK: scf.if %{{.*}} -> (tensor<?x2x8x8xf32>) {
// CHECK: scf.yield %[[ACC]]
// CHECK: } else {
// CHECK: tensor.insert_slice %{{.*}} into %[[ACC]][%{{.*}}, 0, 0, 0] [1, 2, 8, 8]
func.func @la_pool(%q: tensor<1x?x2x8xf32>, %v: tensor<1x?x2x8xf32>, %pool: tensor<?x2x8x8xf32>, %cu: tensor<?xi32>, %idx: tensor<?xi32>) -> (tensor<1x?x2x8xf32>, tensor<?x2x8x8xf32>) {
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%pool) varlen(%cu) indices(%idx)
      : (tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>, tensor<?x2x8x8xf32>, tensor<?xi32>, tensor<?xi32>)
      -> (tensor<1x?x2x8xf32>, tensor<?x2x8x8xf32>)
  return %o, %s : tensor<1x?x2x8xf32>, tensor<?x2x8x8xf32>
}
