// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// The recurrent lowering of mix.linear_attention: one scf.forall over
// (B, state heads) sharing the output and the final state; each iteration
// takes its own slices, the output rows o[b, :, h*G:(h+1)*G, :] of the G
// output heads of state head h (a tensor<? x G x V>) and the state [K, V],
// runs a loop over T carrying both, and writes them back with
// tensor.parallel_insert_slice. Per token a loop over the K rows of the f32
// state, each row a vector<V x f32> that is decayed, updated with k_i * v
// (vector.fma) and accumulated into the output (q_i * scale) * row.

// Vector gate, bf16 inputs, static shapes: B = 2, Hv = 2, T = 8, K = 16,
// V = 32.
// CHECK-LABEL: func.func @la_vector_bf16(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<2x8x2x16xbf16>, %[[K:[a-z0-9]+]]: tensor<2x8x2x16xbf16>,
// CHECK-SAME: %[[V:[a-z0-9]+]]: tensor<2x8x2x32xbf16>, %[[G:[a-z0-9]+]]: tensor<2x8x2x16xf32>)
// All dims are static: no run-time shape check.
// CHECK-NOT: tensor.dim
// CHECK-NOT: mixrtShapeError
// CHECK-DAG: %[[O0:[a-z0-9_]+]] = tensor.empty() : tensor<2x8x2x32xbf16>
// CHECK-DAG: %[[S0:[a-z0-9_]+]] = tensor.empty() : tensor<2x2x16x32xf32>
// One parallel loop over (batch, state head) sharing both results.
// CHECK: %[[RES:[a-z0-9_]+]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c2{{(_[0-9]+)?}}, 2) shared_outs(%[[OS:[a-z0-9_]+]] = %[[O0]], %[[SS:[a-z0-9_]+]] = %[[S0]]) -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
// The output rows of this state head: o[b, 0:T, h*G:(h+1)*G, 0:V], G = 1.
// CHECK: %[[OH0:[a-z0-9_]+]] = arith.muli %[[H]], %c1
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %[[OH0]], 0] [1, %c8, 1, 32] [1, 1, 1, 1] : tensor<2x8x2x32xbf16> to tensor<?x1x32xbf16>
// CHECK: %[[SLICE:[a-z0-9_]+]] = tensor.extract_slice %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<2x2x16x32xf32> to tensor<16x32xf32>
// No initial state: the state starts at zero.
// CHECK: %[[ZERO:[a-z0-9_]+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[STATE:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[SLICE]] : tensor<16x32xf32>)
// CHECK: %[[KH:[a-z0-9_]+]] = arith.divui %[[H]], %c1
// Token loop carrying the local output rows and the state.
// CHECK: %[[TOK:[a-z0-9_]+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %c0 to %c8 step %{{.*}} iter_args(%[[OT:[a-z0-9_]+]] = %[[ROWS]], %{{.*}} = %[[STATE]]) -> (tensor<?x1x32xbf16>, tensor<16x32xf32>)
// CHECK: %[[SCALE:[a-z0-9_]+]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[VRAW:[a-z0-9_]+]] = vector.transfer_read %[[V]][%[[B]], %[[T]], %[[H]], %c0], %{{.*}} {in_bounds = [true]} : tensor<2x8x2x32xbf16>, vector<32xbf16>
// CHECK: %[[VT:[a-z0-9_]+]] = arith.extf %[[VRAW]] : vector<32xbf16> to vector<32xf32>
// The row loop over K.
// CHECK: %[[RL:[a-z0-9_]+]]:2 = scf.for %[[I:[a-z0-9_]+]] = %c0 to %c16{{(_[0-9]+)?}} step %{{.*}} iter_args(%[[SROW:[a-z0-9_]+]] = %{{.*}}, %[[ACC:[a-z0-9_]+]] = %{{.*}}) -> (tensor<16x32xf32>, vector<32xf32>)
// CHECK: %[[ROW:[a-z0-9_]+]] = vector.transfer_read %[[SROW]][%[[I]], %c0], %{{.*}} : tensor<16x32xf32>, vector<32xf32>
// The vector gate decays row i by exp(g[b, t, h, i]).
// CHECK: %[[GI:[a-z0-9_]+]] = tensor.extract %[[G]][%[[B]], %[[T]], %[[H]], %[[I]]] : tensor<2x8x2x16xf32>
// CHECK: %[[DECAY:[a-z0-9_]+]] = math.exp %[[GI]] : f32
// CHECK: %[[DECAYV:[a-z0-9_]+]] = vector.broadcast %[[DECAY]] : f32 to vector<32xf32>
// CHECK: %[[DECAYED:[a-z0-9_]+]] = arith.mulf %[[ROW]], %[[DECAYV]] : vector<32xf32>
// S[i] += k_i * v (k in bf16, extended to f32).
// CHECK: %[[KI:[a-z0-9_]+]] = tensor.extract %[[K]][%[[B]], %[[T]], %[[KH]], %[[I]]] : tensor<2x8x2x16xbf16>
// CHECK: %[[KI32:[a-z0-9_]+]] = arith.extf %[[KI]] : bf16 to f32
// CHECK: %[[KIV:[a-z0-9_]+]] = vector.broadcast %[[KI32]] : f32 to vector<32xf32>
// CHECK: %[[NEWROW:[a-z0-9_]+]] = vector.fma %[[KIV]], %[[VT]], %[[DECAYED]] : vector<32xf32>
// CHECK: %[[NEWS:[a-z0-9_]+]] = vector.transfer_write %[[NEWROW]], %[[SROW]][%[[I]], %c0] {in_bounds = [true]} : vector<32xf32>, tensor<16x32xf32>
// acc += (scale * q_i) * S[i], reading the updated row (inclusive output).
// CHECK: %[[QI:[a-z0-9_]+]] = tensor.extract %[[Q]][%[[B]], %[[T]], %{{.*}}, %[[I]]] : tensor<2x8x2x16xbf16>
// CHECK: %[[QI32:[a-z0-9_]+]] = arith.extf %[[QI]] : bf16 to f32
// CHECK: %[[QS:[a-z0-9_]+]] = arith.mulf %[[QI32]], %[[SCALE]] : f32
// CHECK: %[[QSV:[a-z0-9_]+]] = vector.broadcast %[[QS]] : f32 to vector<32xf32>
// CHECK: %[[NEWACC:[a-z0-9_]+]] = vector.fma %[[QSV]], %[[NEWROW]], %[[ACC]] : vector<32xf32>
// CHECK: scf.yield %[[NEWS]], %[[NEWACC]] : tensor<16x32xf32>, vector<32xf32>
// The output row is truncated back to bf16 and written to row [t, r] of the
// local rows (r = 0, the only output head of the group).
// CHECK: %[[R0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK: %[[OBF:[a-z0-9_]+]] = arith.truncf %[[RL]]#1 : vector<32xf32> to vector<32xbf16>
// CHECK: %[[OW:[a-z0-9_]+]] = vector.transfer_write %[[OBF]], %[[OT]][%[[T]], %[[R0]], %c0] {in_bounds = [true]} : vector<32xbf16>, tensor<?x1x32xbf16>
// CHECK: scf.yield %[[OW]], %[[RL]]#0 : tensor<?x1x32xbf16>, tensor<16x32xf32>
// The rows and the final state of this (batch, head) go back into the results.
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#0 into %[[OS]][%[[B]], 0, %[[OH0]], 0] [1, %c8, 1, 32] [1, 1, 1, 1] : tensor<?x1x32xbf16> into tensor<2x8x2x32xbf16>
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<16x32xf32> into tensor<2x2x16x32xf32>
// CHECK-NOT: mix.
// CHECK: return %[[RES]]#0, %[[RES]]#1 : tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>
func.func @la_vector_bf16(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>, %g: tensor<2x8x2x16xf32>)
    -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) scale = 0.5
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>, tensor<2x8x2x16xf32>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return %o, %s : tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>
}

