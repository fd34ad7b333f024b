//===- MixRaise.cpp - written-out attention chains to mix ops -------------===//
//
// Works on the form lib/Import's builders emit (and any equivalent one):
// contractions and element-wise arithmetic as linalg.generic, K^T as
// linalg.transpose, softmax as linalg.softmax. Masks and decays must be
// constants (or exp(G_i - G_j) built from one [B, H, T] tensor) whose values
// are checked here; nothing is raised on a guess.
//
//===----------------------------------------------------------------------===//
#include "mixir/Dialect/Mix/IR/MixOps.h"
#include "mixir/Transforms/Passes.h"

#include "RaiseLoops.h"
#include "Relayout.h"
#include "Report.h"
#include "TensorUtils.h"
#include "Unrolled.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace mixir {
#define GEN_PASS_DEF_MIXRAISE
#include "mixir/Transforms/Passes.h.inc"
} // namespace mixir

using namespace mlir;
using mixir::raise::transposed;

namespace {

/// The single arith op of an element-wise generic's body applied to its two
/// inputs, with the inputs in body order.
struct Binary {
  linalg::GenericOp op;
  Operation *arith;
  Value lhs, rhs;
  AffineMap lhsMap, rhsMap;
};

bool allParallel(linalg::GenericOp g) {
  return llvm::all_of(g.getIteratorTypesArray(), [](utils::IteratorType t) {
    return t == utils::IteratorType::parallel;
  });
}

std::optional<Binary> matchBinary(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      !allParallel(g) || !g.getIndexingMapsArray().back().isIdentity())
    return std::nullopt;
  Block &body = g.getRegion().front();
  if (body.getOperations().size() != 2)
    return std::nullopt;
  Operation *op = &body.front();
  if (op->getNumOperands() != 2)
    return std::nullopt;
  auto a0 = dyn_cast<BlockArgument>(op->getOperand(0));
  auto a1 = dyn_cast<BlockArgument>(op->getOperand(1));
  if (!a0 || !a1 || a0.getOwner() != &body || a1.getOwner() != &body ||
      a0.getArgNumber() > 1 || a1.getArgNumber() > 1 || a0 == a1)
    return std::nullopt;
  auto maps = g.getIndexingMapsArray();
  Binary r{g,
           op,
           g.getDpsInputs()[a0.getArgNumber()],
           g.getDpsInputs()[a1.getArgNumber()],
           maps[a0.getArgNumber()],
           maps[a1.getArgNumber()]};
  return r;
}

/// `cond ? a : b` as an element-wise generic with three inputs.
struct Select {
  Value cond, a, b;
  AffineMap condMap, aMap, bMap;
};

std::optional<Select> matchSelect(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 3 || !allParallel(g) ||
      !g.getIndexingMapsArray().back().isIdentity())
    return std::nullopt;
  Block &body = g.getRegion().front();
  auto sel = dyn_cast<arith::SelectOp>(&body.front());
  if (!sel || body.getOperations().size() != 2)
    return std::nullopt;
  auto arg = [&](Value x) -> int {
    auto ba = dyn_cast<BlockArgument>(x);
    return ba && ba.getOwner() == &body && ba.getArgNumber() < 3
               ? ba.getArgNumber()
               : -1;
  };
  int c = arg(sel.getCondition()), a = arg(sel.getTrueValue()),
      b = arg(sel.getFalseValue());
  if (c < 0 || a < 0 || b < 0)
    return std::nullopt;
  auto maps = g.getIndexingMapsArray();
  auto ins = g.getDpsInputs();
  return Select{ins[c], ins[a], ins[b], maps[c], maps[a], maps[b]};
}

/// A unary element-wise generic (one input, identity maps) computing `OpTy`.
template <typename OpTy> Value matchUnary(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || !allParallel(g))
    return Value();
  for (AffineMap m : g.getIndexingMapsArray())
    if (!m.isIdentity())
      return Value();
  Block &body = g.getRegion().front();
  if (body.getOperations().size() != 2 || !isa<OpTy>(body.front()) ||
      body.front().getOperand(0) != body.getArgument(0))
    return Value();
  return g.getDpsInputs()[0];
}

bool isZeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

/// A batched matmul `out[b,(h,)m,n] = sum_k lhs[b,(h,)m,k] rhs[b,(h,)k,n]`
/// of rank 3 or 4 into zeros.
/// The f32 input of an element-wise generic that only rounds it to f16 or
/// bf16 (arith.truncf), or null.
Value matchTruncation(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      !allParallel(g) ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return Value();
  Block &body = g.getRegion().front();
  auto trunc = dyn_cast<arith::TruncFOp>(&body.front());
  if (!trunc || body.getOperations().size() != 2 ||
      trunc.getIn() != body.getArgument(0))
    return Value();
  return g.getDpsInputs()[0];
}

/// A (batched) matmul by what it computes, whichever linalg op spells it (a
/// generic, linalg.batch_matmul, ...): zero-filled accumulator, acc + a * b,
/// out[b, m, n] += lhs[b, m, k] * rhs[b, k, n], or rhs[b, n, k] when
/// `rhsTransposed` is set on return. When `widened`, a and b are f16/bf16
/// extended to f32 in the body (the f32 accumulation of low-precision
/// products).
bool matchContraction(Value v, Value &lhs, Value &rhs, bool &rhsTransposed,
                      bool widened);

bool matchContraction(Value v, Value &lhs, Value &rhs, bool &rhsTransposed) {
  if (Value wide = matchTruncation(v))
    return matchContraction(wide, lhs, rhs, rhsTransposed, /*widened=*/true);
  return matchContraction(v, lhs, rhs, rhsTransposed, /*widened=*/false);
}

/// A matmul with rhs in [.., k, n] order.
bool matchMatmul(Value v, Value &lhs, Value &rhs) {
  bool transposed = false;
  return matchContraction(v, lhs, rhs, transposed) && !transposed;
}

bool matchContraction(Value v, Value &lhs, Value &rhs, bool &rhsTransposed,
                      bool widened) {
  auto g = v.getDefiningOp<linalg::LinalgOp>();
  if (!g || g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      g->getNumResults() != 1 || !isZeroFill(g.getDpsInits()[0]))
    return false;
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  if ((rank != 3 && rank != 4) || g.getNumLoops() != rank + 1)
    return false;
  MLIRContext *ctx = g.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> batch;
  for (int64_t i = 0; i < rank - 2; ++i)
    batch.push_back(d(i));
  AffineExpr m = d(rank - 2), n = d(rank - 1), k = d(rank);
  auto with = [&](AffineExpr a, AffineExpr b) {
    SmallVector<AffineExpr> e = batch;
    e.push_back(a);
    e.push_back(b);
    return AffineMap::get(rank + 1, 0, e, ctx);
  };
  auto maps = g.getIndexingMapsArray();
  if (maps[0] != with(m, k) || maps[2] != with(m, n) ||
      (maps[1] != with(k, n) && maps[1] != with(n, k)))
    return false;
  rhsTransposed = maps[1] == with(n, k);
  Block &body = *g.getBlock();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2), mulV;
  if (add.getLhs() == acc)
    mulV = add.getRhs();
  else if (add.getRhs() == acc)
    mulV = add.getLhs();
  auto mul = mulV ? mulV.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  auto operand = [&](Value x) {
    if (!widened)
      return x;
    auto ext = x.getDefiningOp<arith::ExtFOp>();
    return ext ? ext.getIn() : Value();
  };
  Value ml = operand(mul.getLhs()), mr = operand(mul.getRhs());
  if (!((ml == a && mr == b) || (ml == b && mr == a)))
    return false;
  lhs = g.getDpsInputs()[0];
  rhs = g.getDpsInputs()[1];
  return true;
}

