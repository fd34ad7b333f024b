//===- Passes.td - the GPU emulator's pass (test only) -----*- tablegen -*-===//
#ifndef MIXIR_TEST_GPUEMULATION_PASSES_TD
#define MIXIR_TEST_GPUEMULATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def EmulateGPU : Pass<"mix-emulate-gpu", "mlir::ModuleOp"> {
  let summary = "Run outlined GPU kernels on CPU threads (a test tool)";
  let description = [{
    After `convert-chunked-to-gpu` (which outlines them): every kernel
    becomes a host function run by one OpenMP thread per GPU thread, one
    block at a time; `gpu.barrier`, `gpu.shuffle` (xor), `nvgpu.ldmatrix` and
    `nvgpu.mma.sync` call the emulator (GpuEmulator.h: the PTX fragment
    layouts), `cp.async` becomes a synchronous copy with the same zero fill, and device allocations and
    copies become host ones. It checks the kernels' logic against the
    float64 reference on machines without a GPU; it says nothing about
    their speed. Test builds only: the pipeline of the test target
    cuda-emulation runs it (this plugin's mixirTestPluginAddPasses), and
    `mixir-opt --load-pass-plugin=lib/libmixir-gpu-emulation.so` registers
    it.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::LLVM::LLVMDialect",
    "mlir::memref::MemRefDialect", "mlir::omp::OpenMPDialect",
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect"
  ];
}

#endif
