// RUN: mixir-opt %s --mix-expand-linear-attention | FileCheck %s --check-prefix=EXPAND
// RUN: mixir-opt %s --convert-mix-to-loops | FileCheck %s --check-prefix=LOWERED
// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 | FileCheck %s --check-prefix=LOWERED
// RUN: mixir-opt %s --mixir-cpu-pipeline | FileCheck %s --check-prefixes=LLVM,CPU
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" | FileCheck %s --check-prefix=LLVM

// Bidirectional linear attention without a gate is global: no causal op and
// no reversed time, but per batch S = sum over t of k v^T per state (the
// final state), then o = S^T (scale q) per output head, as linalg
// contractions with static shapes on tiles of 64 tokens (the last one
// padded with zeros) and heads grouped by reshapes, in f32.

// Normalised, bf16, Hq = 4, Hk = 1, Hv = 2 (two query heads per state, two
// states per key head), K = 16, V = 8.
// EXPAND-LABEL: func.func @global(
// EXPAND-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x16xbf16>, %[[K:[a-z0-9]+]]: tensor<?x?x1x16xbf16>,
// EXPAND-SAME: %[[V:[a-z0-9]+]]: tensor<?x?x2x8xbf16>)
// EXPAND-NOT: mix.linear_attention
// EXPAND: %[[T:.*]] = tensor.dim %[[Q]], %c1
// EXPAND: %[[OUT:.*]]:2 = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[O0:.*]] = %{{.*}}, %[[S0:.*]] = %{{.*}}) -> (tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>)
// First pass: S[key head, state, K, V] and z[key head, state, K] from
// zero-padded 64-token tiles of k and v (v's two states of its key head).
// EXPAND: %[[SZ:.*]]:2 = scf.for %[[T0:.*]] = %{{.*}} to %[[T]] step %c64{{.*}} iter_args(%[[SACC:.*]] = %{{.*}}, %[[ZACC:.*]] = %{{.*}}) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
// EXPAND: %[[ROWS:.*]] = arith.minsi
// EXPAND: %[[KS:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[T0]], 0, 0] [1, %[[ROWS]], 1, 16]
// EXPAND: %[[KT:.*]] = tensor.insert_slice %[[KS]] into %{{.*}}[0, 0, 0] [%[[ROWS]], 1, 16] {{.*}} into tensor<64x1x16xbf16>
// EXPAND: tensor.extract_slice %[[V]][%[[B]], %[[T0]], 0, 0] [1, %[[ROWS]], 2, 8]
// EXPAND: %[[VT:.*]] = tensor.expand_shape {{.*}} into tensor<64x1x2x8xbf16>
// EXPAND: %[[S:.*]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[KT]], %[[VT]] : {{.*}}) outs(%[[SACC]] : tensor<1x2x16x8xf32>)
// EXPAND: arith.extf
// EXPAND: arith.extf
// EXPAND: arith.mulf
// EXPAND: arith.addf
// EXPAND: %[[Z:.*]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[KT]] : {{.*}}) outs(%[[ZACC]] : tensor<1x2x16xf32>)
// EXPAND: scf.yield %[[S]], %[[Z]]
// The final state of batch b.
// EXPAND: %[[SB:.*]] = tensor.collapse_shape %[[SZ]]#0 {{.*}} into tensor<2x16x8xf32>
// EXPAND: %[[SOUT:.*]] = tensor.insert_slice %[[SB]] into %[[S0]][%[[B]], 0, 0, 0] [1, 2, 16, 8]
// EXPAND: %[[SG:.*]] = tensor.expand_shape %[[SB]] {{.*}} into tensor<2x1x16x8xf32>
// Second pass: per tile of q (as [2 states, 2 query heads each]), o = q S
// and the divisor q . z.
// EXPAND: %[[O:.*]] = scf.for %[[T1:.*]] = %{{.*}} to %[[T]] step %c64{{.*}} iter_args(%[[OACC:.*]] = %[[O0]]) -> (tensor<?x?x4x8xbf16>)
// EXPAND: tensor.extract_slice %[[Q]][%[[B]], %[[T1]], 0, 0]
// EXPAND: %[[QT:.*]] = tensor.expand_shape {{.*}} into tensor<64x2x2x16xbf16>
// EXPAND: %[[NUM:.*]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[QT]], %[[SG]] : {{.*}}) outs(%{{.*}} : tensor<64x2x2x1x8xf32>)
// EXPAND: %[[DEN:.*]] = linalg.generic {{.*}} ins(%[[QT]], %{{.*}} : {{.*}}) outs(%{{.*}} : tensor<64x2x2x1xf32>)
// scale (16^-1/2) on both, 0 where the divisor is 0, one rounding.
// EXPAND: %[[OT:.*]] = linalg.generic {{.*}} ins(%[[NUM]], %[[DEN]] : {{.*}}) outs(%{{.*}} : tensor<64x2x2x1x8xbf16>)
// EXPAND: arith.constant 2.500000e-01 : f32
// EXPAND: arith.cmpf one
// EXPAND: arith.divf
// EXPAND: arith.truncf %{{.*}} : f32 to bf16
// The tile's valid rows into o.
// EXPAND: %[[OC:.*]] = tensor.collapse_shape %[[OT]] {{\[}}[0], [1, 2, 3], [4]] {{.*}} into tensor<64x4x8xbf16>
// EXPAND: %[[VALID:.*]] = tensor.extract_slice %[[OC]][0, 0, 0] [%{{.*}}, 4, 8]
// EXPAND: %[[ONEXT:.*]] = tensor.insert_slice %[[VALID]] into %[[OACC]][%[[B]], %[[T1]], 0, 0]
// EXPAND: scf.yield %[[ONEXT]]
// EXPAND: scf.yield %[[O]], %[[SOUT]]
// EXPAND: return %[[OUT]]#0, %[[OUT]]#1
func.func @global(%q: tensor<?x?x4x16xbf16>, %k: tensor<?x?x1x16xbf16>, %v: tensor<?x?x2x8xbf16>)
    -> (tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none causal = false normalize
      : (tensor<?x?x4x16xbf16>, tensor<?x?x1x16xbf16>, tensor<?x?x2x8xbf16>)
      -> (tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>)
  return %o, %s : tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>
}

