// RUN: mixir-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of the mix ops. Unless a case says otherwise,
// the shapes are q, k [2, 8, 2, 16], v, o [2, 8, 2, 32] and the state
// [2, 2, 16, 32] (B = 2, T = 8, H = 2, K = 16, V = 32).

//===----------------------------------------------------------------------===//
// Parse errors
//===----------------------------------------------------------------------===//

func.func @bad_gate_keyword(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'gate_kind' [none, head, scalar, vector]}}
  %o, %s = mix.linear_attention %q, %q, %v gate diagonal(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @missing_gate_keyword(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+2 {{expected 'gate'}}
  %o, %s = mix.linear_attention %q, %q, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @bad_gate_keyword_delta(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %beta: tensor<2x8x2xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'gate_kind' [none, head, scalar, vector]}}
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate Scalar(%beta)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: ranks
//===----------------------------------------------------------------------===//

// -----

func.func @la_q_rank(%q: tensor<2x8x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'q' must be a rank-4 tensor [B, T, Hq, K], got 'tensor<2x8x16xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_k_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16x1xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'k' must be a rank-4 tensor [B, T, Hk, K], got 'tensor<2x8x2x16x1xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16x1xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_v_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'v' must be a rank-4 tensor [B, T, Hv, V], got 'tensor<32xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_o_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' must be a rank-4 tensor [B, T, Ho, V], got 'tensor<2x8x64xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x64xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_final_state_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'final_state' must be a rank-4 tensor [B, Hv, K, V], got 'tensor<2x16x32xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x16x32xf32>)
  return
}

// -----

