// RUN: mixir-opt %s -split-input-file -verify-diagnostics

// Verifier errors of packed sequences (`varlen(%cu)`): the static sizes that
// contradict a packing of N = len(cu) - 1 sequences in a batch of one.

func.func @batch_not_one(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'mix.linear_attention' op packs sequences along T with 'cu_seqlens', so the batch (B) must be 1, got 2}}
  %o, %s = mix.linear_attention %q, %q, %v gate none varlen(%cu)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<3xi32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @init_count(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %beta: tensor<1x8x2xf32>, %s0: tensor<3x2x16x32xf32>, %cu: tensor<3xi64>) {
  // expected-error @+1 {{'mix.delta_rule' op 'cu_seqlens' holds 3 offsets, so N = 2 sequences, but the states have N = 3 (dim 0 of 'initial_state' and 'final_state')}}
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none init(%s0) varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2xf32>, tensor<3x2x16x32xf32>, tensor<3xi64>)
      -> (tensor<1x8x2x32xf32>, tensor<3x2x16x32xf32>)
  return
}

// -----

func.func @final_state_count(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'mix.recurrence' op 'cu_seqlens' holds 3 offsets, so N = 2 sequences, but the states have N = 1}}
  %o, %s = mix.recurrence %q, %q, %v gate none varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<3xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>)
  return
}

// -----

func.func @states_disagree(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %s0: tensor<2x2x16x32xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'final_state' dim 0 (N) is 3, but 'initial_state' dim 0 is 2}}
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%s0) varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<2x2x16x32xf32>, tensor<?xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<3x2x16x32xf32>)
  return
}

// -----

func.func @no_offsets(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %cu: tensor<0xi32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'cu_seqlens' must hold N + 1 >= 1 offsets, got an empty tensor}}
  %o, %s = mix.linear_attention %q, %q, %v gate none varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<0xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<?x2x16x32xf32>)
  return
}

// -----

func.func @float_offsets(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %cu: tensor<3xf32>) {
  // expected-error @+1 {{'mix.linear_attention' op operand #3 must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %o, %s = mix.linear_attention %q, %q, %v gate none varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<3xf32>)
      -> (tensor<1x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @offsets_rank2(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %cu: tensor<1x3xi32>) {
  // expected-error @+1 {{must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %o, %s = mix.linear_attention %q, %q, %v gate none varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<1x3xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @scan_batch(%x: tensor<3x8x4xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{'mix.scan' op packs sequences along T with 'cu_seqlens', so the batch (B) must be 1, got 3}}
  %o, %h = mix.scan %x, %x varlen(%cu)
      : (tensor<3x8x4xf32>, tensor<3x8x4xf32>, tensor<?xi32>)
      -> (tensor<3x8x4xf32>, tensor<?x4xf32>)
  return
}

// -----

func.func @scan_states(%x: tensor<1x8x4xf32>, %h0: tensor<4x4xf32>, %cu: tensor<4xi32>) {
  // expected-error @+1 {{'mix.scan' op 'cu_seqlens' holds 4 offsets, so N = 3 sequences, but the states have N = 4}}
  %o, %h = mix.scan %x, %x init(%h0) varlen(%cu)
      : (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<4x4xf32>, tensor<4xi32>)
      -> (tensor<1x8x4xf32>, tensor<4x4xf32>)
  return
}

// -----

func.func @scan_state_width(%x: tensor<1x8x4xf32>, %h0: tensor<3x5xf32>, %cu: tensor<4xi32>) {
  // expected-error @+1 {{'mix.scan' op 'initial_state' dim 1 (D) is 5, but 'x' dim 2 is 4}}
  %o, %h = mix.scan %x, %x init(%h0) varlen(%cu)
      : (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<3x5xf32>, tensor<4xi32>)
      -> (tensor<1x8x4xf32>, tensor<3x4xf32>)
  return
}

// -----

func.func @indices_without_pool(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %cu: tensor<3xi32>, %idx: tensor<2xi32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'state_indices' needs the state pool as 'initial_state' (init(%pool) indices(%idx))}}
  %o, %s = mix.linear_attention %q, %q, %v gate none varlen(%cu) indices(%idx)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<3xi32>, tensor<2xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<4x2x16x32xf32>)
  return
}

// -----

func.func @indices_count(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %pool: tensor<4x2x16x32xf32>, %cu: tensor<3xi32>, %idx: tensor<3xi32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'state_indices' holds 3 slots, but there are 2 sequences ('cu_seqlens' dim 0 - 1)}}
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%pool) varlen(%cu) indices(%idx)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<4x2x16x32xf32>, tensor<3xi32>, tensor<3xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<4x2x16x32xf32>)
  return
}

// -----

func.func @indices_batch(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %pool: tensor<4x2x16x32xf32>, %idx: tensor<3xi32>) {
  // expected-error @+1 {{'mix.recurrence' op 'state_indices' holds 3 slots, but there are 2 sequences (the batch B)}}
  %o, %s = mix.recurrence %q, %q, %v gate none init(%pool) indices(%idx)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<4x2x16x32xf32>, tensor<3xi32>)
      -> (tensor<2x8x2x32xf32>, tensor<4x2x16x32xf32>)
  return
}

