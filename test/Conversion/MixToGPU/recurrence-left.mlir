// convert-mix-to-gpu has no kernel for mix.recurrence: it leaves the op for
// the chunked form (convert-mix-to-chunked, then convert-chunked-to-gpu, as
// mixir-cuda-pipeline runs them) and lowers the ops it has kernels for.
// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s
// CHECK-LABEL: func.func @recurrence
// CHECK: mix.recurrence
// CHECK-NOT: gpu.launch
func.func @recurrence(%q: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x16xbf16>, %a: tensor<1x8x1x1x16xbf16>)
    -> (tensor<1x8x1x16xbf16>, tensor<1x1x16x16xf32>) {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate none
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x1x16xbf16>, tensor<1x8x1x1x16xbf16>)
      -> (tensor<1x8x1x16xbf16>, tensor<1x1x16x16xf32>)
  return %o, %s : tensor<1x8x1x16xbf16>, tensor<1x1x16x16xf32>
}
