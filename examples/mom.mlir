// Mixture-of-Memories (MoM, Du et al. 2025) token mixer with gated
// delta-rule memories, one layer, written with one mix.delta_rule and no
// kernel of its own.
//
// Each head has M memories, f32 states S_m: [K, V]. A router sends each token
// to the top-k of them; memory m is written only at the tokens routed to it
// (elsewhere it is left exactly as it is: no decay, no write), and the output
// mixes what the selected memories read:
//
//   sel_t   = the TOPK memories with the largest router logits r_t
//             (ties go to the lower memory index)
//   w_{t,m} = exp(r_{t,m}) / sum_{j in sel_t} exp(r_{t,j})  for m in sel_t,
//             else 0 (the same as a softmax over all M, top-k, renormalised)
//   for m in sel_t (the gated delta rule, mix.delta_rule's definition):
//     S_m = exp(g_t) S_m
//     S_m = S_m + beta_t k_{t,m} (v_{t,m} - S_m^T k_{t,m})^T
//   for m not in sel_t:  S_m unchanged
//   o_t     = sum_{m in sel_t} w_{t,m} S_m^T (scale * q_t)   (S_m after t)
//
// Every memory has its own keys and values (the paper's per-memory W_k^m,
// W_v^m projections); the query, beta and the log decay g are the token's,
// shared by its memories. The router is the token's, shared by its heads, as
// in the paper; its logits (the router projection's output) are an input.
// q and each k_{t,m} are L2-normalised over K first (qk_l2norm, eps 1e-6), as
// Gated DeltaNet does; beta = sigmoid(b), scale = K^-1/2 (the default).
//
// As one mix.delta_rule: the H * M memories are its state heads, state
// s = h * M + m (collapse_shape of [H, M]); the query head h is shared by its
// M states through the op's head sharing (Hq = H, Hk = Hv = H * M, output head
// s reads query head s / M = h). Routing is masking: at a token not routed to
// memory m, that state's beta and log gate are 0, which makes the step
// S = exp(0) S + 0 the identity. The top-k selection, the softmax weights,
// the masks and the weighted sum of the M outputs are linalg.generic ops
// around the mixer op, in f32 (the ranks in i32): rank_{t,m} = #{j : r_j > r_m,
// or r_j = r_m and j < m}, selected iff rank_{t,m} < TOPK. Every memory still
// takes every step (M / TOPK times the work of computing only the routed ones).
//
// The op takes the bf16 q, k and v as they are (so the function also compiles
// for target cuda, whose kernels take 16-bit operands) and returns each
// memory's output rounded to bf16; the weighted sum over the memories is f32,
// rounded to bf16 at the end.
//
// Shapes (B batch and T tokens are dynamic; H = 3 heads, M = 5 memories,
// TOPK = 2, K = 60, V = 48):
//   %q      : [B, T, H, K]        bf16  queries
//   %k      : [B, T, H, M, K]     bf16  keys, one per memory
//   %v      : [B, T, H, M, V]     bf16  values, one per memory
//   %b      : [B, T, H]           bf16  beta logits (beta = sigmoid(b))
//   %g      : [B, T, H]           f32   log decay per token, <= 0
//   %r      : [B, T, M]           f32   router logits
//   %s0     : [B, H, M, K, V]     f32   initial memories (from earlier tokens)
// Results:
//   o       : [B, T, H, V]        bf16
//   state   : [B, H, M, K, V]     f32   memories after the last token
//
// The projections, short convolutions, the shared memory of the paper (it
// would be one more state per head, always selected, with weight 1), the
// load-balancing loss, output gate and norm of the full block are left out.
#map_rank_j = affine_map<(b, t, m, j) -> (b, t, j)>
#map_rank_m = affine_map<(b, t, m, j) -> (b, t, m)>
#map_btm = affine_map<(b, t, m) -> (b, t, m)>
#map_bt = affine_map<(b, t, m) -> (b, t)>
#map_hm_bth = affine_map<(b, t, h, m) -> (b, t, h)>
#map_hm_btm = affine_map<(b, t, h, m) -> (b, t, m)>
#map_hm = affine_map<(b, t, h, m) -> (b, t, h, m)>
#map_mix_o = affine_map<(b, t, h, c, m) -> (b, t, h, m, c)>
#map_mix_w = affine_map<(b, t, h, c, m) -> (b, t, m)>
#map_mix_out = affine_map<(b, t, h, c, m) -> (b, t, h, c)>
func.func @mom(%q: tensor<?x?x3x60xbf16>, %k: tensor<?x?x3x5x60xbf16>,
               %v: tensor<?x?x3x5x48xbf16>, %b: tensor<?x?x3xbf16>,
               %g: tensor<?x?x3xf32>, %r: tensor<?x?x5xf32>,
               %s0: tensor<?x3x5x60x48xf32>)
    -> (tensor<?x?x3x48xbf16>, tensor<?x3x5x60x48xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f0 = arith.constant 0.0 : f32
  %i0 = arith.constant 0 : i32
  %ninf = arith.constant 0xFF800000 : f32
  %bs = tensor.dim %q, %c0 : tensor<?x?x3x60xbf16>
  %ts = tensor.dim %q, %c1 : tensor<?x?x3x60xbf16>

  // rank[b, t, m]: how many memories beat m (larger logit, or equal logit
  // and lower index). The TOPK memories of rank < TOPK are the selected ones.
  %rank_empty = tensor.empty(%bs, %ts) : tensor<?x?x5xi32>
  %rank_zero = linalg.fill ins(%i0 : i32) outs(%rank_empty : tensor<?x?x5xi32>) -> tensor<?x?x5xi32>
  %rank = linalg.generic
      {indexing_maps = [#map_rank_j, #map_rank_m, #map_rank_m],
       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%r, %r : tensor<?x?x5xf32>, tensor<?x?x5xf32>)
      outs(%rank_zero : tensor<?x?x5xi32>) {
  ^bb0(%rj: f32, %rm: f32, %acc: i32):
    %m = linalg.index 2 : index
    %j = linalg.index 3 : index
    %gt = arith.cmpf ogt, %rj, %rm : f32
    %eq = arith.cmpf oeq, %rj, %rm : f32
    %lower = arith.cmpi ult, %j, %m : index
    %tie = arith.andi %eq, %lower : i1
    %beats = arith.ori %gt, %tie : i1
    %inc = arith.extui %beats : i1 to i32
    %n = arith.addi %acc, %inc : i32
    linalg.yield %n : i32
  } -> tensor<?x?x5xi32>

  // The largest logit (always selected), to keep the exponents <= 0.
  %max_empty = tensor.empty(%bs, %ts) : tensor<?x?xf32>
  %max_init = linalg.fill ins(%ninf : f32) outs(%max_empty : tensor<?x?xf32>) -> tensor<?x?xf32>
  %max = linalg.generic
      {indexing_maps = [#map_btm, #map_bt],
       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%r : tensor<?x?x5xf32>) outs(%max_init : tensor<?x?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %y = arith.maximumf %acc, %x : f32
    linalg.yield %y : f32
  } -> tensor<?x?xf32>

  // e = exp(r - max) for the selected memories, 0 for the others.
  %e_empty = tensor.empty(%bs, %ts) : tensor<?x?x5xf32>
  %e = linalg.generic
      {indexing_maps = [#map_btm, #map_btm, #map_bt, #map_btm],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r, %rank, %max : tensor<?x?x5xf32>, tensor<?x?x5xi32>, tensor<?x?xf32>)
      outs(%e_empty : tensor<?x?x5xf32>) {
  ^bb0(%x: f32, %rk: i32, %mx: f32, %out: f32):
    %topk = arith.constant 2 : i32
    %zero = arith.constant 0.0 : f32
    %sel = arith.cmpi slt, %rk, %topk : i32
    %d = arith.subf %x, %mx : f32
    %ex = math.exp %d : f32
    %y = arith.select %sel, %ex, %zero : f32
    linalg.yield %y : f32
  } -> tensor<?x?x5xf32>

  // The router weights w = e / sum_m e.
  %den_empty = tensor.empty(%bs, %ts) : tensor<?x?xf32>
  %den_zero = linalg.fill ins(%f0 : f32) outs(%den_empty : tensor<?x?xf32>) -> tensor<?x?xf32>
  %den = linalg.generic
      {indexing_maps = [#map_btm, #map_bt],
       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<?x?x5xf32>) outs(%den_zero : tensor<?x?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %y = arith.addf %acc, %x : f32
    linalg.yield %y : f32
  } -> tensor<?x?xf32>
  %w_empty = tensor.empty(%bs, %ts) : tensor<?x?x5xf32>
  %w = linalg.generic
      {indexing_maps = [#map_btm, #map_bt, #map_btm],
       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %den : tensor<?x?x5xf32>, tensor<?x?xf32>)
      outs(%w_empty : tensor<?x?x5xf32>) {
  ^bb0(%x: f32, %s: f32, %out: f32):
    %y = arith.divf %x, %s : f32
    linalg.yield %y : f32
  } -> tensor<?x?x5xf32>

  // Per state (h, m): beta = sigmoid(b) and the log gate g where the token is
  // routed to m, 0 and 0 (the identity step) where it is not.
  %beta_empty = tensor.empty(%bs, %ts) : tensor<?x?x3x5xf32>
  %g_empty = tensor.empty(%bs, %ts) : tensor<?x?x3x5xf32>
  %beta_hm, %g_hm = linalg.generic
      {indexing_maps = [#map_hm_bth, #map_hm_bth, #map_hm_btm, #map_hm, #map_hm],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%b, %g, %rank : tensor<?x?x3xbf16>, tensor<?x?x3xf32>, tensor<?x?x5xi32>)
      outs(%beta_empty, %g_empty : tensor<?x?x3x5xf32>, tensor<?x?x3x5xf32>) {
  ^bb0(%x: bf16, %gv: f32, %rk: i32, %bo: f32, %go: f32):
    %one = arith.constant 1.0 : f32
    %zero = arith.constant 0.0 : f32
    %topk = arith.constant 2 : i32
    %sel = arith.cmpi slt, %rk, %topk : i32
    %xf = arith.extf %x : bf16 to f32
    %nx = arith.negf %xf : f32
    %ex = math.exp %nx : f32
    %den1 = arith.addf %one, %ex : f32
    %sig = arith.divf %one, %den1 : f32
    %bt = arith.select %sel, %sig, %zero : f32
    %gt = arith.select %sel, %gv, %zero : f32
    linalg.yield %bt, %gt : f32, f32
  } -> (tensor<?x?x3x5xf32>, tensor<?x?x3x5xf32>)

  // The H * M memories as the op's state heads s = h * M + m: k, v, beta, the
  // gate and the initial state collapse [H, M] into one dimension.
  %beta = tensor.collapse_shape %beta_hm [[0], [1], [2, 3]]
      : tensor<?x?x3x5xf32> into tensor<?x?x15xf32>
  %gs = tensor.collapse_shape %g_hm [[0], [1], [2, 3]]
      : tensor<?x?x3x5xf32> into tensor<?x?x15xf32>
  %ks = tensor.collapse_shape %k [[0], [1], [2, 3], [4]]
      : tensor<?x?x3x5x60xbf16> into tensor<?x?x15x60xbf16>
  %vs = tensor.collapse_shape %v [[0], [1], [2, 3], [4]]
      : tensor<?x?x3x5x48xbf16> into tensor<?x?x15x48xbf16>
  %s0s = tensor.collapse_shape %s0 [[0], [1, 2], [3], [4]]
      : tensor<?x3x5x60x48xf32> into tensor<?x15x60x48xf32>

  %om, %sm = mix.delta_rule %q, %ks, %vs, %beta gate scalar(%gs) init(%s0s) qk_l2norm
      : (tensor<?x?x3x60xbf16>, tensor<?x?x15x60xbf16>, tensor<?x?x15x48xbf16>,
         tensor<?x?x15xf32>, tensor<?x?x15xf32>, tensor<?x15x60x48xf32>)
      -> (tensor<?x?x15x48xbf16>, tensor<?x15x60x48xf32>)

  // o = sum_m w_m o_m over the memories of each head (w is 0 off the
  // selected ones), in f32, then rounded to bf16; the memories expand back
  // to [B, H, M, K, V].
  %om5 = tensor.expand_shape %om [[0], [1], [2, 3], [4]] output_shape [%bs, %ts, 3, 5, 48]
      : tensor<?x?x15x48xbf16> into tensor<?x?x3x5x48xbf16>
  %o_empty = tensor.empty(%bs, %ts) : tensor<?x?x3x48xf32>
  %o_zero = linalg.fill ins(%f0 : f32) outs(%o_empty : tensor<?x?x3x48xf32>) -> tensor<?x?x3x48xf32>
  %o_f32 = linalg.generic
      {indexing_maps = [#map_mix_o, #map_mix_w, #map_mix_out],
       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%om5, %w : tensor<?x?x3x5x48xbf16>, tensor<?x?x5xf32>)
      outs(%o_zero : tensor<?x?x3x48xf32>) {
  ^bb0(%x: bf16, %wm: f32, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %p = arith.mulf %wm, %xf : f32
    %y = arith.addf %acc, %p : f32
    linalg.yield %y : f32
  } -> tensor<?x?x3x48xf32>
  %o = arith.truncf %o_f32 : tensor<?x?x3x48xf32> to tensor<?x?x3x48xbf16>
  %s = tensor.expand_shape %sm [[0], [1, 2], [3], [4]] output_shape [%bs, 3, 5, 60, 48]
      : tensor<?x15x60x48xf32> into tensor<?x3x5x60x48xf32>
  return %o, %s : tensor<?x?x3x48xbf16>, tensor<?x3x5x60x48xf32>
}
