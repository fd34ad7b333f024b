// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=64 | FileCheck %s
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=16 | FileCheck %s --check-prefix=C16
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=0 | FileCheck %s --check-prefix=RECURRENT
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=64 --convert-mix-to-chunked --convert-mix-to-loops | FileCheck %s --check-prefix=LOOPS

// mix.recurrence gets the pass's chunk (given here; unset, the cost model
// chooses under the same cap: cost-model.mlir), capped so that its triangular solve
// of C * R rows stays within 128 rows: the largest power of two C with
// C * R <= 128, i.e. 128 for R <= 1, 64 for R = 2, 32 for R = 3 and 4. A
// smaller pass option is kept; 0 means the recurrent form; an op's own
// chunk_size is kept (too large a one is an error: recurrence-errors.mlir).

// CHECK-LABEL: func.func @by_rank
// CHECK: mix.recurrence {{.*}}{chunk_size = 64 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 64 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 64 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 32 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 32 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 16 : i64}
// C16-LABEL: func.func @by_rank
// C16-COUNT-6: mix.recurrence {{.*}}{chunk_size = 16 : i64}
// RECURRENT-LABEL: func.func @by_rank
// RECURRENT: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// RECURRENT: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// RECURRENT: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// RECURRENT: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// RECURRENT: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// RECURRENT: mix.recurrence {{.*}}{chunk_size = 16 : i64}
// LOOPS-LABEL: func.func @by_rank
// LOOPS-NOT: mix.recurrence
// LOOPS: return
func.func @by_rank(%q: tensor<1x?x1x16xf32>, %v: tensor<1x?x1x8xf32>, %a1: tensor<1x?x1x1x16xf32>,
                   %a2: tensor<1x?x1x2x16xf32>, %a3: tensor<1x?x1x3x16xf32>, %a4: tensor<1x?x1x4x16xf32>)
    -> (tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>) {
  %o0, %s0 = mix.recurrence %q, %q, %v gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o1, %s1 = mix.recurrence %q, %q, %v lowrank(%a1, %a1) gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x1x16xf32>, tensor<1x?x1x1x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o2, %s2 = mix.recurrence %q, %q, %v lowrank(%a2, %a2) gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x2x16xf32>, tensor<1x?x1x2x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o3, %s3 = mix.recurrence %q, %q, %v lowrank(%a3, %a3) gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x3x16xf32>, tensor<1x?x1x3x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o4, %s4 = mix.recurrence %q, %q, %v lowrank(%a4, %a4) gate none
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x4x16xf32>, tensor<1x?x1x4x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  %o5, %s5 = mix.recurrence %q, %q, %v lowrank(%a4, %a4) gate none {chunk_size = 16 : i64}
      : (tensor<1x?x1x16xf32>, tensor<1x?x1x16xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x4x16xf32>, tensor<1x?x1x4x16xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o0, %o1, %o2, %o3, %o4, %o5 : tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>
}

// -----

// A static length shorter than the (capped) chunk is recurrent: 40 tokens
// are under one chunk of 64 for R = 2 but fill one of 32 for R = 4.
// CHECK-LABEL: func.func @short_static
// CHECK: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 32 : i64}
func.func @short_static(%q: tensor<1x40x1x16xf32>, %v: tensor<1x40x1x8xf32>, %a2: tensor<1x40x1x2x16xf32>, %a4: tensor<1x40x1x4x16xf32>)
    -> (tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>) {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a2, %a2) gate none
      : (tensor<1x40x1x16xf32>, tensor<1x40x1x16xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x2x16xf32>, tensor<1x40x1x2x16xf32>)
      -> (tensor<1x40x1x8xf32>, tensor<1x1x16x8xf32>)
  %o2, %s2 = mix.recurrence %q, %q, %v lowrank(%a4, %a4) gate none
      : (tensor<1x40x1x16xf32>, tensor<1x40x1x16xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x4x16xf32>, tensor<1x40x1x4x16xf32>)
      -> (tensor<1x40x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o, %o2 : tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>
}
