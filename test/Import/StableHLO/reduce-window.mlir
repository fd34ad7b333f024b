// mixir-stablehlo-flat v1
// jnp.cumsum lowers to reduce_window with an add body over the whole axis and
// T - 1 padding on one side; it becomes a cumulative sum (linear in T), run
// here on the CPU (forward and reverse). Any other window (here a moving sum
// of two) takes the general window reduction.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: mixir-import-stablehlo %s -o %t/m.mlir
// RUN: %python -c "import numpy as np; np.save('%t/x.npy', np.arange(12, dtype=np.float32).reshape(3, 4))"
// RUN: mixir-run %t/m.mlir --entry=cumsums --input=%t/x.npy --output-dir=%t/a
// RUN: %python -c "import numpy as np; \
// RUN:   x = np.arange(12, dtype=np.float32).reshape(3, 4); \
// RUN:   f, r = np.load('%t/a/out0.npy'), np.load('%t/a/out1.npy'); \
// RUN:   assert np.array_equal(f, np.cumsum(x, 1)), f; \
// RUN:   assert np.array_equal(r, np.cumsum(x[::-1], 0)[::-1]), r"
// RUN: FileCheck %s < %t/m.mlir
// RUN: sed -e 's/window_dimensions = array<i64: 1, 4>/window_dimensions = array<i64: 1, 2>/' \
// RUN:     -e 's/\[\[0, 0\], \[3, 0\]\]/[[0, 0], [1, 0]]/' %s > %t/moving.mlir
// RUN: mixir-import-stablehlo %t/moving.mlir -o %t/moving-imported.mlir
// RUN: FileCheck %s --check-prefix=GENERAL < %t/moving-imported.mlir
// RUN: mixir-run %t/moving-imported.mlir --entry=cumsums --input=%t/x.npy --output-dir=%t/b
// RUN: %python -c "import numpy as np; \
// RUN:   x = np.arange(12, dtype=np.float32).reshape(3, 4); \
// RUN:   m = np.load('%t/b/out0.npy'); \
// RUN:   assert np.array_equal(m, x + np.pad(x, ((0, 0), (1, 0)))[:, :4]), m"
//
// The cumulative sums are scans over the axis, not window reductions:
// CHECK-LABEL: func.func @cumsums
// CHECK-NOT: tensor.pad
// GENERAL-LABEL: func.func @cumsums
// GENERAL: tensor.pad
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>), sym_name = "cumsums"}> ({
  ^bb0(%x: tensor<3x4xf32>):
    %z = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %f = "stablehlo.reduce_window"(%x, %z) <{padding = dense<[[0, 0], [3, 0]]> : tensor<2x2xi64>, window_dimensions = array<i64: 1, 4>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %s = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%s) : (tensor<f32>) -> ()
    }) : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xf32>
    %r = "stablehlo.reduce_window"(%x, %z) <{padding = dense<[[0, 2], [0, 0]]> : tensor<2x2xi64>, window_dimensions = array<i64: 3, 1>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %s = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%s) : (tensor<f32>) -> ()
    }) : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xf32>
    "func.return"(%f, %r) : (tensor<3x4xf32>, tensor<3x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
