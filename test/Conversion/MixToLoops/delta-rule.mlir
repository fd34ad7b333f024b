// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// The recurrent lowering of mix.delta_rule runs one scf.forall over (B, state
// heads); each iteration slices its output rows o[b, :, h*G:(h+1)*G, :] and
// its state, loops over T, and writes both back with parallel_insert_slice.
// It makes two passes over the K rows of the state per token: the first
// (decays S and) computes kv = S^T k, the second adds k_i * beta (v - kv) to
// each row and accumulates the output.

// Gated DeltaNet with qk_l2norm and allow_neg_eigval, bf16 inputs and beta,
// f32 gate. B = 1, Hv = 2, T = 8, K = 16, V = 32.
// CHECK-LABEL: func.func @dr_scalar_l2norm_negeig_bf16(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x8x2x16xbf16>, %[[K:[a-z0-9]+]]: tensor<1x8x2x16xbf16>,
// CHECK-SAME: %[[V:[a-z0-9]+]]: tensor<1x8x2x32xbf16>, %[[BETA:[a-z0-9]+]]: tensor<1x8x2xbf16>,
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<1x8x2xf32>)
// CHECK-NOT: tensor.dim
// CHECK-DAG: %[[O0:[a-z0-9_]+]] = tensor.empty() : tensor<1x8x2x32xbf16>
// CHECK-DAG: %[[S0:[a-z0-9_]+]] = tensor.empty() : tensor<1x2x16x32xf32>
// CHECK: %[[RES:[a-z0-9_]+]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 2) shared_outs(%[[OS:[a-z0-9_]+]] = %[[O0]], %[[SS:[a-z0-9_]+]] = %[[S0]]) -> (tensor<1x8x2x32xbf16>, tensor<1x2x16x32xf32>)
// CHECK: %[[OH0:[a-z0-9_]+]] = arith.muli %[[H]], %c1
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %[[OH0]], 0] [1, %c8, 1, 32] [1, 1, 1, 1] : tensor<1x8x2x32xbf16> to tensor<?x1x32xbf16>
// CHECK: %[[SLICE:[a-z0-9_]+]] = tensor.extract_slice %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<1x2x16x32xf32> to tensor<16x32xf32>
// CHECK: %[[STATE:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f32) outs(%[[SLICE]] : tensor<16x32xf32>)
// CHECK: %[[KH:[a-z0-9_]+]] = arith.divui %[[H]], %c1
// CHECK: %[[TOK:[a-z0-9_]+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %c0 to %c8 step %{{.*}} iter_args(%[[OT:[a-z0-9_]+]] = %[[ROWS]], %{{.*}} = %[[STATE]]) -> (tensor<?x1x32xbf16>, tensor<16x32xf32>)
// Scalar gate: one exp per token.
// CHECK: %[[GT:[a-z0-9_]+]] = tensor.extract %[[G]][%[[B]], %[[T]], %[[H]]] : tensor<1x8x2xf32>
// CHECK: %[[DECAY:[a-z0-9_]+]] = math.exp %[[GT]] : f32
// qk_l2norm: 1 / sqrt(sum(k^2) + 1e-6) over the K vector of k ...
// CHECK: %[[KVEC:[a-z0-9_]+]] = vector.transfer_read %[[K]][%[[B]], %[[T]], %[[KH]], %c0], {{.*}} : tensor<1x8x2x16xbf16>, vector<16xbf16>
// CHECK: %[[KVEC32:[a-z0-9_]+]] = arith.extf %[[KVEC]] : vector<16xbf16> to vector<16xf32>
// CHECK: %[[KSQ:[a-z0-9_]+]] = arith.mulf %[[KVEC32]], %[[KVEC32]] : vector<16xf32>
// CHECK: %[[KSUM:[a-z0-9_]+]] = vector.reduction <add>, %[[KSQ]] : vector<16xf32> into f32
// CHECK: %[[EPS:[a-z0-9_]+]] = arith.constant 9.99999997E-7 : f32
// CHECK: %[[KEPS:[a-z0-9_]+]] = arith.addf %[[KSUM]], %[[EPS]] : f32
// CHECK: %[[KNORM:[a-z0-9_]+]] = math.rsqrt %[[KEPS]] : f32
// ... and of q, folded into the scale (K^-1/2 = 0.25).
// CHECK: %[[SCALE:[a-z0-9_]+]] = arith.constant 2.500000e-01 : f32
// CHECK: vector.transfer_read %[[Q]]{{.*}} : tensor<1x8x2x16xbf16>, vector<16xbf16>
// CHECK: vector.reduction <add>
// CHECK: %[[QNORM:[a-z0-9_]+]] = math.rsqrt
// CHECK: %[[QFACTOR:[a-z0-9_]+]] = arith.mulf %[[SCALE]], %[[QNORM]] : f32
// CHECK: %[[VROW:[a-z0-9_]+]] = vector.transfer_read %[[V]][%[[B]], %[[T]], %[[H]], %c0], {{.*}} : tensor<1x8x2x32xbf16>, vector<32xbf16>
// CHECK: %[[VROW32:[a-z0-9_]+]] = arith.extf %[[VROW]] : vector<32xbf16> to vector<32xf32>
// Pass 1: decay each row in place and accumulate kv = S^T k.
// CHECK: %[[P1:[a-z0-9_]+]]:2 = scf.for %[[I:[a-z0-9_]+]] = %c0 to %c16{{.*}} iter_args(%[[S1:[a-z0-9_]+]] = %{{.*}}, %[[KV:[a-z0-9_]+]] = %{{.*}}) -> (tensor<16x32xf32>, vector<32xf32>)
// CHECK: %[[ROW1:[a-z0-9_]+]] = vector.transfer_read %[[S1]][%[[I]], %c0]
// CHECK: %[[DV:[a-z0-9_]+]] = vector.broadcast %[[DECAY]] : f32 to vector<32xf32>
// CHECK: %[[DROW:[a-z0-9_]+]] = arith.mulf %[[ROW1]], %[[DV]] : vector<32xf32>
// CHECK: %[[DS:[a-z0-9_]+]] = vector.transfer_write %[[DROW]], %[[S1]][%[[I]], %c0]
// CHECK: %[[KI:[a-z0-9_]+]] = tensor.extract %[[K]][%[[B]], %[[T]], %[[KH]], %[[I]]]
// CHECK: %[[KI32:[a-z0-9_]+]] = arith.extf %[[KI]] : bf16 to f32
// CHECK: %[[KIN:[a-z0-9_]+]] = arith.mulf %[[KI32]], %[[KNORM]] : f32
// CHECK: %[[KIV:[a-z0-9_]+]] = vector.broadcast %[[KIN]] : f32 to vector<32xf32>
// CHECK: %[[KVN:[a-z0-9_]+]] = vector.fma %[[KIV]], %[[DROW]], %[[KV]] : vector<32xf32>
// CHECK: scf.yield %[[DS]], %[[KVN]] : tensor<16x32xf32>, vector<32xf32>
// u = (2 beta) (v - kv): beta is doubled for allow_neg_eigval.
// CHECK: %[[BT:[a-z0-9_]+]] = tensor.extract %[[BETA]][%[[B]], %[[T]], %[[H]]] : tensor<1x8x2xbf16>
// CHECK: %[[BT32:[a-z0-9_]+]] = arith.extf %[[BT]] : bf16 to f32
// CHECK: %[[TWO:[a-z0-9_]+]] = arith.constant 2.000000e+00 : f32
// CHECK: %[[BT2:[a-z0-9_]+]] = arith.mulf %[[BT32]], %[[TWO]] : f32
// CHECK: %[[BV:[a-z0-9_]+]] = vector.broadcast %[[BT2]] : f32 to vector<32xf32>
// CHECK: %[[DIFF:[a-z0-9_]+]] = arith.subf %[[VROW32]], %[[P1]]#1 : vector<32xf32>
// CHECK: %[[U:[a-z0-9_]+]] = arith.mulf %[[DIFF]], %[[BV]] : vector<32xf32>
// Pass 2 over the decayed state: S[i] += k_i u; acc += q_i S[i]. No second
// decay.
// CHECK: %[[P2:[a-z0-9_]+]]:2 = scf.for %[[J:[a-z0-9_]+]] = %c0 to %c16{{.*}} iter_args(%[[S2:[a-z0-9_]+]] = %[[P1]]#0, %[[ACC:[a-z0-9_]+]] = %{{.*}}) -> (tensor<16x32xf32>, vector<32xf32>)
// CHECK: %[[ROW2:[a-z0-9_]+]] = vector.transfer_read %[[S2]][%[[J]], %c0]
// CHECK-NOT: math.exp
// CHECK-NOT: arith.mulf %[[ROW2]]
// CHECK: %[[KJ:[a-z0-9_]+]] = tensor.extract %[[K]][%[[B]], %[[T]], %[[KH]], %[[J]]]
// CHECK: %[[KJ32:[a-z0-9_]+]] = arith.extf %[[KJ]] : bf16 to f32
// CHECK: %[[KJN:[a-z0-9_]+]] = arith.mulf %[[KJ32]], %[[KNORM]] : f32
// CHECK: %[[KJV:[a-z0-9_]+]] = vector.broadcast %[[KJN]] : f32 to vector<32xf32>
// CHECK: %[[NROW:[a-z0-9_]+]] = vector.fma %[[KJV]], %[[U]], %[[ROW2]] : vector<32xf32>
// CHECK: vector.transfer_write %[[NROW]], %[[S2]][%[[J]], %c0]
// CHECK: %[[QJ:[a-z0-9_]+]] = tensor.extract %[[Q]][%[[B]], %[[T]], %{{.*}}, %[[J]]]
// CHECK: %[[QJ32:[a-z0-9_]+]] = arith.extf %[[QJ]] : bf16 to f32
// CHECK: arith.mulf %[[QJ32]], %[[QFACTOR]] : f32
// CHECK: vector.fma %{{.*}}, %[[NROW]], %[[ACC]] : vector<32xf32>
// The output row goes to row [t, 0] of the local rows, in bf16.
// CHECK: %[[R0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK: %[[OBF:[a-z0-9_]+]] = arith.truncf %[[P2]]#1 : vector<32xf32> to vector<32xbf16>
// CHECK: %[[OW:[a-z0-9_]+]] = vector.transfer_write %[[OBF]], %[[OT]][%[[T]], %[[R0]], %c0] {{.*}} : vector<32xbf16>, tensor<?x1x32xbf16>
// CHECK: scf.yield %[[OW]], %[[P2]]#0 : tensor<?x1x32xbf16>, tensor<16x32xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#0 into %[[OS]][%[[B]], 0, %[[OH0]], 0] [1, %c8, 1, 32] [1, 1, 1, 1] : tensor<?x1x32xbf16> into tensor<1x8x2x32xbf16>
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<16x32xf32> into tensor<1x2x16x32xf32>
// CHECK: return %[[RES]]#0, %[[RES]]#1 : tensor<1x8x2x32xbf16>, tensor<1x2x16x32xf32>
func.func @dr_scalar_l2norm_negeig_bf16(%q: tensor<1x8x2x16xbf16>, %k: tensor<1x8x2x16xbf16>, %v: tensor<1x8x2x32xbf16>,
                                        %beta: tensor<1x8x2xbf16>, %g: tensor<1x8x2xf32>)
    -> (tensor<1x8x2x32xbf16>, tensor<1x2x16x32xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm allow_neg_eigval
      : (tensor<1x8x2x16xbf16>, tensor<1x8x2x16xbf16>, tensor<1x8x2x32xbf16>, tensor<1x8x2xbf16>, tensor<1x8x2xf32>)
      -> (tensor<1x8x2x32xbf16>, tensor<1x2x16x32xf32>)
  return %o, %s : tensor<1x8x2x32xbf16>, tensor<1x2x16x32xf32>
}

