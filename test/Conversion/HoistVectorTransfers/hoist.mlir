// RUN: mixir-opt %s --split-input-file --mix-hoist-vector-transfers | FileCheck %s

// The accumulator row is read once before the reduction loop and written once
// after it; inside the loop only the FMA on the carried vector remains.
// CHECK-LABEL: func.func @accumulate
// CHECK:       %[[INIT:.*]] = vector.transfer_read %arg2
// CHECK:       %[[ACC:.*]] = scf.for {{.*}} iter_args(%[[CARRY:.*]] = %[[INIT]])
// CHECK-NOT:     vector.transfer_read %arg2
// CHECK:         vector.fma {{.*}}, %[[CARRY]]
// CHECK-NOT:     vector.transfer_write
// CHECK:         scf.yield
// CHECK:       vector.transfer_write %[[ACC]], %arg2
func.func @accumulate(%a: memref<64xf32>, %b: memref<64x32xf32>, %c: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %pad = arith.constant 0.0 : f32
  scf.for %k = %c0 to %c64 step %c1 {
    %acc = vector.transfer_read %c[%c0], %pad {in_bounds = [true]} : memref<32xf32>, vector<32xf32>
    %ak = memref.load %a[%k] : memref<64xf32>
    %splat = vector.broadcast %ak : f32 to vector<32xf32>
    %row = vector.transfer_read %b[%k, %c0], %pad {in_bounds = [true]} : memref<64x32xf32>, vector<32xf32>
    %sum = vector.fma %splat, %row, %acc : vector<32xf32>
    vector.transfer_write %sum, %c[%c0] {in_bounds = [true]} : vector<32xf32>, memref<32xf32>
  }
  return
}

// -----

// A loop that also writes the accumulator's memref elsewhere keeps its
// transfers: hoisting them would reorder the two writes.
// CHECK-LABEL: func.func @aliased_write
// CHECK:       scf.for
// CHECK:         vector.transfer_read %arg1
// CHECK:         memref.store
// CHECK:         vector.transfer_write {{.*}}, %arg1
func.func @aliased_write(%x: f32, %c: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %pad = arith.constant 0.0 : f32
  scf.for %k = %c0 to %c8 step %c1 {
    %acc = vector.transfer_read %c[%c0], %pad {in_bounds = [true]} : memref<32xf32>, vector<32xf32>
    memref.store %x, %c[%k] : memref<32xf32>
    %splat = vector.broadcast %x : f32 to vector<32xf32>
    %sum = arith.addf %acc, %splat : vector<32xf32>
    vector.transfer_write %sum, %c[%c0] {in_bounds = [true]} : vector<32xf32>, memref<32xf32>
  }
  return
}