/// Q K^T with K^T a linalg.transpose swapping the last two dims of K, or
/// read transposed by the contraction itself.
bool matchScores(Value v, Value &q, Value &k) {
  Value kt;
  bool transposed = false;
  if (!matchContraction(v, q, kt, transposed))
    return false;
  if (transposed) {
    k = kt;
    return true;
  }
  auto tr = kt.getDefiningOp<linalg::TransposeOp>();
  if (!tr)
    return false;
  ArrayRef<int64_t> perm = tr.getPermutation();
  int64_t rank = perm.size();
  for (int64_t i = 0; i < rank; ++i) {
    int64_t want = i < rank - 2 ? i : (i == rank - 2 ? rank - 1 : rank - 2);
    if (perm[i] != want)
      return false;
  }
  k = tr.getInput();
  return true;
}

/// Dense values of a constant tensor (through reshapes), as doubles.
std::optional<std::pair<RankedTensorType, std::vector<double>>>
constantValues(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || attr.getNumElements() > (1 << 24))
    return std::nullopt;
  std::vector<double> out;
  out.reserve(attr.getNumElements());
  if (attr.getElementType().isInteger(1)) {
    for (bool b : attr.getValues<bool>())
      out.push_back(b ? 1.0 : 0.0);
  } else if (isa<FloatType>(attr.getElementType())) {
    for (const APFloat &f : attr.getValues<APFloat>())
      out.push_back(f.convertToDouble());
  } else {
    return std::nullopt;
  }
  return std::make_pair(cast<RankedTensorType>(attr.getType()), std::move(out));
}

/// A constant read through `map` in the [b.., (h,) i, j] loop space (the
/// last two loops the rows and columns; with four or more loops the one
/// before them the heads, the others batch-like), seen as value(h, i, j):
/// the mask/decay matrix of each head. Fails when it varies along a
/// batch-like loop or does not vary along both i and j.
struct HeadMatrix {
  int64_t heads = 1; // 1 when the same for every head
  int64_t rows = 0, cols = 0;
  std::vector<double> values; // [heads][rows][cols]
  double at(int64_t h, int64_t i, int64_t j) const {
    return values[(h * rows + i) * cols + j];
  }
};

/// Whether `values` (of `type`) are the same at every index of the dims
/// `batchLike` as at index 0 of them.
bool sameAlong(RankedTensorType type, const std::vector<double> &values,
               ArrayRef<int64_t> batchLike) {
  int64_t rank = type.getRank();
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t r = rank - 2; r >= 0; --r)
    strides[r] = strides[r + 1] * type.getDimSize(r + 1);
  for (int64_t flat = 0; flat < (int64_t)values.size(); ++flat) {
    int64_t base = flat;
    for (int64_t r : batchLike)
      base -= (flat / strides[r]) % type.getDimSize(r) * strides[r];
    if (values[flat] != values[base])
      return false;
  }
  return true;
}

std::optional<HeadMatrix> headMatrix(Value v, AffineMap map) {
  auto c = constantValues(v);
  if (!c)
    return std::nullopt;
  auto [type, values] = *c;
  int64_t rank = type.getRank();
  int64_t loops = map.getNumDims();
  if (loops < 3 || (int64_t)map.getNumResults() != rank)
    return std::nullopt;
  // For each loop: the constant dim that follows it (-1: broadcast).
  SmallVector<int64_t> posOf(loops, -1);
  for (int64_t r = 0; r < rank; ++r) {
    AffineExpr e = map.getResult(r);
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      posOf[dim.getPosition()] = r;
    else if (!isa<AffineConstantExpr>(e) || type.getDimSize(r) != 1)
      return std::nullopt;
  }
  int64_t headPos = loops >= 4 ? posOf[loops - 3] : -1;
  int64_t rowPos = posOf[loops - 2], colPos = posOf[loops - 1];
  if (rowPos < 0 || colPos < 0)
    return std::nullopt;
  SmallVector<int64_t> batchLike;
  for (int64_t l = 0; l + (loops >= 4 ? 3 : 2) < loops; ++l)
    if (posOf[l] >= 0 && type.getDimSize(posOf[l]) != 1)
      batchLike.push_back(posOf[l]);
  if (!sameAlong(type, values, batchLike))
    return std::nullopt; // varies with the batch
  HeadMatrix m;
  m.heads = headPos >= 0 ? type.getDimSize(headPos) : 1;
  m.rows = type.getDimSize(rowPos);
  m.cols = type.getDimSize(colPos);
  m.values.resize(m.heads * m.rows * m.cols);
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t r = rank - 2; r >= 0; --r)
    strides[r] = strides[r + 1] * type.getDimSize(r + 1);
  for (int64_t h = 0; h < m.heads; ++h)
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t j = 0; j < m.cols; ++j) {
        int64_t flat = i * strides[rowPos] + j * strides[colPos];
        if (headPos >= 0)
          flat += h * strides[headPos];
        m.values[(h * m.rows + i) * m.cols + j] = values[flat];
      }
  return m;
}

/// Follows reshapes that only add or drop unit dims.
/// For a mask given by `keep(element)` on every head: 0 when it keeps
/// exactly the keys j <= i (causal), W when it keeps exactly
/// i - W < j <= i (a sliding window narrower than the sequence), nullopt
/// otherwise. The window is read off the last row, then every element is
/// checked.
std::optional<int64_t> causalWindow(const HeadMatrix &m,
                                    llvm::function_ref<bool(double)> keep) {
  int64_t last = m.rows - 1, w = 0;
  for (int64_t j = 0; j < m.cols; ++j)
    w += keep(m.at(0, last, j)) ? 1 : 0;
  if (w < 1)
    return std::nullopt;
  bool ok = true;
  for (int64_t h = 0; h < m.heads; ++h)
    for (int64_t i = 0; i < m.rows; ++i)
      for (int64_t j = 0; j < m.cols; ++j)
        ok &= keep(m.at(h, i, j)) == (j <= i && i - j < w);
  if (!ok)
    return std::nullopt;
  return w >= m.rows ? 0 : w;
}

Value throughReshapes(Value v) {
  while (true) {
    if (auto e = v.getDefiningOp<tensor::ExpandShapeOp>())
      v = e.getSrc();
    else if (auto c = v.getDefiningOp<tensor::CollapseShapeOp>())
      v = c.getSrc();
    else
      return v;
  }
}

/// The value `v` is a relayout of that holds the same elements in the same
/// order: through reshapes and transposes that only add, drop or move unit
/// dims (JAX's vmap writes its batch dim as such a unit dim, moved to the
/// front and back). `v` itself when it is no such relayout.
Value sameElements(Value v) {
  while (Operation *def = mixir::raise::relayoutOf(v)) {
    if (!mixir::raise::movesOnlyUnitDims(def))
      return v;
    v = def->getOperand(0);
  }
  return v;
}

/// exp(G_i - G_j) in the [b, h, i, j] loop space, G: [B, H, T]; returns G_i.
Value matchDecayExp(Value v, AffineMap map) {
  if (!map.isIdentity())
    return Value();
  Value diff = matchUnary<math::ExpOp>(v);
  if (!diff)
    return Value();
  auto sub = matchBinary(diff);
  if (!sub || !isa<arith::SubFOp>(sub->arith))
    return Value();
  MLIRContext *ctx = v.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineExpr zero = getAffineConstantExpr(0, ctx);
  if (sub->lhsMap != AffineMap::get(4, 0, {d(0), d(1), d(2), zero}, ctx) ||
      sub->rhsMap != AffineMap::get(4, 0, {d(0), d(1), zero, d(3)}, ctx))
    return Value();
  // G_i is [B, H, T, 1] and G_j [B, H, 1, T], reshapes of the same data (a
  // reshape keeps the element order, so both read G[b, h, t]); G itself
  // need not exist as a [B, H, T] value (a cumulative sum computed as a scan
  // over another layout). Returns G_i; the rewrite collapses it.
  Value gi = throughReshapes(sub->lhs), gj = throughReshapes(sub->rhs);
  auto lt = cast<RankedTensorType>(sub->lhs.getType());
  auto rt = cast<RankedTensorType>(sub->rhs.getType());
  if (gi != gj || lt.getRank() != 4 || rt.getRank() != 4 ||
      lt.getDimSize(3) != 1 || rt.getDimSize(2) != 1 ||
      lt.getDimSize(0) != rt.getDimSize(0) ||
      lt.getDimSize(1) != rt.getDimSize(1) ||
      lt.getDimSize(2) != rt.getDimSize(3))
    return Value();
  return sub->lhs;
}

