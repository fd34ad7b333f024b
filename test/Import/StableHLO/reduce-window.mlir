// mixir-stablehlo-flat v1
// jnp.cumsum lowers to reduce_window with an add body over the whole axis and
// T - 1 padding on one side; it becomes a cumulative sum, run here on the CPU
// (forward and reverse). Pooling windows are refused with a message.
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
// RUN: sed -e 's/cumsums/pool/' -e 's/window_dimensions = array<i64: 1, 4>/window_dimensions = array<i64: 1, 2>/' %s > %t/pool.mlir
// RUN: not mixir-import-stablehlo %t/pool.mlir -o - 2>&1 | FileCheck %s
// CHECK: mixir-import-stablehlo: 'stablehlo.reduce_window' at {{.*}}: only cumulative sums along one axis
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
