// RWKV-7 "Goose" (Peng et al. 2025) time mixing, the recurrent core of one
// layer. Its state wkv: [V, K] per head evolves with a diagonal-plus-rank-one
// transition (the generalised delta rule):
//
//   wkv_t = wkv_{t-1} (diag(w_t) - kappa_hat_t^T (a_t * kappa_hat_t)) + v_t^T k_t
//   o_t   = wkv_t r_t
//
// With S = wkv^T: [K, V] this is mix.recurrence with R = 1 and a vector decay,
//
//   S_t = (diag(w_t) + b_t a_t^T) S_{t-1} + k_t v_t^T,   o_t = S_t^T r_t,
//   a = kappa_hat,  b = -(kappa_hat * a_rwkv),  d = w,  scale = 1.
//
// Besides the mixer op, the function computes the decay and the in-context
// learning rate from the raw projection outputs as RWKV-7 (x070) does:
//
//   w      = exp(-exp(-softplus(-w_logit) - 0.5))   so  ln w = -e^-0.5 sigmoid(w_logit)
//   a_rwkv = sigmoid(a_logit)                       in (0, 1)
//
// and passes ln w as the log decay (`gate vector`, `decay log`; `decay signed`
// with w itself is the same recurrence). These element-wise maps are a
// linalg.generic in f32; the low-rank terms a, b [B, T, H, 1, K] come out of
// it directly.
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads, K = V = 64):
//   %r, %k, %v : [B, T, H, K]  bf16  receptance, (replacement) key, value
//   %kk        : [B, T, H, K]  bf16  removal key kappa_hat, L2-normalised
//   %w_logit   : [B, T, H, K]  bf16  decay logits (w0 + the decay LoRA)
//   %a_logit   : [B, T, H, K]  bf16  in-context learning rate logits
//   %s0        : [B, H, K, V]  f32   initial state (carried from earlier tokens)
// Results:
//   o          : [B, T, H, V]  bf16
//   state      : [B, H, K, V]  f32   state after the last token
//
// The token shift, the LoRAs, the key normalisation and replacement
// (k = k * (1 + (a - 1) k_a)), the bonus term and the output group norm and
// gate of the full block are left out.
#map_in = affine_map<(b, t, h, r, c) -> (b, t, h, c)>
#map_out = affine_map<(b, t, h, r, c) -> (b, t, h, r, c)>
#map_4d = affine_map<(b, t, h, c) -> (b, t, h, c)>
func.func @rwkv7(%r: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>,
                 %v: tensor<?x?x4x64xbf16>, %kk: tensor<?x?x4x64xbf16>,
                 %w_logit: tensor<?x?x4x64xbf16>, %a_logit: tensor<?x?x4x64xbf16>,
                 %s0: tensor<?x4x64x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %bs = tensor.dim %r, %c0 : tensor<?x?x4x64xbf16>
  %ts = tensor.dim %r, %c1 : tensor<?x?x4x64xbf16>

  // ln w = -exp(-0.5) * sigmoid(w_logit): the log decay, in (-0.607, 0).
  %g_init = tensor.empty(%bs, %ts) : tensor<?x?x4x64xf32>
  %g = linalg.generic
      {indexing_maps = [#map_4d, #map_4d],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%w_logit : tensor<?x?x4x64xbf16>) outs(%g_init : tensor<?x?x4x64xf32>) {
  ^bb0(%x: bf16, %out: f32):
    %one = arith.constant 1.0 : f32
    %rate = arith.constant -0.606530666 : f32   // -exp(-0.5)
    %xf = arith.extf %x : bf16 to f32
    %nx = arith.negf %xf : f32
    %e = math.exp %nx : f32
    %den = arith.addf %one, %e : f32
    %sig = arith.divf %one, %den : f32
    %lw = arith.mulf %rate, %sig : f32
    linalg.yield %lw : f32
  } -> tensor<?x?x4x64xf32>

  // a = kappa_hat, b = -(kappa_hat * sigmoid(a_logit)), as [B, T, H, 1, K].
  %a_init = tensor.empty(%bs, %ts) : tensor<?x?x4x1x64xf32>
  %b_init = tensor.empty(%bs, %ts) : tensor<?x?x4x1x64xf32>
  %a, %b = linalg.generic
      {indexing_maps = [#map_in, #map_in, #map_out, #map_out],
       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%kk, %a_logit : tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>)
      outs(%a_init, %b_init : tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>) {
  ^bb0(%kh: bf16, %al: bf16, %ao: f32, %bo: f32):
    %one = arith.constant 1.0 : f32
    %khf = arith.extf %kh : bf16 to f32
    %alf = arith.extf %al : bf16 to f32
    %nal = arith.negf %alf : f32
    %e = math.exp %nal : f32
    %den = arith.addf %one, %e : f32
    %rate = arith.divf %one, %den : f32
    %p = arith.mulf %khf, %rate : f32
    %nb = arith.negf %p : f32
    linalg.yield %khf, %nb : f32, f32
  } -> (tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>)

  %o, %s = mix.recurrence %r, %k, %v lowrank(%a, %b) gate vector(%g) init(%s0) scale = 1.0
      : (tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>,
         tensor<?x?x4x1x64xf32>, tensor<?x?x4x1x64xf32>, tensor<?x?x4x64xf32>,
         tensor<?x4x64x64xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}