// -----

// No gate, f32, an initial state: the state slice is copied from it, nothing
// is exponentiated and nothing is converted. The default scale is K^-1/2 =
// 0.25 for K = 16.
// CHECK-LABEL: func.func @la_none_init_f32(
// CHECK-SAME: %[[S0:[a-z0-9]+]]: tensor<1x2x16x8xf32>)
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 2) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>)
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %c4, 1, 8] [1, 1, 1, 1] : tensor<1x4x2x8xf32> to tensor<?x1x8xf32>
// CHECK: %[[SLICE:[a-z0-9_]+]] = tensor.extract_slice %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 8]
// CHECK: %[[FROM:[a-z0-9_]+]] = tensor.extract_slice %[[S0]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<1x2x16x8xf32> to tensor<16x8xf32>
// CHECK: %[[STATE:[a-z0-9_]+]] = linalg.copy ins(%[[FROM]] : tensor<16x8xf32>) outs(%[[SLICE]] : tensor<16x8xf32>)
// CHECK-NOT: linalg.fill
// CHECK: scf.for %{{.*}} = %c0 to %c4 step %{{.*}} iter_args(%{{.*}} = %[[ROWS]], %{{.*}} = %[[STATE]]) -> (tensor<?x1x8xf32>, tensor<16x8xf32>)
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: scf.for %{{.*}} = %c0 to %c16
// CHECK-NOT: math.exp
// CHECK-NOT: arith.extf
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK-NOT: math.exp
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK-NOT: arith.truncf
// CHECK: vector.transfer_write {{.*}} : vector<8xf32>, tensor<?x1x8xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}#0 into %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %c4, 1, 8] [1, 1, 1, 1] : tensor<?x1x8xf32> into tensor<1x4x2x8xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<16x8xf32> into tensor<1x2x16x8xf32>
// CHECK: return
func.func @la_none_init_f32(%q: tensor<1x4x2x16xf32>, %k: tensor<1x4x2x16xf32>, %v: tensor<1x4x2x8xf32>, %s0: tensor<1x2x16x8xf32>)
    -> (tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0)
      : (tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>)
      -> (tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>)
  return %o, %s : tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>
}

