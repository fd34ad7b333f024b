// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 --split-input-file | FileCheck %s

// mix.attention in the flash form: per (batch, query head, block of 16
// queries) an scf.forall iteration, or with a forget gate per (batch, query
// head) with a loop over its query blocks (G = cumsum(g) summed once per
// head); per query block, a loop over the blocks of 16 keys the masks allow
// with an online softmax (running max m, running sum l, rescaled
// accumulator) on static tiles. The score tile is S^T = K (scale Q)^T.

// Forget gate, causal, window = 40, GQA (4 query heads on 2 kv heads), f16,
// dynamic B and T (S = T because of the forget gate).
// CHECK-LABEL: func.func @causal_window_forget_gqa(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x32xf16>, %[[K:[a-z0-9]+]]: tensor<?x?x2x32xf16>,
// CHECK-SAME: %[[V:[a-z0-9]+]]: tensor<?x?x2x8xf16>, %[[G:[a-z0-9]+]]: tensor<?x?x4xf32>)
// CHECK: %[[T:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// With the forget gate, (batch, query head) pairs in parallel, each writing
// its [T, V] rows.
// CHECK: %[[O:.*]] = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%{{.*}}, 4) shared_outs(%[[OALL:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?x4x8xf16>)
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[OALL]][%[[B]], 0, %[[H]], 0] [1, %[[T]], 1, 8] [1, 1, 1, 1] : tensor<?x?x4x8xf16> to tensor<?x8xf16>
// CHECK: %[[KVH:.*]] = arith.divui %[[H]], %c2
// G = cumsum(g) for this head, in f64 (each gate floored at -104), padded by
// one block.
// CHECK: scf.for {{.*}} -> (tensor<?xf64>, f64)
// CHECK: tensor.extract %[[G]][%[[B]], %{{.*}}, %[[H]]] : tensor<?x?x4xf32>
// Query blocks.
// CHECK: %[[NQ:.*]] = arith.ceildivui %[[T]], %c16
// CHECK: scf.for %[[QB:[a-z0-9_]+]] = %{{.*}} to %[[NQ]] step %{{.*}} iter_args(%{{.*}} = %[[ROWS]]) -> (tensor<?x8xf16>)
// CHECK: %[[Q0:.*]] = arith.muli %[[QB]], %c16
// CHECK: %[[VALIDQ:.*]] = arith.minui %c16{{.*}}, %{{.*}} : index
// The query tile, scaled (32^-1/2) and transposed once per query block.
// CHECK: vector.transfer_read %[[Q]][%[[B]], %{{.*}}, %[[H]], %{{.*}}], {{.*}} : tensor<?x?x4x32xf16>, vector<32xf16>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<16x32xf32>)
// CHECK: arith.constant 0.176776692 : f32
// CHECK: %[[QT:.*]] = linalg.transpose ins(%{{.*}} : tensor<16x32xf32>) outs(%{{.*}} : tensor<32x16xf32>) permutation = [1, 0]
// Causal upper bound: key blocks up to the one holding the last query row,
// ceil(min(T, q0 + valid) / 16).
// CHECK: %[[QEND:.*]] = arith.addi %[[Q0]], %[[VALIDQ]] : index
// CHECK: %[[KEND:.*]] = arith.minui %[[T]], %[[QEND]] : index
// CHECK: %[[KBHI:.*]] = arith.ceildivui %[[KEND]], %c16
// Window lower bound: the block holding key max(0, q0 + 1 - 40).
// CHECK: %[[Q1:.*]] = arith.addi %[[Q0]], %c1
// CHECK: %[[PAST:.*]] = arith.cmpi ugt, %[[Q1]], %c40
// CHECK: %[[FIRST:.*]] = arith.subi %[[Q1]], %c40
// CHECK: %[[FIRSTC:.*]] = arith.select %[[PAST]], %[[FIRST]], %{{.*}} : index
// CHECK: %[[KBLO:.*]] = arith.divui %[[FIRSTC]], %c16
// m = -inf, l = 0, O = 0.
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[M0:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<16xf32>)
// CHECK: %[[L0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16xf32>)
// CHECK: %[[A0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: %[[SM:.*]]:3 = scf.for %[[KB:[a-z0-9_]+]] = %[[KBLO]] to %[[KBHI]] step %{{.*}} iter_args(%[[M:[a-z0-9_]+]] = %[[M0]], %[[L:[a-z0-9_]+]] = %[[L0]], %[[ACC:[a-z0-9_]+]] = %[[A0]]) -> (tensor<16xf32>, tensor<16xf32>, tensor<16x8xf32>)
// CHECK: %[[K0:.*]] = arith.muli %[[KB]], %c16
// Key and value tiles of the kv head, zero beyond T.
// CHECK: vector.transfer_read %[[K]][%[[B]], %{{.*}}, %[[KVH]], %{{.*}}], {{.*}} : tensor<?x?x2x32xf16>, vector<32xf16>
// CHECK: %[[VT:.*]] = scf.for
// CHECK: vector.transfer_read %[[V]][%[[B]], %{{.*}}, %[[KVH]], %{{.*}}], {{.*}} : tensor<?x?x2x8xf16>, vector<8xf16>
// S^T = K (scale Q)^T as a matmul on static tiles.
// CHECK: %[[S:.*]] = linalg.matmul ins(%{{.*}}, %[[QT]] : tensor<16x32xf32>, tensor<32x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// Blocks wholly inside the masks skip the mask; the others set -inf.
// CHECK: %[[SB:.*]] = scf.if %{{.*}} -> (tensor<16x16xf32>) {
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16xf64>, tensor<16xf64>) outs(%[[S]] : tensor<16x16xf32>)
// CHECK-NOT: linalg.index
// CHECK: } else {
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16xf64>, tensor<16xf64>) outs(%[[S]] : tensor<16x16xf32>)
// CHECK: arith.subf {{.*}} : f64
// CHECK: arith.truncf {{.*}} : f64 to f32
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.cmpi ule
// CHECK: arith.cmpi ugt
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// Running max over the keys (reduction over the rows of S^T).
// CHECK: %[[BMAX:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[SB]] : tensor<16x16xf32>) outs(%{{.*}} : tensor<16xf32>)
// CHECK: arith.maximumf
// mSafe and alpha = exp(m - m') (0 while m is -inf).
// CHECK: %[[MSAFE:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[BMAX]] : tensor<16xf32>, tensor<16xf32>)
// CHECK: %[[ALPHA:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[MSAFE]] : tensor<16xf32>, tensor<16xf32>)
// CHECK: math.exp
// CHECK: %[[MNEW:.*]] = linalg.generic {{.*}} ins(%[[BMAX]] : tensor<16xf32>) outs(%[[M]] : tensor<16xf32>)
// P = exp(S - m'), m' broadcast through (j, i) -> (i).
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[COL:map[0-9]*]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[MSAFE]] : tensor<16xf32>) outs(%[[SB]] : tensor<16x16xf32>)
// CHECK: math.exp
// CHECK: arith.select
// l' = alpha l + rowsum(P).
// CHECK: %[[LA:.*]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<16xf32>) outs(%[[L]] : tensor<16xf32>)
// CHECK: %[[LNEW:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[P]] : tensor<16x16xf32>) outs(%[[LA]] : tensor<16xf32>)
// CHECK: arith.addf
// O = alpha O + P V.
// CHECK: %[[AA:.*]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<16xf32>) outs(%[[ACC]] : tensor<16x8xf32>)
// CHECK: %[[ANEW:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]], %[[VT]] : tensor<16x16xf32>, tensor<16x8xf32>) outs(%[[AA]] : tensor<16x8xf32>)
// CHECK: scf.yield %[[MNEW]], %[[LNEW]], %[[ANEW]]
// o = O / l on the valid rows only, in f16.
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[VALIDQ]] step
// CHECK: tensor.extract %[[SM]]#1
// CHECK: arith.cmpf ogt
// CHECK: vector.transfer_read %[[SM]]#2
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[OALL]][%[[B]], 0, %[[H]], 0] [1, %[[T]], 1, 8]
// No per-row loop of the reference lowering.
// CHECK-NOT: vector.reduction
// CHECK: return %[[O]]
func.func @causal_window_forget_gqa(%q: tensor<?x?x4x32xf16>, %k: tensor<?x?x2x32xf16>, %v: tensor<?x?x2x8xf16>, %g: tensor<?x?x4xf32>) -> tensor<?x?x4x8xf16> {
  %o = mix.attention %q, %k, %v forget(%g) causal window = 40 : (tensor<?x?x4x32xf16>, tensor<?x?x2x32xf16>, tensor<?x?x2x8xf16>, tensor<?x?x4xf32>) -> tensor<?x?x4x8xf16>
  return %o : tensor<?x?x4x8xf16>
}

