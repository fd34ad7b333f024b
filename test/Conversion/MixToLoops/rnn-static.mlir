// RUN: mixir-opt %s --convert-mix-to-loops --canonicalize | FileCheck %s

// Static B and T with a single remainder row (B = 5: one group of 4, then
// one row): h's rows are sliced at full rank and collapsed, so folding the
// constant T into the slices cannot drop the wrong unit dimension (a
// rank-reducing [1, 7, 1, 8] -> [1, 7, 8] slice is ambiguous).
// CHECK-LABEL: func.func @lstm_static(
// CHECK: tensor.extract_slice %{{.*}} [4, 7, 1, 8] [1, 1, 1, 1] : tensor<5x7x2x8xf32> to tensor<4x7x1x8xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<4x7x1x8xf32> into tensor<4x7x8xf32>
// CHECK: tensor.extract_slice %{{.*}} [1, 7, 1, 8] [1, 1, 1, 1] : tensor<5x7x2x8xf32> to tensor<1x7x1x8xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<1x7x1x8xf32> into tensor<1x7x8xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [1, 7, 1, 8] : tensor<1x7x8xf32> into tensor<1x7x1x8xf32>
func.func @lstm_static(%wx: tensor<5x7x2x4x8xf32>, %r: tensor<2x4x8x8xf32>)
    -> (tensor<5x7x2x8xf32>, tensor<5x2x8xf32>, tensor<5x2x8xf32>) {
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<5x7x2x4x8xf32>, tensor<2x4x8x8xf32>) -> (tensor<5x7x2x8xf32>, tensor<5x2x8xf32>, tensor<5x2x8xf32>)
  return %h, %s#0, %s#1 : tensor<5x7x2x8xf32>, tensor<5x2x8xf32>, tensor<5x2x8xf32>
}
