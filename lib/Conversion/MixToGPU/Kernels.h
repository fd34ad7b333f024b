//===- Kernels.h - GPU kernels of the mix ops -------------------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOGPU_KERNELS_H
#define MIXIR_LIB_CONVERSION_MIXTOGPU_KERNELS_H

#include "mixir/Compiler/ChunkSize.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <optional>
#include <string>

namespace mixir::gpu_lowering {

/// The static shape of a linear-attention op and its kernel's tiling.
struct LinearAttentionConfig {
  int64_t hq = 0, hk = 0, hv = 0, ho = 0, keyDim = 0, valueDim = 0;
  mix::GateKind gate = mix::GateKind::none;
  float scale = 1.0f;
  mlir::Type elemType;               // f16 or bf16
  int64_t chunk = kCudaMaxChunkSize; // tokens per chunk (a multiple of 16)
  /// Two kernels instead of the fused one: the states at every chunk start
  /// first (sequential per block), then all chunks' outputs in parallel;
  /// chosen when (batch x heads x value tiles) blocks are too few to fill
  /// the GPU and the sequence has many chunks.
  bool twoPass = false;
  /// mix.delta_rule: V is replaced per chunk by V' = U - W S (WY/UT form).
  bool deltaRule = false, negEigval = false, l2norm = false;
  int64_t valueTile = 32; // value columns per block (16 or 32)
  /// Key dim rounded up to the mma k (16).
  int64_t paddedKey() const { return (keyDim + 15) / 16 * 16; }
  int64_t warps() const { return chunk / 16; }
  bool vectorGate() const { return gate == mix::GateKind::vector; }
  /// Bytes of shared memory one block uses.
  int64_t sharedBytes() const;
};

/// Sets up the kernel for `op` with chunks of `chunk` tokens (one the kernels
/// run: checkCudaChunkSize), narrowing only the value tile so a block's
/// shared memory fits in 48 KiB; without `chunk`, the largest chunk up to
/// kCudaMaxChunkSize that fits. Returns a message when the asked-for chunk
/// does not fit (naming the largest that does), nothing fits, or the shape
/// is outside what the kernel handles.
std::string configureLinearAttention(mix::LinearAttentionOp op,
                                     std::optional<int64_t> chunk,
                                     LinearAttentionConfig &config);
/// The same for mix.delta_rule (every gate kind), which runs in the
/// same kernel: per chunk, A = tril(diag(beta) (K K^T * Gamma), -1) on the
/// tensor cores, T = (I + A)^-1 by forward substitution in f32,
/// U = T diag(beta) V and W = T diag(beta) (K exp(G)) on the tensor cores,
/// and V' = U - W S takes V's place in the linear-attention steps.
std::string configureDeltaRule(mix::DeltaRuleOp op,
                               std::optional<int64_t> chunk,
                               LinearAttentionConfig &config);

/// Device buffers of one op (identity-layout memrefs in GPU memory).
struct DeviceBuffers {
  mlir::Value q, k, v, g, init, o, state, beta;
  /// Two-pass: f32 states at each chunk start, [B * Hv, chunks, K, V].
  mlir::Value chunkStates;
};

/// What one launch of the chunked kernel computes.
enum class KernelMode { fused, states, outputs };

/// Launches the fused chunked linear-attention kernel: one block of
/// chunk/16 warps per (batch, state head, value tile); the f32 state lives
/// in the warps' accumulator registers across the sequential chunk loop.
/// Per chunk: K and V tiles arrive in shared memory by cp.async, the
/// queries go straight into A fragments, P = (Q K^T) * mask * decay is
/// computed and kept in registers as the A operand of P V, and Q S reads a
/// 16-bit copy of the state from shared memory; then
/// S = exp(G_last) S + K^T (exp(G_last - G) * V). With a per-channel
/// (vector) gate the intra-chunk scores use 16-token sub-chunks: blocks
/// below the diagonal are tensor-core products of Q * exp(G - G_ref) and
/// K * exp(G_ref - G) with the key sub-chunk's last row as reference (both
/// factors <= 1), diagonal blocks are summed exactly per element, and the
/// state update uses K * exp(G_last - G). Returns the launch's async token
/// (it depends on `dependency`).
mlir::Value buildLinearAttentionLaunch(mlir::ImplicitLocOpBuilder &b,
                                       const LinearAttentionConfig &config,
                                       const DeviceBuffers &buffers,
                                       mlir::Value batch, mlir::Value tokens,
                                       mlir::Value dependency);

/// The static shape of an attention op and its kernel's tiling.
struct AttentionConfig {
  int64_t hq = 0, hkv = 0, keyDim = 0, valueDim = 0;
  bool causal = false, forgetGate = false;
  int64_t window = 0;
  int64_t block = 0; // block mask length, 0: off
  float scale = 1.0f;
  float softcap = 0.0f;    // logit soft-cap, 0: off
  mlir::Type elemType;     // f16 or bf16
  int64_t queryBlock = 64; // query rows per block (16 per warp)
  int64_t keyBlock = 64;   // keys per step of the online softmax
  int64_t paddedKey() const { return (keyDim + 15) / 16 * 16; }
  int64_t paddedValue() const { return (valueDim + 15) / 16 * 16; }
  int64_t warps() const { return queryBlock / 16; }
  int64_t sharedBytes() const;
};

std::string configureAttention(mix::AttentionOp op, AttentionConfig &config);

/// Launches the flash-attention kernel: one block of 4 warps per (batch,
/// query head, 64 query rows); each warp keeps its 16 rows' queries as A
/// fragments, running max and sum, and the f32 output accumulators in
/// registers while K and V blocks stream through shared memory (cp.async);
/// S = Q K^T and O += P V run on the tensor cores, P staying in registers.
/// Key blocks wholly outside the causal mask, the window or the block mask
/// are not visited.
/// With a forget gate (`buffers.g`), a first kernel writes G = cumsum(g)
/// into `buffers.state` ([B, T, Hq] f32, one block per (batch, head), a
/// two-level scan) and the scores get G_i - G_j.
mlir::Value buildAttentionLaunch(mlir::ImplicitLocOpBuilder &b,
                                 const AttentionConfig &config,
                                 const DeviceBuffers &buffers,
                                 mlir::Value batch, mlir::Value tokens,
                                 mlir::Value keys, mlir::Value dependency);

/// Launches the element-wise scan: one thread per (batch, channel), the
/// sequence in order (x in `buffers.q`, g in `.g`, initial state in `.init`,
/// outputs in `.o` and `.state`).
mlir::Value buildScanLaunch(mlir::ImplicitLocOpBuilder &b,
                            const DeviceBuffers &buffers, int64_t channels,
                            mlir::Value batch, mlir::Value tokens,
                            mlir::Value dependency);

} // namespace mixir::gpu_lowering

#endif
