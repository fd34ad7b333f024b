// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// The lowering of mix.rnn: one scf.forall over (groups of 4 batch rows,
// heads), then one over (the remaining rows, heads). Per work item the
// head's r[h] [G, D_out, D_in] is copied once to f32 [G, D_in, D_out]; per
// step, phase 1 accumulates the G pre-activations of every row per output
// tile (16 lanes for a group, 64 for a single row) as vector FMAs over D_in,
// each weight row serving all rows, into a [rows, G, D] scratch tensor;
// phase 2 updates the f32 states per 64-lane tile and writes h.

// GRU, B = 6 (one group of 4, then 2 single rows), D = 100, bf16, initial
// state.
// CHECK-DAG: #[[TRANSPOSE:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-LABEL: func.func @gru_d100_bf16(
// CHECK-SAME: %[[WX:[a-z0-9]+]]: tensor<6x?x3x3x100xbf16>, %[[R:[a-z0-9]+]]: tensor<3x3x100x100xbf16>, %[[H0:[a-z0-9]+]]: tensor<6x3x100xf32>)
// CHECK: %[[GROUPS:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// CHECK: %[[GROUPED:.*]] = arith.muli %[[GROUPS]], %{{.*}} : index
// CHECK: %[[FIRST:.*]]:2 = scf.forall (%[[G:[a-z0-9]+]], %[[HH:[a-z0-9]+]]) in (%[[GROUPS]], 3) shared_outs(%[[O:[a-z0-9]+]] = %{{.*}}, %[[S:[a-z0-9]+]] = %{{.*}}) -> (tensor<6x?x3x100xbf16>, tensor<6x3x100xf32>)
// CHECK: %[[G4:.*]] = arith.muli %[[G]], %{{.*}} : index
// CHECK: %[[B0:.*]] = arith.addi %{{.*}}, %[[G4]] : index
// h's rows are sliced at full rank, then the unit head dim is collapsed (a
// rank-reducing slice would be ambiguous for a single row).
// CHECK: %[[HROWS:.*]] = tensor.extract_slice %[[O]][%[[B0]], 0, %[[HH]], 0] [4, %{{.*}}, 1, 100] [1, 1, 1, 1] : tensor<6x?x3x100xbf16> to tensor<4x?x1x100xbf16>
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[HROWS]] {{\[}}[0], [1], [2, 3]] : tensor<4x?x1x100xbf16> into tensor<4x?x100xbf16>
// CHECK: %[[STATE:.*]] = tensor.extract_slice %[[S]][%[[B0]], %[[HH]], 0] [4, 1, 100] [1, 1, 1] : tensor<6x3x100xf32> to tensor<4x100xf32>
// CHECK: %[[FROM:.*]] = tensor.extract_slice %[[H0]][%[[B0]], %[[HH]], 0] [4, 1, 100]
// CHECK: %[[HINIT:.*]] = linalg.copy ins(%[[FROM]] : tensor<4x100xf32>) outs(%[[STATE]] : tensor<4x100xf32>)
// The weights, once per work item, before the loop over T.
// CHECK: %[[RH:.*]] = tensor.extract_slice %[[R]][%[[HH]], 0, 0, 0] [1, 3, 100, 100] [1, 1, 1, 1] : tensor<3x3x100x100xbf16> to tensor<3x100x100xbf16>
// CHECK: %[[W:.*]] = linalg.generic {indexing_maps = [#[[TRANSPOSE]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[RH]] : tensor<3x100x100xbf16>) outs(%{{.*}} : tensor<3x100x100xf32>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[PRE0:.*]] = tensor.empty() : tensor<4x3x100xf32>
// CHECK: scf.for %[[T:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[RW:[a-z0-9]+]] = %[[ROWS]], %[[H:[a-z0-9]+]] = %[[HINIT]], %[[PRE:[a-z0-9]+]] = %[[PRE0]]) -> (tensor<4x?x100xbf16>, tensor<4x100xf32>, tensor<4x3x100xf32>)
// Phase 1: six full 16-lane tiles. Per row, r and z start from wx, n from
// zero (its wx comes after the reset gate).
// CHECK: scf.for %[[TILE:[a-z0-9_]+]] = %{{.*}} to %c6{{.*}} iter_args(%{{.*}} = %[[PRE]]) -> (tensor<4x3x100xf32>)
// CHECK: %[[D0:.*]] = arith.muli %[[TILE]], %c16 : index
// CHECK: vector.transfer_read %[[WX]][%[[B0]], %[[T]], %[[HH]], %{{.*}}, %[[D0]]], {{.*}} : tensor<6x?x3x3x100xbf16>, vector<16xbf16>
// CHECK: vector.transfer_read %[[WX]][%[[B0]], %[[T]], %[[HH]], %{{.*}}, %[[D0]]], {{.*}} : tensor<6x?x3x3x100xbf16>, vector<16xbf16>
// CHECK: %[[B1:.*]] = arith.addi %[[B0]], %{{.*}} : index
// CHECK: vector.transfer_read %[[WX]][%[[B1]], %[[T]], %[[HH]], %{{.*}}, %[[D0]]]
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %c100{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// One load per gate's weight row, then per row h[r, i] broadcast and G FMAs.
// CHECK: %[[ROW0:.*]] = vector.transfer_read %[[W]][%{{.*}}, %[[I]], %[[D0]]], {{.*}} : tensor<3x100x100xf32>, vector<16xf32>
// CHECK: vector.transfer_read %[[W]][%{{.*}}, %[[I]], %[[D0]]]
// CHECK: vector.transfer_read %[[W]][%{{.*}}, %[[I]], %[[D0]]]
// CHECK-NOT: vector.transfer_read
// CHECK: %[[HI:.*]] = tensor.extract %[[H]][%{{.*}}, %[[I]]] : tensor<4x100xf32>
// CHECK: %[[HS:.*]] = vector.broadcast %[[HI]] : f32 to vector<16xf32>
// CHECK: vector.fma %[[HS]], %[[ROW0]], %{{.*}} : vector<16xf32>
// CHECK-COUNT-11: vector.fma
// CHECK-NEXT: scf.yield
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %[[D0]]] {{.*}} : vector<16xf32>, tensor<4x3x100xf32>
// The 4-lane remainder tile at 96.
// CHECK: scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.transfer_read %[[W]][%{{.*}}, %{{.*}}, %c96], {{.*}} : tensor<3x100x100xf32>, vector<4xf32>
// Phase 2, first 64-lane tile of row 0: the old h, wx of the n gate, two
// sigmoids, the tanh (from exp(-2|x|)), h = z (h - n) + n; h out in bf16,
// the state in f32.
// CHECK: vector.transfer_read %[[H]][%[[R0:[a-z0-9_]+]], %[[D1:[a-z0-9_]+]]], {{.*}} : tensor<4x100xf32>, vector<64xf32>
// CHECK: vector.transfer_read %[[WX]][%[[B0]], %[[T]], %[[HH]], %{{.*}}, %[[D1]]], {{.*}} : tensor<6x?x3x3x100xbf16>, vector<64xbf16>
// CHECK-COUNT-2: math.exp
// CHECK: math.exp
// CHECK: math.copysign
// CHECK: %[[HN:.*]] = vector.fma %{{.*}} : vector<64xf32>
// CHECK: %[[HB:.*]] = arith.truncf %[[HN]] : vector<64xf32> to vector<64xbf16>
// CHECK: vector.transfer_write %[[HB]], %[[RW]][%[[R0]], %[[T]], %[[D1]]] {{.*}} : vector<64xbf16>, tensor<4x?x100xbf16>
// CHECK: vector.transfer_write %[[HN]], %[[H]][%[[R0]], %[[D1]]] {{.*}} : vector<64xf32>, tensor<4x100xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<36xbf16>, tensor<4x?x100xbf16>
// CHECK: vector.transfer_write %{{.*}} : vector<36xf32>, tensor<4x100xf32>
// CHECK: %[[HOUT:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [4, %{{.*}}, 1, 100] : tensor<4x?x100xbf16> into tensor<4x?x1x100xbf16>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %[[HOUT]] into %[[O]][%[[B0]], 0, %[[HH]], 0] [4, %{{.*}}, 1, 100]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[S]][%[[B0]], %[[HH]], 0] [4, 1, 100]
// The remaining rows one by one, from row GROUPED on, into the first
// forall's results; 64-lane tiles (64 and 36) for a single row.
// CHECK: %[[REST:.*]] = arith.subi %{{.*}}, %[[GROUPED]] : index
// CHECK: scf.forall (%[[RI:[a-z0-9]+]], %{{.*}}) in (%[[REST]], 3) shared_outs(%{{.*}} = %[[FIRST]]#0, %{{.*}} = %[[FIRST]]#1)
// CHECK: %[[RI1:.*]] = arith.muli %[[RI]], %{{.*}} : index
// CHECK: arith.addi %[[GROUPED]], %[[RI1]] : index
// CHECK: tensor.extract_slice {{.*}} [1, %{{.*}}, 1, 100] [1, 1, 1, 1] : tensor<6x?x3x100xbf16> to tensor<1x?x1x100xbf16>
// CHECK: scf.for {{.*}} -> (vector<64xf32>, vector<64xf32>, vector<64xf32>)
// CHECK: scf.for {{.*}} -> (vector<36xf32>, vector<36xf32>, vector<36xf32>)
// CHECK: scf.forall.in_parallel
func.func @gru_d100_bf16(%wx: tensor<6x?x3x3x100xbf16>, %r: tensor<3x3x100x100xbf16>, %h0: tensor<6x3x100xf32>)
    -> (tensor<6x?x3x100xbf16>, tensor<6x3x100xf32>) {
  %h, %s = mix.rnn gru %wx, %r init(%h0)
      : (tensor<6x?x3x3x100xbf16>, tensor<3x3x100x100xbf16>, tensor<6x3x100xf32>) -> (tensor<6x?x3x100xbf16>, tensor<6x3x100xf32>)
  return %h, %s : tensor<6x?x3x100xbf16>, tensor<6x3x100xf32>
}

