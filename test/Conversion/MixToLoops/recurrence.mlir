// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// The recurrent lowering of mix.recurrence (the DPLR recurrence
// S_t = (D_t + sum_j b_j a_j^T) S_{t-1} + k_t v_t^T) shares the builder of
// mix.linear_attention and mix.delta_rule: one scf.forall over (B, state
// heads), a loop over T, and per token two passes over the K rows of the
// state. Pass 1 accumulates the projections p_j = S^T a_j on the undecayed
// state (it writes nothing); pass 2 sets S[i] = d_i S[i] + sum_j b_j[i] p_j +
// k_i v and accumulates the output. Without low-rank terms there is no pass 1.

// R = 2, signed per-channel decay (d = g itself: no exp), bf16 inputs, f32
// low-rank terms. B = 1, Hv = 1, T = 4, K = 8, V = 16.
// CHECK-LABEL: func.func @rec_rank2_vector_signed_bf16(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x4x1x8xbf16>, %[[K:[a-z0-9]+]]: tensor<1x4x1x8xbf16>, %[[V:[a-z0-9]+]]: tensor<1x4x1x16xbf16>,
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<1x4x1x2x8xf32>, %[[BB:[a-z0-9]+]]: tensor<1x4x1x2x8xf32>, %[[G:[a-z0-9]+]]: tensor<1x4x1x8xf32>)
// CHECK: %[[RES:[a-z0-9_]+]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 1) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>)
// CHECK: %[[KH:[a-z0-9_]+]] = arith.divui %[[H]], %c1
// CHECK: %[[TOK:[a-z0-9_]+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4 step %{{.*}} iter_args(%[[OT:[a-z0-9_]+]] = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x1x16xbf16>, tensor<8x16xf32>)
// CHECK: %[[VROW:[a-z0-9_]+]] = vector.transfer_read %[[V]][%[[B]], %[[T]], %[[H]], %c0]
// CHECK: %[[VROW32:[a-z0-9_]+]] = arith.extf %[[VROW]] : vector<16xbf16> to vector<16xf32>
// Pass 1: p_0 = S^T a_0 and p_1 = S^T a_1 from the same row read.
// CHECK: %[[P1:[a-z0-9_]+]]:3 = scf.for %[[I:[a-z0-9_]+]] = %c0 to %c8{{.*}} iter_args(%[[S1:[a-z0-9_]+]] = %{{.*}}, %[[W0:[a-z0-9_]+]] = %{{.*}}, %[[W1:[a-z0-9_]+]] = %{{.*}}) -> (tensor<8x16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[ROW1:[a-z0-9_]+]] = vector.transfer_read %[[S1]][%[[I]], %c0]
// CHECK-NOT: arith.mulf %[[ROW1]]
// CHECK: %[[A0:[a-z0-9_]+]] = tensor.extract %[[A]][%[[B]], %[[T]], %[[H]], %{{.*}}, %[[I]]] : tensor<1x4x1x2x8xf32>
// CHECK: %[[A0V:[a-z0-9_]+]] = vector.broadcast %[[A0]] : f32 to vector<16xf32>
// CHECK: %[[W0N:[a-z0-9_]+]] = vector.fma %[[A0V]], %[[ROW1]], %[[W0]] : vector<16xf32>
// CHECK: %[[A1:[a-z0-9_]+]] = tensor.extract %[[A]][%[[B]], %[[T]], %[[H]], %{{.*}}, %[[I]]] : tensor<1x4x1x2x8xf32>
// CHECK: %[[A1V:[a-z0-9_]+]] = vector.broadcast %[[A1]] : f32 to vector<16xf32>
// CHECK: %[[W1N:[a-z0-9_]+]] = vector.fma %[[A1V]], %[[ROW1]], %[[W1]] : vector<16xf32>
// The state is only read in pass 1.
// CHECK: scf.yield %[[S1]], %[[W0N]], %[[W1N]] : tensor<8x16xf32>, vector<16xf32>, vector<16xf32>
// Pass 2: decay, the two rank-1 terms, k v^T, then the output.
// CHECK: %[[P2:[a-z0-9_]+]]:2 = scf.for %[[J:[a-z0-9_]+]] = %c0 to %c8{{.*}} iter_args(%[[S2:[a-z0-9_]+]] = %[[P1]]#0, %[[ACC:[a-z0-9_]+]] = %{{.*}}) -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK: %[[ROW2:[a-z0-9_]+]] = vector.transfer_read %[[S2]][%[[J]], %c0]
// CHECK: %[[GJ:[a-z0-9_]+]] = tensor.extract %[[G]][%[[B]], %[[T]], %[[H]], %[[J]]] : tensor<1x4x1x8xf32>
// CHECK-NOT: math.exp
// CHECK: %[[GV:[a-z0-9_]+]] = vector.broadcast %[[GJ]] : f32 to vector<16xf32>
// CHECK: %[[DROW:[a-z0-9_]+]] = arith.mulf %[[ROW2]], %[[GV]] : vector<16xf32>
// CHECK: %[[B0:[a-z0-9_]+]] = tensor.extract %[[BB]][%[[B]], %[[T]], %[[H]], %{{.*}}, %[[J]]] : tensor<1x4x1x2x8xf32>
// CHECK: %[[B0V:[a-z0-9_]+]] = vector.broadcast %[[B0]] : f32 to vector<16xf32>
// CHECK: %[[R0:[a-z0-9_]+]] = vector.fma %[[B0V]], %[[P1]]#1, %[[DROW]] : vector<16xf32>
// CHECK: %[[B1:[a-z0-9_]+]] = tensor.extract %[[BB]][%[[B]], %[[T]], %[[H]], %{{.*}}, %[[J]]] : tensor<1x4x1x2x8xf32>
// CHECK: %[[B1V:[a-z0-9_]+]] = vector.broadcast %[[B1]] : f32 to vector<16xf32>
// CHECK: %[[R1:[a-z0-9_]+]] = vector.fma %[[B1V]], %[[P1]]#2, %[[R0]] : vector<16xf32>
// CHECK: %[[KJ:[a-z0-9_]+]] = tensor.extract %[[K]][%[[B]], %[[T]], %[[KH]], %[[J]]] : tensor<1x4x1x8xbf16>
// CHECK: %[[KJ32:[a-z0-9_]+]] = arith.extf %[[KJ]] : bf16 to f32
// CHECK: %[[KJV:[a-z0-9_]+]] = vector.broadcast %[[KJ32]] : f32 to vector<16xf32>
// CHECK: %[[NROW:[a-z0-9_]+]] = vector.fma %[[KJV]], %[[VROW32]], %[[R1]] : vector<16xf32>
// CHECK: vector.transfer_write %[[NROW]], %[[S2]][%[[J]], %c0]
// CHECK: %[[QJ:[a-z0-9_]+]] = tensor.extract %[[Q]][%[[B]], %[[T]], %{{.*}}, %[[J]]] : tensor<1x4x1x8xbf16>
// CHECK: vector.fma %{{.*}}, %[[NROW]], %[[ACC]] : vector<16xf32>
// CHECK: %[[OBF:[a-z0-9_]+]] = arith.truncf %[[P2]]#1 : vector<16xf32> to vector<16xbf16>
// CHECK: %[[OW:[a-z0-9_]+]] = vector.transfer_write %[[OBF]], %[[OT]][%[[T]], %{{.*}}, %c0] {{.*}} : vector<16xbf16>, tensor<?x1x16xbf16>
// CHECK: scf.yield %[[OW]], %[[P2]]#0 : tensor<?x1x16xbf16>, tensor<8x16xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#0 into %[[OS]]
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 16] [1, 1, 1, 1] : tensor<8x16xf32> into tensor<1x1x8x16xf32>
// CHECK: return %[[RES]]#0, %[[RES]]#1 : tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>
func.func @rec_rank2_vector_signed_bf16(%q: tensor<1x4x1x8xbf16>, %k: tensor<1x4x1x8xbf16>, %v: tensor<1x4x1x16xbf16>,
                                        %a: tensor<1x4x1x2x8xf32>, %b: tensor<1x4x1x2x8xf32>, %g: tensor<1x4x1x8xf32>)
    -> (tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate vector(%g) decay signed
      : (tensor<1x4x1x8xbf16>, tensor<1x4x1x8xbf16>, tensor<1x4x1x16xbf16>, tensor<1x4x1x2x8xf32>, tensor<1x4x1x2x8xf32>, tensor<1x4x1x8xf32>)
      -> (tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>
}

// -----

// R = 1, log scalar decay (one exp per token) and an initial state; the
// low-rank terms are bf16 like the inputs.
// CHECK-LABEL: func.func @rec_rank1_scalar_log_init(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<1x4x1x1x8xbf16>, %[[BB:[a-z0-9]+]]: tensor<1x4x1x1x8xbf16>, %[[G:[a-z0-9]+]]: tensor<1x4x1xf32>, %[[S0:[a-z0-9]+]]: tensor<1x1x8x16xf32>)
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 1)
// CHECK: tensor.extract_slice %[[S0]][%[[B]], %[[H]], 0, 0] [1, 1, 8, 16]
// CHECK: linalg.copy
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4
// CHECK: %[[GT:[a-z0-9_]+]] = tensor.extract %[[G]][%[[B]], %[[T]], %[[H]]] : tensor<1x4x1xf32>
// CHECK: %[[DECAY:[a-z0-9_]+]] = math.exp %[[GT]] : f32
// CHECK: %[[P1:[a-z0-9_]+]]:2 = scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK-NOT: math.exp
// CHECK-NOT: vector.transfer_write
// CHECK: tensor.extract %[[A]]{{.*}} : tensor<1x4x1x1x8xbf16>
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK-NOT: math.exp
// CHECK: %[[DV:[a-z0-9_]+]] = vector.broadcast %[[DECAY]] : f32 to vector<16xf32>
// CHECK: %[[DROW:[a-z0-9_]+]] = arith.mulf %{{.*}}, %[[DV]] : vector<16xf32>
// CHECK: tensor.extract %[[BB]]{{.*}} : tensor<1x4x1x1x8xbf16>
// CHECK: vector.fma %{{.*}}, %[[P1]]#1, %[[DROW]] : vector<16xf32>
// CHECK: scf.yield
// CHECK: scf.forall.in_parallel
func.func @rec_rank1_scalar_log_init(%q: tensor<1x4x1x8xbf16>, %v: tensor<1x4x1x16xbf16>,
                                     %a: tensor<1x4x1x1x8xbf16>, %b: tensor<1x4x1x1x8xbf16>,
                                     %g: tensor<1x4x1xf32>, %s0: tensor<1x1x8x16xf32>)
    -> (tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %b) gate scalar(%g) init(%s0)
      : (tensor<1x4x1x8xbf16>, tensor<1x4x1x8xbf16>, tensor<1x4x1x16xbf16>, tensor<1x4x1x1x8xbf16>, tensor<1x4x1x1x8xbf16>, tensor<1x4x1xf32>, tensor<1x1x8x16xf32>)
      -> (tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x4x1x16xbf16>, tensor<1x1x8x16xf32>
}