/// A scalar constant (splat or one element) as a double.
std::optional<double> scalarConstant(Value v) {
  auto c = constantValues(v);
  if (!c)
    return std::nullopt;
  const auto &vals = c->second;
  if (vals.empty() ||
      llvm::any_of(vals, [&](double x) { return x != vals[0]; }))
    return std::nullopt;
  return vals[0];
}

/// `x * c`, `c * x` or `x / c` with a positive scalar constant `c`, peeled
/// off repeatedly: returns `x` and multiplies `scale` by the factors.
Value peelScale(Value v, double &scale) {
  while (auto bin = matchBinary(v)) {
    bool isMul = isa<arith::MulFOp>(bin->arith),
         isDiv = isa<arith::DivFOp>(bin->arith);
    if (!isMul && !isDiv)
      break;
    bool lhsChain = !matchPattern(bin->lhs, m_Constant());
    Value chain = lhsChain ? bin->lhs : bin->rhs;
    Value other = lhsChain ? bin->rhs : bin->lhs;
    if (!(lhsChain ? bin->lhsMap : bin->rhsMap).isIdentity() ||
        !matchPattern(other, m_Constant()) || (isDiv && !lhsChain) ||
        chain.getType() != v.getType())
      break;
    auto c = scalarConstant(other);
    if (!c || !(*c > 0))
      break;
    scale = isMul ? scale * *c : scale / *c;
    v = chain;
  }
  return v;
}

/// K for K^T given as a linalg.transpose (of the last two dims, or of the
/// heads and tokens of K [B, T, H, D] to [B, H, D, T], as torch.onnx writes
/// `k.transpose(1, 2).transpose(-1, -2)`), or (as
/// torch.onnx's SDPA decomposition writes it) as K [B, H, T, D] collapsed
/// to [B*H, T, D], transposed to [B*H, D, T] and expanded to [B, H, D, T].
/// The collapsed tensor may also be repeat_kv's [B, Hkv, n, T, D] copy;
/// then K is that copy seen as [B, Hkv*n, T, D] (a collapse built before
/// `at`, which repeatedKV sees through).
Value transposedLastTwo(Value kt, OpBuilder &b) {
  if (auto tr = kt.getDefiningOp<linalg::TransposeOp>()) {
    // K^T = transpose(X, p): K = transpose(X, p with its last two swapped),
    // X itself when that is the identity. A transpose that moves the batch
    // dim is no K^T.
    SmallVector<int64_t> perm(tr.getPermutation());
    int64_t rank = perm.size();
    if (rank < 3 || perm[0] != 0)
      return Value();
    std::swap(perm[rank - 2], perm[rank - 1]);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfter(tr);
    return transposed(b, tr.getLoc(), tr.getInput(), perm);
  }
  auto ex = kt.getDefiningOp<tensor::ExpandShapeOp>();
  if (!ex)
    return Value();
  auto tr = ex.getSrc().getDefiningOp<linalg::TransposeOp>();
  if (!tr || tr.getPermutation() != ArrayRef<int64_t>{0, 2, 1})
    return Value();
  auto co = tr.getInput().getDefiningOp<tensor::CollapseShapeOp>();
  if (!co)
    return Value();
  auto srcType = cast<RankedTensorType>(co.getSrc().getType());
  auto ktType = cast<RankedTensorType>(kt.getType());
  int64_t rank = ktType.getRank(), srcRank = srcType.getRank();
  if (rank < 3 || (srcRank != rank && srcRank != rank + 1))
    return Value();
  // Both reshapes group the leading (batch) dims and keep the last two.
  auto groupsLeading = [&](ArrayRef<ReassociationIndices> re, int64_t r) {
    if (re.size() != 3 || (int64_t)re[0].size() != r - 2)
      return false;
    return re[1] == ReassociationIndices{r - 2} &&
           re[2] == ReassociationIndices{r - 1};
  };
  if (!groupsLeading(co.getReassociationIndices(), srcRank) ||
      !groupsLeading(ex.getReassociationIndices(), rank))
    return Value();
  if (srcType.getDimSize(srcRank - 2) != ktType.getDimSize(rank - 1) ||
      srcType.getDimSize(srcRank - 1) != ktType.getDimSize(rank - 2))
    return Value();
  if (srcRank == rank) {
    for (int64_t d = 0; d < rank - 2; ++d)
      if (srcType.getDimSize(d) != ktType.getDimSize(d) ||
          srcType.isDynamicDim(d))
        return Value();
    return co.getSrc();
  }
  // [B, Hkv, n, T, D] -> [B, Hkv*n, D, T].
  if (rank != 4 || srcType.getDimSize(0) != ktType.getDimSize(0) ||
      srcType.isDynamicDim(0) || srcType.isDynamicDim(1) ||
      srcType.isDynamicDim(2) ||
      srcType.getDimSize(1) * srcType.getDimSize(2) != ktType.getDimSize(1))
    return Value();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(co);
  return tensor::CollapseShapeOp::create(
      b, co.getLoc(), co.getSrc(),
      SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
}

/// (s_q Q)(s_k K)^T: Q K^T with positive scalar factors on either operand
/// (folded into `scale`).
bool matchScaledScores(Value v, Value &q, Value &k, double &scale,
                       OpBuilder &b) {
  Value ql, kt;
  bool transposed = false;
  if (!matchContraction(v, ql, kt, transposed))
    return false;
  double s = scale;
  Value kk =
      transposed ? peelScale(kt, s) : transposedLastTwo(peelScale(kt, s), b);
  if (!kk)
    return false;
  q = peelScale(ql, s);
  k = peelScale(kk, s);
  scale = s;
  return true;
}

/// x for isnan(x) as an element-wise generic (arith.cmpf uno x, x), or null.
Value matchIsNaN(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || !allParallel(g) ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return Value();
  Block &body = g.getRegion().front();
  auto cmp = dyn_cast<arith::CmpFOp>(&body.front());
  if (!cmp || body.getOperations().size() != 2 ||
      cmp.getPredicate() != arith::CmpFPredicate::UNO ||
      cmp.getLhs() != body.getArgument(0) ||
      cmp.getRhs() != body.getArgument(0))
    return Value();
  return g.getDpsInputs()[0];
}

/// The [B, Hkv, T, D] key or value behind repeat_kv's copy: x [B, Hkv, T, D]
/// unsqueezed to [B, Hkv, 1, T, D], expanded to [B, Hkv, n, T, D] and
/// reshaped to [B, Hkv*n, T, D]. Returns null (and leaves `v` alone) when `v`
/// is not such a copy; the new value is built before `at`.
Value repeatedKV(Value v, OpBuilder &b) {
  auto co = v.getDefiningOp<tensor::CollapseShapeOp>();
  if (!co)
    return Value();
  auto src = cast<RankedTensorType>(co.getSrc().getType());
  auto re = co.getReassociationIndices();
  if (src.getRank() != 5 || re.size() != 4 ||
      re[0] != ReassociationIndices{0} || re[1] != ReassociationIndices{1, 2} ||
      re[2] != ReassociationIndices{3} || re[3] != ReassociationIndices{4} ||
      src.isDynamicDim(1) || src.isDynamicDim(2))
    return Value();
  auto g = co.getSrc().getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      !allParallel(g) || !g.getIndexingMapsArray().back().isIdentity())
    return Value();
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 ||
      yield.getOperand(0) != body.getArgument(0))
    return Value();
  MLIRContext *ctx = g.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap inMap = g.getIndexingMapsArray()[0];
  Value in = g.getDpsInputs()[0];
  auto inType = cast<RankedTensorType>(in.getType());
  Location loc = co.getLoc();
  if (inMap == AffineMap::get(5, 0, {d(0), d(1), d(3), d(4)}, ctx))
    return in;
  if (inMap != AffineMap::get(
                   5, 0,
                   {d(0), d(1), getAffineConstantExpr(0, ctx), d(3), d(4)},
                   ctx) ||
      inType.getDimSize(2) != 1)
    return Value();
  if (auto ex = in.getDefiningOp<tensor::ExpandShapeOp>())
    if (cast<RankedTensorType>(ex.getSrc().getType()).getRank() == 4 &&
        ex.getReassociationIndices() ==
            SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}})
      return ex.getSrc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfterValue(in);
  return tensor::CollapseShapeOp::create(
      b, loc, in, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
}

