// LongVQ's attention over a vector-quantised key memory: the codebook
// lookup, the per-code counts and means and the attention over the
// codebook, in one function. Driven and checked by examples/models/longvq.py
// (which adds the input and output projections).
//
//   z_t    = argmin_c |k_t - e_c|^2          (the lower code on a tie)
//   n_c    = #{t : z_t = c},  vbar_c = mean of v_t over those t
//   o_t    = sum_c softmax_c(q_t . e_c / sqrt(K) + log n_c) vbar_c
//
// which is softmax attention over all T quantised keys e_{z_t}, non-causal.
// The attention is one mix.attention over the S codes; log n_c rides on
// one extra channel (q gets 1, code c gets log(n_c) sqrt(K), an unused code
// -1e4 sqrt(K), whose weight exp(-1e4) is 0), scale K^-1/2 given
// explicitly since the op's K is K + 1.
//
// Shapes (B and T dynamic; H = 2 heads, K = 24, V = 32, S = 16 codes):
//   %q, %k : [B, T, H, K]   %v : [B, T, H, V]   %book : [H, S, K]
//   result : [B, T, H, V]                             all f32
#dist_k = affine_map<(b, t, h, s, c) -> (b, t, h, c)>
#dist_e = affine_map<(b, t, h, s, c) -> (h, s, c)>
#dist_o = affine_map<(b, t, h, s, c) -> (b, t, h, s)>
#bths = affine_map<(b, t, h, s) -> (b, t, h, s)>
#bth = affine_map<(b, t, h, s) -> (b, t, h)>
#cnt_z = affine_map<(b, h, s, t) -> (b, t, h)>
#cnt_o = affine_map<(b, h, s, t) -> (b, h, s)>
#sum_z = affine_map<(b, s, h, v, t) -> (b, t, h)>
#sum_v = affine_map<(b, s, h, v, t) -> (b, t, h, v)>
#sum_o = affine_map<(b, s, h, v, t) -> (b, s, h, v)>
#shv = affine_map<(b, s, h, v) -> (b, s, h, v)>
#shv_n = affine_map<(b, s, h, v) -> (b, h, s)>
#shk_e = affine_map<(b, s, h, c) -> (h, s, c)>
func.func @longvq(%q: tensor<?x?x2x24xf32>, %k: tensor<?x?x2x24xf32>,
                  %v: tensor<?x?x2x32xf32>, %book: tensor<2x16x24xf32>)
    -> tensor<?x?x2x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %inf = arith.constant 0x7F800000 : f32
  %i0 = arith.constant 0 : i32
  %bs = tensor.dim %q, %c0 : tensor<?x?x2x24xf32>
  %ts = tensor.dim %q, %c1 : tensor<?x?x2x24xf32>

  // Squared distances of every key to every code, then the nearest code.
  %d_e = tensor.empty(%bs, %ts) : tensor<?x?x2x16xf32>
  %d_z = linalg.fill ins(%zero : f32) outs(%d_e : tensor<?x?x2x16xf32>) -> tensor<?x?x2x16xf32>
  %dist = linalg.generic
      {indexing_maps = [#dist_k, #dist_e, #dist_o],
       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%k, %book : tensor<?x?x2x24xf32>, tensor<2x16x24xf32>)
      outs(%d_z : tensor<?x?x2x16xf32>) {
  ^bb0(%kc: f32, %ec: f32, %acc: f32):
    %df = arith.subf %kc, %ec : f32
    %sq = arith.mulf %df, %df : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  } -> tensor<?x?x2x16xf32>
  %m_e = tensor.empty(%bs, %ts) : tensor<?x?x2xf32>
  %m_i = linalg.fill ins(%inf : f32) outs(%m_e : tensor<?x?x2xf32>) -> tensor<?x?x2xf32>
  %z_e = tensor.empty(%bs, %ts) : tensor<?x?x2xi32>
  %z_i = linalg.fill ins(%i0 : i32) outs(%z_e : tensor<?x?x2xi32>) -> tensor<?x?x2xi32>
  %min, %code = linalg.generic
      {indexing_maps = [#bths, #bth, #bth],
       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%dist : tensor<?x?x2x16xf32>)
      outs(%m_i, %z_i : tensor<?x?x2xf32>, tensor<?x?x2xi32>) {
  ^bb0(%d: f32, %best: f32, %arg: i32):
    %s = linalg.index 3 : index
    %si = arith.index_cast %s : index to i32
    %lt = arith.cmpf olt, %d, %best : f32
    %nb = arith.select %lt, %d, %best : f32
    %na = arith.select %lt, %si, %arg : i32
    linalg.yield %nb, %na : f32, i32
  } -> (tensor<?x?x2xf32>, tensor<?x?x2xi32>)

  // n[b, h, s]: how many tokens chose code s; vsum[b, s, h, :]: their values.
  %n_e = tensor.empty(%bs) : tensor<?x2x16xf32>
  %n_z = linalg.fill ins(%zero : f32) outs(%n_e : tensor<?x2x16xf32>) -> tensor<?x2x16xf32>
  %n = linalg.generic
      {indexing_maps = [#cnt_z, #cnt_o],
       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%code : tensor<?x?x2xi32>) outs(%n_z : tensor<?x2x16xf32>) {
  ^bb0(%zc: i32, %acc: f32):
    %s = linalg.index 2 : index
    %si = arith.index_cast %s : index to i32
    %hit = arith.cmpi eq, %zc, %si : i32
    %one = arith.uitofp %hit : i1 to f32
    %r = arith.addf %acc, %one : f32
    linalg.yield %r : f32
  } -> tensor<?x2x16xf32>
  %vs_e = tensor.empty(%bs) : tensor<?x16x2x32xf32>
  %vs_z = linalg.fill ins(%zero : f32) outs(%vs_e : tensor<?x16x2x32xf32>) -> tensor<?x16x2x32xf32>
  %vsum = linalg.generic
      {indexing_maps = [#sum_z, #sum_v, #sum_o],
       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%code, %v : tensor<?x?x2xi32>, tensor<?x?x2x32xf32>)
      outs(%vs_z : tensor<?x16x2x32xf32>) {
  ^bb0(%zc: i32, %vv: f32, %acc: f32):
    %s = linalg.index 1 : index
    %si = arith.index_cast %s : index to i32
    %hit = arith.cmpi eq, %zc, %si : i32
    %add = arith.addf %acc, %vv : f32
    %r = arith.select %hit, %add, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?x16x2x32xf32>

  // The codebook's values: vbar = vsum / max(n, 1).
  %vbar = linalg.generic
      {indexing_maps = [#shv, #shv_n, #shv],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%vsum, %n : tensor<?x16x2x32xf32>, tensor<?x2x16xf32>)
      outs(%vs_e : tensor<?x16x2x32xf32>) {
  ^bb0(%sv: f32, %cnt: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %den = arith.maximumf %cnt, %one : f32
    %r = arith.divf %sv, %den : f32
    linalg.yield %r : f32
  } -> tensor<?x16x2x32xf32>

  // The codebook's keys [e_c, log(n_c) sqrt(K)], the queries [q, 1].
  %ke_e = tensor.empty(%bs) : tensor<?x16x2x24xf32>
  %kbook = linalg.generic
      {indexing_maps = [#shk_e, #shv],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%book : tensor<2x16x24xf32>) outs(%ke_e : tensor<?x16x2x24xf32>) {
  ^bb0(%e: f32, %out: f32):
    linalg.yield %e : f32
  } -> tensor<?x16x2x24xf32>
  %kb_e = tensor.empty(%bs) : tensor<?x16x2x1xf32>
  %kbias = linalg.generic
      {indexing_maps = [#shv_n, #shv],
       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%n : tensor<?x2x16xf32>) outs(%kb_e : tensor<?x16x2x1xf32>) {
  ^bb0(%cnt: f32, %out: f32):
    %sqrt_k = arith.constant 4.89897948 : f32      // sqrt(24)
    %empty_bias = arith.constant -48989.7948 : f32 // -1e4 sqrt(24)
    %half = arith.constant 0.5 : f32
    %used = arith.cmpf ogt, %cnt, %half : f32
    %lg = math.log %cnt : f32
    %b = arith.mulf %lg, %sqrt_k : f32
    %r = arith.select %used, %b, %empty_bias : f32
    linalg.yield %r : f32
  } -> tensor<?x16x2x1xf32>
  %keys_e = tensor.empty(%bs) : tensor<?x16x2x25xf32>
  %keys0 = tensor.insert_slice %kbook into %keys_e[0, 0, 0, 0] [%bs, 16, 2, 24] [1, 1, 1, 1]
      : tensor<?x16x2x24xf32> into tensor<?x16x2x25xf32>
  %keys = tensor.insert_slice %kbias into %keys0[0, 0, 0, 24] [%bs, 16, 2, 1] [1, 1, 1, 1]
      : tensor<?x16x2x1xf32> into tensor<?x16x2x25xf32>
  %qa_e = tensor.empty(%bs, %ts) : tensor<?x?x2x25xf32>
  %f1 = arith.constant 1.0 : f32
  %qa_1 = linalg.fill ins(%f1 : f32) outs(%qa_e : tensor<?x?x2x25xf32>) -> tensor<?x?x2x25xf32>
  %qa = tensor.insert_slice %q into %qa_1[0, 0, 0, 0] [%bs, %ts, 2, 24] [1, 1, 1, 1]
      : tensor<?x?x2x24xf32> into tensor<?x?x2x25xf32>

  // Softmax attention of every token over the 16 codes (no causal mask).
  %o = mix.attention %qa, %keys, %vbar scale = 0.204124145
      : (tensor<?x?x2x25xf32>, tensor<?x16x2x25xf32>, tensor<?x16x2x32xf32>)
      -> tensor<?x?x2x32xf32>
  return %o : tensor<?x?x2x32xf32>
}
