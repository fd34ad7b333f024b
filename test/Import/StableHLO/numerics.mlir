// mixir-stablehlo-flat v1
// Imported functions compiled and run on the CPU, with results known by hand
// for x = [[0, 1, 2], [3, 4, 5]] and w = arange(12).reshape(3, 4).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: mixir-import-stablehlo %s -o %t/m.mlir
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t/x.npy', np.arange(6, dtype=np.float32).reshape(2, 3)); \
// RUN:   np.save('%t/w.npy', np.arange(12, dtype=np.float32).reshape(3, 4)); \
// RUN:   np.save('%t/i.npy', np.array(5, np.int32))"

// reduce: row sums [3, 12]; column maxima [3, 4, 5].
// dot_general x @ w: [[20, 23, 26, 29], [56, 68, 80, 92]].
// pad low (1, -1), high (0, 2) with 9: [[9, 9, 9, 9], [1, 2, 9, 9], [4, 5, 9, 9]].
// RUN: mixir-run %t/m.mlir --entry=reduce_dot_pad --input=%t/x.npy --input=%t/w.npy --output-dir=%t/a
// RUN: %python -c "import numpy as np; \
// RUN:   r = [np.load('%t/a/out%%d.npy' %% i) for i in range(4)]; \
// RUN:   assert np.array_equal(r[0], [3, 12]), r[0]; \
// RUN:   assert np.array_equal(r[1], [3, 4, 5]), r[1]; \
// RUN:   assert np.array_equal(r[2], [[20, 23, 26, 29], [56, 68, 80, 92]]), r[2]; \
// RUN:   assert np.array_equal(r[3], [[9, 9, 9, 9], [1, 2, 9, 9], [4, 5, 9, 9]]), r[3]"

// dynamic_slice with start (5, 5) clamps to (0, 1): [[1, 2], [4, 5]];
// dynamic_update_slice writes [7, 7] at the clamped (1, 1):
// [[0, 1, 2], [3, 7, 7]]; concatenate along 0 gives 4 rows; the while loop
// doubles x three times: 8 x.
// RUN: mixir-run %t/m.mlir --entry=slices_loop --input=%t/x.npy --input=%t/i.npy --output-dir=%t/b
// RUN: %python -c "import numpy as np; \
// RUN:   r = [np.load('%t/b/out%%d.npy' %% i) for i in range(4)]; \
// RUN:   x = np.arange(6).reshape(2, 3); \
// RUN:   assert np.array_equal(r[0], [[1, 2], [4, 5]]), r[0]; \
// RUN:   assert np.array_equal(r[1], [[0, 1, 2], [3, 7, 7]]), r[1]; \
// RUN:   assert np.array_equal(r[2], np.concatenate([x, x])), r[2]; \
// RUN:   assert np.array_equal(r[3], 8 * x), r[3]"