// -----

// Head gate: exp(g[h]) is computed once per state head, outside the token
// loop, and applied to every row.
// CHECK-LABEL: func.func @la_head(
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<2xf32>)
// CHECK: scf.forall (%{{.*}}, %[[H:[a-z0-9_]+]]) in (%c1, 2) shared_outs(
// CHECK: %[[GH:[a-z0-9_]+]] = tensor.extract %[[G]][%[[H]]] : tensor<2xf32>
// CHECK: %[[DECAY:[a-z0-9_]+]] = math.exp %[[GH]] : f32
// CHECK: scf.for %{{.*}} = %c0 to %c4
// CHECK-NOT: math.exp
// CHECK: scf.for %{{.*}} = %c0 to %c16
// CHECK: %[[ROW:[a-z0-9_]+]] = vector.transfer_read {{.*}} : tensor<16x8xf32>, vector<8xf32>
// CHECK: %[[DV:[a-z0-9_]+]] = vector.broadcast %[[DECAY]] : f32 to vector<8xf32>
// CHECK: arith.mulf %[[ROW]], %[[DV]] : vector<8xf32>
// CHECK-NOT: math.exp
// CHECK: return
func.func @la_head(%q: tensor<1x4x2x16xf32>, %k: tensor<1x4x2x16xf32>, %v: tensor<1x4x2x8xf32>, %g: tensor<2xf32>)
    -> (tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x8xf32>, tensor<2xf32>)
      -> (tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>)
  return %o, %s : tensor<1x4x2x8xf32>, tensor<1x2x16x8xf32>
}

// -----

// Scalar gate (f16 like the inputs): exp(g[b, t, h]) once per token, before
// the row loop; f16 is extended to f32 first.
// CHECK-LABEL: func.func @la_scalar_f16(
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<1x4x2xf16>)
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 2) shared_outs({{.*}}) -> (tensor<1x4x2x8xf16>, tensor<1x2x16x8xf32>)
// CHECK: tensor.extract_slice {{.*}} : tensor<1x4x2x8xf16> to tensor<?x1x8xf16>
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4 {{.*}} -> (tensor<?x1x8xf16>, tensor<16x8xf32>)
// CHECK: %[[GT:[a-z0-9_]+]] = tensor.extract %[[G]][%[[B]], %[[T]], %[[H]]] : tensor<1x4x2xf16>
// CHECK: %[[GT32:[a-z0-9_]+]] = arith.extf %[[GT]] : f16 to f32
// CHECK: %[[DECAY:[a-z0-9_]+]] = math.exp %[[GT32]] : f32
// CHECK: scf.for %{{.*}} = %c0 to %c16
// CHECK-NOT: math.exp
// CHECK: vector.broadcast %[[DECAY]] : f32 to vector<8xf32>
// CHECK: %[[OH:[a-z0-9_]+]] = arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK: vector.transfer_write %[[OH]], %{{.*}}[%[[T]], %{{.*}}, %c0] {{.*}} : vector<8xf16>, tensor<?x1x8xf16>
// CHECK: tensor.parallel_insert_slice {{.*}} : tensor<?x1x8xf16> into tensor<1x4x2x8xf16>
// CHECK: return
func.func @la_scalar_f16(%q: tensor<1x4x2x16xf16>, %k: tensor<1x4x2x16xf16>, %v: tensor<1x4x2x8xf16>, %g: tensor<1x4x2xf16>)
    -> (tensor<1x4x2x8xf16>, tensor<1x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<1x4x2x16xf16>, tensor<1x4x2x16xf16>, tensor<1x4x2x8xf16>, tensor<1x4x2xf16>)
      -> (tensor<1x4x2x8xf16>, tensor<1x2x16x8xf32>)
  return %o, %s : tensor<1x4x2x8xf16>, tensor<1x2x16x8xf32>
}

