// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// The lowering of mix.scan: h = exp(g_t) * h + x_t (vector.fma) over D in
// tiles of at most 64 lanes; each tile's state is a loop-carried vector over
// the whole sequence.

// D = 100: a full 64-wide tile at offset 0, then a 36-wide remainder at
// offset 64, each with its own loop over T. The initial state is read per
// tile; bf16 x is extended to f32 and the output truncated back.
// CHECK-LABEL: func.func @scan_d100_bf16_init(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2x16x100xbf16>, %[[G:[a-z0-9]+]]: tensor<2x16x100xf32>, %[[H0:[a-z0-9]+]]: tensor<2x100xf32>)
// CHECK-NOT: tensor.dim
// CHECK: scf.for %[[B:[a-z0-9_]+]] = %c0 to %c2
// CHECK-NOT: arith.muli
// 64-wide tile.
// CHECK: %[[INIT64:[a-z0-9_]+]] = vector.transfer_read %[[H0]][%[[B]], %[[OFF0:[a-z0-9_]+]]], {{.*}} : tensor<2x100xf32>, vector<64xf32>
// CHECK: %[[L64:[a-z0-9_]+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %{{.*}} to %c16 step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[HV:[a-z0-9_]+]] = %[[INIT64]]) -> (tensor<2x16x100xbf16>, vector<64xf32>)
// CHECK: %[[GV:[a-z0-9_]+]] = vector.transfer_read %[[G]][%[[B]], %[[T]], %[[OFF0]]], {{.*}} : tensor<2x16x100xf32>, vector<64xf32>
// CHECK: %[[DECAY:[a-z0-9_]+]] = math.exp %[[GV]] : vector<64xf32>
// CHECK: %[[XV:[a-z0-9_]+]] = vector.transfer_read %[[X]][%[[B]], %[[T]], %[[OFF0]]], {{.*}} : tensor<2x16x100xbf16>, vector<64xbf16>
// CHECK: %[[XF:[a-z0-9_]+]] = arith.extf %[[XV]] : vector<64xbf16> to vector<64xf32>
// CHECK: %[[HN:[a-z0-9_]+]] = vector.fma %[[DECAY]], %[[HV]], %[[XF]] : vector<64xf32>
// CHECK: %[[HB:[a-z0-9_]+]] = arith.truncf %[[HN]] : vector<64xf32> to vector<64xbf16>
// CHECK: vector.transfer_write %[[HB]], %{{.*}}[%[[B]], %[[T]], %[[OFF0]]] {{.*}} : vector<64xbf16>, tensor<2x16x100xbf16>
// CHECK: scf.yield %{{.*}}, %[[HN]] : tensor<2x16x100xbf16>, vector<64xf32>
// The tile's final state, in f32.
// CHECK: vector.transfer_write %[[L64]]#1, %{{.*}}[%[[B]], %[[OFF0]]] {{.*}} : vector<64xf32>, tensor<2x100xf32>
// 36-wide remainder at offset 64.
// CHECK: %[[OFF64:[a-z0-9_]+]] = arith.constant 64 : index
// CHECK: vector.transfer_read %[[H0]][%[[B]], %[[OFF64]]], {{.*}} : tensor<2x100xf32>, vector<36xf32>
// CHECK: scf.for %[[T2:[a-z0-9_]+]] = %{{.*}} to %c16 step %{{.*}} -> (tensor<2x16x100xbf16>, vector<36xf32>)
// CHECK: vector.transfer_read %[[G]][%[[B]], %[[T2]], %[[OFF64]]], {{.*}} : tensor<2x16x100xf32>, vector<36xf32>
// CHECK: math.exp %{{.*}} : vector<36xf32>
// CHECK: vector.fma %{{.*}} : vector<36xf32>
// CHECK: vector.transfer_write %{{.*}}[%[[B]], %[[T2]], %[[OFF64]]] {{.*}} : vector<36xbf16>, tensor<2x16x100xbf16>
// CHECK: vector.transfer_write %{{.*}}[%[[B]], %[[OFF64]]] {{.*}} : vector<36xf32>, tensor<2x100xf32>
// Nothing wider than 64 lanes.
// CHECK-NOT: vector<100x
// CHECK: return
func.func @scan_d100_bf16_init(%x: tensor<2x16x100xbf16>, %g: tensor<2x16x100xf32>, %h0: tensor<2x100xf32>)
    -> (tensor<2x16x100xbf16>, tensor<2x100xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<2x16x100xbf16>, tensor<2x16x100xf32>, tensor<2x100xf32>) -> (tensor<2x16x100xbf16>, tensor<2x100xf32>)
  return %o, %h : tensor<2x16x100xbf16>, tensor<2x100xf32>
}

