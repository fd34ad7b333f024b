// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=32 | FileCheck %s

// The chunked scan: (1) per (batch, chunk) in parallel, a local scan from a
// zero state giving each chunk's end and total gate; (2) per batch, the
// carries across chunks and the final state; (3) per (batch, chunk) in
// parallel, the outputs scanned again from the carry. D = 100 is covered by
// a 64-wide tile and a 36-wide remainder.
// CHECK-LABEL: func.func @scan
// CHECK: %[[N:.*]] = arith.ceildivui %{{.*}}, %c32
// CHECK: %[[LOCAL:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}) in (%{{.*}}, %[[N]]) shared_outs({{.*}}) -> (tensor<?x?x100xf32>, tensor<?x?x100xf32>)
// CHECK:   vector<64xf32>
// CHECK:   vector<36xf32>
// CHECK:   tensor.parallel_insert_slice {{.*}} : tensor<100xf32> into tensor<?x?x100xf32>
// CHECK: %[[CARRY:.*]]:2 = scf.forall (%{{.*}}) in (%{{.*}}) shared_outs({{.*}}) -> (tensor<?x?x100xf32>, tensor<?x100xf32>)
// CHECK:   scf.for %{{.*}} = %{{.*}} to %[[N]] step
// CHECK:     vector.transfer_read %[[LOCAL]]#1
// CHECK:     math.exp
// CHECK:     vector.transfer_read %[[LOCAL]]#0
// CHECK:     vector.fma
// CHECK: %[[OUT:.*]] = scf.forall (%{{.*}}, %{{.*}}) in (%{{.*}}, %[[N]]) shared_outs({{.*}}) -> (tensor<?x?x100xf32>)
// CHECK:   vector.transfer_read %[[CARRY]]#0
// CHECK:   tensor.parallel_insert_slice {{.*}} : tensor<?x100xf32> into tensor<?x?x100xf32>
// CHECK: return %[[OUT]], %[[CARRY]]#1
func.func @scan(%x: tensor<?x?x100xf32>, %g: tensor<?x?x100xf32>) -> (tensor<?x?x100xf32>, tensor<?x100xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x100xf32>, tensor<?x?x100xf32>) -> (tensor<?x?x100xf32>, tensor<?x100xf32>)
  return %o, %h : tensor<?x?x100xf32>, tensor<?x100xf32>
}
