//===- Kernels.h - GPU kernels of the mix ops -------------------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOGPU_KERNELS_H
#define MIXIR_LIB_CONVERSION_MIXTOGPU_KERNELS_H

#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <string>

namespace mixir::gpu_lowering {

/// The static shape of a linear-attention op and its kernel's tiling.
struct LinearAttentionConfig {
  int64_t hq = 0, hk = 0, hv = 0, ho = 0, keyDim = 0, valueDim = 0;
  mix::GateKind gate = mix::GateKind::none;
  float scale = 1.0f;
  mlir::Type elemType; // f16 or bf16
  int64_t chunk = 64;  // tokens per chunk (a multiple of 16)
  int64_t valueTile = 32; // value columns per block (16 or 32)
  /// Key dim rounded up to the mma k (16).
  int64_t paddedKey() const { return (keyDim + 15) / 16 * 16; }
  int64_t warps() const { return chunk / 16; }
  /// Bytes of shared memory one block uses.
  int64_t sharedBytes() const;
};

/// Picks the chunk (<= `maxChunk`, at least 16) so a block's shared memory
/// fits in 48 KiB. Returns a message naming the limit when nothing fits or
/// the shape is outside what the kernel handles.
std::string configureLinearAttention(mix::LinearAttentionOp op,
                                     int64_t maxChunk,
                                     LinearAttentionConfig &config);

/// Device buffers of one op (identity-layout memrefs in GPU memory).
struct DeviceBuffers {
  mlir::Value q, k, v, g, init, o, state;
};

/// Launches the fused chunked linear-attention kernel: one block of
/// chunk/16 warps per (batch, state head, value tile); the f32 state lives
/// in the warps' accumulator registers across the sequential chunk loop.
/// Per chunk: K and V tiles arrive in shared memory by cp.async, the
/// queries go straight into A fragments, P = (Q K^T) * mask * decay is
/// computed and kept in registers as the A operand of P V, and Q S reads a
/// 16-bit copy of the state from shared memory; then
/// S = exp(G_last) S + K^T (exp(G_last - G) * V). Returns the launch's
/// async token (it depends on `dependency`).
mlir::Value buildLinearAttentionLaunch(mlir::ImplicitLocOpBuilder &b,
                                       const LinearAttentionConfig &config,
                                       const DeviceBuffers &buffers,
                                       mlir::Value batch, mlir::Value tokens,
                                       mlir::Value dependency);

} // namespace mixir::gpu_lowering

#endif
