//===- VectorizeTiles.cpp - register tiles for the chunked form on CPUs ---===//
#include "mixir/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      // Fills and copies stay simple loops that LLVM vectorises itself.
      if (isa<linalg::FillOp, linalg::CopyOp>(op.getOperation()))
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
    vector::TransferWriteOp::getCanonicalizationPatterns(prepare, &getContext());
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

struct HoistVectorTransfers
    : mixir::impl::HoistVectorTransfersBase<HoistVectorTransfers> {
  void runOnOperation() override {
    linalg::hoistRedundantVectorTransfers(getOperation(),
                                          /*verifyNonZeroTrip=*/true);
  }
};

} // namespace