// -----

func.func @pool_result(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %pool: tensor<4x2x16x32xf32>, %idx: tensor<1xi32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'final_state' dim 0 (P) is 1, but 'initial_state' dim 0 is 4}}
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%pool) indices(%idx)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<4x2x16x32xf32>, tensor<1xi32>)
      -> (tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>)
  return
}

// -----

func.func @indices_i64(%q: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %pool: tensor<4x2x16x32xf32>, %idx: tensor<1xi64>) {
  // expected-error @+1 {{must be 1D tensor of 32-bit signless integer values}}
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%pool) indices(%idx)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<4x2x16x32xf32>, tensor<1xi64>)
      -> (tensor<1x8x2x32xf32>, tensor<4x2x16x32xf32>)
  return
}

// -----

func.func @attention_batch(%q: tensor<2x8x2x16xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'mix.attention' op packs sequences along T with 'cu_seqlens', so the batch (B) must be 1, got 2}}
  %o = mix.attention %q, %q, %q varlen(%cu) causal
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<3xi32>) -> tensor<2x8x2x16xf32>
  return
}

// -----

// Packed attention indexes keys by the query positions: S must equal T.
func.func @attention_cross(%q: tensor<1x8x2x16xf32>, %k: tensor<1x12x2x16xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'mix.attention' op 'k' dim 1 (T) is 12, but 'q' dim 1 is 8}}
  %o = mix.attention %q, %k, %k varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x12x2x16xf32>, tensor<1x12x2x16xf32>, tensor<3xi32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @attention_offsets_f32(%q: tensor<1x8x2x16xf32>, %cu: tensor<3xf32>) {
  // expected-error @+1 {{must be 1D tensor of 32-bit signless integer or 64-bit signless integer values}}
  %o = mix.attention %q, %q, %q varlen(%cu)
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<3xf32>) -> tensor<1x8x2x16xf32>
  return
}

// -----

func.func @kv_lens_batch(%q: tensor<2x1x2x16xf32>, %k: tensor<2x9x2x16xf32>, %lens: tensor<3xi32>) {
  // expected-error @+1 {{'mix.attention' op 'kv_lens' dim 0 (B) is 3, but 'q' dim 0 is 2}}
  %o = mix.attention %q, %k, %k kv_lens(%lens) causal
      : (tensor<2x1x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<3xi32>) -> tensor<2x1x2x16xf32>
  return
}

// -----

func.func @kv_lens_forget(%q: tensor<2x9x2x16xf32>, %g: tensor<2x9x2xf32>, %lens: tensor<2xi32>) {
  // expected-error @+1 {{'mix.attention' op 'kv_lens' (a KV cache, queries at its last T positions) takes no forget gate ('forget')}}
  %o = mix.attention %q, %q, %q forget(%g) kv_lens(%lens) causal
      : (tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2x9x2xf32>, tensor<2xi32>) -> tensor<2x9x2x16xf32>
  return
}

// -----

func.func @kv_lens_packed(%q: tensor<1x9x2x16xf32>, %cu: tensor<3xi32>, %lens: tensor<1xi32>) {
  // expected-error @+1 {{takes no packing ('varlen')}}
  %o = mix.attention %q, %q, %q varlen(%cu) kv_lens(%lens) causal
      : (tensor<1x9x2x16xf32>, tensor<1x9x2x16xf32>, tensor<1x9x2x16xf32>, tensor<3xi32>, tensor<1xi32>) -> tensor<1x9x2x16xf32>
  return
}

// -----

func.func @kv_lens_block(%q: tensor<2x9x2x16xf32>, %lens: tensor<2xi32>) {
  // expected-error @+1 {{takes no block mask ('block')}}
  %o = mix.attention %q, %q, %q kv_lens(%lens) causal block = 4
      : (tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2xi32>) -> tensor<2x9x2x16xf32>
  return
}

// -----

func.func @kv_lens_i64(%q: tensor<2x9x2x16xf32>, %lens: tensor<2xi64>) {
  // expected-error @+1 {{must be 1D tensor of 32-bit signless integer values}}
  %o = mix.attention %q, %q, %q kv_lens(%lens) causal
      : (tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2x9x2x16xf32>, tensor<2xi64>) -> tensor<2x9x2x16xf32>
  return
}

// -----

func.func @kv_lens_short_cache(%q: tensor<2x9x2x16xf32>, %k: tensor<2x4x2x16xf32>, %lens: tensor<2xi32>) {
  // expected-error @+1 {{'kv_lens' needs the queries in the cache (T <= S), got T = 9, S = 4}}
  %o = mix.attention %q, %k, %k kv_lens(%lens) causal
      : (tensor<2x9x2x16xf32>, tensor<2x4x2x16xf32>, tensor<2x4x2x16xf32>, tensor<2xi32>) -> tensor<2x9x2x16xf32>
  return
}
