// RUN: mixir-opt %s --mix-expand-linear-attention | FileCheck %s --check-prefix=EXPAND
// RUN: mixir-opt %s --convert-mix-to-loops | FileCheck %s --check-prefix=LOWERED
// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 | FileCheck %s --check-prefix=LOWERED
// RUN: mixir-opt %s --convert-mix-to-gpu | FileCheck %s --check-prefix=LOWERED
// RUN: mixir-opt %s --mixir-cpu-pipeline | FileCheck %s --check-prefix=LLVM
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" | FileCheck %s --check-prefix=LLVM
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa gpu-kernels=chunked" | FileCheck %s --check-prefix=LLVM

// Bidirectional linear attention without a gate is global: no causal op and
// no reversed time, but S = sum over t of k v^T per state (the final state)
// and o = S^T (scale q) per output head, as linalg contractions on heads
// grouped by reshapes, in f32.

// Normalised, bf16, Hq = 4, Hk = 1, Hv = 2 (two query heads per state, two
// states per key head), K = 16, V = 8.
// EXPAND-LABEL: func.func @global(
// EXPAND-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x16xbf16>, %[[K:[a-z0-9]+]]: tensor<?x?x1x16xbf16>,
// EXPAND-SAME: %[[V:[a-z0-9]+]]: tensor<?x?x2x8xbf16>)
// EXPAND-NOT: mix.linear_attention
// v's two states of the one key head, then S[b, key head, state, K, V]
// summed over t (loop 3) from k and v widened to f32.
// EXPAND: %[[V5:.*]] = tensor.expand_shape %[[V]] {{\[}}[0], [1], [2, 3], [4]] {{.*}} into tensor<?x?x1x2x8xbf16>
// EXPAND: %[[S5:.*]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel", "parallel"]} ins(%[[K]], %[[V5]] : {{.*}}) outs(%{{.*}} : tensor<?x1x2x16x8xf32>)
// EXPAND: arith.extf
// EXPAND: arith.extf
// EXPAND: arith.mulf
// EXPAND: arith.addf
// EXPAND: %[[S:.*]] = tensor.collapse_shape %[[S5]] {{\[}}[0], [1, 2], [3], [4]] {{.*}} into tensor<?x2x16x8xf32>
// q as [2 states, 2 query heads each], o = sum over K of q S.
// EXPAND: %[[QG:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1], [2, 3], [4]] {{.*}} into tensor<?x?x2x2x16xbf16>
// EXPAND: %[[SG:.*]] = tensor.expand_shape %[[S]] {{.*}} into tensor<?x2x1x16x8xf32>
// EXPAND: %[[NUM:.*]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[QG]], %[[SG]] : {{.*}}) outs(%{{.*}} : tensor<?x?x2x2x1x8xf32>)
// The divisor: z = sum over t of k per state, then q . z.
// EXPAND: %[[Z:.*]] = linalg.generic {{{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[K]] : {{.*}}) outs(%{{.*}} : tensor<?x1x2x16xf32>)
// EXPAND: %[[DEN:.*]] = linalg.generic {{.*}} ins(%[[QG]], %{{.*}} : {{.*}}) outs(%{{.*}} : tensor<?x?x2x2x1xf32>)
// scale (16^-1/2) on both, 0 where the divisor is 0, one rounding.
// EXPAND: %[[O6:.*]] = linalg.generic {{.*}} ins(%[[NUM]], %[[DEN]] : {{.*}}) outs(%{{.*}} : tensor<?x?x2x2x1x8xbf16>)
// EXPAND: arith.constant 2.500000e-01 : f32
// EXPAND: arith.cmpf one
// EXPAND: arith.divf
// EXPAND: arith.truncf %{{.*}} : f32 to bf16
// EXPAND: %[[O:.*]] = tensor.collapse_shape %[[O6]] {{\[}}[0], [1], [2, 3, 4], [5]] {{.*}} into tensor<?x?x4x8xbf16>
// EXPAND: return %[[O]], %[[S]]
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
// EXPAND: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x1x4x12x10xf32>)
// EXPAND: tensor.collapse_shape {{.*}} into tensor<2x4x12x10xf32>
// EXPAND: tensor.expand_shape {{.*}} into tensor<2x75x2x1x12xf32>
// EXPAND: tensor.expand_shape {{.*}} into tensor<2x2x2x12x10xf32>
// EXPAND: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x75x2x1x2x10xf32>)
// EXPAND-NOT: arith.divf
// EXPAND: arith.constant 5.000000e-01 : f32
// EXPAND-NOT: arith.truncf
// EXPAND: tensor.collapse_shape {{.*}} into tensor<2x75x4x10xf32>
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

// And lowers to LLVM on the CPU and the CUDA host.
// LLVM: llvm.func @global(
// LLVM: llvm.func @global_gva(