// -----

// GQA: Hq = 4 query heads share Hv = Hk = 2 states, Ho = 4. Each state head
// feeds two output heads (2h and 2h + 1), so its output rows are
// o[b, :, 2h:2h+2, :], the row loop carries two accumulators and each token
// writes two output rows, r = 0 and r = 1 of the local rows.
// CHECK-LABEL: func.func @la_gqa(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x4x4x16xf32>
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 2) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x4x4x8xf32>, tensor<1x2x16x8xf32>)
// CHECK: %[[G0:[a-z0-9_]+]] = arith.muli %[[H]], %c2
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %[[G0]], 0] [1, %c4, 2, 8] [1, 1, 1, 1] : tensor<1x4x4x8xf32> to tensor<?x2x8xf32>
// CHECK: %[[TOK:[a-z0-9_]+]]:2 = scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4 step %{{.*}} iter_args(%[[OT:[a-z0-9_]+]] = %[[ROWS]], %{{.*}} = %{{.*}}) -> (tensor<?x2x8xf32>, tensor<16x8xf32>)
// CHECK: %[[BASE0:[a-z0-9_]+]] = arith.muli %[[H]], %c2
// CHECK: %[[OH0:[a-z0-9_]+]] = arith.addi %[[BASE0]], %c0
// CHECK: %[[QH0:[a-z0-9_]+]] = arith.divui %[[OH0]], %c1
// CHECK: %[[BASE1:[a-z0-9_]+]] = arith.muli %[[H]], %c2
// CHECK: %[[OH1:[a-z0-9_]+]] = arith.addi %[[BASE1]], %c1
// CHECK: %[[QH1:[a-z0-9_]+]] = arith.divui %[[OH1]], %c1
// CHECK: %[[RL:[a-z0-9_]+]]:3 = scf.for %[[I:[a-z0-9_]+]] = %c0 to %c16{{.*}} -> (tensor<16x8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: tensor.extract %[[Q]][%[[B]], %[[T]], %[[QH0]], %[[I]]]
// CHECK: tensor.extract %[[Q]][%[[B]], %[[T]], %[[QH1]], %[[I]]]
// CHECK: scf.yield {{.*}} : tensor<16x8xf32>, vector<8xf32>, vector<8xf32>
// CHECK: %[[R0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK: %[[W0:[a-z0-9_]+]] = vector.transfer_write %[[RL]]#1, %[[OT]][%[[T]], %[[R0]], %c0] {{.*}} : vector<8xf32>, tensor<?x2x8xf32>
// CHECK: %[[R1:[a-z0-9_]+]] = arith.constant 1 : index
// CHECK: %[[W1:[a-z0-9_]+]] = vector.transfer_write %[[RL]]#2, %[[W0]][%[[T]], %[[R1]], %c0] {{.*}} : vector<8xf32>, tensor<?x2x8xf32>
// CHECK: scf.yield %[[W1]], %[[RL]]#0 : tensor<?x2x8xf32>, tensor<16x8xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#0 into %[[OS]][%[[B]], 0, %[[G0]], 0] [1, %c4, 2, 8] [1, 1, 1, 1] : tensor<?x2x8xf32> into tensor<1x4x4x8xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %[[TOK]]#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<16x8xf32> into tensor<1x2x16x8xf32>
// CHECK: return
func.func @la_gqa(%q: tensor<1x4x4x16xf32>, %k: tensor<1x4x2x16xf32>, %v: tensor<1x4x2x8xf32>)
    -> (tensor<1x4x4x8xf32>, tensor<1x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x4x4x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x8xf32>)
      -> (tensor<1x4x4x8xf32>, tensor<1x2x16x8xf32>)
  return %o, %s : tensor<1x4x4x8xf32>, tensor<1x2x16x8xf32>
}

// -----

