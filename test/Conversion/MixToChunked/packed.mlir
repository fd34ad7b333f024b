// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 --canonicalize | FileCheck %s

// Packed sequences in the chunked form: each sequence is cut into its own
// chunks (ceil(length / C), the last one partial), chunk n starting at token
// start + n C with min(C, end - t0) valid rows, so no chunk straddles a
// boundary. Output rows are stored relative to the sequence (n C + i).

// CHECK-LABEL: func.func @delta_varlen(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %{{.*}}: tensor<1x?x2x8xf32>, %{{.*}}: tensor<1x?x2xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>)
// CHECK: scf.forall (%[[SEQ:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%{{.*}}, 2)
// CHECK: %[[C0:[a-z0-9_]+]] = tensor.extract %[[CU]][%[[SEQ]]]
// CHECK: %[[START:[a-z0-9_]+]] = arith.index_cast %[[C0]] : i32 to index
// CHECK: %[[C1:[a-z0-9_]+]] = tensor.extract %[[CU]][%{{.*}}]
// CHECK: %[[END:[a-z0-9_]+]] = arith.index_cast %[[C1]] : i32 to index
// CHECK: %[[LENGTH:[a-z0-9_]+]] = arith.subi %[[END]], %[[START]] : index
// CHECK: %[[CHUNKS:[a-z0-9_]+]] = arith.ceildivui %[[LENGTH]], %c16 : index
// CHECK: scf.for %[[N:[a-z0-9_]+]] = %c0 to %[[CHUNKS]] step %c1
// CHECK: %[[FIRST:[a-z0-9_]+]] = arith.muli %[[N]], %c16 : index
// CHECK: %[[T0:[a-z0-9_]+]] = arith.addi %[[START]], %[[FIRST]] : index
// CHECK: %[[LEFT:[a-z0-9_]+]] = arith.subi %[[END]], %[[T0]] : index
// CHECK: %[[VALID:[a-z0-9_]+]] = arith.minui %[[LEFT]], %c16 : index
// CHECK: arith.cmpi ult, %{{.*}}, %[[VALID]] : index
// CHECK: %[[TOK:[a-z0-9_]+]] = arith.addi %[[T0]], %{{.*}} : index
// CHECK: vector.transfer_read %[[Q]][%c0, %[[TOK]], %{{.*}}, %c0]
// The stored output rows: n C + i in the sequence's rows.
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %[[VALID]] step %c1
// CHECK: %[[ROW:[a-z0-9_]+]] = arith.addi %[[FIRST]], %[[I]] : index
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%[[ROW]], %c0, %c0] {{.*}} tensor<?x1x8xf32>
// CHECK: scf.forall.in_parallel
func.func @delta_varlen(%q: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>, %beta: tensor<1x?x2xf32>, %cu: tensor<?xi32>) -> (tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>) {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none varlen(%cu) {chunk_size = 16 : i64}
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2xf32>, tensor<?xi32>)
      -> (tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>)
  return %o, %s : tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>
}
