// RUN: mixir-opt %s --split-input-file --verify-diagnostics --mix-derive-backward

// expected-error @+1 {{mix.derive_backward: @two must hold exactly one mix op and return some of its results}}
func.func @two(%x: tensor<?x?x4xf32>, %g: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> attributes {mix.derive_backward} {
  %o, %h = mix.scan %x, %g : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
  %p, %i = mix.scan %o, %g : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
  return %p : tensor<?x?x4xf32>
}

// -----

// Non-causal (and normalised) linear attention has no derived backward yet.
func.func @bidirectional(%q: tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the backward of mix.linear_attention with 'causal = false' or 'normalize' is not derived yet}}
  %o, %s = mix.linear_attention %q, %q, %q gate none causal = false : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x2x8xf32>
}

// -----

// mix.rnn (a non-linear cell) has no derived backward either.
func.func @rnn(%wx: tensor<?x?x2x4x16xf32>, %r: tensor<2x4x16x16xf32>) -> tensor<?x?x2x16xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the backward of 'mix.rnn' is not derived yet (derived: mix.linear_attention, mix.scan, mix.recurrence, mix.delta_rule, mix.attention)}}
  %h, %s:2 = mix.rnn lstm %wx, %r : (tensor<?x?x2x4x16xf32>, tensor<2x4x16x16xf32>) -> (tensor<?x?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>)
  return %h : tensor<?x?x2x16xf32>
}

// -----

func.func @clash_backward() {
  return
}

// expected-error @+1 {{mix.derive_backward: @clash_backward already exists}}
func.func @clash(%x: tensor<?x?x4xf32>, %g: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> attributes {mix.derive_backward} {
  %o, %h = mix.scan %x, %g : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
  return %o : tensor<?x?x4xf32>
}

// -----

// A signed decay's gradient would be dL/dg divided by the decay.
func.func @signed(%q: tensor<?x?x2x8xf32>, %g: tensor<?x?x2xf32>) -> tensor<?x?x2x8xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the gradient of a signed decay ('decay signed') is not derived: it is dL/dd = dL/dg / d, unusable near d = 0; use 'decay log'}}
  %o, %s = mix.recurrence %q, %q, %q gate scalar(%g) decay signed : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x2x8xf32>
}

// -----

// A state pool is read and written in place: its gradient has no operand.
func.func @pool(%q: tensor<?x?x2x8xf32>, %pool: tensor<?x2x8x8xf32>, %idx: tensor<?xi32>) -> tensor<?x?x2x8xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the backward of a state pool ('indices', state_indices) is not derived (the pool is read and written in place); pass each sequence's state as a dense initial state, [N, Hv, K, V] with 'varlen' (packed sequences have a derived backward)}}
  %o, %s = mix.linear_attention %q, %q, %q gate none init(%pool) indices(%idx) : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x2x8x8xf32>, tensor<?xi32>) -> (tensor<?x?x2x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x2x8xf32>
}

// -----

func.func @kv_cache(%q: tensor<?x1x2x8xf32>, %k: tensor<?x?x2x8xf32>, %lens: tensor<?xi32>) -> tensor<?x1x2x8xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the backward of attention over a KV cache ('kv_lens', for decoding) is not derived}}
  %o = mix.attention %q, %k, %k kv_lens(%lens) causal
      : (tensor<?x1x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?xi32>) -> tensor<?x1x2x8xf32>
  return %o : tensor<?x1x2x8xf32>
}
