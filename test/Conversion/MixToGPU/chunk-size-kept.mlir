// Chunk lengths the kernels keep: asked for nothing, the largest that fits
// (32 for K = 256, 64 otherwise); the pass option for ops without a
// chunk_size; the op's chunk_size over both. A block has chunk/16 warps.
// RUN: mixir-opt %s --split-input-file --convert-mix-to-gpu | FileCheck %s
// RUN: mixir-opt %s --split-input-file --convert-mix-to-gpu=chunk-size=32 | FileCheck %s --check-prefix=OPT32

// CHECK-LABEL: func.func @wide_keys
// CHECK: gpu.launch async
// CHECK-SAME: threads({{.*}}) in ({{.*}} = %c64
// OPT32-LABEL: func.func @wide_keys
// OPT32: gpu.launch async
// OPT32-SAME: threads({{.*}}) in ({{.*}} = %c64
func.func @wide_keys(%q: tensor<1x?x1x256xbf16>, %v: tensor<1x?x1x32xbf16>)
    -> tensor<1x?x1x32xbf16> {
  %o, %s = mix.linear_attention %q, %q, %v gate none
      : (tensor<1x?x1x256xbf16>, tensor<1x?x1x256xbf16>, tensor<1x?x1x32xbf16>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x256x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}

// -----

// CHECK-LABEL: func.func @option_or_default
// CHECK: gpu.launch async
// CHECK-SAME: threads({{.*}}) in ({{.*}} = %c128
// OPT32-LABEL: func.func @option_or_default
// OPT32: gpu.launch async
// OPT32-SAME: threads({{.*}}) in ({{.*}} = %c64
func.func @option_or_default(%q: tensor<1x?x1x64xbf16>, %v: tensor<1x?x1x32xbf16>)
    -> tensor<1x?x1x32xbf16> {
  %o, %s = mix.linear_attention %q, %q, %v gate none
      : (tensor<1x?x1x64xbf16>, tensor<1x?x1x64xbf16>, tensor<1x?x1x32xbf16>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x64x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}

// -----

// CHECK-LABEL: func.func @op_chunk_kept
// CHECK: gpu.launch async
// CHECK-SAME: threads({{.*}}) in ({{.*}} = %c32
// OPT32-LABEL: func.func @op_chunk_kept
// OPT32: gpu.launch async
// OPT32-SAME: threads({{.*}}) in ({{.*}} = %c32
func.func @op_chunk_kept(%q: tensor<1x?x1x64xbf16>, %v: tensor<1x?x1x32xbf16>,
                         %beta: tensor<1x?x1xf32>) -> tensor<1x?x1x32xbf16> {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none {chunk_size = 16 : i64}
      : (tensor<1x?x1x64xbf16>, tensor<1x?x1x64xbf16>, tensor<1x?x1x32xbf16>,
         tensor<1x?x1xf32>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x64x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}
