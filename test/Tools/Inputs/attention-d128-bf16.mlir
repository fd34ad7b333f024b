// Causal attention in bf16 at head dim 128 (the shape of most LLMs' heads).
func.func @attn(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>)
      -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}
