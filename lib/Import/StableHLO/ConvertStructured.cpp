//===- ConvertStructured.cpp - dot_general and reduce ----------------------===//
#include "Convert.h"
#include "mixir/Import/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::stablehlo_import {
namespace {

//===----------------------------------------------------------------------===//
// dot_general
//===----------------------------------------------------------------------===//

/// One operand's dims split into batch, contracting and free (in order).
struct DotDims {
  SmallVector<int64_t> batch, contracting, free;
  /// True when the operand is already laid out as batch, first, second.
  bool natural(ArrayRef<int64_t> first, ArrayRef<int64_t> second) const {
    SmallVector<int64_t> order(batch);
    order.append(first.begin(), first.end());
    order.append(second.begin(), second.end());
    for (auto [i, d] : llvm::enumerate(order))
      if ((int64_t)i != d)
        return false;
    return true;
  }
};

std::optional<DotDims> dotDims(ArrayRef<int64_t> batch, ArrayRef<int64_t> contracting,
                               int64_t rank) {
  DotDims d{SmallVector<int64_t>(batch), SmallVector<int64_t>(contracting), {}};
  SmallVector<bool> used(rank, false);
  for (int64_t x : llvm::concat<const int64_t>(batch, contracting)) {
    if (x < 0 || x >= rank || used[x])
      return std::nullopt;
    used[x] = true;
  }
  for (int64_t x = 0; x < rank; ++x)
    if (!used[x])
      d.free.push_back(x);
  return d;
}

int64_t product(RankedTensorType t, ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= t.getDimSize(d);
  return p;
}

/// `x` permuted to (batch, first, second) and reshaped to
/// [batch..., prod(first), prod(second)].
Value toMatrix(OpBuilder &b, Location loc, Value x, const DotDims &d,
               ArrayRef<int64_t> first, ArrayRef<int64_t> second) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> perm(d.batch);
  perm.append(first.begin(), first.end());
  perm.append(second.begin(), second.end());
  x = build::transpose(b, loc, x, perm);
  SmallVector<int64_t> shape;
  for (int64_t bd : d.batch)
    shape.push_back(t.getDimSize(bd));
  shape.push_back(product(t, first));
  shape.push_back(product(t, second));
  return build::reshape(b, loc, x, indexAttrs(b, shape));
}

/// Swaps the last two dims.
Value swapLast(OpBuilder &b, Location loc, Value x) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank - 2; ++i)
    perm.push_back(i);
  perm.push_back(rank - 1);
  perm.push_back(rank - 2);
  return build::transpose(b, loc, x, perm);
}

/// Emits the contraction as build::matmul on [batch, M, K] x [batch, K, N]
/// (the form mix-raise matches). The right operand is laid out as
/// [batch, N, K] and then transposed, so Q K^T keeps the K^T transpose that
/// mix-raise looks for. When only the right operand is already in
/// [batch, free, contracting] order (JAX writes P V as V^T P^T), the
/// operands are swapped and the result transposed back.
LogicalResult dotGeneral(OpView &v) {
  auto dict = opAttrOfType<DictionaryAttr>(v.op, "dot_dimension_numbers");
  if (!dict)
    return v.fail("expects a dot_dimension_numbers dictionary");
  auto lb = v.i64Array(dict, "lhs_batching_dimensions"),
       rb = v.i64Array(dict, "rhs_batching_dimensions"),
       lc = v.i64Array(dict, "lhs_contracting_dimensions"),
       rc = v.i64Array(dict, "rhs_contracting_dimensions");
  if (!lb || !rb || !lc || !rc)
    return v.fail("dot_dimension_numbers needs lhs/rhs_batching_dimensions and "
                  "lhs/rhs_contracting_dimensions");
  RankedTensorType lt = v.operandType(0), rt = v.operandType(1), ot = v.resultType();
  auto ld = dotDims(*lb, *lc, lt.getRank());
  auto rd = dotDims(*rb, *rc, rt.getRank());
  if (!ld || !rd || lb->size() != rb->size() || lc->size() != rc->size())
    return v.fail("malformed dot_dimension_numbers");
  for (size_t i = 0; i < lb->size(); ++i)
    if (lt.getDimSize((*lb)[i]) != rt.getDimSize((*rb)[i]))
      return v.fail("batch dimension sizes differ");
  for (size_t i = 0; i < lc->size(); ++i)
    if (lt.getDimSize((*lc)[i]) != rt.getDimSize((*rc)[i]))
      return v.fail("contracting dimension sizes differ");
  Type elem = ot.getElementType();
  // A result type wider than the operands (preferred_element_type) means
  // accumulating in it: convert the operands first.
  Value lhs = build::castElements(v.b, v.loc, v.operand(0), elem);
  Value rhs = build::castElements(v.b, v.loc, v.operand(1), elem);
  bool swap = !ld->natural(ld->free, ld->contracting) &&
              rd->natural(rd->free, rd->contracting);
  Value a = swap ? rhs : lhs, bv = swap ? lhs : rhs;
  const DotDims &ad = swap ? *rd : *ld, &bd = swap ? *ld : *rd;
  Value am = toMatrix(v.b, v.loc, a, ad, ad.free, ad.contracting);
  Value bm = swapLast(v.b, v.loc, toMatrix(v.b, v.loc, bv, bd, bd.free, bd.contracting));
  Value r = build::matmul(v.b, v.loc, am, bm); // [batch, M, N]
  if (swap)
    r = swapLast(v.b, v.loc, r);
  return v.setResult(0, build::reshape(v.b, v.loc, r, indexAttrs(v.b, ot.getShape())));
}

