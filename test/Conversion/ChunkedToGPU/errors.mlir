// convert-chunked-to-gpu refuses what its mapping cannot keep, naming the
// problem: a tile carried to the next loop iteration in a fresh buffer (one
// slot per tile for the whole kernel would be overwritten while it is read),
// and two views of one buffer used by the loop (two device copies, and the
// writes through one lost when the other is copied back).
// RUN: mixir-opt %s --convert-chunked-to-gpu -split-input-file -verify-diagnostics

func.func @carried(%out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %c8 = arith.constant 8 : index
  scf.forall (%i) in (4) {
    %init = memref.alloc() : memref<8xf32>
    scf.for %j = %c0 to %c8 step %c1 {
      %f = arith.index_cast %j : index to i32
      %x = arith.sitofp %f : i32 to f32
      memref.store %x, %init[%j] : memref<8xf32>
    }
    %r = scf.for %t = %c0 to %c3 step %c1 iter_args(%s = %init) -> memref<8xf32> {
      // expected-error @below {{holds a tile carried from one loop iteration to the next in a fresh buffer}}
      %n = memref.alloc() : memref<8xf32>
      scf.for %j = %c0 to %c8 step %c1 {
        %rj = arith.subi %c7, %j : index
        %x = memref.load %s[%rj] : memref<8xf32>
        memref.store %x, %n[%j] : memref<8xf32>
      }
      scf.yield %n : memref<8xf32>
    }
    scf.for %j = %c0 to %c8 step %c1 {
      %x = memref.load %r[%j] : memref<8xf32>
      memref.store %x, %out[%i, %j] : memref<4x8xf32>
    }
  }
  return
}

// -----

func.func @aliased(%buf: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %v = memref.collapse_shape %buf [[0, 1]] : memref<4x8xf32> into memref<32xf32>
  // expected-error @below {{uses two views of one buffer, which cannot be copied to the GPU separately}}
  scf.forall (%i) in (4) {
    %x = memref.load %buf[%i, %c0] : memref<4x8xf32>
    memref.store %x, %v[%i] : memref<32xf32>
  }
  return
}

// -----

// A block cannot have more than 1024 threads.
// RUN: not mixir-opt %s --convert-chunked-to-gpu="block-threads=2048" -split-input-file 2>&1 | FileCheck %s --check-prefix=THREADS
// THREADS: block-threads must be 1 to 1024, got 2048
func.func @threads() {
  return
}
