// REQUIRES: cuda-toolkit
// mix.rnn's kernels (one thread block per (batch, head), the head's weights
// in shared memory) at D = 64 pass ptxas for sm_80 and sm_90 without
// register spills; the 32 KiB of bf16 or f16 weights (24 KiB for GRU) and
// the f32 tiles are the shared memory. The report lines show in lit -v.
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" -o %t.mlir
// RUN: %python %mixir_src/scripts/ptx_report.py %t.mlir --arch sm_80 --arch sm_90 | tee %t.report | FileCheck %s
// RUN: cat %t.report

// CHECK-DAG: lstm_bf16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0 smem={{3[3-4][0-9][0-9][0-9]}}
// CHECK-DAG: lstm_bf16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: gru_f16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: gru_f16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: slstm_bf16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: slstm_bf16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0

func.func @lstm_bf16(%wx: tensor<?x?x4x4x64xbf16>, %r: tensor<4x4x64x64xbf16>,
                     %b: tensor<4x4x64xbf16>, %h0: tensor<?x4x64xf32>,
                     %c0: tensor<?x4x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>) {
  %h, %s:2 = mix.rnn lstm %wx, %r bias(%b) init(%h0, %c0)
      : (tensor<?x?x4x4x64xbf16>, tensor<4x4x64x64xbf16>, tensor<4x4x64xbf16>,
         tensor<?x4x64xf32>, tensor<?x4x64xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>)
  return %h, %s#0, %s#1 : tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>
}

func.func @gru_f16(%wx: tensor<?x?x2x3x64xf16>, %r: tensor<2x3x64x64xf16>,
                   %b: tensor<2x3x64xf16>)
    -> (tensor<?x?x2x64xf16>, tensor<?x2x64xf32>) {
  %h, %s = mix.rnn gru %wx, %r bias(%b)
      : (tensor<?x?x2x3x64xf16>, tensor<2x3x64x64xf16>, tensor<2x3x64xf16>)
      -> (tensor<?x?x2x64xf16>, tensor<?x2x64xf32>)
  return %h, %s : tensor<?x?x2x64xf16>, tensor<?x2x64xf32>
}

func.func @slstm_bf16(%wx: tensor<?x?x4x4x64xbf16>, %r: tensor<4x4x64x64xbf16>)
    -> tensor<?x?x4x64xbf16> {
  %h, %s:4 = mix.rnn slstm %wx, %r
      : (tensor<?x?x4x4x64xbf16>, tensor<4x4x64x64xbf16>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>,
          tensor<?x4x64xf32>, tensor<?x4x64xf32>)
  return %h : tensor<?x?x4x64xbf16>
}
