// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=32 | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32 factor-blocks=false" | FileCheck %s --check-prefix=EXACT

// Per-channel gates, the diagonal 16-token blocks. By default each is a
// run-time branch on its gates: when every exponent is within 30 of the
// block's first column gate (the bound: max |G - F| <= 30), two scaled
// tiles and one matmul; otherwise the exponent inside the sum, per entry.
// CHECK-LABEL: func.func @vector_gate
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: %[[W:.*]] = tensor.extract
// CHECK: %[[OK:.*]] = arith.cmpf ole, %[[W]], %cst{{.*}} : f32
// CHECK: scf.if %[[OK]] -> (tensor<16x16xf32>) {
// CHECK:   math.exp
// CHECK:   math.exp
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: } else {
// CHECK:   linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:     arith.subf
// CHECK:     math.exp
// CHECK: }
// With factor-blocks=false (the CUDA pipeline's choice) only the exact form.
// EXACT-LABEL: func.func @vector_gate
// EXACT-NOT: -> (tensor<16x16xf32>) {
// EXACT: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// EXACT-NOT: -> (tensor<16x16xf32>) {
// EXACT: return
func.func @vector_gate(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %g: tensor<1x?x1x16xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate vector(%g) : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x16xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}
