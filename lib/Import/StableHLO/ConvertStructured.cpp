//===- ConvertStructured.cpp - dot_general, dot, convolution --------------===//
#include "Convert.h"
#include "mixir/Builders/TensorBuilders.h"

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

std::optional<DotDims> dotDims(ArrayRef<int64_t> batch,
                               ArrayRef<int64_t> contracting, int64_t rank) {
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
  RankedTensorType lt = v.operandType(0), rt = v.operandType(1),
                   ot = v.resultType();
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
  Value bm = swapLast(v.b, v.loc,
                      toMatrix(v.b, v.loc, bv, bd, bd.free, bd.contracting));
  Value r = build::matmul(v.b, v.loc, am, bm); // [batch, M, N]
  if (swap)
    r = swapLast(v.b, v.loc, r);
  return v.setResult(
      0, build::reshape(v.b, v.loc, r, indexAttrs(v.b, ot.getShape())));
}

/// The legacy `stablehlo.dot`: vector/matrix products of rank-1/2 operands.
LogicalResult dot(OpView &v) {
  RankedTensorType lt = v.operandType(0), rt = v.operandType(1);
  if (lt.getRank() < 1 || lt.getRank() > 2 || rt.getRank() < 1 ||
      rt.getRank() > 2)
    return v.fail("expects rank-1 or rank-2 operands");
  Type elem = v.resultType().getElementType();
  Value lhs = build::castElements(v.b, v.loc, v.operand(0), elem);
  Value rhs = build::castElements(v.b, v.loc, v.operand(1), elem);
  return v.setResult(0, build::matmul(v.b, v.loc, lhs, rhs));
}

//===----------------------------------------------------------------------===//
// convolution
//===----------------------------------------------------------------------===//

/// Whether `dims` are 0, 1 and 2 in some order.
bool isPermutationOf3(std::initializer_list<int64_t> dims) {
  unsigned seen = 0;
  for (int64_t d : dims) {
    if (d < 0 || d > 2 || (seen & (1u << d)))
      return false;
    seen |= 1u << d;
  }
  return true;
}

/// What build::conv1d divides and sizes by: feature_group_count, the
/// stride and the dilation at least 1; a static kernel whose input features
/// times the groups are the input's and whose output features the groups
/// divide; a padded input at least as long as the dilated window.
static LogicalResult checkConvolutionSizes(OpView &v, int64_t groups,
                                           int64_t stride, int64_t dilation,
                                           int64_t padding, int64_t inFeature,
                                           int64_t inSpatial, int64_t kIn,
                                           int64_t kOut, int64_t kSpatial) {
  if (groups < 1 || stride < 1 || dilation < 1)
    return v.fail("feature_group_count (" + Twine(groups) +
                  "), window_strides (" + Twine(stride) +
                  ") and rhs_dilation (" + Twine(dilation) +
                  ") must be at least 1");
  auto xt = cast<ShapedType>(v.operand(0).getType());
  auto wt = cast<ShapedType>(v.operand(1).getType());
  if (!wt.hasStaticShape())
    return v.fail("the kernel must have a static shape");
  int64_t channels = xt.getDimSize(inFeature);
  if (ShapedType::isDynamic(channels) ||
      wt.getDimSize(kIn) * groups != channels || wt.getDimSize(kOut) % groups)
    return v.fail("input features (" + Twine(channels) +
                  "), feature_group_count (" + Twine(groups) +
                  ") and the kernel's shape disagree");
  int64_t length = xt.getDimSize(inSpatial);
  if (!ShapedType::isDynamic(length) &&
      length + padding < dilation * (wt.getDimSize(kSpatial) - 1) + 1)
    return v.fail("the padded input is shorter than the dilated window");
  return success();
}

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
  auto ib = scalar("input_batch_dimension"),
       ifd = scalar("input_feature_dimension"),
       ki = scalar("kernel_input_feature_dimension"),
       ko = scalar("kernel_output_feature_dimension"),
       ob = scalar("output_batch_dimension"),
       of = scalar("output_feature_dimension");
  auto is = v.i64Array(dn, "input_spatial_dimensions"),
       ks = v.i64Array(dn, "kernel_spatial_dimensions"),
       os = v.i64Array(dn, "output_spatial_dimensions");
  if (!ib || !ifd || !ki || !ko || !ob || !of || !is || !ks || !os)
    return v.fail(
        "dimension_numbers needs the input, kernel and output dimensions");
  if (is->size() != 1 || ks->size() != 1 || os->size() != 1)
    return v.fail("only 1-D convolutions are supported");
  for (Value t : {v.operand(0), v.operand(1), Value(v.op->getResult(0))})
    if (auto shaped = dyn_cast<ShapedType>(t.getType());
        !shaped || !shaped.hasRank() || shaped.getRank() != 3)
      return v.fail("only 1-D convolutions (rank-3 operands) are supported");
  if (!isPermutationOf3({*ib, *ifd, (*is)[0]}) ||
      !isPermutationOf3({*ko, *ki, (*ks)[0]}) ||
      !isPermutationOf3({*ob, *of, (*os)[0]}))
    return v.fail("dimension_numbers must name dimensions 0, 1 and 2 of the "
                  "input, kernel and output once each");
  if (v.i64Attr("batch_group_count").value_or(1) != 1)
    return v.fail("batch_group_count other than 1 is not supported");
  auto strides = v.perDim("window_strides", 1, 1);
  auto lhsDil = v.perDim("lhs_dilation", 1, 1);
  auto rhsDil = v.perDim("rhs_dilation", 1, 1);
  if (failed(strides) || failed(lhsDil) || failed(rhsDil))
    return failure();
  if ((*lhsDil)[0] != 1)
    return v.fail("lhs_dilation (transposed convolution) is not supported");
  if (auto rev = opAttrOfType<DenseBoolArrayAttr>(v.op, "window_reversal"))
    if (llvm::any_of(rev.asArrayRef(), [](bool r) { return r; }))
      return v.fail("window_reversal is not supported");
  SmallVector<int64_t> lo, hi;
  if (failed(v.paddingPairs(1, lo, hi)))
    return failure();
  int64_t groups = v.i64Attr("feature_group_count").value_or(1);
  if (failed(checkConvolutionSizes(v, groups, (*strides)[0], (*rhsDil)[0],
                                   lo[0] + hi[0], *ifd, (*is)[0], *ki, *ko,
                                   (*ks)[0])))
    return failure();
  RankedTensorType rt = v.resultType();
  Type elem = rt.getElementType();
  Value x = build::transpose(
      v.b, v.loc, build::castElements(v.b, v.loc, v.operand(0), elem),
      {*ib, *ifd, (*is)[0]});
  Value w = build::transpose(
      v.b, v.loc, build::castElements(v.b, v.loc, v.operand(1), elem),
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
  import::addHandlers(m, "stablehlo.",
                      {{"dot_general", dotGeneral},
                       {"dot", dot},
                       {"convolution", convolution}});
}

} // namespace mixir::stablehlo_import
