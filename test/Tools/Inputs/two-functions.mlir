// Two public functions: mixir-run needs --entry to pick one.
func.func @first(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>)
  return %o, %h : tensor<1x?x4xf32>, tensor<1x4xf32>
}
func.func @second(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>, %h0: tensor<1x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<1x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4xf32>)
  return %o, %h : tensor<1x?x4xf32>, tensor<1x4xf32>
}
// A private declaration is not an entry point.
func.func private @helper(tensor<4xf32>) -> tensor<4xf32>
