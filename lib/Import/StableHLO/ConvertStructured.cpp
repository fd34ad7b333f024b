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
  SmallVector<int64_t> shape;
  for (int64_t d : ld->batch)
    shape.push_back(lt.getDimSize(d));
  for (int64_t d : ld->free)
    shape.push_back(lt.getDimSize(d));
  for (int64_t d : rd->free)
    shape.push_back(rt.getDimSize(d));
  if (ot.getShape() != ArrayRef<int64_t>(shape))
    return v.fail("the result shape is not (batch, lhs free, rhs free) dims");
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

enum class Combiner { add, mul, max, min, andOp, orOp };

/// The combiner of a reduce or reduce_window body: one add, multiply,
/// maximum, minimum, and or or of its two block arguments.
FailureOr<Combiner> bodyCombiner(OpView &v, Type elem) {
  const char *what = "the body must be one add, multiply, maximum, minimum, and or "
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
      !((c.getOperand(0) == body.getArgument(0) && c.getOperand(1) == body.getArgument(1)) ||
        (c.getOperand(0) == body.getArgument(1) && c.getOperand(1) == body.getArgument(0))) ||
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
  return v.fail("the body op '" + kind + "' is not supported (add, multiply, maximum, "
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
    return v.fail("the result shape is not the operand's without the reduced dims");
  // StableHLO starts each reduction from the init operand.
  Value init = tensor::ExtractOp::create(v.b, v.loc, v.operand(1), ValueRange{});
  Value acc = build::filledTensor(v.b, v.loc, indexAttrs(v.b, rt.getShape()), init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  Value r = linalg::GenericOp::create(
                v.b, v.loc, acc.getType(), ValueRange{v.operand(0)}, ValueRange{acc},
                maps, iters,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  linalg::YieldOp::create(nb, l, combine(nb, l, *kind, args[1], args[0]));
                })
                .getResult(0);
  return v.setResult(0, r);
}

/// A [rank, 2] padding attribute (dense<[[lo, hi], ...]>) as lo and hi lists;
/// zeros when absent.
LogicalResult paddingPairs(OpView &v, int64_t rank, SmallVector<int64_t> &lo,
                           SmallVector<int64_t> &hi) {
  lo.assign(rank, 0);
  hi.assign(rank, 0);
  Attribute a = opAttr(v.op, "padding");
  if (!a)
    return success();
  SmallVector<int64_t> flat;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(a)) {
    for (const APInt &x : dense.getValues<APInt>())
      flat.push_back(x.getSExtValue());
  } else if (auto arr = dyn_cast<DenseI64ArrayAttr>(a)) {
    flat.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
  } else {
    return v.fail("'padding' must be a [rank, 2] integer attribute");
  }
  if ((int64_t)flat.size() != 2 * rank)
    return v.fail("'padding' must hold a (low, high) pair per dim");
  for (int64_t d = 0; d < rank; ++d) {
    lo[d] = flat[2 * d];
    hi[d] = flat[2 * d + 1];
    if (lo[d] < 0 || hi[d] < 0)
      return v.fail("negative padding is not supported");
  }
  return success();
}

/// An optional per-dim list attribute, `dflt` everywhere when absent.
FailureOr<SmallVector<int64_t>> perDim(OpView &v, StringRef name, int64_t rank,
                                       int64_t dflt) {
  std::optional<SmallVector<int64_t>> list = v.i64Array(name);
  if (!list)
    return SmallVector<int64_t>(rank, dflt);
  if ((int64_t)list->size() != rank)
    return v.fail("'" + name + "' must have one entry per dim");
  return *list;
}

