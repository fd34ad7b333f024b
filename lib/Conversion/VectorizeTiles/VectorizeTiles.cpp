//===- VectorizeTiles.cpp - register tiles for the chunked form on CPUs ---===//
#include "MatmulToAmx.h"
#include "mixir/Conversion/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mixir {
#define GEN_PASS_DEF_VECTORIZETILES
#define GEN_PASS_DEF_HOISTVECTORTRANSFERS
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {

/// Rows and columns of one register tile: 8 x 32 f32 accumulators are 16
/// AVX-512 or 32 AVX2 registers' worth, updated by one outer product per
/// reduction step.
constexpr int64_t kTileRows = 8;
constexpr int64_t kTileCols = 32;

/// The largest power of two <= `limit` dividing `bound`, so tiles are whole
/// and need no masks (head dims like 60 or 100 get narrower tiles).
int64_t dividingTile(int64_t limit, int64_t bound) {
  int64_t t = limit;
  while (t > 1 && bound % t != 0)
    t /= 2;
  return t;
}

/// Register-tile sizes for `op`'s loops: the last two parallel loops get
/// rows x columns, reduction loops step by one.
SmallVector<int64_t> tileSizesFor(linalg::LinalgOp op) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  SmallVector<int64_t> sizes(iters.size(), 1);
  SmallVector<unsigned> parallel;
  for (auto [i, it] : llvm::enumerate(iters))
    if (it == utils::IteratorType::parallel)
      parallel.push_back(i);
  // When every input is contiguous along the same reduction loop (a
  // contraction that is not a matmul, e.g. sum_k x_ik y_jk f(i, j, k)),
  // vectorise along that loop: 32-wide reductions for 8 outputs at a time.
  std::optional<unsigned> innerReduction;
  bool allInner = op.getNumDpsInputs() > 0;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    auto dim = map.getNumResults()
                   ? dyn_cast<AffineDimExpr>(map.getResults().back())
                   : nullptr;
    if (!dim || iters[dim.getPosition()] != utils::IteratorType::reduction ||
        (innerReduction && *innerReduction != dim.getPosition())) {
      allInner = false;
      break;
    }
    innerReduction = dim.getPosition();
  }
  if (allInner && innerReduction) {
    sizes[*innerReduction] = dividingTile(kTileCols, bounds[*innerReduction]);
    if (!parallel.empty())
      sizes[parallel.back()] = dividingTile(kTileRows, bounds[parallel.back()]);
    return sizes;
  }
  if (!parallel.empty())
    sizes[parallel.back()] = dividingTile(kTileCols, bounds[parallel.back()]);
  if (parallel.size() >= 2) {
    unsigned rows = parallel[parallel.size() - 2];
    sizes[rows] = dividingTile(kTileRows, bounds[rows]);
  }
  return sizes;
}

struct VectorizeTiles : mixir::impl::VectorizeTilesBase<VectorizeTiles> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      // Fills and copies stay simple loops that LLVM vectorises itself.
      if (isa<linalg::FillOp, linalg::CopyOp>(op.getOperation()))
        return;
      // AMX tile products stay whole for mix-matmul-to-amx.
      auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation());
      if (amx && matmul && mixir::fitsAmxTiles(matmul))
        return;
      if (op.hasPureTensorSemantics() && !op.hasDynamicShape())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      SmallVector<int64_t> sizes = tileSizesFor(op);
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
      rewriter.setInsertionPoint(op);
      auto tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled))
        continue; // left as is; convert-linalg-to-loops handles it later
      rewriter.replaceOp(op, tiled->replacements);
      for (Operation *tile : tiled->tiledOps) {
        rewriter.setInsertionPoint(tile);
        SmallVector<bool> fixedWidth(sizes.size(), false);
        auto vectorized = linalg::vectorize(
            rewriter, tile, sizes, fixedWidth,
            /*vectorizeNDExtract=*/true, /*flatten1DDepthwiseConv=*/false,
            /*assumeDynamicDimsMatchVecSizes=*/false,
            /*createNamedContraction=*/false);
        if (succeeded(vectorized))
          rewriter.replaceOp(tile, vectorized->replacements);
      }
    }

    // Phase 1: fold slices into transfers, turn the vectorised reductions
    // of products back into vector.contract.
    RewritePatternSet prepare(&getContext());
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(prepare);
    vector::populateVectorReductionToContractPatterns(prepare);
    vector::populateSinkVectorOpsPatterns(prepare);
    vector::populateVectorTransferPermutationMapLoweringPatterns(prepare);
    vector::populateVectorStepLoweringPatterns(prepare);
    linalg::populateLinalgTilingCanonicalizationPatterns(prepare);
    vector::TransferReadOp::getCanonicalizationPatterns(prepare, &getContext());
    vector::TransferWriteOp::getCanonicalizationPatterns(prepare,
                                                         &getContext());
    if (failed(applyPatternsGreedily(func, std::move(prepare))))
      return signalPassFailure();

    // Phase 2: contractions to outer products to FMAs.
    RewritePatternSet contract(&getContext());
    vector::populateVectorContractLoweringPatterns(
        contract, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorOuterProductLoweringPatterns(contract);
    if (failed(applyPatternsGreedily(func, std::move(contract))))
      return signalPassFailure();

    // Phase 3: what remains of n-D vector ops, and vectorisable math.
    RewritePatternSet patterns(&getContext());
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerParallel);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, vector::VectorTransposeLowering::EltWise);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name == "math.exp"; });
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();
  }
};

