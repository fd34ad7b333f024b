// REQUIRES: cuda-toolkit
// A module with the global form (gate none, on the host) next to LION's
// bidirectional scalar gate (two kernel launches): the CUDA pipeline's PTX
// passes ptxas for sm_80 and sm_90, and mixir-compile --target=cuda emits
// PTX for both kinds of kernels.
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" -o %t.mlir
// RUN: %python %mixir_src/scripts/ptx_report.py %t.mlir --arch sm_80 --arch sm_90 | tee %t.report | FileCheck %s
// RUN: cat %t.report
// RUN: mixir-compile %s --target=cuda --emit=ptx -o %t.ptx
// RUN: FileCheck %s --check-prefix=PTX --input-file=%t.ptx
// CHECK-DAG: sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// PTX: .entry
// PTX: .entry
func.func @global(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x2x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none causal = false normalize
      : (tensor<?x?x4x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x2x64x64xf32>)
  return %o, %s : tensor<?x?x4x64xbf16>, tensor<?x2x64x64xf32>
}

func.func @lion(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) causal = false
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2xf32>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o, %s : tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>
}
