// RUN: mixir-opt %s --mixir-cpu-pipeline | FileCheck %s
// RUN: mixir-opt %s --mixir-cpu-pipeline | FileCheck %s --check-prefix=LEFT

// A function that returns one of its arguments (next to mix results) must be
// lowered to the llvm dialect too. Buffer deallocation turns the returned
// argument into a bufferization.clone; the pipeline has to lower that (to an
// allocation and a copy) like everything else.
// LEFT-NOT: {{[ "](mix|scf|memref|tensor|bufferization|linalg|vector|arith|math|affine|index|cf|func|ub)\.[a-z_]+}}
// LEFT-NOT: unrealized_conversion_cast

// CHECK-LABEL: llvm.func @scan_keep_init(
// CHECK: llvm.call @malloc
// CHECK: llvm.return
func.func @scan_keep_init(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>, %h0: tensor<1x4xf32>)
    -> (tensor<1x?x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>)
  return %o, %h, %h0 : tensor<1x?x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>
}

// The plain identity.
// CHECK-LABEL: llvm.func @identity(
// CHECK: llvm.return
func.func @identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}
