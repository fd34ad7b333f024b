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

// Packed sequences and a state pool: `varlen(%cu)` with one conv state per
// sequence [N, D, W - 1], and `state(%pool) ... indices(%idx)` with the pool
// [P, D, W - 1] as the state and the result.
// CHECK-LABEL: func.func @conv_packed(
// CHECK: mix.causal_conv1d %{{.*}}, %{{.*}} state(%{{.*}}) varlen(%{{.*}}) activation silu : (tensor<1x?x37xf32>, tensor<37x2xf32>, tensor<5x37x1xf32>, tensor<6xi64>) -> (tensor<1x?x37xf32>, tensor<5x37x1xf32>)
// CHECK: mix.causal_conv1d %{{.*}}, %{{.*}} bias(%{{.*}}) state(%{{.*}}) varlen(%{{.*}}) indices(%{{.*}}) : (tensor<1x?x37xbf16>, tensor<37x4xbf16>, tensor<37xf32>, tensor<?x37x3xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<1x?x37xbf16>, tensor<?x37x3xbf16>)
// CHECK: mix.causal_conv1d %{{.*}}, %{{.*}} state(%{{.*}}) indices(%{{.*}}) : (tensor<?x?x37xf32>, tensor<37x2xf32>, tensor<9x37x1xf32>, tensor<?xi32>) -> (tensor<?x?x37xf32>, tensor<9x37x1xf32>)
func.func @conv_packed(%x: tensor<1x?x37xf32>, %w: tensor<37x2xf32>, %s: tensor<5x37x1xf32>, %cu: tensor<6xi64>,
                       %xb: tensor<1x?x37xbf16>, %wb: tensor<37x4xbf16>, %b: tensor<37xf32>, %pool: tensor<?x37x3xbf16>, %cu2: tensor<?xi32>, %idx: tensor<?xi32>,
                       %xd: tensor<?x?x37xf32>, %pool2: tensor<9x37x1xf32>) -> (tensor<5x37x1xf32>, tensor<?x37x3xbf16>, tensor<9x37x1xf32>) {
  %y, %n = mix.causal_conv1d %x, %w state(%s) varlen(%cu) activation silu : (tensor<1x?x37xf32>, tensor<37x2xf32>, tensor<5x37x1xf32>, tensor<6xi64>) -> (tensor<1x?x37xf32>, tensor<5x37x1xf32>)
  %y2, %p2 = mix.causal_conv1d %xb, %wb bias(%b) state(%pool) varlen(%cu2) indices(%idx) : (tensor<1x?x37xbf16>, tensor<37x4xbf16>, tensor<37xf32>, tensor<?x37x3xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<1x?x37xbf16>, tensor<?x37x3xbf16>)
  %y3, %p3 = mix.causal_conv1d %xd, %w state(%pool2) indices(%idx) : (tensor<?x?x37xf32>, tensor<37x2xf32>, tensor<9x37x1xf32>, tensor<?xi32>) -> (tensor<?x?x37xf32>, tensor<9x37x1xf32>)
  return %n, %p2, %p3 : tensor<5x37x1xf32>, tensor<?x37x3xbf16>, tensor<9x37x1xf32>
}
