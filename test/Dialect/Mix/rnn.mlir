// RUN: mixir-opt %s | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | mixir-opt | FileCheck %s
// RUN: mixir-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of mix.rnn through the custom and the generic assembly, one
// function per cell. Operand segments: wx, r, b, initial_states.

// LSTM (G = 4) with bias and both initial states, bf16 input, f32 weights.
// CHECK-LABEL: func.func @lstm_bias_init
// CHECK-SAME: (%[[WX:.*]]: tensor<?x?x2x4x60xbf16>, %[[R:.*]]: tensor<2x4x60x60xf32>, %[[B:.*]]: tensor<2x4x60xbf16>, %[[H0:.*]]: tensor<?x2x60xf32>, %[[C0:.*]]: tensor<?x2x60xf32>)
// CHECK: %[[O:.*]], %[[S:.*]]:2 = mix.rnn lstm %[[WX]], %[[R]] bias(%[[B]]) init(%[[H0]], %[[C0]]) :
// CHECK-SAME: -> (tensor<?x?x2x60xbf16>, tensor<?x2x60xf32>, tensor<?x2x60xf32>)
// CHECK: return %[[O]], %[[S]]#0, %[[S]]#1
// GENERIC-LABEL: sym_name = "lstm_bias_init"
// GENERIC: "mix.rnn"
// GENERIC-SAME: cell = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 2>
func.func @lstm_bias_init(%wx: tensor<?x?x2x4x60xbf16>, %r: tensor<2x4x60x60xf32>, %b: tensor<2x4x60xbf16>,
                          %h0: tensor<?x2x60xf32>, %c0: tensor<?x2x60xf32>)
    -> (tensor<?x?x2x60xbf16>, tensor<?x2x60xf32>, tensor<?x2x60xf32>) {
  %h, %hT, %cT = mix.rnn lstm %wx, %r bias(%b) init(%h0, %c0)
      : (tensor<?x?x2x4x60xbf16>, tensor<2x4x60x60xf32>, tensor<2x4x60xbf16>, tensor<?x2x60xf32>, tensor<?x2x60xf32>)
      -> (tensor<?x?x2x60xbf16>, tensor<?x2x60xf32>, tensor<?x2x60xf32>)
  return %h, %hT, %cT : tensor<?x?x2x60xbf16>, tensor<?x2x60xf32>, tensor<?x2x60xf32>
}

// GRU (G = 3): no bias, no initial state; one final state.
// CHECK-LABEL: func.func @gru_plain
// CHECK: mix.rnn gru %{{.*}}, %{{.*}} : (tensor<1x5x1x3x8xf32>, tensor<1x3x8x8xf32>) -> (tensor<1x5x1x8xf32>, tensor<1x1x8xf32>)
// GENERIC-LABEL: sym_name = "gru_plain"
// GENERIC: cell = 1 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 0>
func.func @gru_plain(%wx: tensor<1x5x1x3x8xf32>, %r: tensor<1x3x8x8xf32>)
    -> (tensor<1x5x1x8xf32>, tensor<1x1x8xf32>) {
  %h, %hT = mix.rnn gru %wx, %r
      : (tensor<1x5x1x3x8xf32>, tensor<1x3x8x8xf32>) -> (tensor<1x5x1x8xf32>, tensor<1x1x8xf32>)
  return %h, %hT : tensor<1x5x1x8xf32>, tensor<1x1x8xf32>
}

// sLSTM (G = 4): four states (h, c, n, m), f16 input and weights.
// CHECK-LABEL: func.func @slstm_init
// CHECK: %{{.*}}, %{{.*}}:4 = mix.rnn slstm %{{.*}}, %{{.*}} init(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) :
// GENERIC-LABEL: sym_name = "slstm_init"
// GENERIC: cell = 2 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 4>
func.func @slstm_init(%wx: tensor<2x?x3x4x16xf16>, %r: tensor<3x4x16x16xf16>, %s: tensor<2x3x16xf32>)
    -> tensor<2x?x3x16xf16> {
  %o:5 = mix.rnn slstm %wx, %r init(%s, %s, %s, %s)
      : (tensor<2x?x3x4x16xf16>, tensor<3x4x16x16xf16>, tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x3x16xf32>)
      -> (tensor<2x?x3x16xf16>, tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x3x16xf32>)
  return %o#0 : tensor<2x?x3x16xf16>
}
