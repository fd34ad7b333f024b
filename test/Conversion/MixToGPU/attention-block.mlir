// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s

// Block attention (block = 100, not causal) in the flash kernel: a block of
// 64 query rows from q0 visits only the 64-key blocks from the one holding
// q0 / 100 * 100 to the end of the block of positions holding its last row,
// (q0 + 63) / 100 * 100 + 100 (capped at the key count, which is T); each
// score is kept only where i / 100 == j / 100.
// CHECK-LABEL: func.func @block_gqa
// CHECK: gpu.launch async
// CHECK: %[[N:.*]] = arith.constant 100 : index
// CHECK: %[[QB:.*]] = arith.divui %[[Q0:.*]], %[[N]] : index
// CHECK: %[[START:.*]] = arith.muli %[[QB]], %{{.*}} : index
// CHECK: %[[LASTROW:.*]] = arith.addi %[[Q0]], %c63 : index
// CHECK: %[[LB:.*]] = arith.divui %[[LASTROW]], %{{.*}} : index
// CHECK: %[[LB1:.*]] = arith.addi %[[LB]], %{{.*}} : index
// CHECK: %[[STOP:.*]] = arith.muli %[[LB1]], %{{.*}} : index
// CHECK: %[[FIRSTB:.*]] = arith.divui %[[START]], %c64{{.*}} : index
// CHECK: %[[FIRST:.*]] = arith.maxui %{{.*}}, %[[FIRSTB]] : index
// CHECK: %[[END:.*]] = arith.minui %{{.*}}, %[[STOP]] : index
// CHECK: %[[LASTB:.*]] = arith.ceildivui %[[END]], %c64{{.*}} : index
// CHECK: %[[LAST:.*]] = arith.maxui %[[LASTB]], %[[FIRST]] : index
// CHECK: scf.for %{{.*}} = %[[FIRST]] to %[[LAST]] step
// CHECK: nvgpu.mma.sync
// CHECK: arith.cmpi ult, %[[J:[a-z0-9_]+]], %{{.*}} : index
// CHECK: %[[BJ:[a-z0-9_]+]] = arith.divui %[[J]], %{{.*}} : index
// CHECK: %[[BI:[a-z0-9_]+]] = arith.divui %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi eq, %[[BI]], %[[BJ]] : index
func.func @block_gqa(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>,
                     %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16> {
  %o = mix.attention %q, %k, %v block = 100
      : (tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}
