// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// The reference lowering of mix.attention: one query row at a time, an
// online softmax (running max, running sum, rescaled accumulator) over the
// key range [lo, hi) allowed by the causal and window masks.

// Forget gate, causal, window = 4, GQA (4 query heads on 2 kv heads), f16,
// dynamic T (S = T because of the forget gate).
// CHECK-LABEL: func.func @attn_forget_causal_window_gqa_f16(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x4x16xf16>, %[[K:[a-z0-9]+]]: tensor<1x?x2x16xf16>,
// CHECK-SAME: %[[V:[a-z0-9]+]]: tensor<1x?x2x8xf16>, %[[G:[a-z0-9]+]]: tensor<1x?x4xf32>)
// CHECK: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// G = cumsum(g) over T, in f64, each gate floored at -104.
// CHECK: %[[GEMPTY:[a-z0-9_]+]] = tensor.empty(%{{.*}}, %[[TQ]]) : tensor<?x?x4xf64>
// CHECK: %[[CUM:[a-z0-9_]+]] = scf.for %[[GB:[a-z0-9_]+]] = {{.*}} iter_args(%{{.*}} = %[[GEMPTY]])
// CHECK: scf.for %[[GH:[a-z0-9_]+]] = %{{.*}} to %c4
// CHECK: scf.for %[[GT:[a-z0-9_]+]] = %{{.*}} to %[[TQ]] step %{{.*}} iter_args(%[[GACC:[a-z0-9_]+]] = %{{.*}}, %[[CUMSUM:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?x4xf64>, f64)
// CHECK: %[[GX:[a-z0-9_]+]] = tensor.extract %[[G]][%[[GB]], %[[GT]], %[[GH]]] : tensor<1x?x4xf32>
// CHECK: %[[GFLOOR:[a-z0-9_]+]] = arith.maximumf %[[GX]], %{{.*}} : f32
// CHECK: %[[GX64:[a-z0-9_]+]] = arith.extf %[[GFLOOR]] : f32 to f64
// CHECK: %[[NEXT:[a-z0-9_]+]] = arith.addf %[[CUMSUM]], %[[GX64]] : f64
// CHECK: %[[INS:[a-z0-9_]+]] = tensor.insert %[[NEXT]] into %[[GACC]][%[[GB]], %[[GT]], %[[GH]]]
// CHECK: scf.yield %[[INS]], %[[NEXT]]
// The attention loops: B, query heads, query rows.
// CHECK: scf.for %[[B:[a-z0-9_]+]] = {{.*}} -> (tensor<1x?x4x8xf16>)
// CHECK: scf.for %[[H:[a-z0-9_]+]] = %{{.*}} to %c4
// CHECK: %[[KVH:[a-z0-9_]+]] = arith.divui %[[H]], %c2
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %[[TQ]] step
// q_i * scale (K^-1/2 = 0.25), in f32.
// CHECK: %[[SCALE:[a-z0-9_]+]] = arith.constant dense<2.500000e-01> : vector<16xf32>
// CHECK: %[[QRAW:[a-z0-9_]+]] = vector.transfer_read %[[Q]][%[[B]], %[[I]], %[[H]], %{{.*}}], {{.*}} : tensor<1x?x4x16xf16>, vector<16xf16>
// CHECK: %[[QF:[a-z0-9_]+]] = arith.extf %[[QRAW]] : vector<16xf16> to vector<16xf32>
// CHECK: %[[QI:[a-z0-9_]+]] = arith.mulf %[[QF]], %[[SCALE]] : vector<16xf32>
// Causal: hi = min(S, i + 1); window: lo = max(0, i - (window - 1)).
// CHECK: %[[I1:[a-z0-9_]+]] = arith.addi %[[I]], %{{.*}} : index
// CHECK: %[[HI:[a-z0-9_]+]] = arith.minsi %[[TQ]], %[[I1]] : index
// CHECK: %[[W1:[a-z0-9_]+]] = arith.constant 3 : index
// CHECK: %[[IW:[a-z0-9_]+]] = arith.subi %[[I]], %[[W1]] : index
// CHECK: %[[LO:[a-z0-9_]+]] = arith.maxsi %{{.*}}, %[[IW]] : index
// CHECK: %[[GI:[a-z0-9_]+]] = tensor.extract %[[CUM]][%[[B]], %[[I]], %[[H]]] : tensor<?x?x4xf64>
// CHECK: %[[NEGINF:[a-z0-9_]+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[SM:[a-z0-9_]+]]:3 = scf.for %[[J:[a-z0-9_]+]] = %[[LO]] to %[[HI]] step %{{.*}} iter_args(%[[M:[a-z0-9_]+]] = %[[NEGINF]], %[[L:[a-z0-9_]+]] = %{{.*}}, %[[ACC:[a-z0-9_]+]] = %{{.*}}) -> (f32, f32, vector<8xf32>)
// s = q_i . k_j + G_i - G_j (the difference in f64, rounded to f32)
// CHECK: %[[KJ:[a-z0-9_]+]] = vector.transfer_read %[[K]][%[[B]], %[[J]], %[[KVH]], %{{.*}}], {{.*}} : tensor<1x?x2x16xf16>, vector<16xf16>
// CHECK: %[[KJF:[a-z0-9_]+]] = arith.extf %[[KJ]] : vector<16xf16> to vector<16xf32>
// CHECK: %[[PROD:[a-z0-9_]+]] = arith.mulf %[[QI]], %[[KJF]] : vector<16xf32>
// CHECK: %[[DOT:[a-z0-9_]+]] = vector.reduction <add>, %[[PROD]] : vector<16xf32> into f32
// CHECK: %[[GJ:[a-z0-9_]+]] = tensor.extract %[[CUM]][%[[B]], %[[J]], %[[H]]]
// CHECK: %[[DG:[a-z0-9_]+]] = arith.subf %[[GI]], %[[GJ]] : f64
// CHECK: %[[BIAS:[a-z0-9_]+]] = arith.truncf %[[DG]] : f64 to f32
// CHECK: %[[S:[a-z0-9_]+]] = arith.addf %[[DOT]], %[[BIAS]] : f32
// Online softmax: m' = max(m, s), c = exp(m - m'), p = exp(s - m').
// CHECK: %[[MNEW:[a-z0-9_]+]] = arith.maximumf %[[M]], %[[S]] : f32
// CHECK: %[[DM:[a-z0-9_]+]] = arith.subf %[[M]], %[[MNEW]] : f32
// CHECK: %[[C:[a-z0-9_]+]] = math.exp %[[DM]] : f32
// CHECK: %[[DS:[a-z0-9_]+]] = arith.subf %[[S]], %[[MNEW]] : f32
// CHECK: %[[P:[a-z0-9_]+]] = math.exp %[[DS]] : f32
// CHECK: %[[LC:[a-z0-9_]+]] = arith.mulf %[[L]], %[[C]] : f32
// CHECK: %[[LNEW:[a-z0-9_]+]] = arith.addf %[[LC]], %[[P]] : f32
// CHECK: %[[VJ:[a-z0-9_]+]] = vector.transfer_read %[[V]][%[[B]], %[[J]], %[[KVH]], %{{.*}}], {{.*}} : tensor<1x?x2x8xf16>, vector<8xf16>
// CHECK: %[[VJF:[a-z0-9_]+]] = arith.extf %[[VJ]] : vector<8xf16> to vector<8xf32>
// CHECK: %[[CV:[a-z0-9_]+]] = vector.broadcast %[[C]] : f32 to vector<8xf32>
// CHECK: %[[ACCC:[a-z0-9_]+]] = arith.mulf %[[ACC]], %[[CV]] : vector<8xf32>
// CHECK: %[[PV:[a-z0-9_]+]] = vector.broadcast %[[P]] : f32 to vector<8xf32>
// CHECK: %[[ACCNEW:[a-z0-9_]+]] = vector.fma %[[PV]], %[[VJF]], %[[ACCC]] : vector<8xf32>
// CHECK: scf.yield %[[MNEW]], %[[LNEW]], %[[ACCNEW]] : f32, f32, vector<8xf32>
// o_i = acc / l, or 0 when no key was allowed (l = 0).
// CHECK: %[[ANY:[a-z0-9_]+]] = arith.cmpf ogt, %[[SM]]#1, %{{.*}} : f32
// CHECK: %[[SAFE:[a-z0-9_]+]] = arith.select %[[ANY]], %[[SM]]#1, %{{.*}} : f32
// CHECK: %[[SAFEV:[a-z0-9_]+]] = vector.broadcast %[[SAFE]] : f32 to vector<8xf32>
// CHECK: %[[ROW:[a-z0-9_]+]] = arith.divf %[[SM]]#2, %[[SAFEV]] : vector<8xf32>
// CHECK: %[[ROWH:[a-z0-9_]+]] = arith.truncf %[[ROW]] : vector<8xf32> to vector<8xf16>
// CHECK: vector.transfer_write %[[ROWH]], %{{.*}}[%[[B]], %[[I]], %[[H]], %{{.*}}] {{.*}} : vector<8xf16>, tensor<1x?x4x8xf16>
// CHECK: return
func.func @attn_forget_causal_window_gqa_f16(%q: tensor<1x?x4x16xf16>, %k: tensor<1x?x2x16xf16>, %v: tensor<1x?x2x8xf16>,
                                             %g: tensor<1x?x4xf32>) -> tensor<1x?x4x8xf16> {
  %o = mix.attention %q, %k, %v forget(%g) causal window = 4
      : (tensor<1x?x4x16xf16>, tensor<1x?x2x16xf16>, tensor<1x?x2x8xf16>, tensor<1x?x4xf32>) -> tensor<1x?x4x8xf16>
  return %o : tensor<1x?x4x8xf16>
}

