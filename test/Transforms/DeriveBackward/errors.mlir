// RUN: mixir-opt %s --split-input-file --verify-diagnostics --mix-derive-backward

// expected-error @+1 {{mix.derive_backward: @two must hold exactly one mix op and return some of its results}}
func.func @two(%x: tensor<?x?x4xf32>, %g: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> attributes {mix.derive_backward} {
  %o, %h = mix.scan %x, %g : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
  %p, %i = mix.scan %o, %g : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
  return %p : tensor<?x?x4xf32>
}

// -----

func.func @delta(%q: tensor<?x?x2x8xf32>, %b: tensor<?x?x2xf32>) -> tensor<?x?x2x8xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the backward of 'mix.delta_rule' is not derived yet (derived: mix.linear_attention, mix.scan)}}
  %o, %s = mix.delta_rule %q, %q, %q, %b gate none : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x2x8x8xf32>)
  return %o : tensor<?x?x2x8xf32>
}

// -----

// mix.rnn (a non-linear cell) has no derived backward either.
func.func @rnn(%wx: tensor<?x?x2x4x16xf32>, %r: tensor<2x4x16x16xf32>) -> tensor<?x?x2x16xf32> attributes {mix.derive_backward} {
  // expected-error @+1 {{mix.derive_backward: the backward of 'mix.rnn' is not derived yet (derived: mix.linear_attention, mix.scan)}}
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
