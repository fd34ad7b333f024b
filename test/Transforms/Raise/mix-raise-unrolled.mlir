// RUN: mixir-opt %s --split-input-file --mix-raise --report-raising -o /dev/null 2>&1 | FileCheck %s --implicit-check-not=mix-raise:
// RUN: mixir-opt %s --split-input-file --mix-raise 2>&1 >/dev/null | count 0

// Recurrences an exporter unrolled (torch.onnx traces Python loops): the
// pieces of one tensor, written by insert_slice after insert_slice at
// consecutive offsets along one dim, each computed from the piece before
// it. mix-raise does not re-roll them; --report-raising names them once,
// at the first write. Pieces that do not depend on each other print
// nothing.

#id = affine_map<(b, d) -> (b, d)>
// h_t = a_t * h_{t-1} + x_t for t = 0..4, written at t along dim 1 (what
// RecurrentGemma's RG-LRU loop exports to).
func.func @per_token(%a: tensor<1x5x3xf32>, %x: tensor<1x5x3xf32>) -> tensor<1x5x3xf32> {
  %e = tensor.empty() : tensor<1x3xf32>
  %out0 = tensor.empty() : tensor<1x5x3xf32>
  %h0 = arith.constant dense<0.0> : tensor<1x3xf32>
  %a0 = tensor.extract_slice %a[0, 0, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %x0 = tensor.extract_slice %x[0, 0, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %h1 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a0, %h0, %x0 : tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>) outs(%e : tensor<1x3xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32>
  // CHECK: mix-raise-unrolled.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: unrolled recurrence: left as is: 5 straight-line copies of a step, each writing one position (a tensor<1x3xf32> piece) of tensor<1x5x3xf32> along dim 1 from what the copy before it computed (an exported loop unrolled); not re-rolled into a loop, so not raised
  %o1 = tensor.insert_slice %h1 into %out0[0, 0, 0] [1, 1, 3] [1, 1, 1] : tensor<1x3xf32> into tensor<1x5x3xf32>
  %a1 = tensor.extract_slice %a[0, 1, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %x1 = tensor.extract_slice %x[0, 1, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %h2 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a1, %h1, %x1 : tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>) outs(%e : tensor<1x3xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32>
  %o2 = tensor.insert_slice %h2 into %o1[0, 1, 0] [1, 1, 3] [1, 1, 1] : tensor<1x3xf32> into tensor<1x5x3xf32>
  %a2 = tensor.extract_slice %a[0, 2, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %x2 = tensor.extract_slice %x[0, 2, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %h3 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a2, %h2, %x2 : tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>) outs(%e : tensor<1x3xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32>
  %o3 = tensor.insert_slice %h3 into %o2[0, 2, 0] [1, 1, 3] [1, 1, 1] : tensor<1x3xf32> into tensor<1x5x3xf32>
  %a3 = tensor.extract_slice %a[0, 3, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %x3 = tensor.extract_slice %x[0, 3, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %h4 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a3, %h3, %x3 : tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>) outs(%e : tensor<1x3xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32>
  %o4 = tensor.insert_slice %h4 into %o3[0, 3, 0] [1, 1, 3] [1, 1, 1] : tensor<1x3xf32> into tensor<1x5x3xf32>
  %a4 = tensor.extract_slice %a[0, 4, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %x4 = tensor.extract_slice %x[0, 4, 0] [1, 1, 3] [1, 1, 1] : tensor<1x5x3xf32> to tensor<1x3xf32>
  %h5 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%a4, %h4, %x4 : tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>) outs(%e : tensor<1x3xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32>
  %o5 = tensor.insert_slice %h5 into %o4[0, 4, 0] [1, 1, 3] [1, 1, 1] : tensor<1x3xf32> into tensor<1x5x3xf32>
  return %o5 : tensor<1x5x3xf32>
}

// -----

#id = affine_map<(b, d) -> (b, d)>
// Four pieces of x scaled independently and concatenated: no line.
func.func @independent(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %e = tensor.empty() : tensor<1x2xf32>
  %out0 = tensor.empty() : tensor<1x8xf32>
  %x0 = tensor.extract_slice %x[0, 0] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x0, %x0 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %o1 = tensor.insert_slice %y0 into %out0[0, 0] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  %x1 = tensor.extract_slice %x[0, 2] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x1, %x1 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %o2 = tensor.insert_slice %y1 into %o1[0, 2] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  %x2 = tensor.extract_slice %x[0, 4] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x2, %x2 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %o3 = tensor.insert_slice %y2 into %o2[0, 4] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  %x3 = tensor.extract_slice %x[0, 6] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y3 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x3, %x3 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %o4 = tensor.insert_slice %y3 into %o3[0, 6] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  return %o4 : tensor<1x8xf32>
}

// -----

#id = affine_map<(b, d) -> (b, d)>
// A state carried from block to block (S_c = 0.5 S_{c-1} + x_c, the block
// output y_c = S_{c-1} + x_c), blocks of 2 along dim 1 concatenated: the
// output of block c does not read the output of block c - 1, only the
// state the copy before it computed (MiniMax's lightning-attention carry).
func.func @per_block(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %e = tensor.empty() : tensor<1x2xf32>
  %out0 = tensor.empty() : tensor<1x8xf32>
  %s0 = arith.constant dense<0.0> : tensor<1x2xf32>
  %half = arith.constant dense<0.5> : tensor<1x2xf32>
  %x0 = tensor.extract_slice %x[0, 0] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y0 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%s0, %x0 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.addf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%half, %s0, %x0 : tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  // CHECK: mix-raise-unrolled.mlir":[[@LINE+1]]:{{[0-9]+}}): mix-raise: unrolled recurrence: left as is: 4 straight-line copies of a step, each writing a block of 2 (a tensor<1x2xf32> piece) of tensor<1x8xf32> along dim 1 from what the copy before it computed (an exported loop unrolled); not re-rolled into a loop, so not raised
  %o1 = tensor.insert_slice %y0 into %out0[0, 0] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  %x1 = tensor.extract_slice %x[0, 2] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%s1, %x1 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.addf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%half, %s1, %x1 : tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  %o2 = tensor.insert_slice %y1 into %o1[0, 2] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  %x2 = tensor.extract_slice %x[0, 4] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%s2, %x2 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.addf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %s3 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%half, %s2, %x2 : tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  %o3 = tensor.insert_slice %y2 into %o2[0, 4] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  %x3 = tensor.extract_slice %x[0, 6] [1, 2] [1, 1] : tensor<1x8xf32> to tensor<1x2xf32>
  %y3 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%s3, %x3 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.addf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32>
  %s4 = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%half, %s3, %x3 : tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %m, %r : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32>
  %o4 = tensor.insert_slice %y3 into %o3[0, 6] [1, 2] [1, 1] : tensor<1x2xf32> into tensor<1x8xf32>
  return %o4 : tensor<1x8xf32>
}
