// convert-chunked-to-gpu on attention with a forget gate, whose chunked form
// keeps the cumulative gate of the whole sequence (f64) in a buffer of dynamic
// length: its size is computed on the host before the launch, the scratch
// buffer gets that much per block, and the kernel views its block's slice.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @at(
// CHECK: %[[SLICE:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[SCRATCH:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%{{.*}}) : memref<?xi8>
// CHECK: gpu.launch_func async {{.*}} threads in (%c128{{[_0-9]*}},
// CHECK: gpu.func @at_kernel
// CHECK: %[[BASE:.*]] = arith.muli %block_id_x, %{{.*}} : index
// CHECK: memref.view %{{.*}}[%[[BASE]]][%{{.*}}] : memref<?xi8> to memref<?xf64>
// CHECK: gpu.barrier
func.func @at(%q: tensor<1x300x2x32xbf16>, %k: tensor<1x300x1x32xbf16>,
              %v: tensor<1x300x1x32xbf16>, %f: tensor<1x300x2xf32>)
    -> tensor<1x300x2x32xbf16> {
  %o = mix.attention %q, %k, %v forget(%f) {causal}
      : (tensor<1x300x2x32xbf16>, tensor<1x300x1x32xbf16>,
         tensor<1x300x1x32xbf16>, tensor<1x300x2xf32>)
      -> tensor<1x300x2x32xbf16>
  return %o : tensor<1x300x2x32xbf16>
}
