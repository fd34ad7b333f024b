// convert-mix-to-gpu leaves a 16-bit mix.rnn for convert-mix-to-loops
// (gpu-blocks) and convert-chunked-to-gpu, as mixir-cuda-pipeline runs
// them: one thread block per (batch, head).
// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s
// CHECK-LABEL: func.func @rnn
// CHECK: mix.rnn lstm
// CHECK-NOT: gpu.launch
func.func @rnn(%wx: tensor<1x8x1x4x16xbf16>, %r: tensor<1x4x16x16xf32>)
    -> tensor<1x8x1x16xbf16> {
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<1x8x1x4x16xbf16>, tensor<1x4x16x16xf32>)
      -> (tensor<1x8x1x16xbf16>, tensor<1x1x16xf32>, tensor<1x1x16xf32>)
  return %h : tensor<1x8x1x16xbf16>
}