// -----

// Bidirectional cross attention, S = 12 != T = 4, static, f32, scale 2: every
// row attends to all S keys, no mask arithmetic, no gate, no check.
// CHECK-LABEL: func.func @attn_plain_cross(
// CHECK-NOT: tensor.dim
// CHECK-NOT: mixrtShapeError
// CHECK: scf.for %{{.*}} = %c0 to %c2
// CHECK: scf.for %{{.*}} = %c0 to %c2
// CHECK: arith.divui %{{.*}}, %c1
// CHECK: scf.for %{{.*}} = %c0 to %c4
// CHECK: arith.constant dense<2.000000e+00> : vector<16xf32>
// CHECK-NOT: arith.minsi
// CHECK-NOT: arith.maxsi
// CHECK: scf.for %{{.*}} = %c0 to %c12 step {{.*}} -> (f32, f32, vector<8xf32>)
// CHECK-NOT: arith.subf %{{.*}}, %{{.*}} : f32
// CHECK: arith.maximumf
// CHECK: return
func.func @attn_plain_cross(%q: tensor<2x4x2x16xf32>, %k: tensor<2x12x2x16xf32>, %v: tensor<2x12x2x8xf32>)
    -> tensor<2x4x2x8xf32> {
  %o = mix.attention %q, %k, %v scale = 2.0
      : (tensor<2x4x2x16xf32>, tensor<2x12x2x16xf32>, tensor<2x12x2x8xf32>) -> tensor<2x4x2x8xf32>
  return %o : tensor<2x4x2x8xf32>
}

