// RUN: mixir-opt %s --mix-mark-host-read-args | FileCheck %s

// Host code of target cuda after bufferization: which arguments does it
// read itself? Layout queries, device copies (through casts and subviews)
// and kernel operands are not reads; a load, a linalg op or a call is.

// CHECK-LABEL: func.func @packed
// CHECK-SAME: mix.host_read_args = array<i32: 1, 3>
func.func @packed(%x: memref<?x4xf32>, %cu: memref<?xi32>,
                  %y: memref<8xf32>, %z: memref<8xf32>) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %d = gpu.alloc (%n) : memref<?x4xf32>
  gpu.memcpy %d, %x : memref<?x4xf32>, memref<?x4xf32>
  %first = memref.load %cu[%c0] : memref<?xi32>
  %sub = memref.subview %y[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  %dy = gpu.alloc () : memref<4xf32, strided<[1]>>
  gpu.memcpy %dy, %sub : memref<4xf32, strided<[1]>>, memref<4xf32, strided<[1]>>
  %cz = memref.cast %z : memref<8xf32> to memref<?xf32>
  %v = memref.load %cz[%c1] : memref<?xf32>
  return %n : index
}

// CHECK-LABEL: func.func @device_only
// CHECK-NOT: mix.host_read_args
func.func @device_only(%x: memref<16xf32>) {
  %d = gpu.alloc () : memref<16xf32>
  gpu.memcpy %d, %x : memref<16xf32>, memref<16xf32>
  return
}

// Private functions are no entry points.
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: mix.host_read_args
func.func private @helper(%x: memref<16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<16xf32>
  return %v : f32
}
