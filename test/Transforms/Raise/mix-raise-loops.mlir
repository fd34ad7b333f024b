// RUN: mixir-opt %s --split-input-file --mix-raise | FileCheck %s

// mix-raise on loops over the steps of a sequence, written out as scf.for or
// scf.while with the state as a carried tensor. The step is recognised by
// what it computes (evaluated in float64 on random inputs), not by the ops
// that spell it.

// Linear attention on a [K, V] state: S += k^T v, o = q S, as an scf.for
// reading q, k, v at the step and stacking o.
// CHECK-LABEL: func.func @linear_for
// CHECK-NOT: scf.for
// CHECK: %[[O:.*]], %[[S:.*]] = mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none scale = 1.000000e+00 : (tensor<1x5x1x3xf32>, tensor<1x5x1x3xf32>, tensor<1x5x1x4xf32>) -> (tensor<1x5x1x4xf32>, tensor<1x1x3x4xf32>)
// CHECK-NOT: scf.for
// CHECK: return
func.func @linear_for(%q: tensor<5x3xf32>, %k: tensor<5x3xf32>, %v: tensor<5x4xf32>) -> (tensor<3x4xf32>, tensor<5x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant dense<0.0> : tensor<3x4xf32>
  %ys = tensor.empty() : tensor<5x4xf32>
  %r:2 = scf.for %i = %c0 to %c5 step %c1 iter_args(%s = %zero, %acc = %ys) -> (tensor<3x4xf32>, tensor<5x4xf32>) {
    %qi = tensor.extract_slice %q[%i, 0] [1, 3] [1, 1] : tensor<5x3xf32> to tensor<3xf32>
    %ki = tensor.extract_slice %k[%i, 0] [1, 3] [1, 1] : tensor<5x3xf32> to tensor<3xf32>
    %vi = tensor.extract_slice %v[%i, 0] [1, 4] [1, 1] : tensor<5x4xf32> to tensor<4xf32>
    %e = tensor.empty() : tensor<3x4xf32>
    %s2 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>, affine_map<(a, b) -> (b)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]} ins(%s, %ki, %vi : tensor<3x4xf32>, tensor<3xf32>, tensor<4xf32>) outs(%e : tensor<3x4xf32>) {
    ^bb0(%x: f32, %kk: f32, %vv: f32, %o: f32):
      %m = arith.mulf %kk, %vv : f32
      %a = arith.addf %x, %m : f32
      linalg.yield %a : f32
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

// -----

// Gated delta rule with a scalar decay per step and the state kept as
// [V, K], as an scf.while with a tensor<i32> counter whose reads clamp the
// index (the StableHLO importer's form of lax.scan), 0.5 * o as the output.
// CHECK-LABEL: func.func @gated_delta_while
// CHECK-NOT: scf.while
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) init(%{{.*}}) scale = 5.000000e-01
// CHECK-NOT: scf.while
#id2 = affine_map<(a, b) -> (a, b)>
#row = affine_map<(a, b) -> (a)>
#col = affine_map<(a, b) -> (b)>
#sc = affine_map<(a, b) -> ()>
#id1 = affine_map<(a) -> (a)>
#sc1 = affine_map<(a) -> ()>
func.func @gated_delta_while(%s0: tensor<4x3xf32>, %q: tensor<6x3xf32>, %k: tensor<6x3xf32>, %v: tensor<6x4xf32>, %beta: tensor<6xf32>, %g: tensor<6xf32>) -> (tensor<4x3xf32>, tensor<6x4xf32>) {
  %zero = arith.constant dense<0> : tensor<i32>
  %ys = arith.constant dense<0.0> : tensor<6x4xf32>
  %r:3 = scf.while (%t = %zero, %s = %s0, %acc = %ys) : (tensor<i32>, tensor<4x3xf32>, tensor<6x4xf32>) -> (tensor<i32>, tensor<4x3xf32>, tensor<6x4xf32>) {
    %n = arith.constant 6 : i32
    %ti = tensor.extract %t[] : tensor<i32>
    %lt = arith.cmpi slt, %ti, %n : i32
    scf.condition(%lt) %t, %s, %acc : tensor<i32>, tensor<4x3xf32>, tensor<6x4xf32>
  } do {
  ^bb0(%t: tensor<i32>, %s: tensor<4x3xf32>, %acc: tensor<6x4xf32>):
    %ti = tensor.extract %t[] : tensor<i32>
    %ix = arith.index_cast %ti : i32 to index
    %c0 = arith.constant 0 : index
    %c5 = arith.constant 5 : index
    %lo = arith.maxsi %ix, %c0 : index
    %i = arith.minsi %lo, %c5 : index
    %qi = tensor.extract_slice %q[%i, 0] [1, 3] [1, 1] : tensor<6x3xf32> to tensor<3xf32>
    %ki = tensor.extract_slice %k[%i, 0] [1, 3] [1, 1] : tensor<6x3xf32> to tensor<3xf32>
    %vi = tensor.extract_slice %v[%i, 0] [1, 4] [1, 1] : tensor<6x4xf32> to tensor<4xf32>
    %bi = tensor.extract_slice %beta[%i] [1] [1] : tensor<6xf32> to tensor<f32>
    %gi = tensor.extract_slice %g[%i] [1] [1] : tensor<6xf32> to tensor<f32>
    // S = exp(g) S  (S is [V, K])
    %e = tensor.empty() : tensor<4x3xf32>
    %sd = linalg.generic {indexing_maps = [#id2, #sc, #id2], iterator_types = ["parallel", "parallel"]} ins(%s, %gi : tensor<4x3xf32>, tensor<f32>) outs(%e : tensor<4x3xf32>) {
    ^bb0(%x: f32, %gg: f32, %o: f32):
      %eg = math.exp %gg : f32
      %m = arith.mulf %x, %eg : f32
      linalg.yield %m : f32
    } -> tensor<4x3xf32>
    // u = beta (v - S k)
    %f0 = arith.constant 0.0 : f32
    %ue = tensor.empty() : tensor<4xf32>
    %uz = linalg.fill ins(%f0 : f32) outs(%ue : tensor<4xf32>) -> tensor<4xf32>
    %sk = linalg.matvec ins(%sd, %ki : tensor<4x3xf32>, tensor<3xf32>) outs(%uz : tensor<4xf32>) -> tensor<4xf32>
    %u = linalg.generic {indexing_maps = [#id1, #id1, #sc1, #id1], iterator_types = ["parallel"]} ins(%vi, %sk, %bi : tensor<4xf32>, tensor<4xf32>, tensor<f32>) outs(%ue : tensor<4xf32>) {
    ^bb0(%vv: f32, %kk: f32, %bb: f32, %o: f32):
      %d = arith.subf %vv, %kk : f32
      %m = arith.mulf %d, %bb : f32
      linalg.yield %m : f32
    } -> tensor<4xf32>
    // S += u k^T
    %s2 = linalg.generic {indexing_maps = [#id2, #row, #col, #id2], iterator_types = ["parallel", "parallel"]} ins(%sd, %u, %ki : tensor<4x3xf32>, tensor<4xf32>, tensor<3xf32>) outs(%e : tensor<4x3xf32>) {
    ^bb0(%x: f32, %uu: f32, %kk: f32, %o: f32):
      %m = arith.mulf %uu, %kk : f32
      %a = arith.addf %x, %m : f32
      linalg.yield %a : f32
    } -> tensor<4x3xf32>
    // o = 0.5 * S q
    %oz = linalg.fill ins(%f0 : f32) outs(%ue : tensor<4xf32>) -> tensor<4xf32>
    %sq = linalg.matvec ins(%s2, %qi : tensor<4x3xf32>, tensor<3xf32>) outs(%oz : tensor<4xf32>) -> tensor<4xf32>
    %half = arith.constant dense<0.5> : tensor<4xf32>
    %oi = arith.mulf %sq, %half : tensor<4xf32>
    %acc2 = tensor.insert_slice %oi into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<6x4xf32>
    %one = arith.constant dense<1> : tensor<i32>
    %t2 = arith.addi %t, %one : tensor<i32>
    scf.yield %t2, %s2, %acc2 : tensor<i32>, tensor<4x3xf32>, tensor<6x4xf32>
  }
  return %r#1, %r#2 : tensor<4x3xf32>, tensor<6x4xf32>
}

// -----

// A non-linear step (tanh of the updated state) is no mix recurrence: the
// loop stays.
// CHECK-LABEL: func.func @tanh_state
// CHECK: scf.for
// CHECK: math.tanh
// CHECK-NOT: mix.
func.func @tanh_state(%q: tensor<5x3xf32>, %k: tensor<5x3xf32>, %v: tensor<5x4xf32>) -> (tensor<3x4xf32>, tensor<5x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant dense<0.0> : tensor<3x4xf32>
  %ys = tensor.empty() : tensor<5x4xf32>
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

// -----

// A DPLR step on a [K, V] state, S = diag(w) S + a (b^T S) + k v^T and
// o = S^T q, with the decay w read as it is: mix.recurrence with a rank-1
// term and a signed vector decay. Its operands are stacked by a loop of
// their own (loop fission).
// CHECK-LABEL: func.func @dplr_for
// CHECK: scf.for
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%{{.*}}, %{{.*}}) gate vector(%{{.*}}) decay signed scale = 1.000000e+00
// CHECK-NOT: scf.for
// CHECK: return
#kv = affine_map<(i, j) -> (i, j)>
#k = affine_map<(i, j) -> (i)>
#v = affine_map<(i, j) -> (j)>
func.func @dplr_for(%q: tensor<7x3xf32>, %k: tensor<7x3xf32>, %v: tensor<7x2xf32>, %w: tensor<7x3xf32>, %a: tensor<7x3xf32>, %b: tensor<7x3xf32>) -> tensor<7x2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  %ys = tensor.empty() : tensor<7x2xf32>
  %r:2 = scf.for %i = %c0 to %c7 step %c1 iter_args(%s = %zero, %acc = %ys) -> (tensor<3x2xf32>, tensor<7x2xf32>) {
    %qi = tensor.extract_slice %q[%i, 0] [1, 3] [1, 1] : tensor<7x3xf32> to tensor<3xf32>
    %ki = tensor.extract_slice %k[%i, 0] [1, 3] [1, 1] : tensor<7x3xf32> to tensor<3xf32>
    %vi = tensor.extract_slice %v[%i, 0] [1, 2] [1, 1] : tensor<7x2xf32> to tensor<2xf32>
    %wi = tensor.extract_slice %w[%i, 0] [1, 3] [1, 1] : tensor<7x3xf32> to tensor<3xf32>
    %ai = tensor.extract_slice %a[%i, 0] [1, 3] [1, 1] : tensor<7x3xf32> to tensor<3xf32>
    %bi = tensor.extract_slice %b[%i, 0] [1, 3] [1, 1] : tensor<7x3xf32> to tensor<3xf32>
    %f0 = arith.constant 0.0 : f32
    %ve = tensor.empty() : tensor<2xf32>
    %vz = linalg.fill ins(%f0 : f32) outs(%ve : tensor<2xf32>) -> tensor<2xf32>
    %bs = linalg.vecmat ins(%bi, %s : tensor<3xf32>, tensor<3x2xf32>) outs(%vz : tensor<2xf32>) -> tensor<2xf32>
    %e = tensor.empty() : tensor<3x2xf32>
    %s2 = linalg.generic {indexing_maps = [#kv, #k, #k, #v, #k, #v, #kv], iterator_types = ["parallel", "parallel"]} ins(%s, %wi, %ai, %bs, %ki, %vi : tensor<3x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<2xf32>, tensor<3xf32>, tensor<2xf32>) outs(%e : tensor<3x2xf32>) {
    ^bb0(%x: f32, %ww: f32, %aa: f32, %bb: f32, %kk: f32, %vv: f32, %o: f32):
      %d = arith.mulf %x, %ww : f32
      %l = arith.mulf %aa, %bb : f32
      %u = arith.mulf %kk, %vv : f32
      %t = arith.addf %d, %l : f32
      %n = arith.addf %t, %u : f32
      linalg.yield %n : f32
    } -> tensor<3x2xf32>
    %oi = linalg.vecmat ins(%qi, %s2 : tensor<3xf32>, tensor<3x2xf32>) outs(%vz : tensor<2xf32>) -> tensor<2xf32>
    %acc2 = tensor.insert_slice %oi into %acc[%i, 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<7x2xf32>
    scf.yield %s2, %acc2 : tensor<3x2xf32>, tensor<7x2xf32>
  }
  return %r#1 : tensor<7x2xf32>
}

// -----

// A diagonal step on a vector state, h = exp(g) h + x, y = h: mix.scan,
// the log decay g read as it is.
// CHECK-LABEL: func.func @diagonal_for
// CHECK: mix.scan %{{.*}}, %{{.*}} init(%{{.*}}) : (tensor<1x9x4xf32>, tensor<1x9x4xf32>, tensor<1x4xf32>)
// CHECK: return
#d = affine_map<(i) -> (i)>
func.func @diagonal_for(%h0: tensor<4xf32>, %g: tensor<9x4xf32>, %x: tensor<9x4xf32>) -> (tensor<4xf32>, tensor<9x4xf32>) {
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
