//===- KernelBase.h - shared pieces of the mix GPU kernels ------*- C++ -*-===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOGPU_KERNELBASE_H
#define MIXIR_LIB_CONVERSION_MIXTOGPU_KERNELBASE_H

#include "Fragments.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include <functional>

namespace mixir::gpu_lowering {

/// Extra columns per shared-memory row so that ldmatrix's eight row reads
/// fall into different banks.
constexpr int64_t kRowPad = 8;
/// Shared memory per block stays within the 48 KiB a kernel gets without an
/// opt-in.
constexpr int64_t kSharedLimit = 48 * 1024;

/// Structured-control-flow and data-movement helpers for building a kernel
/// body inside a gpu.launch of `warps` warps; every helper inserts at `b`'s
/// insertion point.
class KernelBase {
public:
  KernelBase(ImplicitLocOpBuilder &b, int64_t warps)
      : b(b), ix{b}, warps_(warps) {}

protected:
  /// Reads the thread's coordinates (call first, inside the launch body).
  void setUp(mlir::gpu::LaunchOp launch);
  int64_t warps() const { return warps_; }
  int64_t threads() const { return 32 * warps_; }

  void ifThen(Value cond, const std::function<void()> &then);
  llvm::SmallVector<Value>
  ifThenElse(Value cond, mlir::TypeRange types,
             const std::function<llvm::SmallVector<Value>()> &t,
             const std::function<llvm::SmallVector<Value>()> &e);
  /// for (i = tid; i < total; i += threads) f(i)
  void forThreads(int64_t total, const std::function<void(Value)> &f);
  void forRange(Value lb, Value ub, const std::function<void(Value)> &f);
  Value toF32(Value x);
  /// Stores zero into every element of a 2-D shared tile.
  void zeroShared(Value tile);
  /// cp.async of `rows` rows src[batch, t0 + r, head, colBase + c] (c <
  /// cols) into dst[r, c]; rows at or past `tokens` and columns at or past
  /// `limit` are zero-filled. 16-byte copies where the dims allow.
  void copyRows(Value src, Value dst, int64_t rows, Value batch, Value t0,
                Value tokens, Value head, Value colBase, int64_t cols,
                int64_t limit);
  /// The A fragments (one per 16 key columns, `keySteps` of them) of this
  /// warp's 16 query rows t0 + m0 .. of q[batch, t, head, :], straight from
  /// global memory; rows past `tokens` and columns past `keyDim` are zero.
  llvm::SmallVector<Value> queryFragments(Value q, Value batch, Value t0,
                                          Value m0, Value tokens, Value head,
                                          int64_t keyDim, int64_t keySteps);
  /// Stores the accumulator at (m0, n0) of this warp as 16-bit pairs into
  /// out[batch, t0 + row, head, c0 + col] for rows before `tokens` and
  /// columns before `limit`.
  void storeRows(Value acc, Value out, Value batch, Value t0, Value m0,
                 Value tokens, Value head, Value c0, Value n0, int64_t limit);

  /// S = Q K^T for this warp's 16 query rows against `slices` 16-row slices
  /// of the key tile `keys` in shared memory: two accumulators (8 keys each)
  /// per slice, from the query A fragments `qf` (one per 16 key columns).
  llvm::SmallVector<Value> queryKeyScores(llvm::ArrayRef<Value> qf, Value keys,
                                          int64_t slices);

  /// Reduces an f32 over the four lanes that share an accumulator row
  /// (max or sum), with two xor shuffles.
  Value quadReduce(Value x, bool max);

  ImplicitLocOpBuilder &b;
  Ix ix;
  Value tid, warp;
  Lane lane;

private:
  int64_t warps_;
};

} // namespace mixir::gpu_lowering

#endif