// GVA, f32, not normalised, a given scale: Hq = 2, Hk = 1, Hv = 4, so each
// query head reads two states; no divisor and no rounding.
// EXPAND-LABEL: func.func @global_gva(
// EXPAND-NOT: mix.linear_attention
// EXPAND: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x12x10xf32>)
// EXPAND: tensor.collapse_shape {{.*}} into tensor<4x12x10xf32>
// EXPAND: tensor.expand_shape {{.*}} into tensor<2x2x12x10xf32>
// EXPAND: tensor.expand_shape {{.*}} into tensor<64x2x1x12xf32>
// EXPAND: linalg.generic {{.*}} outs(%{{.*}} : tensor<64x2x1x2x10xf32>)
// EXPAND-NOT: arith.divf
// EXPAND: arith.constant 5.000000e-01 : f32
// EXPAND-NOT: arith.truncf
// EXPAND: tensor.collapse_shape {{.*}} into tensor<64x4x10xf32>
// EXPAND-NOT: mix.linear_attention
// EXPAND-LABEL: func.func @causal_kept(
func.func @global_gva(%q: tensor<2x75x2x12xf32>, %k: tensor<2x75x1x12xf32>, %v: tensor<2x75x4x10xf32>)
    -> (tensor<2x75x4x10xf32>, tensor<2x4x12x10xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none scale = 0.5 causal = false
      : (tensor<2x75x2x12xf32>, tensor<2x75x1x12xf32>, tensor<2x75x4x10xf32>)
      -> (tensor<2x75x4x10xf32>, tensor<2x4x12x10xf32>)
  return %o, %s : tensor<2x75x4x10xf32>, tensor<2x4x12x10xf32>
}

// The causal normalised form keeps its causal op.
// EXPAND: mix.linear_attention
func.func @causal_kept(%q: tensor<?x?x2x16xbf16>, %k: tensor<?x?x2x16xbf16>, %v: tensor<?x?x2x16xbf16>)
    -> (tensor<?x?x2x16xbf16>, tensor<?x2x16x16xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none normalize
      : (tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>)
      -> (tensor<?x?x2x16xbf16>, tensor<?x2x16x16xf32>)
  return %o, %s : tensor<?x?x2x16xbf16>, tensor<?x2x16x16xf32>
}

// Every lowering pass takes the rewrite first; no kernel, no causal op.
// LOWERED-LABEL: func.func @global(
// LOWERED-NOT: mix.linear_attention
// LOWERED-NOT: gpu.launch
// LOWERED: linalg.generic
// LOWERED: return
// LOWERED-LABEL: func.func @global_gva(
// LOWERED-NOT: mix.linear_attention
// LOWERED-NOT: gpu.launch
// LOWERED: linalg.generic
// LOWERED: return

// And lowers to LLVM on the CPU and the CUDA host; on the CPU the static
// tiles' contractions take vector registers (rows of V = 8 here).
// LLVM: llvm.func @global(
// CPU: llvm.intr.fmuladd{{.*}} : (vector<8xf32>, vector<8xf32>, vector<8xf32>)
// LLVM: llvm.func @global_gva(
