// convert-chunked-to-gpu cuts the 1-D row vectors of the code a block of
// threads runs into segments of 4 lanes where the lanes are independent
// (splitVectorLanes): a thread then holds 4 lanes of a row, not 64, and
// code that thread 0 would run alone (a loop carrying a row) runs its
// segments on threads of their own. Where a lane reads what another lane
// writes (a shift within a row), or the lanes meet in a reduction, the code
// keeps its whole rows. The kernels get ptxas's whole register budget.
// RUN: mixir-opt %s --convert-chunked-to-gpu | FileCheck %s

// CHECK-LABEL: gpu.func @lanes_kernel
// CHECK-SAME: nvvm.maxnreg = 255 : i32
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TID]]
// A parallel loop over 8 rows gains a last dim over 16 segments: iteration
// i is row i / 16, lanes 4 (i mod 16) to 4 (i mod 16) + 3.
// CHECK: scf.for %[[I:.*]] = %[[TID]] to
// CHECK-NEXT: %[[SEG:.*]] = arith.remui %[[I]], %[[NSEG:[a-z0-9_]+]] : index
// CHECK-NEXT: %[[ROW:.*]] = arith.divui %[[I]], %[[NSEG]] : index
// CHECK-NEXT: %[[LANE:.*]] = arith.muli %[[SEG]], %{{.*}} : index
// CHECK-NEXT: vector.load %{{.*}}[%{{.*}}, %[[ROW]], %[[LANE]]] : memref<4x8x64xf32>, vector<4xf32>
// CHECK-NEXT: arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-NEXT: vector.store %{{.*}}, %{{.*}}[%[[ROW]], %[[LANE]]] : memref<8x64xf32>, vector<4xf32>
// The running sum over rows: a segment per thread, each carrying 4 lanes.
// CHECK: scf.for %[[J:.*]] = %[[TID]] to %[[NSEG]] step
// CHECK-NEXT: %[[LANE2:.*]] = arith.muli %[[J]], %{{.*}} : index
// CHECK-NEXT: scf.for {{.*}} -> (vector<4xf32>) {
// CHECK-NEXT: vector.load %{{.*}}[%{{.*}}, %[[LANE2]]] : memref<8x64xf32>, vector<4xf32>
// CHECK-NEXT: arith.addf
// CHECK-NEXT: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %[[LANE2]]] : memref<4x8x64xf32>, vector<4xf32>
// The shift (lanes 32 to 63 of a row written to lanes 0 to 31): thread 0,
// whole rows.
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: scf.for {{.*}} -> (vector<32xf32>) {
// The row maximum: a row per thread.
// CHECK: vector.reduction <maximumf>, %{{.*}} : vector<64xf32> into f32
// CHECK-NOT: vector<4xf32>
// CHECK: gpu.return
func.func @lanes(%in: memref<4x8x64xf32>, %out: memref<4x8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %two = arith.constant dense<2.0> : vector<64xf32>
  %zero = arith.constant dense<0.0> : vector<64xf32>
  %zero32 = arith.constant dense<0.0> : vector<32xf32>
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<8x64xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      %y = arith.mulf %x, %two : vector<64xf32>
      vector.store %y, %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      scf.reduce
    }
    %s = scf.for %r = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> vector<64xf32> {
      %x = vector.load %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      %n = arith.addf %acc, %x : vector<64xf32>
      vector.store %n, %out[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      scf.yield %n : vector<64xf32>
    }
    %u = scf.for %r = %c0 to %c8 step %c1 iter_args(%acc = %zero32) -> vector<32xf32> {
      %x = vector.load %t[%r, %c32] : memref<8x64xf32>, vector<32xf32>
      %n = arith.addf %acc, %x : vector<32xf32>
      vector.store %n, %t[%r, %c0] : memref<8x64xf32>, vector<32xf32>
      scf.yield %n : vector<32xf32>
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      %m = vector.reduction <maximumf>, %x : vector<64xf32> into f32
      %b = vector.broadcast %m : f32 to vector<64xf32>
      %y = arith.subf %x, %b : vector<64xf32>
      vector.store %y, %out[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      scf.reduce
    }
    memref.dealloc %t : memref<8x64xf32>
  }
  return
}

// A load of a lane the run writes, used after the run, stays after the
// loop that writes it (it is no scalar op to hoist); the vector code
// around it is cut on either side.
// CHECK-LABEL: gpu.func @escaping_load_kernel
// CHECK: scf.for {{.*}} -> (vector<4xf32>) {
// CHECK: gpu.barrier
// CHECK-NEXT: memref.load %{{.*}} : memref<8x64xf32>
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.for
// CHECK-NEXT: arith.muli
// CHECK-NEXT: vector.store {{.*}} vector<4xf32>
// CHECK: gpu.return
func.func @escaping_load(%in: memref<4x8x64xf32>, %out: memref<4x8x64xf32>, %o2: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant dense<0.0> : vector<64xf32>
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<8x64xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      vector.store %x, %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      scf.reduce
    }
    %s = scf.for %r = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> vector<64xf32> {
      %x = vector.load %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      %n = arith.addf %acc, %x : vector<64xf32>
      vector.store %n, %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      scf.yield %n : vector<64xf32>
    }
    %e = memref.load %t[%c7, %c3] : memref<8x64xf32>
    vector.store %zero, %out[%h, %c0, %c0] : memref<4x8x64xf32>, vector<64xf32>
    memref.store %e, %o2[%h] : memref<4xf32>
    memref.dealloc %t : memref<8x64xf32>
  }
  return
}

