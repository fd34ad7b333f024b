//===- BlockThreads.h - the chunked form on a block of threads --*- C++ -*-===//
//
// Internal to lib/Conversion/MixToGPU: how convert-chunked-to-gpu runs one
// (batch, state head) iteration of the chunked form on a whole thread block
// instead of one thread.
//
// The iteration's body is the chunk loop on static tiles, bufferized, with
// its tile ops lowered to `scf.parallel` (parallel dims) around `scf.for`
// (reductions). Executed by every thread of the block alike ("uniformly"):
//   - each top-level `scf.parallel` is spread over the threads (iteration
//     i goes to thread i mod N), with a barrier before and after;
//   - every other op that writes memory runs on thread 0 alone, its scalar
//     and vector results broadcast through shared memory, between barriers;
//   - everything else (index arithmetic, loads, control flow whose regions
//     hold the above) runs on every thread, which all compute the same
//     values;
//   - tiles (allocations outside the parallel loops) are shared by the
//     block: in shared memory while they fit, in a slice of a global
//     scratch buffer beyond that; allocations inside a parallel loop are
//     the thread's own.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOGPU_BLOCKTHREADS_H
#define MIXIR_LIB_CONVERSION_MIXTOGPU_BLOCKTHREADS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mixir::gpu_lowering {

/// Threads per block of the cooperative mapping.
constexpr int64_t kBlockThreads = 128;
/// Shared memory the tiles may take (the 48 KiB a kernel gets without an
/// opt-in, less room for the broadcast slots).
constexpr int64_t kTileSharedBudget = 46 * 1024;

/// memref.copy as a loop nest of loads and stores (a parallel one, or
/// scf.for): in device code it would otherwise become a call to the host
/// runtime's memrefCopy.
void copyAsLoops(mlir::memref::CopyOp copy, bool parallel);

/// Bytes of one tile (index and other widthless elements count 8).
int64_t tileBytes(mlir::MemRefType type);

/// Marks an scf.parallel whose iterations each go to a whole warp (the
/// tensor-core tiles of lowerKeptMatmuls) rather than to one thread.
constexpr llvm::StringLiteral kWarpTileAttr = "mixir.warp_tile";

/// Lowers the linalg ops of `body` (bufferized) to parallel loops, except,
/// with `keepMatmuls`, the f32 matmuls the tensor cores could take
/// (tensorCoreMatmul), which stay for lowerKeptMatmuls once it is known
/// whether a block will share the body (blockMappable and planTiles see
/// them as the parallel work they become).
void lowerBodyLinalg(mlir::Region &body, bool keepMatmuls);

/// Marks the scf.parallel of a warpgroup product (Warpgroup.cpp): 128
/// iterations, iteration i run by thread i, all of them together.
constexpr llvm::StringLiteral kWarpgroupAttr = "mixir.warpgroup";

/// How the matmuls lowerBodyLinalg kept run.
enum class KeptMatmuls {
  loops,     // parallel loops (one thread, or no block shares the body)
  mmaSync,   // 16 x 8 tiles of the result, a warp each, mma.sync m16n8k16
  warpgroup, // sm_90a: wgmma m64nNk16 where the shape allows, else mmaSync
};

/// Lowers the matmuls lowerBodyLinalg kept. On the tensor cores (a block
/// shares the body) the operands are split into bf16 high and low parts
/// (hi*hi + hi*lo + lo*hi: about 16 bits of the f32 mantissa); inside
/// another parallel loop, and with `loops`, they become parallel loops.
/// With `warpgroup`, returns the allocation of the shared staging buffer
/// the warpgroup products use (null if none does), for the tile plan.
mlir::memref::AllocOp lowerKeptMatmuls(mlir::Region &body, KeptMatmuls how);

/// True when an scf.parallel encloses `op` below `stopAt`.
bool insideParallel(mlir::Operation *op, mlir::Operation *stopAt);
/// True when `op` holds work a block spreads: a parallel loop, or a matmul
/// lowerBodyLinalg kept (it becomes one).
bool containsParallel(mlir::Operation *op);
/// The buffer a view (of views) looks into.
mlir::Value rootOf(mlir::Value v);

/// True when `mm` can run on the m16n8k16 tiles: f32 memrefs, plain maps,
/// static dims, padded to the tile with at most twice the work.
bool tensorCoreMatmul(mlir::linalg::MatmulOp mm);
/// True when `mm` can run as warpgroup MMAs as well: M % 64 == 0, and N up
/// to 128 or a multiple of 128.
bool warpgroupMatmul(mlir::linalg::MatmulOp mm);
/// 16-byte rows of the staging buffer the warpgroup products of `body`
/// need (0 if none qualifies), and its type.
int64_t warpgroupStagingRows(mlir::Region &body);
mlir::MemRefType warpgroupStagingType(mlir::MLIRContext *ctx, int64_t rows);
/// C += A B as warpgroup MMAs with operands staged in `stage`.
void matmulOnWarpgroup(mlir::linalg::MatmulOp mm, mlir::Value stage);

/// Rewrites in `body` (an iteration of the forall, before it is cloned into
/// a launch): copies into parallel loop nests, and loops over tile rows
/// whose iterations touch disjoint rows into `scf.parallel`.
void exposeParallelLoops(mlir::Region &body);

/// Cuts the 1-D vectors of `body` (a row of a tile is one) into segments
/// of a few lanes where its lanes are independent: a parallel loop over
/// rows gains a dim over the segments, and code outside parallel loops
/// (what one thread would run) becomes a parallel loop over them
/// (VectorLanes.cpp). Keeps a row of D = 128 lanes out of one thread's
/// registers.
void splitVectorLanes(mlir::Region &body);

/// The tiles of `body` (allocations outside any scf.parallel) and where
/// each goes: the first static ones (smallest first) in shared memory up to
/// the budget, the other static ones at byte offsets of a per-block global
/// scratch slice, and those of a dynamic size (whose sizes are computed
/// before the loop; planTiles moves them there) after those.
struct TilePlan {
  llvm::SmallVector<mlir::memref::AllocOp> shared;
  llvm::SmallVector<std::pair<mlir::memref::AllocOp, int64_t>> global;
  int64_t globalBytes = 0; // per block, static tiles
  llvm::SmallVector<mlir::memref::AllocOp> dynamic;

  /// Bytes of a block's scratch slice, built at `b` (the dynamic sizes must
  /// be available there).
  mlir::Value sliceBytes(mlir::OpBuilder &b, mlir::Location loc) const;
  bool needsScratch() const { return !global.empty() || !dynamic.empty(); }
};
/// `reservedShared` bytes of shared memory are kept for other buffers.
mlir::FailureOr<TilePlan> planTiles(mlir::Region &body,
                                    int64_t reservedShared = 0);

/// Whether `body` can be run by a block (what mapOntoBlock needs); emits
/// nothing.
bool blockMappable(mlir::Region &body);

/// Maps the launch body (a clone of the planned iteration; `plan` refers to
/// the clone's allocations) onto `threads` threads: tiles placed (`scratch`
/// is the device buffer of `sliceBytes` per block, or null), parallel
/// loops spread, writes guarded, barriers placed.
mlir::LogicalResult mapOntoBlock(mlir::gpu::LaunchOp launch,
                                 const TilePlan &plan, mlir::Value scratch,
                                 mlir::Value sliceBytes, int64_t threads);

} // namespace mixir::gpu_lowering

#endif
