// RUN: mixir-opt %s --mixir-cpu-pipeline="chunk-size=64 amx=true" | FileCheck %s
// RUN: mixir-opt %s --mixir-cpu-pipeline="chunk-size=64 amx=false" | FileCheck %s --check-prefix=F32
// RUN: not mixir-opt %s --mixir-cpu-pipeline="amx=yes" 2>&1 | FileCheck %s --check-prefix=BAD

// With amx (set from the host unless given), bf16 linear attention's tile
// products become AMX tile loads, tdpbf16ps and tile stores in the LLVM
// dialect (the packed operand on the heap); without it, f32 FMAs.
// CHECK-LABEL: llvm.func @mixer
// CHECK: llvm.call_intrinsic "llvm.x86.tileloadd64.internal"
// CHECK: llvm.call_intrinsic "llvm.x86.tdpbf16ps.internal"
// CHECK: llvm.call_intrinsic "llvm.x86.tilestored64.internal"
// F32-LABEL: llvm.func @mixer
// F32-NOT: llvm.x86.t
// F32: llvm.intr.fma
// BAD: amx must be host, true or false, got 'yes'
func.func @mixer(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>, %g: tensor<?x?x2xf32>) -> tensor<?x?x2x64xbf16> {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2xf32>) -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o : tensor<?x?x2x64xbf16>
}
