//===- Warpgroup.cpp - kept matmuls as Hopper warpgroup MMAs --------------===//
//
// The sm_90a mapping of the chunked form's tile products (see
// BlockThreads.h): the block's 128 threads are one warpgroup, and
// C += A B runs as `wgmma.mma_async` m64nNk16 with f32 accumulators in
// registers, 64 rows of C and up to 128 columns at a time.
//
// Each step of 16 along K stages A's 64 x 16 slice and B's 16 x N slice in
// shared memory as bf16 high and low parts (hi*hi + hi*lo + lo*hi keeps
// about 16 bits of the f32 tiles' mantissa, as the mma.sync mapping does),
// in the canonical K-major layout without swizzle: 8 x 8 core matrices of
// 16-byte rows, each 8-row group's two core matrices 128 bytes apart (the
// leading byte offset) and 8-row groups 256 bytes apart (the stride byte
// offset). A thread writes whole 16-byte core-matrix rows. The generic
// proxy's writes are fenced for the async proxy before the barrier that
// precedes the MMAs.
//
//===----------------------------------------------------------------------===//
#include "BlockThreads.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mixir::gpu_lowering {
namespace {

/// Columns of C one round of MMAs covers: all of N up to 128, else 128.
int64_t columnTile(int64_t n) { return n <= 128 ? n : 128; }

/// Staging rows (16 bytes each) for one step: A hi and lo (64 rows x two
/// core matrices each), then B hi and lo (`n` rows x two).
int64_t stagingRows(int64_t n) { return 4 * 64 + 4 * n; }

constexpr int64_t kLeadingBytes = 128; // next core matrix along K
constexpr int64_t kStrideBytes = 256;  // next group of 8 rows

} // namespace

bool warpgroupMatmul(linalg::MatmulOp mm) {
  if (!tensorCoreMatmul(mm))
    return false;
  auto a = cast<MemRefType>(mm.getDpsInputs()[0].getType());
  int64_t n = cast<MemRefType>(mm.getDpsInputs()[1].getType()).getDimSize(1);
  return a.getDimSize(0) % 64 == 0 && a.getDimSize(1) % 16 == 0 && n % 8 == 0 &&
         n % columnTile(n) == 0;
}

int64_t warpgroupStagingRows(Region &body) {
  int64_t rows = 0;
  body.walk([&](linalg::MatmulOp mm) {
    // Not one inside a parallel loop: that runs as loops.
    if (!insideParallel(mm, body.getParentOp()) && warpgroupMatmul(mm))
      rows = std::max(
          rows,
          stagingRows(columnTile(
              cast<MemRefType>(mm.getDpsInputs()[1].getType()).getDimSize(1))));
  });
  return rows;
}

MemRefType warpgroupStagingType(MLIRContext *ctx, int64_t rows) {
  return MemRefType::get({rows}, VectorType::get({8}, BFloat16Type::get(ctx)));
}