// -----

// Plain DeltaNet, f32, f32 beta: no decay, no norm, beta not doubled; pass 1
// only reads the state.
// CHECK-LABEL: func.func @dr_none_f32(
// CHECK-SAME: %[[BETA:[a-z0-9]+]]: tensor<1x4x1xf32>)
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 1) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>)
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %c4, 1, 16] [1, 1, 1, 1] : tensor<1x4x1x16xf32> to tensor<?x1x16xf32>
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4 step %{{.*}} iter_args(%{{.*}} = %[[ROWS]], %{{.*}}) -> (tensor<?x1x16xf32>, tensor<8x16xf32>)
// CHECK-NOT: math.rsqrt
// CHECK-NOT: vector.reduction
// CHECK: scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK-NOT: math.exp
// CHECK-NOT: vector.transfer_write
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: %[[BT:[a-z0-9_]+]] = tensor.extract %[[BETA]][%{{.*}}, %[[T]], %{{.*}}] : tensor<1x4x1xf32>
// CHECK-NOT: arith.constant 2.000000e+00
// CHECK: %[[BV:[a-z0-9_]+]] = vector.broadcast %[[BT]] : f32 to vector<16xf32>
// CHECK: arith.subf
// CHECK: arith.mulf %{{.*}}, %[[BV]] : vector<16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK-NOT: math.exp
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<8x16xf32>
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%[[T]], %{{.*}}, %c0] {{.*}} : vector<16xf32>, tensor<?x1x16xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}#0 into %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %c4, 1, 16] [1, 1, 1, 1] : tensor<?x1x16xf32> into tensor<1x4x1x16xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 16] [1, 1, 1, 1] : tensor<8x16xf32> into tensor<1x1x8x16xf32>
// CHECK: return
func.func @dr_none_f32(%q: tensor<1x4x1x8xf32>, %k: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x16xf32>, %beta: tensor<1x4x1xf32>)
    -> (tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1xf32>)
      -> (tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>
}

