// Gated Linear Attention (GLA, Yang et al. 2024) token mixer, one layer.
//
// The layer is the recurrence of mix.linear_attention with a per-key-channel
// ("vector") decay gate:
//
//   S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T      S_t: [K, V] per head, f32
//   o_t = S_t^T (scale * q_t)
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads, K = V = 64):
//   %q, %k : [B, T, H, K]  bf16  queries / keys (after the projections)
//   %v     : [B, T, H, V]  bf16  values
//   %g     : [B, T, H, K]  f32   log decay, <= 0; GLA computes it as
//                                logsigmoid(x) / 16 from a low-rank projection
//   %s0    : [B, H, K, V]  f32   initial state (e.g. carried from a previous
//                                segment of the sequence)
// Results:
//   o      : [B, T, H, V]  bf16
//   state  : [B, H, K, V]  f32   state after the last token
//
// scale = K^-1/2 = 0.125. The q/k/v/g projections, output gate and norm of the
// full GLA block are plain dense layers and are left out.
func.func @gla(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
               %v: tensor<?x?x4x64xbf16>, %g: tensor<?x?x4x64xf32>,
               %s0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) init(%s0) scale = 0.125
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
         tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}
