// convert-chunked-to-gpu with 16-bit inputs: the chunked form's f32 matmuls
// become loops over 16 x 8 tiles of
// the result, one warp per tile (warp = thread / 32, stepping by the block's
// 4 warps), each accumulated over K in steps of 16 by three mma.sync on bf16
// high and low parts of the operands. f32 inputs keep f32 products
// (recurrence.mlir).
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32" --convert-chunked-to-gpu | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s --check-prefix=ODD
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

// Dims the tile does not divide (K = 100, V = 60) are padded with zeros:
// 7 x 8 tiles of the 100 x 60 state, K stepping past 100 to 112; reads past
// an operand's dims load the nearest element inside and select 0, writes
// past the result's dims are skipped.
// ODD-LABEL: gpu.func @odd_kernel
// ODD: %[[ROW:.*]] = arith.minui %{{.*}}, %{{.*}} : index
// ODD: %[[X:.*]] = memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<{{.*}}>
// ODD: arith.select %{{.*}}, %[[X]], %{{.*}} : f32
// ODD: nvgpu.mma.sync
// ODD: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : index
// ODD-NEXT: scf.if %[[IN]] {
// ODD-NEXT: vector.extract
// ODD-NEXT: memref.store %{{.*}} : memref<16x60xf32>
func.func @odd(%q: tensor<1x?x1x100xbf16>, %k: tensor<1x?x1x100xbf16>,
               %v: tensor<1x?x1x60xbf16>)
    -> (tensor<1x?x1x60xbf16>, tensor<1x1x100x60xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x?x1x100xbf16>, tensor<1x?x1x100xbf16>, tensor<1x?x1x60xbf16>)
      -> (tensor<1x?x1x60xbf16>, tensor<1x1x100x60xf32>)
  return %o, %s : tensor<1x?x1x60xbf16>, tensor<1x1x100x60xf32>
}
