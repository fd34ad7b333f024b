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
