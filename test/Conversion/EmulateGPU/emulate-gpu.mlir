// mix-emulate-gpu alone (the test plugin's pass): an outlined kernel becomes
// a host function, its launch one OpenMP team per block, and the device
// allocations and copies host ones.
// RUN: env -u MIXIR_TEST_PLUGIN mixir-opt %s --load-pass-plugin=%gpu_emulation_plugin --pass-pipeline="builtin.module(mix-emulate-gpu)" | FileCheck %s --implicit-check-not=gpu.

// The host: a loop per grid dimension (z, y, x), one OpenMP team of
// block-size threads per block, each thread calling the kernel when the
// emulator lets it run; device buffers become host ones.
// CHECK-LABEL: func.func @host
// CHECK-SAME: (%[[HOST:[^:]*]]: memref<?xf32>, %[[N:[^:]*]]: index)
// CHECK: %[[DEV:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.copy %[[HOST]], %[[DEV]]
// CHECK: scf.for %[[BZ:[^ ]*]] =
// CHECK: scf.for %[[BY:[^ ]*]] =
// CHECK: scf.for %[[BX:[^ ]*]] = %{{.*}} to %[[N]]
// The block's shared buffers are views of one window aligned to 2^18.
// CHECK: %[[WINDOW:.*]] = memref.alloc() {alignment = 262144 : i64} : memref<128xi8>
// CHECK: %[[SHARED:.*]] = memref.view %[[WINDOW]][%{{.*}}][] : memref<128xi8> to memref<32xf32>
// CHECK: call @mixEmuBeginBlock(
// CHECK: call @mixEmuSharedWindow(
// CHECK: omp.parallel num_threads(
// CHECK: %[[TID:.*]] = func.call @__kmpc_bound_thread_num(
// CHECK: call @mixEmuBeginThread(
// CHECK: scf.if
// CHECK: %[[T:.*]] = arith.index_cast %[[TID]] : i32 to index
// CHECK: call @kernels_scale_emulated(%[[BX]], %[[BY]], %[[BZ]], %[[T]], %[[DEV]], %[[SHARED]])
// CHECK: omp.terminator
// CHECK: call @mixEmuEndBlock()
// CHECK: memref.copy %[[DEV]], %[[HOST]]
// CHECK-NEXT: return

// The kernel: block and thread ids become its leading index arguments, the
// workgroup buffer a trailing argument, gpu.barrier a call to the emulator.
// CHECK-LABEL: func.func private @kernels_scale_emulated
// CHECK-SAME: (%[[KBX:[^:]*]]: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %[[KT:[^:]*]]: index, %[[BUF:[^:]*]]: memref<?xf32>, %[[SH:[^:]*]]: memref<32xf32>)
// CHECK: arith.muli %[[KBX]], %{{.*}} : index
// CHECK: memref.load %[[BUF]]
// CHECK: memref.store %{{.*}}, %[[SH]][%[[KT]]]
// CHECK: call @mixEmuBarrier()
// CHECK: memref.store %{{.*}}, %[[BUF]]
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%buf: memref<?xf32>) workgroup(%sh: memref<32xf32, 3>) kernel {
      %bx = gpu.block_id x
      %tx = gpu.thread_id x
      %c32 = arith.constant 32 : index
      %base = arith.muli %bx, %c32 : index
      %i = arith.addi %base, %tx : index
      %x = memref.load %buf[%i] : memref<?xf32>
      memref.store %x, %sh[%tx] : memref<32xf32, 3>
      gpu.barrier
      %c31 = arith.constant 31 : index
      %j = arith.subi %c31, %tx : index
      %y = memref.load %sh[%j] : memref<32xf32, 3>
      memref.store %y, %buf[%i] : memref<?xf32>
      gpu.return
    }
  }
  func.func @host(%host: memref<?xf32>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %len = memref.dim %host, %c0 : memref<?xf32>
    %t0 = gpu.wait async
    %dev, %t1 = gpu.alloc async [%t0] (%len) : memref<?xf32>
    %t2 = gpu.memcpy async [%t1] %dev, %host : memref<?xf32>, memref<?xf32>
    %t3 = gpu.launch_func async [%t2] @kernels::@scale blocks in (%n, %c1, %c1) threads in (%c32, %c1, %c1) args(%dev : memref<?xf32>)
    %t4 = gpu.memcpy async [%t3] %host, %dev : memref<?xf32>, memref<?xf32>
    %t5 = gpu.dealloc async [%t4] %dev : memref<?xf32>
    gpu.wait [%t5]
    return
  }
}
