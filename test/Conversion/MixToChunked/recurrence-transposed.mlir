// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32" | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32" --convert-chunked-to-gpu | FileCheck %s --check-prefix=GPU

// The chunked form of `read transposed` with a per-channel gate: per chunk
// of 32 tokens and query head, Y S^T (a contraction over V into [32, K])
// scaled by exp(Gc), plus the in-chunk part sum_j (y_i . v_j) Gamma_ij k_j:
// P = Y V^T as a matmul, then per 16-token column block the exact diagonal
// block (a reduction over the block's tokens into [16, K], added to the
// rows) and, for the rows below it, P_block (K_p exp(R - Gc_p)) as a matmul
// scaled by exp(Gc_i - R). Output rows have K = 8 entries.
// CHECK-LABEL: func.func @transposed_vector
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<8x16xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<16x32xf32>) outs(%{{.*}} : tensor<32x32xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins({{.*}} : tensor<16x16xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins({{.*}} : tensor<16x16xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<16x8xf32>)
// CHECK: vector.transfer_write %{{.*}} : vector<8xf32>, tensor<?x2x8xf32>

// The CUDA path runs the same chunked form in one GPU thread per (batch,
// state head).
// GPU: gpu.launch_func
// GPU: gpu.func @transposed_vector_kernel
func.func @transposed_vector(%q: tensor<1x40x2x16xf32>, %k: tensor<1x40x1x8xf32>,
                             %v: tensor<1x40x1x16xf32>, %g: tensor<1x40x1x8xf32>)
    -> (tensor<1x40x2x8xf32>, tensor<1x1x8x16xf32>) {
  %o, %s = mix.recurrence %q, %k, %v gate vector(%g) read transposed
      : (tensor<1x40x2x16xf32>, tensor<1x40x1x8xf32>, tensor<1x40x1x16xf32>,
         tensor<1x40x1x8xf32>)
      -> (tensor<1x40x2x8xf32>, tensor<1x1x8x16xf32>)
  return %o, %s : tensor<1x40x2x8xf32>, tensor<1x1x8x16xf32>
}
