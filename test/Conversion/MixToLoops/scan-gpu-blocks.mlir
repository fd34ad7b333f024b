// With gpu-blocks (the CUDA pipeline) the unpacked recurrent scan is one
// parallel loop over (batch row, group of 64 channels), or over batch rows
// alone when 64 does not divide D; each iteration scans its tokens in order
// on its slices, every row read and written from column 0 (so
// convert-chunked-to-gpu can cut the state row across a block's threads:
// the cuda pipeline's scan is one kernel). On CUDA the scan takes this form
// unless a chunk is asked for (mix-select-algorithm with cuda-chunks).
// RUN: mixir-opt %s --convert-mix-to-loops="gpu-blocks=true" | FileCheck %s
// RUN: mixir-opt %s --mix-select-algorithm="cuda-chunks=true" | FileCheck %s --check-prefix=SELECT
// RUN: mixir-opt %s --mix-select-algorithm="cuda-chunks=true chunk-size=32" | FileCheck %s --check-prefix=ASKED
// RUN: mixir-opt %s --mixir-cuda-pipeline="format=isa" --mlir-print-ir-after=convert-chunked-to-gpu -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPU

// CHECK-LABEL: func.func @groups(
// CHECK: scf.forall (%[[B:.*]], %[[G:.*]]) in (%{{.*}}, 2) shared_outs(%[[O:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}})
// CHECK: %[[D:.*]] = arith.muli %[[G]], %{{.*}} : index
// CHECK: tensor.extract_slice %[[O]][%[[B]], 0, %[[D]]] [1, %{{.*}}, 64] [1, 1, 1] : tensor<?x?x128xbf16> to tensor<?x64xbf16>
// CHECK: scf.for {{.*}} -> (tensor<?x64xbf16>, vector<64xf32>)
// CHECK: vector.transfer_read %{{.*}}[%{{.*}}, %[[C0:.*]]], %{{.*}} {in_bounds = [true]} : tensor<?x64xbf16>, vector<64xbf16>
// CHECK: vector.fma
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %[[C0]]] {in_bounds = [true]} : vector<64xbf16>, tensor<?x64xbf16>
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[B]], 0, %[[D]]] [1, %{{.*}}, 64]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[S]][%[[B]], %[[D]]] [1, 64]
// SELECT-LABEL: func.func @groups(
// SELECT: mix.scan {{.*}} {chunk_size = 0 : i64}
// SELECT: mix.linear_attention {{.*}} {chunk_size = 16 : i64}
// ASKED-LABEL: func.func @groups(
// ASKED: mix.scan {{.*}} {chunk_size = 32 : i64}
// GPU-LABEL: func.func @groups(
// GPU-COUNT-2: gpu.launch_func
// GPU-NOT: gpu.launch_func
// GPU: return
func.func @groups(%x: tensor<?x?x128xbf16>, %g: tensor<?x?x128xbf16>, %h: tensor<?x128xf32>,
                  %q: tensor<?x?x2x64xbf16>)
    -> (tensor<?x?x128xbf16>, tensor<?x128xf32>, tensor<?x?x2x64xbf16>) {
  %o, %s = mix.scan %x, %g init(%h) : (tensor<?x?x128xbf16>, tensor<?x?x128xbf16>, tensor<?x128xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128xf32>)
  %lo, %ls = mix.linear_attention %q, %q, %q gate none
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o, %s, %lo : tensor<?x?x128xbf16>, tensor<?x128xf32>, tensor<?x?x2x64xbf16>
}

// CHECK-LABEL: func.func @one_group(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (%{{.*}}, 1)
// CHECK: tensor.extract_slice {{.*}} [1, %{{.*}}, 150] [1, 1, 1] : tensor<?x?x150xf32> to tensor<?x150xf32>
// CHECK: scf.for {{.*}} -> (tensor<?x150xf32>, vector<150xf32>)
func.func @one_group(%x: tensor<?x?x150xf32>, %g: tensor<?x?x150xf32>)
    -> (tensor<?x?x150xf32>, tensor<?x150xf32>) {
  %o, %s = mix.scan %x, %g : (tensor<?x?x150xf32>, tensor<?x?x150xf32>) -> (tensor<?x?x150xf32>, tensor<?x150xf32>)
  return %o, %s : tensor<?x?x150xf32>, tensor<?x150xf32>
}
