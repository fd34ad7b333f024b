// Linear attention with 256-dim keys in bf16: on target cuda, the tiles of
// 64-token chunks exceed a block's shared memory and live in its slice of a
// global scratch buffer.
func.func @la(%q: tensor<?x?x1x256xbf16>, %k: tensor<?x?x1x256xbf16>, %v: tensor<?x?x1x32xbf16>)
    -> (tensor<?x?x1x32xbf16>, tensor<?x1x256x32xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<?x?x1x256xbf16>, tensor<?x?x1x256xbf16>, tensor<?x?x1x32xbf16>)
      -> (tensor<?x?x1x32xbf16>, tensor<?x1x256x32xf32>)
  return %o, %s : tensor<?x?x1x32xbf16>, tensor<?x1x256x32xf32>
}
