// RUN: mixir-opt %s | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --split-input-file --verify-diagnostics --mlir-print-op-generic > /dev/null

// CHECK-LABEL: func.func @conv(
// CHECK: mix.causal_conv1d %{{.*}}, %{{.*}} bias(%{{.*}}) state(%{{.*}}) activation silu :
// CHECK: mix.causal_conv1d %{{.*}}, %{{.*}} : (tensor<?x?x64xf32>, tensor<64x4xf32>)
func.func @conv(%x: tensor<?x?x64xbf16>, %w: tensor<64x4xf32>, %b: tensor<64xbf16>, %s: tensor<?x64x3xbf16>, %xf: tensor<?x?x64xf32>) -> (tensor<?x?x64xbf16>, tensor<?x?x64xf32>) {
  %y, %n = mix.causal_conv1d %x, %w bias(%b) state(%s) activation silu : (tensor<?x?x64xbf16>, tensor<64x4xf32>, tensor<64xbf16>, tensor<?x64x3xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x64x3xbf16>)
  %y2, %n2 = mix.causal_conv1d %xf, %w : (tensor<?x?x64xf32>, tensor<64x4xf32>) -> (tensor<?x?x64xf32>, tensor<?x64x3xf32>)
  return %y, %y2 : tensor<?x?x64xbf16>, tensor<?x?x64xf32>
}
