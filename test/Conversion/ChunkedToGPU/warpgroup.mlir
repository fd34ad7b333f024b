// convert-chunked-to-gpu with warpgroup-mma (what the CUDA pipeline asks
// for on sm_90a): the block of 128 threads is one warpgroup, and the tile
// products with M a multiple of 64 (the 64 x 64 state products of a chunk
// of 64) run as wgmma m64nNk16. Each thread keeps its share of C in an
// LLVM struct of N / 2 f32 across the steps of 16 along K; each step
// stages A and B in one shared buffer of 16-byte core-matrix rows (bf16
// high and low parts), fences the generic proxy's stores for the async
// proxy, and issues three MMAs on descriptors of that buffer. The
// products of the vector gate's 16-row sub-chunks keep mma.sync.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=64" --convert-chunked-to-gpu="warpgroup-mma=true" | FileCheck %s
// Without the option (sm_80 .. sm_90) there is no wgmma.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=64" --convert-chunked-to-gpu | FileCheck %s --check-prefix=MMA

// CHECK: gpu.func @gla_kernel
// CHECK-SAME: workgroup(
// CHECK-SAME: memref<512xvector<8xbf16>, #gpu.address_space<workgroup>>
// CHECK: memref.extract_aligned_pointer_as_index %{{.*}} : memref<512xvector<8xbf16>, #gpu.address_space<workgroup>> -> index
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (!llvm.struct<(f32, f32,
// CHECK: gpu.barrier
// CHECK: vector.from_elements {{.*}} : vector<8xbf16>
// CHECK: memref.store %{{.*}} : memref<512xvector<8xbf16>>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.mma_async
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.extractvalue
// CHECK: nvgpu.mma.sync
// MMA-NOT: wgmma
// MMA: nvgpu.mma.sync
func.func @gla(%q: tensor<1x?x2x64xbf16>, %k: tensor<1x?x2x64xbf16>,
               %v: tensor<1x?x2x64xbf16>, %g: tensor<1x?x2x64xf32>)
    -> (tensor<1x?x2x64xbf16>, tensor<1x2x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g)
      : (tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>,
         tensor<1x?x2x64xf32>)
      -> (tensor<1x?x2x64xbf16>, tensor<1x2x64x64xf32>)
  return %o, %s : tensor<1x?x2x64xbf16>, tensor<1x2x64x64xf32>
}