// -----

// R = 0 with a signed per-head decay: the decay g[h] is read once per state
// head, before the token loop, and used as is; one pass over the rows per
// token (linear attention).
// CHECK-LABEL: func.func @rec_rank0_head_signed(
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<2xf32>)
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 2)
// CHECK: %[[D:[a-z0-9_]+]] = tensor.extract %[[G]][%[[H]]] : tensor<2xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c4
// CHECK-NOT: math.exp
// CHECK: scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK: %[[DV:[a-z0-9_]+]] = vector.broadcast %[[D]] : f32 to vector<16xf32>
// CHECK: arith.mulf %{{.*}}, %[[DV]] : vector<16xf32>
// CHECK: vector.fma
// CHECK: vector.transfer_write
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK-NOT: scf.for %{{.*}} = %c0 to %c8
// CHECK: scf.forall.in_parallel
func.func @rec_rank0_head_signed(%q: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x16xf32>, %g: tensor<2xf32>)
    -> (tensor<1x4x2x16xf32>, tensor<1x2x8x16xf32>) {
  %o, %s = mix.recurrence %q, %q, %v gate head(%g) decay signed
      : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x4x2x16xf32>, tensor<1x2x8x16xf32>)
  return %o, %s : tensor<1x4x2x16xf32>, tensor<1x2x8x16xf32>
}