// -----

// KDA-style vector gate with an initial state: each row is decayed by its own
// exp(g[b, t, h, i]) in pass 1 only.
// CHECK-LABEL: func.func @dr_vector_init(
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<1x4x1x8xf32>, %[[S0:[a-z0-9]+]]: tensor<1x1x8x16xf32>)
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 1) shared_outs({{.*}}) -> (tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>)
// CHECK: tensor.extract_slice %[[S0]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 16]
// CHECK: linalg.copy
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %c8
// CHECK: %[[GI:[a-z0-9_]+]] = tensor.extract %[[G]][%[[B]], %[[T]], %[[H]], %[[I]]] : tensor<1x4x1x8xf32>
// CHECK: math.exp %[[GI]] : f32
// CHECK: scf.yield
// CHECK: scf.for %{{.*}} = %c0 to %c8
// CHECK-NOT: math.exp
// CHECK: scf.yield
// CHECK: scf.forall.in_parallel
// CHECK: return
func.func @dr_vector_init(%q: tensor<1x4x1x8xf32>, %k: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x16xf32>, %beta: tensor<1x4x1xf32>,
                          %g: tensor<1x4x1x8xf32>, %s0: tensor<1x1x8x16xf32>)
    -> (tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector(%g) init(%s0)
      : (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1xf32>, tensor<1x4x1x8xf32>, tensor<1x1x8x16xf32>)
      -> (tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x4x1x16xf32>, tensor<1x1x8x16xf32>
}
