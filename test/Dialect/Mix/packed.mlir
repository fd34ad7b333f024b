// RUN: mixir-opt %s -split-input-file | mixir-opt | FileCheck %s
// RUN: mixir-opt %s -split-input-file -mlir-print-op-generic | mixir-opt | FileCheck %s

// Packed sequences: `varlen(%cu)` on the four recurrent ops round-trips, with
// the states [N, ...] (N = 3 offsets - 1 here, or dynamic) and B = 1.

// CHECK-LABEL: func.func @la_varlen
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) init(%{{.*}}) varlen(%{{.*}}) scale = 1.250000e-01 : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2xf32>, tensor<3x2x16x32xf32>, tensor<4xi32>) -> (tensor<1x?x2x32xf32>, tensor<3x2x16x32xf32>)
func.func @la_varlen(%q: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x32xf32>, %g: tensor<1x?x2xf32>, %s0: tensor<3x2x16x32xf32>, %cu: tensor<4xi32>) -> tensor<3x2x16x32xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate scalar(%g) init(%s0) varlen(%cu) scale = 0.125
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2xf32>, tensor<3x2x16x32xf32>, tensor<4xi32>)
      -> (tensor<1x?x2x32xf32>, tensor<3x2x16x32xf32>)
  return %s : tensor<3x2x16x32xf32>
}

// -----

// CHECK-LABEL: func.func @delta_varlen
// CHECK: mix.delta_rule %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} gate none varlen(%{{.*}}) qk_l2norm : (tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x32xbf16>, tensor<?x?x2xf32>, tensor<?xi64>) -> (tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>)
func.func @delta_varlen(%q: tensor<?x?x2x16xbf16>, %v: tensor<?x?x2x32xbf16>, %beta: tensor<?x?x2xf32>, %cu: tensor<?xi64>) -> tensor<?x2x16x32xf32> {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none varlen(%cu) qk_l2norm
      : (tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x32xbf16>, tensor<?x?x2xf32>, tensor<?xi64>)
      -> (tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>)
  return %s : tensor<?x2x16x32xf32>
}

// -----

// CHECK-LABEL: func.func @recurrence_varlen
// CHECK: mix.recurrence %{{.*}}, %{{.*}}, %{{.*}} lowrank(%{{.*}}, %{{.*}}) gate vector(%{{.*}}) decay signed init(%{{.*}}) varlen(%{{.*}}) : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2x1x16xf32>, tensor<1x?x2x1x16xf32>, tensor<1x?x2x16xf32>, tensor<?x2x16x32xf32>, tensor<?xi32>) -> (tensor<1x?x2x32xf32>, tensor<?x2x16x32xf32>)
func.func @recurrence_varlen(%q: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x32xf32>, %a: tensor<1x?x2x1x16xf32>, %w: tensor<1x?x2x16xf32>, %s0: tensor<?x2x16x32xf32>, %cu: tensor<?xi32>) -> tensor<?x2x16x32xf32> {
  %o, %s = mix.recurrence %q, %q, %v lowrank(%a, %a) gate vector(%w) decay signed init(%s0) varlen(%cu)
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2x1x16xf32>, tensor<1x?x2x1x16xf32>, tensor<1x?x2x16xf32>, tensor<?x2x16x32xf32>, tensor<?xi32>)
      -> (tensor<1x?x2x32xf32>, tensor<?x2x16x32xf32>)
  return %s : tensor<?x2x16x32xf32>
}

// -----

// CHECK-LABEL: func.func @scan_varlen
// CHECK: mix.scan %{{.*}}, %{{.*}} init(%{{.*}}) varlen(%{{.*}}) : (tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<5x8xf32>, tensor<6xi32>) -> (tensor<1x?x8xf32>, tensor<5x8xf32>)
func.func @scan_varlen(%x: tensor<1x?x8xf32>, %h0: tensor<5x8xf32>, %cu: tensor<6xi32>) -> tensor<5x8xf32> {
  %o, %h = mix.scan %x, %x init(%h0) varlen(%cu)
      : (tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<5x8xf32>, tensor<6xi32>)
      -> (tensor<1x?x8xf32>, tensor<5x8xf32>)
  return %h : tensor<5x8xf32>
}