// -----

// Not causal, no window, static S = 40 keys for T = 24 queries: every key
// block is visited (0 to ceil(40 / 16)); only the last, partial key block
// (8 valid keys) evaluates the mask, which has only the padding term.
// CHECK-LABEL: func.func @cross_static(
// (batch, query head, query block) triples in parallel.
// CHECK: %[[NQ:.*]] = arith.ceildivui %c24{{.*}}, %c16
// CHECK: scf.forall (%{{.*}}, %{{.*}}, %[[QB:.*]]) in (%c2{{.*}}, 1, %[[NQ]])
// CHECK: %[[BQ0:.*]] = arith.muli %[[QB]], %c16
// CHECK: %[[NROWS:.*]] = arith.minui %c16{{.*}}, %{{.*}} : index
// CHECK: %[[ANY:.*]] = arith.cmpi ne, %[[NROWS]], %c0
// CHECK: %[[OFF:.*]] = arith.select %[[ANY]], %[[BQ0]], %c0
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, %[[OFF]], %{{.*}}, 0] [1, %[[NROWS]], 1, 64]
// CHECK: scf.if %[[ANY]]
// CHECK-NOT: arith.minui %c40{{.*}}, %{{.*}} : index
// CHECK: %[[KBHI:.*]] = arith.ceildivui %c40{{.*}}, %c16
// CHECK-NOT: arith.divui
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[KBHI]] step
// CHECK: %[[VALIDK:.*]] = arith.minui %c16{{.*}}, %{{.*}} : index
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x64xf32>, tensor<64x16xf32>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: %[[FULL:.*]] = arith.cmpi eq, %[[VALIDK]], %c16
// CHECK: scf.if %[[FULL]] -> (tensor<16x16xf32>) {
// CHECK-NEXT: scf.yield
// CHECK: } else {
// CHECK: linalg.index 0
// CHECK-NEXT: linalg.index 1
// CHECK-NEXT: arith.cmpi ult, %{{.*}}, %[[VALIDK]] : index
// CHECK-NOT: arith.cmpi
// CHECK: arith.select
// CHECK-NOT: vector.reduction
// CHECK: return
func.func @cross_static(%q: tensor<2x24x1x64xf32>, %k: tensor<2x40x1x64xf32>, %v: tensor<2x40x1x64xf32>) -> tensor<2x24x1x64xf32> {
  %o = mix.attention %q, %k, %v : (tensor<2x24x1x64xf32>, tensor<2x40x1x64xf32>, tensor<2x40x1x64xf32>) -> tensor<2x24x1x64xf32>
  return %o : tensor<2x24x1x64xf32>
}

// -----

// Tiny static problems (fewer than 16 queries or keys) keep the reference
// lowering: the op is left for convert-mix-to-loops.
// CHECK-LABEL: func.func @tiny_static(
// CHECK-NOT: scf.forall
// CHECK: mix.attention
func.func @tiny_static(%q: tensor<1x8x2x16xf32>, %k: tensor<1x40x2x16xf32>, %v: tensor<1x40x2x16xf32>) -> tensor<1x8x2x16xf32> {
  %o = mix.attention %q, %k, %v causal : (tensor<1x8x2x16xf32>, tensor<1x40x2x16xf32>, tensor<1x40x2x16xf32>) -> tensor<1x8x2x16xf32>
  return %o : tensor<1x8x2x16xf32>
}
