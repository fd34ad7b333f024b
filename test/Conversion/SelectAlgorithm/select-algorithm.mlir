// The pass option given: its chunk for every op without chunk_size (without
// the option the cost model chooses: cost-model.mlir).
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=64 | FileCheck %s
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=0 | FileCheck %s --check-prefix=RECURRENT
// As the CUDA pipeline asks: short static sequences keep the chunk too.
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm="chunk-size=64 short-recurrent=false" | FileCheck %s --check-prefix=CUDA

// Dynamic length: chunked with the default chunk (the lowering adds the
// run-time branch for short sequences).
// CHECK-LABEL: func.func @dynamic
// CHECK: mix.linear_attention {{.*}}{chunk_size = 64 : i64}
// RECURRENT-LABEL: func.func @dynamic
// RECURRENT: mix.linear_attention {{.*}}{chunk_size = 0 : i64}
func.func @dynamic(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate none : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xf32>
}

// -----

// A static length shorter than a chunk (here a single decode token) is
// recurrent; a long one chunked.
// CHECK-LABEL: func.func @static
// CHECK: mix.linear_attention {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.linear_attention {{.*}}{chunk_size = 64 : i64}
// CUDA-LABEL: func.func @static
// CUDA: mix.linear_attention {{.*}}{chunk_size = 64 : i64}
// CUDA: mix.linear_attention {{.*}}{chunk_size = 64 : i64}
func.func @static(%q: tensor<1x1x1x16xf32>, %v: tensor<1x1x1x8xf32>, %ql: tensor<1x200x1x16xf32>, %vl: tensor<1x200x1x8xf32>) -> (tensor<1x1x1x8xf32>, tensor<1x200x1x8xf32>) {
  %o, %s = mix.linear_attention %q, %q, %v gate none : (tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x8xf32>) -> (tensor<1x1x1x8xf32>, tensor<1x1x16x8xf32>)
  %o2, %s2 = mix.linear_attention %ql, %ql, %vl gate none : (tensor<1x200x1x16xf32>, tensor<1x200x1x16xf32>, tensor<1x200x1x8xf32>) -> (tensor<1x200x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o, %o2 : tensor<1x1x1x8xf32>, tensor<1x200x1x8xf32>
}

// -----

// An op's own chunk_size wins; the scan and the delta rule get the option's.
// CHECK-LABEL: func.func @kept
// CHECK: mix.linear_attention {{.*}}{chunk_size = 16 : i64}
// CHECK: mix.scan {{.*}}{chunk_size = 64 : i64}
func.func @kept(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %x: tensor<1x?x8xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x?x8xf32>) {
  %o, %s = mix.linear_attention %q, %q, %v gate none {chunk_size = 16 : i64} : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>) -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %y, %h = mix.scan %x, %x : (tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> (tensor<1x?x8xf32>, tensor<1x8xf32>)
  return %o, %y : tensor<1x?x1x8xf32>, tensor<1x?x8xf32>
}

// -----

// mix.attention has no chunk_size: its block size is the pass option of
// convert-mix-to-chunked, so it is left alone here.
// CHECK-LABEL: func.func @attention_untouched
// CHECK: mix.attention
// CHECK-NOT: chunk_size
func.func @attention_untouched(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32> {
  %o = mix.attention %q, %q, %v causal : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>) -> tensor<1x?x1x8xf32>
  return %o : tensor<1x?x1x8xf32>
}