// -----

// A state pool: init(%pool) with indices(%idx), the final state is the pool.
// CHECK-LABEL: func.func @la_pool
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none init(%{{.*}}) varlen(%{{.*}}) indices(%{{.*}}) : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x32xf32>, tensor<?x2x16x32xf32>, tensor<4xi32>, tensor<3xi32>) -> (tensor<1x?x2x32xf32>, tensor<?x2x16x32xf32>)
func.func @la_pool(%q: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x32xf32>, %pool: tensor<?x2x16x32xf32>, %cu: tensor<4xi32>, %idx: tensor<3xi32>) -> tensor<?x2x16x32xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate none init(%pool) varlen(%cu) indices(%idx)
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x32xf32>, tensor<?x2x16x32xf32>, tensor<4xi32>, tensor<3xi32>)
      -> (tensor<1x?x2x32xf32>, tensor<?x2x16x32xf32>)
  return %s : tensor<?x2x16x32xf32>
}

// -----

// A pool without packing: one index per batch row (B = 2), P = 5 slots.
// CHECK-LABEL: func.func @delta_pool
// CHECK: mix.delta_rule {{.*}} init(%{{.*}}) indices(%{{.*}}) : {{.*}} -> (tensor<2x?x2x32xf32>, tensor<5x2x16x32xf32>)
func.func @delta_pool(%q: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x32xf32>, %beta: tensor<2x?x2xf32>, %pool: tensor<5x2x16x32xf32>, %idx: tensor<2xi32>) -> tensor<5x2x16x32xf32> {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none init(%pool) indices(%idx)
      : (tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x32xf32>, tensor<2x?x2xf32>, tensor<5x2x16x32xf32>, tensor<2xi32>)
      -> (tensor<2x?x2x32xf32>, tensor<5x2x16x32xf32>)
  return %s : tensor<5x2x16x32xf32>
}

// -----

// Softmax attention over packed sequences (S = T, B = 1), and its gradient.
// CHECK-LABEL: func.func @attention_varlen
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} forget(%{{.*}}) varlen(%{{.*}}) causal window = 8 : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x4xf32>, tensor<?xi32>) -> tensor<1x?x4x32xbf16>
// CHECK: mix.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} varlen(%{{.*}}) causal : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x4x32xbf16>, tensor<?xi32>) -> (tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x32xf32>)
func.func @attention_varlen(%q: tensor<1x?x4x16xbf16>, %k: tensor<1x?x2x16xbf16>, %v: tensor<1x?x2x32xbf16>, %g: tensor<1x?x4xf32>, %cu: tensor<?xi32>) -> tensor<1x?x4x32xbf16> {
  %o = mix.attention %q, %k, %v forget(%g) varlen(%cu) causal window = 8
      : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x4xf32>, tensor<?xi32>) -> tensor<1x?x4x32xbf16>
  %dq, %dk, %dv = mix.attention_grad %q, %k, %v, %o varlen(%cu) causal
      : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x4x32xbf16>, tensor<?xi32>)
      -> (tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x32xf32>)
  return %o : tensor<1x?x4x32xbf16>
}

// -----

// Attention over a KV cache: kv_lens [B] valid keys per row.
// CHECK-LABEL: func.func @attention_kv_cache
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} kv_lens(%{{.*}}) causal window = 64 : (tensor<?x1x4x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x32xbf16>, tensor<?xi32>) -> tensor<?x1x4x32xbf16>
func.func @attention_kv_cache(%q: tensor<?x1x4x16xbf16>, %k: tensor<?x?x2x16xbf16>, %v: tensor<?x?x2x32xbf16>, %lens: tensor<?xi32>) -> tensor<?x1x4x32xbf16> {
  %o = mix.attention %q, %k, %v kv_lens(%lens) causal window = 64
      : (tensor<?x1x4x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x32xbf16>, tensor<?xi32>) -> tensor<?x1x4x32xbf16>
  return %o : tensor<?x1x4x32xbf16>
}