// -----

// Two query heads reading one state (Hq = 2, Hv = Hk = 1): one output
// accumulator per query head in pass 2, written to rows [t, 0] and [t, 1].
// CHECK-LABEL: func.func @rec_gqa(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (%c1, 1)
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4
// CHECK: scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>)
// CHECK: %[[P2:[a-z0-9_]+]]:3 = scf.for %{{.*}} = %c0 to %c8{{.*}} -> (tensor<8x16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_write %[[P2]]#1, %{{.*}}[%[[T]], %c0{{.*}}, %c0] {{.*}} : vector<16xf32>, tensor<?x2x16xf32>
// CHECK: vector.transfer_write %[[P2]]#2, %{{.*}}[%[[T]], %c1{{.*}}, %c0] {{.*}} : vector<16xf32>, tensor<?x2x16xf32>
func.func @rec_gqa(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x16xf32>, %a: tensor<1x4x1x1x8xf32>)
    -> (tensor<1x4x2x16xf32>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<1x4x2x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x1x8xf32>, tensor<1x4x1x1x8xf32>)
      -> (tensor<1x4x2x16xf32>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x4x2x16xf32>, tensor<1x1x8x16xf32>
}

// -----

// Dynamic B and T: the low-rank terms are part of the shape contract, so
// their B and T are compared with q's at run time.
// CHECK-LABEL: func.func @rec_dynamic(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x1x8xf32>, %{{.*}}: tensor<?x?x1x8xf32>, %{{.*}}: tensor<?x?x1x16xf32>, %[[A:[a-z0-9]+]]: tensor<?x?x1x1x8xf32>, %[[BB:[a-z0-9]+]]: tensor<?x?x1x1x8xf32>)
// CHECK-DAG: tensor.dim %[[A]], %c0
// CHECK-DAG: tensor.dim %[[A]], %c1
// CHECK-DAG: tensor.dim %[[BB]], %c0
// CHECK-DAG: tensor.dim %[[BB]], %c1
// CHECK: func.call @mixrtShapeError
// CHECK: scf.forall
func.func @rec_dynamic(%q: tensor<?x?x1x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x1x16xf32>,
                       %a: tensor<?x?x1x1x8xf32>, %b: tensor<?x?x1x1x8xf32>)
    -> (tensor<?x?x1x16xf32>, tensor<?x1x8x16xf32>) {
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate none
      : (tensor<?x?x1x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x1x8xf32>, tensor<?x?x1x1x8xf32>)
      -> (tensor<?x?x1x16xf32>, tensor<?x1x8x16xf32>)
  return %o, %s : tensor<?x?x1x16xf32>, tensor<?x1x8x16xf32>
}
