// Gated DeltaProduct (Siems et al. 2025) token mixer with n = 2 Householder
// steps per token, one layer. Each token applies a gated product of two
// generalised Householder transitions to the f32 state S: [K, V] per head:
//
//   S_t = (I - beta_{t,2} k_{t,2} k_{t,2}^T) [exp(g_t) (I - beta_{t,1} k_{t,1} k_{t,1}^T) S_{t-1}
//                                              + beta_{t,1} k_{t,1} v_{t,1}^T]
//         + beta_{t,2} k_{t,2} v_{t,2}^T
//   o_t = S_t^T (scale * q_t)
//
// As mix.recurrence this is a sequence of 2T sub-steps, each a delta-rule
// step written as a rank-one DPLR transition (R = 1):
//
//   S_j = (d_j I + b_j a_j^T) S_{j-1} + k_j (beta_j v_j)^T,
//   a_j = d_j k_j,  b_j = -beta_j k_j,
//
// with the token's gate on its first sub-step (d = exp(g_t)) and none on the
// second (d = 1), q on the second sub-step (0 on the first), and the outputs
// read at the second sub-steps. The interleaving is plain tensor code: strided
// tensor.insert_slice builds the 2T-step q and gate, a strided
// tensor.extract_slice takes every second output row. The keys and values
// come in already interleaved (sub-step j of token t at 2t + j), as fla's
// gated DeltaProduct takes them.
//
// The op runs on f32 copies of q, k and beta v, so beta v is not rounded to
// bf16 before the recurrence; the output is rounded to bf16 at the end.
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads, K = V = 64):
//   %q      : [B, T, H, K]    bf16  queries
//   %k      : [B, 2T, H, K]   bf16  keys, two per token, L2-normalised
//   %v      : [B, 2T, H, V]   bf16  values, two per token
//   %b      : [B, 2T, H]      bf16  beta logits (beta = sigmoid(b), in (0, 1))
//   %g      : [B, T, H]       f32   log decay per token, <= 0
// Results:
//   o       : [B, T, H, V]    bf16
//   state   : [B, H, K, V]    f32   state after the last token
//
// scale = K^-1/2 (the default). The projections, short convolutions, output
// gate and norm of the full block are left out.
#map_bth = affine_map<(b, t, h) -> (b, t, h)>
#map_kv = affine_map<(b, t, h, c) -> (b, t, h, c)>
#map_bth4 = affine_map<(b, t, h, c) -> (b, t, h)>
#map_lr_in = affine_map<(b, t, h, r, c) -> (b, t, h, c)>
#map_lr_bth = affine_map<(b, t, h, r, c) -> (b, t, h)>
#map_lr_out = affine_map<(b, t, h, r, c) -> (b, t, h, r, c)>
func.func @gated_deltaproduct(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
                              %v: tensor<?x?x4x64xbf16>, %b: tensor<?x?x4xbf16>,
                              %g: tensor<?x?x4xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f0 = arith.constant 0.0 : f32
  %bs = tensor.dim %q, %c0 : tensor<?x?x4x64xbf16>
  %ts = tensor.dim %q, %c1 : tensor<?x?x4x64xbf16>
  %ns = tensor.dim %k, %c1 : tensor<?x?x4x64xbf16>   // 2T sub-steps

  // q on the second sub-step of each token, 0 on the first.
  %qf = arith.extf %q : tensor<?x?x4x64xbf16> to tensor<?x?x4x64xf32>
  %q_empty = tensor.empty(%bs, %ns) : tensor<?x?x4x64xf32>
  %q_zero = linalg.fill ins(%f0 : f32) outs(%q_empty : tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32>
  %q2 = tensor.insert_slice %qf into %q_zero[0, 1, 0, 0] [%bs, %ts, 4, 64] [1, 2, 1, 1]
      : tensor<?x?x4x64xf32> into tensor<?x?x4x64xf32>

  // The token's log decay on its first sub-step, 0 (no decay) on the second.
  %g_empty = tensor.empty(%bs, %ns) : tensor<?x?x4xf32>
  %g_zero = linalg.fill ins(%f0 : f32) outs(%g_empty : tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %g2 = tensor.insert_slice %g into %g_zero[0, 0, 0] [%bs, %ts, 4] [1, 2, 1]
      : tensor<?x?x4xf32> into tensor<?x?x4xf32>

  // beta = sigmoid(b) = 1 / (1 + exp(-b)), per sub-step.
  %beta_init = tensor.empty(%bs, %ns) : tensor<?x?x4xf32>
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

  // The values scaled by beta, in f32.
  %bv_init = tensor.empty(%bs, %ns) : tensor<?x?x4x64xf32>
  %bv = linalg.generic
      {indexing_maps = [#map_kv, #map_bth4, #map_kv],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%v, %beta : tensor<?x?x4x64xbf16>, tensor<?x?x4xf32>)
      outs(%bv_init : tensor<?x?x4x64xf32>) {
  ^bb0(%x: bf16, %bt: f32, %out: f32):
    %xf = arith.extf %x : bf16 to f32
    %y = arith.mulf %bt, %xf : f32
    linalg.yield %y : f32
  } -> tensor<?x?x4x64xf32>

  // The rank-one terms a = exp(g2) k and b = -beta k, as [B, 2T, H, 1, K].
  %a_init = tensor.empty(%bs, %ns) : tensor<?x?x4x1x64xf32>
  %b_init = tensor.empty(%bs, %ns) : tensor<?x?x4x1x64xf32>
  %la, %lb = linalg.generic
      {indexing_maps = [#map_lr_in, #map_lr_bth, #map_lr_bth, #map_lr_out, #map_lr_out],
       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%k, %g2, %beta : tensor<?x?x4x64xbf16>, tensor<?x?x4xf32>, tensor<?x?x4xf32>)
      outs(%a_init, %b_init : tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>) {
  ^bb0(%x: bf16, %gv: f32, %bt: f32, %ao: f32, %bo: f32):
    %xf = arith.extf %x : bf16 to f32
    %d = math.exp %gv : f32
    %av = arith.mulf %d, %xf : f32
    %p = arith.mulf %bt, %xf : f32
    %bv2 = arith.negf %p : f32
    linalg.yield %av, %bv2 : f32, f32
  } -> (tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>)

  %kf = arith.extf %k : tensor<?x?x4x64xbf16> to tensor<?x?x4x64xf32>
  %o2, %s = mix.recurrence %q2, %kf, %bv lowrank(%la, %lb) gate scalar(%g2)
      : (tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>,
         tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>, tensor<?x?x4xf32>)
      -> (tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)

  // The outputs after each token's second sub-step, rounded to bf16.
  %o_f32 = tensor.extract_slice %o2[0, 1, 0, 0] [%bs, %ts, 4, 64] [1, 2, 1, 1]
      : tensor<?x?x4x64xf32> to tensor<?x?x4x64xf32>
  %o = arith.truncf %o_f32 : tensor<?x?x4x64xf32> to tensor<?x?x4x64xbf16>
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}
