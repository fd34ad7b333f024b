//===- GpuEmulator.h - run GPU kernels' IR on CPU threads -------*- C++ -*-===//
//
// Runtime half of `mix-emulate-gpu` (a test tool in the test plugin, not a
// back end and not part of any release library): a kernel
// outlined by the CUDA lowering runs as one CPU thread per GPU thread, one
// block at a time, so its index arithmetic, shared-memory traffic, barriers
// and the warp-collective `ldmatrix` / `mma.sync` fragment layouts can be
// checked against the float64 reference on a machine without a GPU.
// ldmatrix and mma.sync follow the PTX ISA's fragment layouts for
// m8n8.x{1,2,4}(.trans) b16 and m16n8k16 with f32 accumulators.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_TEST_GPUEMULATION_GPUEMULATOR_H
#define MIXIR_TEST_GPUEMULATION_GPUEMULATOR_H

#include <cstdint>

extern "C" {

/// An MLIR memref descriptor of rank 2.
struct MixEmuMemRef2D {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

/// Starts a block of `threads` threads (blocks run one after another).
void _mlir_ciface_mixEmuBeginBlock(int64_t threads);
/// Called by each thread of the block's OpenMP team with its number and the
/// team's size; returns 0 (and records an error) when the team is not the
/// block (then no thread runs the kernel, so no barrier waits forever).
int64_t _mlir_ciface_mixEmuBeginThread(int64_t thread, int64_t team);
void _mlir_ciface_mixEmuEndBlock();
/// gpu.barrier
void _mlir_ciface_mixEmuBarrier();
/// gpu.shuffle xor of an f32 across the 32 lanes of the warp.
float _mlir_ciface_mixEmuShuffleXor(float value, int64_t offset);
/// nvgpu.ldmatrix on 16-bit elements: this lane's row (row, col) of
/// `smem`; writes the lane's `tiles` x 2 fragment into `out`.
void _mlir_ciface_mixEmuLdmatrixBF16(MixEmuMemRef2D *smem, int64_t row,
                                     int64_t col, int64_t transpose,
                                     int64_t tiles, MixEmuMemRef2D *out);
void _mlir_ciface_mixEmuLdmatrixF16(MixEmuMemRef2D *smem, int64_t row,
                                    int64_t col, int64_t transpose,
                                    int64_t tiles, MixEmuMemRef2D *out);
/// nvgpu.mma.sync m16n8k16 with f32 accumulators on bf16 or f16 operands.
/// a: 4x2, b: 2x2 (16-bit), c, d: 2x2 f32.
void _mlir_ciface_mixEmuMmaBF16(MixEmuMemRef2D *a, MixEmuMemRef2D *b,
                                MixEmuMemRef2D *c, MixEmuMemRef2D *d);
void _mlir_ciface_mixEmuMmaF16(MixEmuMemRef2D *a, MixEmuMemRef2D *b,
                               MixEmuMemRef2D *c, MixEmuMemRef2D *d);
/// The block's shared memory: one window of `bytes` at `base` (aligned to
/// 2^18, so the low 18 bits of an address in it are its shared-window
/// address, what a wgmma matrix descriptor holds).
void _mlir_ciface_mixEmuSharedWindow(int64_t base, int64_t bytes);
/// nvvm.wgmma.mma_async m64nNk16, f32 accumulators, bf16 or f16 operands
/// K-major in shared memory without swizzle, as the descriptors describe
/// them: this thread's N/2 accumulators (row 0 of `acc`) += A B, the
/// product of its 128-thread warpgroup. Synchronous: the operands are read
/// at issue, not by the wait.
void _mlir_ciface_mixEmuWgmmaBF16(int64_t descA, int64_t descB,
                                  MixEmuMemRef2D *acc, int64_t n);
void _mlir_ciface_mixEmuWgmmaF16(int64_t descA, int64_t descB,
                                 MixEmuMemRef2D *acc, int64_t n);

} // extern "C"

namespace mixir::test {
/// The first error an emulated launch met (empty if none); clears it.
const char *takeGpuEmulationError();
} // namespace mixir::test

#endif
