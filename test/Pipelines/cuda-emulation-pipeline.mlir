// --mixir-cuda-emulation-pipeline alone (the test target; MIXIR_TEST_PLUGIN
// names the plugin in every RUN line): the CUDA kernels, emulated on CPU
// threads, and the host code all end in the llvm dialect, with OpenMP teams
// for the blocks.
// RUN: mixir-opt %s --mixir-cuda-emulation-pipeline | FileCheck %s
// RUN: mixir-opt %s --mixir-cuda-emulation-pipeline | FileCheck %s --check-prefix=LEFT

// Nothing outside the llvm and omp dialects remains, no GPU op in
// particular (the LEFT run has only NOT directives: they cover the output).
// LEFT-NOT: {{[ "](mix|gpu|nvgpu|nvvm|scf|memref|tensor|bufferization|linalg|vector|arith|math|affine|index|cf|func|ub)\.[a-z_]+}}
// LEFT-NOT: unrealized_conversion_cast

// CHECK-DAG: llvm.func @_mlir_ciface_mixEmuBeginBlock(i64)
// CHECK-DAG: llvm.func @_mlir_ciface_mixEmuEndBlock()
// CHECK-DAG: llvm.func @_mlir_ciface_mixEmuBeginThread(i64, i64) -> i64
// CHECK-DAG: llvm.func @__kmpc_bound_thread_num(!llvm.ptr) -> i32

// The host function launches every block of the scan kernel as one OpenMP
// team, each thread calling the emulated kernel.
// CHECK-LABEL: llvm.func @scan(
// CHECK: llvm.call @mixEmuBeginBlock(
// CHECK: omp.parallel num_threads(
// CHECK: llvm.call @mixEmuBeginThread(
// CHECK: llvm.call @[[KERNEL:.*_emulated]](
// CHECK: omp.terminator
// CHECK: llvm.call @mixEmuEndBlock()
// CHECK: llvm.func @[[KERNEL]](
func.func @scan(%x: tensor<?x?x256xbf16>, %g: tensor<?x?x256xf32>)
    -> (tensor<?x?x256xbf16>, tensor<?x256xf32>) {
  %o, %s = mix.scan %x, %g
      : (tensor<?x?x256xbf16>, tensor<?x?x256xf32>)
      -> (tensor<?x?x256xbf16>, tensor<?x256xf32>)
  return %o, %s : tensor<?x?x256xbf16>, tensor<?x256xf32>
}
