// An entry point may return one of its arguments unchanged next to the mix
// results (here the initial state, e.g. to keep it for the next chunk).
// mixir-run must run it and write all three results.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t/x.npy', np.ones((1, 3, 4), np.float32)); \
// RUN:   np.save('%t/g.npy', np.zeros((1, 3, 4), np.float32)); \
// RUN:   np.save('%t/h0.npy', np.full((1, 4), 10, np.float32))"
// RUN: mixir-run %s --input=%t/x.npy --input=%t/g.npy --input=%t/h0.npy --output-dir=%t/out
// RUN: %python -c "import numpy as np; \
// RUN:   assert np.array_equal(np.load('%t/out/out0.npy')[0, :, 0], [11, 12, 13]); \
// RUN:   assert np.array_equal(np.load('%t/out/out1.npy'), np.full((1, 4), 13, np.float32)); \
// RUN:   assert np.array_equal(np.load('%t/out/out2.npy'), np.full((1, 4), 10, np.float32))"

func.func @scan_keep_init(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>, %h0: tensor<1x4xf32>)
    -> (tensor<1x?x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>)
  return %o, %h, %h0 : tensor<1x?x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>
}
