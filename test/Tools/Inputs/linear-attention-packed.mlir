// Packed linear attention: q, k, v [B, T, 1, 4] f32 (B must be 1), N + 1
// offsets cu [?] i32 packing N sequences, one initial state per sequence.
func.func @la_packed(%q: tensor<?x?x1x4xf32>, %k: tensor<?x?x1x4xf32>, %v: tensor<?x?x1x4xf32>,
                     %s0: tensor<?x1x4x4xf32>, %cu: tensor<?xi32>)
    -> (tensor<?x?x1x4xf32>, tensor<?x1x4x4xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none init(%s0) varlen(%cu) scale = 1.0
      : (tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>, tensor<?x1x4x4xf32>, tensor<?xi32>)
      -> (tensor<?x?x1x4xf32>, tensor<?x1x4x4xf32>)
  return %o, %s : tensor<?x?x1x4xf32>, tensor<?x1x4x4xf32>
}
