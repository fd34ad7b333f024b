// RUN: mixir-opt %s --split-input-file --verify-diagnostics

// mix.attention_grad (made by mix-derive-backward) follows mix.attention's
// rules, and has a gate gradient exactly when it has a forget gate.
func.func @dg_without_gate(%q: tensor<?x?x2x8xf32>, %d: tensor<?x?x2x8xf32>) {
  // expected-error @+1 {{'mix.attention_grad' op has a result 'dg' exactly when it has a forget gate 'g'}}
  %a, %b, %c, %e = mix.attention_grad %q, %q, %q, %d causal : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2xf32>)
  return
}

// -----

func.func @negative_window(%q: tensor<?x?x2x8xf32>, %d: tensor<?x?x2x8xf32>) {
  // expected-error @+1 {{'mix.attention_grad' op 'window' must be >= 0 (0 means unlimited), got -1}}
  %a, %b, %c = mix.attention_grad %q, %q, %q, %d window = -1 : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>)
  return
}

// -----

// dk and dv are per query head: [B, S, Hq, K].
func.func @dk_per_key_head(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x8xf32>, %d: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{'mix.attention_grad' op 'dk' dim 2}}
  %a, %b, %c = mix.attention_grad %q, %k, %k, %d : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x4x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x4x8xf32>)
  return
}
