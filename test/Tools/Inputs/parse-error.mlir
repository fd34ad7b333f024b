// Malformed: %z is never defined (line 4, column 23).
func.func @f(%x: tensor<1x4x4xf32>, %g: tensor<1x4x4xf32>)
    -> (tensor<1x4x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %z : (tensor<1x4x4xf32>, tensor<1x4x4xf32>) -> (tensor<1x4x4xf32>, tensor<1x4xf32>)
  return %o, %h : tensor<1x4x4xf32>, tensor<1x4xf32>
}
