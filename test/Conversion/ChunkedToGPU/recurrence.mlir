// convert-chunked-to-gpu alone, on the chunked form of a mix.recurrence
// (convert-mix-to-chunked, chunk 16): the (batch, state head) loop becomes a
// launch of one block per iteration between device copies of the buffers
// it reads and copies back of the ones it writes. By default a block of 128
// threads shares the iteration: tiles in shared memory, the tile ops'
// parallel loops spread over the threads, other writes on thread 0, barriers
// between them; rows of 20 lanes in segments of 4 (splitVectorLanes). With block-threads=1 one thread runs it with its tiles as
// allocas at the top of the outlined kernel.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s
// f32 inputs: f32 products, no tensor cores.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s --check-prefix=NOMMA
// NOMMA-NOT: nvgpu.mma.sync
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu="block-threads=1" | FileCheck %s --check-prefix=SINGLE
// A module without such a loop is left as it is.
// RUN: mixir-opt %s --convert-chunked-to-gpu | FileCheck %s --check-prefix=NONE

// CHECK-LABEL: func.func @rec(
// CHECK-NOT: scf.forall
// An empty batch launches nothing (a grid of 0 blocks is an error).
// CHECK: %[[WORK:.*]] = arith.andi
// CHECK: scf.if %[[WORK]] {
// CHECK: gpu.wait async
// The six inputs are uploaded; the two results, which the kernel fills, are
// only allocated on the device.
// CHECK-COUNT-6: gpu.memcpy async
// CHECK-NOT: gpu.memcpy
// CHECK: %[[T:.*]] = arith.constant 128 : index
// CHECK: gpu.launch_func async {{.*}} @rec_kernel::@rec_kernel blocks in (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[ONE:[a-z0-9_]+]]) threads in (%[[T]], %[[ONE]], %[[ONE]])
// CHECK-COUNT-2: gpu.memcpy async
// CHECK: gpu.wait [
// CHECK: gpu.module @rec_kernel
// CHECK: gpu.func @rec_kernel({{.*}}) workgroup({{.*}}: memref<16x20xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: memref.alloca
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TID]], %{{.*}} : index
// CHECK: memref.memory_space_cast %{{.*}} : memref<16x20xf32, #gpu.address_space<workgroup>> to memref<16x20xf32>
// The initial state's fill, spread over the threads, between barriers.
// CHECK: gpu.barrier
// CHECK-NEXT: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %{{.*}} {
// CHECK: memref.store
// CHECK: }
// CHECK-NEXT: gpu.barrier
// The chunk loop: every thread runs it. A tile load goes to the threads in
// segments of 4 lanes of a row (iteration i: row i / 5, lanes 4 (i mod 5)
// to 4 (i mod 5) + 3), not a row of 20 lanes per thread.
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK-NEXT: scf.for %[[I:.*]] = %[[TID]] to %{{.*}} step %{{.*}} {
// CHECK-NEXT: %[[SEG:.*]] = arith.remui %[[I]], %[[NSEG:.*]] : index
// CHECK-NEXT: %[[ROW:.*]] = arith.divui %[[I]], %[[NSEG]] : index
// CHECK-NEXT: %[[LANE:.*]] = arith.muli %[[SEG]], %{{.*}} : index
// CHECK: vector.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %[[LANE]]] : memref<2x40x3x20xf32>, vector<4xf32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[ROW]], %[[LANE]]] : memref<16x20xf32>, vector<4xf32>
// The in-chunk cumulative gate, a loop carrying a row, runs each segment of
// lanes on a thread of its own (it was thread 0's alone).
// CHECK: scf.for %[[J:.*]] = %[[TID]] to %[[NSEG]] step %{{.*}} {
// CHECK-NEXT: arith.muli %[[J]], %{{.*}} : index
// CHECK-NEXT: scf.for {{.*}} -> (vector<4xf32>) {
// Other writes still run on thread 0.
// CHECK: scf.if %[[FIRST]] {
// CHECK-NOT: memref.copy
// CHECK: gpu.return

// SINGLE-LABEL: func.func @rec(
// SINGLE: gpu.launch_func async {{.*}} @rec_kernel::@rec_kernel blocks in (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[ONE:[a-z0-9_]+]]) threads in (%c1{{(_[0-9]+)?}}, %[[ONE]], %[[ONE]])
// SINGLE-COUNT-2: gpu.memcpy async
// SINGLE-COUNT-8: gpu.dealloc async
// SINGLE: gpu.func @rec_kernel
// SINGLE: memref.alloca() {{.*}} : memref<16x20xf32>
// SINGLE-NOT: gpu.barrier
// SINGLE-NOT: memref.alloc(
// SINGLE-NOT: memref.copy
// SINGLE: gpu.return

// NONE-NOT: gpu.
// NONE: mix.recurrence
func.func @rec(%q: tensor<2x40x3x20xf32>, %k: tensor<2x40x3x20xf32>,
               %v: tensor<2x40x3x12xf32>, %a: tensor<2x40x3x1x20xf32>,
               %b: tensor<2x40x3x1x20xf32>, %g: tensor<2x40x3x20xf32>)
    -> (tensor<2x40x3x12xf32>, tensor<2x3x20x12xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate vector(%g)
      : (tensor<2x40x3x20xf32>, tensor<2x40x3x20xf32>, tensor<2x40x3x12xf32>,
         tensor<2x40x3x1x20xf32>, tensor<2x40x3x1x20xf32>, tensor<2x40x3x20xf32>)
      -> (tensor<2x40x3x12xf32>, tensor<2x3x20x12xf32>)
  return %o, %s : tensor<2x40x3x12xf32>, tensor<2x3x20x12xf32>
}
