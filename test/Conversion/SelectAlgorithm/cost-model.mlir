// RUN: mixir-opt %s --split-input-file --mix-select-algorithm | FileCheck %s
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=chunk-size=64 | FileCheck %s --check-prefix=GIVEN
// RUN: mixir-opt %s --split-input-file --mix-select-algorithm=amx=true | FileCheck %s --check-prefix=AMX

// Without the chunk-size option the CPU cost model chooses each op's form
// from CostTable.inc. The choices below follow its K = V = 128 float32
// rows (regenerating the table may change them; test/python/test_select.py
// checks every row against the table it reads): linear attention without a
// gate is cheapest in chunks of 16, with a per-channel gate recurrent; the
// gated delta rule in chunks of 16 with a scalar gate, recurrent with a
// vector one (chunks of 16 measure 0.2% cheaper, within the 5% a chunk
// must win by); mix.recurrence (R = 1) recurrent; the scan in chunks of
// 16. With the option given, every op takes it.
// CHECK-LABEL: func.func @by_op
// CHECK: mix.linear_attention {{.*}}{chunk_size = 16 : i64}
// CHECK: mix.linear_attention {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.delta_rule {{.*}}{chunk_size = 16 : i64}
// CHECK: mix.delta_rule {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.recurrence {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.scan {{.*}}{chunk_size = 16 : i64}
// GIVEN-LABEL: func.func @by_op
// GIVEN-COUNT-6: {chunk_size = 64 : i64}
func.func @by_op(%q: tensor<1x?x4x128xf32>, %gs: tensor<1x?x4xf32>, %gv: tensor<1x?x4x128xf32>,
                 %a: tensor<1x?x4x1x128xf32>, %x: tensor<1x?x128xf32>, %gx: tensor<1x?x128xf32>)
    -> (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x128xf32>) {
  %o1, %s1 = mix.linear_attention %q, %q, %q gate none
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  %o2, %s2 = mix.linear_attention %q, %q, %q gate vector(%gv)
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  %o3, %s3 = mix.delta_rule %q, %q, %q, %gs gate scalar(%gs)
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  %o4, %s4 = mix.delta_rule %q, %q, %q, %gs gate vector(%gv)
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4xf32>, tensor<1x?x4x128xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  %o5, %s5 = mix.recurrence %q, %q, %q lowrank(%a, %a) gate vector(%gv)
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x1x128xf32>, tensor<1x?x4x1x128xf32>, tensor<1x?x4x128xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  %o6, %s6 = mix.scan %x, %gx : (tensor<1x?x128xf32>, tensor<1x?x128xf32>) -> (tensor<1x?x128xf32>, tensor<1x128xf32>)
  return %o1, %o2, %o3, %o4, %o5, %o6 : tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x128xf32>
}

// -----

// A static length rules out chunks longer than itself (one decode token is
// recurrent) and pays for the padding of the last chunk: with a head gate,
// 48 tokens take three chunks of 16 (48 rows), cheaper than two of 32 (64
// rows), while a long sequence takes 64. An op's own chunk_size is kept.
// CHECK-LABEL: func.func @static_and_kept
// CHECK: mix.linear_attention {{.*}}{chunk_size = 0 : i64}
// CHECK: mix.linear_attention {{.*}}{chunk_size = 16 : i64}
// CHECK: mix.linear_attention {{.*}}{chunk_size = 64 : i64}
// CHECK: mix.linear_attention {{.*}}{chunk_size = 128 : i64}
func.func @static_and_kept(%q1: tensor<1x1x4x128xf32>, %q48: tensor<1x48x4x128xf32>, %q: tensor<1x?x4x128xf32>, %g: tensor<4xf32>)
    -> (tensor<1x1x4x128xf32>, tensor<1x48x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>) {
  %o1, %s1 = mix.linear_attention %q1, %q1, %q1 gate head(%g)
      : (tensor<1x1x4x128xf32>, tensor<1x1x4x128xf32>, tensor<1x1x4x128xf32>, tensor<4xf32>) -> (tensor<1x1x4x128xf32>, tensor<1x4x128x128xf32>)
  %o2, %s2 = mix.linear_attention %q48, %q48, %q48 gate head(%g)
      : (tensor<1x48x4x128xf32>, tensor<1x48x4x128xf32>, tensor<1x48x4x128xf32>, tensor<4xf32>) -> (tensor<1x48x4x128xf32>, tensor<1x4x128x128xf32>)
  %o3, %s3 = mix.linear_attention %q, %q, %q gate head(%g)
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<4xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  %o4, %s4 = mix.linear_attention %q, %q, %q gate head(%g) {chunk_size = 128 : i64}
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<4xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  return %o1, %o2, %o3, %o4 : tensor<1x1x4x128xf32>, tensor<1x48x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>
}

// -----

// mix.recurrence with R = 4 low-rank terms chooses among the recurrent form
// and chunks with C * R <= 128 only.
// CHECK-LABEL: func.func @rank_cap
// CHECK: mix.recurrence {{.*}}{chunk_size = {{0|16|32}} : i64}
func.func @rank_cap(%q: tensor<1x?x4x128xf32>, %a: tensor<1x?x4x4x128xf32>) -> tensor<1x?x4x128xf32> {
  %o, %s = mix.recurrence %q, %q, %q lowrank(%a, %a) gate none
      : (tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x128xf32>, tensor<1x?x4x4x128xf32>, tensor<1x?x4x4x128xf32>) -> (tensor<1x?x4x128xf32>, tensor<1x4x128x128xf32>)
  return %o : tensor<1x?x4x128xf32>
}

// -----

// With amx, bf16 linear attention (whose tile products then run on AMX) is
// priced by the bf16+amx rows: chunks of 128 at K = V = 128, where the
// bf16 rows (f32 products) give 32; the delta rule keeps its bf16 row.
// CHECK-LABEL: func.func @amx
// CHECK: mix.linear_attention {{.*}}{chunk_size = 32 : i64}
// CHECK: mix.delta_rule {{.*}}{chunk_size = 32 : i64}
// AMX-LABEL: func.func @amx
// AMX: mix.linear_attention {{.*}}{chunk_size = 128 : i64}
// AMX: mix.delta_rule {{.*}}{chunk_size = 32 : i64}
func.func @amx(%q: tensor<1x?x4x128xbf16>, %b: tensor<1x?x4xf32>) -> (tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>) {
  %o, %s = mix.linear_attention %q, %q, %q gate none
      : (tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>) -> (tensor<1x?x4x128xbf16>, tensor<1x4x128x128xf32>)
  %o2, %s2 = mix.delta_rule %q, %q, %q, %b gate scalar(%b)
      : (tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x?x4x128xbf16>, tensor<1x4x128x128xf32>)
  return %o, %o2 : tensor<1x?x4x128xbf16>, tensor<1x?x4x128xbf16>
}
