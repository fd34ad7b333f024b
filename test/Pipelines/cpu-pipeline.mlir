// RUN: mixir-opt %s --mixir-cpu-pipeline=chunk-size=0 | FileCheck %s
// RUN: mixir-opt %s --mixir-cpu-pipeline=chunk-size=0 | FileCheck %s --check-prefix=LEFT
// RUN: mixir-opt %s --mixir-cpu-pipeline | FileCheck %s --check-prefix=LEFT
// The CHECK lines follow the recurrent forms (chunk-size=0); the chunked
// forms (the default) must leave nothing outside the llvm dialect either.

// --mixir-cpu-pipeline takes every mix op, in every form, down to the llvm
// dialect: no op of any other dialect may remain anywhere in the output (the
// LEFT run has only NOT directives, so they apply to the whole output), and
// each function becomes an llvm.func.
// LEFT-NOT: {{[ "](mix|scf|memref|tensor|bufferization|linalg|vector|arith|math|affine|index|cf|func|ub)\.[a-z_]+}}
// LEFT-NOT: unrealized_conversion_cast

// The run-time shape check survives as a call through the C interface of the
// runtime's mixrtShapeError, with its messages as LLVM constant globals.
// CHECK-DAG: llvm.func @malloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.mlir.global private constant @mix_shape_message{{.*}}(dense<[{{[0-9, ]+}}]> : tensor<{{[0-9]+}}xi8>) {addr_space = 0 : i32} : !llvm.array<{{[0-9]+}} x i8>
// CHECK-DAG: llvm.func @_mlir_ciface_mixrtShapeError(!llvm.ptr, i64, i64)
// CHECK-DAG: llvm.func private @mixrtShapeError(
// CHECK-DAG: llvm.call @_mlir_ciface_mixrtShapeError(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, i64) -> ()

// CHECK-LABEL: llvm.func @linear_attention(
// CHECK-DAG: llvm.call @mixrtShapeError(
// exp is a polynomial (fused multiply-adds), not a libm call.
// CHECK-DAG: llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (f32, f32, f32) -> f32
// CHECK-DAG: llvm.intr.fmuladd(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// CHECK-DAG: llvm.call @malloc
// CHECK: llvm.return %{{.*}} : !llvm.struct<(struct<(ptr, ptr, i64, array<4 x i64>, array<4 x i64>)>, struct<(ptr, ptr, i64, array<4 x i64>, array<4 x i64>)>)>
func.func @linear_attention(%q: tensor<?x?x2x16xbf16>, %k: tensor<?x?x2x16xbf16>, %v: tensor<?x?x2x32xbf16>,
                            %g: tensor<?x?x2x16xf32>, %s0: tensor<?x2x16x32xf32>)
    -> (tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g) init(%s0) scale = 0.125
      : (tensor<?x?x2x16xbf16>, tensor<?x?x2x16xbf16>, tensor<?x?x2x32xbf16>, tensor<?x?x2x16xf32>, tensor<?x2x16x32xf32>)
      -> (tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>)
  return %o, %s : tensor<?x?x2x32xbf16>, tensor<?x2x16x32xf32>
}

// CHECK-LABEL: llvm.func @linear_attention_gqa_static(
// CHECK-NOT: llvm.call @mixrtShapeError
// CHECK: llvm.return
func.func @linear_attention_gqa_static(%q: tensor<1x8x4x16xf32>, %k: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x16xf32>,
                                       %g: tensor<2xf32>)
    -> (tensor<1x8x4x16xf32>, tensor<1x2x16x16xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<1x8x4x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x8x4x16xf32>, tensor<1x2x16x16xf32>)
  return %o, %s : tensor<1x8x4x16xf32>, tensor<1x2x16x16xf32>
}

// CHECK-LABEL: llvm.func @delta_rule(
// CHECK-DAG: llvm.intr.sqrt
// CHECK-DAG: llvm.intr.vector.reduce.fadd
// CHECK-DAG: llvm.fpext %{{.*}} : vector<16xf16> to vector<16xf32>
// CHECK-DAG: llvm.fptrunc %{{.*}} : vector<16xf32> to vector<16xf16>
// CHECK: llvm.return
func.func @delta_rule(%q: tensor<?x?x2x16xf16>, %k: tensor<?x?x2x16xf16>, %v: tensor<?x?x2x16xf16>,
                      %beta: tensor<?x?x2xf16>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x16xf16>, tensor<?x2x16x16xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm allow_neg_eigval
      : (tensor<?x?x2x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2xf16>, tensor<?x?x2xf32>)
      -> (tensor<?x?x2x16xf16>, tensor<?x2x16x16xf32>)
  return %o, %s : tensor<?x?x2x16xf16>, tensor<?x2x16x16xf32>
}

// CHECK-LABEL: llvm.func @attention(
// The running max (arith.maximumf) is expanded to fcmp + select.
// CHECK-DAG: llvm.fcmp
// CHECK-DAG: llvm.intr.vector.reduce.fadd
// CHECK-DAG: llvm.intr.fma
// CHECK-DAG: llvm.fdiv
// CHECK: llvm.return
func.func @attention(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>, %g: tensor<?x?x4xf32>)
    -> tensor<?x?x4x8xf32> {
  %o = mix.attention %q, %k, %v forget(%g) causal window = 16
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4x8xf32>
  return %o : tensor<?x?x4x8xf32>
}

// CHECK-LABEL: llvm.func @attention_cross_bf16(
// CHECK: llvm.return
func.func @attention_cross_bf16(%q: tensor<2x4x2x16xbf16>, %k: tensor<2x?x2x16xbf16>, %v: tensor<2x?x2x16xbf16>)
    -> tensor<2x4x2x16xbf16> {
  %o = mix.attention %q, %k, %v
      : (tensor<2x4x2x16xbf16>, tensor<2x?x2x16xbf16>, tensor<2x?x2x16xbf16>) -> tensor<2x4x2x16xbf16>
  return %o : tensor<2x4x2x16xbf16>
}

// CHECK-LABEL: llvm.func @scan(
// CHECK-DAG: llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<64xf32>, vector<64xf32>, vector<64xf32>) -> vector<64xf32>
// CHECK-DAG: llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<36xf32>, vector<36xf32>, vector<36xf32>) -> vector<36xf32>
// CHECK: llvm.return
func.func @scan(%x: tensor<?x?x100xbf16>, %g: tensor<?x?x100xf32>, %h0: tensor<?x100xf32>)
    -> (tensor<?x?x100xbf16>, tensor<?x100xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<?x?x100xbf16>, tensor<?x?x100xf32>, tensor<?x100xf32>) -> (tensor<?x?x100xbf16>, tensor<?x100xf32>)
  return %o, %h : tensor<?x?x100xbf16>, tensor<?x100xf32>
}
