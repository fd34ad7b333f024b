// The pass option asks for a chunk length too: refused, naming the op, when
// a kernel cannot keep it; checked against the rule and the kernels' range.
// RUN: not mixir-opt %s --split-input-file --convert-mix-to-gpu=chunk-size=64 2>&1 | FileCheck %s --check-prefix=C64
// RUN: not mixir-opt %s --split-input-file --convert-mix-to-gpu=chunk-size=32 2>&1 | FileCheck %s --check-prefix=C32
// RUN: not mixir-opt %s --convert-mix-to-gpu=chunk-size=8 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not mixir-opt %s --convert-mix-to-gpu=chunk-size=0 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not mixir-opt %s --convert-mix-to-gpu=chunk-size=48 2>&1 | FileCheck %s --check-prefix=RULE

// SMALL: error: target cuda runs chunks of 16 to 64 tokens, got chunk_size 8
// ZERO: error: target cuda runs chunks of 16 to 64 tokens, got chunk_size 0 (the recurrent form, which its kernels do not have)
// RULE: error: chunk_size must be 0 (the recurrent form) or a power of two up to 128, got 48

// C64: error: 'mix.linear_attention' op cannot run on target cuda: chunk_size 64 needs 49408 bytes of shared memory per block, above 48 KiB; the largest chunk that fits is 32
// C32-NOT: 'mix.linear_attention' op cannot run
func.func @wide_keys(%q: tensor<1x?x1x256xbf16>, %v: tensor<1x?x1x32xbf16>)
    -> tensor<1x?x1x32xbf16> {
  %o, %s = mix.linear_attention %q, %q, %v gate none
      : (tensor<1x?x1x256xbf16>, tensor<1x?x1x256xbf16>, tensor<1x?x1x32xbf16>)
      -> (tensor<1x?x1x32xbf16>, tensor<1x1x256x32xf32>)
  return %o : tensor<1x?x1x32xbf16>
}

// -----

// mix.attention has no chunk_size; its kernel's blocks are 64 queries and
// 64 keys: an option asking for other blocks is refused.
// C64-NOT: 'mix.attention' op runs in blocks
// C32: error: 'mix.attention' op runs in blocks of 64 queries and 64 keys on target cuda; chunk_size 32 cannot be honoured (leave the chunk length unset, or set chunk_size on the other ops)
func.func @attention(%q: tensor<1x?x2x64xbf16>, %k: tensor<1x?x2x64xbf16>,
                     %v: tensor<1x?x2x64xbf16>) -> tensor<1x?x2x64xbf16> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>)
      -> tensor<1x?x2x64xbf16>
  return %o : tensor<1x?x2x64xbf16>
}