/// What the chain from softmax's input down to Q K^T computes:
/// softcap * tanh(scale * q.k / softcap) (no tanh: scale * q.k), masked.
struct ScoreChain {
  Value q, k;
  double scale = 1.0, softcap = 0.0;
  bool causal = false, sawMask = false;
  int64_t window = 0;
  /// The reshapes and transposes crossed, from the softmax down, and
  /// whether one of them moves more than unit dims (JAX's grouped query
  /// heads); the mask was read above the first `maskAfter` of them.
  SmallVector<Operation *> relayouts;
  bool reordered = false;
  size_t maskAfter = 0;
  StringRef why; // the check that stopped the reading
};

/// Records why the reading of `c` stopped; returns failure.
LogicalResult stop(ScoreChain &c, StringRef why) {
  c.why = why;
  return failure();
}

/// Whether the [.., T, T] scores `x` have the mask's size.
bool maskFits(Value x, int64_t rank, const HeadMatrix &m) {
  auto st = cast<RankedTensorType>(x.getType());
  return m.rows == m.cols && st.getDimSize(rank - 2) == m.rows &&
         st.getDimSize(rank - 1) == m.cols;
}

/// where(cond, -inf, scores) or where(cond, scores, -inf) with a constant
/// cond that drops exactly the keys above the diagonal (and outside a
/// window); `x` moves on to the scores.
LogicalResult readSelectMask(const Select &sel, Value &x, int64_t rank,
                             ScoreChain &c) {
  bool chainIsFalse = !matchPattern(sel.b, m_Constant());
  Value chain = chainIsFalse ? sel.b : sel.a;
  Value fill = chainIsFalse ? sel.a : sel.b;
  AffineMap chainMap = chainIsFalse ? sel.bMap : sel.aMap;
  auto f = scalarConstant(fill);
  if (!chainMap.isIdentity())
    return stop(c, "the masked scores are broadcast");
  if (!f || !(*f <= -1e4))
    return stop(c, "the mask's fill is not a constant <= -1e4");
  auto m = headMatrix(sel.cond, sel.condMap);
  if (!m)
    return stop(c, "the mask's condition is not a constant [T, T] matrix "
                   "(per head at most)");
  if (!maskFits(x, rank, *m))
    return stop(c, "the mask is not the size of the scores");
  auto w =
      causalWindow(*m, [&](double e) { return (e != 0.0) != chainIsFalse; });
  if (!w)
    return stop(c, "the mask is not causal (or a causal sliding window)");
  c.causal = true;
  c.window = *w;
  x = chain;
  return success();
}

/// scores + mask with a constant mask: 0 where kept (on and below the
/// diagonal, within the window), very negative elsewhere. An all-zero mask
/// is no mask.
/// where(cond, a, b) with a constant condition and scalar constants a and b
/// (an additive mask torch.onnx computes from a boolean one), read through
/// `map` as a HeadMatrix of a and b values.
std::optional<HeadMatrix> selectedConstants(Value v, AffineMap map) {
  auto sel = matchSelect(v);
  if (!sel)
    return std::nullopt;
  auto a = scalarConstant(sel->a), b = scalarConstant(sel->b);
  if (!a || !b)
    return std::nullopt;
  auto m = headMatrix(sel->cond, sel->condMap.compose(map));
  if (!m)
    return std::nullopt;
  for (double &e : m->values)
    e = e != 0.0 ? *a : *b;
  return m;
}

/// A constant, or where(constant, scalar constant, scalar constant).
bool isConstantLike(Value v, AffineMap map) {
  return matchPattern(v, m_Constant()) || selectedConstants(v, map).has_value();
}

LogicalResult readAdditiveMask(Value mask, AffineMap map, Value x, int64_t rank,
                               ScoreChain &c) {
  auto m = headMatrix(mask, map);
  if (!m)
    m = selectedConstants(mask, map);
  if (!m)
    return stop(c, "the additive mask is not a constant [T, T] matrix (per "
                   "head at most)");
  if (!maskFits(x, rank, *m))
    return stop(c, "the mask is not the size of the scores");
  bool allZero = true, valid = true;
  auto w = causalWindow(*m, [&](double e) {
    allZero &= e == 0.0;
    valid &= e == 0.0 || e <= -1e4;
    return e == 0.0;
  });
  if (allZero && m->rows > 1)
    return success();
  if (!w || !valid)
    return stop(c, "the additive mask is not causal (0 kept, <= -1e4 "
                   "dropped)");
  c.causal = true;
  c.window = *w;
  return success();
}

/// One element-wise step with a constant operand: a positive scalar factor
/// (x * s, s * x, x / s) or an additive mask; `x` moves on to the chain.
LogicalResult readBinaryStep(const Binary &bin, Value &x, int64_t rank,
                             double &scale, ScoreChain &c) {
  // The non-constant side continues the chain.
  bool lhsChain = !isConstantLike(bin.lhs, bin.lhsMap);
  Value chain = lhsChain ? bin.lhs : bin.rhs;
  Value other = lhsChain ? bin.rhs : bin.lhs;
  AffineMap chainMap = lhsChain ? bin.lhsMap : bin.rhsMap;
  AffineMap otherMap = lhsChain ? bin.rhsMap : bin.lhsMap;
  if (!chainMap.isIdentity())
    return stop(c, "the scores are broadcast");
  if (!isConstantLike(other, otherMap))
    return stop(c, "the scores are combined with a value that is not a "
                   "constant");
  bool isMul = isa<arith::MulFOp>(bin.arith);
  if (isMul || (isa<arith::DivFOp>(bin.arith) && lhsChain)) {
    auto s = scalarConstant(other);
    if (!s || !(*s > 0))
      return stop(c, "a factor on the scores is not one positive constant");
    scale = isMul ? scale * *s : scale / *s;
  } else if (!isa<arith::AddFOp>(bin.arith)) {
    return stop(c, "the scores go through an arithmetic op other than a "
                   "scale or an additive mask");
  } else if (c.sawMask) {
    return stop(c, "the scores have a second mask");
  } else if (c.softcap != 0.0) {
    return stop(c, "the mask is inside the tanh");
  } else if (failed(readAdditiveMask(other, otherMap, x, rank, c))) {
    return failure();
  } else {
    c.sawMask = true;
    c.maskAfter = c.relayouts.size();
  }
  x = chain;
  return success();
}

/// Reads the chain from softmax's input `x` down to (s_q Q)(s_k K)^T:
/// positive scalar factors, at most one constant mask, and at most one
/// soft-cap c * tanh(x / c) below the mask. The factors met above the tanh
/// are the cap; the scale on q.k is the product of those below it, times
/// the cap.
LogicalResult readScoreChain(Value x, int64_t rank, OpBuilder &b,
                             ScoreChain &c) {
  double scale = 1.0;
  while (!matchScaledScores(x, c.q, c.k, scale, b)) {
    if (Operation *r = mixir::raise::relayoutOf(x)) {
      // Element-wise steps commute with relayouts; a mask below one that
      // reorders must still be read on the [.., T, S] scores (checked by
      // the grouped-heads raising, the only one that accepts those).
      c.relayouts.push_back(r);
      c.reordered |= !mixir::raise::movesOnlyUnitDims(r);
      x = r->getOperand(0);
      rank = cast<RankedTensorType>(x.getType()).getRank();
      continue;
    }
    if (Value inner = matchUnary<math::TanhOp>(x)) {
      if (c.softcap != 0.0)
        return stop(c, "the scores have a second tanh");
      c.softcap = scale;
      scale = 1.0;
      x = inner;
      continue;
    }
    if (auto sel = matchSelect(x)) {
      if (c.sawMask)
        return stop(c, "the scores have a second mask");
      if (c.softcap != 0.0)
        return stop(c, "the mask is inside the tanh");
      if (failed(readSelectMask(*sel, x, rank, c)))
        return failure();
      c.sawMask = true;
      c.maskAfter = c.relayouts.size();
      continue;
    }
    auto bin = matchBinary(x);
    if (!bin)
      return stop(c, "the scores are not Q K^T under scalar factors, one "
                     "constant mask and one soft-cap");
    if (failed(readBinaryStep(*bin, x, rank, scale, c)))
      return failure();
  }
  c.scale = c.softcap != 0.0 ? scale * c.softcap : scale;
  return success();
}