// JAX's softmax over rows of x: softmax([0, 1, 2]) twice (rows differ by a
// constant shift), recognised as linalg.softmax.
// RUN: mixir-run %t/m.mlir --entry=softmax --input=%t/x.npy --output-dir=%t/c
// RUN: %python -c "import numpy as np; \
// RUN:   r = np.load('%t/c/out0.npy'); e = np.exp([0.0, 1.0, 2.0]); s = e / e.sum(); \
// RUN:   assert np.allclose(r, [s, s], atol=1e-6), r"
// reduce_window as JAX's cumsum along dim 1: [[0, 1, 3], [3, 7, 12]].
// A depthwise causal convolution (NWC input, WIO kernel, padding (1, 0),
// two groups): channel 0 sums the previous and current values of
// [1, 2, 3, 4] giving [1, 3, 5, 7]; channel 1 has kernel [0, 1] and passes
// [10, 20, 30, 40] through.
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t/cx.npy', np.array([[[1, 10], [2, 20], [3, 30], [4, 40]]], np.float32)); \
// RUN:   np.save('%t/cw.npy', np.array([[[1, 0]], [[1, 1]]], np.float32))"
// RUN: mixir-run %t/m.mlir --entry=window_conv --input=%t/x.npy --input=%t/cx.npy --input=%t/cw.npy --output-dir=%t/d
// RUN: %python -c "import numpy as np; \
// RUN:   r = [np.load('%t/d/out%%d.npy' %% i) for i in range(2)]; \
// RUN:   assert np.array_equal(r[0], [[0, 1, 3], [3, 7, 12]]), r[0]; \
// RUN:   assert np.array_equal(r[1], [[[1, 10], [3, 20], [5, 30], [7, 40]]]), r[1]"
// gather as JAX writes x[[1, 0, 7]] (rows; 7 clamps to 1):
// [[3, 4, 5], [0, 1, 2], [3, 4, 5]].
// RUN: mixir-run %t/m.mlir --entry=gather --input=%t/x.npy --output-dir=%t/e
// RUN: %python -c "import numpy as np; \
// RUN:   r = np.load('%t/e/out0.npy'); \
// RUN:   assert np.array_equal(r, [[3, 4, 5], [0, 1, 2], [3, 4, 5]]), r"
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<2x3xf32>) -> tensor<3x3xf32>, sym_name = "gather"}> ({
  ^bb0(%x: tensor<2x3xf32>):
    %i = "stablehlo.constant"() <{value = dense<[[1], [0], [7]]> : tensor<3x1xi32>}> : () -> tensor<3x1xi32>
    %0 = "stablehlo.gather"(%x, %i) <{dimension_numbers = {offset_dims = array<i64: 1>, collapsed_slice_dims = array<i64: 0>, operand_batching_dims = array<i64>, start_indices_batching_dims = array<i64>, start_index_map = array<i64: 0>, index_vector_dim = 1 : i64}, slice_sizes = array<i64: 1, 3>, indices_are_sorted = false}> : (tensor<2x3xf32>, tensor<3x1xi32>) -> tensor<3x3xf32>
    "func.return"(%0) : (tensor<3x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<1x4x2xf32>, tensor<2x1x2xf32>) -> (tensor<2x3xf32>, tensor<1x4x2xf32>), sym_name = "window_conv"}> ({
  ^bb0(%x: tensor<2x3xf32>, %cx: tensor<1x4x2xf32>, %cw: tensor<2x1x2xf32>):
    %zero = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %0 = "stablehlo.reduce_window"(%x, %zero) <{padding = dense<[[0, 0], [2, 0]]> : tensor<2x2xi64>, window_dimensions = array<i64: 1, 3>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    %1 = "stablehlo.convolution"(%cx, %cw) <{batch_group_count = 1 : i64, dimension_numbers = {input_batch_dimension = 0 : i64, input_feature_dimension = 2 : i64, input_spatial_dimensions = array<i64: 1>, kernel_input_feature_dimension = 1 : i64, kernel_output_feature_dimension = 2 : i64, kernel_spatial_dimensions = array<i64: 0>, output_batch_dimension = 0 : i64, output_feature_dimension = 2 : i64, output_spatial_dimensions = array<i64: 1>}, feature_group_count = 2 : i64, padding = dense<[[1, 0]]> : tensor<1x2xi64>}> : (tensor<1x4x2xf32>, tensor<2x1x2xf32>) -> tensor<1x4x2xf32>
    "func.return"(%0, %1) : (tensor<2x3xf32>, tensor<1x4x2xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> (tensor<2xf32>, tensor<3xf32>, tensor<2x4xf32>, tensor<3x4xf32>), sym_name = "reduce_dot_pad"}> ({
  ^bb0(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>):
    %zero = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %ninf = "stablehlo.constant"() <{value = dense<0xFF800000> : tensor<f32>}> : () -> tensor<f32>
    %nine = "stablehlo.constant"() <{value = dense<9.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %0 = "stablehlo.reduce"(%x, %zero) <{dimensions = array<i64: 1>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>
    %1 = "stablehlo.reduce"(%x, %ninf) <{dimensions = array<i64: 0>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.maximum"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3xf32>, tensor<f32>) -> tensor<3xf32>
    %2 = "stablehlo.dot_general"(%x, %w) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64>, rhs_batching_dimensions = array<i64>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 0>}}> : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    %3 = "stablehlo.pad"(%x, %nine) <{edge_padding_low = array<i64: 1, -1>, edge_padding_high = array<i64: 0, 2>, interior_padding = array<i64: 0, 0>}> : (tensor<2x3xf32>, tensor<f32>) -> tensor<3x4xf32>
    "func.return"(%0, %1, %2, %3) : (tensor<2xf32>, tensor<3xf32>, tensor<2x4xf32>, tensor<3x4xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>, tensor<i32>) -> (tensor<2x2xf32>, tensor<2x3xf32>, tensor<4x3xf32>, tensor<2x3xf32>), sym_name = "slices_loop"}> ({
  ^bb0(%x: tensor<2x3xf32>, %i: tensor<i32>):
    %seven = "stablehlo.constant"() <{value = dense<7.000000e+00> : tensor<1x2xf32>}> : () -> tensor<1x2xf32>
    %0 = "stablehlo.dynamic_slice"(%x, %i, %i) <{slice_sizes = array<i64: 2, 2>}> : (tensor<2x3xf32>, tensor<i32>, tensor<i32>) -> tensor<2x2xf32>
    %1 = "stablehlo.dynamic_update_slice"(%x, %seven, %i, %i) : (tensor<2x3xf32>, tensor<1x2xf32>, tensor<i32>, tensor<i32>) -> tensor<2x3xf32>
    %2 = "stablehlo.concatenate"(%x, %x) <{dimension = 0 : i64}> : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
    %c0 = "stablehlo.constant"() <{value = dense<0> : tensor<i32>}> : () -> tensor<i32>
    %c1 = "stablehlo.constant"() <{value = dense<1> : tensor<i32>}> : () -> tensor<i32>
    %c3 = "stablehlo.constant"() <{value = dense<3> : tensor<i32>}> : () -> tensor<i32>
    %two = "stablehlo.constant"() <{value = dense<2.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %3:2 = "stablehlo.while"(%c0, %x) ({
    ^bb0(%k: tensor<i32>, %a: tensor<2x3xf32>):
      %p = "stablehlo.compare"(%k, %c3) <{compare_type = "SIGNED", comparison_direction = "LT"}> : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%p) : (tensor<i1>) -> ()
    }, {
    ^bb0(%k: tensor<i32>, %a: tensor<2x3xf32>):
      %n = "stablehlo.add"(%k, %c1) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      %t = "stablehlo.broadcast_in_dim"(%two) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<2x3xf32>
      %b = "stablehlo.multiply"(%a, %t) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
      "stablehlo.return"(%n, %b) : (tensor<i32>, tensor<2x3xf32>) -> ()
    }) : (tensor<i32>, tensor<2x3xf32>) -> (tensor<i32>, tensor<2x3xf32>)
    "func.return"(%0, %1, %2, %3#1) : (tensor<2x2xf32>, tensor<2x3xf32>, tensor<4x3xf32>, tensor<2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<2x3xf32>) -> tensor<2x3xf32>, sym_name = "softmax"}> ({
  ^bb0(%x: tensor<2x3xf32>):
    %zero = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %ninf = "stablehlo.constant"() <{value = dense<0xFF800000> : tensor<f32>}> : () -> tensor<f32>
    %m = "stablehlo.reduce"(%x, %ninf) <{dimensions = array<i64: 1>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.maximum"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>
    %mb = "stablehlo.broadcast_in_dim"(%m) <{broadcast_dimensions = array<i64: 0>}> : (tensor<2xf32>) -> tensor<2x3xf32>
    %d = "stablehlo.subtract"(%x, %mb) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %e = "stablehlo.exponential"(%d) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %s = "stablehlo.reduce"(%e, %zero) <{dimensions = array<i64: 1>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>
    %sb = "stablehlo.broadcast_in_dim"(%s) <{broadcast_dimensions = array<i64: 0>}> : (tensor<2xf32>) -> tensor<2x3xf32>
    %y = "stablehlo.divide"(%e, %sb) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    "func.return"(%y) : (tensor<2x3xf32>) -> ()
  }) : () -> ()
}) : () -> ()
