//===- FuseIntoExtracts.cpp - mix-fuse-elementwise-into-extracts
//-----------===//
//
// `tensor.extract %r[i...]` of an element-wise linalg.generic's result `%r`
// becomes the generic's body evaluated at (i...): each input read with
// tensor.extract at the indices its indexing map selects (a broadcast input
// such as A_log[h] at i[h]). The generic is rewritten only when every use of
// its result is such an extract or a tensor.dim (which reads the init's
// dim instead), so the tensor is never written; an element read by several
// extracts is computed by each (once per token and extract site in the
// mix lowerings, which is what the materialised tensor cost to write).
// Runs to a fixpoint, so a chain of element-wise generics folds into the
// extracts of its last link.
//
//===----------------------------------------------------------------------===//
#include "mixir/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mixir {
#define GEN_PASS_DEF_FUSEELEMENTWISEINTOEXTRACTS
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {
/// Whether `op` can be evaluated at single elements: one result, every loop
/// parallel, the output indexed by the loops themselves, inputs through
/// projected permutations (broadcasts allowed), a body of pure ops without
/// regions that ignores the output's value.
bool elementwise(linalg::GenericOp op) {
  if (op.getNumResults() != 1 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 || !op.hasPureTensorSemantics())
    return false;
  auto maps = op.getIndexingMapsArray();
  if (!maps.back().isIdentity())
    return false;
  for (OpOperand *in : op.getDpsInputOperands()) {
    if (!isa<RankedTensorType>(in->get().getType()) &&
        !in->get().getType().isIntOrIndexOrFloat())
      return false;
    if (isa<RankedTensorType>(in->get().getType()) &&
        !op.getMatchingIndexingMap(in).isProjectedPermutation(
            /*allowZeroInResults=*/true))
      return false;
  }
  if (!op.getMatchingBlockArgument(op.getDpsInitOperand(0)).use_empty())
    return false;
  for (Operation &inner : op.getBody()->without_terminator())
    if (inner.getNumRegions() != 0 || !isPure(&inner))
      return false;
  return true;
}

/// The element of `op`'s result at `indices`, computed before `at`.
Value evaluate(OpBuilder &b, linalg::GenericOp op, ValueRange indices) {
  Location loc = op.getLoc();
  IRMapping map;
  for (OpOperand *in : op.getDpsInputOperands()) {
    Value v = in->get();
    if (isa<RankedTensorType>(v.getType())) {
      SmallVector<Value> at;
      for (AffineExpr e : op.getMatchingIndexingMap(in).getResults()) {
        if (auto d = dyn_cast<AffineDimExpr>(e))
          at.push_back(indices[d.getPosition()]);
        else
          at.push_back(arith::ConstantIndexOp::create(
              b, loc, cast<AffineConstantExpr>(e).getValue()));
      }
      v = tensor::ExtractOp::create(b, loc, v, at);
    }
    map.map(op.getMatchingBlockArgument(in), v);
  }
  for (Operation &inner : op.getBody()->without_terminator()) {
    if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
      map.map(idx.getResult(), indices[idx.getDim()]);
      continue;
    }
    b.clone(inner, map);
  }
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  return map.lookupOrDefault(yield.getOperand(0));
}

struct FuseElementwiseIntoExtracts
    : mixir::impl::FuseElementwiseIntoExtractsBase<
          FuseElementwiseIntoExtracts> {
  void runOnOperation() override {
    while (foldOnce()) {
    }
  }

  /// One sweep; true when it rewrote something.
  bool foldOnce() {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (!elementwise(op))
        return;
      bool onlyReads =
          !op->use_empty() && llvm::all_of(op->getUsers(), [](Operation *user) {
            return isa<tensor::ExtractOp, tensor::DimOp>(user);
          });
      if (onlyReads && llvm::any_of(op->getUsers(), [](Operation *user) {
            return isa<tensor::ExtractOp>(user);
          }))
        candidates.push_back(op);
    });
    for (linalg::GenericOp op : candidates) {
      Value init = op.getDpsInitOperand(0)->get();
      for (Operation *user : llvm::make_early_inc_range(op->getUsers())) {
        OpBuilder b(user);
        if (auto dim = dyn_cast<tensor::DimOp>(user)) {
          dim.getSourceMutable().assign(init);
          continue;
        }
        auto extract = cast<tensor::ExtractOp>(user);
        extract.replaceAllUsesWith(evaluate(b, op, extract.getIndices()));
        extract.erase();
      }
      op.erase();
    }
    return !candidates.empty();
  }
};
} // namespace