/// The element-wise product of square masks of one size, each the same for
/// every head or one per head; null, with `why` set, when they are not.
std::optional<HeadMatrix> maskProduct(ArrayRef<HeadMatrix> masks,
                                      const char *&why) {
  std::optional<HeadMatrix> product;
  for (const HeadMatrix &m : masks) {
    if (m.rows != m.cols) {
      why = "a mask is not square";
      return std::nullopt;
    }
    if (!product) {
      product = m;
      continue;
    }
    if (m.rows != product->rows) {
      why = "the masks differ in size";
      return std::nullopt;
    }
    HeadMatrix p;
    p.heads = std::max(m.heads, product->heads);
    if ((m.heads != 1 && m.heads != p.heads) ||
        (product->heads != 1 && product->heads != p.heads)) {
      why = "the masks differ in head count";
      return std::nullopt;
    }
    p.rows = p.cols = m.rows;
    p.values.resize(p.heads * p.rows * p.cols);
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.rows; ++i)
        for (int64_t j = 0; j < p.cols; ++j)
          p.values[(h * p.rows + i) * p.cols + j] =
              m.at(m.heads == 1 ? 0 : h, i, j) *
              product->at(product->heads == 1 ? 0 : h, i, j);
    product = std::move(p);
  }
  return product;
}

/// Whether `m` is causal with gamma_h^(i-j) on and below the diagonal of
/// head h, gamma_h in (0, 1]; appends each gamma_h to `gammas`, or sets
/// `why`.
bool causalDecays(const HeadMatrix &m, SmallVector<double> &gammas,
                  const char *&why) {
  int64_t t = m.rows;
  for (int64_t h = 0; h < m.heads; ++h) {
    double gamma = t > 1 ? m.at(h, 1, 0) : 1.0;
    if (!(gamma > 0.0 && gamma <= 1.0)) {
      why = "the decay below the diagonal is not in (0, 1]";
      return false;
    }
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < t; ++j) {
        double e = m.at(h, i, j);
        double want = j > i ? 0.0 : std::pow(gamma, (double)(i - j));
        if (std::abs(e - want) > 1e-5 * std::max(1.0, std::abs(want))) {
          why = "the mask is not causal with a decay gamma^(i-j) on "
                "and below the diagonal";
          return false;
        }
      }
    gammas.push_back(gamma);
  }
  return true;
}

/// The permutation swapping the last two of `rank` dims.
SmallVector<int64_t> swapLastTwo(int64_t rank) {
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  std::swap(perm[rank - 2], perm[rank - 1]);
  return perm;
}

struct MixRaise : mixir::impl::MixRaiseBase<MixRaise> {
  using MixRaiseBase::MixRaiseBase;

  /// The candidates left in the function being raised.
  std::optional<mixir::raise::Report> report_;

  /// Records that `pattern` left `op` because of `why`; returns failure.
  LogicalResult leave(Operation *op, StringRef pattern, StringRef why) {
    report_->left(op, pattern, why);
    return failure();
  }

  void runOnOperation() override {
    report_.emplace(report || mixir::reportRaisingByDefault());
    mixir::raise::raiseLoops(getOperation(), *report_);
    SmallVector<linalg::LinalgOp> matmuls;
    getOperation().walk([&](linalg::LinalgOp g) {
      Value l, r;
      if (g->getNumResults() == 1 && matchMatmul(g->getResult(0), l, r))
        matmuls.push_back(g);
    });
    for (linalg::LinalgOp g : matmuls) {
      if (succeeded(raiseSoftmaxAttention(g)))
        continue;
      (void)raiseLinearAttention(g);
    }
    getOperation().walk([&](mixir::mix::AttentionOp op) { shareKVHeads(op); });
    mixir::raise::reportUnrolled(getOperation(), *report_);
    report_->print();
    report_.reset();
  }

  /// A mix.attention (from an ONNX Attention node, or raised) whose K and V
  /// are repeat_kv copies ([B, Hkv, T, D] -> [B, Hkv*n, T, D], then to
  /// [B, T, H, D]) reads the Hkv shared heads instead.
  void shareKVHeads(mixir::mix::AttentionOp op) {
    auto source = [&](Value x, OpBuilder &b) -> Value {
      auto tr = x.getDefiningOp<linalg::TransposeOp>();
      if (!tr || tr.getPermutation() != ArrayRef<int64_t>{0, 2, 1, 3})
        return Value();
      return repeatedKV(tr.getInput(), b);
    };
    OpBuilder b(op);
    Value k = source(op.getK(), b), v = source(op.getV(), b);
    if (!k || !v ||
        cast<RankedTensorType>(k.getType()).getDimSize(1) !=
            cast<RankedTensorType>(v.getType()).getDimSize(1))
      return;
    b.setInsertionPoint(op);
    op.getKMutable().assign(transposed(b, op.getLoc(), k, {0, 2, 1, 3}));
    op.getVMutable().assign(transposed(b, op.getLoc(), v, {0, 2, 1, 3}));
  }

