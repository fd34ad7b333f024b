//===- ConvertReduce.cpp - reduce and reduce_window -----------------------===//
//
// Both start from their init operand and combine with the one op of their
// body (add, multiply, maximum, minimum, and, or) in one linalg.generic.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::stablehlo_import {
namespace {

enum class Combiner { add, mul, max, min, andOp, orOp };

/// The combiner of a reduce or reduce_window body: one add, multiply,
/// maximum, minimum, and or or of its two block arguments.
FailureOr<Combiner> bodyCombiner(OpView &v, Type elem) {
  const char *what =
      "the body must be one add, multiply, maximum, minimum, and or "
      "or of its two arguments";
  if (v.op->getNumRegions() != 1)
    return v.fail(what);
  Region &region = v.op->getRegion(0);
  if (region.empty() || region.front().getNumArguments() != 2 ||
      region.front().getOperations().size() != 2)
    return v.fail(what);
  Block &body = region.front();
  Operation &c = body.front();
  Operation *ret = &body.back();
  if (c.getNumOperands() != 2 ||
      !((c.getOperand(0) == body.getArgument(0) &&
         c.getOperand(1) == body.getArgument(1)) ||
        (c.getOperand(0) == body.getArgument(1) &&
         c.getOperand(1) == body.getArgument(0))) ||
      ret->getNumOperands() != 1 || ret->getOperand(0) != c.getResult(0))
    return v.fail(what);
  StringRef kind = c.getName().getStringRef();
  bool isFloat = isa<FloatType>(elem);
  if (kind == "stablehlo.add")
    return Combiner::add;
  if (kind == "stablehlo.multiply")
    return Combiner::mul;
  if (kind == "stablehlo.maximum")
    return Combiner::max;
  if (kind == "stablehlo.minimum")
    return Combiner::min;
  if (kind == "stablehlo.and" && !isFloat)
    return Combiner::andOp;
  if (kind == "stablehlo.or" && !isFloat)
    return Combiner::orOp;
  return v.fail("the body op '" + kind +
                "' is not supported (add, multiply, maximum, "
                "minimum, and, or)");
}

/// Booleans add as `or` and multiply as `and`; integers are signed.
Value combine(OpBuilder &b, Location l, Combiner kind, Value x, Value y) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t), isBool = t.isInteger(1);
  switch (kind) {
  case Combiner::add:
    if (isFloat)
      return arith::AddFOp::create(b, l, x, y);
    return isBool ? arith::OrIOp::create(b, l, x, y).getResult()
                  : arith::AddIOp::create(b, l, x, y).getResult();
  case Combiner::mul:
    if (isFloat)
      return arith::MulFOp::create(b, l, x, y);
    return isBool ? arith::AndIOp::create(b, l, x, y).getResult()
                  : arith::MulIOp::create(b, l, x, y).getResult();
  case Combiner::max:
    if (isFloat)
      return arith::MaximumFOp::create(b, l, x, y);
    return isBool ? arith::OrIOp::create(b, l, x, y).getResult()
                  : arith::MaxSIOp::create(b, l, x, y).getResult();
  case Combiner::min:
    if (isFloat)
      return arith::MinimumFOp::create(b, l, x, y);
    return isBool ? arith::AndIOp::create(b, l, x, y).getResult()
                  : arith::MinSIOp::create(b, l, x, y).getResult();
  case Combiner::andOp:
    return arith::AndIOp::create(b, l, x, y);
  case Combiner::orOp:
    return arith::OrIOp::create(b, l, x, y);
  }
  return x;
}

LogicalResult reduce(OpView &v) {
  if (v.numOperands() != 2 || v.op->getNumResults() != 1)
    return v.fail("reduces of several operands are not supported");
  auto dims = v.i64Array("dimensions");
  RankedTensorType it = v.operandType(0), rt = v.resultType();
  if (!dims)
    return v.fail("expects 'dimensions'");
  if (v.operandType(1).getRank() != 0)
    return v.fail("the init value must be a scalar");
  FailureOr<Combiner> kind = bodyCombiner(v, it.getElementType());
  if (failed(kind))
    return failure();
  int64_t rank = it.getRank();
  SmallVector<bool> reduced(rank, false);
  for (int64_t d : *dims) {
    if (d < 0 || d >= rank || reduced[d])
      return v.fail("dimensions out of range or repeated");
    reduced[d] = true;
  }
  MLIRContext *ctx = v.b.getContext();
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d) {
    iters.push_back(reduced[d] ? utils::IteratorType::reduction
                               : utils::IteratorType::parallel);
    if (!reduced[d]) {
      outExprs.push_back(getAffineDimExpr(d, ctx));
      kept.push_back(it.getDimSize(d));
    }
  }
  if (rt.getShape() != ArrayRef<int64_t>(kept))
    return v.fail(
        "the result shape is not the operand's without the reduced dims");
  // StableHLO starts each reduction from the init operand.
  Value init =
      tensor::ExtractOp::create(v.b, v.loc, v.operand(1), ValueRange{});
  Value acc =
      build::filledTensor(v.b, v.loc, indexAttrs(v.b, rt.getShape()), init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  Value r = linalg::GenericOp::create(
                v.b, v.loc, acc.getType(), ValueRange{v.operand(0)},
                ValueRange{acc}, maps, iters,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  linalg::YieldOp::create(
                      nb, l, combine(nb, l, *kind, args[1], args[0]));
                })
                .getResult(0);
  return v.setResult(0, r);
}

