// The success path of mixir-run: JIT-compile this module, run @scan on .npy
// inputs and write out0.npy (o) and out1.npy (the final state), checked
// against hand-computed values.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t/ones.npy', np.ones((2, 5, 100), np.float32)); \
// RUN:   np.save('%t/zeros.npy', np.zeros((2, 5, 100), np.float32)); \
// RUN:   np.save('%t/half.npy', np.full((2, 5, 100), np.log(0.5), np.float32)); \
// RUN:   np.save('%t/h0.npy', np.arange(200, dtype=np.float32).reshape(2, 100))"

// x = 1, g = 0 (no decay): o[b, t, d] = t + 1, the running count, and the
// final state is T = 5. D = 100 exercises both the 64-wide tile and the
// 36-wide remainder. A successful run prints nothing.
// RUN: mixir-run %s --entry=scan --input=%t/ones.npy --input=%t/zeros.npy --output-dir=%t/count > %t/count.log 2>&1
// RUN: count 0 < %t/count.log
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/count/out0.npy'); h = np.load('%t/count/out1.npy'); \
// RUN:   assert o.dtype == np.float32 and o.shape == (2, 5, 100), (o.dtype, o.shape); \
// RUN:   assert h.dtype == np.float32 and h.shape == (2, 100), (h.dtype, h.shape); \
// RUN:   want = np.broadcast_to(np.arange(1, 6, dtype=np.float32)[None, :, None], (2, 5, 100)); \
// RUN:   assert np.array_equal(o, want), o[0, :, :3]; \
// RUN:   assert np.array_equal(h, np.full((2, 100), 5, np.float32)), h"

// g = ln(1/2): h = h/2 + 1 gives 1, 1.5, 1.75, 1.875, 1.9375.
// RUN: mixir-run %s --entry=scan --input=%t/ones.npy --input=%t/half.npy --output-dir=%t/halve
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/halve/out0.npy'); \
// RUN:   want = np.array([1, 1.5, 1.75, 1.875, 1.9375], np.float32); \
// RUN:   assert np.allclose(o, want[None, :, None], rtol=1e-6), o[0, :, :3]"

// With an initial state h0[b, d] = 100 b + d and no decay: o = h0 + t + 1.
// RUN: mixir-run %s --entry=scan_init --input=%t/ones.npy --input=%t/zeros.npy --input=%t/h0.npy --output-dir=%t/init
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/init/out0.npy'); h = np.load('%t/init/out1.npy'); \
// RUN:   h0 = np.arange(200, dtype=np.float32).reshape(2, 100); \
// RUN:   want = h0[:, None, :] + np.arange(1, 6, dtype=np.float32)[None, :, None]; \
// RUN:   assert np.array_equal(o, want), o[:, :, :3]; \
// RUN:   assert np.array_equal(h, h0 + 5), h"

// bf16 x (stored by numpy as the 2-byte void type 'V2', the raw bf16 bits)
// with an f32 gate: the output is bf16, the state f32; 1..5 are exact.
// RUN: %python -c "import numpy as np; \
// RUN:   bits = (np.ones((2, 5, 100), np.float32).view(np.uint32) >> 16).astype(np.uint16); \
// RUN:   np.save('%t/ones-bf16.npy', bits.view('V2'))"
// RUN: mixir-run %s --entry=scan_bf16 --input=%t/ones-bf16.npy --input=%t/zeros.npy --output-dir=%t/bf16
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/bf16/out0.npy'); h = np.load('%t/bf16/out1.npy'); \
// RUN:   assert o.dtype == np.dtype('V2') and o.shape == (2, 5, 100), (o.dtype, o.shape); \
// RUN:   f = (o.view(np.uint16).astype(np.uint32) << 16).view(np.float32); \
// RUN:   assert np.array_equal(f, np.broadcast_to(np.arange(1, 6, dtype=np.float32)[None, :, None], f.shape)), f[0, :, :3]; \
// RUN:   assert h.dtype == np.float32 and np.array_equal(h, np.full((2, 100), 5, np.float32)), h"

func.func @scan(%x: tensor<?x?x100xf32>, %g: tensor<?x?x100xf32>) -> (tensor<?x?x100xf32>, tensor<?x100xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x100xf32>, tensor<?x?x100xf32>) -> (tensor<?x?x100xf32>, tensor<?x100xf32>)
  return %o, %h : tensor<?x?x100xf32>, tensor<?x100xf32>
}

func.func @scan_init(%x: tensor<?x?x100xf32>, %g: tensor<?x?x100xf32>, %h0: tensor<?x100xf32>)
    -> (tensor<?x?x100xf32>, tensor<?x100xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<?x?x100xf32>, tensor<?x?x100xf32>, tensor<?x100xf32>) -> (tensor<?x?x100xf32>, tensor<?x100xf32>)
  return %o, %h : tensor<?x?x100xf32>, tensor<?x100xf32>
}

func.func @scan_bf16(%x: tensor<?x?x100xbf16>, %g: tensor<?x?x100xf32>) -> (tensor<?x?x100xbf16>, tensor<?x100xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x100xbf16>, tensor<?x?x100xf32>) -> (tensor<?x?x100xbf16>, tensor<?x100xf32>)
  return %o, %h : tensor<?x?x100xbf16>, tensor<?x100xf32>
}
