// RUN: mixir-opt %s --convert-mix-to-loops="gpu-blocks" | FileCheck %s

// The form convert-chunked-to-gpu runs on thread blocks: one forall
// iteration per (batch, head), r[h] copied once, transposed, in its own
// type; per token the pre-activations from wx and the bias, the r h sums
// (a reduction over D_in) and the state update, all linalg ops on tiles.
// CHECK-LABEL: func.func @gru(
// CHECK: scf.forall (%[[B:.*]], %[[H:.*]]) in (%{{.*}}, 2)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]{{.*}} ins(%{{.*}} : tensor<3x16x16xbf16>) outs(%{{.*}} : tensor<3x16x16xbf16>)
// CHECK: linalg.copy ins(%{{.*}} : tensor<16xf32>) outs(%{{.*}} : tensor<16xf32>)
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %c0{{.*}} iter_args(
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], %[[T]], %[[H]], 0, 0] [1, 1, 1, 3, 16] [1, 1, 1, 1, 1] : tensor<?x?x2x3x16xbf16> to tensor<3x16xbf16>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} outs(%{{.*}} : tensor<3x16xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<3x16x16xbf16>, tensor<16xf32>) outs(%{{.*}} : tensor<3x16xf32>)
// CHECK: math.fma
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel"]{{.*}} outs(%{{.*}}, %{{.*}} : tensor<16xf32>, tensor<16xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, %[[T]], 0] [1, 1, 16] [1, 1, 1] : tensor<16xbf16> into tensor<1x?x16xbf16>
// CHECK: scf.forall.in_parallel
func.func @gru(%wx: tensor<?x?x2x3x16xbf16>, %r: tensor<2x3x16x16xbf16>,
               %b: tensor<2x3x16xbf16>, %h0: tensor<?x2x16xf32>)
    -> (tensor<?x?x2x16xbf16>, tensor<?x2x16xf32>) {
  %h, %s = mix.rnn gru %wx, %r bias(%b) init(%h0)
      : (tensor<?x?x2x3x16xbf16>, tensor<2x3x16x16xbf16>, tensor<2x3x16xbf16>,
         tensor<?x2x16xf32>)
      -> (tensor<?x?x2x16xbf16>, tensor<?x2x16xf32>)
  return %h, %s : tensor<?x?x2x16xbf16>, tensor<?x2x16xf32>
}

// Without initial states sLSTM's first step is told apart by t == 0, and
// the states start from zero.
// CHECK-LABEL: func.func @slstm(
// CHECK-COUNT-4: linalg.fill
// CHECK: scf.for %[[T:[a-z0-9_]+]] =
// CHECK: arith.cmpi eq, %[[T]], %c0{{.*}} : index
// CHECK: outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<37xf32>, tensor<37xf32>, tensor<37xf32>, tensor<37xf32>, tensor<37xf16>)
func.func @slstm(%wx: tensor<3x5x1x4x37xf16>, %r: tensor<1x4x37x37xf16>)
    -> tensor<3x5x1x37xf16> {
  %h, %s:4 = mix.rnn slstm %wx, %r
      : (tensor<3x5x1x4x37xf16>, tensor<1x4x37x37xf16>)
      -> (tensor<3x5x1x37xf16>, tensor<3x1x37xf32>, tensor<3x1x37xf32>,
          tensor<3x1x37xf32>, tensor<3x1x37xf32>)
  return %h : tensor<3x5x1x37xf16>
}
