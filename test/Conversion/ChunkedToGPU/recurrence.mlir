// convert-chunked-to-gpu alone, on the chunked form of a mix.recurrence
// (convert-mix-to-chunked, chunk 16): the (batch, state head) loop becomes a
// launch of one block per iteration, one thread each, between device copies
// of the buffers it reads and copies back of the ones it writes; the tiles
// are allocas at the top of the outlined kernel.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s
// A module without such a loop is left as it is.
// RUN: mixir-opt %s --convert-chunked-to-gpu | FileCheck %s --check-prefix=NONE

// CHECK-LABEL: func.func @rec(
// CHECK-NOT: scf.forall
// An empty batch launches nothing (a grid of 0 blocks is an error).
// CHECK: %[[WORK:.*]] = arith.andi
// CHECK: scf.if %[[WORK]] {
// CHECK: gpu.wait async
// CHECK-COUNT-8: gpu.memcpy async
// CHECK: gpu.launch_func async {{.*}} @rec_kernel::@rec_kernel blocks in (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[ONE:[a-z0-9_]+]]) threads in (%[[ONE]], %[[ONE]], %[[ONE]])
// CHECK-COUNT-2: gpu.memcpy async
// CHECK-COUNT-8: gpu.dealloc async
// CHECK: gpu.wait [
// CHECK: gpu.module @rec_kernel
// CHECK: gpu.func @rec_kernel
// CHECK: memref.alloca() {{.*}} : memref<16x20xf32>
// CHECK-NOT: memref.alloc(
// CHECK-NOT: memref.copy
// CHECK: gpu.return

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
