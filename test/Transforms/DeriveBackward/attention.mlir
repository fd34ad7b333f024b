// RUN: mixir-opt %s --mix-derive-backward | FileCheck %s
// RUN: mixir-opt %s --mix-derive-backward --convert-mix-to-chunked=chunk-size=16 | FileCheck %s --check-prefix=FLASH

// The backward of softmax attention is one mix.attention_grad with the
// forward's operands and attributes (the flash-attention backward). The key
// and value gradients come per query head and are summed over the 2 query
// heads of each key head (GQA); the forget gate's gradient is the reverse
// cumulative sum (a mix.scan over reversed time) of dG.
// CHECK-LABEL: func.func @fox_backward(
// CHECK-SAME:    %[[Q:[a-z0-9]+]]: tensor<?x?x4x60xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x2x60xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x2x60xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x4xf32>, %[[DO:[a-z0-9]+]]: tensor<?x?x4x60xf32>)
// CHECK-NOT:     mix.attention %
// CHECK:         %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]], %[[DG:.*]] = mix.attention_grad %[[Q]], %[[K]], %[[V]], %[[DO]] forget(%[[G]]) causal window = 128 scale = 1.250000e-01
// CHECK-SAME:      -> (tensor<?x?x4x60xf32>, tensor<?x?x4x60xf32>, tensor<?x?x4x60xf32>, tensor<?x?x4xf32>)
// CHECK:         tensor.expand_shape %[[DK]]
// CHECK:         linalg.generic
// CHECK:         mix.scan
// CHECK:         return %[[DQ]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x4x60xf32>, tensor<?x?x2x60xf32>, tensor<?x?x2x60xf32>, tensor<?x?x4xf32>

// After convert-mix-to-chunked the backward is the flash form: one forall
// over (batch, query head) with the forward's online softmax (exp, max),
// then dq per query block and dk, dv per key block.
// FLASH-LABEL: func.func @fox_backward(
// FLASH-NOT:     mix.attention_grad
// FLASH:         scf.forall
// FLASH:         math.log
// FLASH:         linalg.matmul
// FLASH:         scf.forall.in_parallel
func.func @fox(%q: tensor<?x?x4x60xf32>, %k: tensor<?x?x2x60xf32>, %v: tensor<?x?x2x60xf32>, %g: tensor<?x?x4xf32>) -> tensor<?x?x4x60xf32> attributes {mix.derive_backward} {
  %o = mix.attention %q, %k, %v forget(%g) causal window = 128 scale = 0.125 : (tensor<?x?x4x60xf32>, tensor<?x?x2x60xf32>, tensor<?x?x2x60xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4x60xf32>
  return %o : tensor<?x?x4x60xf32>
}

// bf16 inputs: the cotangent stays bf16 into the op, the gradients (f32)
// are cast back to bf16; soft-cap and block pass through.
// CHECK-LABEL: func.func @capped_backward(
// CHECK:         mix.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} block = 32 softcap = 3.000000e+01
// CHECK-SAME:      (tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>) -> (tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>)
// CHECK:         arith.truncf
// CHECK:         return {{.*}} : tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>
func.func @capped(%q: tensor<1x?x2x64xbf16>, %k: tensor<1x?x2x64xbf16>, %v: tensor<1x?x2x64xbf16>) -> tensor<1x?x2x64xbf16> attributes {mix.derive_backward} {
  %o = mix.attention %q, %k, %v block = 32 softcap = 30.0 : (tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2x64xbf16>) -> tensor<1x?x2x64xbf16>
  return %o : tensor<1x?x2x64xbf16>
}
