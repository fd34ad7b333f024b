// RUN: mixir-opt %s --convert-mix-to-gpu -split-input-file -verify-diagnostics

func.func @f32_inputs(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x1x16xf32>)
    -> (tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>) {
  // expected-error @below {{cannot run on target cuda: inputs must be bf16 or f16}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>)
      -> (tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>)
  return %o, %s : tensor<1x8x1x16xf32>, tensor<1x1x16x16xf32>
}

// -----

func.func @odd_value_dim(%q: tensor<1x8x1x16xbf16>, %k: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x15xbf16>)
    -> (tensor<1x8x1x15xbf16>, tensor<1x1x16x15xf32>) {
  // expected-error @below {{key and value head dims must be even (got K = 16, V = 15)}}
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x15xbf16>)
      -> (tensor<1x8x1x15xbf16>, tensor<1x1x16x15xf32>)
  return %o, %s : tensor<1x8x1x15xbf16>, tensor<1x1x16x15xf32>
}


// -----

// mix.recurrence has no GPU lowering yet: refused in one line, not lowered
// or crashed on.
func.func @recurrence(%q: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x16xbf16>, %a: tensor<1x8x1x1x16xbf16>)
    -> (tensor<1x8x1x16xbf16>, tensor<1x1x16x16xf32>) {
  // expected-error @below {{'mix.recurrence' op is not supported on target cuda yet (the GPU lowering covers mix.linear_attention, mix.delta_rule, mix.attention and mix.scan)}}
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate none
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x1x16xbf16>, tensor<1x8x1x1x16xbf16>)
      -> (tensor<1x8x1x16xbf16>, tensor<1x1x16x16xf32>)
  return %o, %s : tensor<1x8x1x16xbf16>, tensor<1x1x16x16xf32>
}