// GVA: Hq = 2, Hk = 1, Hv = Ho = 4. Output head h = state head h reads query
// head h / 2 and key head h / 4; one accumulator per state.
// CHECK-LABEL: func.func @la_gva(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x4x2x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x4x1x16xf32>
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]]) in (%c1, 4) shared_outs(%[[OS:[a-z0-9_]+]] = %{{.*}}, %[[SS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<1x4x4x8xf32>, tensor<1x4x16x8xf32>)
// CHECK: %[[G0:[a-z0-9_]+]] = arith.muli %[[H]], %c1
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %[[G0]], 0] [1, %c4, 1, 8] [1, 1, 1, 1] : tensor<1x4x4x8xf32> to tensor<?x1x8xf32>
// CHECK: %[[KH:[a-z0-9_]+]] = arith.divui %[[H]], %c4
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0 to %c4 step %{{.*}} iter_args(%[[OT:[a-z0-9_]+]] = %[[ROWS]], %{{.*}} = %{{.*}}) -> (tensor<?x1x8xf32>, tensor<16x8xf32>)
// CHECK: %[[BASE:[a-z0-9_]+]] = arith.muli %[[H]], %c1
// CHECK: %[[OH:[a-z0-9_]+]] = arith.addi %[[BASE]], %c0
// CHECK: %[[QH:[a-z0-9_]+]] = arith.divui %[[OH]], %c2
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %c16{{.*}} -> (tensor<16x8xf32>, vector<8xf32>)
// CHECK: tensor.extract %[[K]][%[[B]], %[[T]], %[[KH]], %[[I]]]
// CHECK: tensor.extract %[[Q]][%[[B]], %[[T]], %[[QH]], %[[I]]]
// CHECK: %[[R0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK: vector.transfer_write %{{.*}}, %[[OT]][%[[T]], %[[R0]], %c0] {{.*}} : vector<8xf32>, tensor<?x1x8xf32>
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}#0 into %[[OS]][%[[B]], 0, %[[G0]], 0] [1, %c4, 1, 8] [1, 1, 1, 1] : tensor<?x1x8xf32> into tensor<1x4x4x8xf32>
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}}#1 into %[[SS]][%[[B]], %[[H]], 0, 0] [1, 1, 16, 8] [1, 1, 1, 1] : tensor<16x8xf32> into tensor<1x4x16x8xf32>
// CHECK: return
func.func @la_gva(%q: tensor<1x4x2x16xf32>, %k: tensor<1x4x1x16xf32>, %v: tensor<1x4x4x8xf32>)
    -> (tensor<1x4x4x8xf32>, tensor<1x4x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x4x2x16xf32>, tensor<1x4x1x16xf32>, tensor<1x4x4x8xf32>)
      -> (tensor<1x4x4x8xf32>, tensor<1x4x16x8xf32>)
  return %o, %s : tensor<1x4x4x8xf32>, tensor<1x4x16x8xf32>
}

// -----

// Dynamic B and T: the forall and the token loop run to the sizes read from
// q, and the results are allocated with them.
// CHECK-LABEL: func.func @la_dynamic(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x2x16xf32>
// CHECK-DAG: %[[BQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c0 : tensor<?x?x2x16xf32>
// CHECK-DAG: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1 : tensor<?x?x2x16xf32>
// CHECK: %[[NB:[a-z0-9_]+]] = arith.select %{{.*}}, %[[BQ]], %c0
// CHECK-DAG: %[[OE:[a-z0-9_]+]] = tensor.empty(%[[NB]], %[[TQ]]) : tensor<?x?x2x8xf32>
// CHECK-DAG: %[[SE:[a-z0-9_]+]] = tensor.empty(%[[NB]]) : tensor<?x2x16x8xf32>
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %{{.*}}) in (%[[NB]], 2) shared_outs(%[[OS:[a-z0-9_]+]] = %[[OE]], %{{.*}} = %[[SE]]) -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>)
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %[[TQ]], 1, 8] [1, 1, 1, 1] : tensor<?x?x2x8xf32> to tensor<?x1x8xf32>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[TQ]] step %{{.*}} iter_args(%{{.*}} = %[[ROWS]], %{{.*}}) -> (tensor<?x1x8xf32>, tensor<16x8xf32>)
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %[[TQ]], 1, 8] [1, 1, 1, 1] : tensor<?x1x8xf32> into tensor<?x?x2x8xf32>
// CHECK: return
func.func @la_dynamic(%q: tensor<?x?x2x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>)
    -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>)
      -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>)
  return %o, %s : tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>
}
