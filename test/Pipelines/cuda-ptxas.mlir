// REQUIRES: cuda-toolkit
// Every kernel the CUDA pipeline emits (the chunked form on blocks of 128
// threads) must pass ptxas for sm_80 and sm_90 without register spills, and
// its SASS must use the tensor cores (HMMA), odd head dims included (their
// tiles padded with zeros); the scan (one kernel: its state rows cut across
// the threads) has no products.
// The report lines (registers, spills, shared memory) show in lit -v.
// RUN: mixir-opt %s --mixir-cuda-pipeline="chip=sm_80 format=isa" -o %t.mlir
// RUN: %python %mixir_src/scripts/ptx_report.py %t.mlir --arch sm_80 --arch sm_90 --sass --allow-no-hmma scan_bf16_kernel | tee %t.report | FileCheck %s
// RUN: cat %t.report

// CHECK-DAG: bf16_scalar_k128_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: bf16_scalar_k128_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: bf16_scalar_k128_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: bf16_scalar_k128_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: f16_head_k64_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: f16_head_k64_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: f16_head_k64_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: f16_head_k64_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: bf16_none_gqa_odd_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: bf16_none_gqa_odd_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: bf16_none_gqa_odd_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: bf16_none_gqa_odd_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: bf16_scalar_k256_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: bf16_scalar_k256_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: bf16_scalar_k256_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: bf16_scalar_k256_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_causal_bf16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_causal_bf16_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_causal_bf16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_causal_bf16_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_window_gqa_f16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_window_gqa_f16_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_window_gqa_f16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_window_gqa_f16_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_softcap_gqa_bf16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_softcap_gqa_bf16_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_softcap_gqa_bf16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_softcap_gqa_bf16_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: gla_vector_k128_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: gla_vector_k128_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: gla_vector_k128_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: gla_vector_k128_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: gated_deltanet_k128_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: gated_deltanet_k128_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: gated_deltanet_k128_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: gated_deltanet_k128_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: deltanet_neg_k64_f16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: deltanet_neg_k64_f16_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: deltanet_neg_k64_f16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: deltanet_neg_k64_f16_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: scan_bf16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: scan_bf16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_forget_bf16_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_forget_bf16_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: attention_forget_bf16_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: attention_forget_bf16_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: two_pass_gdn_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: two_pass_gdn_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: two_pass_gdn_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: two_pass_gdn_kernel sm_90 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: kda_k128_kernel sm_80 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: kda_k128_kernel sm_80 HMMA={{[1-9][0-9]*}}
// CHECK-DAG: kda_k128_kernel sm_90 registers={{[0-9]+}} spill-stores=0 spill-loads=0
// CHECK-DAG: kda_k128_kernel sm_90 HMMA={{[1-9][0-9]*}}

func.func @bf16_scalar_k128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                            %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4xf32>,
                            %s0: tensor<?x4x128x128xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) init(%s0)
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>,
         tensor<?x?x4xf32>, tensor<?x4x128x128xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>)
  return %o, %s : tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>
}

func.func @f16_head_k64(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>,
                        %v: tensor<?x?x8x64xf16>, %g: tensor<8xf32>)
    -> (tensor<?x?x8x64xf16>, tensor<?x8x64x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate head(%g)
      : (tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<8xf32>)
      -> (tensor<?x?x8x64xf16>, tensor<?x8x64x64xf32>)
  return %o, %s : tensor<?x?x8x64xf16>, tensor<?x8x64x64xf32>
}

func.func @bf16_none_gqa_odd(%q: tensor<2x?x8x100xbf16>, %k: tensor<2x?x2x100xbf16>,
                             %v: tensor<2x?x2x60xbf16>)
    -> (tensor<2x?x8x60xbf16>, tensor<2x2x100x60xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x?x8x100xbf16>, tensor<2x?x2x100xbf16>, tensor<2x?x2x60xbf16>)
      -> (tensor<2x?x8x60xbf16>, tensor<2x2x100x60xf32>)
  return %o, %s : tensor<2x?x8x60xbf16>, tensor<2x2x100x60xf32>
}

