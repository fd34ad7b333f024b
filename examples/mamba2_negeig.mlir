// Mamba2's state-space duality (SSD) layer core (Dao & Gu 2024) with the
// eigenvalue range extended to [-1, 1] for state tracking (Grazzi et al.
// 2025, "Unlocking State-Tracking in Linear RNNs Through Negative
// Eigenvalues"). Per head, with the state S: [N, P] (N = state size, P =
// head dim):
//
//   dt_t = softplus(dt_raw_t + dt_bias)                   > 0
//   a_t  = exp(-dt_t exp(A_log))                          in (0, 1)
//   d_t  = 2 a_t - 1                                      in (-1, 1)
//   S_t  = d_t S_{t-1} + (dt_t B_t) x_t^T
//   y_t  = S_t^T C_t
//
// Mamba2 itself uses d = a; the extension maps it onto [-1, 1], so the decay
// can be negative and is no longer the exponential of a log. As
// mix.recurrence this is R = 0 with a per-token scalar gate read as the
// decay itself (`decay signed`): q = C, k = dt B, v = x, scale 1.
//
// The gate and dt B are computed in f32 (a linalg.generic), and the op runs
// on f32 copies of C and x; the output is rounded to bf16 at the end.
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads, N = P = 64):
//   %x       : [B, T, H, P]  bf16  input (values)
//   %bm      : [B, T, H, N]  bf16  B projection (keys)
//   %cm      : [B, T, H, N]  bf16  C projection (queries)
//   %dt_raw  : [B, T, H]     f32   dt projection, before dt_bias and softplus
//   %a_log   : [H]           f32   A_log parameter
//   %dt_bias : [H]           f32   dt bias parameter
// Results:
//   y        : [B, T, H, P]  bf16
//   state    : [B, H, N, P]  f32   state after the last token
//
// The input projections, short convolution, D skip connection, gated norm
// and output projection of the full block are left out, as is the sharing
// of B and C across heads (n_groups), which is GQA-style sharing mix ops
// also accept.
#map_bth = affine_map<(b, t, h) -> (b, t, h)>
#map_h3 = affine_map<(b, t, h) -> (h)>
#map_bthc = affine_map<(b, t, h, c) -> (b, t, h, c)>
#map_bth4 = affine_map<(b, t, h, c) -> (b, t, h)>
func.func @mamba2_negeig(%x: tensor<?x?x4x64xbf16>, %bm: tensor<?x?x4x64xbf16>,
                         %cm: tensor<?x?x4x64xbf16>, %dt_raw: tensor<?x?x4xf32>,
                         %a_log: tensor<4xf32>, %dt_bias: tensor<4xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %bs = tensor.dim %x, %c0 : tensor<?x?x4x64xbf16>
  %ts = tensor.dim %x, %c1 : tensor<?x?x4x64xbf16>

  // dt = softplus(dt_raw + dt_bias) and d = 2 exp(-dt exp(A_log)) - 1.
  %e3 = tensor.empty(%bs, %ts) : tensor<?x?x4xf32>
  %dt, %d = linalg.generic
      {indexing_maps = [#map_bth, #map_h3, #map_h3, #map_bth, #map_bth],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dt_raw, %a_log, %dt_bias : tensor<?x?x4xf32>, tensor<4xf32>, tensor<4xf32>)
      outs(%e3, %e3 : tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  ^bb0(%r: f32, %al: f32, %bias: f32, %o1: f32, %o2: f32):
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %two = arith.constant 2.0 : f32
    // softplus(z) = max(z, 0) + log(1 + exp(-|z|)), without overflow.
    %z = arith.addf %r, %bias : f32
    %pos = arith.maximumf %z, %zero : f32
    %abs = math.absf %z : f32
    %nabs = arith.negf %abs : f32
    %ez = math.exp %nabs : f32
    %l = math.log1p %ez : f32
    %dtv = arith.addf %pos, %l : f32
    %A = math.exp %al : f32
    %p = arith.mulf %dtv, %A : f32
    %np = arith.negf %p : f32
    %a = math.exp %np : f32
    %a2 = arith.mulf %two, %a : f32
    %dv = arith.subf %a2, %one : f32
    linalg.yield %dtv, %dv : f32, f32
  } -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>)

  // k = dt B, in f32.
  %e4 = tensor.empty(%bs, %ts) : tensor<?x?x4x64xf32>
  %k = linalg.generic
      {indexing_maps = [#map_bthc, #map_bth4, #map_bthc],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%bm, %dt : tensor<?x?x4x64xbf16>, tensor<?x?x4xf32>)
      outs(%e4 : tensor<?x?x4x64xf32>) {
  ^bb0(%bv: bf16, %dtv: f32, %out: f32):
    %bf = arith.extf %bv : bf16 to f32
    %kv = arith.mulf %bf, %dtv : f32
    linalg.yield %kv : f32
  } -> tensor<?x?x4x64xf32>

  %q = arith.extf %cm : tensor<?x?x4x64xbf16> to tensor<?x?x4x64xf32>
  %v = arith.extf %x : tensor<?x?x4x64xbf16> to tensor<?x?x4x64xf32>
  %y, %s = mix.recurrence %q, %k, %v gate scalar(%d) decay signed scale = 1.0
      : (tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>,
         tensor<?x?x4xf32>)
      -> (tensor<?x?x4x64xf32>, tensor<?x4x64x64xf32>)
  %yb = arith.truncf %y : tensor<?x?x4x64xf32> to tensor<?x?x4x64xbf16>
  return %yb, %s : tensor<?x?x4x64xbf16>, tensor<?x4x64x64xf32>
}
