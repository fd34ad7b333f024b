// RUN: mixir-opt %s -split-input-file -verify-diagnostics

// The verifier's rules for `all_states`.

func.func @final_state_shape(%q: tensor<2x9x2x8xf32>) {
  // expected-error @+1 {{'final_state' must be a rank-5 tensor [B, T, Hv, K, V], got 'tensor<2x2x8x8xf32>'}}
  %o, %s = mix.linear_attention %q, %q, %q gate none all_states
      : (tensor<2x9x2x8xf32>, tensor<2x9x2x8xf32>, tensor<2x9x2x8xf32>)
      -> (tensor<2x9x2x8xf32>, tensor<2x2x8x8xf32>)
  return
}

// -----

func.func @wrong_length(%q: tensor<2x9x2x8xf32>) {
  // expected-error @+1 {{'final_state' dim 1 (T)}}
  %o, %s = mix.linear_attention %q, %q, %q gate none all_states
      : (tensor<2x9x2x8xf32>, tensor<2x9x2x8xf32>, tensor<2x9x2x8xf32>)
      -> (tensor<2x9x2x8xf32>, tensor<2x8x2x8x8xf32>)
  return
}

// -----

func.func @chunked(%q: tensor<1x9x2x8xf32>) {
  // expected-error @+1 {{'all_states' returns the state after every token, which only the recurrent form computes; it takes no chunk_size > 0, got 16}}
  %o, %s = mix.recurrence %q, %q, %q gate none all_states {chunk_size = 16 : i64}
      : (tensor<1x9x2x8xf32>, tensor<1x9x2x8xf32>, tensor<1x9x2x8xf32>)
      -> (tensor<1x9x2x8xf32>, tensor<1x9x2x8x8xf32>)
  return
}

// -----

func.func @bidirectional(%q: tensor<1x9x2x8xf32>) {
  // expected-error @+1 {{'causal = false' has no state after every token ('all_states')}}
  %o, %s = mix.linear_attention %q, %q, %q gate none causal = false all_states
      : (tensor<1x9x2x8xf32>, tensor<1x9x2x8xf32>, tensor<1x9x2x8xf32>)
      -> (tensor<1x9x2x8xf32>, tensor<1x9x2x8x8xf32>)
  return
}
