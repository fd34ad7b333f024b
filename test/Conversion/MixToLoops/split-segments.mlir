// mix-split-segments: the two-pass schedule. The op runs packed (varlen)
// over 4 segments of every sequence (offsets computed from B and T), from
// zero states; the delta rule runs again with v = 0 (value dim K) from the
// identity, giving each segment's K x K transition product; a loop over the
// 4 segments carries S <- M S + C, recording the state entering each; the
// op runs packed again from those states, and the loop's state is the
// final state. The numerics: test/python/test_split_segments.py.
// RUN: mixir-opt %s --mix-split-segments=segments=4 | FileCheck %s
// RUN: mixir-opt %s --mix-split-segments=segments=1 | FileCheck %s --check-prefix=ONE
// RUN: not mixir-opt %s --mix-split-segments=segments=0 2>&1 | FileCheck %s --check-prefix=ZERO
// ONE-NOT: tensor.generate
// ZERO: mix-split-segments: segments must be at least 1 and sm-count at least 0, got 0 and 0

// CHECK-LABEL: func.func @dr
// CHECK: %[[CU:.*]] = tensor.generate
// CHECK: arith.index_cast %{{.*}} : index to i64
// CHECK: %{{.*}}, %[[C:.*]] = mix.delta_rule {{.*}} varlen(%[[CU]]) qk_l2norm : {{.*}} -> (tensor<1x?x2x32xbf16>, tensor<?x2x16x32xf32>)
// CHECK: %[[EYE:.*]] = tensor.generate
// CHECK: %{{.*}}, %[[M:.*]] = mix.delta_rule {{.*}} init(%[[EYE]]) varlen(%[[CU]]) qk_l2norm : {{.*}} -> (tensor<1x?x2x16xbf16>, tensor<?x2x16x16xf32>)
// CHECK: %[[SCAN:.*]]:2 = scf.for {{.*}} -> (tensor<?x2x16x32xf32>, tensor<?x4x2x16x32xf32>)
// CHECK: tensor.insert_slice
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK: linalg.copy
// CHECK: %[[IN:.*]] = tensor.collapse_shape %[[SCAN]]#1
// CHECK: %[[O:.*]], %{{.*}} = mix.delta_rule {{.*}} init(%[[IN]]) varlen(%[[CU]])
// CHECK: %[[OFLAT:.*]] = tensor.collapse_shape %[[O]]
// CHECK: %[[OUT:.*]] = tensor.expand_shape %[[OFLAT]]
// CHECK: return %[[OUT]], %[[SCAN]]#0
func.func @dr(%q: tensor<?x?x2x16xbf16>, %k: tensor<?x?x2x16xbf16>,
              %v: tensor<?x?x2x32xbf16>, %beta: tensor<?x?x2xbf16>,
              %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm
      : (tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x32xbf16>,
         tensor<?x?x2xbf16>, tensor<?x?x2xf32>)
      -> (tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>)
  return %o, %s : tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>
}

// Linear attention with a per-key-channel gate: M is each segment's summed
// log decay, [segments, Hv, K], and the scan scales S's key rows by exp(M).
// CHECK-LABEL: func.func @gla
// CHECK: mix.linear_attention {{.*}} gate vector(%{{.*}}) varlen
// CHECK: tensor.generate
// CHECK: scf.for
// CHECK: } : tensor<?x2x16xf32>
// CHECK: scf.for
// CHECK: math.exp
// CHECK: mix.linear_attention {{.*}} gate vector(%{{.*}}) init(%{{.*}}) varlen
// A packed op is left alone.
// CHECK-LABEL: func.func @packed
// CHECK-NEXT: mix.linear_attention {{.*}} varlen(%arg3)
// CHECK-NEXT: return
func.func @gla(%q: tensor<2x?x2x16xf32>, %k: tensor<2x?x2x16xf32>,
               %v: tensor<2x?x2x8xf32>, %g: tensor<2x?x2x16xf32>,
               %s0: tensor<2x2x16x8xf32>)
    -> (tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) init(%s0)
      : (tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x8xf32>,
         tensor<2x?x2x16xf32>, tensor<2x2x16x8xf32>)
      -> (tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>)
  return %o, %s : tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>
}

func.func @packed(%q: tensor<1x?x2x16xf32>, %k: tensor<1x?x2x16xf32>,
                  %v: tensor<1x?x2x8xf32>, %cu: tensor<?xi32>)
    -> (tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none varlen(%cu)
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>,
         tensor<?xi32>)
      -> (tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>)
  return %o, %s : tensor<1x?x2x8xf32>, tensor<?x2x16x8xf32>
}

// sm-count: the choice at run time. 2 state heads on 132 SMs: 32 segments,
// taken when B x 2 <= 66 and T >= 8192, the fused op otherwise; 96 state
// heads keep the SMs busy at B = 1 and are left alone.
// RUN: mixir-opt %s --mix-split-segments=sm-count=132 | FileCheck %s --check-prefix=AUTO
// AUTO-LABEL: func.func @dr
// AUTO: %[[FEW:.*]] = arith.cmpi ule, %{{.*}}, %c44
// AUTO: %[[LONG:.*]] = arith.cmpi uge, %{{.*}}, %c8192
// AUTO: %[[BOTH:.*]] = arith.andi %[[FEW]], %[[LONG]]
// AUTO: scf.if %[[BOTH]]
// AUTO: mix.delta_rule {{.*}} varlen
// AUTO: } else {
// AUTO: mix.delta_rule
// AUTO-NOT: varlen
// AUTO: scf.yield
// AUTO-LABEL: func.func @wide
// AUTO-NOT: scf.if
// AUTO: mix.linear_attention
// AUTO-NOT: varlen
func.func @wide(%q: tensor<1x?x96x16xf32>, %k: tensor<1x?x96x16xf32>,
                %v: tensor<1x?x96x8xf32>)
    -> (tensor<1x?x96x8xf32>, tensor<1x96x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x?x96x16xf32>, tensor<1x?x96x16xf32>, tensor<1x?x96x8xf32>)
      -> (tensor<1x?x96x8xf32>, tensor<1x96x16x8xf32>)
  return %o, %s : tensor<1x?x96x8xf32>, tensor<1x96x16x8xf32>
}
