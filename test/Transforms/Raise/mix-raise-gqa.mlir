// RUN: mixir-opt %s --split-input-file --mix-raise | FileCheck %s
// RUN: mixir-opt %s --split-input-file --mix-raise --report-raising -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

// JAX's grouped query heads (jax.nn.dot_product_attention with 6 query heads
// over 2 key/value heads, G = 3), written as mixir.from_jax imports it: Q
// [B, T, 6, D] reshaped to [B, T, 2, 3, D], its (token, group) pairs the
// rows of Q K^T [B, 2, T*3, S], the scores moved to [G, B, 2, T, S] for the
// mask and softmax, and the output contracted as V^T P^T with P's rows the
// (group, token) pairs. T = S = G = 3, so a mask read on the groups has the
// right size and only the dims' roles tell it apart.

// The grouped form: one mix.attention on Q as it is and the 2 shared K/V
// heads (no copy of them), causal, with the scale; the output brought back
// to the [B, Hkv, D, G*T] of V^T P^T.
// CHECK-LABEL: func.func @jax_gqa_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x6x5xf32>, %[[K:.*]]: tensor<2x3x2x5xf32>, %[[V:.*]]: tensor<2x3x2x5xf32>)
// CHECK: %[[A:.*]] = mix.attention %[[Q]], %{{.*}}, %{{.*}} causal scale = 2.500000e-01 : (tensor<2x3x6x5xf32>, tensor<2x3x2x5xf32>, tensor<2x3x2x5xf32>) -> tensor<2x3x6x5xf32>
// CHECK: tensor.expand_shape %[[A]] {{\[}}[0], [1], [2, 3], [4]] {{.*}} into tensor<2x3x2x3x5xf32>
// CHECK: permutation = [0, 2, 3, 1, 4]
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3], [4]] : tensor<2x2x3x3x5xf32> into tensor<2x2x9x5xf32>
// CHECK: permutation = [0, 1, 3, 2]
// CHECK-NOT: mix.attention
// CHECK: return

