// RUN: mixir-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of mix.recurrence. Unless a case says otherwise,
// q, k are [2, 8, 2, 16], v, o [2, 8, 2, 32], a, b [2, 8, 2, 1, 16] and the
// state [2, 2, 16, 32] (B = 2, T = 8, H = 2, R = 1, K = 16, V = 32).

func.func @bad_decay_keyword(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'decay' [log, signed]}}
  %o, %s = mix.recurrence %q, %k, %v gate scalar(%g) decay exp
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @lowrank_one_operand(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x1x16xf32>) {
  // expected-error @+1 {{expected ','}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x1x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// The generic form can give 'a' without 'b'.
func.func @a_without_b(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x1x16xf32>) {
  // expected-error @+1 {{'mix.recurrence' op 'a' and 'b' must be given together (lowrank(a, b); neither means R = 0)}}
  %r:2 = "mix.recurrence"(%q, %k, %v, %a) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0>}>
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x1x16xf32>) -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @signed_without_gate(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.recurrence' op decay 'signed' needs a gate (head, scalar or vector); gate kind 'none' has no decay}}
  %o, %s = mix.recurrence %q, %k, %v gate none decay signed
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @gate_without_g(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.recurrence' op gate kind 'vector' needs a gate operand 'g'}}
  %o, %s = mix.recurrence %q, %k, %v gate vector
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @g_without_kind(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{has a gate operand 'g' but gate kind 'none'; name the kind (head, scalar or vector)}}
  %o, %s = "mix.recurrence"(%q, %k, %v, %g) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0, 0, 0>}>
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @a_elem_f16_with_bf16(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>, %a: tensor<2x8x2x1x16xf16>, %b: tensor<2x8x2x1x16xf16>) {
  // expected-error @+1 {{'a' has element type 'f16', expected 'bf16' (the element type of 'q') or f32}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate none
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>, tensor<2x8x2x1x16xf16>, tensor<2x8x2x1x16xf16>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @b_elem_differs(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>, %a: tensor<2x8x2x1x16xf32>, %b: tensor<2x8x2x1x16xbf16>) {
  // expected-error @+1 {{'b' has element type 'bf16', expected 'f32' (the element type of 'a')}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate none
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>, tensor<2x8x2x1x16xf32>, tensor<2x8x2x1x16xbf16>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @k_elem(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf16>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'k' has element type 'f16', expected 'f32' (the element type of 'q')}}
  %o, %s = mix.recurrence %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf16>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @a_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x16xf32>) {
  // expected-error @+1 {{'a' must be a rank-5 tensor [B, T, Hv, R, K], got 'tensor<2x8x2x16xf32>'}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @rank_zero(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x0x16xf32>) {
  // expected-error @+1 {{'mix.recurrence' op 'a' dim 3 (R) is 0; leave out lowrank(a, b) for a recurrence without low-rank terms}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x0x16xf32>, tensor<2x8x2x0x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @rank_five(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x5x16xf32>) {
  // expected-error @+1 {{'mix.recurrence' op 'a' dim 3 (R) must be at most 4, got 5}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x5x16xf32>, tensor<2x8x2x5x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @rank_dynamic(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x?x16xf32>) {
  // expected-error @+1 {{'a' dim 3 (R) must be static}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x?x16xf32>, tensor<2x8x2x?x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @b_rank_mismatch(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x1x16xf32>, %b: tensor<2x8x2x2x16xf32>) {
  // expected-error @+1 {{'b' dim 3 (R) is 2, but 'a' dim 3 is 1}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %b) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x1x16xf32>, tensor<2x8x2x2x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @a_key_dim(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x2x1x8xf32>) {
  // expected-error @+1 {{'a' dim 4 (K) is 8, but 'q' dim 3 is 16}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x1x8xf32>, tensor<2x8x2x1x8xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @a_head_dim(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x8x1x1x16xf32>) {
  // expected-error @+1 {{'a' dim 2 (Hv) is 1, but 'v' dim 2 is 2}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x1x1x16xf32>, tensor<2x8x1x1x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @a_length(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %a: tensor<2x4x2x1x16xf32>) {
  // expected-error @+1 {{'a' dim 1 (T) is 4, but 'q' dim 1 is 8}}
  %o, %s = mix.recurrence %q, %k, %v lowrank(%a, %a) gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x4x2x1x16xf32>, tensor<2x4x2x1x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @vector_gate_shape(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'g' must be a rank-4 tensor [B, T, Hv, K], got 'tensor<2x8x2xf32>'}}
  %o, %s = mix.recurrence %q, %k, %v gate vector(%g) decay signed
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @head_gate_size(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %g: tensor<3xf32>) {
  // expected-error @+1 {{'g' dim 0 (Hv) is 3, but 'v' dim 2 is 2}}
  %o, %s = mix.recurrence %q, %k, %v gate head(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<3xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @g_elem(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>, %g: tensor<2x8x2xf16>) {
  // expected-error @+1 {{'g' has element type 'f16', expected 'bf16' (the element type of 'q') or f32}}
  %o, %s = mix.recurrence %q, %k, %v gate scalar(%g)
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>, tensor<2x8x2xf16>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @ho_not_max(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' dim 2 (Ho) is 2, expected max(Hq, Hv) = 4}}
  %o, %s = mix.recurrence %q, %k, %v gate none
      : (tensor<2x8x4x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @hv_not_multiple_of_hk(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x3x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{Hv (2) must be a multiple of Hk (3)}}
  %o, %s = mix.recurrence %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x3x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @final_state_shape(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'final_state' dim 2 (K) is 8, but 'q' dim 3 is 16}}
  %o, %s = mix.recurrence %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x8x32xf32>)
  return
}

// -----

func.func @scale_negative(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'scale' must be positive and finite, got -1.000000e+00}}
  %o, %s = mix.recurrence %q, %k, %v gate none scale = -1.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @chunk_not_pow2(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{chunk_size must be 0 (the recurrent form) or a power of two up to 128, got 48}}
  %o, %s = mix.recurrence %q, %k, %v gate none {chunk_size = 48 : i64}
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// `read transposed`: q has the value dim V and o the key dim K.
func.func @transposed_read_query_dim(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.recurrence' op 'v' dim 3 (V) is 32, but 'q' dim 3 is 16}}
  %o, %s = mix.recurrence %q, %k, %v gate none read transposed
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x16xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @transposed_read_output_dim(%q: tensor<2x8x2x32xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.recurrence' op 'o' dim 3 (K) is 32, but 'k' dim 3 is 16}}
  %o, %s = mix.recurrence %q, %k, %v gate none read transposed
      : (tensor<2x8x2x32xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}
