// RUN: mixir-opt %s --convert-mix-to-loops | FileCheck %s

// Taps and state are transposed to [W, D] and [B, W - 1, D]; per batch row
// and tile of 32 channels, the W taps and the W - 1 previous inputs are
// vectors carried through the loop over tokens (one read of x per token,
// W FMAs, silu), and the final window is written back as the new state.
// CHECK-LABEL: func.func @conv(
// CHECK: linalg.transpose {{.*}} permutation = [1, 0]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1]
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x?x64xbf16>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// CHECK-COUNT-4: vector.fma
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.truncf {{.*}} : vector<32xf32> to vector<32xbf16>
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1]
func.func @conv(%x: tensor<?x?x64xbf16>, %w: tensor<64x4xf32>, %b: tensor<64xbf16>, %s: tensor<?x64x3xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x64x3xbf16>) {
  %y, %n = mix.causal_conv1d %x, %w bias(%b) state(%s) activation silu : (tensor<?x?x64xbf16>, tensor<64x4xf32>, tensor<64xbf16>, tensor<?x64x3xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x64x3xbf16>)
  return %y, %n : tensor<?x?x64xbf16>, tensor<?x64x3xbf16>
}
