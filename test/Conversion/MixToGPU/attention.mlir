// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s

// One block of 4 warps per (batch x query head, 64 query rows); K and V
// blocks of 64 keys in shared memory; online softmax with quad shuffles.
// CHECK-LABEL: func.func @causal_window
// CHECK: gpu.launch async
// CHECK-SAME: workgroup(%{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>>)
// Key blocks from the window's start to the causal end only.
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, vector<2x2xf32>
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: gpu.shuffle  xor
// CHECK: math.exp
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: gpu.barrier
// CHECK: arith.divf
// CHECK: vector.store
func.func @causal_window(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>,
                         %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16> {
  %o = mix.attention %q, %k, %v causal window = 256
      : (tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}

// With a forget gate, a first launch sums G = cumsum(g) per (batch, head) in
// f64 (each gate floored at -104); the attention kernel rounds only
// G_i - G_j to f32.
// CHECK-LABEL: func.func @forget
// CHECK: gpu.launch async
// CHECK-SAME: workgroup(%{{.*}} : memref<128xf64, #gpu.address_space<workgroup>>)
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: gpu.launch async
// CHECK: memref.load %{{.*}} : memref<?x?x4xf64>
// CHECK: arith.subf %{{.*}}, %{{.*}} : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
func.func @forget(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
                  %v: tensor<?x?x4x64xbf16>, %g: tensor<?x?x4xf32>)
    -> tensor<?x?x4x64xbf16> {
  %o = mix.attention %q, %k, %v forget(%g) causal
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
         tensor<?x?x4xf32>) -> tensor<?x?x4x64xbf16>
  return %o : tensor<?x?x4x64xbf16>
}
