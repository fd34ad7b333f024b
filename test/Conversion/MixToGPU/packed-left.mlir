// convert-mix-to-gpu has no kernels for packed sequences (varlen): it leaves
// such ops, whatever their kind, for the chunked form (convert-mix-to-chunked,
// then convert-chunked-to-gpu), and lowers the unpacked ones it has kernels
// for. The whole CUDA pipeline then launches the (sequence, state head)
// loop, reading the offsets on the device.
// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-gpu --gpu-kernel-outlining --convert-mix-to-chunked="chunk-size=16" --convert-mix-to-loops --convert-chunked-to-gpu | FileCheck %s --check-prefix=CHUNKED

// CHECK-LABEL: func.func @packed
// CHECK: mix.linear_attention {{.*}} varlen(
// CHECK: mix.scan {{.*}} varlen(
// The unpacked op gets its kernel.
// CHECK: gpu.launch
// CHECK-NOT: mix.linear_attention

// CHUNKED-LABEL: func.func @packed
// CHUNKED-NOT: mix.
// The offsets are copied to the device with the other buffers the loops read.
// CHUNKED: gpu.memcpy {{.*}} memref<?xi32>
// CHUNKED: gpu.launch_func
func.func @packed(%q: tensor<1x?x2x16xbf16>, %v: tensor<1x?x2x16xbf16>, %x: tensor<1x?x8xf32>, %cu: tensor<?xi32>)
    -> (tensor<1x?x2x16xbf16>, tensor<1x?x8xf32>, tensor<1x?x2x16xbf16>) {
  %o, %s = mix.linear_attention %q, %q, %v gate none varlen(%cu)
      : (tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>, tensor<?xi32>)
      -> (tensor<1x?x2x16xbf16>, tensor<?x2x16x16xf32>)
  %h, %hs = mix.scan %x, %x varlen(%cu)
      : (tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<?xi32>)
      -> (tensor<1x?x8xf32>, tensor<?x8xf32>)
  %u, %us = mix.linear_attention %q, %q, %v gate none
      : (tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>)
      -> (tensor<1x?x2x16xbf16>, tensor<1x2x16x16xf32>)
  return %o, %h, %u : tensor<1x?x2x16xbf16>, tensor<1x?x8xf32>, tensor<1x?x2x16xbf16>
}