#qk = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#kt = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#o4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#last2 = affine_map<(d0, d1, d2, d3, d4) -> (d3, d4)>
func.func @jax_gqa_causal(%q: tensor<2x3x6x5xf32>, %k: tensor<2x3x2x5xf32>, %v: tensor<2x3x2x5xf32>) -> tensor<2x3x6x5xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %mask = arith.constant dense<[[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
    %qe = tensor.expand_shape %q [[0], [1], [2, 3], [4]] output_shape [2, 3, 2, 3, 5] : tensor<2x3x6x5xf32> into tensor<2x3x2x3x5xf32>
    %0 = tensor.empty() : tensor<2x2x3x3x5xf32>
    %qt = linalg.transpose ins(%qe : tensor<2x3x2x3x5xf32>) outs(%0 : tensor<2x2x3x3x5xf32>) permutation = [0, 2, 1, 3, 4]
    %qr = tensor.collapse_shape %qt [[0], [1], [2, 3], [4]] : tensor<2x2x3x3x5xf32> into tensor<2x2x9x5xf32>
    %1 = tensor.empty() : tensor<2x2x3x5xf32>
    %kh = linalg.transpose ins(%k : tensor<2x3x2x5xf32>) outs(%1 : tensor<2x2x3x5xf32>) permutation = [0, 2, 1, 3]
    %2 = tensor.empty() : tensor<2x2x5x3xf32>
    %ktr = linalg.transpose ins(%kh : tensor<2x2x3x5xf32>) outs(%2 : tensor<2x2x5x3xf32>) permutation = [0, 1, 3, 2]
    %3 = tensor.empty() : tensor<2x2x9x3xf32>
    %4 = linalg.fill ins(%zero : f32) outs(%3 : tensor<2x2x9x3xf32>) -> tensor<2x2x9x3xf32>
    %s = linalg.generic {indexing_maps = [#qk, #kt, #o4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%qr, %ktr : tensor<2x2x9x5xf32>, tensor<2x2x5x3xf32>) outs(%4 : tensor<2x2x9x3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %o, %m : f32
      linalg.yield %r : f32
    } -> tensor<2x2x9x3xf32>
    %s5 = tensor.expand_shape %s [[0], [1], [2, 3], [4]] output_shape [2, 2, 3, 3, 3] : tensor<2x2x9x3xf32> into tensor<2x2x3x3x3xf32>
    %scale = arith.constant dense<2.500000e-01> : tensor<2x2x3x3x3xf32>
    %5 = tensor.empty() : tensor<2x2x3x3x3xf32>
    %sc = linalg.generic {indexing_maps = [#id5, #id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%s5, %scale : tensor<2x2x3x3x3xf32>, tensor<2x2x3x3x3xf32>) outs(%5 : tensor<2x2x3x3x3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
    } -> tensor<2x2x3x3x3xf32>
    %6 = tensor.empty() : tensor<3x2x2x3x3xf32>
    %sg = linalg.transpose ins(%sc : tensor<2x2x3x3x3xf32>) outs(%6 : tensor<3x2x2x3x3xf32>) permutation = [3, 0, 1, 2, 4]
    %neg_msk = arith.constant dense<-1.000000e+30> : tensor<3x2x2x3x3xf32>
    %msk_init = tensor.empty() : tensor<3x2x2x3x3xf32>
    %msk = linalg.generic {indexing_maps = [#last2, #id5, #id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%mask, %sg, %neg_msk : tensor<3x3xi1>, tensor<3x2x2x3x3xf32>, tensor<3x2x2x3x3xf32>) outs(%msk_init : tensor<3x2x2x3x3xf32>) {
    ^bb0(%c: i1, %a: f32, %n: f32, %o: f32):
      %r = arith.select %c, %a, %n : f32
      linalg.yield %r : f32
    } -> tensor<3x2x2x3x3xf32>
    %7 = tensor.empty() : tensor<3x2x2x3x3xf32>
    %p = linalg.softmax dimension(4) ins(%msk : tensor<3x2x2x3x3xf32>) outs(%7 : tensor<3x2x2x3x3xf32>) -> tensor<3x2x2x3x3xf32>
    %8 = tensor.empty() : tensor<2x2x5x3xf32>
    %vt = linalg.transpose ins(%v : tensor<2x3x2x5xf32>) outs(%8 : tensor<2x2x5x3xf32>) permutation = [0, 2, 3, 1]
    %9 = tensor.empty() : tensor<2x2x3x3x3xf32>
    %pb = linalg.transpose ins(%p : tensor<3x2x2x3x3xf32>) outs(%9 : tensor<2x2x3x3x3xf32>) permutation = [1, 2, 0, 3, 4]
    %pr = tensor.collapse_shape %pb [[0], [1], [2, 3], [4]] : tensor<2x2x3x3x3xf32> into tensor<2x2x9x3xf32>
    %10 = tensor.empty() : tensor<2x2x3x9xf32>
    %pt = linalg.transpose ins(%pr : tensor<2x2x9x3xf32>) outs(%10 : tensor<2x2x3x9xf32>) permutation = [0, 1, 3, 2]
    %11 = tensor.empty() : tensor<2x2x5x9xf32>
    %12 = linalg.fill ins(%zero : f32) outs(%11 : tensor<2x2x5x9xf32>) -> tensor<2x2x5x9xf32>
    %o = linalg.generic {indexing_maps = [#qk, #kt, #o4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%vt, %pt : tensor<2x2x5x3xf32>, tensor<2x2x3x9xf32>) outs(%12 : tensor<2x2x5x9xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %o, %m : f32
      linalg.yield %r : f32
    } -> tensor<2x2x5x9xf32>
    %oe = tensor.expand_shape %o [[0], [1], [2], [3, 4]] output_shape [2, 2, 5, 3, 3] : tensor<2x2x5x9xf32> into tensor<2x2x5x3x3xf32>
    %13 = tensor.empty() : tensor<2x3x2x3x5xf32>
    %ot = linalg.transpose ins(%oe : tensor<2x2x5x3x3xf32>) outs(%13 : tensor<2x3x2x3x5xf32>) permutation = [0, 4, 1, 3, 2]
    %oc = tensor.collapse_shape %ot [[0], [1], [2, 3], [4]] : tensor<2x3x2x3x5xf32> into tensor<2x3x6x5xf32>
    return %oc : tensor<2x3x6x5xf32>
}

// -----

// Query head h = g * 2 + k read by key/value head k (strided groups, not
// MixIR's consecutive ones): a valid attention, but not mix.attention's GQA.
// CHECK-LABEL: func.func @gqa_strided_heads
// CHECK-NOT: mix.attention
// CHECK: linalg.softmax
// REPORT: mix-raise: attention: left as is: Q K^T's rows are not Q's (token, group) pairs with query head h read by key/value head h / G

#qk = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#kt = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#o4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#last2 = affine_map<(d0, d1, d2, d3, d4) -> (d3, d4)>
func.func @gqa_strided_heads(%q: tensor<2x3x6x5xf32>, %k: tensor<2x3x2x5xf32>, %v: tensor<2x3x2x5xf32>) -> tensor<2x3x6x5xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %mask = arith.constant dense<[[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
    %qe = tensor.expand_shape %q [[0], [1], [2, 3], [4]] output_shape [2, 3, 3, 2, 5] : tensor<2x3x6x5xf32> into tensor<2x3x3x2x5xf32>
    %0 = tensor.empty() : tensor<2x2x3x3x5xf32>
    %qt = linalg.transpose ins(%qe : tensor<2x3x3x2x5xf32>) outs(%0 : tensor<2x2x3x3x5xf32>) permutation = [0, 3, 1, 2, 4]
    %qr = tensor.collapse_shape %qt [[0], [1], [2, 3], [4]] : tensor<2x2x3x3x5xf32> into tensor<2x2x9x5xf32>
    %1 = tensor.empty() : tensor<2x2x3x5xf32>
    %kh = linalg.transpose ins(%k : tensor<2x3x2x5xf32>) outs(%1 : tensor<2x2x3x5xf32>) permutation = [0, 2, 1, 3]
    %2 = tensor.empty() : tensor<2x2x5x3xf32>
    %ktr = linalg.transpose ins(%kh : tensor<2x2x3x5xf32>) outs(%2 : tensor<2x2x5x3xf32>) permutation = [0, 1, 3, 2]
    %3 = tensor.empty() : tensor<2x2x9x3xf32>
    %4 = linalg.fill ins(%zero : f32) outs(%3 : tensor<2x2x9x3xf32>) -> tensor<2x2x9x3xf32>
    %s = linalg.generic {indexing_maps = [#qk, #kt, #o4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%qr, %ktr : tensor<2x2x9x5xf32>, tensor<2x2x5x3xf32>) outs(%4 : tensor<2x2x9x3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %o, %m : f32
      linalg.yield %r : f32
    } -> tensor<2x2x9x3xf32>
    %s5 = tensor.expand_shape %s [[0], [1], [2, 3], [4]] output_shape [2, 2, 3, 3, 3] : tensor<2x2x9x3xf32> into tensor<2x2x3x3x3xf32>
    %scale = arith.constant dense<2.500000e-01> : tensor<2x2x3x3x3xf32>
    %5 = tensor.empty() : tensor<2x2x3x3x3xf32>
    %sc = linalg.generic {indexing_maps = [#id5, #id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%s5, %scale : tensor<2x2x3x3x3xf32>, tensor<2x2x3x3x3xf32>) outs(%5 : tensor<2x2x3x3x3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
    } -> tensor<2x2x3x3x3xf32>
    %6 = tensor.empty() : tensor<3x2x2x3x3xf32>
    %sg = linalg.transpose ins(%sc : tensor<2x2x3x3x3xf32>) outs(%6 : tensor<3x2x2x3x3xf32>) permutation = [3, 0, 1, 2, 4]
    %neg_msk = arith.constant dense<-1.000000e+30> : tensor<3x2x2x3x3xf32>
    %msk_init = tensor.empty() : tensor<3x2x2x3x3xf32>
    %msk = linalg.generic {indexing_maps = [#last2, #id5, #id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%mask, %sg, %neg_msk : tensor<3x3xi1>, tensor<3x2x2x3x3xf32>, tensor<3x2x2x3x3xf32>) outs(%msk_init : tensor<3x2x2x3x3xf32>) {
    ^bb0(%c: i1, %a: f32, %n: f32, %o: f32):
      %r = arith.select %c, %a, %n : f32
      linalg.yield %r : f32
    } -> tensor<3x2x2x3x3xf32>
    %7 = tensor.empty() : tensor<3x2x2x3x3xf32>
    %p = linalg.softmax dimension(4) ins(%msk : tensor<3x2x2x3x3xf32>) outs(%7 : tensor<3x2x2x3x3xf32>) -> tensor<3x2x2x3x3xf32>
    %8 = tensor.empty() : tensor<2x2x5x3xf32>
    %vt = linalg.transpose ins(%v : tensor<2x3x2x5xf32>) outs(%8 : tensor<2x2x5x3xf32>) permutation = [0, 2, 3, 1]
    %9 = tensor.empty() : tensor<2x2x3x3x3xf32>
    %pb = linalg.transpose ins(%p : tensor<3x2x2x3x3xf32>) outs(%9 : tensor<2x2x3x3x3xf32>) permutation = [1, 2, 0, 3, 4]
    %pr = tensor.collapse_shape %pb [[0], [1], [2, 3], [4]] : tensor<2x2x3x3x3xf32> into tensor<2x2x9x3xf32>
    %10 = tensor.empty() : tensor<2x2x3x9xf32>
    %pt = linalg.transpose ins(%pr : tensor<2x2x9x3xf32>) outs(%10 : tensor<2x2x3x9xf32>) permutation = [0, 1, 3, 2]
    %11 = tensor.empty() : tensor<2x2x5x9xf32>
    %12 = linalg.fill ins(%zero : f32) outs(%11 : tensor<2x2x5x9xf32>) -> tensor<2x2x5x9xf32>
    %o = linalg.generic {indexing_maps = [#qk, #kt, #o4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%vt, %pt : tensor<2x2x5x3xf32>, tensor<2x2x3x9xf32>) outs(%12 : tensor<2x2x5x9xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %o, %m : f32
      linalg.yield %r : f32
    } -> tensor<2x2x5x9xf32>
    %oe = tensor.expand_shape %o [[0], [1], [2], [3, 4]] output_shape [2, 2, 5, 3, 3] : tensor<2x2x5x9xf32> into tensor<2x2x5x3x3xf32>
    %13 = tensor.empty() : tensor<2x3x3x2x5xf32>
    %ot = linalg.transpose ins(%oe : tensor<2x2x5x3x3xf32>) outs(%13 : tensor<2x3x3x2x5xf32>) permutation = [0, 4, 3, 1, 2]
    %oc = tensor.collapse_shape %ot [[0], [1], [2, 3], [4]] : tensor<2x3x3x2x5xf32> into tensor<2x3x6x5xf32>
    return %oc : tensor<2x3x6x5xf32>
}

// -----

// The causal constant applied before the scores are moved to [.., T, S]:
// it masks (group, key) pairs, not (token, key) pairs, though its values
// and size are those of a causal mask.
// CHECK-LABEL: func.func @gqa_mask_on_groups
// CHECK-NOT: mix.attention
// CHECK: linalg.softmax
// REPORT: mix-raise: attention: left as is: the mask is not read on [.., T, S] scores

#qk = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#kt = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#o4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#last2 = affine_map<(d0, d1, d2, d3, d4) -> (d3, d4)>
func.func @gqa_mask_on_groups(%q: tensor<2x3x6x5xf32>, %k: tensor<2x3x2x5xf32>, %v: tensor<2x3x2x5xf32>) -> tensor<2x3x6x5xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %mask = arith.constant dense<[[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
    %qe = tensor.expand_shape %q [[0], [1], [2, 3], [4]] output_shape [2, 3, 2, 3, 5] : tensor<2x3x6x5xf32> into tensor<2x3x2x3x5xf32>
    %0 = tensor.empty() : tensor<2x2x3x3x5xf32>
    %qt = linalg.transpose ins(%qe : tensor<2x3x2x3x5xf32>) outs(%0 : tensor<2x2x3x3x5xf32>) permutation = [0, 2, 1, 3, 4]
    %qr = tensor.collapse_shape %qt [[0], [1], [2, 3], [4]] : tensor<2x2x3x3x5xf32> into tensor<2x2x9x5xf32>
    %1 = tensor.empty() : tensor<2x2x3x5xf32>
    %kh = linalg.transpose ins(%k : tensor<2x3x2x5xf32>) outs(%1 : tensor<2x2x3x5xf32>) permutation = [0, 2, 1, 3]
    %2 = tensor.empty() : tensor<2x2x5x3xf32>
    %ktr = linalg.transpose ins(%kh : tensor<2x2x3x5xf32>) outs(%2 : tensor<2x2x5x3xf32>) permutation = [0, 1, 3, 2]
    %3 = tensor.empty() : tensor<2x2x9x3xf32>
    %4 = linalg.fill ins(%zero : f32) outs(%3 : tensor<2x2x9x3xf32>) -> tensor<2x2x9x3xf32>
    %s = linalg.generic {indexing_maps = [#qk, #kt, #o4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%qr, %ktr : tensor<2x2x9x5xf32>, tensor<2x2x5x3xf32>) outs(%4 : tensor<2x2x9x3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %o, %m : f32
      linalg.yield %r : f32
    } -> tensor<2x2x9x3xf32>
    %s5 = tensor.expand_shape %s [[0], [1], [2, 3], [4]] output_shape [2, 2, 3, 3, 3] : tensor<2x2x9x3xf32> into tensor<2x2x3x3x3xf32>
    %scale = arith.constant dense<2.500000e-01> : tensor<2x2x3x3x3xf32>
    %5 = tensor.empty() : tensor<2x2x3x3x3xf32>
    %sc = linalg.generic {indexing_maps = [#id5, #id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%s5, %scale : tensor<2x2x3x3x3xf32>, tensor<2x2x3x3x3xf32>) outs(%5 : tensor<2x2x3x3x3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
    } -> tensor<2x2x3x3x3xf32>
    %neg_sm = arith.constant dense<-1.000000e+30> : tensor<2x2x3x3x3xf32>
    %sm_init = tensor.empty() : tensor<2x2x3x3x3xf32>
    %sm = linalg.generic {indexing_maps = [#last2, #id5, #id5, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%mask, %sc, %neg_sm : tensor<3x3xi1>, tensor<2x2x3x3x3xf32>, tensor<2x2x3x3x3xf32>) outs(%sm_init : tensor<2x2x3x3x3xf32>) {
    ^bb0(%c: i1, %a: f32, %n: f32, %o: f32):
      %r = arith.select %c, %a, %n : f32
      linalg.yield %r : f32
    } -> tensor<2x2x3x3x3xf32>
    %6 = tensor.empty() : tensor<3x2x2x3x3xf32>
    %msk = linalg.transpose ins(%sm : tensor<2x2x3x3x3xf32>) outs(%6 : tensor<3x2x2x3x3xf32>) permutation = [3, 0, 1, 2, 4]
    %7 = tensor.empty() : tensor<3x2x2x3x3xf32>
    %p = linalg.softmax dimension(4) ins(%msk : tensor<3x2x2x3x3xf32>) outs(%7 : tensor<3x2x2x3x3xf32>) -> tensor<3x2x2x3x3xf32>
    %8 = tensor.empty() : tensor<2x2x5x3xf32>
    %vt = linalg.transpose ins(%v : tensor<2x3x2x5xf32>) outs(%8 : tensor<2x2x5x3xf32>) permutation = [0, 2, 3, 1]
    %9 = tensor.empty() : tensor<2x2x3x3x3xf32>
    %pb = linalg.transpose ins(%p : tensor<3x2x2x3x3xf32>) outs(%9 : tensor<2x2x3x3x3xf32>) permutation = [1, 2, 0, 3, 4]
    %pr = tensor.collapse_shape %pb [[0], [1], [2, 3], [4]] : tensor<2x2x3x3x3xf32> into tensor<2x2x9x3xf32>
    %10 = tensor.empty() : tensor<2x2x3x9xf32>
    %pt = linalg.transpose ins(%pr : tensor<2x2x9x3xf32>) outs(%10 : tensor<2x2x3x9xf32>) permutation = [0, 1, 3, 2]
    %11 = tensor.empty() : tensor<2x2x5x9xf32>
    %12 = linalg.fill ins(%zero : f32) outs(%11 : tensor<2x2x5x9xf32>) -> tensor<2x2x5x9xf32>
    %o = linalg.generic {indexing_maps = [#qk, #kt, #o4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%vt, %pt : tensor<2x2x5x3xf32>, tensor<2x2x3x9xf32>) outs(%12 : tensor<2x2x5x9xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %o, %m : f32
      linalg.yield %r : f32
    } -> tensor<2x2x5x9xf32>
    %oe = tensor.expand_shape %o [[0], [1], [2], [3, 4]] output_shape [2, 2, 5, 3, 3] : tensor<2x2x5x9xf32> into tensor<2x2x5x3x3xf32>
    %13 = tensor.empty() : tensor<2x3x2x3x5xf32>
    %ot = linalg.transpose ins(%oe : tensor<2x2x5x3x3xf32>) outs(%13 : tensor<2x3x2x3x5xf32>) permutation = [0, 4, 1, 3, 2]
    %oc = tensor.collapse_shape %ot [[0], [1], [2, 3], [4]] : tensor<2x3x2x3x5xf32> into tensor<2x3x6x5xf32>
    return %oc : tensor<2x3x6x5xf32>
}

