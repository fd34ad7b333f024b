// RUN: mixir-opt %s --mix-expand-linear-attention | FileCheck %s --check-prefix=EXPAND
// RUN: mixir-opt %s --convert-mix-to-loops | FileCheck %s --check-prefix=LOOPS
// RUN: mixir-opt %s --convert-mix-to-chunked=chunk-size=16 | FileCheck %s --check-prefix=CHUNKED
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" --mlir-print-ir-after=convert-chunked-to-gpu -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPU

// Bidirectional, normalised linear attention with a scalar gate, bf16,
// shared heads (Hq = 4, Hk = 1, Hv = 2), V = 8: rewritten into two causal
// ops (forward, and reversed time) and element-wise linalg; every lowering
// pass runs the rewrite first.

// v with two columns of ones (V = 8 is even: V + 2 stays even).
// EXPAND-LABEL: func.func @bidirectional(
// EXPAND-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x16xbf16>, %[[K:[a-z0-9]+]]: tensor<?x?x1x16xbf16>,
// EXPAND-SAME: %[[V:[a-z0-9]+]]: tensor<?x?x2x8xbf16>, %[[G:[a-z0-9]+]]: tensor<?x?x2xf32>)
// EXPAND: %[[T:.*]] = tensor.dim %[[Q]], %c1
// EXPAND: %[[V1:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x2x10xbf16>)
// EXPAND: arith.cmpi ult, %{{.*}}, %c8
// EXPAND: arith.constant 1.000000e+00 : bf16
// EXPAND: tensor.extract %[[V]]
// The forward op on v and its ones.
// EXPAND: %[[FO:[a-z0-9_]+]], %[[FS:[a-z0-9_]+]] = mix.linear_attention %[[Q]], %[[K]], %[[V1]] gate scalar(%[[G]]) :
// EXPAND-SAME: -> (tensor<?x?x4x10xbf16>, tensor<?x2x16x10xf32>)
// Reversed time: q shifted by one (0 at the last step), k and g reversed,
// v reversed with each key's own decay exp(g) folded in.
// EXPAND: %[[QB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x4x16xbf16>)
// EXPAND: arith.cmpi slt
// EXPAND: tensor.extract %[[Q]]
// EXPAND: %[[KB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x1x16xbf16>)
// EXPAND: tensor.extract %[[K]]
// EXPAND: %[[GB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x2xf32>)
// EXPAND: tensor.extract %[[G]]
// EXPAND: %[[VB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x2x10xbf16>)
// EXPAND: tensor.extract %[[V1]]
// EXPAND: math.exp
// EXPAND: arith.mulf
// EXPAND: %[[BO:[a-z0-9_]+]], %{{.*}} = mix.linear_attention %[[QB]], %[[KB]], %[[VB]] gate scalar(%[[GB]]) :
// o[t] = (F[t] + B[T - 2 - t]) / (the same at column 8), 0 where that is 0.
// EXPAND: %[[O:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x4x8xbf16>)
// EXPAND: tensor.extract %[[FO]]
// EXPAND: tensor.extract %[[BO]]
// EXPAND: arith.addf
// EXPAND: tensor.extract %[[FO]][%{{.*}}, %{{.*}}, %{{.*}}, %c8]
// EXPAND: tensor.extract %[[BO]][%{{.*}}, %{{.*}}, %{{.*}}, %c8]
// EXPAND: arith.cmpf one
// EXPAND: arith.divf
// EXPAND: arith.truncf %{{.*}} : f32 to bf16
// The forward state without the ones' columns.
// EXPAND: %[[S:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2x16x8xf32>)
// EXPAND: tensor.extract %[[FS]]
// EXPAND: return %[[O]], %[[S]]

// The recurrent form: both causal ops become token loops.
// LOOPS-LABEL: func.func @bidirectional(
// LOOPS-NOT: mix.linear_attention
// LOOPS: math.exp
// LOOPS: scf.forall
// LOOPS: scf.forall
// LOOPS: arith.divf
// LOOPS: return

// The chunked form for both.
// CHUNKED-LABEL: func.func @bidirectional(
// CHUNKED-NOT: mix.linear_attention
// CHUNKED: linalg.matmul
// CHUNKED: linalg.matmul
// CHUNKED: arith.divf
// CHUNKED: return

// On CUDA: a kernel per causal op, the division on the host after both.
// GPU-LABEL: func.func @bidirectional(
// GPU-NOT: mix.linear_attention
// GPU: gpu.launch_func {{.*}} @bidirectional_kernel::
// GPU: gpu.launch_func {{.*}} @bidirectional_kernel_0::
// GPU: arith.divf
// GPU: return
// GPU: gpu.module @bidirectional_kernel {
// GPU: nvgpu.mma.sync
// GPU: gpu.module @bidirectional_kernel_0 {
// GPU: nvgpu.mma.sync
func.func @bidirectional(%q: tensor<?x?x4x16xbf16>, %k: tensor<?x?x1x16xbf16>, %v: tensor<?x?x2x8xbf16>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) causal = false normalize
      : (tensor<?x?x4x16xbf16>, tensor<?x?x1x16xbf16>, tensor<?x?x2x8xbf16>, tensor<?x?x2xf32>)
      -> (tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>)
  return %o, %s : tensor<?x?x4x8xbf16>, tensor<?x2x16x8xf32>
}
