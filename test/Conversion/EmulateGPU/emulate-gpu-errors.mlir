// mix-emulate-gpu refuses what it cannot emulate with a diagnostic.
// RUN: env -u MIXIR_TEST_PLUGIN mixir-opt %s --load-pass-plugin=%gpu_emulation_plugin --pass-pipeline="builtin.module(mix-emulate-gpu)" --split-input-file -verify-diagnostics

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%buf: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func @host(%dev: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    // expected-error @+1 {{GPU emulation handles 1-D blocks only}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c2, %c2, %c1) args(%dev : memref<?xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%x: f32) kernel {
      %c1 = arith.constant 1 : i32
      %c32 = arith.constant 32 : i32
      // expected-error @+1 {{GPU emulation handles 32-lane f32 xor shuffles only}}
      %r, %ok = gpu.shuffle down %x, %c1, %c32 : f32
      gpu.return
    }
  }
}
