// mix.scan with dynamic B and T: x, g [B, T, 4] f32.
func.func @scan(%x: tensor<?x?x4xf32>, %g: tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
  return %o, %h : tensor<?x?x4xf32>, tensor<?x4xf32>
}