// A first lane that moves from one step to the next: lane l of step j + 1
// reads what lane l + 1 wrote in step j.
// CHECK-LABEL: gpu.func @moving_column_kernel
// CHECK: scf.if
// CHECK-NEXT: scf.for
// CHECK-NEXT: vector.load {{.*}} vector<32xf32>
// CHECK: vector.store {{.*}} vector<32xf32>
// CHECK: gpu.return
func.func @moving_column(%in: memref<4x8x64xf32>, %out: memref<4x8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant dense<1.0> : vector<32xf32>
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<8x64xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      vector.store %x, %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      scf.reduce
    }
    scf.for %j = %c0 to %c4 step %c1 {
      %x = vector.load %t[%c0, %j] : memref<8x64xf32>, vector<32xf32>
      %y = arith.addf %x, %one : vector<32xf32>
      vector.store %y, %t[%c0, %j] : memref<8x64xf32>, vector<32xf32>
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      vector.store %x, %out[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      scf.reduce
    }
    memref.dealloc %t : memref<8x64xf32>
  }
  return
}

// A buffer chosen between two tiles may be either: its row from lane 32
// and the write at lane 0 of one of them are not independent.
// CHECK-LABEL: gpu.func @chosen_buffer_kernel
// CHECK: arith.select
// CHECK-NEXT: scf.for
// CHECK-NEXT: vector.load {{.*}} vector<32xf32>
// CHECK-NEXT: vector.store {{.*}} vector<32xf32>
// CHECK: gpu.return
func.func @chosen_buffer(%in: memref<4x8x64xf32>, %out: memref<4x8x64xf32>, %which: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<8x64xf32>
    %u = memref.alloc() : memref<8x64xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      vector.store %x, %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      vector.store %x, %u[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      scf.reduce
    }
    %b = arith.select %which, %t, %u : memref<8x64xf32>
    scf.for %r = %c0 to %c8 step %c1 {
      %x = vector.load %b[%r, %c32] : memref<8x64xf32>, vector<32xf32>
      vector.store %x, %t[%r, %c0] : memref<8x64xf32>, vector<32xf32>
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %t[%r, %c0] : memref<8x64xf32>, vector<64xf32>
      vector.store %x, %out[%h, %r, %c0] : memref<4x8x64xf32>, vector<64xf32>
      scf.reduce
    }
    memref.dealloc %t : memref<8x64xf32>
    memref.dealloc %u : memref<8x64xf32>
  }
  return
}

// Rows of 6 lanes go in segments of 2, rows of 5 in segments of 1; a
// transfer_read keeps its in_bounds.
// CHECK-LABEL: gpu.func @odd_rows_kernel
// CHECK: vector.load {{.*}} : memref<4x8x6xf32>, vector<2xf32>
// CHECK: vector.load {{.*}} : memref<4x8x5xf32>, vector<1xf32>
// Rows of two lengths in one loop stay whole.
// CHECK: vector.load {{.*}} : memref<8x6xf32>, vector<6xf32>
// CHECK: gpu.return
func.func @odd_rows(%in: memref<4x8x6xf32>, %out: memref<4x8x6xf32>, %in5: memref<4x8x5xf32>, %out5: memref<4x8x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %pad = arith.constant 0.0 : f32
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<8x6xf32>
    %t5 = memref.alloc() : memref<8x5xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.transfer_read %in[%h, %r, %c0], %pad {in_bounds = [true]} : memref<4x8x6xf32>, vector<6xf32>
      vector.transfer_write %x, %t[%r, %c0] {in_bounds = [true]} : vector<6xf32>, memref<8x6xf32>
      scf.reduce
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in5[%h, %r, %c0] : memref<4x8x5xf32>, vector<5xf32>
      vector.store %x, %t5[%r, %c0] : memref<8x5xf32>, vector<5xf32>
      scf.reduce
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %t[%r, %c0] : memref<8x6xf32>, vector<6xf32>
      %y = vector.load %t5[%r, %c0] : memref<8x5xf32>, vector<5xf32>
      vector.store %x, %out[%h, %r, %c0] : memref<4x8x6xf32>, vector<6xf32>
      vector.store %y, %out5[%h, %r, %c0] : memref<4x8x5xf32>, vector<5xf32>
      scf.reduce
    }
    memref.dealloc %t : memref<8x6xf32>
    memref.dealloc %t5 : memref<8x5xf32>
  }
  return
}