/// The memref a transfer reads or writes when it is not a view of another
/// (pairs on views are left alone, as upstream does).
bool isPlainBuffer(Value base) {
  return !isa_and_nonnull<ViewLikeOpInterface>(base.getDefiningOp());
}

/// Whether nothing inside `loop` may write the buffer `read` reads (views
/// of it included).
bool noWriteInLoop(vector::TransferReadOp read, scf::ForOp loop) {
  Value source = read.getBase();
  while (auto view =
             dyn_cast_or_null<ViewLikeOpInterface>(source.getDefiningOp()))
    source = view.getViewSource();
  SmallVector<Operation *> users(source.getUsers());
  llvm::SmallDenseSet<Operation *> seen;
  while (!users.empty()) {
    Operation *user = users.pop_back_val();
    if (!seen.insert(user).second)
      continue;
    if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
      llvm::append_range(users, view->getUsers());
      continue;
    }
    if (!isMemoryEffectFree(user) && !isa<vector::TransferReadOp>(user) &&
        loop->isAncestor(user))
      return false;
  }
  return true;
}

/// Hoists out of `loop` (which runs at least once) each read/write pair of
/// one vector at loop-invariant indices (an accumulator: the loop carries the
/// vector instead) and each loop-invariant read of a buffer the loop does not
/// write, with the conditions of upstream hoistRedundantVectorTransfers; all
/// pairs of the loop in one rewrite.
void hoistOutOf(IRRewriter &rewriter, scf::ForOp loop) {
  std::optional<APInt> trips = loop.getStaticTripCount();
  if (!trips || trips->isZero())
    return;
  SmallVector<vector::TransferReadOp> reads, alone;
  SmallVector<vector::TransferWriteOp> writes;
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto read = dyn_cast<vector::TransferReadOp>(&op);
    if (!read || !isa<MemRefType>(read.getShapedType()) ||
        !llvm::all_of(read->getOperands(),
                      [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }))
      continue;
    // The first write of the same buffer the read's value flows into.
    SetVector<Operation *> slice;
    getForwardSlice(read.getOperation(), &slice);
    vector::TransferWriteOp write;
    for (Operation *user : slice) {
      auto w = dyn_cast<vector::TransferWriteOp>(user);
      if (w && w.getBase() == read.getBase()) {
        write = w;
        break;
      }
    }
    if (!write) {
      if (noWriteInLoop(read, loop))
        alone.push_back(read);
      continue;
    }
    if (write->getParentOp() != loop || !read->isBeforeInBlock(write) ||
        llvm::is_contained(writes, write) ||
        read.getIndices() != write.getIndices() ||
        read.getVectorType() != write.getVectorType() ||
        read.getPermutationMap() != write.getPermutationMap() ||
        !isPlainBuffer(read.getBase()))
      continue;
    // Every other access of the buffer in the loop touches other elements.
    bool disjoint = llvm::all_of(read.getBase().getUses(), [&](OpOperand &use) {
      Operation *user = use.getOwner();
      if (user == read || user == write || !loop->isAncestor(user))
        return true;
      auto other = dyn_cast<VectorTransferOpInterface>(user);
      return other && vector::isDisjointTransferSet(
                          cast<VectorTransferOpInterface>(write.getOperation()),
                          other, /*testDynamicValueUsingBounds=*/true);
    });
    if (!disjoint)
      continue;
    reads.push_back(read);
    writes.push_back(write);
  }
  for (vector::TransferReadOp read : alone)
    loop.moveOutOfLoop(read);
  if (reads.empty())
    return;
  SmallVector<Value> inits;
  for (vector::TransferReadOp read : reads) {
    loop.moveOutOfLoop(read);
    inits.push_back(read.getVector());
  }
  for (vector::TransferWriteOp write : llvm::reverse(writes))
    write->moveAfter(loop);
  SmallVector<Value> stored;
  for (vector::TransferWriteOp write : writes)
    stored.push_back(write.getValueToStore());
  unsigned before = loop.getNumResults();
  FailureOr<LoopLikeOpInterface> hoisted = loop.replaceWithAdditionalYields(
      rewriter, inits, /*replaceInitOperandUsesInLoop=*/true,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) { return stored; });
  assert(succeeded(hoisted) && "scf.for takes any additional yields");
  for (auto [i, write] : llvm::enumerate(writes))
    write.getValueToStoreMutable().assign((*hoisted)->getResult(before + i));
}

/// The effect of upstream linalg::hoistRedundantVectorTransfers (with
/// verifyNonZeroTrip), in one sweep over the loops, innermost first: upstream
/// restarts its walk of the whole function after every hoisted pair, which
/// is quadratic in the size of a chunked body (hundreds of register-tile
/// accumulators).
struct HoistVectorTransfers
    : mixir::impl::HoistVectorTransfersBase<HoistVectorTransfers> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    IRRewriter rewriter(&getContext());
    // Post-order: a pair hoisted out of an inner loop can be hoisted again
    // out of the loop around it. Each loop is visited once; only the loop
    // being rewritten is replaced.
    for (scf::ForOp loop : loops) {
      moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
      hoistOutOf(rewriter, loop);
    }
  }
};

} // namespace
