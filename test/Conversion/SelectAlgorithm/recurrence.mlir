// RUN: mixir-opt %s --split-input-file --mix-select-algorithm | FileCheck %s
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm --convert-mix-to-chunked | FileCheck %s --check-prefix=CHUNKED
// RUN: mixir-opt %s --split-input-file --convert-mix-to-chunked | FileCheck %s --check-prefix=CHUNKED
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm --convert-mix-to-chunked --convert-mix-to-loops | FileCheck %s --check-prefix=LOOPS

// mix.recurrence has only its recurrent form so far. mix-select-algorithm
// gives it chunk_size = 0 whatever the length (a dynamic one included), and
// convert-mix-to-chunked leaves it to convert-mix-to-loops, with or without
// the attribute. (An explicit chunk_size > 0 is an error:
// recurrence-errors.mlir.)

// CHECK-LABEL: func.func @dynamic_length
// CHECK: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.linear_attention {{.*}}{chunk_size = 64 : i64}
// CHUNKED-LABEL: func.func @dynamic_length
// CHUNKED: mix.recurrence
// CHUNKED: mix.recurrence
// CHUNKED-NOT: mix.linear_attention
// LOOPS-LABEL: func.func @dynamic_length
// LOOPS-NOT: mix.recurrence
// LOOPS: return
func.func @dynamic_length(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a: tensor<1x?x1x2x16xf32>)
    -> (tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>) {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x2x16xf32>, tensor<1x?x1x2x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o2, %s2 = mix.recurrence %q, %q, %v gate none {chunk_size = 0 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o3, %s3 = mix.linear_attention %q, %q, %v gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o, %o2, %o3 : tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>
}

// -----

// A long static length, which would be chunked for the other ops.
// CHECK-LABEL: func.func @long_static
// CHECK: mix.recurrence {{.*}}{chunk_size = 0 : i64}
func.func @long_static(%q: tensor<1x256x1x16xf32>, %v: tensor<1x256x1x8xf32>, %g: tensor<1x256x1xf32>)
    -> tensor<1x256x1x8xf32> {
  %o, %s = mix.recurrence %q, %q, %v gate scalar(%g)
      : (tensor<1x256x1x16xf32>, tensor<1x256x1x16xf32>, tensor<1x256x1x8xf32>, tensor<1x256x1xf32>)
      -> (tensor<1x256x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x256x1x8xf32>
}
