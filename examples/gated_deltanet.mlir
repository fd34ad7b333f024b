// Gated DeltaNet (Yang, Kautz & Hatamizadeh, ICLR 2025) token mixer, one layer.
//
// The gated delta rule, one f32 state S: [K, V] per head:
//
//   S_t = exp(g_t) (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T
//   o_t = S_t^T (scale * q_t)
//
// q and k are L2-normalised over K first (qk_l2norm, eps 1e-6), as in fla's
// chunk_gated_delta_rule(use_qk_l2norm_in_kernel=True).
//
// Besides the mixer op, the function computes the gates from the raw
// projection outputs exactly as the model does (fla GatedDeltaNet):
//
//   beta = sigmoid(b)                                  # in (0, 1)
//   g    = -exp(A_log[h]) * softplus(a + dt_bias[h])   # natural-log decay <= 0
//
// These element-wise maps are linalg.generic ops on tensors, computed in f32;
// the CPU pipeline bufferizes them and lowers them to loops next to the
// mix.delta_rule lowering.
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads, K = V = 64):
//   %q, %k    : [B, T, H, K]  bf16  queries / keys (after projection + conv)
//   %v        : [B, T, H, V]  bf16  values
//   %b        : [B, T, H]     bf16  beta logits (the b_proj output)
//   %a        : [B, T, H]     bf16  decay logits (the a_proj output)
//   %A_log    : [H]           f32   per-head log decay rate (a parameter)
//   %dt_bias  : [H]           f32   per-head bias (a parameter)
// Results:
//   o         : [B, T, H, V]  bf16
//   state     : [B, H, K, V]  f32   state after the last token
//
// scale = K^-1/2 (the default). The q/k/v/a/b projections, short
// convolutions, output gate and norm of the full block are left out.
#map_bth = affine_map<(b, t, h) -> (b, t, h)>
#map_h = affine_map<(b, t, h) -> (h)>
func.func @gated_deltanet(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
                          %v: tensor<?x?x4x64xbf16>, %b: tensor<?x?x4xbf16>,
                          %a: tensor<?x?x4xbf16>, %A_log: tensor<4xf32>,
                          %dt_bias: tensor<4xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %bs = tensor.dim %b, %c0 : tensor<?x?x4xbf16>
  %ts = tensor.dim %b, %c1 : tensor<?x?x4xbf16>
  %beta_init = tensor.empty(%bs, %ts) : tensor<?x?x4xf32>
  %g_init = tensor.empty(%bs, %ts) : tensor<?x?x4xf32>

  // beta = sigmoid(b) = 1 / (1 + exp(-b))
  %beta = linalg.generic
      {indexing_maps = [#map_bth, #map_bth],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b : tensor<?x?x4xbf16>) outs(%beta_init : tensor<?x?x4xf32>) {
  ^bb0(%x: bf16, %out: f32):
    %one = arith.constant 1.0 : f32
    %xf = arith.extf %x : bf16 to f32
    %nx = arith.negf %xf : f32
    %e = math.exp %nx : f32
    %den = arith.addf %one, %e : f32
    %s = arith.divf %one, %den : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>

  // g = -exp(A_log) * softplus(a + dt_bias), with the overflow-free
  // softplus(x) = max(x, 0) + log1p(exp(-|x|)).
  %g = linalg.generic
      {indexing_maps = [#map_bth, #map_h, #map_h, #map_bth],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %A_log, %dt_bias : tensor<?x?x4xbf16>, tensor<4xf32>, tensor<4xf32>)
      outs(%g_init : tensor<?x?x4xf32>) {
  ^bb0(%x: bf16, %alog: f32, %bias: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %xf = arith.extf %x : bf16 to f32
    %y = arith.addf %xf, %bias : f32
    %pos = arith.maximumf %y, %zero : f32
    %ay = math.absf %y : f32
    %nay = arith.negf %ay : f32
    %e = math.exp %nay : f32
    %l = math.log1p %e : f32
    %sp = arith.addf %pos, %l : f32
    %rate = math.exp %alog : f32
    %d = arith.mulf %rate, %sp : f32
    %nd = arith.negf %d : f32
    linalg.yield %nd : f32
  } -> tensor<?x?x4xf32>

  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
         tensor<?x?x4xf32>, tensor<?x?x4xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}
