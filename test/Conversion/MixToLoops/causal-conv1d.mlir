// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-loops --canonicalize --split-input-file | FileCheck %s --check-prefix=POOL
// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s --check-prefix=MSG

// Taps and state are transposed to [W, D] and [B, W - 1, D]; per batch row
// (in parallel) and tile of 32 channels, the W taps and the W - 1 previous
// inputs are vectors carried through the loop over tokens (one read of x
// per token, W FMAs, silu), and the final window is written back as the new
// state.
// CHECK-LABEL: func.func @conv(
// CHECK: linalg.transpose {{.*}} permutation = [1, 0]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1]
// CHECK: scf.forall (%[[ROW:[a-z0-9_]+]]) in (%{{.*}}) shared_outs
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x64xbf16>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// CHECK: vector.transfer_read %arg0[%[[ROW]], %{{.*}}, %{{.*}}]
// CHECK-COUNT-4: vector.fma
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.truncf {{.*}} : vector<32xf32> to vector<32xbf16>
// CHECK: scf.forall.in_parallel
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1]
func.func @conv(%x: tensor<?x?x64xbf16>, %w: tensor<64x4xf32>, %b: tensor<64xbf16>, %s: tensor<?x64x3xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x64x3xbf16>) {
  %y, %n = mix.causal_conv1d %x, %w bias(%b) state(%s) activation silu : (tensor<?x?x64xbf16>, tensor<64x4xf32>, tensor<64xbf16>, tensor<?x64x3xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x64x3xbf16>)
  return %y, %n : tensor<?x?x64xbf16>, tensor<?x64x3xbf16>
}

// -----

// Packed sequences from a pool: the slots are checked first (the message
// names the pool operand), then each sequence's state is gathered from its
// slot (zeros for padding), each sequence runs over its own tokens
// [cu[n], cu[n + 1]) (none for padding: its rows of the zero-filled y
// stay 0), and the new states are scattered into a copy of the pool.
// MSG-LABEL: func.func @conv_pool(
// MSG-COUNT-7: func.call @mixrtShapeError
// MSG-NOT: func.call @mixrtShapeError
// POOL-LABEL: func.func @conv_pool(
// POOL-SAME: %[[X:[a-z0-9]+]]: tensor<1x?x37xf32>, %{{.*}}: tensor<37x2xf32>, %[[POOL:[a-z0-9]+]]: tensor<?x37x1xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi64>, %[[IDX:[a-z0-9]+]]: tensor<?xi32>)
// POOL: %[[NS:[a-z0-9_]+]] = arith.select %{{.*}}, %{{.*}}, %c0 : index
// The gather.
// POOL: scf.for %[[G:[a-z0-9_]+]] = %c0 to %[[NS]] step %c1 iter_args(%{{.*}} = %{{.*}}) -> (tensor<?x37x1xf32>)
// POOL: tensor.extract %[[IDX]][%[[G]]]
// POOL: scf.if %{{.*}} -> (tensor<1x37x1xf32>) {
// POOL: linalg.fill
// POOL: } else {
// POOL: tensor.extract_slice %[[POOL]][%{{.*}}, 0, 0] [1, 37, 1]
// POOL: %[[INIT:[a-z0-9_]+]] = linalg.transpose {{.*}} permutation = [0, 2, 1]
// POOL: %[[YZ:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x?x37xf32>)
// POOL: scf.forall (%[[SEQ:[a-z0-9_]+]]) in (%[[NS]]) shared_outs(%[[Y:[a-z0-9_]+]] = %[[YZ]], %{{.*}} = %{{.*}}) -> (tensor<1x?x37xf32>, tensor<?x1x37xf32>)
// POOL: %[[START:[a-z0-9_]+]] = arith.index_cast %{{.*}} : i64 to index
// POOL: %[[LEN0:[a-z0-9_]+]] = arith.subi %{{.*}}, %[[START]] : index
// POOL: %[[MINE:[a-z0-9_]+]] = tensor.extract %[[IDX]][%[[SEQ]]]
// POOL: %[[PAD:[a-z0-9_]+]] = arith.cmpi slt, %[[MINE]], %c0_i32
// POOL: %[[LEN:[a-z0-9_]+]] = arith.select %[[PAD]], %c0, %[[LEN0]] : index
// POOL: tensor.extract_slice %[[Y]][0, %[[START]], 0] [1, %[[LEN]], 37]
// POOL: vector.transfer_read %[[INIT]][%[[SEQ]], %c0, %c0]
// POOL: scf.for %[[I:[a-z0-9_]+]] = %c0 to %[[LEN]] step %c1
// POOL: %[[T:[a-z0-9_]+]] = arith.addi %[[START]], %[[I]] : index
// POOL: vector.transfer_read %[[X]][%c0, %[[T]], %c0]
// POOL-COUNT-2: vector.fma
// The channel remainder tile (37 = 32 + 5).
// POOL: vector<5xf32>
// POOL: scf.forall.in_parallel
// The scatter.
// POOL: %[[COPY:[a-z0-9_]+]] = linalg.copy ins(%[[POOL]] : tensor<?x37x1xf32>)
// POOL: scf.for %[[N:[a-z0-9_]+]] = %c0 to %[[NS]] step %c1 iter_args(%[[ACC:[a-z0-9_]+]] = %[[COPY]])
// POOL: scf.if %{{.*}} -> (tensor<?x37x1xf32>) {
// POOL: scf.yield %[[ACC]]
// POOL: } else {
// POOL: tensor.insert_slice %{{.*}} into %[[ACC]][%{{.*}}, 0, 0] [1, 37, 1]
func.func @conv_pool(%x: tensor<1x?x37xf32>, %w: tensor<37x2xf32>, %pool: tensor<?x37x1xf32>, %cu: tensor<?xi64>, %idx: tensor<?xi32>) -> (tensor<1x?x37xf32>, tensor<?x37x1xf32>) {
  %y, %p = mix.causal_conv1d %x, %w state(%pool) varlen(%cu) indices(%idx) : (tensor<1x?x37xf32>, tensor<37x2xf32>, tensor<?x37x1xf32>, tensor<?xi64>, tensor<?xi32>) -> (tensor<1x?x37xf32>, tensor<?x37x1xf32>)
  return %y, %p : tensor<1x?x37xf32>, tensor<?x37x1xf32>
}
