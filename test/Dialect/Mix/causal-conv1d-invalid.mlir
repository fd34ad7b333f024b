// RUN: mixir-opt %s --split-input-file --verify-diagnostics

func.func @too_many_taps(%x: tensor<?x?x8xf32>, %w: tensor<8x9xf32>) {
  // expected-error @+1 {{'w' dim 1 (W, the taps) must be in [2, 8], got 9}}
  %y, %n = mix.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x9xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x8xf32>)
  return
}

// -----

func.func @state_width(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %s: tensor<?x8x4xf32>) {
  // expected-error @+1 {{the conv state holds W - 1 = 3 inputs, but its dim 2 is 4}}
  %y, %n = mix.causal_conv1d %x, %w state(%s) : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x8x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x4xf32>)
  return
}

// -----

func.func @channels(%x: tensor<?x?x8xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{'w' dim 0 (D) is 6, but 'x' dim 2 is 8}}
  %y, %n = mix.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<6x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x3xf32>)
  return
}

// -----

func.func @state_type(%x: tensor<?x?x8xbf16>, %w: tensor<8x4xbf16>, %s: tensor<?x8x3xf32>) {
  // expected-error @+1 {{'conv_state' has element type 'f32', expected 'bf16'}}
  %y, %n = mix.causal_conv1d %x, %w state(%s) : (tensor<?x?x8xbf16>, tensor<8x4xbf16>, tensor<?x8x3xf32>) -> (tensor<?x?x8xbf16>, tensor<?x8x3xbf16>)
  return
}
