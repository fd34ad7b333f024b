// RUN: mixir-opt %s --split-input-file --mix-derive-backward | FileCheck %s

// Packed sequences (varlen): the backward is the unpacked one's, with every
// mix op packed. Ops over forward time (the re-run forward, dq's read) take
// the op's offsets; the reverse recurrences and the reverse cumulative sum
// of the gate gradient run over the reversed token axis, packed by the
// reversed offsets T - cu[N - i]. The sequence of each token is counted
// once from the interior offsets (a reduction over them), and d final_state
// enters the reverse recurrence with its sequences reversed. The offsets
// get a zero gradient.
// CHECK-LABEL: func.func @gla_backward(
// CHECK-SAME:    %[[Q:[a-z0-9]+]]: tensor<?x?x2x6xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x2x6xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x2x3xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x2xf32>, %[[S0:[a-z0-9]+]]: tensor<?x2x6x3xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>, %[[DO:[a-z0-9]+]]: tensor<?x?x2x3xf32>, %[[DS:[a-z0-9]+]]: tensor<?x2x6x3xf32>)
// CHECK-SAME:    -> (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x2x6x3xf32>, tensor<?xi32>)
// CHECK:         mix.recurrence %[[Q]], %[[K]], %[[V]] gate scalar(%[[G]]) init(%[[S0]]) varlen(%[[CU]]) scale = 2.500000e-01
// CHECK:         %[[REV:.*]] = linalg.generic {{[^(]*}} outs(%{{.*}} : tensor<?xi32>)
// CHECK:           %[[AT:.*]] = tensor.extract %[[CU]][%{{.*}}] : tensor<?xi32>
// CHECK:           arith.subi %{{.*}}, %[[AT]] : i32
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<?xi64>) outs(%{{.*}} : tensor<?xi64>)
// CHECK:           arith.cmpi sle
// CHECK:         %[[DSR:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2x6x3xf32>)
// CHECK:           tensor.extract %[[DS]]
// CHECK:         mix.recurrence {{.*}} gate scalar({{.*}}) init(%[[DSR]]) varlen(%[[REV]]) scale = 1.000000e+00
// CHECK:         mix.recurrence {{.*}} gate scalar({{.*}}) init(%{{.*}}) varlen(%[[REV]]) scale = 1.000000e+00
// CHECK:         mix.recurrence %[[DO]], %[[V]], %[[K]] gate scalar(%[[G]]) init(%{{.*}}) varlen(%[[CU]]) scale = 2.500000e-01
// CHECK:         mix.scan %{{.*}}, %{{.*}} varlen(%[[REV]])
// CHECK:         %[[DCU:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<?xi32>)
// CHECK:         return {{.*}}, %[[DCU]] :
func.func @gla(%q: tensor<?x?x2x6xf32>, %k: tensor<?x?x2x6xf32>, %v: tensor<?x?x2x3xf32>, %g: tensor<?x?x2xf32>, %s0: tensor<?x2x6x3xf32>, %cu: tensor<?xi32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>) attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) init(%s0) varlen(%cu) scale = 0.25 : (tensor<?x?x2x6xf32>, tensor<?x?x2x6xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<?x2x6x3xf32>, tensor<?xi32>) -> (tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>)
  return %o, %s : tensor<?x?x2x3xf32>, tensor<?x2x6x3xf32>
}

// -----

