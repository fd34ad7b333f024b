// A one-op function marked for mix-derive-backward: @scan and
// @scan_backward(x, g, do, dh) -> (dx, dg) both become entry points.
func.func @scan(%x: tensor<1x?x4xf32>, %g: tensor<1x?x4xf32>)
    -> (tensor<1x?x4xf32>, tensor<1x4xf32>) attributes {mix.derive_backward} {
  %o, %h = mix.scan %x, %g : (tensor<1x?x4xf32>, tensor<1x?x4xf32>)
      -> (tensor<1x?x4xf32>, tensor<1x4xf32>)
  return %o, %h : tensor<1x?x4xf32>, tensor<1x4xf32>
}