// -----

// LSTM, f32, D = 64 (one tile), bias: each gate's accumulator starts from
// wx + b; no initial state: h and c start from zero; c then h = o tanh(c).
// The second forall (single rows) is checked; the first differs in tiles.
// CHECK-LABEL: func.func @lstm_bias(
// CHECK-SAME: %[[WX:[a-z0-9]+]]: tensor<?x?x2x4x64xf32>, %[[R:[a-z0-9]+]]: tensor<2x4x64x64xf32>, %[[B:[a-z0-9]+]]: tensor<2x4x64xf32>)
// CHECK: scf.forall
// CHECK: scf.forall (%{{.*}}, %[[HH:[a-z0-9]+]]) in
// CHECK-COUNT-2: linalg.fill
// CHECK: linalg.generic
// CHECK-NOT: arith.extf
// CHECK: linalg.yield
// CHECK: scf.for
// CHECK-COUNT-4: vector.transfer_read %[[B]][%[[HH]],
// CHECK: scf.for {{.*}} -> (vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>)
// CHECK-COUNT-4: vector.fma
// CHECK: scf.yield
// CHECK-NOT: arith.select
// CHECK: math.copysign
// CHECK: math.copysign
// CHECK-NOT: vector<36xf32>
// CHECK: scf.forall.in_parallel
// CHECK-COUNT-3: tensor.parallel_insert_slice
func.func @lstm_bias(%wx: tensor<?x?x2x4x64xf32>, %r: tensor<2x4x64x64xf32>, %b: tensor<2x4x64xf32>)
    -> (tensor<?x?x2x64xf32>, tensor<?x2x64xf32>, tensor<?x2x64xf32>) {
  %h, %s:2 = mix.rnn lstm %wx, %r bias(%b)
      : (tensor<?x?x2x4x64xf32>, tensor<2x4x64x64xf32>, tensor<2x4x64xf32>) -> (tensor<?x?x2x64xf32>, tensor<?x2x64xf32>, tensor<?x2x64xf32>)
  return %h, %s#0, %s#1 : tensor<?x?x2x64xf32>, tensor<?x2x64xf32>, tensor<?x2x64xf32>
}