// -----

// D = 200: a loop over the three full 64-wide tiles (offset = tile * 64), then
// an 8-wide remainder at offset 192. No initial state: tiles start at zero.
// CHECK-LABEL: func.func @scan_d200(
// CHECK: scf.for %[[B:[a-z0-9_]+]] = %c0 to %c2
// CHECK: scf.for %[[TILE:[a-z0-9_]+]] = %{{.*}} to %c3 step
// CHECK: %[[W:[a-z0-9_]+]] = arith.constant 64 : index
// CHECK: %[[OFF:[a-z0-9_]+]] = arith.muli %[[TILE]], %[[W]] : index
// CHECK: %[[Z:[a-z0-9_]+]] = arith.constant dense<0.000000e+00> : vector<64xf32>
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %{{.*}} to %c16 step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[Z]]) -> (tensor<2x16x200xf32>, vector<64xf32>)
// CHECK: vector.transfer_read %{{.*}}[%[[B]], %[[T]], %[[OFF]]]
// CHECK-NOT: arith.extf
// CHECK: vector.fma
// CHECK: vector.transfer_write %{{.*}}[%[[B]], %[[OFF]]] {{.*}} : vector<64xf32>, tensor<2x200xf32>
// CHECK: %[[REST:[a-z0-9_]+]] = arith.constant 192 : index
// CHECK: arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK: scf.for {{.*}} -> (tensor<2x16x200xf32>, vector<8xf32>)
// CHECK: vector.transfer_write %{{.*}}[%[[B]], %[[REST]]] {{.*}} : vector<8xf32>, tensor<2x200xf32>
// CHECK: return
func.func @scan_d200(%x: tensor<2x16x200xf32>, %g: tensor<2x16x200xf32>) -> (tensor<2x16x200xf32>, tensor<2x200xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<2x16x200xf32>, tensor<2x16x200xf32>) -> (tensor<2x16x200xf32>, tensor<2x200xf32>)
  return %o, %h : tensor<2x16x200xf32>, tensor<2x200xf32>
}

// -----

// D = 32 fits one tile: no tile loop and no remainder.
// CHECK-LABEL: func.func @scan_d32_f16(
// CHECK: scf.for %{{.*}} = %c0 to %c1
// CHECK-NOT: scf.for
// CHECK-NOT: arith.muli
// CHECK: arith.constant dense<0.000000e+00> : vector<32xf32>
// CHECK: scf.for {{.*}} -> (tensor<1x4x32xf16>, vector<32xf32>)
// CHECK: arith.extf {{.*}} : vector<32xf16> to vector<32xf32>
// CHECK: arith.truncf {{.*}} : vector<32xf32> to vector<32xf16>
// CHECK-NOT: scf.for
// CHECK: return
func.func @scan_d32_f16(%x: tensor<1x4x32xf16>, %g: tensor<1x4x32xf16>) -> (tensor<1x4x32xf16>, tensor<1x32xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<1x4x32xf16>, tensor<1x4x32xf16>) -> (tensor<1x4x32xf16>, tensor<1x32xf32>)
  return %o, %h : tensor<1x4x32xf16>, tensor<1x32xf32>
}
