// mix.rnn on thread blocks (convert-mix-to-loops="gpu-blocks", then
// convert-chunked-to-gpu, as mixir-cuda-pipeline runs them): one block of
// 128 threads per (batch, head); the head's weights (4 x 64 x 64 bf16,
// 32 KiB), the states and the pre-activations are tiles in shared memory;
// each step's parallel loops are spread over the threads between barriers.
// RUN: mixir-opt %s --convert-mix-to-loops="gpu-blocks" --convert-chunked-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @lstm(
// No global scratch: every tile fits in shared memory.
// CHECK-NOT: gpu.alloc async {{.*}} memref<?xi8>
// CHECK: gpu.launch_func async {{.*}} @lstm_kernel::@lstm_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%c128{{[_0-9]*}},
// CHECK: gpu.func @lstm_kernel
// CHECK-SAME: workgroup(%{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x64x64xbf16, #gpu.address_space<workgroup>>)
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[W:.*]] = memref.memory_space_cast %{{.*}} : memref<4x64x64xbf16, #gpu.address_space<workgroup>> to memref<4x64x64xbf16>
// The weights are copied once, transposed, before the loop over tokens.
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to
// CHECK: memref.store %{{.*}}, %[[W]][
// CHECK: scf.for %{{.*}} = %{{.*}} to
// Per token: wx + b per (g, j); the r h sums, one output (g, j) per
// thread, each a loop over D_in reading the resident weights; the state
// update, one channel per thread, writing h. Barriers between them.
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to
// CHECK: scf.for
// CHECK: memref.load %[[W]]
// CHECK: math.fma
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to
// CHECK: math.exp
// CHECK: memref.store %{{.*}} : memref<64xbf16, strided<[1], offset: ?>>
// CHECK: gpu.barrier
// CHECK-NOT: memref.store %{{.*}}, %[[W]]
// CHECK: gpu.return
func.func @lstm(%wx: tensor<?x?x4x4x64xbf16>, %r: tensor<4x4x64x64xbf16>,
                %b: tensor<4x4x64xbf16>, %h0: tensor<?x4x64xf32>,
                %c0: tensor<?x4x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>) {
  %h, %s:2 = mix.rnn lstm %wx, %r bias(%b) init(%h0, %c0)
      : (tensor<?x?x4x4x64xbf16>, tensor<4x4x64x64xbf16>, tensor<4x4x64xbf16>,
         tensor<?x4x64xf32>, tensor<?x4x64xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>)
  return %h, %s#0, %s#1 : tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>
}
