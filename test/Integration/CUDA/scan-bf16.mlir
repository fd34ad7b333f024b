// Not a test: the module mixir-run-scan.test runs (x bf16, g f32 [B, T, D]).
func.func @scan(%x: tensor<?x?x256xbf16>, %g: tensor<?x?x256xf32>)
    -> (tensor<?x?x256xbf16>, tensor<?x256xf32>) {
  %o, %s = mix.scan %x, %g
      : (tensor<?x?x256xbf16>, tensor<?x?x256xf32>)
      -> (tensor<?x?x256xbf16>, tensor<?x256xf32>)
  return %o, %s : tensor<?x?x256xbf16>, tensor<?x256xf32>
}