// -----

// sLSTM without initial states: the first step takes m = a_i (a select on
// t == 0); log sigmoid of the forget gate through log1p; h = o c / n.
// CHECK-LABEL: func.func @slstm_first_step(
// CHECK: scf.for %[[T:[a-z0-9]+]] = {{.*}} -> (tensor<4x?x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x4x16xf32>)
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %{{.*}} : index
// CHECK: math.log1p
// CHECK: %[[MAX:.*]] = arith.maximumf
// CHECK: %[[M:.*]] = arith.select %[[FIRST]], %{{.*}}, %[[MAX]] : vector<16xf32>
// CHECK: arith.divf
// CHECK: vector.transfer_write %[[M]]
func.func @slstm_first_step(%wx: tensor<1x?x1x4x16xf32>, %r: tensor<1x4x16x16xf32>)
    -> tensor<1x?x1x16xf32> {
  %h, %s:4 = mix.rnn slstm %wx, %r
      : (tensor<1x?x1x4x16xf32>, tensor<1x4x16x16xf32>)
      -> (tensor<1x?x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>)
  return %h : tensor<1x?x1x16xf32>
}

// -----

// sLSTM with initial states: the max rule from the first step, no select.
// CHECK-LABEL: func.func @slstm_init(
// CHECK-COUNT-4: linalg.copy
// CHECK: arith.maximumf
// CHECK-NOT: arith.select
// CHECK: return
func.func @slstm_init(%wx: tensor<1x?x1x4x16xf32>, %r: tensor<1x4x16x16xf32>, %s0: tensor<1x1x16xf32>)
    -> tensor<1x?x1x16xf32> {
  %h, %s:4 = mix.rnn slstm %wx, %r init(%s0, %s0, %s0, %s0)
      : (tensor<1x?x1x4x16xf32>, tensor<1x4x16x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>)
      -> (tensor<1x?x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>)
  return %h : tensor<1x?x1x16xf32>
}
