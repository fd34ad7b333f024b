// RUN: mixir-opt %s --split-input-file --mix-raise | FileCheck %s

// mix-raise on the linalg form the importers emit (generated with
// `mixir-import-onnx --no-raise`). Positive cases become mix ops; a mask with
// one entry above the diagonal stays as it is.

// CHECK-LABEL: func.func @linear_causal
// CHECK-COUNT-3: linalg.transpose {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[O:.*]], %{{.*}} = mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none scale = 1.000000e+00
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[O]]
// CHECK: return %[[R]]

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @linear_causal(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x2x4x8xf32>, %arg2: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<1x2x4x8xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 1, 3, 2] 
    %cst = arith.constant 0.000000e+00 : f32
    %1 = tensor.empty() : tensor<1x2x4x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %transposed : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%2 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.mulf %in, %in_2 : f32
      %10 = arith.addf %out, %9 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_0 = arith.constant dense<[[1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<4x4xf32>
    %4 = tensor.empty() : tensor<1x2x4x4xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_0 : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%4 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.mulf %in, %in_2 : f32
      linalg.yield %9 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %6 = tensor.empty() : tensor<1x2x4x8xf32>
    %7 = linalg.fill ins(%cst_1 : f32) outs(%6 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %8 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%5, %arg2 : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%7 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.mulf %in, %in_2 : f32
      %10 = arith.addf %out, %9 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4x8xf32>
    return %8 : tensor<1x2x4x8xf32>
  }


// -----

// CHECK-LABEL: func.func @softmax_causal
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal scale = 5.000000e-01
// CHECK-SAME: -> tensor<1x4x2x8xf32>

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> ()>
#map5 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @softmax_causal(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x2x4x8xf32>, %arg2: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<1x2x4x8xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 1, 3, 2] 
    %cst = arith.constant 0.000000e+00 : f32
    %1 = tensor.empty() : tensor<1x2x4x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %transposed : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%2 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_0 = arith.constant dense<5.000000e-01> : tensor<f32>
    %4 = tensor.empty() : tensor<1x2x4x4xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_0 : tensor<1x2x4x4xf32>, tensor<f32>) outs(%4 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_1 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
    %6 = tensor.empty() : tensor<1x2x4x4xf32>
    %7 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %cst_1 : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%6 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.addf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %8 = tensor.empty() : tensor<1x2x4x4xf32>
    %9 = linalg.softmax dimension(3) ins(%7 : tensor<1x2x4x4xf32>) outs(%8 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %10 = tensor.empty() : tensor<1x2x4x8xf32>
    %11 = linalg.fill ins(%cst_2 : f32) outs(%10 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%9, %arg2 : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%11 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x8xf32>
    return %12 : tensor<1x2x4x8xf32>
  }


// -----

// CHECK-LABEL: func.func @softmax_softcap
// Gemma 2's soft-cap: 50 * tanh(0.5 q.k / 50), then the causal mask.
// CHECK: mix.attention %{{.*}}, %{{.*}}, %{{.*}} causal scale = 5.000000e-01 softcap = 5.000000e+01
// CHECK-SAME: -> tensor<1x4x2x8xf32>

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> ()>
#map5 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @softmax_softcap(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x2x4x8xf32>, %arg2: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<1x2x4x8xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 1, 3, 2] 
    %cst = arith.constant 0.000000e+00 : f32
    %1 = tensor.empty() : tensor<1x2x4x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %transposed : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%2 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_0 = arith.constant dense<5.000000e-01> : tensor<f32>
    %4 = tensor.empty() : tensor<1x2x4x4xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_0 : tensor<1x2x4x4xf32>, tensor<f32>) outs(%4 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %cap = arith.constant dense<5.000000e+01> : tensor<f32>
    %c0 = tensor.empty() : tensor<1x2x4x4xf32>
    %c1 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %cap : tensor<1x2x4x4xf32>, tensor<f32>) outs(%c0 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.divf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %c2 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c1 : tensor<1x2x4x4xf32>) outs(%c0 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %13 = math.tanh %in : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %c3 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c2, %cap : tensor<1x2x4x4xf32>, tensor<f32>) outs(%c0 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_1 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
    %6 = tensor.empty() : tensor<1x2x4x4xf32>
    %7 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c3, %cst_1 : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%6 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.addf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %8 = tensor.empty() : tensor<1x2x4x4xf32>
    %9 = linalg.softmax dimension(3) ins(%7 : tensor<1x2x4x4xf32>) outs(%8 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %10 = tensor.empty() : tensor<1x2x4x8xf32>
    %11 = linalg.fill ins(%cst_2 : f32) outs(%10 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%9, %arg2 : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%11 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x8xf32>
    return %12 : tensor<1x2x4x8xf32>
  }


// -----

// CHECK-LABEL: func.func @softmax_mask_inside_softcap
// The mask added inside the tanh no longer masks (tanh(-1e9) = -1): no
// mix.attention.
// CHECK-NOT: mix.attention
// CHECK: math.tanh

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> ()>
#map5 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @softmax_mask_inside_softcap(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x2x4x8xf32>, %arg2: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<1x2x4x8xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 1, 3, 2] 
    %cst = arith.constant 0.000000e+00 : f32
    %1 = tensor.empty() : tensor<1x2x4x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %transposed : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%2 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_0 = arith.constant dense<5.000000e-01> : tensor<f32>
    %4 = tensor.empty() : tensor<1x2x4x4xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_0 : tensor<1x2x4x4xf32>, tensor<f32>) outs(%4 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_1 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
    %6 = tensor.empty() : tensor<1x2x4x4xf32>
    %7 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %cst_1 : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%6 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.addf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %cap = arith.constant dense<5.000000e+01> : tensor<f32>
    %c0 = tensor.empty() : tensor<1x2x4x4xf32>
    %c1 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%7, %cap : tensor<1x2x4x4xf32>, tensor<f32>) outs(%c0 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.divf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %c2 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c1 : tensor<1x2x4x4xf32>) outs(%c0 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %13 = math.tanh %in : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %c3 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c2, %cap : tensor<1x2x4x4xf32>, tensor<f32>) outs(%c0 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %8 = tensor.empty() : tensor<1x2x4x4xf32>
    %9 = linalg.softmax dimension(3) ins(%c3 : tensor<1x2x4x4xf32>) outs(%8 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %10 = tensor.empty() : tensor<1x2x4x8xf32>
    %11 = linalg.fill ins(%cst_2 : f32) outs(%10 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%9, %arg2 : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%11 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x8xf32>
    return %12 : tensor<1x2x4x8xf32>
  }


// -----

// CHECK-LABEL: func.func @softmax_keys_by_token
// K arrives as [B, T, H, D] and K^T as one transpose to [B, H, D, T]
// (torch.onnx's `k.transpose(1, 2).transpose(-1, -2)`, GPT-2 eager).
// CHECK: %[[K:.*]] = linalg.transpose ins(%arg1 : tensor<1x4x2x8xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[KM:.*]] = linalg.transpose ins(%[[K]] : tensor<1x2x4x8xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK: mix.attention %{{.*}}, %[[KM]], %{{.*}} causal scale = 5.000000e-01
// CHECK-SAME: -> tensor<1x4x2x8xf32>

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> ()>
#map5 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @softmax_keys_by_token(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x4x2x8xf32>, %arg2: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<1x4x2x8xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 2, 3, 1] 
    %cst = arith.constant 0.000000e+00 : f32
    %1 = tensor.empty() : tensor<1x2x4x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %transposed : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%2 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_0 = arith.constant dense<5.000000e-01> : tensor<f32>
    %4 = tensor.empty() : tensor<1x2x4x4xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_0 : tensor<1x2x4x4xf32>, tensor<f32>) outs(%4 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_1 = arith.constant dense<[[0.000000e+00, -1.000000e+09, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, -1.000000e+09, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+09], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
    %6 = tensor.empty() : tensor<1x2x4x4xf32>
    %7 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %cst_1 : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%6 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.addf %in, %in_3 : f32
      linalg.yield %13 : f32
    } -> tensor<1x2x4x4xf32>
    %8 = tensor.empty() : tensor<1x2x4x4xf32>
    %9 = linalg.softmax dimension(3) ins(%7 : tensor<1x2x4x4xf32>) outs(%8 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %10 = tensor.empty() : tensor<1x2x4x8xf32>
    %11 = linalg.fill ins(%cst_2 : f32) outs(%10 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%9, %arg2 : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%11 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %13 = arith.mulf %in, %in_3 : f32
      %14 = arith.addf %out, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x4x8xf32>
    return %12 : tensor<1x2x4x8xf32>
  }


// -----

// CHECK-LABEL: func.func @not_causal
// CHECK-NOT: mix.
// CHECK: linalg.transpose
// CHECK-NOT: mix.
// CHECK: return

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
func.func @not_causal(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x2x4x8xf32>, %arg2: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<1x2x4x8xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 1, 3, 2] 
    %cst = arith.constant 0.000000e+00 : f32
    %1 = tensor.empty() : tensor<1x2x4x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %transposed : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%2 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.mulf %in, %in_2 : f32
      %10 = arith.addf %out, %9 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_0 = arith.constant dense<[[1.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<4x4xf32>
    %4 = tensor.empty() : tensor<1x2x4x4xf32>
    %5 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_0 : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%4 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.mulf %in, %in_2 : f32
      linalg.yield %9 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %6 = tensor.empty() : tensor<1x2x4x8xf32>
    %7 = linalg.fill ins(%cst_1 : f32) outs(%6 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %8 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%5, %arg2 : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%7 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.mulf %in, %in_2 : f32
      %10 = arith.addf %out, %9 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4x8xf32>
    return %8 : tensor<1x2x4x8xf32>
  }

// -----

// torch.onnx's SDPA decomposition (opset < 23) after transformers' repeat_kv,
// as `mixir-import-onnx --no-raise` emits it: K and V [1, 1, 4, 8] copied to
// 2 heads (unsqueeze, expand, reshape); K^T by reshape to [-1, T, D],
// transpose and reshape back; Q and K^T each times sqrt(scale); additive
// causal mask; where(isnan(p), 0, p). One mix.attention on the shared head.

// CHECK-LABEL: func.func @torch_sdpa_gqa
// CHECK: %[[O:.*]] = mix.attention {{.*}} causal scale = 2.500000e-01 : (tensor<1x4x2x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>) -> tensor<1x4x2x8xf32>
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[O]]
// CHECK: return %[[R]]

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> ()>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map6 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map7 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
module {
  func.func @torch_sdpa_gqa(%arg0: tensor<1x2x4x8xf32>, %arg1: tensor<1x1x4x8xf32>, %arg2: tensor<1x1x4x8xf32>) -> tensor<1x2x4x8xf32> {
    %expanded = tensor.expand_shape %arg1 [[0], [1], [2, 3], [4]] output_shape [1, 1, 1, 4, 8] : tensor<1x1x4x8xf32> into tensor<1x1x1x4x8xf32>
    %0 = tensor.empty() : tensor<1x1x2x4x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x1x1x4x8xf32>) outs(%0 : tensor<1x1x2x4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x1x2x4x8xf32>
    %expanded_0 = tensor.expand_shape %arg2 [[0], [1], [2, 3], [4]] output_shape [1, 1, 1, 4, 8] : tensor<1x1x4x8xf32> into tensor<1x1x1x4x8xf32>
    %2 = tensor.empty() : tensor<1x1x2x4x8xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded_0 : tensor<1x1x1x4x8xf32>) outs(%2 : tensor<1x1x2x4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x1x2x4x8xf32>
    %collapsed = tensor.collapse_shape %3 [[0], [1, 2], [3], [4]] : tensor<1x1x2x4x8xf32> into tensor<1x2x4x8xf32>
    %collapsed_1 = tensor.collapse_shape %1 [[0, 1, 2], [3], [4]] : tensor<1x1x2x4x8xf32> into tensor<2x4x8xf32>
    %4 = tensor.empty() : tensor<2x8x4xf32>
    %transposed = linalg.transpose ins(%collapsed_1 : tensor<2x4x8xf32>) outs(%4 : tensor<2x8x4xf32>) permutation = [0, 2, 1] 
    %expanded_2 = tensor.expand_shape %transposed [[0, 1], [2], [3]] output_shape [1, 2, 8, 4] : tensor<2x8x4xf32> into tensor<1x2x8x4xf32>
    %cst = arith.constant dense<5.000000e-01> : tensor<f32>
    %5 = tensor.empty() : tensor<1x2x4x8xf32>
    %6 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %cst : tensor<1x2x4x8xf32>, tensor<f32>) outs(%5 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %23 = arith.mulf %in, %in_7 : f32
      linalg.yield %23 : f32
    } -> tensor<1x2x4x8xf32>
    %7 = tensor.empty() : tensor<1x2x8x4xf32>
    %8 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_2, %cst : tensor<1x2x8x4xf32>, tensor<f32>) outs(%7 : tensor<1x2x8x4xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %23 = arith.mulf %in, %in_7 : f32
      linalg.yield %23 : f32
    } -> tensor<1x2x8x4xf32>
    %cst_3 = arith.constant 0.000000e+00 : f32
    %9 = tensor.empty() : tensor<1x2x4x4xf32>
    %10 = linalg.fill ins(%cst_3 : f32) outs(%9 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %11 = linalg.generic {indexing_maps = [#map4, #map5, #map6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%6, %8 : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) outs(%10 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %23 = arith.mulf %in, %in_7 : f32
      %24 = arith.addf %out, %23 : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_4 = arith.constant dense<[[[[0.000000e+00, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.000000e+00, 0.000000e+00, -3.40282347E+38, -3.40282347E+38], [0.000000e+00, 0.000000e+00, 0.000000e+00, -3.40282347E+38], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]]]> : tensor<1x1x4x4xf32>
    %12 = tensor.empty() : tensor<1x2x4x4xf32>
    %13 = linalg.generic {indexing_maps = [#map2, #map7, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%11, %cst_4 : tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) outs(%12 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %23 = arith.addf %in, %in_7 : f32
      linalg.yield %23 : f32
    } -> tensor<1x2x4x4xf32>
    %14 = tensor.empty() : tensor<1x2x4x4xf32>
    %15 = linalg.softmax dimension(3) ins(%13 : tensor<1x2x4x4xf32>) outs(%14 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %16 = tensor.empty() : tensor<1x2x4x4xi1>
    %17 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15 : tensor<1x2x4x4xf32>) outs(%16 : tensor<1x2x4x4xi1>) {
    ^bb0(%in: f32, %out: i1):
      %23 = arith.cmpf uno, %in, %in : f32
      linalg.yield %23 : i1
    } -> tensor<1x2x4x4xi1>
    %cst_5 = arith.constant dense<0.000000e+00> : tensor<f32>
    %18 = tensor.empty() : tensor<1x2x4x4xf32>
    %19 = linalg.generic {indexing_maps = [#map2, #map3, #map2, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%17, %cst_5, %15 : tensor<1x2x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) outs(%18 : tensor<1x2x4x4xf32>) {
    ^bb0(%in: i1, %in_7: f32, %in_8: f32, %out: f32):
      %23 = arith.select %in, %in_7, %in_8 : f32
      linalg.yield %23 : f32
    } -> tensor<1x2x4x4xf32>
    %cst_6 = arith.constant 0.000000e+00 : f32
    %20 = tensor.empty() : tensor<1x2x4x8xf32>
    %21 = linalg.fill ins(%cst_6 : f32) outs(%20 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %22 = linalg.generic {indexing_maps = [#map4, #map5, #map6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%19, %collapsed : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%21 : tensor<1x2x4x8xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %23 = arith.mulf %in, %in_7 : f32
      %24 = arith.addf %out, %23 : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x4x8xf32>
    return %22 : tensor<1x2x4x8xf32>
  }
}

// -----

// The same chain spelled with named ops: K^T read by the score contraction's
// own indexing map (linalg.batch_matmul with a transposed rhs), P V as a
// plain linalg.batch_matmul. mix-raise matches what they compute.

// CHECK-LABEL: func.func @linear_causal_named
// CHECK: tensor.expand_shape
// CHECK: %[[O:.*]], %{{.*}} = mix.linear_attention %{{.*}}, %{{.*}}, %{{.*}} gate none scale = 1.000000e+00
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]]
// CHECK: return %[[R]]

#mapq = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#mapk = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#mapo = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#m2 = affine_map<(d0, d1, d2) -> (d1, d2)>
func.func @linear_causal_named(%q: tensor<2x5x3xf32>, %k: tensor<2x5x3xf32>, %v: tensor<2x5x7xf32>) -> tensor<2x5x7xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e0 = tensor.empty() : tensor<2x5x5xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x5x5xf32>) -> tensor<2x5x5xf32>
  %s = linalg.batch_matmul indexing_maps = [#mapq, #mapk, #mapo] ins(%q, %k : tensor<2x5x3xf32>, tensor<2x5x3xf32>) outs(%f0 : tensor<2x5x5xf32>) -> tensor<2x5x5xf32>
  %mask = arith.constant dense<[[1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]]> : tensor<5x5xf32>
  %e1 = tensor.empty() : tensor<2x5x5xf32>
  %p = linalg.generic {indexing_maps = [#id3, #m2, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %mask : tensor<2x5x5xf32>, tensor<5x5xf32>) outs(%e1 : tensor<2x5x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x5x5xf32>
  %e2 = tensor.empty() : tensor<2x5x7xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x5x5xf32>, tensor<2x5x7xf32>) outs(%f2 : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  return %o : tensor<2x5x7xf32>
}