/// reduce_window (JAX's cumsum/cummax): the padded input read through
/// `out * stride + window * dilation` in one generic with the window dims as
/// reduction loops.
LogicalResult reduceWindow(OpView &v) {
  if (LogicalResult cumsum = failure(); convertCumulativeSum(v, cumsum))
    return cumsum;
  if (v.numOperands() != 2 || v.op->getNumResults() != 1)
    return v.fail("reduce_window of several operands is not supported");
  RankedTensorType it = v.operandType(0), rt = v.resultType();
  int64_t rank = it.getRank();
  if (v.operandType(1).getRank() != 0)
    return v.fail("the init value must be a scalar");
  auto window = v.perDim("window_dimensions", rank, 1);
  auto strides = v.perDim("window_strides", rank, 1);
  auto baseDil = v.perDim("base_dilations", rank, 1);
  auto winDil = v.perDim("window_dilations", rank, 1);
  if (failed(window) || failed(strides) || failed(baseDil) || failed(winDil))
    return failure();
  if (llvm::any_of(*baseDil, [](int64_t d) { return d != 1; }))
    return v.fail("base_dilations other than 1 are not supported");
  SmallVector<int64_t> lo, hi;
  if (failed(v.paddingPairs(rank, lo, hi)))
    return failure();
  FailureOr<Combiner> kind = bodyCombiner(v, it.getElementType());
  if (failed(kind))
    return failure();
  Value init =
      tensor::ExtractOp::create(v.b, v.loc, v.operand(1), ValueRange{});
  Value x = v.operand(0);
  if (llvm::any_of(lo, [](int64_t p) { return p; }) ||
      llvm::any_of(hi, [](int64_t p) { return p; }))
    x = tensor::PadOp::create(v.b, v.loc, Type(), x, indexAttrs(v.b, lo),
                              indexAttrs(v.b, hi), init);
  if (rt.getRank() != rank)
    return v.fail("the result rank differs from the operand's");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t span = ((*window)[d] - 1) * (*winDil)[d] + 1;
    int64_t padded = it.getDimSize(d) + lo[d] + hi[d];
    if ((*window)[d] < 1 || (*strides)[d] < 1 || (*winDil)[d] < 1 ||
        span > padded ||
        rt.getDimSize(d) != (padded - span) / (*strides)[d] + 1)
      return v.fail("the result shape does not match the windows");
  }
  MLIRContext *ctx = v.b.getContext();
  // Loops: the result dims, then the window dims.
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(getAffineDimExpr(d, ctx) * (*strides)[d] +
                      getAffineDimExpr(rank + d, ctx) * (*winDil)[d]);
    outExprs.push_back(getAffineDimExpr(d, ctx));
  }
  // The window sizes enter as a shape-only operand.
  Value windowShape =
      tensor::EmptyOp::create(v.b, v.loc, *window, it.getElementType());
  SmallVector<AffineExpr> winExprs;
  for (int64_t d = 0; d < rank; ++d)
    winExprs.push_back(getAffineDimExpr(rank + d, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(2 * rank, 0, inExprs, ctx),
                                 AffineMap::get(2 * rank, 0, winExprs, ctx),
                                 AffineMap::get(2 * rank, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.append(rank, utils::IteratorType::reduction);
  Value acc =
      build::filledTensor(v.b, v.loc, indexAttrs(v.b, rt.getShape()), init);
  Value r = linalg::GenericOp::create(
                v.b, v.loc, acc.getType(), ValueRange{x, windowShape},
                ValueRange{acc}, maps, iters,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  linalg::YieldOp::create(
                      nb, l, combine(nb, l, *kind, args[2], args[0]));
                })
                .getResult(0);
  return v.setResult(0, r);
}

} // namespace

void registerReduceOps(HandlerMap &m) {
  import::addHandlers(m, "stablehlo.",
                      {{"reduce", reduce}, {"reduce_window", reduceWindow}});
}

} // namespace mixir::stablehlo_import
