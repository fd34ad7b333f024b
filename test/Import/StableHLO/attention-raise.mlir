// mixir-stablehlo-flat v1
// JAX-style causal softmax attention, as jax.export writes it once the
// constant subgraphs (the tril mask, sqrt(d)) are folded (JAX's no-op
// convert of the -inf fill stays): einsum
// 'bthd,bshd->bhts', scale, where(mask, s, -inf), jax.nn.softmax, einsum
// 'bhts,bshd->bthd' (JAX orders that one as V^T P^T plus a transpose).
// The importer recognises the softmax and mix-raise raises the whole chain.
//
// RUN: mixir-import-stablehlo %s -o - | FileCheck %s
// RUN: mixir-import-stablehlo %s --no-raise -o - | FileCheck %s --check-prefix=NORAISE
//
// CHECK-LABEL: func.func public @main
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal scale = 5.000000e-01
// CHECK-NOT: linalg.softmax
// CHECK: return
//
// NORAISE-NOT: mix.
// NORAISE: linalg.softmax dimension(3)

// Both forms compute causal softmax attention with scale 1/2.
// RUN: rm -rf %t && mkdir -p %t
// RUN: mixir-import-stablehlo %s -o %t/raised.mlir
// RUN: mixir-import-stablehlo %s --no-raise -o %t/plain.mlir
// RUN: %python -c "import numpy as np; r = np.random.default_rng(0); \
// RUN:   [np.save('%t/%%s.npy' %% n, r.standard_normal((1, 4, 2, 4)).astype(np.float32)) for n in 'qkv']"
// RUN: mixir-run %t/raised.mlir --input=%t/q.npy --input=%t/k.npy --input=%t/v.npy --output-dir=%t/raised
// RUN: mixir-run %t/plain.mlir --input=%t/q.npy --input=%t/k.npy --input=%t/v.npy --output-dir=%t/plain
// RUN: %python -c "import numpy as np; \
// RUN:   q, k, v = [np.load('%t/%%s.npy' %% n) for n in 'qkv']; \
// RUN:   s = np.einsum('bthd,bshd->bhts', q, k) / 2 + np.triu(np.full((4, 4), -np.inf), 1); \
// RUN:   p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True); \
// RUN:   want = np.einsum('bhts,bshd->bthd', p, v); \
// RUN:   [np.testing.assert_allclose(np.load('%t/%%s/out0.npy' %% d), want, rtol=1e-5, atol=1e-5) for d in ('raised', 'plain')]"
"builtin.module"() <{sym_name = "jit_attn"}> ({
  "func.func"() <{function_type = (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>, sym_name = "main", sym_visibility = "public"}> ({
  ^bb0(%q: tensor<1x4x2x4xf32>, %k: tensor<1x4x2x4xf32>, %v: tensor<1x4x2x4xf32>):
    %zero = "stablehlo.constant"() <{value = dense<0.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %ninf = "stablehlo.constant"() <{value = dense<0xFF800000> : tensor<f32>}> : () -> tensor<f32>
    %sqrtd = "stablehlo.constant"() <{value = dense<2.000000e+00> : tensor<f32>}> : () -> tensor<f32>
    %mask = "stablehlo.constant"() <{value = dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>}> : () -> tensor<4x4xi1>
    %s = "stablehlo.dot_general"(%q, %k) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 2>, rhs_batching_dimensions = array<i64: 0, 2>, lhs_contracting_dimensions = array<i64: 3>, rhs_contracting_dimensions = array<i64: 3>}}> : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x2x4x4xf32>
    %sd = "stablehlo.broadcast_in_dim"(%sqrtd) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x4x4xf32>
    %s1 = "stablehlo.divide"(%s, %sd) : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %mb = "stablehlo.broadcast_in_dim"(%mask) <{broadcast_dimensions = array<i64: 2, 3>}> : (tensor<4x4xi1>) -> tensor<1x2x4x4xi1>
    %ninf2 = "stablehlo.convert"(%ninf) : (tensor<f32>) -> tensor<f32>
    %nb = "stablehlo.broadcast_in_dim"(%ninf2) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x4x4xf32>
    %x = "stablehlo.select"(%mb, %s1, %nb) : (tensor<1x2x4x4xi1>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %m = "stablehlo.reduce"(%x, %ninf) <{dimensions = array<i64: 3>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.maximum"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4xf32>
    %ni = "stablehlo.broadcast_in_dim"(%ninf) <{broadcast_dimensions = array<i64>}> : (tensor<f32>) -> tensor<1x2x4xf32>
    %m1 = "stablehlo.maximum"(%ni, %m) : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
    %m2 = "stablehlo.broadcast_in_dim"(%m1) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x4xf32>) -> tensor<1x2x4x1xf32>
    %m3 = "stablehlo.broadcast_in_dim"(%m2) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x4x1xf32>) -> tensor<1x2x4x4xf32>
    %d = "stablehlo.subtract"(%x, %m3) : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %e = "stablehlo.exponential"(%d) : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %z = "stablehlo.reduce"(%e, %zero) <{dimensions = array<i64: 3>}> ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %r = "stablehlo.add"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%r) : (tensor<f32>) -> ()
    }) : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4xf32>
    %z2 = "stablehlo.broadcast_in_dim"(%z) <{broadcast_dimensions = array<i64: 0, 1, 2>}> : (tensor<1x2x4xf32>) -> tensor<1x2x4x1xf32>
    %z3 = "stablehlo.broadcast_in_dim"(%z2) <{broadcast_dimensions = array<i64: 0, 1, 2, 3>}> : (tensor<1x2x4x1xf32>) -> tensor<1x2x4x4xf32>
    %p = "stablehlo.divide"(%e, %z3) : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %o = "stablehlo.dot_general"(%v, %p) <{dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0, 2>, rhs_batching_dimensions = array<i64: 0, 1>, lhs_contracting_dimensions = array<i64: 1>, rhs_contracting_dimensions = array<i64: 3>}}> : (tensor<1x4x2x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %ot = "stablehlo.transpose"(%o) <{permutation = array<i64: 0, 3, 1, 2>}> : (tensor<1x2x4x4xf32>) -> tensor<1x4x2x4xf32>
    "func.return"(%ot) : (tensor<1x4x2x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