  /// [B, H, T, D] -> [B, T, H, D]; [B, T, D] -> [B, T, 1, D].
  Value toMix(OpBuilder &b, Location loc, Value x) {
    if (cast<RankedTensorType>(x.getType()).getRank() == 4)
      return transposed(b, loc, x, {0, 2, 1, 3});
    SmallVector<OpFoldResult> s = tensor::getMixedSizes(b, loc, x);
    auto type = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1), 1,
                                  type.getDimSize(2)};
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), x,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}},
        SmallVector<OpFoldResult>{s[0], s[1], b.getIndexAttr(1), s[2]});
  }
  /// The inverse of toMix for a result of rank `rank`.
  Value fromMix(OpBuilder &b, Location loc, Value x, int64_t rank) {
    if (rank == 4)
      return transposed(b, loc, x, {0, 2, 1, 3});
    return tensor::CollapseShapeOp::create(
        b, loc, x, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  }

  /// Why Q, K and V's element types cannot be a mix op's, or null.
  static const char *elementProblem(Value q, Value k, Value v) {
    Type elem = cast<RankedTensorType>(q.getType()).getElementType();
    if (elem != cast<RankedTensorType>(k.getType()).getElementType() ||
        elem != cast<RankedTensorType>(v.getType()).getElementType() ||
        !(elem.isF32() || elem.isF16() || elem.isBF16()))
      return "Q, K and V are not all f32, f16 or bf16";
    return nullptr;
  }

  /// Why Q, K and V cannot be a mix op's operands, or null.
  const char *headsProblem(Value q, Value k, Value v) {
    for (Value x : {q, k, v}) {
      auto t = cast<RankedTensorType>(x.getType());
      if (t.isDynamicDim(t.getRank() - 1) ||
          (t.getRank() == 4 && t.isDynamicDim(1)))
        return "Q, K or V has a dynamic head count or head dim";
    }
    if (const char *why = elementProblem(q, k, v))
      return why;
    auto qt = cast<RankedTensorType>(q.getType()),
         kt = cast<RankedTensorType>(k.getType()),
         vt = cast<RankedTensorType>(v.getType());
    if (qt.getRank() == 4 && (qt.getDimSize(1) % kt.getDimSize(1) != 0 ||
                              kt.getDimSize(1) != vt.getDimSize(1)))
      return "the query heads are not a multiple of the key and value heads";
    return nullptr;
  }

  /// The softmax behind `probs` (through torch.onnx's isnan guard and
  /// relayouts of unit dims), or null.
  linalg::SoftmaxOp softmaxOf(Value probs) {
    // where(isnan(p), 0, p): torch.onnx's SDPA zeroes the rows of fully
    // masked keys, as mix.attention does.
    if (auto sel = matchSelect(probs)) {
      auto zero = scalarConstant(sel->a);
      if (zero && *zero == 0.0 && sel->bMap.isIdentity() &&
          sel->condMap.isIdentity() && matchIsNaN(sel->cond) == sel->b)
        probs = sel->b;
    }
    if (auto sm = probs.getDefiningOp<linalg::SoftmaxOp>())
      return sm;
    return sameElements(probs).getDefiningOp<linalg::SoftmaxOp>();
  }

  /// The softmax behind `p` through reshapes and transposes, which are put
  /// in `ops` from the softmax to `p`; else softmaxOf(p) with `ops` empty.
  linalg::SoftmaxOp softmaxBehind(Value p, SmallVector<Operation *> &ops) {
    ops.clear();
    Value x = p;
    while (Operation *r = mixir::raise::relayoutOf(x)) {
      ops.insert(ops.begin(), r);
      x = r->getOperand(0);
    }
    if (auto sm = x.getDefiningOp<linalg::SoftmaxOp>())
      return sm;
    ops.clear();
    return softmaxOf(p);
  }

  /// JAX's grouped query heads (dot_product_attention with Hkv < Hq): Q
  /// [B, T, Hkv*G, D] is reshaped to [B, T, Hkv, G, D] and its (token,
  /// group) pairs become the rows of Q K^T [B, Hkv, T*G, S]; the scores go
  /// through relayouts (the mask read where they are [.., T, S]) and P's
  /// rows are such pairs again. What was found, or why not.
  struct GroupedQueries {
    Value q;          // [B, T, Hq, D], query head h = kv head * G + group
    std::string rows; // P's rows, outer to inner: "tg" or "gt"
    const char *why = nullptr;
  };

  /// Reads the roles of the dims along the grouped form (see
  /// GroupedQueries) from Q's source to P; every reshape and transpose is
  /// followed factor by factor (mixir::raise::applyRelayout).
  GroupedQueries groupedQueries(const ScoreChain &c, Value v,
                                ArrayRef<Operation *> pRelayouts) {
    GroupedQueries g;
    auto kt = cast<RankedTensorType>(c.k.getType());
    auto qgt = cast<RankedTensorType>(c.q.getType());
    auto vt = cast<RankedTensorType>(v.getType());
    if (kt.getRank() != 4 || qgt.getRank() != 4 || vt.getRank() != 4 ||
        !kt.hasStaticShape() || !qgt.hasStaticShape() ||
        vt.getDimSize(1) != kt.getDimSize(1)) {
      g.why = "the grouped query heads' K, V or Q rows are not static "
              "[B, Hkv, T, D] tensors";
      return g;
    }
    int64_t hkv = kt.getDimSize(1);
    mixir::raise::FactorLayout at;
    std::string rows;
    g.q = groupedQuerySource(c.q, hkv, kt.getDimSize(2), at, rows);
    if (!g.q) {
      g.why = "Q K^T's rows are not Q's (token, group) pairs with query head "
              "h read by key/value head h / G";
      return g;
    }
    // The scores, from Q K^T [B, Hkv, rows, S] up to the softmax.
    at.dims = {named(at, "b"), named(at, "k"), rows, named(at, "s")};
    for (size_t level = c.relayouts.size();; --level) {
      if (c.sawMask && level == c.maskAfter &&
          !(at.dims.size() >= 2 && at.dims.end()[-2] == named(at, "t") &&
            at.dims.back() == named(at, "s"))) {
        g.why = "the mask is not read on [.., T, S] scores";
        return g;
      }
      if (level == 0)
        break;
      if (failed(mixir::raise::applyRelayout(c.relayouts[level - 1], at))) {
        g.why = "a reshape of the scores splits a dim";
        return g;
      }
    }
    if (at.dims.back() != named(at, "s")) {
      g.why = "the softmax is not over the keys";
      return g;
    }
    bool ok = llvm::all_of(pRelayouts, [&](Operation *r) {
      return succeeded(mixir::raise::applyRelayout(r, at));
    });
    if (!ok || !isRowsLayout(at, "s", g.rows)) {
      g.why = "P's rows are not the scores' (token, group) pairs";
      g.q = Value();
    }
    return g;
  }

  /// Q's source for Q's rows `qRows` [B, Hkv, rows, D]: the deepest value
  /// before them whose dims read as [B, T, Hkv*G, D], (kv head, group) in
  /// that order, with rows (token, group) pairs (put in `rows`; `at` is
  /// qRows' layout). Null when there is none.
  Value groupedQuerySource(Value qRows, int64_t hkv, int64_t keys,
                           mixir::raise::FactorLayout &at, std::string &rows) {
    SmallVector<Value> chain = {qRows};
    while (Operation *r = mixir::raise::relayoutOf(chain.back()))
      chain.push_back(r->getOperand(0));
    for (int64_t i = chain.size() - 1; i >= 0; --i) {
      auto xt = cast<RankedTensorType>(chain[i].getType());
      if (xt.getRank() != 4 || !xt.hasStaticShape() ||
          xt.getDimSize(2) % hkv != 0 || xt.getDimSize(2) == hkv)
        continue;
      llvm::DenseMap<char, int64_t> sizes = {
          {'b', xt.getDimSize(0)},       {'t', xt.getDimSize(1)}, {'k', hkv},
          {'g', xt.getDimSize(2) / hkv}, {'d', xt.getDimSize(3)}, {'s', keys}};
      at = mixir::raise::factorLayout({"b", "t", "kg", "d"}, sizes);
      bool ok = true;
      for (int64_t j = i - 1; j >= 0 && ok; --j)
        ok = succeeded(mixir::raise::applyRelayout(
            mixir::raise::relayoutOf(chain[j]), at));
      if (ok && isRowsLayout(at, "d", rows))
        return chain[i];
    }
    return Value();
  }

  /// `name` without the factors of size 1 in `l`.
  static std::string named(const mixir::raise::FactorLayout &l,
                           StringRef name) {
    return mixir::raise::factorLayout({name.str()}, l.sizes).dims[0];
  }

  /// Whether `l` is [b, k, rows, last] with rows the token and group factors
  /// in either order (returned in `rows`).
  static bool isRowsLayout(const mixir::raise::FactorLayout &l, StringRef last,
                           std::string &rows) {
    if (l.dims.size() != 4 || l.dims[0] != named(l, "b") ||
        l.dims[1] != named(l, "k") || l.dims[3] != named(l, last))
      return false;
    rows = l.dims[2];
    return rows == named(l, "tg") || rows == named(l, "gt");
  }

  /// The grouped attention output o [B, T, Hkv*G, D] in `out`'s layout
  /// [B, Hkv, rows, D] (its last two dims swapped when `transposedOut`).
  void replaceGrouped(OpBuilder &b, linalg::LinalgOp out, Value o,
                      StringRef rows, int64_t hkv, bool transposedOut) {
    Location loc = out->getLoc();
    auto ot = cast<RankedTensorType>(o.getType());
    int64_t bs = ot.getDimSize(0), t = ot.getDimSize(1), d = ot.getDimSize(3);
    int64_t g = ot.getDimSize(2) / hkv;
    SmallVector<ReassociationIndices> heads = {{0}, {1}, {2, 3}, {4}};
    Value x = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({bs, t, hkv, g, d}, ot.getElementType()),
        o, heads);
    SmallVector<int64_t> perm = {0, 2, 1, 3, 4};
    if (rows == "gt" || rows == "g")
      perm = {0, 2, 3, 1, 4};
    x = transposed(b, loc, x, perm);
    x = tensor::CollapseShapeOp::create(b, loc, x, heads);
    if (transposedOut)
      x = transposed(b, loc, x, swapLastTwo(4));
    if (x.getType() != out->getResult(0).getType())
      x = tensor::CastOp::create(b, loc, out->getResult(0).getType(), x);
    out->getResult(0).replaceAllUsesWith(x);
  }

  /// softmax(s * Q K^T [+ causal mask]) V, or its transpose V^T P^T (as
  /// JAX's vmapped dot_product_attention contracts it); with JAX's grouped
  /// query heads (GroupedQueries) too.
  LogicalResult raiseSoftmaxAttention(linalg::LinalgOp out) {
    Value probs, v;
    if (!matchMatmul(out->getResult(0), probs, v))
      return failure();
    OpBuilder b(out);
    bool transposedOut = false;
    SmallVector<Operation *> pRelayouts;
    linalg::SoftmaxOp sm = softmaxBehind(probs, pRelayouts);
    if (!sm) {
      // out = V^T P^T: the right operand is P^T, the left V^T.
      auto pt = v.getDefiningOp<linalg::TransposeOp>();
      int64_t r = cast<RankedTensorType>(v.getType()).getRank();
      if (!pt || r < 3 ||
          pt.getPermutation() != ArrayRef<int64_t>(swapLastTwo(r)))
        return failure(); // no candidate
      sm = softmaxBehind(pt.getInput(), pRelayouts);
      if (!sm)
        return failure();
      Value vt = probs;
      probs = pt.getInput();
      b.setInsertionPoint(out);
      v = transposed(b, out->getLoc(), vt, swapLastTwo(r));
      transposedOut = true;
    }
    int64_t rank = cast<RankedTensorType>(probs.getType()).getRank();
    int64_t smRank = cast<RankedTensorType>(sm.getInput().getType()).getRank();
    if ((int64_t)sm.getDimension() != smRank - 1)
      return leave(out, "attention", "the softmax is not over the keys");
    ScoreChain c;
    if (failed(readScoreChain(sm.getInput(), smRank, b, c)))
      return leave(out, "attention", c.why);
    bool grouped = c.reordered || llvm::any_of(pRelayouts, [](Operation *r) {
                     return !mixir::raise::movesOnlyUnitDims(r);
                   });
    Location loc = out->getLoc();
    Value q4, k4, v4;
    GroupedQueries gq;
    if (grouped) {
      gq = groupedQueries(c, v, pRelayouts);
      if (gq.why)
        return leave(out, "attention", gq.why);
      if (const char *why = elementProblem(gq.q, c.k, v))
        return leave(out, "attention", why);
      b.setInsertionPoint(out);
      q4 = gq.q, k4 = toMix(b, loc, c.k), v4 = toMix(b, loc, v);
    } else {
      FailureOr<std::array<Value, 3>> qkv = plainOperands(c, v, rank, b, out);
      if (failed(qkv))
        return failure();
      q4 = (*qkv)[0], k4 = (*qkv)[1], v4 = (*qkv)[2];
    }
    Value o =
        mixir::mix::AttentionOp::create(
            b, loc, mixOutputType(q4, v4), /*lse=*/Type(), q4, k4, v4, Value(),
            /*cu_seqlens=*/Value(), /*kv_lens=*/Value(),
            c.causal ? b.getUnitAttr() : UnitAttr(),
            c.window ? b.getI64IntegerAttr(c.window) : IntegerAttr(),
            b.getF32FloatAttr((float)c.scale),
            c.softcap != 0.0 ? b.getF32FloatAttr((float)c.softcap)
                             : FloatAttr(),
            /*block=*/IntegerAttr())
            .getO();
    if (grouped)
      replaceGrouped(b, out, o, gq.rows,
                     cast<RankedTensorType>(c.k.getType()).getDimSize(1),
                     transposedOut);
    else
      replaceWithMixOutput(b, out, o, rank, transposedOut);
    return success();
  }

  /// The mix-form Q, K and V of an attention whose Q K^T and P V have one
  /// layout [B, (H,) T, D] (K and V copied by repeat_kv read from the shared
  /// heads); failure, reported, when they cannot be.
  FailureOr<std::array<Value, 3>> plainOperands(const ScoreChain &c, Value v,
                                                int64_t rank, OpBuilder &b,
                                                linalg::LinalgOp out) {
    Value q = c.q, k = c.k;
    if (cast<RankedTensorType>(q.getType()).getRank() != rank)
      return leave(out, "attention", "Q K^T and P V have different ranks");
    // GQA: K and V copied per query head group (repeat_kv) are read from
    // the shared heads.
    if (rank == 4) {
      Value kr = repeatedKV(k, b), vr = repeatedKV(v, b);
      if (kr && vr &&
          cast<RankedTensorType>(kr.getType()).getDimSize(1) ==
              cast<RankedTensorType>(vr.getType()).getDimSize(1))
        k = kr, v = vr;
    }
    if (const char *why = headsProblem(q, k, v))
      return leave(out, "attention", why);
    Location loc = out->getLoc();
    b.setInsertionPoint(out);
    return std::array<Value, 3>{toMix(b, loc, q), toMix(b, loc, k),
                                toMix(b, loc, v)};
  }

  /// What multiplies Q K^T in the score chain of a linear attention.
  struct ScoreFactors {
    Value q, k;
    /// G of a decay exp(G_i - G_j), [B, H, T, 1]; null without one.
    Value cumulative;
    /// The factors that must be constant masks.
    SmallVector<std::pair<Value, AffineMap>> factors;
    /// The masks read so far (from where()), 1 where the scores are kept.
    SmallVector<HeadMatrix> masks;
    /// Why the chain stopped (reported once Q K^T is found).
    const char *why = nullptr;
  };

  /// Splits `probs`, a tree of element-wise multiplies, into Q K^T, at most
  /// one exp(G_i - G_j), where() masks and other factors.
  ScoreFactors collectScoreFactors(Value probs, int64_t rank) {
    ScoreFactors f;
    SmallVector<std::pair<Value, AffineMap>> work = {
        {probs, AffineMap::getMultiDimIdentityMap(rank, probs.getContext())}};
    while (!work.empty() && !f.why) {
      auto [x, map] = work.pop_back_val();
      if (map.isIdentity()) {
        Value ql, kl;
        if (!f.q && matchScores(x, ql, kl)) {
          f.q = ql, f.k = kl;
          continue;
        }
        if (Value g = rank == 4 ? matchDecayExp(x, map) : Value()) {
          if (f.cumulative)
            f.why = "two exp(G_i - G_j) decays";
          else
            f.cumulative = g;
          continue;
        }
        auto bin = matchBinary(x);
        if (bin && isa<arith::MulFOp>(bin->arith)) {
          work.push_back({bin->lhs, bin->lhsMap});
          work.push_back({bin->rhs, bin->rhsMap});
          continue;
        }
        if (Value kept = readWhereMask(x, f)) {
          work.push_back({kept, map});
          continue;
        }
        if (f.why)
          continue;
      }
      f.factors.push_back({x, map});
    }
    return f;
  }

  /// where(mask, x, 0) or where(mask, 0, x) with a constant mask is a factor
  /// of 1 where x is kept: adds the mask to `f` and returns x. Null when `v`
  /// is no such select, with f.why set when its mask cannot be read.
  Value readWhereMask(Value v, ScoreFactors &f) {
    auto sel = matchSelect(v);
    if (!sel)
      return Value();
    auto zeroA = scalarConstant(sel->a), zeroB = scalarConstant(sel->b);
    bool keepIfTrue = zeroB && *zeroB == 0.0 && sel->aMap.isIdentity() &&
                      !matchPattern(sel->a, m_Constant());
    bool keepIfFalse = zeroA && *zeroA == 0.0 && sel->bMap.isIdentity() &&
                       !matchPattern(sel->b, m_Constant());
    if (!keepIfTrue && !keepIfFalse)
      return Value();
    auto m = headMatrix(sel->cond, sel->condMap);
    if (!m) {
      f.why = "the where() mask is not a constant [T, T] matrix (per head at "
              "most)";
      return Value();
    }
    for (double &e : m->values)
      e = (e != 0.0) == keepIfTrue ? 1.0 : 0.0;
    f.masks.push_back(std::move(*m));
    return keepIfTrue ? sel->a : sel->b;
  }

  /// The per-token log decay g [B, T, H] whose recurrence reproduces
  /// exp(G_i - G_j) for j <= i, from G_i [B, H, T, 1]: g_t = G_t - G_{t-1}
  /// and g_0 = 0 (the state before token 0 is zero).
  Value gateFromCumulative(OpBuilder &b, Location loc, Value cumulative) {
    Value g3 = tensor::CollapseShapeOp::create(
        b, loc, cumulative,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    SmallVector<OpFoldResult> gs = tensor::getMixedSizes(b, loc, g3);
    SmallVector<OpFoldResult> outSizes = {gs[0], gs[2], gs[1]};
    Type elem = cast<RankedTensorType>(g3.getType()).getElementType();
    Value init = tensor::EmptyOp::create(b, loc, outSizes, elem);
    SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
    auto body = [&](OpBuilder &nb, Location nloc, ValueRange) {
      Value bi = linalg::IndexOp::create(nb, nloc, 0);
      Value ti = linalg::IndexOp::create(nb, nloc, 1);
      Value hi = linalg::IndexOp::create(nb, nloc, 2);
      Value zero = arith::ConstantIndexOp::create(nb, nloc, 0);
      Value one = arith::ConstantIndexOp::create(nb, nloc, 1);
      Value first =
          arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::eq, ti, zero);
      Value prevT = arith::SelectOp::create(
          nb, nloc, first, zero, arith::SubIOp::create(nb, nloc, ti, one));
      Value cur =
          tensor::ExtractOp::create(nb, nloc, g3, ValueRange{bi, hi, ti});
      Value prev =
          tensor::ExtractOp::create(nb, nloc, g3, ValueRange{bi, hi, prevT});
      Value d = arith::SubFOp::create(nb, nloc, cur, prev);
      linalg::YieldOp::create(nb, nloc, d);
    };
    return linalg::GenericOp::create(
               b, loc, init.getType(), ValueRange{}, ValueRange{init},
               SmallVector<AffineMap>{
                   AffineMap::getMultiDimIdentityMap(3, b.getContext())},
               iters, body)
        .getResult(0);
  }

  /// Replaces `out`'s result with the mix op's output `o` [B, T, H, V],
  /// brought back to `out`'s rank and type (its last two dims swapped when
  /// `out` computes the transposed product).
  void replaceWithMixOutput(OpBuilder &b, linalg::LinalgOp out, Value o,
                            int64_t rank, bool transposedOut = false) {
    Location loc = out->getLoc();
    Value result = fromMix(b, loc, o, rank);
    if (transposedOut)
      result = transposed(b, loc, result, swapLastTwo(rank));
    if (result.getType() != out->getResult(0).getType())
      result =
          tensor::CastOp::create(b, loc, out->getResult(0).getType(), result);
    out->getResult(0).replaceAllUsesWith(result);
  }

  /// The mix output type [B, T, H, V] for mix-form q and v.
  static RankedTensorType mixOutputType(Value q4, Value v4) {
    auto qt = cast<RankedTensorType>(q4.getType());
    auto vt = cast<RankedTensorType>(v4.getType());
    return RankedTensorType::get({qt.getDimSize(0), qt.getDimSize(1),
                                  qt.getDimSize(2), vt.getDimSize(3)},
                                 qt.getElementType());
  }

  /// Reads the constant factors of `f` as masks whose product is causal
  /// with gamma_h^(i-j) on and below the diagonal; fills `gammas` (one per
  /// mask head) and returns the product's head count, or the reason not.
  FailureOr<int64_t> causalDecayOf(ScoreFactors &f, RankedTensorType scores,
                                   SmallVector<double> &gammas,
                                   const char *&why) {
    for (auto [x, map] : f.factors) {
      auto m = headMatrix(x, map);
      if (!m) {
        why = "a factor on Q K^T is not a constant [T, T] matrix (per head "
              "at most) or a decay exp(G_i - G_j)";
        return failure();
      }
      f.masks.push_back(std::move(*m));
    }
    std::optional<HeadMatrix> product = maskProduct(f.masks, why);
    if (!product)
      return failure();
    int64_t t = product->rows, rank = scores.getRank();
    if (scores.getDimSize(rank - 2) != t || scores.getDimSize(rank - 1) != t) {
      why = "the mask is not the size of the scores";
      return failure();
    }
    if (!causalDecays(*product, gammas, why))
      return failure();
    return product->heads;
  }

  /// ((Q K^T) * causal [* decay]) V with no softmax.
  LogicalResult raiseLinearAttention(linalg::LinalgOp out) {
    Value probs, v;
    if (!matchMatmul(out->getResult(0), probs, v))
      return failure();
    auto scoreType = cast<RankedTensorType>(probs.getType());
    int64_t rank = scoreType.getRank();
    ScoreFactors f = collectScoreFactors(probs, rank);
    if (!f.q)
      return failure(); // no candidate
    auto leaveIt = [&](const char *reason) {
      return leave(out, "linear attention", reason);
    };
    if (f.why)
      return leaveIt(f.why);
    if (f.factors.size() + f.masks.size() == 0)
      return leaveIt("Q K^T is not masked");
    SmallVector<double> gammas;
    const char *why = nullptr;
    FailureOr<int64_t> maskHeads = causalDecayOf(f, scoreType, gammas, why);
    if (failed(maskHeads))
      return leaveIt(why);
    bool decayed = llvm::any_of(gammas, [](double g) { return g != 1.0; });
    if (decayed && f.cumulative)
      return leaveIt("both a constant decay and exp(G_i - G_j)");
    if (const char *problem = headsProblem(f.q, f.k, v))
      return leaveIt(problem);
    auto qt0 = cast<RankedTensorType>(f.q.getType());
    int64_t heads = rank == 4 ? qt0.getDimSize(1) : 1;
    if (*maskHeads != 1 && *maskHeads != heads)
      return leaveIt("the mask's head count is not the query's");
    if (f.cumulative) {
      auto gt = cast<RankedTensorType>(f.cumulative.getType());
      if (gt.getDimSize(1) != heads ||
          gt.getElementType() != qt0.getElementType())
        return leaveIt("exp(G_i - G_j)'s heads or element type are not "
                       "Q's");
    }

    OpBuilder b(out);
    Location loc = out->getLoc();
    MLIRContext *ctx = b.getContext();
    Value q4 = toMix(b, loc, f.q), k4 = toMix(b, loc, f.k),
          v4 = toMix(b, loc, v);
    Value g;
    auto kind = mixir::mix::GateKind::none;
    if (decayed) {
      SmallVector<float> logs;
      for (int64_t h = 0; h < heads; ++h)
        logs.push_back((float)std::log(gammas[*maskHeads == 1 ? 0 : h]));
      g = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({heads}, b.getF32Type()),
                                 ArrayRef<float>(logs)));
      kind = mixir::mix::GateKind::head;
    } else if (f.cumulative) {
      g = gateFromCumulative(b, loc, f.cumulative);
      kind = mixir::mix::GateKind::scalar;
    }
    auto qt = cast<RankedTensorType>(q4.getType());
    auto kt = cast<RankedTensorType>(k4.getType());
    auto vt = cast<RankedTensorType>(v4.getType());
    auto sType = RankedTensorType::get({qt.getDimSize(0), vt.getDimSize(2),
                                        kt.getDimSize(3), vt.getDimSize(3)},
                                       b.getF32Type());
    auto op = mixir::mix::LinearAttentionOp::create(
        b, loc, mixOutputType(q4, v4), sType, q4, k4, v4, g, Value(), Value(),
        Value(), mixir::mix::GateKindAttr::get(ctx, kind),
        b.getF32FloatAttr(1.0f), IntegerAttr());
    replaceWithMixOutput(b, out, op.getO(), rank);
    return success();
  }
};

} // namespace