func.func @bf16_scalar_k256(%q: tensor<1x?x2x256xbf16>, %k: tensor<1x?x2x256xbf16>,
                            %v: tensor<1x?x2x64xbf16>, %g: tensor<1x?x2xbf16>)
    -> (tensor<1x?x2x64xbf16>, tensor<1x2x256x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<1x?x2x256xbf16>, tensor<1x?x2x256xbf16>, tensor<1x?x2x64xbf16>, tensor<1x?x2xbf16>)
      -> (tensor<1x?x2x64xbf16>, tensor<1x2x256x64xf32>)
  return %o, %s : tensor<1x?x2x64xbf16>, tensor<1x2x256x64xf32>
}

func.func @attention_causal_bf16(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                                 %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = mix.attention %q, %k, %v causal
      : (tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}

func.func @attention_window_gqa_f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>,
                                    %v: tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16> {
  %o = mix.attention %q, %k, %v causal window = 512
      : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
  return %o : tensor<?x?x8x64xf16>
}

// Gemma 2's logit soft-cap (tanh on the scores) with a window.
func.func @attention_softcap_gqa_bf16(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>,
                                      %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16> {
  %o = mix.attention %q, %k, %v causal window = 4096 softcap = 50.0
      : (tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}

func.func @gla_vector_k128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                           %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4x128xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate vector(%g)
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>)
  return %o, %s : tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>
}

func.func @gated_deltanet_k128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                               %v: tensor<?x?x4x128xbf16>, %beta: tensor<?x?x4xbf16>,
                               %g: tensor<?x?x4xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>)
  return %o, %s : tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>
}

func.func @deltanet_neg_k64_f16(%q: tensor<?x?x2x64xf16>, %k: tensor<?x?x2x64xf16>,
                                %v: tensor<?x?x2x64xf16>, %beta: tensor<?x?x2xf16>)
    -> (tensor<?x?x2x64xf16>, tensor<?x2x64x64xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none qk_l2norm allow_neg_eigval
      : (tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2xf16>)
      -> (tensor<?x?x2x64xf16>, tensor<?x2x64x64xf32>)
  return %o, %s : tensor<?x?x2x64xf16>, tensor<?x2x64x64xf32>
}

func.func @scan_bf16(%x: tensor<?x?x1024xbf16>, %g: tensor<?x?x1024xbf16>)
    -> (tensor<?x?x1024xbf16>, tensor<?x1024xf32>) {
  %o, %s = mix.scan %x, %g
      : (tensor<?x?x1024xbf16>, tensor<?x?x1024xbf16>) -> (tensor<?x?x1024xbf16>, tensor<?x1024xf32>)
  return %o, %s : tensor<?x?x1024xbf16>, tensor<?x1024xf32>
}

func.func @attention_forget_bf16(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                                 %v: tensor<?x?x4x128xbf16>, %g: tensor<?x?x4xf32>)
    -> tensor<?x?x4x128xbf16> {
  %o = mix.attention %q, %k, %v forget(%g) causal
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4xf32>)
      -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}

// One long static sequence and one head: the shape a two-pass schedule is
// for (none is chosen yet: one block runs the whole sequence).
func.func @two_pass_gdn(%q: tensor<1x2048x1x128xbf16>, %k: tensor<1x2048x1x128xbf16>,
                        %v: tensor<1x2048x1x128xbf16>, %beta: tensor<1x2048x1xbf16>,
                        %g: tensor<1x2048x1xf32>)
    -> (tensor<1x2048x1x128xbf16>, tensor<1x1x128x128xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm
      : (tensor<1x2048x1x128xbf16>, tensor<1x2048x1x128xbf16>, tensor<1x2048x1x128xbf16>, tensor<1x2048x1xbf16>, tensor<1x2048x1xf32>)
      -> (tensor<1x2048x1x128xbf16>, tensor<1x1x128x128xf32>)
  return %o, %s : tensor<1x2048x1x128xbf16>, tensor<1x1x128x128xf32>
}

func.func @kda_k128(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x4x128xbf16>,
                    %v: tensor<?x?x4x128xbf16>, %beta: tensor<?x?x4xbf16>,
                    %g: tensor<?x?x4x128xf32>)
    -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector(%g) qk_l2norm
      : (tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4x128xf32>)
      -> (tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>)
  return %o, %s : tensor<?x?x4x128xbf16>, tensor<?x4x128x128xf32>
}
