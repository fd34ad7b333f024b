// RUN: mixir-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of mix.rnn. Unless a case says otherwise,
// B = 2, T = 8, H = 2, D = 16.

func.func @unknown_cell(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'cell' [lstm, gru, slstm]}}
  %h, %s:2 = mix.rnn rnn %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @gru_with_four_gates(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op cell 'gru' has 3 gates, but 'wx' dim 3 (G) is 4}}
  %h, %s = mix.rnn gru %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @lstm_with_three_gates(%wx: tensor<2x8x2x3x16xf32>, %r: tensor<2x3x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op cell 'lstm' has 4 gates, but 'wx' dim 3 (G) is 3}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x3x16xf32>, tensor<2x3x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @r_gates_differ(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x3x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'r' dim 1 (G) is 3, but 'wx' dim 3 is 4}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<2x3x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

// r must be square per gate: [D_out, D_in] with D_out = D_in = D.
func.func @r_not_square(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x32xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'r' dim 3 (D) is 32, but 'wx' dim 4 is 16}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x32xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @r_heads_differ(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<3x4x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'r' dim 0 (H) is 3, but 'wx' dim 2 is 2}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<3x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @bias_wrong_d(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>, %b: tensor<2x4x8xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'b' dim 2 (D) is 8, but 'wx' dim 4 is 16}}
  %h, %s:2 = mix.rnn lstm %wx, %r bias(%b)
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x8xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @wx_rank4(%wx: tensor<2x8x2x64xf32>, %r: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'wx' must be a rank-5 tensor [B, T, H, G, D], got 'tensor<2x8x2x64xf32>'}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x64xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @dynamic_d(%wx: tensor<2x8x2x4x?xf32>, %r: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'wx' dim 4 (D) must be static}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x?xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @lstm_one_initial_state(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>, %h0: tensor<2x2x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op cell 'lstm' takes 2 initial states (h, c) or none, got 1}}
  %h, %s:2 = mix.rnn lstm %wx, %r init(%h0)
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x2x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @gru_two_final_states(%wx: tensor<2x8x2x3x16xf32>, %r: tensor<2x3x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op cell 'gru' returns 1 final state (h) after 'h', got 2}}
  %h, %s:2 = mix.rnn gru %wx, %r
      : (tensor<2x8x2x3x16xf32>, tensor<2x3x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @slstm_two_final_states(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op cell 'slstm' returns 4 final states (h, c, n, m) after 'h', got 2}}
  %h, %s:2 = mix.rnn slstm %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @initial_state_wrong_heads(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>, %h0: tensor<2x2x16xf32>, %c0: tensor<2x3x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'c0' dim 1 (H) is 3, but 'wx' dim 2 is 2}}
  %h, %s:2 = mix.rnn lstm %wx, %r init(%h0, %c0)
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x2x16xf32>, tensor<2x3x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @final_state_wrong_d(%wx: tensor<2x8x2x4x16xf32>, %r: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{'mix.rnn' op 'final_c' dim 2 (D) is 8, but 'wx' dim 4 is 16}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x16xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x8xf32>)
  return
}

// -----

func.func @r_other_element_type(%wx: tensor<2x8x2x4x16xbf16>, %r: tensor<2x4x16x16xf16>) {
  // expected-error @+1 {{'mix.rnn' op 'r' has element type 'f16', expected 'bf16' (the element type of 'wx') or f32}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x16xbf16>, tensor<2x4x16x16xf16>) -> (tensor<2x8x2x16xbf16>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @h_other_element_type(%wx: tensor<2x8x2x4x16xbf16>, %r: tensor<2x4x16x16xbf16>) {
  // expected-error @+1 {{'mix.rnn' op 'h' has element type 'f32', expected 'bf16' (the element type of 'wx')}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<2x8x2x4x16xbf16>, tensor<2x4x16x16xbf16>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>, tensor<2x2x16xf32>)
  return
}

// -----

func.func @f16_state(%wx: tensor<2x8x2x3x16xf32>, %r: tensor<2x3x16x16xf32>, %h0: tensor<2x2x16xf16>) {
  // expected-error @+1 {{'mix.rnn' op operand #2 must be variadic of ranked tensor of 32-bit float values}}
  %h, %s = mix.rnn gru %wx, %r init(%h0)
      : (tensor<2x8x2x3x16xf32>, tensor<2x3x16x16xf32>, tensor<2x2x16xf16>) -> (tensor<2x8x2x16xf32>, tensor<2x2x16xf32>)
  return
}
