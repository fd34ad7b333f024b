// Tiles beyond shared memory live in a global scratch buffer, a slice per
// launched block. Attention's flash form is a forall over (batch, head,
// query block); when its tiles need scratch (here K = V = 128 with chunks of
// 64), the query blocks run in turn inside one block per (batch, head), on
// its slice, so the scratch is B x H slices, not B x H x T / 64.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=64" --convert-chunked-to-gpu | FileCheck %s
// With chunks of 16 the tiles fit in shared memory: a block per query block.
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s --check-prefix=SHARED

// CHECK-LABEL: func.func @attn(
// CHECK: %[[NQ:.*]] = arith.ceildivui %{{.*}}, %c64
// CHECK: %[[BH:.*]] = arith.muli %{{.*}}, %c8
// CHECK: %[[BYTES:.*]] = arith.muli %[[BH]], %c163840
// CHECK: gpu.alloc async [%{{.*}}] (%[[BYTES]]) : memref<?xi8>
// CHECK: gpu.launch_func async [%{{.*}}] @attn_kernel::@attn_kernel blocks in (%[[BH]], %c1{{.*}}, %c1{{.*}}) threads in (%c128
// CHECK: gpu.func @attn_kernel
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: arith.remui %[[BID]], %{{.*}}
// CHECK-NEXT: arith.divui %[[BID]], %{{.*}}
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: gpu.return

// SHARED-LABEL: func.func @attn(
// SHARED: %[[NQ:.*]] = arith.ceildivui %{{.*}}, %c16
// SHARED-NOT: memref<?xi8>
// SHARED: %[[BH:.*]] = arith.muli %{{.*}}, %c8
// SHARED: %[[ALL:.*]] = arith.muli %[[BH]], %[[NQ]]
// SHARED: gpu.launch_func async [%{{.*}}] @attn_kernel::@attn_kernel blocks in (%[[ALL]], %c1{{.*}}, %c1{{.*}}) threads in (%c128
func.func @attn(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>,
         tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}
