// mixir-run on each recurrent op with inputs whose result is known by hand
// (not by a reference implementation): T = 5, one head, K = V = 4.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t/ones.npy', np.ones((1, 5, 1, 4), np.float32)); \
// RUN:   e0 = np.zeros((1, 5, 1, 4), np.float32); e0[..., 0] = 1; np.save('%t/e0.npy', e0); \
// RUN:   vt = np.broadcast_to(np.arange(1, 6, dtype=np.float32)[None, :, None, None], (1, 5, 1, 4)); \
// RUN:   np.save('%t/vt.npy', np.ascontiguousarray(vt)); \
// RUN:   np.save('%t/beta1.npy', np.ones((1, 5, 1), np.float32))"

// Linear attention, q = k = v = 1, scale 1: S_t = (t + 1) ones(4, 4), so
// o_t = S_t^T q = 4 (t + 1) and the final state is 5 everywhere.
// RUN: mixir-run %s --entry=linear_attention --input=%t/ones.npy --input=%t/ones.npy --input=%t/ones.npy --output-dir=%t/la
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/la/out0.npy'); s = np.load('%t/la/out1.npy'); \
// RUN:   assert o.shape == (1, 5, 1, 4) and s.shape == (1, 1, 4, 4), (o.shape, s.shape); \
// RUN:   assert np.array_equal(o[0, :, 0, :], 4 * np.arange(1, 6, dtype=np.float32)[:, None] * np.ones(4)), o; \
// RUN:   assert np.array_equal(s, np.full((1, 1, 4, 4), 5, np.float32)), s"

// Delta rule with k = q = e0 and beta = 1: each step overwrites row 0 of S
// with v_t (S = (I - e0 e0^T) S + e0 v_t^T), so o_t = v_t = t + 1, not the
// running sum, and the final state holds v_4 = 5 in row 0 only.
// RUN: mixir-run %s --entry=delta_rule --input=%t/e0.npy --input=%t/e0.npy --input=%t/vt.npy --input=%t/beta1.npy --output-dir=%t/dr
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/dr/out0.npy'); s = np.load('%t/dr/out1.npy'); \
// RUN:   assert np.allclose(o[0, :, 0, :], np.arange(1, 6)[:, None] * np.ones(4)), o; \
// RUN:   want = np.zeros((4, 4), np.float32); want[0] = 5; \
// RUN:   assert np.allclose(s[0, 0], want), s"

// Causal attention with identical keys: uniform weights over j <= i, so
// o_i = mean(v_0..v_i) = (i + 2) / 2.
// RUN: mixir-run %s --entry=attention --input=%t/ones.npy --input=%t/ones.npy --input=%t/vt.npy --output-dir=%t/at
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/at/out0.npy'); \
// RUN:   assert np.allclose(o[0, :, 0, :], (np.arange(5) + 2)[:, None] / 2 * np.ones(4), rtol=1e-6), o"

// Sliding window of 2: o_i = mean(v_{i-1}, v_i) = i + 1/2 (v_0 = 1 alone at i = 0).
// RUN: mixir-run %s --entry=attention_window --input=%t/ones.npy --input=%t/ones.npy --input=%t/vt.npy --output-dir=%t/win
// RUN: %python -c "import numpy as np; \
// RUN:   o = np.load('%t/win/out0.npy'); \
// RUN:   assert np.allclose(o[0, :, 0, 0], [1, 1.5, 2.5, 3.5, 4.5], rtol=1e-6), o"

func.func @linear_attention(%q: tensor<1x?x1x4xf32>, %k: tensor<1x?x1x4xf32>, %v: tensor<1x?x1x4xf32>)
    -> (tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 1.0
      : (tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>)
      -> (tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>)
  return %o, %s : tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>
}

func.func @delta_rule(%q: tensor<1x?x1x4xf32>, %k: tensor<1x?x1x4xf32>, %v: tensor<1x?x1x4xf32>, %beta: tensor<1x?x1xf32>)
    -> (tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none scale = 1.0
      : (tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x?x1xf32>)
      -> (tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>)
  return %o, %s : tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>
}

func.func @attention(%q: tensor<1x?x1x4xf32>, %k: tensor<1x?x1x4xf32>, %v: tensor<1x?x1x4xf32>) -> tensor<1x?x1x4xf32> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>) -> tensor<1x?x1x4xf32>
  return %o : tensor<1x?x1x4xf32>
}

func.func @attention_window(%q: tensor<1x?x1x4xf32>, %k: tensor<1x?x1x4xf32>, %v: tensor<1x?x1x4xf32>) -> tensor<1x?x1x4xf32> {
  %o = mix.attention %q, %k, %v causal window = 2
      : (tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>) -> tensor<1x?x1x4xf32>
  return %o : tensor<1x?x1x4xf32>
}
