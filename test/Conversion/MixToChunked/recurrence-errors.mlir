// RUN: mixir-opt %s --split-input-file --mix-select-algorithm -verify-diagnostics
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=0 -verify-diagnostics
// RUN: mixir-opt %s --split-input-file --convert-mix-to-chunked -verify-diagnostics

// An explicit chunk_size on mix.recurrence is never changed: one whose
// C * R exceeds the 128 rows of the chunked form's triangular solve is an
// error naming the op, in the pass that chooses the form and in the one
// that builds it.

func.func @too_large(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a: tensor<1x?x1x4x16xf32>) -> tensor<1x?x1x8xf32> {
  // expected-error @+1 {{'mix.recurrence' op chunk_size = 64 with R = 4 low-rank terms needs a triangular solve of 256 rows per chunk; the chunked form allows chunk_size * R <= 128 (chunk_size <= 32 for R = 4)}}
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate none {chunk_size = 64 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x4x16xf32>, tensor<1x?x1x4x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// Only the offending op is reported: 128 tokens are fine for R = 1 and 64
// for R = 2, 128 are not for R = 2.
func.func @one_of_three(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a1: tensor<1x?x1x1x16xf32>, %a2: tensor<1x?x1x2x16xf32>)
    -> (tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>) {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a1, %a1) gate none {chunk_size = 128 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x1x16xf32>, tensor<1x?x1x1x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o2, %s2 = mix.recurrence %q, %q, %v lowrank(%a2, %a2) gate none {chunk_size = 64 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x2x16xf32>, tensor<1x?x1x2x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  // expected-error @+1 {{'mix.recurrence' op chunk_size = 128 with R = 2 low-rank terms needs a triangular solve of 256 rows per chunk; the chunked form allows chunk_size * R <= 128 (chunk_size <= 64 for R = 2)}}
  %o3, %s3 = mix.recurrence %q, %q, %v lowrank(%a2, %a2) gate none {chunk_size = 128 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x2x16xf32>, tensor<1x?x1x2x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o, %o2, %o3 : tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>
}