void matmulOnWarpgroup(linalg::MatmulOp mm, Value stage) {
  OpBuilder b(mm);
  Location loc = mm.getLoc();
  MLIRContext *ctx = b.getContext();
  Value A = mm.getDpsInputs()[0], B = mm.getDpsInputs()[1];
  Value C = mm.getDpsInits()[0];
  auto aType = cast<MemRefType>(A.getType());
  int64_t M = aType.getDimSize(0), K = aType.getDimSize(1);
  int64_t N = cast<MemRefType>(B.getType()).getDimSize(1);
  int64_t nt = columnTile(N);
  Type f32 = b.getF32Type(), bf16 = b.getBF16Type(), i64 = b.getI64Type();
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, int64_t y) -> Value {
    return arith::MulIOp::create(b, loc, x, cst(y));
  };
  auto div = [&](Value x, int64_t y) -> Value {
    return arith::DivUIOp::create(b, loc, x, cst(y));
  };
  auto rem = [&](Value x, int64_t y) -> Value {
    return arith::RemUIOp::create(b, loc, x, cst(y));
  };

  // Iteration t is thread t of the warpgroup (BlockMapper::spread).
  auto par = scf::ParallelOp::create(b, loc, ValueRange{cst(0)},
                                     ValueRange{cst(kBlockThreads)},
                                     ValueRange{cst(1)});
  par->setAttr(kWarpgroupAttr, b.getUnitAttr());
  b.setInsertionPoint(par.getBody()->getTerminator());
  Value t = par.getInductionVars()[0];

  // Descriptors: the staging buffer's shared-window address.
  auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto stageType = cast<MemRefType>(stage.getType());
  Value sharedView = memref::MemorySpaceCastOp::create(
      b, loc,
      MemRefType::get(stageType.getShape(), stageType.getElementType(),
                      MemRefLayoutAttrInterface(), space),
      stage);
  Value base = arith::IndexCastOp::create(
      b, loc, i64,
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, sharedView));
  auto i64c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, v);
  };
  const int64_t fields = (kLeadingBytes >> 4) << 16 | (kStrideBytes >> 4) << 32;
  auto descriptor = [&](int64_t row) -> Value {
    Value addr = arith::AddIOp::create(b, loc, base, i64c(row * 16));
    Value start = arith::ShRUIOp::create(
        b, loc, arith::AndIOp::create(b, loc, addr, i64c(0x3FFFF)), i64c(4));
    return arith::OrIOp::create(b, loc, start, i64c(fields));
  };
  const int64_t aHi = 0, aLo = 128, bHi = 256, bLo = 256 + 2 * nt;

  // The lane's accumulator elements: for each 8 columns j, rows g and g + 8
  // of its warp's 16, columns 2q and 2q + 1.
  Value warp = div(t, 32), lane = rem(t, 32);
  Value rowBase = add(mul(warp, 16), div(lane, 4));
  Value colBase = mul(rem(lane, 4), 2);
  SmallVector<Type> fieldTypes(nt / 2, f32);
  auto accType = LLVM::LLVMStructType::getLiteral(ctx, fieldTypes);
  auto element = [&](int64_t idx, Value m0, Value n0) {
    int64_t j = idx / 4, r = (idx / 2) % 2, e = idx % 2;
    return std::pair<Value, Value>{add(m0, add(rowBase, cst(8 * r))),
                                   add(n0, add(colBase, cst(8 * j + e)))};
  };

  auto mLoop = scf::ForOp::create(b, loc, cst(0), cst(M), cst(64));
  b.setInsertionPointToStart(mLoop.getBody());
  Value m0 = mLoop.getInductionVar();
  auto nLoop = scf::ForOp::create(b, loc, cst(0), cst(N), cst(nt));
  b.setInsertionPointToStart(nLoop.getBody());
  Value n0 = nLoop.getInductionVar();
  Value acc = LLVM::PoisonOp::create(b, loc, accType);
  for (int64_t i = 0; i < nt / 2; ++i) {
    auto [r, c] = element(i, m0, n0);
    acc = LLVM::InsertValueOp::create(
        b, loc, acc, memref::LoadOp::create(b, loc, C, ValueRange{r, c}), i);
  }
  auto kLoop =
      scf::ForOp::create(b, loc, cst(0), cst(K), cst(16), ValueRange{acc});
  b.setInsertionPointToStart(kLoop.getBody());
  Value k0 = kLoop.getInductionVar();
  // The previous step's MMAs have read the staging buffer (each thread
  // waited for its group) before anyone overwrites it.
  gpu::BarrierOp::create(b, loc);
  auto rowType = VectorType::get({8}, bf16);
  // One 16-byte row of a core matrix: 8 consecutive k of one row (of A) or
  // column (of B), split into high and low bf16 parts.
  auto stageRow = [&](std::function<Value(int64_t)> load, Value row, Value kb,
                      int64_t hiAt, int64_t loAt) {
    SmallVector<Value> hi, lo;
    for (int64_t e = 0; e < 8; ++e) {
      Value x = load(e);
      Value h = arith::TruncFOp::create(b, loc, bf16, x);
      Value rest = arith::SubFOp::create(b, loc, x,
                                         arith::ExtFOp::create(b, loc, f32, h));
      hi.push_back(h);
      lo.push_back(arith::TruncFOp::create(b, loc, bf16, rest));
    }
    Value at = add(add(mul(div(row, 8), 16), mul(kb, 8)), rem(row, 8));
    memref::StoreOp::create(b, loc,
                            vector::FromElementsOp::create(b, loc, rowType, hi),
                            stage, ValueRange{add(at, cst(hiAt))});
    memref::StoreOp::create(b, loc,
                            vector::FromElementsOp::create(b, loc, rowType, lo),
                            stage, ValueRange{add(at, cst(loAt))});
  };
  {
    // A: 64 rows x 2 core matrices, one row per thread.
    Value r = div(t, 2), kb = rem(t, 2);
    Value k = add(k0, mul(kb, 8));
    stageRow(
        [&](int64_t e) -> Value {
          return memref::LoadOp::create(b, loc, A,
                                        ValueRange{add(m0, r), add(k, cst(e))});
        },
        r, kb, aHi, aLo);
  }
  {
    // B: nt columns x 2 core matrices, thread t taking t, t + 128, ...
    auto loop = scf::ForOp::create(b, loc, t, cst(2 * nt), cst(kBlockThreads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    Value n = div(i, 2), kb = rem(i, 2);
    Value k = add(k0, mul(kb, 8));
    stageRow(
        [&](int64_t e) -> Value {
          return memref::LoadOp::create(b, loc, B,
                                        ValueRange{add(k, cst(e)), add(n0, n)});
        },
        n, kb, bHi, bLo);
  }
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
  gpu::BarrierOp::create(b, loc);
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  Value d = kLoop.getRegionIterArgs()[0];
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, nt, 16);
  for (auto [x, y] : {std::pair{aHi, bHi}, {aHi, bLo}, {aLo, bHi}})
    d = NVVM::WgmmaMmaAsyncOp::create(
        b, loc, accType, d, descriptor(x), descriptor(y), shape,
        NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::f32,
        NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
        NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row, NVVM::MMALayout::col,
        NVVM::MMAIntOverflowAttr());
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  scf::YieldOp::create(b, loc, ValueRange{d});
  b.setInsertionPointAfter(kLoop);
  acc = kLoop.getResult(0);
  for (int64_t i = 0; i < nt / 2; ++i) {
    auto [r, c] = element(i, m0, n0);
    memref::StoreOp::create(b, loc,
                            LLVM::ExtractValueOp::create(b, loc, acc, i), C,
                            ValueRange{r, c});
  }
  mm.erase();
}

} // namespace mixir::gpu_lowering