/// The legacy `stablehlo.dot`: vector/matrix products of rank-1/2 operands.
LogicalResult dot(OpView &v) {
  RankedTensorType lt = v.operandType(0), rt = v.operandType(1);
  if (lt.getRank() < 1 || lt.getRank() > 2 || rt.getRank() < 1 || rt.getRank() > 2)
    return v.fail("expects rank-1 or rank-2 operands");
  Type elem = v.resultType().getElementType();
  Value lhs = build::castElements(v.b, v.loc, v.operand(0), elem);
  Value rhs = build::castElements(v.b, v.loc, v.operand(1), elem);
  return v.setResult(0, build::matmul(v.b, v.loc, lhs, rhs));
}

//===----------------------------------------------------------------------===//
// reduce
//===----------------------------------------------------------------------===//

/// The combiner of a reduce body: one op on the two block arguments.
LogicalResult reduce(OpView &v) {
  if (v.numOperands() != 2 || v.op->getNumResults() != 1)
    return v.fail("reduces of several operands are not supported");
  auto dims = v.i64Array("dimensions");
  RankedTensorType it = v.operandType(0), rt = v.resultType();
  if (!dims)
    return v.fail("expects 'dimensions'");
  if (v.operandType(1).getRank() != 0)
    return v.fail("the init value must be a scalar");
  Region &region = v.op->getRegion(0);
  if (region.empty() || region.front().getNumArguments() != 2 ||
      region.front().getOperations().size() != 2)
    return v.fail("the body must be one add, multiply, maximum, minimum, and or or "
                  "of its two arguments");
  Block &body = region.front();
  Operation &c = body.front();
  if (c.getNumOperands() != 2 ||
      !((c.getOperand(0) == body.getArgument(0) && c.getOperand(1) == body.getArgument(1)) ||
        (c.getOperand(0) == body.getArgument(1) && c.getOperand(1) == body.getArgument(0))) ||
      (&body.back())->getNumOperands() != 1 ||
      (&body.back())->getOperand(0) != c.getResult(0))
    return v.fail("the body must be one add, multiply, maximum, minimum, and or or "
                  "of its two arguments");
  StringRef kind = c.getName().getStringRef();
  Type elem = it.getElementType();
  bool isFloat = isa<FloatType>(elem), isBool = elem.isInteger(1);
  std::function<Value(OpBuilder &, Location, Value, Value)> combine;
  if (kind == "stablehlo.add")
    combine = [&](OpBuilder &b, Location l, Value x, Value y) -> Value {
      if (isFloat)
        return arith::AddFOp::create(b, l, x, y);
      if (isBool)
        return arith::OrIOp::create(b, l, x, y);
      return arith::AddIOp::create(b, l, x, y);
    };
  else if (kind == "stablehlo.multiply")
    combine = [&](OpBuilder &b, Location l, Value x, Value y) -> Value {
      if (isFloat)
        return arith::MulFOp::create(b, l, x, y);
      if (isBool)
        return arith::AndIOp::create(b, l, x, y);
      return arith::MulIOp::create(b, l, x, y);
    };
  else if (kind == "stablehlo.maximum" || (kind == "stablehlo.or" && !isFloat))
    combine = [&](OpBuilder &b, Location l, Value x, Value y) -> Value {
      if (isFloat)
        return arith::MaximumFOp::create(b, l, x, y);
      if (isBool || kind == "stablehlo.or")
        return arith::OrIOp::create(b, l, x, y);
      return arith::MaxSIOp::create(b, l, x, y);
    };
  else if (kind == "stablehlo.minimum" || (kind == "stablehlo.and" && !isFloat))
    combine = [&](OpBuilder &b, Location l, Value x, Value y) -> Value {
      if (isFloat)
        return arith::MinimumFOp::create(b, l, x, y);
      if (isBool || kind == "stablehlo.and")
        return arith::AndIOp::create(b, l, x, y);
      return arith::MinSIOp::create(b, l, x, y);
    };
  else
    return v.fail("the reduce body '" + kind + "' is not supported (add, multiply, "
                  "maximum, minimum, and, or)");
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
  for (int64_t d = 0; d < rank; ++d) {
    iters.push_back(reduced[d] ? utils::IteratorType::reduction
                               : utils::IteratorType::parallel);
    if (!reduced[d])
      outExprs.push_back(getAffineDimExpr(d, ctx));
  }
  // StableHLO starts each reduction from the init operand.
  Value init = tensor::ExtractOp::create(v.b, v.loc, v.operand(1), ValueRange{});
  Value acc = build::filledTensor(v.b, v.loc, indexAttrs(v.b, rt.getShape()), init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  Value r = linalg::GenericOp::create(
                v.b, v.loc, acc.getType(), ValueRange{v.operand(0)}, ValueRange{acc},
                maps, iters,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  linalg::YieldOp::create(nb, l, combine(nb, l, args[1], args[0]));
                })
                .getResult(0);
  return v.setResult(0, r);
}

} // namespace

void registerStructuredOps(HandlerMap &m) {
  m["stablehlo.dot_general"] = dotGeneral;
  m["stablehlo.dot"] = dot;
  m["stablehlo.reduce"] = reduce;
}

} // namespace mixir::stablehlo_import
