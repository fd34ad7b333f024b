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

// -----

// Packed sequences and state pools: the static sizes that contradict them.

func.func @packed_batch(%x: tensor<2x?x8xf32>, %w: tensor<8x4xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'mix.causal_conv1d' op packs sequences along T with 'cu_seqlens', so the batch (B) must be 1, got 2}}
  %y, %n = mix.causal_conv1d %x, %w varlen(%cu) : (tensor<2x?x8xf32>, tensor<8x4xf32>, tensor<3xi32>) -> (tensor<2x?x8xf32>, tensor<?x8x3xf32>)
  return
}

// -----

func.func @packed_state_count(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %s: tensor<3x8x3xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'mix.causal_conv1d' op 'cu_seqlens' holds 3 offsets, so N = 2 sequences, but the states have N = 3 (dim 0 of 'conv_state' and 'final_conv_state')}}
  %y, %n = mix.causal_conv1d %x, %w state(%s) varlen(%cu) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<3x8x3xf32>, tensor<3xi32>) -> (tensor<1x?x8xf32>, tensor<3x8x3xf32>)
  return
}

// -----

func.func @packed_states_disagree(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %s: tensor<2x8x3xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{'mix.causal_conv1d' op 'final_conv_state' dim 0 (N) is 3, but 'conv_state' dim 0 is 2}}
  %y, %n = mix.causal_conv1d %x, %w state(%s) varlen(%cu) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<2x8x3xf32>, tensor<?xi32>) -> (tensor<1x?x8xf32>, tensor<3x8x3xf32>)
  return
}

// -----

func.func @indices_without_pool(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %cu: tensor<3xi32>, %idx: tensor<2xi32>) {
  // expected-error @+1 {{'mix.causal_conv1d' op 'state_indices' needs the state pool as 'conv_state' (state(%pool) indices(%idx))}}
  %y, %n = mix.causal_conv1d %x, %w varlen(%cu) indices(%idx) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<3xi32>, tensor<2xi32>) -> (tensor<1x?x8xf32>, tensor<4x8x3xf32>)
  return
}

// -----

func.func @indices_count(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %pool: tensor<6x8x3xf32>, %cu: tensor<3xi32>, %idx: tensor<3xi32>) {
  // expected-error @+1 {{'mix.causal_conv1d' op 'state_indices' holds 3 slots, but there are 2 sequences ('cu_seqlens' dim 0 - 1)}}
  %y, %n = mix.causal_conv1d %x, %w state(%pool) varlen(%cu) indices(%idx) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<6x8x3xf32>, tensor<3xi32>, tensor<3xi32>) -> (tensor<1x?x8xf32>, tensor<6x8x3xf32>)
  return
}

// -----

func.func @pool_result(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %pool: tensor<6x8x3xf32>, %idx: tensor<1xi32>) {
  // expected-error @+1 {{'mix.causal_conv1d' op 'final_conv_state' dim 0 (P) is 1, but 'conv_state' dim 0 is 6}}
  %y, %n = mix.causal_conv1d %x, %w state(%pool) indices(%idx) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<6x8x3xf32>, tensor<1xi32>) -> (tensor<1x?x8xf32>, tensor<1x8x3xf32>)
  return
}

// -----

func.func @pool_width(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %pool: tensor<?x8x2xf32>, %cu: tensor<?xi32>, %idx: tensor<?xi32>) {
  // expected-error @+1 {{the conv state holds W - 1 = 3 inputs, but its dim 2 is 2}}
  %y, %n = mix.causal_conv1d %x, %w state(%pool) varlen(%cu) indices(%idx) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<?x8x2xf32>, tensor<?xi32>, tensor<?xi32>) -> (tensor<1x?x8xf32>, tensor<?x8x2xf32>)
  return
}

// -----

func.func @offsets_type(%x: tensor<1x?x8xf32>, %w: tensor<8x4xf32>, %cu: tensor<3xf32>) {
  // expected-error @+1 {{operand #2 must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %y, %n = mix.causal_conv1d %x, %w varlen(%cu) : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<3xf32>) -> (tensor<1x?x8xf32>, tensor<?x8x3xf32>)
  return
}
