// RUN: mixir-opt %s --split-input-file --mix-select-algorithm -verify-diagnostics
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=0 -verify-diagnostics
// RUN: mixir-opt %s --split-input-file --convert-mix-to-chunked -verify-diagnostics
// RUN: mixir-opt %s --split-input-file --convert-mix-to-loops -verify-diagnostics

// mix.recurrence has no chunked form yet: an explicit chunk_size > 0 is an
// error of every lowering pass, naming the op, rather than being ignored
// (convert-mix-to-loops included, so the CPU pipeline without chunking does
// not drop the request either).

func.func @explicit_chunks(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  // expected-error @+1 {{'mix.recurrence' op has no chunked form yet, but chunk_size = 32 asks for one; use chunk_size = 0 (the recurrent form) or leave it out}}
  %o, %s = mix.recurrence %q, %q, %v gate none {chunk_size = 32 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// Only the offending op is reported; the others are left as they were.
func.func @one_of_two(%q: tensor<1x4x1x16xf32>, %v: tensor<1x4x1x8xf32>) -> (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>) {
  %o, %s = mix.recurrence %q, %q, %v gate none {chunk_size = 0 : i64}
      : (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x8xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x1x16x8xf32>)
  // expected-error @+1 {{'mix.recurrence' op has no chunked form yet, but chunk_size = 128 asks for one}}
  %o2, %s2 = mix.recurrence %q, %q, %v gate none {chunk_size = 128 : i64}
      : (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x8xf32>)
      -> (tensor<1x4x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o, %o2 : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>
}
