// Sliding-window softmax attention with grouped-query heads (GQA), the
// local-attention layer that hybrid models (e.g. Gated DeltaNet-H2, Samba)
// interleave with their linear-recurrent layers.
//
//   s[i, j] = scale * q_i . k_j      for i - window < j <= i  (causal window)
//   o_i     = sum_j softmax_j(s[i, :]) v_j
//
// window = 256: each query sees itself and the 255 keys before it.
// GQA: 8 query heads share 2 key/value heads (query head h reads kv head h / 4).
//
// Shapes (B batch and T tokens are dynamic; Hq = 8, Hkv = 2, K = V = 64):
//   %q : [B, T, Hq, K]   bf16
//   %k : [B, T, Hkv, K]  bf16
//   %v : [B, T, Hkv, V]  bf16
// Result:
//   o  : [B, T, Hq, V]   bf16
//
// scale = K^-1/2 (the default). Rotary embeddings, projections and the
// output projection are left out.
func.func @sliding_window_attention(%q: tensor<?x?x8x64xbf16>,
                                    %k: tensor<?x?x2x64xbf16>,
                                    %v: tensor<?x?x2x64xbf16>)
    -> tensor<?x?x8x64xbf16> {
  %o = mix.attention %q, %k, %v causal window = 256
      : (tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}
