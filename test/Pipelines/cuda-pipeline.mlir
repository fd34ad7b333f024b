// REQUIRES: cuda-toolkit
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" -o %t.mlir
// RUN: FileCheck %s --check-prefix=HOST < %t.mlir
// RUN: %python %mixir_src/scripts/ptx_report.py --print-ptx %t.mlir | FileCheck %s --check-prefix=PTX
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_90a format=isa" | FileCheck %s --check-prefix=SM90

// The host function allocates, copies and launches through the mgpu*
// runtime calls; the kernel (the chunked form on a block of 128 threads,
// tile products on the tensor cores) is embedded as PTX.
// HOST: llvm.func @la(
// HOST: llvm.call @mgpuStreamCreate
// HOST: llvm.call @mgpuMemAlloc
// HOST: llvm.call @mgpuMemcpy
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @la_kernel::@la_kernel
// HOST: llvm.call @mgpuMemFree
// HOST: llvm.call @mgpuStreamSynchronize
// HOST: gpu.binary @la_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">

// PTX: .target sm_80
// PTX: .entry la_kernel(
// PTX: .maxntid 128, 1, 1
// PTX: bar.sync 0;
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// No unresolved libdevice calls (exp comes from libdevice, inlined).
// PTX-NOT: .extern .func

// SM90: #nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// SM90-SAME: .target sm_90a

func.func @la(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
              %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4xf32>,
              %s0: tensor<?x4x128x128xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) init(%s0)
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>,
         tensor<?x?x4xf32>, tensor<?x4x128x128xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>)
  return %o, %s : tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>
}
