// A module with one public function, @scan: x, g [1, T, 4] f32 (T dynamic).
// Used by the tests of mixir-run's argument checks.
func.func @scan(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>)
  return %o, %h : tensor<1x?x4xf32>, tensor<1x4xf32>
}