func.func @la_initial_state_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                 %s0: tensor<2x2x16x32x1xf32>) {
  // expected-error @+1 {{'initial_state' must be a rank-4 tensor [B, Hv, K, V], got 'tensor<2x2x16x32x1xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x2x16x32x1xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: gate shapes
//===----------------------------------------------------------------------===//

// -----

func.func @la_head_gate_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                             %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'g' must be a rank-1 tensor [Hv], got 'tensor<2x8x2xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_head_gate_size(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                             %g: tensor<3xf32>) {
  // expected-error @+1 {{'g' dim 0 (Hv) is 3, but 'v' dim 2 is 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<3xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_head_gate_dynamic(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                %g: tensor<?xf32>) {
  // expected-error @+1 {{'g' dim 0 (Hv) must be static}}
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<?xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_scalar_gate_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                               %g: tensor<2x8x2x16xf32>) {
  // expected-error @+1 {{'g' must be a rank-3 tensor [B, T, Hv], got 'tensor<2x8x2x16xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_scalar_gate_T(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                            %g: tensor<2x7x2xf32>) {
  // expected-error @+1 {{'g' dim 1 (T) is 7, but 'q' dim 1 is 8}}
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x7x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_scalar_gate_heads(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                %g: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'g' dim 2 (Hv) is 4, but 'v' dim 2 is 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x4xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_vector_gate_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                               %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'g' must be a rank-4 tensor [B, T, Hv, K], got 'tensor<2x8x2xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// A vector gate spans K, not V.
func.func @la_vector_gate_K(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                            %g: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'g' dim 3 (K) is 32, but 'q' dim 3 is 16}}
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: gate presence
//===----------------------------------------------------------------------===//

// -----

func.func @la_gate_with_kind_none(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                  %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{has a gate operand 'g' but gate kind 'none'; name the kind (head, scalar or vector)}}
  %o, %s = mix.linear_attention %q, %k, %v gate none(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_head_without_g(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{gate kind 'head' needs a gate operand 'g'}}
  %o, %s = mix.linear_attention %q, %k, %v gate head
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_scalar_without_g(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{gate kind 'scalar' needs a gate operand 'g'}}
  %o, %s = mix.linear_attention %q, %k, %v gate scalar
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_vector_without_g(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                               %s0: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{gate kind 'vector' needs a gate operand 'g'}}
  %o, %s = mix.linear_attention %q, %k, %v gate vector init(%s0)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: dimension mismatches
//===----------------------------------------------------------------------===//

// -----

func.func @la_mismatch_B(%q: tensor<2x8x2x16xf32>, %k: tensor<3x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'k' dim 0 (B) is 3, but 'q' dim 0 is 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<3x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_T(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x9x2x32xf32>) {
  // expected-error @+1 {{'v' dim 1 (T) is 9, but 'q' dim 1 is 8}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x9x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_T_output(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' dim 1 (T) is 4, but 'q' dim 1 is 8}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x4x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_K(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x12xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'k' dim 3 (K) is 12, but 'q' dim 3 is 16}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x12xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_V_output(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' dim 3 (V) is 16, but 'v' dim 3 is 32}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x16xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_state_K(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'final_state' dim 2 (K) is 32, but 'q' dim 3 is 16}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x32x32xf32>)
  return
}

// -----

func.func @la_mismatch_state_heads(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'final_state' dim 1 (Hv) is 1, but 'v' dim 2 is 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x1x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_initial_state_V(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                       %s0: tensor<2x2x16x16xf32>) {
  // expected-error @+1 {{'initial_state' dim 3 (V) is 16, but 'v' dim 3 is 32}}
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x2x16x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_mismatch_initial_state_B(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                       %s0: tensor<1x2x16x32xf32>) {
  // expected-error @+1 {{'initial_state' dim 0 (B) is 1, but 'q' dim 0 is 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<1x2x16x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// A dynamic B in one operand and a static one in another is fine (checked at
// run time), but two different static sizes are not, wherever they appear.
func.func @la_mismatch_B_mixed_dynamic(%q: tensor<?x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<4x8x2x32xf32>) {
  // expected-error @+1 {{'v' dim 0 (B) is 4, but 'k' dim 0 is 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<?x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<4x8x2x32xf32>)
      -> (tensor<?x8x2x32xf32>, tensor<?x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: dynamic head and head-dim sizes
//===----------------------------------------------------------------------===//

// -----

func.func @la_dynamic_Hq(%q: tensor<2x8x?x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'q' dim 2 (Hq) must be static}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x?x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_dynamic_K(%q: tensor<2x8x2x?xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'q' dim 3 (K) must be static}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x?xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_dynamic_Hv(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x?x32xf32>) {
  // expected-error @+1 {{'v' dim 2 (Hv) must be static}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x?x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_dynamic_V_output(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' dim 3 (V) must be static}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x?xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_dynamic_state_K(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'final_state' dim 2 (K) must be static}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x?x32xf32>)
  return
}

// -----

func.func @la_zero_K(%q: tensor<2x8x2x0xf32>, %k: tensor<2x8x2x0xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'q' dim 3 (K) must be positive, got 0}}
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 1.0
      : (tensor<2x8x2x0xf32>, tensor<2x8x2x0xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x0x32xf32>)
  return
}

// -----

func.func @la_zero_heads(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x0x32xf32>) {
  // expected-error @+1 {{'v' dim 2 (Hv) must be positive, got 0}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x0x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x0x16x32xf32>)
  return
}

// -----

// Empty batches and sequences are fine: B = 0, T = 0 verify.
func.func @la_empty_B_T(%q: tensor<0x0x2x16xf32>, %k: tensor<0x0x2x16xf32>, %v: tensor<0x0x2x32xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<0x0x2x16xf32>, tensor<0x0x2x16xf32>, tensor<0x0x2x32xf32>)
      -> (tensor<0x0x2x32xf32>, tensor<0x2x16x32xf32>)
  return
}

// -----

func.func @scan_zero_D(%x: tensor<2x8x0xf32>, %g: tensor<2x8x0xf32>) {
  // expected-error @+1 {{'mix.scan' op 'x' dim 2 (D) must be positive, got 0}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x0xf32>, tensor<2x8x0xf32>) -> (tensor<2x8x0xf32>, tensor<2x0xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: head sharing
//===----------------------------------------------------------------------===//

// -----

func.func @la_Ho_not_max(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' dim 2 (Ho) is 4, expected max(Hq, Hv) = 2}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x4x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// GQA: o must have the 8 query heads, not the 2 value heads.
func.func @la_gqa_Ho_is_Hv(%q: tensor<2x8x8x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'o' dim 2 (Ho) is 2, expected max(Hq, Hv) = 8}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x8x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_Hv_not_multiple_of_Hk(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x3x16xf32>, %v: tensor<2x8x4x32xf32>) {
  // expected-error @+1 {{Hv (4) must be a multiple of Hk (3)}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x4x16xf32>, tensor<2x8x3x16xf32>, tensor<2x8x4x32xf32>)
      -> (tensor<2x8x4x32xf32>, tensor<2x4x16x32xf32>)
  return
}

// -----

// GVA with Hk > Hv.
func.func @la_Hk_above_Hv(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x4x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{Hv (2) must be a multiple of Hk (4)}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_Ho_not_multiple_of_Hq(%q: tensor<2x8x3x16xf32>, %k: tensor<2x8x1x16xf32>, %v: tensor<2x8x4x32xf32>) {
  // expected-error @+1 {{Ho (4) must be a multiple of Hq (3)}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x3x16xf32>, tensor<2x8x1x16xf32>, tensor<2x8x4x32xf32>)
      -> (tensor<2x8x4x32xf32>, tensor<2x4x16x32xf32>)
  return
}

// -----

func.func @la_Ho_not_multiple_of_Hv(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x3x16xf32>, %v: tensor<2x8x3x32xf32>) {
  // expected-error @+1 {{Ho (4) must be a multiple of Hv (3)}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x4x16xf32>, tensor<2x8x3x16xf32>, tensor<2x8x3x32xf32>)
      -> (tensor<2x8x4x32xf32>, tensor<2x3x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: element types
//===----------------------------------------------------------------------===//

// -----

func.func @la_k_elem(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf16>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'k' has element type 'f16', expected 'f32' (the element type of 'q')}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf16>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_v_elem(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'v' has element type 'f32', expected 'bf16' (the element type of 'q')}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

// The output is in the input element type, not f32.
func.func @la_o_elem(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>) {
  // expected-error @+1 {{'o' has element type 'f32', expected 'bf16' (the element type of 'q')}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// A gate is in the input element type or f32; f16 with bf16 inputs is neither.
func.func @la_g_elem(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>,
                     %g: tensor<2x8x2xf16>) {
  // expected-error @+1 {{'g' has element type 'f16', expected 'bf16' (the element type of 'q') or f32}}
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>, tensor<2x8x2xf16>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

// f64 is no mix element type at all: the ODS operand constraint rejects it.
func.func @la_g_f64(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                    %g: tensor<2x8x2xf64>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x8x2xf64>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf64>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_q_f64(%q: tensor<2x8x2x16xf64>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x8x2x16xf64>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf64>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

// The state is always f32 (an ODS type constraint). Without a gate the
// initial state is operand #3.
func.func @la_initial_state_f16(%q: tensor<2x8x2x16xf16>, %k: tensor<2x8x2x16xf16>, %v: tensor<2x8x2x32xf16>,
                                %s0: tensor<2x2x16x32xf16>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit float values, but got 'tensor<2x2x16x32xf16>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0)
      : (tensor<2x8x2x16xf16>, tensor<2x8x2x16xf16>, tensor<2x8x2x32xf16>, tensor<2x2x16x32xf16>)
      -> (tensor<2x8x2x32xf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_final_state_f16(%q: tensor<2x8x2x16xf16>, %k: tensor<2x8x2x16xf16>, %v: tensor<2x8x2x32xf16>) {
  // expected-error @+1 {{result #1 must be ranked tensor of 32-bit float values, but got 'tensor<2x2x16x32xf16>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x8x2x16xf16>, tensor<2x8x2x16xf16>, tensor<2x8x2x32xf16>)
      -> (tensor<2x8x2x32xf16>, tensor<2x2x16x32xf16>)
  return
}

// -----

// Unranked tensors are rejected by the ODS constraint too.
func.func @la_unranked(%q: tensor<*xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<*xf32>'}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<*xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.linear_attention: attributes
//===----------------------------------------------------------------------===//

// -----

func.func @la_scale_zero(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'scale' must be positive and finite, got 0.000000e+00}}
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 0.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_scale_negative(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'scale' must be positive and finite, got -1.000000e+00}}
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = -1.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_scale_inf(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'scale' must be positive and finite, got INF}}
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 0x7F800000
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_chunk_not_pow2(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{chunk_size must be 0 (the recurrent form) or a power of two up to 128, got 48}}
  %o, %s = mix.linear_attention %q, %k, %v gate none {chunk_size = 48 : i64}
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_chunk_negative(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{chunk_size must be 0 (the recurrent form) or a power of two up to 128, got -64}}
  %o, %s = mix.linear_attention %q, %k, %v gate none {chunk_size = -64 : i64}
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.delta_rule
//===----------------------------------------------------------------------===//

// -----

func.func @dr_gate_head(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                        %beta: tensor<2x8x2xf32>, %g: tensor<2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op gate kind 'head' is not supported; use 'scalar' with the per-head value broadcast over [B, T]}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate head(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_q_rank(%q: tensor<2x8x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                     %beta: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op 'q' must be a rank-4 tensor [B, T, Hq, K], got 'tensor<2x8x16xf32>'}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_beta_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                        %beta: tensor<2x8x2x1xf32>) {
  // expected-error @+1 {{'beta' must be a rank-3 tensor [B, T, Hv], got 'tensor<2x8x2x1xf32>'}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2x1xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_beta_heads(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                         %beta: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'beta' dim 2 (Hv) is 4, but 'v' dim 2 is 2}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x4xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_beta_T(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                     %beta: tensor<2x16x2xf32>) {
  // expected-error @+1 {{'beta' dim 1 (T) is 16, but 'q' dim 1 is 8}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x16x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_beta_elem(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>,
                        %beta: tensor<2x8x2xf16>) {
  // expected-error @+1 {{'beta' has element type 'f16', expected 'bf16' (the element type of 'q') or f32}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>, tensor<2x8x2xf16>)
      -> (tensor<2x8x2x32xbf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_scalar_gate_shape(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                %beta: tensor<2x8x2xf32>, %g: tensor<2x8x3xf32>) {
  // expected-error @+1 {{'g' dim 2 (Hv) is 3, but 'v' dim 2 is 2}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2x8x3xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_vector_gate_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                               %beta: tensor<2x8x2xf32>, %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'g' must be a rank-4 tensor [B, T, Hv, K], got 'tensor<2x8x2xf32>'}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_gate_with_kind_none(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                  %beta: tensor<2x8x2xf32>, %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op has a gate operand 'g' but gate kind 'none'}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_vector_without_g(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                               %beta: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op gate kind 'vector' needs a gate operand 'g'}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector qk_l2norm
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_k_elem(%q: tensor<2x8x2x16xf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xf16>,
                     %beta: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op 'k' has element type 'bf16', expected 'f16' (the element type of 'q')}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x2x16xf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xf16>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf16>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_scale_negative(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                             %beta: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op 'scale' must be positive and finite, got -1.000000e+00}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none scale = -1.0 qk_l2norm
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_chunk_not_pow2(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                             %beta: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op chunk_size must be 0 (the recurrent form) or a power of two up to 128, got 100}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none {chunk_size = 100 : i64}
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @dr_Hv_not_multiple_of_Hk(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x3x16xf32>, %v: tensor<2x8x4x32xf32>,
                                    %beta: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'mix.delta_rule' op Hv (4) must be a multiple of Hk (3)}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<2x8x4x16xf32>, tensor<2x8x3x16xf32>, tensor<2x8x4x32xf32>, tensor<2x8x4xf32>)
      -> (tensor<2x8x4x32xf32>, tensor<2x4x16x32xf32>)
  return
}

// -----

func.func @dr_initial_state_shape(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                                  %beta: tensor<2x8x2xf32>, %s0: tensor<2x2x32x16xf32>) {
  // expected-error @+1 {{'initial_state' dim 2 (K) is 32, but 'q' dim 3 is 16}}
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none init(%s0)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2x2x32x16xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// mix.attention
//===----------------------------------------------------------------------===//

// -----

func.func @attn_negative_window(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'window' must be >= 0 (0 means unlimited), got -4}}
  %o = mix.attention %q, %k, %v causal window = -4
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @la_bidirectional_with_init(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %s0: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'causal = false' takes no initial state, packed sequences or state pool}}
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%s0) causal = false
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>) -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @la_normalize_with_init(%q: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>, %s0: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{'mix.linear_attention' op 'normalize' takes no initial state, packed sequences or state pool}}
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%s0) normalize
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>) -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}

// -----

func.func @attn_negative_block(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'block' must be >= 0 (0 means off), got -2}}
  %o = mix.attention %q, %k, %v causal block = -2
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_block_keys_not_queries(%q: tensor<2x8x2x16xf32>, %k: tensor<2x6x2x16xf32>, %v: tensor<2x6x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'block' needs keys at the query positions (S = T), got S = 6, T = 8}}
  %o = mix.attention %q, %k, %v block = 4
      : (tensor<2x8x2x16xf32>, tensor<2x6x2x16xf32>, tensor<2x6x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_zero_softcap(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'softcap' must be positive and finite, got 0}}
  %o = mix.attention %q, %k, %v causal softcap = 0.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_negative_softcap(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'softcap' must be positive and finite, got -5}}
  %o = mix.attention %q, %k, %v softcap = -5.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_Hq_not_multiple_of_Hk(%q: tensor<2x8x6x16xf32>, %k: tensor<2x8x4x16xf32>, %v: tensor<2x8x4x32xf32>) {
  // expected-error @+1 {{'mix.attention' op Hq (6) must be a multiple of Hk (4)}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x6x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x32xf32>) -> tensor<2x8x6x32xf32>
  return
}

// -----

// Fewer query heads than key/value heads is not GQA.
func.func @attn_Hk_above_Hq(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x4x16xf32>, %v: tensor<2x8x4x32xf32>) {
  // expected-error @+1 {{'mix.attention' op Hq (2) must be a multiple of Hk (4)}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_forget_S_ne_T(%q: tensor<2x8x2x16xf32>, %k: tensor<2x12x2x16xf32>, %v: tensor<2x12x2x32xf32>,
                              %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.attention' op 'k' dim 1 (T) is 12, but 'q' dim 1 is 8}}
  %o = mix.attention %q, %k, %v forget(%g) causal
      : (tensor<2x8x2x16xf32>, tensor<2x12x2x16xf32>, tensor<2x12x2x32xf32>, tensor<2x8x2xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_k_v_length(%q: tensor<2x8x2x16xf32>, %k: tensor<2x12x2x16xf32>, %v: tensor<2x10x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'v' dim 1 (S) is 10, but 'k' dim 1 is 12}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x12x2x16xf32>, tensor<2x10x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_v_heads(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x4x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'v' dim 2 (Hk) is 4, but 'k' dim 2 is 2}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x4x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x4x32xf32>) -> tensor<2x8x4x32xf32>
  return
}

// -----

func.func @attn_k_K(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x8xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'k' dim 3 (K) is 8, but 'q' dim 3 is 16}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x8xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_o_heads(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'o' dim 2 (Hq) is 2, but 'q' dim 2 is 4}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x4x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_o_T(%q: tensor<2x8x2x16xf32>, %k: tensor<2x12x2x16xf32>, %v: tensor<2x12x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'o' dim 1 (T) is 12, but 'q' dim 1 is 8}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x12x2x16xf32>, tensor<2x12x2x32xf32>) -> tensor<2x12x2x32xf32>
  return
}

// -----

func.func @attn_q_rank(%q: tensor<2x8x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'q' must be a rank-4 tensor [B, T, Hq, K], got 'tensor<2x8x16xf32>'}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_v_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x64xf32>) {
  // expected-error @+1 {{'mix.attention' op 'v' must be a rank-4 tensor [B, S, Hk, V], got 'tensor<2x8x64xf32>'}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x64xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_k_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x32xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'k' must be a rank-4 tensor [B, S, Hk, K], got 'tensor<2x8x32xf32>'}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x32xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_o_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'o' must be a rank-4 tensor [B, T, Hq, V], got 'tensor<2x8x64xf32>'}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @attn_forget_rank(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                            %g: tensor<2x8xf32>) {
  // expected-error @+1 {{'mix.attention' op 'g' must be a rank-3 tensor [B, T, Hq], got 'tensor<2x8xf32>'}}
  %o = mix.attention %q, %k, %v forget(%g)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

// The forget gate is per query head, not per key/value head.
func.func @attn_forget_heads(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                             %g: tensor<2x8x2xf32>) {
  // expected-error @+1 {{'mix.attention' op 'g' dim 2 (Hq) is 2, but 'q' dim 2 is 4}}
  %o = mix.attention %q, %k, %v forget(%g)
      : (tensor<2x8x4x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>) -> tensor<2x8x4x32xf32>
  return
}

// -----

func.func @attn_dynamic_heads(%q: tensor<2x8x?x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'q' dim 2 (Hq) must be static}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x?x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_dynamic_V(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x?xf32>) {
  // expected-error @+1 {{'mix.attention' op 'v' dim 3 (V) must be static}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x?xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_v_elem(%q: tensor<2x8x2x16xf16>, %k: tensor<2x8x2x16xf16>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'v' has element type 'f32', expected 'f16' (the element type of 'q')}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xf16>, tensor<2x8x2x16xf16>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf16>
  return
}

// -----

func.func @attn_o_elem(%q: tensor<2x8x2x16xbf16>, %k: tensor<2x8x2x16xbf16>, %v: tensor<2x8x2x32xbf16>) {
  // expected-error @+1 {{'mix.attention' op 'o' has element type 'f16', expected 'bf16' (the element type of 'q')}}
  %o = mix.attention %q, %k, %v
      : (tensor<2x8x2x16xbf16>, tensor<2x8x2x16xbf16>, tensor<2x8x2x32xbf16>) -> tensor<2x8x2x32xf16>
  return
}

// -----

func.func @attn_forget_elem(%q: tensor<2x8x2x16xf16>, %k: tensor<2x8x2x16xf16>, %v: tensor<2x8x2x32xf16>,
                            %g: tensor<2x8x2xbf16>) {
  // expected-error @+1 {{'mix.attention' op 'g' has element type 'bf16', expected 'f16' (the element type of 'q') or f32}}
  %o = mix.attention %q, %k, %v forget(%g)
      : (tensor<2x8x2x16xf16>, tensor<2x8x2x16xf16>, tensor<2x8x2x32xf16>, tensor<2x8x2xbf16>) -> tensor<2x8x2x32xf16>
  return
}

// -----

func.func @attn_scale_zero(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'scale' must be positive and finite, got 0.000000e+00}}
  %o = mix.attention %q, %k, %v causal scale = 0.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

// -----

func.func @attn_scale_negative(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{'mix.attention' op 'scale' must be positive and finite, got -1.000000e+00}}
  %o = mix.attention %q, %k, %v scale = -1.0
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>) -> tensor<2x8x2x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// mix.scan
//===----------------------------------------------------------------------===//

// -----

func.func @scan_x_rank(%x: tensor<2x8x4x16xf32>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'x' must be a rank-3 tensor [B, T, D], got 'tensor<2x8x4x16xf32>'}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x4x16xf32>, tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_g_rank(%x: tensor<2x8x16xf32>, %g: tensor<2x8xf32>) {
  // expected-error @+1 {{'mix.scan' op 'g' must be a rank-3 tensor [B, T, D], got 'tensor<2x8xf32>'}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x8xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_o_rank(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'o' must be a rank-3 tensor [B, T, D], got 'tensor<16xf32>'}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> (tensor<16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_g_D(%x: tensor<2x8x16xf32>, %g: tensor<2x8x32xf32>) {
  // expected-error @+1 {{'mix.scan' op 'g' dim 2 (D) is 32, but 'x' dim 2 is 16}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x8x32xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_g_T(%x: tensor<2x8x16xf32>, %g: tensor<2x4x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'g' dim 1 (T) is 4, but 'x' dim 1 is 8}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x4x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_o_B(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'o' dim 0 (B) is 1, but 'x' dim 0 is 2}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> (tensor<1x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_final_state_D(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'final_state' dim 1 (D) is 8, but 'x' dim 2 is 16}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8xf32>)
  return
}

// -----

func.func @scan_final_state_rank(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'final_state' must be a rank-2 tensor [B, D], got 'tensor<2x8x16xf32>'}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  return
}

// -----

func.func @scan_initial_state_rank(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %h0: tensor<16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'initial_state' must be a rank-2 tensor [B, D], got 'tensor<16xf32>'}}
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_initial_state_D(%x: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %h0: tensor<2x17xf32>) {
  // expected-error @+1 {{'mix.scan' op 'initial_state' dim 1 (D) is 17, but 'x' dim 2 is 16}}
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x17xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_initial_state_f16(%x: tensor<2x8x16xf16>, %g: tensor<2x8x16xf16>, %h0: tensor<2x16xf16>) {
  // expected-error @+1 {{'mix.scan' op operand #2 must be ranked tensor of 32-bit float values, but got 'tensor<2x16xf16>'}}
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<2x8x16xf16>, tensor<2x8x16xf16>, tensor<2x16xf16>) -> (tensor<2x8x16xf16>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_dynamic_D(%x: tensor<2x8x?xf32>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'x' dim 2 (D) must be static}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x?xf32>, tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_g_elem(%x: tensor<2x8x16xbf16>, %g: tensor<2x8x16xf16>) {
  // expected-error @+1 {{'mix.scan' op 'g' has element type 'f16', expected 'bf16' (the element type of 'x') or f32}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xbf16>, tensor<2x8x16xf16>) -> (tensor<2x8x16xbf16>, tensor<2x16xf32>)
  return
}

// -----

func.func @scan_o_elem(%x: tensor<2x8x16xf16>, %g: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'mix.scan' op 'o' has element type 'f32', expected 'f16' (the element type of 'x')}}
  %o, %h = mix.scan %x, %g
      : (tensor<2x8x16xf16>, tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @la_chunk_too_large(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>) {
  // expected-error @+1 {{chunk_size must be 0 (the recurrent form) or a power of two up to 128, got 256}}
  %o, %s = mix.linear_attention %q, %k, %v gate none {chunk_size = 256 : i64}
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return
}
