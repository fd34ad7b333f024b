// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32 bf16-products=true" --split-input-file | FileCheck %s
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=32" --split-input-file | FileCheck %s --check-prefix=OFF

// bf16 inputs: every tile product of the chunked form that fills whole AMX
// tiles (16 x 16 results, reductions of 32) takes bf16 operands (the f32
// tiles rounded once) and accumulates in f32. The inter-chunk read
// (Q * exp(Gc)) S, the intra-chunk Q K^T (K transposed first), its product
// with V, and the state update (K^T V, read transposed by the contraction:
// K is transposed into a plain matmul).
// CHECK-LABEL: func.func @scalar_gate
// CHECK:   arith.truncf %{{.*}} : tensor<32x32xf32> to tensor<32x32xbf16>
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x16xbf16>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x32xbf16>) outs(%{{.*}} : tensor<32x32xf32>)
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x16xbf16>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK:   linalg.transpose ins(%{{.*}} : tensor<32x32xf32>) outs(%{{.*}} : tensor<32x32xf32>) permutation = [1, 0]
// CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x16xbf16>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK-NOT: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<{{[0-9x]+}}xf32>, tensor<{{[0-9x]+}}xf32>)
// OFF-LABEL: func.func @scalar_gate
// OFF-NOT:   tensor<32x32xbf16>
// OFF:       linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xf32>, tensor<32x16xf32>)
func.func @scalar_gate(%q: tensor<1x?x2x32xbf16>, %k: tensor<1x?x2x32xbf16>, %v: tensor<1x?x2x16xbf16>, %g: tensor<1x?x2xf32>) -> (tensor<1x?x2x16xbf16>, tensor<1x2x32x16xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) : (tensor<1x?x2x32xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2xf32>) -> (tensor<1x?x2x16xbf16>, tensor<1x2x32x16xf32>)
  return %o, %s : tensor<1x?x2x16xbf16>, tensor<1x2x32x16xf32>
}

// -----

// Products that do not fill whole tiles keep f32 operands: with V = 8 the
// products into 8 columns (the read of S, A V, the state update) stay f32,
// Q K^T (32 x 32 x 32) is narrowed.
// CHECK-LABEL: func.func @narrow_values
// CHECK-DAG: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x32xbf16>) outs(%{{.*}} : tensor<32x32xf32>)
// CHECK-DAG: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<32x8xf32>)
// CHECK-NOT: tensor<32x8xbf16>
// CHECK: return
func.func @narrow_values(%q: tensor<1x?x2x32xbf16>, %v: tensor<1x?x2x8xbf16>) -> tensor<1x?x2x8xbf16> {
  %o, %s = mix.linear_attention %q, %q, %v gate none : (tensor<1x?x2x32xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x2x8xbf16>) -> (tensor<1x?x2x8xbf16>, tensor<1x2x32x8xf32>)
  return %o : tensor<1x?x2x8xbf16>
}

// -----

// Softmax attention: the flash form's Q K^T and P V (P rounded to bf16).
// CHECK-LABEL: func.func @attention
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x32xbf16>) outs(%{{.*}} : tensor<32x32xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x32xbf16>, tensor<32x32xbf16>) outs(%{{.*}} : tensor<32x32xf32>)
func.func @attention(%q: tensor<1x?x2x32xbf16>) -> tensor<1x?x2x32xbf16> {
  %o = mix.attention %q, %q, %q causal : (tensor<1x?x2x32xbf16>, tensor<1x?x2x32xbf16>, tensor<1x?x2x32xbf16>) -> tensor<1x?x2x32xbf16>
  return %o : tensor<1x?x2x32xbf16>
}

// -----

// f32 inputs keep f32 products.
// CHECK-LABEL: func.func @f32_inputs
// CHECK-NOT: bf16
func.func @f32_inputs(%q: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>) -> tensor<1x?x2x8xf32> {
  %o, %s = mix.linear_attention %q, %q, %v gate none : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x2x16x8xf32>)
  return %o : tensor<1x?x2x8xf32>
}

// -----

// The delta rule keeps f32 products (its WY/UT solve, with operands rounded
// to bf16, misses the bf16 error bound): only the row loads are bf16.
// CHECK-LABEL: func.func @delta_rule
// CHECK-NOT: tensor<{{[0-9x]+}}xbf16>
// CHECK: return
func.func @delta_rule(%q: tensor<1x?x1x16xbf16>, %v: tensor<1x?x1x8xbf16>, %beta: tensor<1x?x1xf32>) -> tensor<1x?x1x8xbf16> {
  %o, %s = mix.delta_rule %q, %q, %v, %beta gate none : (tensor<1x?x1x16xbf16>, tensor<1x?x1x16xbf16>, tensor<1x?x1x8xbf16>, tensor<1x?x1xf32>) -> (tensor<1x?x1x8xbf16>, tensor<1x1x16x8xf32>)
  return %o : tensor<1x?x1x8xbf16>
}
