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

// mix.rnn runs 16-bit inputs (rnn-left.mlir); f32 ones are refused as the
// kernels refuse them, with the op named.
func.func @rnn_f32(%wx: tensor<1x8x1x4x16xf32>, %r: tensor<1x4x16x16xf32>)
    -> tensor<1x8x1x16xf32> {
  // expected-error @below {{'mix.rnn' op cannot run on target cuda: inputs must be bf16 or f16 (wx is f32; f32 inputs run on target cpu, or on cuda with gpu-kernels=chunked)}}
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<1x8x1x4x16xf32>, tensor<1x4x16x16xf32>)
      -> (tensor<1x8x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>)
  return %h : tensor<1x8x1x16xf32>
}

// -----

// mix.causal_conv1d has no GPU lowering.
func.func @conv(%x: tensor<1x8x16xbf16>, %w: tensor<16x4xbf16>)
    -> tensor<1x8x16xbf16> {
  // expected-error @below {{'mix.causal_conv1d' op is not supported on target cuda: mix.causal_conv1d has a CPU lowering only (use target cpu)}}
  %y, %s = mix.causal_conv1d %x, %w
      : (tensor<1x8x16xbf16>, tensor<16x4xbf16>)
      -> (tensor<1x8x16xbf16>, tensor<1x16x3xbf16>)
  return %y : tensor<1x8x16xbf16>
}

// -----

// Packed or pooled, the conv is refused the same way (packed recurrent ops
// are left to the chunked form; the conv has none).
func.func @conv_packed_pool(%x: tensor<1x8x16xbf16>, %w: tensor<16x4xbf16>, %pool: tensor<?x16x3xbf16>, %cu: tensor<?xi32>, %idx: tensor<?xi32>)
    -> tensor<1x8x16xbf16> {
  // expected-error @below {{'mix.causal_conv1d' op is not supported on target cuda: mix.causal_conv1d has a CPU lowering only (use target cpu)}}
  %y, %s = mix.causal_conv1d %x, %w state(%pool) varlen(%cu) indices(%idx)
      : (tensor<1x8x16xbf16>, tensor<16x4xbf16>, tensor<?x16x3xbf16>, tensor<?xi32>, tensor<?xi32>)
      -> (tensor<1x8x16xbf16>, tensor<?x16x3xbf16>)
  return %y : tensor<1x8x16xbf16>
}