// A loop over groups of 32 lanes whose first lane moves by 32 each step
// (a scan's channel groups) is cut: each step's columns are its own. By 16
// a step, a segment would write lanes the next step's other segment reads.
// CHECK-LABEL: gpu.func @groups_kernel
// CHECK: vector.store %{{.*}} : memref<64xf32>, vector<4xf32>
// CHECK: scf.for %[[S:.*]] = %{{.*}} to
// CHECK-NEXT: %[[L:.*]] = arith.muli %[[S]]
// CHECK-NEXT: scf.for %[[G:.*]] = %{{.*}} to
// CHECK-NEXT: %[[AT:.*]] = arith.muli %[[G]]
// CHECK-NEXT: %[[X:.*]] = arith.addi %[[AT]], %[[L]] : index
// CHECK-NEXT: vector.load %{{.*}}[%[[X]]] : memref<64xf32>, vector<4xf32>
// CHECK: scf.if
// CHECK-NEXT: scf.for
// CHECK-NEXT: arith.muli
// CHECK-NEXT: vector.load {{.*}} vector<32xf32>
// CHECK: gpu.return
func.func @groups(%in: memref<4x64xf32>, %out: memref<4x64xf32>, %out2: memref<4x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %two = arith.constant dense<2.0> : vector<32xf32>
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<64xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in[%h, %c0] : memref<4x64xf32>, vector<64xf32>
      vector.store %x, %t[%c0] : memref<64xf32>, vector<64xf32>
      scf.reduce
    }
    scf.for %g = %c0 to %c2 step %c1 {
      %at = arith.muli %g, %c32 : index
      %x = vector.load %t[%at] : memref<64xf32>, vector<32xf32>
      %y = arith.mulf %x, %two : vector<32xf32>
      vector.store %y, %t[%at] : memref<64xf32>, vector<32xf32>
    }
    scf.for %g = %c0 to %c2 step %c1 {
      %at = arith.muli %g, %c16 : index
      %x = vector.load %t[%at] : memref<64xf32>, vector<32xf32>
      %y = arith.mulf %x, %two : vector<32xf32>
      vector.store %y, %t[%at] : memref<64xf32>, vector<32xf32>
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %t[%c0] : memref<64xf32>, vector<64xf32>
      vector.store %x, %out[%h, %c0] : memref<4x64xf32>, vector<64xf32>
      scf.reduce
    }
    memref.dealloc %t : memref<64xf32>
  }
  return
}

// A loop over groups whose start moves with an outer loop reaches
// overlapping columns on different runs (columns 4 to 7 at t = 0, 2 to 9 at
// t = 1): the run stays on thread 0.
// CHECK-LABEL: gpu.func @moving_start_kernel
// CHECK: scf.if
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.for
// CHECK-NEXT: arith.muli
// CHECK-NEXT: vector.load {{.*}} vector<8xf32>
// CHECK: gpu.return
func.func @moving_start(%in: memref<4x16xf32>, %out: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.forall (%h) in (4) {
    %t = memref.alloc() : memref<16xf32>
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %in[%h, %c0] : memref<4x16xf32>, vector<16xf32>
      vector.store %x, %t[%c0] : memref<16xf32>, vector<16xf32>
      scf.reduce
    }
    scf.for %s = %c0 to %c2 step %c1 {
      scf.for %j = %s to %c4 step %c4 {
        %at = arith.muli %j, %c2 : index
        %x = vector.load %t[%at] : memref<16xf32>, vector<8xf32>
        %y = arith.addf %x, %x : vector<8xf32>
        vector.store %y, %t[%at] : memref<16xf32>, vector<8xf32>
      }
    }
    scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
      %x = vector.load %t[%c0] : memref<16xf32>, vector<16xf32>
      vector.store %x, %out[%h, %c0] : memref<4x16xf32>, vector<16xf32>
      scf.reduce
    }
    memref.dealloc %t : memref<16xf32>
  }
  return
}