// mix.scan: the scan of do over reversed time runs on the reversed
// offsets from d final_state (sequences reversed), the forward re-run on
// the op's own (int64 offsets here).
// CHECK-LABEL: func.func @hgrn_backward(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x?x16xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x16xf32>, %[[H0:[a-z0-9]+]]: tensor<?x16xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi64>, %[[DO:[a-z0-9]+]]: tensor<?x?x16xf32>, %[[DH:[a-z0-9]+]]: tensor<?x16xf32>)
// CHECK:         %[[REV:.*]] = linalg.generic {{[^(]*}} outs(%{{.*}} : tensor<?xi64>)
// CHECK:           tensor.extract %[[CU]]
// CHECK:         %[[DHR:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x16xf32>)
// CHECK:           tensor.extract %[[DH]]
// CHECK:         mix.scan %{{.*}}, %{{.*}} init(%[[DHR]]) varlen(%[[REV]])
// CHECK:         mix.scan %[[X]], %[[G]] init(%[[H0]]) varlen(%[[CU]])
// CHECK:         return
func.func @hgrn(%x: tensor<?x?x16xf32>, %g: tensor<?x?x16xf32>, %h0: tensor<?x16xf32>, %cu: tensor<?xi64>) -> (tensor<?x?x16xf32>, tensor<?x16xf32>) attributes {mix.derive_backward} {
  %o, %h = mix.scan %x, %g init(%h0) varlen(%cu) : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x16xf32>, tensor<?xi64>) -> (tensor<?x?x16xf32>, tensor<?x16xf32>)
  return %o, %h : tensor<?x?x16xf32>, tensor<?x16xf32>
}

// -----

// mix.delta_rule (Gated DeltaNet): its mix.recurrence form is packed, so
// every low-rank recurrence of the backward is: the reverse one (normal
// and transposed reads) on the reversed offsets, the shifted forward one
// and dq's read on the op's.
// CHECK-LABEL: func.func @gdn_backward(
// CHECK-SAME:    %[[CU:[a-z0-9]+]]: tensor<?xi32>, %{{.*}}: tensor<?x?x2x8xf32>)
// CHECK:         %[[REV:.*]] = linalg.generic {{[^(]*}} outs(%{{.*}} : tensor<?xi32>)
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate scalar({{.*}}) varlen(%[[REV]])
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate scalar({{.*}}) varlen(%[[CU]])
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate scalar({{.*}}) read transposed varlen(%[[REV]])
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate scalar({{.*}}) read transposed varlen(%[[CU]])
// CHECK:         mix.recurrence {{.*}} lowrank({{.*}}) gate scalar({{.*}}) read transposed varlen(%[[CU]])
// CHECK:         mix.scan {{.*}} varlen(%[[REV]])
// CHECK:         return
func.func @gdn(%q: tensor<?x?x2x8xf32>, %beta: tensor<?x?x2xf32>, %g: tensor<?x?x2xf32>, %cu: tensor<?xi32>) -> tensor<?x?x2x8xf32> attributes {mix.derive_backward} {
  %o, %s = mix.delta_rule %q, %q, %q, %beta gate scalar(%g) varlen(%cu) qk_l2norm : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<?xi32>) -> (tensor<?x?x2x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x2x8xf32>
}

// -----

// Packed softmax attention: mix.attention_grad takes the forward's offsets;
// the forget gate's gradient is a reverse cumulative sum of dG that stops at
// each sequence's first token (a packed mix.scan over reversed time).
// CHECK-LABEL: func.func @fox_varlen_backward(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<1x?x2x8xf32>, %[[G:[a-z0-9]+]]: tensor<1x?x4xf32>, %[[CU:[a-z0-9]+]]: tensor<?xi32>, %[[DO:[a-z0-9]+]]: tensor<1x?x4x8xf32>)
// CHECK: %[[DQ:.*]], %{{.*}}, %{{.*}}, %[[DG:.*]] = mix.attention_grad %[[Q]], %[[K]], %[[V]], %[[DO]] forget(%[[G]]) varlen(%[[CU]]) causal
// CHECK: mix.scan %{{.*}}, %{{.*}} varlen(%{{.*}})
// CHECK: return %[[DQ]]
func.func @fox_varlen(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>, %g: tensor<1x?x4xf32>, %cu: tensor<?xi32>) -> tensor<1x?x4x8xf32> attributes {mix.derive_backward} {
  %o = mix.attention %q, %k, %v forget(%g) varlen(%cu) causal
      : (tensor<1x?x4x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>, tensor<1x?x4xf32>, tensor<?xi32>) -> tensor<1x?x4x8xf32>
  return %o : tensor<1x?x4x8xf32>
}
