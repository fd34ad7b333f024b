// Parses, but fails the mix.scan verifier: g has D = 8, x has D = 4.
func.func @f(%x: tensor<1x4x4xf32>, %g: tensor<1x4x8xf32>)
    -> (tensor<1x4x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<1x4x4xf32>, tensor<1x4x8xf32>) -> (tensor<1x4x4xf32>, tensor<1x4xf32>)
  return %o, %h : tensor<1x4x4xf32>, tensor<1x4xf32>
}
