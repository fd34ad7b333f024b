// RUN: mixir-opt %s --split-input-file --mix-raise=report=true -o /dev/null 2>&1 | FileCheck %s --implicit-check-not=mix-raise:
// RUN: mixir-opt %s --split-input-file --mix-raise --report-raising -o /dev/null 2>&1 | FileCheck %s --implicit-check-not=mix-raise:
// RUN: mixir-opt %s --split-input-file --mix-raise 2>&1 >/dev/null | count 0
// RUN: mixir-opt %s --split-input-file --mix-raise --report-raising -o %t.report 2>/dev/null
// RUN: mixir-opt %s --split-input-file --mix-raise -o %t.quiet
// RUN: diff %t.report %t.quiet
// RUN: FileCheck %s --check-prefix=RAISED < %t.report

// mix-raise's report: one line on stderr per candidate left as is (its
// location, the pattern tried, the check that stopped it); raised candidates
// print nothing, and without the option nothing is printed at all.
// The report does not change the IR: the three raisable cases are raised.
// RAISED: mix.attention
// RAISED: mix.linear_attention
// RAISED: mix.scan

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// Raised: no line.
func.func @softmax_scaled_causal(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<5.000000e-01> : tensor<f32>
  %k2 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #sc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<f32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c2 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c1, %k2 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c3 = linalg.softmax dimension(2) ins(%c2 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c3, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// One key above the diagonal is kept.
func.func @softmax_not_causal(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<5.000000e-01> : tensor<f32>
  %k2 = arith.constant dense<[[0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #sc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<f32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c2 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c1, %k2 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c3 = linalg.softmax dimension(2) ins(%c2 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: attention: left as is: the additive mask is not causal (0 kept, <= -1e4 dropped)
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c3, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// c * tanh((s + mask) / c): the mask is under the soft-cap.
func.func @softmax_mask_in_tanh(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
  %k2 = arith.constant dense<2.000000e-02> : tensor<f32>
  %k4 = arith.constant dense<5.000000e+01> : tensor<f32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c2 = linalg.generic {indexing_maps = [#id, #sc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c1, %k2 : tensor<1x4x4xf32>, tensor<f32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c3 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c2 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.tanh %x : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c4 = linalg.generic {indexing_maps = [#id, #sc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c3, %k4 : tensor<1x4x4xf32>, tensor<f32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c5 = linalg.softmax dimension(2) ins(%c4 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: attention: left as is: the mask is inside the tanh
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c5, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// A negative factor on the scores.
func.func @softmax_negative_scale(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<-5.000000e-01> : tensor<f32>
  %k2 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #sc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<f32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c2 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c1, %k2 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c3 = linalg.softmax dimension(2) ins(%c2 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: attention: left as is: a factor on the scores is not one positive constant
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c3, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// The softmax normalises over the queries.
func.func @softmax_over_queries(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c2 = linalg.softmax dimension(1) ins(%c1 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: attention: left as is: the softmax is not over the keys
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c2, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// A bias that is an argument, not a constant.
func.func @softmax_bias_argument(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>, %bias: tensor<1x4x4xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %bias : tensor<1x4x4xf32>, tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %c2 = linalg.softmax dimension(2) ins(%c1 : tensor<1x4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: attention: left as is: the scores are combined with a value that is not a constant
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c2, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// Raised: no line.
func.func @linear_causal(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<[[1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<4x4xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c1, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// A 0/1 mask that keeps everything.
func.func @linear_not_causal(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %k1 = arith.constant dense<[[1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<4x4xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %c1 = linalg.generic {indexing_maps = [#id, #m, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %k1 : tensor<1x4x4xf32>, tensor<4x4xf32>) outs(%e1x4x4 : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: linear attention: left as is: the mask is not causal with a decay gamma^(i-j) on and below the diagonal
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%c1, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#qk = affine_map<(b, i, j, d) -> (b, i, d)>
#kt = affine_map<(b, i, j, d) -> (b, j, d)>
#vv = affine_map<(b, i, j, d) -> (b, d, j)>
#o = affine_map<(b, i, j, d) -> (b, i, j)>
#id = affine_map<(b, i, j) -> (b, i, j)>
#sc = affine_map<(b, i, j) -> ()>
#m = affine_map<(b, i, j) -> (i, j)>
// (Q K^T) V with no mask at all.
func.func @linear_unmasked(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %f0 = arith.constant 0.0 : f32
  %e1x4x4 = tensor.empty() : tensor<1x4x4xf32>
  %e1x4x8 = tensor.empty() : tensor<1x4x8xf32>
  %s_z = linalg.fill ins(%f0 : f32) outs(%e1x4x4 : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#qk, #kt, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%s_z : tensor<1x4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x4xf32>
  %out_z = linalg.fill ins(%f0 : f32) outs(%e1x4x8 : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: linear attention: left as is: Q K^T is not masked
  %out = linalg.generic {indexing_maps = [#qk, #vv, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%s, %v : tensor<1x4x4xf32>, tensor<1x4x8xf32>) outs(%out_z : tensor<1x4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %a = arith.addf %acc, %p : f32
    linalg.yield %a : f32
  } -> tensor<1x4x8xf32>
  return %out : tensor<1x4x8xf32>
}

// -----

#d = affine_map<(i) -> (i)>
// Raised (mix.scan): no line.
func.func @diagonal(%h0: tensor<4xf32>, %g: tensor<9x4xf32>, %x: tensor<9x4xf32>) -> (tensor<4xf32>, tensor<9x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c9 = arith.constant 9 : index
  %ys = tensor.empty() : tensor<9x4xf32>
  %r:2 = scf.for %i = %c0 to %c9 step %c1 iter_args(%h = %h0, %acc = %ys) -> (tensor<4xf32>, tensor<9x4xf32>) {
    %gi = tensor.extract_slice %g[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %xi = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %a = linalg.generic {indexing_maps = [#d, #d], iterator_types = ["parallel"]} ins(%gi : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%gg: f32, %o: f32):
      %ex = math.exp %gg : f32
      linalg.yield %ex : f32
    } -> tensor<4xf32>
    %h2 = linalg.generic {indexing_maps = [#d, #d, #d, #d], iterator_types = ["parallel"]} ins(%a, %h, %xi : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%aa: f32, %hh: f32, %xx: f32, %o: f32):
      %m = arith.mulf %aa, %hh : f32
      %n = arith.addf %m, %xx : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    %acc2 = tensor.insert_slice %h2 into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<9x4xf32>
    scf.yield %h2, %acc2 : tensor<4xf32>, tensor<9x4xf32>
  }
  return %r#0, %r#1 : tensor<4xf32>, tensor<9x4xf32>
}

// -----

#d = affine_map<(i) -> (i)>
// h = tanh(exp(g) h + x) is not linear in h.
func.func @diagonal_tanh(%h0: tensor<4xf32>, %g: tensor<9x4xf32>, %x: tensor<9x4xf32>) -> (tensor<4xf32>, tensor<9x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c9 = arith.constant 9 : index
  %ys = tensor.empty() : tensor<9x4xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: loop: left as is: the step on its vector state is not a diagonal recurrence h = a * h + x (checked on random inputs)
  %r:2 = scf.for %i = %c0 to %c9 step %c1 iter_args(%h = %h0, %acc = %ys) -> (tensor<4xf32>, tensor<9x4xf32>) {
    %gi = tensor.extract_slice %g[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %xi = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %a = linalg.generic {indexing_maps = [#d, #d], iterator_types = ["parallel"]} ins(%gi : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%gg: f32, %o: f32):
      %ex = math.exp %gg : f32
      linalg.yield %ex : f32
    } -> tensor<4xf32>
    %h2 = linalg.generic {indexing_maps = [#d, #d, #d, #d], iterator_types = ["parallel"]} ins(%a, %h, %xi : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%aa: f32, %hh: f32, %xx: f32, %o: f32):
      %m = arith.mulf %aa, %hh : f32
      %n = arith.addf %m, %xx : f32
      %t = math.tanh %n : f32
      linalg.yield %t : f32
    } -> tensor<4xf32>
    %acc2 = tensor.insert_slice %h2 into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<9x4xf32>
    scf.yield %h2, %acc2 : tensor<4xf32>, tensor<9x4xf32>
  }
  return %r#0, %r#1 : tensor<4xf32>, tensor<9x4xf32>
}

// -----

#d = affine_map<(i) -> (i)>
// The loop starts at step 1.
func.func @diagonal_from_one(%h0: tensor<4xf32>, %g: tensor<9x4xf32>, %x: tensor<9x4xf32>) -> (tensor<4xf32>, tensor<9x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c9 = arith.constant 9 : index
  %ys = tensor.empty() : tensor<9x4xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: loop: left as is: the loop does not run from 0 to a constant by 1
  %r:2 = scf.for %i = %c1 to %c9 step %c1 iter_args(%h = %h0, %acc = %ys) -> (tensor<4xf32>, tensor<9x4xf32>) {
    %gi = tensor.extract_slice %g[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %xi = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %a = linalg.generic {indexing_maps = [#d, #d], iterator_types = ["parallel"]} ins(%gi : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%gg: f32, %o: f32):
      %ex = math.exp %gg : f32
      linalg.yield %ex : f32
    } -> tensor<4xf32>
    %h2 = linalg.generic {indexing_maps = [#d, #d, #d, #d], iterator_types = ["parallel"]} ins(%a, %h, %xi : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%aa: f32, %hh: f32, %xx: f32, %o: f32):
      %m = arith.mulf %aa, %hh : f32
      %n = arith.addf %m, %xx : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    %acc2 = tensor.insert_slice %h2 into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<9x4xf32>
    scf.yield %h2, %acc2 : tensor<4xf32>, tensor<9x4xf32>
  }
  return %r#0, %r#1 : tensor<4xf32>, tensor<9x4xf32>
}

// -----

#d = affine_map<(i) -> (i)>
// The step adds its own index.
func.func @diagonal_position(%h0: tensor<4xf32>, %g: tensor<9x4xf32>, %x: tensor<9x4xf32>) -> (tensor<4xf32>, tensor<9x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c9 = arith.constant 9 : index
  %ys = tensor.empty() : tensor<9x4xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: loop: left as is: the step depends on its position
  %r:2 = scf.for %i = %c0 to %c9 step %c1 iter_args(%h = %h0, %acc = %ys) -> (tensor<4xf32>, tensor<9x4xf32>) {
    %gi = tensor.extract_slice %g[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %xi = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %ii = arith.index_cast %i : index to i64
    %fi = arith.sitofp %ii : i64 to f32
    %pos = linalg.fill ins(%fi : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %a = linalg.generic {indexing_maps = [#d, #d], iterator_types = ["parallel"]} ins(%gi : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%gg: f32, %o: f32):
      %ex = math.exp %gg : f32
      linalg.yield %ex : f32
    } -> tensor<4xf32>
    %h2 = linalg.generic {indexing_maps = [#d, #d, #d, #d], iterator_types = ["parallel"]} ins(%a, %h, %pos : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%aa: f32, %hh: f32, %xx: f32, %o: f32):
      %m = arith.mulf %aa, %hh : f32
      %n = arith.addf %m, %xx : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    %acc2 = tensor.insert_slice %h2 into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<9x4xf32>
    scf.yield %h2, %acc2 : tensor<4xf32>, tensor<9x4xf32>
  }
  return %r#0, %r#1 : tensor<4xf32>, tensor<9x4xf32>
}

// -----

#d = affine_map<(i) -> (i)>
// Two states carried side by side.
func.func @two_states(%h0: tensor<4xf32>, %g: tensor<9x4xf32>, %x: tensor<9x4xf32>) -> (tensor<4xf32>, tensor<9x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c9 = arith.constant 9 : index
  %ys = tensor.empty() : tensor<9x4xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: loop: left as is: it carries more than one state
  %r:3 = scf.for %i = %c0 to %c9 step %c1 iter_args(%h = %h0, %h1 = %h0, %acc = %ys) -> (tensor<4xf32>, tensor<4xf32>, tensor<9x4xf32>) {
    %gi = tensor.extract_slice %g[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %xi = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<9x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %a = linalg.generic {indexing_maps = [#d, #d], iterator_types = ["parallel"]} ins(%gi : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%gg: f32, %o: f32):
      %ex = math.exp %gg : f32
      linalg.yield %ex : f32
    } -> tensor<4xf32>
    %h2 = linalg.generic {indexing_maps = [#d, #d, #d, #d], iterator_types = ["parallel"]} ins(%a, %h, %h1 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%aa: f32, %hh: f32, %xx: f32, %o: f32):
      %m = arith.mulf %aa, %hh : f32
      %n = arith.addf %m, %xx : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    %acc2 = tensor.insert_slice %h2 into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<9x4xf32>
    %h3 = linalg.generic {indexing_maps = [#d, #d, #d], iterator_types = ["parallel"]} ins(%h1, %xi : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%p: f32, %xx: f32, %o: f32):
      %n = arith.addf %p, %xx : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    scf.yield %h2, %h3, %acc2 : tensor<4xf32>, tensor<4xf32>, tensor<9x4xf32>
  }
  return %r#0, %r#2 : tensor<4xf32>, tensor<9x4xf32>
}

// -----

// A [K, V] state updated as tanh(S + k^T v): no mix recurrence.
func.func @tanh_state(%q: tensor<5x3xf32>, %k: tensor<5x3xf32>, %v: tensor<5x4xf32>) -> (tensor<3x4xf32>, tensor<5x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant dense<0.0> : tensor<3x4xf32>
  %ys = tensor.empty() : tensor<5x4xf32>
  // CHECK: mix-raise-report.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: loop: left as is: the step is not linear attention, the delta rule, a diagonal-plus-low-rank or a diagonal recurrence (checked on random inputs)
  %r:2 = scf.for %i = %c0 to %c5 step %c1 iter_args(%s = %zero, %acc = %ys) -> (tensor<3x4xf32>, tensor<5x4xf32>) {
    %qi = tensor.extract_slice %q[%i, 0] [1, 3] [1, 1] : tensor<5x3xf32> to tensor<3xf32>
    %ki = tensor.extract_slice %k[%i, 0] [1, 3] [1, 1] : tensor<5x3xf32> to tensor<3xf32>
    %vi = tensor.extract_slice %v[%i, 0] [1, 4] [1, 1] : tensor<5x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<3x4xf32>
    %s2 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>, affine_map<(a, b) -> (b)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]} ins(%s, %ki, %vi : tensor<3x4xf32>, tensor<3xf32>, tensor<4xf32>) outs(%e : tensor<3x4xf32>) {
    ^bb0(%x: f32, %kk: f32, %vv: f32, %o: f32):
      %m = arith.mulf %kk, %vv : f32
      %a = arith.addf %x, %m : f32
      %t = math.tanh %a : f32
      linalg.yield %t : f32
    } -> tensor<3x4xf32>
    %f0 = arith.constant 0.0 : f32
    %oe = tensor.empty() : tensor<4xf32>
    %oz = linalg.fill ins(%f0 : f32) outs(%oe : tensor<4xf32>) -> tensor<4xf32>
    %oi = linalg.vecmat ins(%qi, %s2 : tensor<3xf32>, tensor<3x4xf32>) outs(%oz : tensor<4xf32>) -> tensor<4xf32>
    %acc2 = tensor.insert_slice %oi into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<5x4xf32>
    scf.yield %s2, %acc2 : tensor<3x4xf32>, tensor<5x4xf32>
  }
  return %r#0, %r#1 : tensor<3x4xf32>, tensor<5x4xf32>
}

