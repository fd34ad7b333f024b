// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s

// Host side: operands go to the GPU on one chain of async tokens, the
// kernel runs, results come back, device buffers are freed.
// CHECK-LABEL: func.func @scalar_gate
// CHECK: scf.if
// CHECK: gpu.wait async
// CHECK: gpu.alloc async
// CHECK: gpu.memcpy async
// Kernel: one block of 4 warps (chunk 64) per (batch, state head, 32 value
// columns), shared tiles for K, V, the 16-bit state copy and the gates.
// CHECK: gpu.launch async
// CHECK-SAME: threads({{.*}}) in ({{.*}} = %c128
// CHECK-SAME: workgroup(%{{.*}} : memref<64x136xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<128x40xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>)
// The state is carried in registers across the chunk loop.
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK: nvgpu.device_async_wait
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: math.exp
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: gpu.barrier
// CHECK: gpu.terminator
// CHECK: gpu.memcpy async
// CHECK: gpu.dealloc async
// CHECK: gpu.wait [
// CHECK: bufferization.to_tensor
func.func @scalar_gate(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                       %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4xf32>,
                       %s0: tensor<?x4x128x128xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) init(%s0)
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>,
         tensor<?x?x4xf32>, tensor<?x4x128x128xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>)
  return %o, %s : tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>
}

// f16, no gate, head dims that are not multiples of 16 (K padded to 112 in
// shared memory; 8-byte copies for V = 60), query heads sharing states.
// CHECK-LABEL: func.func @gqa_odd_dims
// CHECK: gpu.launch async
// CHECK-SAME: workgroup(%{{.*}} : memref<64x120xf16, #gpu.address_space<workgroup>>
// CHECK-NOT: math.exp
// CHECK: nvgpu.device_async_copy {{.*}}, 4, %{{.*}} :
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: gpu.terminator
func.func @gqa_odd_dims(%q: tensor<2x33x8x100xf16>, %k: tensor<2x33x2x100xf16>,
                        %v: tensor<2x33x2x60xf16>)
    -> (tensor<2x33x8x60xf16>, tensor<2x2x100x60xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 0.1
      : (tensor<2x33x8x100xf16>, tensor<2x33x2x100xf16>, tensor<2x33x2x60xf16>)
      -> (tensor<2x33x8x60xf16>, tensor<2x2x100x60xf32>)
  return %o, %s : tensor<2x33x8x60xf16>, tensor<2x2x100x60xf32>
}

// K = 256 does not fit 64-token tiles in 48 KiB: the chunk halves to 32
// (2 warps).
// CHECK-LABEL: func.func @wide_keys_head_gate
// CHECK: gpu.launch async
// CHECK-SAME: in ({{.*}} = %c64
// CHECK-SAME: workgroup(%{{.*}} : memref<32x264xbf16, #gpu.address_space<workgroup>>
func.func @wide_keys_head_gate(%q: tensor<1x?x2x256xbf16>, %k: tensor<1x?x2x256xbf16>,
                               %v: tensor<1x?x2x64xbf16>, %g: tensor<2xf32>)
    -> (tensor<1x?x2x64xbf16>, tensor<1x2x256x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<1x?x2x256xbf16>, tensor<1x?x2x256xbf16>, tensor<1x?x2x64xbf16>, tensor<2xf32>)
      -> (tensor<1x?x2x64xbf16>, tensor<1x2x256x64xf32>)
  return %o, %s : tensor<1x?x2x64xbf16>, tensor<1x2x256x64xf32>
}
