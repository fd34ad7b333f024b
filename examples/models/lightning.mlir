// A TransNormerLLM token mixer (Lightning Attention 1/2), one whole layer
// in MLIR: linalg around one mix.linear_attention. Driven and checked by
// examples/models/lightning.py.
//
//   q = silu(x W_q), k = silu(x W_k), v = x W_v, u = x W_u
//   o_t = sum_{s<=t} lambda_h^(t-s) (q_t . k_s) v_s      (per head, scale 1)
//   y = (SRMSNorm(o) * u) W_o
//
// lambda_h = exp(-slope_h), slope_h = 2^(-8 (h+1) / H) (the ALiBi slopes),
// so `gate head` is g = ln lambda = -1/4, -1/16, -1/64, -1/256 (exact in
// f32). SRMSNorm is
// o / sqrt(mean(o^2) + 1e-6) over each head's V channels, without a scale.
//
// Shapes (B and T dynamic; model width 96, H = 4 heads, K = 32, V = 48):
//   %x  : [B, T, 96]   %wq, %wk : [96, 128]   %wv, %wu : [96, 192]
//   %wo : [192, 96]    result   : [B, T, 96]          all f32
#map_px = affine_map<(b, t, o, i) -> (b, t, i)>
#map_pw = affine_map<(b, t, o, i) -> (i, o)>
#map_py = affine_map<(b, t, o, i) -> (b, t, o)>
#map_e3 = affine_map<(b, t, c) -> (b, t, c)>
#map_o = affine_map<(b, t, h, v) -> (b, t, h, v)>
#map_sum = affine_map<(b, t, h, v) -> (b, t, h)>
// The projections are contractions over the model dimension, written as
// linalg.generic on [B, T, D] (B and T are never collapsed into one
// dynamic dimension: splitting it again, tensor.expand_shape of one
// dynamic dimension into two, crashes MLIR 22's expand-strided-metadata).
func.func private @project(%x: tensor<?x?x?xf32>, %w: tensor<?x?xf32>)
    -> tensor<?x?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %bs = tensor.dim %x, %c0 : tensor<?x?x?xf32>
  %ts = tensor.dim %x, %c1 : tensor<?x?x?xf32>
  %n = tensor.dim %w, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%bs, %ts, %n) : tensor<?x?x?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %y = linalg.generic
      {indexing_maps = [#map_px, #map_pw, #map_py],
       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x?xf32>, tensor<?x?xf32>)
      outs(%z : tensor<?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

func.func @lightning(%x: tensor<?x?x96xf32>, %wq: tensor<96x128xf32>,
                     %wk: tensor<96x128xf32>, %wv: tensor<96x192xf32>,
                     %wu: tensor<96x192xf32>, %wo: tensor<192x96xf32>)
    -> tensor<?x?x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %bs = tensor.dim %x, %c0 : tensor<?x?x96xf32>
  %ts = tensor.dim %x, %c1 : tensor<?x?x96xf32>

  // The four input projections (one function, its sizes made dynamic by
  // tensor.cast and static again after the call).
  %xd = tensor.cast %x : tensor<?x?x96xf32> to tensor<?x?x?xf32>
  %wqd = tensor.cast %wq : tensor<96x128xf32> to tensor<?x?xf32>
  %wkd = tensor.cast %wk : tensor<96x128xf32> to tensor<?x?xf32>
  %wvd = tensor.cast %wv : tensor<96x192xf32> to tensor<?x?xf32>
  %wud = tensor.cast %wu : tensor<96x192xf32> to tensor<?x?xf32>
  %qd = func.call @project(%xd, %wqd) : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  %kd = func.call @project(%xd, %wkd) : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  %vd = func.call @project(%xd, %wvd) : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  %ud = func.call @project(%xd, %wud) : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  %qp = tensor.cast %qd : tensor<?x?x?xf32> to tensor<?x?x128xf32>
  %kp = tensor.cast %kd : tensor<?x?x?xf32> to tensor<?x?x128xf32>
  %vp = tensor.cast %vd : tensor<?x?x?xf32> to tensor<?x?x192xf32>
  %up = tensor.cast %ud : tensor<?x?x?xf32> to tensor<?x?x192xf32>

  // silu(q), silu(k) = a / (1 + exp(-a)).
  %e128 = tensor.empty(%bs, %ts) : tensor<?x?x128xf32>
  %qs, %ks = linalg.generic
      {indexing_maps = [#map_e3, #map_e3, #map_e3, #map_e3],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qp, %kp : tensor<?x?x128xf32>, tensor<?x?x128xf32>)
      outs(%e128, %e128 : tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %o1: f32, %o2: f32):
    %one = arith.constant 1.0 : f32
    %na = arith.negf %a : f32
    %ea = math.exp %na : f32
    %da = arith.addf %one, %ea : f32
    %sa = arith.divf %a, %da : f32
    %nb = arith.negf %b : f32
    %eb = math.exp %nb : f32
    %db = arith.addf %one, %eb : f32
    %sb = arith.divf %b, %db : f32
    linalg.yield %sa, %sb : f32, f32
  } -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>)

  %q = tensor.expand_shape %qs [[0], [1], [2, 3]] output_shape [%bs, %ts, 4, 32]
      : tensor<?x?x128xf32> into tensor<?x?x4x32xf32>
  %k = tensor.expand_shape %ks [[0], [1], [2, 3]] output_shape [%bs, %ts, 4, 32]
      : tensor<?x?x128xf32> into tensor<?x?x4x32xf32>
  %v = tensor.expand_shape %vp [[0], [1], [2, 3]] output_shape [%bs, %ts, 4, 48]
      : tensor<?x?x192xf32> into tensor<?x?x4x48xf32>
  %u = tensor.expand_shape %up [[0], [1], [2, 3]] output_shape [%bs, %ts, 4, 48]
      : tensor<?x?x192xf32> into tensor<?x?x4x48xf32>

  %g = arith.constant dense<[-0.25, -0.0625, -0.015625, -0.00390625]> : tensor<4xf32>
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g) scale = 1.0
      : (tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x?x4x48xf32>,
         tensor<4xf32>) -> (tensor<?x?x4x48xf32>, tensor<?x4x32x48xf32>)

  // SRMSNorm over each head's 48 channels, then the output gate u.
  %e_ss = tensor.empty(%bs, %ts) : tensor<?x?x4xf32>
  %z_ss = linalg.fill ins(%zero : f32) outs(%e_ss : tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %ss = linalg.generic
      {indexing_maps = [#map_o, #map_sum],
       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%o : tensor<?x?x4x48xf32>) outs(%z_ss : tensor<?x?x4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  } -> tensor<?x?x4xf32>
  %e_y = tensor.empty(%bs, %ts) : tensor<?x?x4x48xf32>
  %gated = linalg.generic
      {indexing_maps = [#map_o, #map_sum, #map_o, #map_o],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o, %ss, %u : tensor<?x?x4x48xf32>, tensor<?x?x4xf32>, tensor<?x?x4x48xf32>)
      outs(%e_y : tensor<?x?x4x48xf32>) {
  ^bb0(%a: f32, %sum: f32, %gate: f32, %out: f32):
    %inv_v = arith.constant 0.020833333 : f32   // 1 / 48
    %eps = arith.constant 1.0e-6 : f32
    %mean = arith.mulf %sum, %inv_v : f32
    %me = arith.addf %mean, %eps : f32
    %rs = math.rsqrt %me : f32
    %nrm = arith.mulf %a, %rs : f32
    %r = arith.mulf %nrm, %gate : f32
    linalg.yield %r : f32
  } -> tensor<?x?x4x48xf32>

  // The output projection.
  %gf = tensor.collapse_shape %gated [[0], [1], [2, 3]]
      : tensor<?x?x4x48xf32> into tensor<?x?x192xf32>
  %gfd = tensor.cast %gf : tensor<?x?x192xf32> to tensor<?x?x?xf32>
  %wod = tensor.cast %wo : tensor<192x96xf32> to tensor<?x?xf32>
  %yd = func.call @project(%gfd, %wod) : (tensor<?x?x?xf32>, tensor<?x?xf32>) -> tensor<?x?x?xf32>
  %y = tensor.cast %yd : tensor<?x?x?xf32> to tensor<?x?x96xf32>
  return %y : tensor<?x?x96xf32>
}
