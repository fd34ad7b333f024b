// RetNet retention (Sun et al. 2023) token mixer, one layer, in its recurrent
// form: linear attention with a fixed per-head decay gamma_h.
//
//   S_t = gamma_h S_{t-1} + k_t v_t^T      S_t: [K, V] per head, f32
//   o_t = S_t^T (scale * q_t)
//
// mix.linear_attention with `gate head(%g)`: g[h] = ln(gamma_h) =
// ln(1 - 2^(-5 - h)), RetNet's multi-scale decays, a constant of the layer.
// (The xPos rotation of q and k is applied before the mixer and is left out,
// as are the projections, the swish output gate and the group norm.)
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads, K = 64, and V = 128:
// RetNet's value heads are twice as wide as its key heads):
//   %q, %k : [B, T, H, K]  f16
//   %v     : [B, T, H, V]  f16
// Results:
//   o      : [B, T, H, V]  f16
//   state  : [B, H, K, V]  f32   state after the last token (for decoding)
//
// scale = K^-1/2 (the default).
func.func @retnet(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>,
                  %v: tensor<?x?x4x128xf16>)
    -> (tensor<?x?x4x128xf16>, tensor<?x4x64x128xf32>) {
  // ln(1 - 2^-5), ln(1 - 2^-6), ln(1 - 2^-7), ln(1 - 2^-8), rounded to f32.
  %g = arith.constant dense<[-0.031748697, -0.015748357, -0.007843178,
                             -0.0039138994]> : tensor<4xf32>
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x128xf16>,
         tensor<4xf32>)
      -> (tensor<?x?x4x128xf16>, tensor<?x4x64x128xf32>)
  return %o, %s : tensor<?x?x4x128xf16>, tensor<?x4x64x128xf32>
}
