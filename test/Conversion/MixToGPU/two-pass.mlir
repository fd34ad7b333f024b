// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s

// One batch, one head, 64 value columns (2 blocks) and 10 chunks: the
// states pass (grid z = 1), then every chunk's outputs (grid z = chunks),
// with the f32 chunk-start states in a device buffer between them.
// CHECK-LABEL: func.func @few_blocks_long_sequence
// CHECK: gpu.alloc async {{.*}} : memref<?x?x64x64xf32>
// CHECK: %[[STATES:.*]] = gpu.launch async {{.*}} blocks({{.*}}) in ({{.*}}, %{{.*}} = %c1
// CHECK: vector.store {{.*}} : memref<?x?x64x64xf32>, vector<2xf32>
// CHECK: gpu.launch async [%[[STATES]]] blocks({{.*}}) in ({{.*}}, %{{.*}} = %{{.*}})
// CHECK: memref.load {{.*}} : memref<?x?x64x64xf32>
// CHECK: nvgpu.mma.sync
func.func @few_blocks_long_sequence(%q: tensor<1x600x1x64xbf16>, %k: tensor<1x600x1x64xbf16>,
                                    %v: tensor<1x600x1x64xbf16>, %g: tensor<1x600x1xf32>)
    -> (tensor<1x600x1x64xbf16>, tensor<1x1x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<1x600x1x64xbf16>, tensor<1x600x1x64xbf16>, tensor<1x600x1x64xbf16>, tensor<1x600x1xf32>)
      -> (tensor<1x600x1x64xbf16>, tensor<1x1x64x64xf32>)
  return %o, %s : tensor<1x600x1x64xbf16>, tensor<1x1x64x64xf32>
}

// Many blocks: the fused kernel alone.
// CHECK-LABEL: func.func @many_blocks
// CHECK: gpu.launch async
// CHECK-NOT: gpu.launch async
// CHECK: return
func.func @many_blocks(%q: tensor<8x600x8x64xbf16>, %k: tensor<8x600x8x64xbf16>,
                       %v: tensor<8x600x8x64xbf16>)
    -> (tensor<8x600x8x64xbf16>, tensor<8x8x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<8x600x8x64xbf16>, tensor<8x600x8x64xbf16>, tensor<8x600x8x64xbf16>)
      -> (tensor<8x600x8x64xbf16>, tensor<8x8x64x64xf32>)
  return %o, %s : tensor<8x600x8x64xbf16>, tensor<8x8x64x64xf32>
}