// -----

// Causal without a window: only the upper bound.
// CHECK-LABEL: func.func @attn_causal(
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %c8
// CHECK: %[[I1:[a-z0-9_]+]] = arith.addi %[[I]], %c1
// CHECK: %[[HI:[a-z0-9_]+]] = arith.minsi %c8{{.*}}, %[[I1]] : index
// CHECK-NOT: arith.maxsi
// CHECK: scf.for %{{.*}} = %c0 to %[[HI]] step
// CHECK: return
func.func @attn_causal(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x1x16xf32>)
    -> tensor<1x8x1x16xf32> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>) -> tensor<1x8x1x16xf32>
  return %o : tensor<1x8x1x16xf32>
}

// -----

// A window without causal: only the lower bound, i - (window - 1).
// CHECK-LABEL: func.func @attn_window_only_bf16(
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %c0 to %c8
// CHECK-NOT: arith.minsi
// CHECK: %[[W:[a-z0-9_]+]] = arith.constant 1 : index
// CHECK: %[[IW:[a-z0-9_]+]] = arith.subi %[[I]], %[[W]] : index
// CHECK: %[[LO:[a-z0-9_]+]] = arith.maxsi %c0{{.*}}, %[[IW]] : index
// CHECK: scf.for %{{.*}} = %[[LO]] to %c8{{.*}} step
// CHECK: arith.extf {{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK: arith.truncf {{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: return
func.func @attn_window_only_bf16(%q: tensor<1x8x1x16xbf16>, %k: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x16xbf16>)
    -> tensor<1x8x1x16xbf16> {
  %o = mix.attention %q, %k, %v window = 2
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>) -> tensor<1x8x1x16xbf16>
  return %o : tensor<1x8x1x16xbf16>
}
