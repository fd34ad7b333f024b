// The chunk length on target cuda is the op's chunk_size, else the pass
// option (chunk-size-option.mlir); asked for, it is kept
// (chunk-size-kept.mlir) or refused with a message naming the op, the length
// and the largest that fits. Never clamped or halved in silence.
// RUN: mixir-opt %s --split-input-file --convert-mix-to-gpu -verify-diagnostics

func.func @wide_keys_asked(%q: tensor<1x?x1x256xbf16>, %v: tensor<1x?x1x32xbf16>)
    -> tensor<1x?x1x32xbf16> {
  // expected-error @below {{'mix.linear_attention' op cannot run on target cuda: chunk_size 64 needs 49408 bytes of shared memory per block, above 48 KiB; the largest chunk that fits is 32}}
  %o, %s = mix.linear_attention %q, %q, %v gate none {chunk_size = 64 : i64}
      : (tensor<1x?x1x256xbf16>, tensor<1x?x1x256xbf16>, tensor<1x?x1x32xbf16>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x256x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}

// -----

func.func @recurrent_form(%q: tensor<1x?x1x64xbf16>, %v: tensor<1x?x1x32xbf16>,
                          %beta: tensor<1x?x1xf32>) -> tensor<1x?x1x32xbf16> {
  // expected-error @below {{'mix.delta_rule' op target cuda runs chunks of 16 to 64 tokens, got chunk_size 0 (the recurrent form, which its kernels do not have)}}
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none {chunk_size = 0 : i64}
      : (tensor<1x?x1x64xbf16>, tensor<1x?x1x64xbf16>, tensor<1x?x1x32xbf16>,
         tensor<1x?x1xf32>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x64x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}

// -----

func.func @above_the_kernels(%q: tensor<1x?x1x64xbf16>, %v: tensor<1x?x1x32xbf16>)
    -> tensor<1x?x1x32xbf16> {
  // expected-error @below {{'mix.linear_attention' op target cuda runs chunks of 16 to 64 tokens, got chunk_size 128}}
  %o, %s = mix.linear_attention %q, %q, %v gate none {chunk_size = 128 : i64}
      : (tensor<1x?x1x64xbf16>, tensor<1x?x1x64xbf16>, tensor<1x?x1x32xbf16>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x64x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}

// -----

func.func @chunked_scan(%x: tensor<1x?x8xbf16>, %g: tensor<1x?x8xf32>)
    -> tensor<1x?x8xbf16> {
  // expected-error @below {{'mix.scan' op chunk_size = 64 asks for the chunked scan, which target cuda does not have (its kernel scans each channel in order); use chunk_size = 0 or leave it out}}
  %o, %s = mix.scan %x, %g {chunk_size = 64 : i64}
      : (tensor<1x?x8xbf16>, tensor<1x?x8xf32>) -> (tensor<1x?x8xbf16>, tensor<1x8xf32>)
  return %o : tensor<1x?x8xbf16>
}
