// The gate prologue of examples/gated_deltanet.mlir (beta = sigmoid(b),
// g = -exp(A_log) softplus(a + dt_bias), element-wise linalg.generic ops
// beside mix.delta_rule) is computed where the lowered op reads g and beta
// (mix-fuse-elementwise-into-extracts): on CUDA inside the kernels, not on
// the host between the copies; on the CPU inside the (batch, head) loops.
// RUN: mixir-opt %mixir_src/examples/gated_deltanet.mlir --mixir-cuda-pipeline="chip=sm_80 format=isa chunk-size=64" --mlir-print-ir-after=convert-chunked-to-gpu -o /dev/null 2>&1 | FileCheck %s --check-prefix=CUDA
// CUDA-LABEL: func.func @gated_deltanet(
// CUDA-NOT: math.log1p
// CUDA: gpu.module @gated_deltanet_kernel
// CUDA: math.log1p
// RUN: mixir-opt %mixir_src/examples/gated_deltanet.mlir --mix-select-algorithm=chunk-size=64 --convert-mix-to-chunked=chunk-size=64 --convert-mix-to-loops --mix-fuse-elementwise-into-extracts | FileCheck %s --check-prefix=CPU
// CPU-LABEL: func.func @gated_deltanet(
// CPU-NOT: linalg.generic {{.*}} ins(%{{.*}} : tensor<?x?x4xbf16>)
// CPU: scf.forall
// CPU: math.log1p
