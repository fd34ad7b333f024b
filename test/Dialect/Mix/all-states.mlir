// RUN: mixir-opt %s | mixir-opt | FileCheck %s
// RUN: mixir-opt %s -split-input-file -verify-diagnostics --mlir-print-op-generic -o /dev/null --verify-roundtrip 2>&1 | count 0
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm | FileCheck %s --check-prefix=SELECT

// `all_states` (speculative verification): the state result is the state
// after every token, [B, T, Hv, K, V]; with a pool it is still that, and the
// pool is only read. mix-select-algorithm gives it the recurrent form.

// CHECK-LABEL: func.func @la
// CHECK: mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate scalar(%{{.*}}) all_states :
// CHECK-SAME: -> (tensor<2x9x4x16xf32>, tensor<2x9x2x8x16xf32>)
// SELECT-LABEL: func.func @la
// SELECT: all_states {chunk_size = 0 : i64}
func.func @la(%q: tensor<2x9x4x8xf32>, %k: tensor<2x9x2x8xf32>, %v: tensor<2x9x2x16xf32>, %g: tensor<2x9x2xf32>) -> tensor<2x9x2x8x16xf32> {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) all_states
      : (tensor<2x9x4x8xf32>, tensor<2x9x2x8xf32>, tensor<2x9x2x16xf32>, tensor<2x9x2xf32>)
      -> (tensor<2x9x4x16xf32>, tensor<2x9x2x8x16xf32>)
  return %s : tensor<2x9x2x8x16xf32>
}

// CHECK-LABEL: func.func @dr_pool
// CHECK: mix.delta_rule {{.*}} init(%{{.*}}) varlen(%{{.*}}) indices(%{{.*}}) qk_l2norm all_states :
// SELECT-LABEL: func.func @dr_pool
// SELECT: all_states {chunk_size = 0 : i64}
func.func @dr_pool(%q: tensor<1x?x2x8xbf16>, %v: tensor<1x?x2x16xbf16>, %beta: tensor<1x?x2xf32>, %g: tensor<1x?x2xf32>, %pool: tensor<5x2x8x16xf32>, %cu: tensor<4xi32>, %idx: tensor<3xi32>) -> tensor<1x?x2x8x16xf32> {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate scalar(%g) init(%pool) varlen(%cu) indices(%idx) qk_l2norm all_states
      : (tensor<1x?x2x8xbf16>, tensor<1x?x2x8xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<5x2x8x16xf32>, tensor<4xi32>, tensor<3xi32>)
      -> (tensor<1x?x2x16xbf16>, tensor<1x?x2x8x16xf32>)
  return %s : tensor<1x?x2x8x16xf32>
}

// CHECK-LABEL: func.func @rc
// CHECK: mix.recurrence {{.*}} decay signed scale = 5.000000e-01 all_states :
// SELECT-LABEL: func.func @rc
// SELECT: all_states {chunk_size = 0 : i64}
func.func @rc(%q: tensor<1x7x2x8xf32>, %a: tensor<1x7x2x1x8xf32>, %g: tensor<1x7x2x8xf32>) -> tensor<1x7x2x8x8xf32> {
  %o, %s = mix.recurrence %q, %q, %q lowrank(%a, %a) gate vector(%g) decay signed scale = 0.5 all_states
      : (tensor<1x7x2x8xf32>, tensor<1x7x2x8xf32>, tensor<1x7x2x8xf32>, tensor<1x7x2x1x8xf32>, tensor<1x7x2x1x8xf32>, tensor<1x7x2x8xf32>)
      -> (tensor<1x7x2x8xf32>, tensor<1x7x2x8x8xf32>)
  return %s : tensor<1x7x2x8x8xf32>
}
