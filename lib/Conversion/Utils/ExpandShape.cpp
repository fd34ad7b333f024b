//===- ExpandShape.cpp - the mix-legalize-expand-shape pass ---------------===//
//
// MLIR 22's expand-strided-metadata crashes (a null size in
// memref.reinterpret_cast's builder) on a memref.expand_shape that splits
// one dimension into several dynamic ones, such as [B*T, D] -> [B, T, D]
// with B and T known at run time only: the natural way to write a
// projection over all tokens. On a row-major source such an expansion is a
// row-major view with the output sizes and their suffix products as
// strides, which this pass writes as memref.reinterpret_cast instead. The
// output sizes are the caller's word (tensor.expand_shape's output_shape);
// in host code, sizes whose product is not the source's size are reported
// as the function's error and the view's sizes are then 0. (Loops already
// bounded by the same sizes taken from elsewhere are not rewritten; the
// error still reaches the caller.) Inside parallel regions and kernels,
// where the report would not reach the caller, the cast is made without
// the check.
//
//===----------------------------------------------------------------------===//
#include "Conversion/Utils/ShapeChecks.h"
#include "mixir/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mixir {
#define GEN_PASS_DEF_LEGALIZEEXPANDSHAPE
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {

/// x * y, folded when both are constants or one is 1.
OpFoldResult times(ImplicitLocOpBuilder &b, OpFoldResult x, OpFoldResult y) {
  std::optional<int64_t> cx = getConstantIntValue(x);
  std::optional<int64_t> cy = getConstantIntValue(y);
  if (cx && cy)
    return b.getIndexAttr(*cx * *cy);
  if (cx == 1)
    return y;
  if (cy == 1)
    return x;
  return arith::MulIOp::create(
             b, getValueOrCreateConstantIndexOp(b, b.getLoc(), x),
             getValueOrCreateConstantIndexOp(b, b.getLoc(), y))
      .getResult();
}

/// The output sizes of `op`, checked group by group against the source's:
/// on a mismatch, reported, and the group's first dynamic size 0. (Groups
/// of static sizes only are the verifier's.)
SmallVector<OpFoldResult> checkedSizes(memref::ExpandShapeOp op,
                                       PatternRewriter &rewriter) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  auto module = op->getParentOfType<ModuleOp>();
  SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
  MemRefType type = op.getResultType();
  for (auto [src, group] : llvm::enumerate(op.getReassociationIndices())) {
    const int64_t *dynamic =
        llvm::find_if(group, [&](int64_t d) { return type.isDynamicDim(d); });
    if (dynamic == group.end())
      continue;
    OpFoldResult product = b.getIndexAttr(1);
    for (int64_t d : group)
      product = times(b, product, sizes[d]);
    Value got = getValueOrCreateConstantIndexOp(b, b.getLoc(), product);
    Value want = memref::DimOp::create(b, op.getSrc(), src);
    mixir::lowering::reportIfDiffers(
        b, module, got, want,
        "tensor.expand_shape: the product of the output sizes split from "
        "source dim " +
            std::to_string(src) + " differs from that dim's size");
    Value ok = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, got, want);
    OpFoldResult &size = sizes[*dynamic];
    size = arith::SelectOp::create(
               b, ok, getValueOrCreateConstantIndexOp(b, b.getLoc(), size),
               arith::ConstantIndexOp::create(b, 0))
               .getResult();
  }
  return sizes;
}

/// Whether a run-time error reported at `op` reaches the caller: `op` is in
/// a host function, outside any parallel loop, OpenMP region or kernel
/// (the error hook's record is per thread).
bool reportsToCaller(Operation *op) {
  for (Operation *p = op->getParentOp(); p; p = p->getParentOp()) {
    if (isa<func::FuncOp>(p))
      return isa<ModuleOp>(p->getParentOp());
    StringRef dialect = p->getDialect() ? p->getDialect()->getNamespace() : "";
    if (isa<scf::ParallelOp, scf::ForallOp>(p) || dialect == "omp" ||
        dialect == "gpu")
      return false;
  }
  return false;
}

/// Whether some group of `op` expands into more than one dynamic size.
bool splitsIntoDynamicSizes(memref::ExpandShapeOp op) {
  MemRefType type = op.getResultType();
  for (const ReassociationIndices &group : op.getReassociationIndices())
    if (llvm::count_if(group, [&](int64_t d) { return type.isDynamicDim(d); }) >
        1)
      return true;
  return false;
}

struct ExpandShapeAsCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getSrcType().getLayout().isIdentity() ||
        !op.getResultType().getLayout().isIdentity() ||
        !splitsIntoDynamicSizes(op))
      return failure();
    SmallVector<OpFoldResult> sizes = reportsToCaller(op)
                                          ? checkedSizes(op, rewriter)
                                          : op.getMixedOutputShape();
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
    for (int64_t d = int64_t(sizes.size()) - 2; d >= 0; --d)
      strides[d] = times(b, strides[d + 1], sizes[d + 1]);
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        op, op.getResultType(), op.getSrc(), rewriter.getIndexAttr(0), sizes,
        strides);
    return success();
  }
};

struct LegalizeExpandShape
    : mixir::impl::LegalizeExpandShapeBase<LegalizeExpandShape> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeAsCast>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
