// Linear attention with dynamic T: q, k, v [1, T, 1, 4] f32, scale 1.
func.func @la(%q: tensor<1x?x1x4xf32>, %k: tensor<1x?x1x4xf32>, %v: tensor<1x?x1x4xf32>)
    -> (tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 1.0
      : (tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1x?x1x4xf32>)
      -> (tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>)
  return %o, %s : tensor<1x?x1x4xf32>, tensor<1x1x4x4xf32>
}
