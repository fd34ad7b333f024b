// A result the host code goes on to use (here o + o, computed in place in
// o's buffer) is downloaded into a buffer of its own and copied over on the
// host; one the function only returns (here through an scf.if, as the
// final state is too) is downloaded where it is returned.
// Calls on device buffers bind a download into a returned buffer to the
// caller's output, so host code must never touch such a buffer
// (unittests/CudaDeviceCallTest.cpp refuses the first function's call).
// RUN: mixir-opt %s --convert-mix-to-chunked="chunk-size=16" --convert-chunked-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @host_use
// CHECK: %[[O:.*]] = memref.alloc(%{{.*}}) {{.*}} : memref<?x?x2x64xbf16>
// CHECK: %[[S:.*]] = memref.alloc(%{{.*}}) {{.*}} : memref<?x2x64x64xf32>
// CHECK: gpu.launch_func
// CHECK: %[[TMP:.*]] = memref.alloc(%{{.*}}) : memref<?x?x2x64xbf16>
// CHECK-NEXT: gpu.memcpy async [%{{.*}}] %[[TMP]], %{{.*}} : memref<?x?x2x64xbf16>, memref<?x?x2x64xbf16>
// CHECK-NEXT: gpu.memcpy async [%{{.*}}] %[[S]], %{{.*}} : memref<?x2x64x64xf32>, memref<?x2x64x64xf32>
// CHECK: gpu.wait [
// CHECK-NEXT: memref.copy %[[TMP]], %[[O]]
// CHECK-NEXT: memref.dealloc %[[TMP]]
// CHECK-NOT: memref.copy
// CHECK: scf.yield %[[O]], %[[S]]
// CHECK: %[[R:.*]] = memref.load %[[IF:.*]]#0
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[IF]]#0
// CHECK: return %[[IF]]#0
func.func @host_use(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>,
                    %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x2x64xbf16> {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  %d = arith.addf %o, %o : tensor<?x?x2x64xbf16>
  return %d : tensor<?x?x2x64xbf16>
}

// CHECK-LABEL: func.func @returned
// CHECK: %[[O:.*]] = memref.alloc(%{{.*}}) {{.*}} : memref<?x?x2x64xbf16>
// CHECK: gpu.launch_func
// CHECK-NEXT: gpu.memcpy async [%{{.*}}] %[[O]], %{{.*}} : memref<?x?x2x64xbf16>, memref<?x?x2x64xbf16>
// CHECK-NOT: memref.copy
// CHECK: return
func.func @returned(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>,
                    %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x2x64xbf16> {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>)
      -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o : tensor<?x?x2x64xbf16>
}
