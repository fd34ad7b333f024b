// convert-chunked-to-gpu with 16-bit inputs: the chunked form's f32 matmuls
// whose dims the m16n8k16 tile divides become loops over 16 x 8 tiles of
// the result, one warp per tile (warp = thread / 32, stepping by the block's
// 4 warps), each accumulated over K in steps of 16 by three mma.sync on bf16
// high and low parts of the operands. f32 inputs keep f32 products
// (recurrence.mlir).
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32" --convert-chunked-to-gpu | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32" --convert-chunked-to-gpu="block-threads=1" | FileCheck %s --check-prefix=SINGLE

// CHECK: gpu.func @rec_kernel
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %{{.*}} : index
// CHECK-NEXT: scf.for %{{.*}} = %[[WARP]] to %{{.*}} step %{{.*}} {
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<2x2xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: %[[M1:.*]] = nvgpu.mma.sync(%[[AHI:.*]], %[[BHI:.*]], %[[ACC]]) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-NEXT: %[[M2:.*]] = nvgpu.mma.sync(%[[AHI]], %{{.*}}, %[[M1]])
// CHECK-NEXT: %[[M3:.*]] = nvgpu.mma.sync(%{{.*}}, %[[BHI]], %[[M2]])
// CHECK-NEXT: scf.yield %[[M3]] : vector<2x2xf32>
// CHECK: gpu.barrier
// One thread per block has no warp to give a tile to.
// SINGLE-NOT: nvgpu.mma.sync
func.func @rec(%q: tensor<1x?x2x64xbf16>, %k: tensor<1x?x2x64xbf16>,
               %v: tensor<1x?x2x64xbf16>, %a: tensor<1x?x2x1x64xbf16>,
               %b: tensor<1x?x2x1x64xbf16>, %g: tensor<1x?x2xf32>)
    -> (tensor<1x?x2x64xbf16>, tensor<1x2x64x64xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate scalar(%g)
      : (tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>,
         tensor<1x?x2x1x64xbf16>, tensor<1x?x2x1x64xbf16>, tensor<1x?x2xf32>)
      -> (tensor<1x?x2x64xbf16>, tensor<1x2x64x64xf32>)
  return %o, %s : tensor<1x?x2x64xbf16>, tensor<1x2x64x64xf32>
}