/// reduce_window (JAX's cumsum/cummax): the padded input read through
/// `out * stride + window * dilation` in one generic with the window dims as
/// reduction loops.
LogicalResult reduceWindow(OpView &v) {
  if (v.numOperands() != 2 || v.op->getNumResults() != 1)
    return v.fail("reduce_window of several operands is not supported");
  RankedTensorType it = v.operandType(0), rt = v.resultType();
  int64_t rank = it.getRank();
  if (v.operandType(1).getRank() != 0)
    return v.fail("the init value must be a scalar");
  auto window = perDim(v, "window_dimensions", rank, 1);
  auto strides = perDim(v, "window_strides", rank, 1);
  auto baseDil = perDim(v, "base_dilations", rank, 1);
  auto winDil = perDim(v, "window_dilations", rank, 1);
  if (failed(window) || failed(strides) || failed(baseDil) || failed(winDil))
    return failure();
  if (llvm::any_of(*baseDil, [](int64_t d) { return d != 1; }))
    return v.fail("base_dilations other than 1 are not supported");
  SmallVector<int64_t> lo, hi;
  if (failed(paddingPairs(v, rank, lo, hi)))
    return failure();
  FailureOr<Combiner> kind = bodyCombiner(v, it.getElementType());
  if (failed(kind))
    return failure();
  Value init = tensor::ExtractOp::create(v.b, v.loc, v.operand(1), ValueRange{});
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
    if ((*window)[d] < 1 || (*strides)[d] < 1 || (*winDil)[d] < 1 || span > padded ||
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
  Value windowShape = tensor::EmptyOp::create(v.b, v.loc, *window, it.getElementType());
  SmallVector<AffineExpr> winExprs;
  for (int64_t d = 0; d < rank; ++d)
    winExprs.push_back(getAffineDimExpr(rank + d, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(2 * rank, 0, inExprs, ctx),
                                 AffineMap::get(2 * rank, 0, winExprs, ctx),
                                 AffineMap::get(2 * rank, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.append(rank, utils::IteratorType::reduction);
  Value acc = build::filledTensor(v.b, v.loc, indexAttrs(v.b, rt.getShape()), init);
  Value r = linalg::GenericOp::create(
                v.b, v.loc, acc.getType(), ValueRange{x, windowShape}, ValueRange{acc},
                maps, iters,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  linalg::YieldOp::create(nb, l, combine(nb, l, *kind, args[2], args[0]));
                })
                .getResult(0);
  return v.setResult(0, r);
}

//===----------------------------------------------------------------------===//
// convolution
//===----------------------------------------------------------------------===//

/// 1-D convolutions (the short causal convolutions of Mamba and DeltaNet
/// blocks) through build::conv1d in [N, C, T] layout.
LogicalResult convolution(OpView &v) {
  auto dn = opAttrOfType<DictionaryAttr>(v.op, "dimension_numbers");
  if (!dn)
    return v.fail("expects a dimension_numbers dictionary");
  auto scalar = [&](StringRef name) -> std::optional<int64_t> {
    if (auto i = dyn_cast_or_null<IntegerAttr>(dn.get(name)))
      return i.getValue().getSExtValue();
    return std::nullopt;
  };
  auto ib = scalar("input_batch_dimension"), ifd = scalar("input_feature_dimension"),
       ki = scalar("kernel_input_feature_dimension"),
       ko = scalar("kernel_output_feature_dimension"),
       ob = scalar("output_batch_dimension"), of = scalar("output_feature_dimension");
  auto is = v.i64Array(dn, "input_spatial_dimensions"),
       ks = v.i64Array(dn, "kernel_spatial_dimensions"),
       os = v.i64Array(dn, "output_spatial_dimensions");
  if (!ib || !ifd || !ki || !ko || !ob || !of || !is || !ks || !os)
    return v.fail("dimension_numbers needs the input, kernel and output dimensions");
  if (is->size() != 1 || ks->size() != 1 || os->size() != 1)
    return v.fail("only 1-D convolutions are supported");
  if (v.i64Attr("batch_group_count").value_or(1) != 1)
    return v.fail("batch_group_count other than 1 is not supported");
  auto strides = perDim(v, "window_strides", 1, 1);
  auto lhsDil = perDim(v, "lhs_dilation", 1, 1);
  auto rhsDil = perDim(v, "rhs_dilation", 1, 1);
  if (failed(strides) || failed(lhsDil) || failed(rhsDil))
    return failure();
  if ((*lhsDil)[0] != 1)
    return v.fail("lhs_dilation (transposed convolution) is not supported");
  if (auto rev = opAttrOfType<DenseBoolArrayAttr>(v.op, "window_reversal"))
    if (llvm::any_of(rev.asArrayRef(), [](bool r) { return r; }))
      return v.fail("window_reversal is not supported");
  SmallVector<int64_t> lo, hi;
  if (failed(paddingPairs(v, 1, lo, hi)))
    return failure();
  int64_t groups = v.i64Attr("feature_group_count").value_or(1);
  RankedTensorType rt = v.resultType();
  Type elem = rt.getElementType();
  Value x = build::transpose(v.b, v.loc, build::castElements(v.b, v.loc, v.operand(0), elem),
                             {*ib, *ifd, (*is)[0]});
  Value w = build::transpose(v.b, v.loc, build::castElements(v.b, v.loc, v.operand(1), elem),
                             {*ko, *ki, (*ks)[0]});
  Value out = build::conv1d(v.b, v.loc, x, w, Value(), groups, (*strides)[0],
                            (*rhsDil)[0], lo[0], hi[0]); // [N, O, T]
  // Back to the result layout: result dim r holds N, O or T.
  SmallVector<int64_t> perm(3);
  perm[*ob] = 0;
  perm[*of] = 1;
  perm[(*os)[0]] = 2;
  return v.setResult(0, build::transpose(v.b, v.loc, out, perm));
}

} // namespace

void registerStructuredOps(HandlerMap &m) {
  m["stablehlo.dot_general"] = dotGeneral;
  m["stablehlo.dot"] = dot;
  m["stablehlo.reduce"] = reduce;
  m["stablehlo.reduce_window"] = reduceWindow;
  m["stablehlo.convolution"] = convolution;
}

} // namespace mixir::stablehlo_import
