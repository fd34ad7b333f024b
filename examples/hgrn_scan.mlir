// HGRN (Qin et al. 2023) token mixer, one layer: an element-wise gated linear
// recurrence over D channels,
//
//   f_t = sigmoid(f_logit_t)                 forget gate in (0, 1)
//   x_t = silu(i_t) * (1 - f_t)              gated input
//   h_t = f_t * h_{t-1} + x_t,   o_t = h_t   (mix.scan, g_t = ln f_t)
//
// The gate and input maps are linalg.generic ops on tensors, in f32, with
//   g = ln(sigmoid(f)) = -softplus(-f) = min(f, 0) - log1p(exp(-|f|))
//   1 - sigmoid(f) = sigmoid(-f)
// (HGRN with lower bound 0, as in its first layer; the projections and the
// output gate/norm are left out.)
//
// Shapes (B batch and T tokens are dynamic; D = 1024 channels):
//   %i, %f : [B, T, D]  f32   input and forget-gate logits (projection outputs)
//   %h0    : [B, D]     f32   initial hidden state
// Results:
//   o      : [B, T, D]  f32
//   h      : [B, D]     f32   hidden state after the last token
#map = affine_map<(b, t, d) -> (b, t, d)>
func.func @hgrn(%i: tensor<?x?x1024xf32>, %f: tensor<?x?x1024xf32>,
                %h0: tensor<?x1024xf32>)
    -> (tensor<?x?x1024xf32>, tensor<?x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %bs = tensor.dim %i, %c0 : tensor<?x?x1024xf32>
  %ts = tensor.dim %i, %c1 : tensor<?x?x1024xf32>
  %x_init = tensor.empty(%bs, %ts) : tensor<?x?x1024xf32>
  %g_init = tensor.empty(%bs, %ts) : tensor<?x?x1024xf32>
  %x, %g = linalg.generic
      {indexing_maps = [#map, #map, #map, #map],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%i, %f : tensor<?x?x1024xf32>, tensor<?x?x1024xf32>)
      outs(%x_init, %g_init : tensor<?x?x1024xf32>, tensor<?x?x1024xf32>) {
  ^bb0(%iv: f32, %fv: f32, %xo: f32, %go: f32):
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    // silu(i) = i / (1 + exp(-i))
    %ni = arith.negf %iv : f32
    %ei = math.exp %ni : f32
    %di = arith.addf %one, %ei : f32
    %silu = arith.divf %iv, %di : f32
    // 1 - f = 1 / (1 + exp(f))
    %ef = math.exp %fv : f32
    %df = arith.addf %one, %ef : f32
    %omf = arith.divf %one, %df : f32
    %xv = arith.mulf %silu, %omf : f32
    // ln f = min(f, 0) - log1p(exp(-|f|))
    %neg = arith.minimumf %fv, %zero : f32
    %af = math.absf %fv : f32
    %naf = arith.negf %af : f32
    %e = math.exp %naf : f32
    %l = math.log1p %e : f32
    %gv = arith.subf %neg, %l : f32
    linalg.yield %xv, %gv : f32, f32
  } -> (tensor<?x?x1024xf32>, tensor<?x?x1024xf32>)
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<?x?x1024xf32>, tensor<?x?x1024xf32>, tensor<?x1024xf32>)
      -> (tensor<?x?x1024xf32>, tensor<?x1024xf32>)
  return %o, %h : tensor<?x?x1024xf32>, tensor<?x1024xf32>
}
