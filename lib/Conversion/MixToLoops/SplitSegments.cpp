//===- SplitSegments.cpp - the two-pass (segment-parallel) schedule -------===//
//
// mix-split-segments: a linear attention or delta rule op over [B, T] runs
// as P segments per sequence in parallel (MIXERS.md, segment summaries):
//
//   1. summaries: the op packed over the B * P segments (varlen), each from
//      a zero state, gives every segment's C (its final state); M is the
//      segment's summed log decay (linear attention), or for the delta
//      rule the op run with v = 0 (value dim K) from the identity, whose
//      final state is the product of the segment's transitions;
//   2. a scan over each sequence's P summaries, S <- M S + C, records the
//      state entering every segment and ends in the sequence's final state;
//   3. outputs: the op packed over the segments again, each from its
//      incoming state.
//
// Every step is the op's own chunked form (or a small element-wise or
// K x K product), so nothing new is derived; the work is about twice the
// fused schedule's (three times for the delta rule, whose M costs a run),
// in exchange for B * P * H independent problems instead of B * H: what
// fills a GPU's SMs when B * H is small. Segments are ceil(T / P) tokens
// (the last ones shorter or empty), cut by the offsets the packed ops take
// as data, so T stays dynamic.
//
//===----------------------------------------------------------------------===//
#include "mixir/Conversion/Passes.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mixir {
#define GEN_PASS_DEF_SPLITSEGMENTS
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {

Value ibc(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}
Value ibf(ImplicitLocOpBuilder &b, double v) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
}

/// Dims 0 and 1 merged, the others kept: [[0, 1], [2], ..., [rank - 1]].
SmallVector<ReassociationIndices> mergeLeading(int64_t rank) {
  SmallVector<ReassociationIndices> groups = {{0, 1}};
  for (int64_t d = 2; d < rank; ++d)
    groups.push_back({d});
  return groups;
}

/// A gate element as f32 (gates may have the inputs' 16-bit type).
Value toF32(ImplicitLocOpBuilder &b, Value x) {
  if (x.getType().isF32())
    return x;
  return arith::ExtFOp::create(b, b.getF32Type(), x);
}

class Splitter {
public:
  Splitter(ImplicitLocOpBuilder &b, Operation *op, int64_t segments)
      : b(b), op(op), P(segments) {
    B = tensor::DimOp::create(b, op->getOperand(0), 0);
    T = tensor::DimOp::create(b, op->getOperand(0), 1);
    N = arith::MulIOp::create(b, B, idx(P));
  }
  /// The split form at the builder's point: (o, final state).
  std::pair<Value, Value> build();

private:
  Value idx(int64_t v) { return ibc(b, v); }
  /// [B, T, rest...] as [1, B * T, rest...], and back.
  Value pack(Value x);
  Value unpack(Value x, RankedTensorType like);
  /// [B * P, rest...] as [B, P, rest...], and back.
  Value perSequence(Value x);
  Value perSegment(Value x);
  /// The segment offsets, [B * P + 1] i64.
  Value offsets();
  /// A clone of the op on the packed operands over the segments, from
  /// `init` (null: zero states), with `v` (null: the packed v; another
  /// value dim changes those of the results).
  Operation *packedOp(Value v, Value init);
  /// Each segment's summed log decay ([B * P, Hv] or [B * P, Hv, K]).
  Value segmentDecays();
  /// S <- M S + C for one segment of every sequence.
  Value combine(Value m, Value s, Value c);

  ImplicitLocOpBuilder &b;
  Operation *op;
  int64_t P;
  Value B, T, N; // N = B * P segments
  Value cu;
  // The operands laid out as one packed sequence (g only when per token).
  Value pq, pk, pv, pbeta, packedG;
};

Value Splitter::pack(Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<ReassociationIndices> groups = mergeLeading(type.getRank());
  Value flat = tensor::CollapseShapeOp::create(b, x, groups);
  auto flatType = cast<RankedTensorType>(flat.getType());
  SmallVector<int64_t> shape = {1};
  llvm::append_range(shape, flatType.getShape());
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  for (int64_t d = 0; d < flatType.getRank(); ++d)
    sizes.push_back(flatType.isDynamicDim(d)
                        ? OpFoldResult(tensor::DimOp::create(b, flat, d))
                        : OpFoldResult(b.getIndexAttr(flatType.getDimSize(d))));
  return tensor::ExpandShapeOp::create(b, flatType.clone(shape), flat, groups,
                                       sizes);
}

Value Splitter::unpack(Value x, RankedTensorType like) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<ReassociationIndices> groups = mergeLeading(type.getRank());
  Value flat = tensor::CollapseShapeOp::create(b, x, groups);
  auto dim = [&](int64_t d, Value v) -> OpFoldResult {
    return like.isDynamicDim(d)
               ? OpFoldResult(v)
               : OpFoldResult(b.getIndexAttr(like.getDimSize(d)));
  };
  SmallVector<OpFoldResult> sizes = {dim(0, B), dim(1, T)};
  for (int64_t d = 2; d < like.getRank(); ++d)
    sizes.push_back(b.getIndexAttr(like.getDimSize(d)));
  return tensor::ExpandShapeOp::create(b, like, flat, groups, sizes);
}

Value Splitter::perSequence(Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape = {ShapedType::kDynamic, P};
  SmallVector<OpFoldResult> sizes = {B, b.getIndexAttr(P)};
  SmallVector<ReassociationIndices> groups = {{0, 1}};
  for (int64_t d = 1; d < type.getRank(); ++d) {
    shape.push_back(type.getDimSize(d));
    sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
    groups.push_back({d + 1});
  }
  return tensor::ExpandShapeOp::create(b, type.clone(shape), x, groups, sizes);
}

Value Splitter::perSegment(Value x) {
  return tensor::CollapseShapeOp::create(
      b, x, mergeLeading(cast<RankedTensorType>(x.getType()).getRank()));
}

Value Splitter::offsets() {
  Value len = arith::CeilDivUIOp::create(b, T, idx(P));
  Value total = arith::MulIOp::create(b, B, T);
  // i64: B x T may pass 2^31.
  auto type = RankedTensorType::get({ShapedType::kDynamic}, b.getI64Type());
  Value count = arith::AddIOp::create(b, N, idx(1));
  return tensor::GenerateOp::create(
      b, type, ValueRange{count},
      [&](OpBuilder &nb, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder ib(loc, nb);
        Value j = ivs[0];
        Value seq = arith::DivUIOp::create(ib, j, ibc(ib, P));
        Value part = arith::RemUIOp::create(ib, j, ibc(ib, P));
        Value start =
            arith::MinUIOp::create(ib, arith::MulIOp::create(ib, part, len), T);
        Value at =
            arith::AddIOp::create(ib, arith::MulIOp::create(ib, seq, T), start);
        Value last = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, j, N);
        at = arith::SelectOp::create(ib, last, total, at);
        tensor::YieldOp::create(
            ib, arith::IndexCastOp::create(ib, ib.getI64Type(), at));
      });
}

Operation *Splitter::packedOp(Value v, Value init) {
  Operation *clone = b.clone(*op);
  Value values = v ? v : pv;
  // The operands both ops share, then the delta rule's beta.
  auto assign = [&](auto c) {
    c.getQMutable().assign(pq);
    c.getKMutable().assign(pk);
    c.getVMutable().assign(values);
    if (packedG)
      c.getGMutable().assign(packedG);
    if (init)
      c.getInitialStateMutable().assign(init);
    else
      c.getInitialStateMutable().clear();
    c.getCuSeqlensMutable().assign(cu);
  };
  if (isa<mixir::mix::LinearAttentionOp>(op)) {
    assign(cast<mixir::mix::LinearAttentionOp>(clone));
  } else {
    auto c = cast<mixir::mix::DeltaRuleOp>(clone);
    assign(c);
    c.getBetaMutable().assign(pbeta);
  }
  auto packedType = [&](Type t) {
    auto r = cast<RankedTensorType>(t);
    SmallVector<int64_t> shape(r.getShape());
    shape[0] = 1;
    shape[1] = ShapedType::isDynamic(shape[1]) ||
                       ShapedType::isDynamic(r.getDimSize(0))
                   ? ShapedType::kDynamic
                   : r.getDimSize(0) * r.getDimSize(1);
    return r.clone(shape);
  };
  // The value dim of the outputs and states: v's.
  int64_t vDim = cast<RankedTensorType>(values.getType()).getDimSize(3);
  auto withValueDim = [&](RankedTensorType r) {
    SmallVector<int64_t> shape(r.getShape());
    shape[3] = vDim;
    return r.clone(shape);
  };
  auto stateType = cast<RankedTensorType>(op->getResult(1).getType());
  SmallVector<int64_t> states(stateType.getShape());
  states[0] = ShapedType::kDynamic;
  clone->getResult(0).setType(
      withValueDim(packedType(op->getResult(0).getType())));
  clone->getResult(1).setType(withValueDim(stateType.clone(states)));
  return clone;
}

Value Splitter::segmentDecays() {
  auto la = cast<mixir::mix::LinearAttentionOp>(op);
  auto gType = cast<RankedTensorType>(la.getG().getType());
  bool head = la.getGateKind() == mixir::mix::GateKind::head;
  int64_t hv =
      cast<RankedTensorType>(la.getFinalState().getType()).getDimSize(1);
  SmallVector<int64_t> shape = {ShapedType::kDynamic, hv};
  if (la.getGateKind() == mixir::mix::GateKind::vector)
    shape.push_back(gType.getDimSize(3));
  Value g = head ? la.getG() : packedG;
  return tensor::GenerateOp::create(
      b, RankedTensorType::get(shape, b.getF32Type()), ValueRange{N},
      [&](OpBuilder &nb, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder ib(loc, nb);
        auto at = [&](Value j) {
          return arith::IndexCastOp::create(
              ib, ib.getIndexType(), tensor::ExtractOp::create(ib, cu, j));
        };
        Value lo = at(ivs[0]);
        Value hi = at(arith::AddIOp::create(ib, ivs[0], ibc(ib, 1)));
        Value sum;
        if (head) {
          Value len = arith::UIToFPOp::create(
              ib, ib.getF32Type(),
              arith::IndexCastOp::create(ib, ib.getI64Type(),
                                         arith::SubIOp::create(ib, hi, lo)));
          sum = arith::MulFOp::create(
              ib, len, toF32(ib, tensor::ExtractOp::create(ib, g, ivs[1])));
        } else {
          auto loop = scf::ForOp::create(ib, lo, hi, ibc(ib, 1),
                                         ValueRange{ibf(ib, 0.0)});
          OpBuilder::InsertionGuard guard(ib);
          ib.setInsertionPointToStart(loop.getBody());
          SmallVector<Value> where = {ibc(ib, 0), loop.getInductionVar(),
                                      ivs[1]};
          if (ivs.size() == 3)
            where.push_back(ivs[2]);
          Value x = toF32(ib, tensor::ExtractOp::create(ib, g, where));
          scf::YieldOp::create(ib, ValueRange{arith::AddFOp::create(
                                       ib, loop.getRegionIterArgs()[0], x)});
          ib.setInsertionPointAfter(loop);
          sum = loop.getResult(0);
        }
        tensor::YieldOp::create(ib, sum);
      });
}

/// The new state is written into `s` (the loop's own state, so the loop
/// carries one buffer): in place for a diagonal decay, through a copy for
/// the delta rule's K x K product, which reads other rows of `s`.
Value Splitter::combine(Value m, Value s, Value c) {
  auto sType = cast<RankedTensorType>(s.getType());
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto par = utils::IteratorType::parallel;
  AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
  SmallVector<utils::IteratorType> iters(4, par);
  if (!m) // no gate: S + C
    return linalg::GenericOp::create(
               b, TypeRange{sType}, ValueRange{c}, ValueRange{s},
               ArrayRef<AffineMap>{id, id}, iters,
               [&](OpBuilder &nb, Location loc, ValueRange args) {
                 linalg::YieldOp::create(nb, loc,
                                         ValueRange{arith::AddFOp::create(
                                             nb, loc, args[1], args[0])});
               })
        .getResult(0);
  auto mType = cast<RankedTensorType>(m.getType());
  if (mType.getRank() == 4) {
    // Delta rule: (b, h, k, v, j): C[b,h,k,v] + sum_j M[b,h,k,j] S[b,h,j,v].
    iters.push_back(utils::IteratorType::reduction);
    SmallVector<AffineMap> maps = {
        AffineMap::get(5, 0, {d(0), d(1), d(2), d(4)}, ctx),
        AffineMap::get(5, 0, {d(0), d(1), d(4), d(3)}, ctx),
        AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx)};
    Value next =
        linalg::GenericOp::create(
            b, TypeRange{sType}, ValueRange{m, s}, ValueRange{c}, maps, iters,
            [&](OpBuilder &nb, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  nb, loc,
                  ValueRange{arith::AddFOp::create(
                      nb, loc, args[2],
                      arith::MulFOp::create(nb, loc, args[0], args[1]))});
            })
            .getResult(0);
    return linalg::CopyOp::create(b, next, s).getResult(0);
  }
  // exp(m) on the head, or on the key channel, times S, plus C.
  AffineMap mMap = mType.getRank() == 2
                       ? AffineMap::get(4, 0, {d(0), d(1)}, ctx)
                       : AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx);
  return linalg::GenericOp::create(
             b, TypeRange{sType}, ValueRange{m, c}, ValueRange{s},
             ArrayRef<AffineMap>{mMap, id, id}, iters,
             [&](OpBuilder &nb, Location loc, ValueRange args) {
               Value factor = math::ExpOp::create(nb, loc, args[0]);
               linalg::YieldOp::create(
                   nb, loc,
                   ValueRange{arith::AddFOp::create(
                       nb, loc, args[1],
                       arith::MulFOp::create(nb, loc, factor, args[2]))});
             })
      .getResult(0);
}

std::pair<Value, Value> Splitter::build() {
  auto sType = cast<RankedTensorType>(op->getResult(1).getType());
  auto oType = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t hv = sType.getDimSize(1), K = sType.getDimSize(2),
          V = sType.getDimSize(3);
  cu = offsets();
  Value g = isa<mixir::mix::LinearAttentionOp>(op)
                ? cast<mixir::mix::LinearAttentionOp>(op).getG()
                : cast<mixir::mix::DeltaRuleOp>(op).getG();
  auto gateKind = isa<mixir::mix::LinearAttentionOp>(op)
                      ? cast<mixir::mix::LinearAttentionOp>(op).getGateKind()
                      : cast<mixir::mix::DeltaRuleOp>(op).getGateKind();
  if (g && gateKind != mixir::mix::GateKind::head)
    packedG = pack(g);
  pq = pack(op->getOperand(0));
  pk = pack(op->getOperand(1));
  pv = pack(op->getOperand(2));
  if (auto dr = dyn_cast<mixir::mix::DeltaRuleOp>(op))
    pbeta = pack(dr.getBeta());

  // 1. Summaries.
  Value c = packedOp(Value(), Value())->getResult(1);
  Value m;
  if (isa<mixir::mix::LinearAttentionOp>(op)) {
    if (g)
      m = segmentDecays();
  } else {
    auto dr = cast<mixir::mix::DeltaRuleOp>(op);
    auto vType = cast<RankedTensorType>(dr.getV().getType());
    // v = 0 with K value columns, from the identity.
    auto pvType = cast<RankedTensorType>(pv.getType());
    SmallVector<int64_t> zshape(pvType.getShape());
    zshape[3] = K;
    SmallVector<Value> zdyn;
    if (pvType.isDynamicDim(1))
      zdyn.push_back(tensor::DimOp::create(b, pv, 1));
    Value zeros =
        linalg::FillOp::create(b,
                               ValueRange{arith::ConstantOp::create(
                                   b, b.getZeroAttr(vType.getElementType()))},
                               ValueRange{tensor::EmptyOp::create(
                                   b, zshape, vType.getElementType(), zdyn)})
            .getResult(0);
    auto eyeType =
        RankedTensorType::get({ShapedType::kDynamic, hv, K, K}, b.getF32Type());
    Value eye = tensor::GenerateOp::create(
        b, eyeType, ValueRange{N},
        [&](OpBuilder &nb, Location loc, ValueRange ivs) {
          ImplicitLocOpBuilder ib(loc, nb);
          Value same = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq,
                                             ivs[2], ivs[3]);
          tensor::YieldOp::create(
              ib,
              arith::SelectOp::create(ib, same, ibf(ib, 1.0), ibf(ib, 0.0)));
        });
    m = packedOp(zeros, eye)->getResult(1);
  }

  // 2. The scan over each sequence's segments.
  Value init = isa<mixir::mix::LinearAttentionOp>(op)
                   ? cast<mixir::mix::LinearAttentionOp>(op).getInitialState()
                   : cast<mixir::mix::DeltaRuleOp>(op).getInitialState();
  auto stateB =
      RankedTensorType::get({ShapedType::kDynamic, hv, K, V}, b.getF32Type());
  Value s0 = init;
  if (!s0)
    s0 = linalg::FillOp::create(
             b, ValueRange{ibf(b, 0.0)},
             ValueRange{tensor::EmptyOp::create(b, stateB.getShape(),
                                                b.getF32Type(), ValueRange{B})})
             .getResult(0);
  else if (s0.getType() != stateB)
    s0 = tensor::CastOp::create(b, stateB, s0);
  Value cSeq = perSequence(c), mSeq = m ? perSequence(m) : Value();
  auto entering = RankedTensorType::get({ShapedType::kDynamic, P, hv, K, V},
                                        b.getF32Type());
  Value in0 = tensor::EmptyOp::create(b, entering.getShape(), b.getF32Type(),
                                      ValueRange{B});
  auto loop =
      scf::ForOp::create(b, idx(0), idx(P), idx(1), ValueRange{s0, in0});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value p = loop.getInductionVar();
    Value s = loop.getRegionIterArgs()[0], in = loop.getRegionIterArgs()[1];
    auto one = b.getIndexAttr(1), zero = b.getIndexAttr(0);
    auto sliceOf = [&](Value x, RankedTensorType result) {
      auto t = cast<RankedTensorType>(x.getType());
      SmallVector<OpFoldResult> offs = {zero, p}, sizes = {B, one},
                                strides(t.getRank(), one);
      for (int64_t d = 2; d < t.getRank(); ++d) {
        offs.push_back(zero);
        sizes.push_back(b.getIndexAttr(t.getDimSize(d)));
      }
      return tensor::ExtractSliceOp::create(b, result, x, offs, sizes, strides);
    };
    SmallVector<OpFoldResult> offs = {zero, p, zero, zero, zero},
                              sizes = {B, one, b.getIndexAttr(hv),
                                       b.getIndexAttr(K), b.getIndexAttr(V)},
                              strides(5, one);
    in = tensor::InsertSliceOp::create(b, s, in, offs, sizes, strides);
    Value cp = sliceOf(cSeq, stateB);
    Value mp;
    if (mSeq) {
      auto mt = cast<RankedTensorType>(mSeq.getType());
      SmallVector<int64_t> shape = {ShapedType::kDynamic};
      for (int64_t d = 2; d < mt.getRank(); ++d)
        shape.push_back(mt.getDimSize(d));
      mp = sliceOf(mSeq, RankedTensorType::get(shape, b.getF32Type()));
    }
    scf::YieldOp::create(b, ValueRange{combine(mp, s, cp), in});
  }
  Value finalState = loop.getResult(0);
  if (finalState.getType() != sType)
    finalState = tensor::CastOp::create(b, sType, finalState);

  // 3. Outputs, every segment from the state entering it.
  Value o = packedOp(Value(), perSegment(loop.getResult(1)))->getResult(0);
  return {unpack(o, oType), finalState};
}

/// Whether the op is a case the split handles: causal, dense (no packing,
/// pool or per-token states), not normalised.
bool splittable(Operation *op) {
  if (auto la = dyn_cast<mixir::mix::LinearAttentionOp>(op))
    return la.getCausal() && !la.getNormalize() && !la.getAllStates() &&
           !la.getCuSeqlens() && !la.getStateIndices();
  if (auto dr = dyn_cast<mixir::mix::DeltaRuleOp>(op))
    return !dr.getAllStates() && !dr.getCuSeqlens() && !dr.getStateIndices();
  return false;
}

/// The state heads of `op`.
int64_t stateHeads(Operation *op) {
  return cast<RankedTensorType>(op->getResult(1).getType()).getDimSize(1);
}

/// Replaces `op` by the split form with `segments` segments; with
/// `maxBlocks` > 0 only at run time when B * Hv <= maxBlocks and every
/// segment has at least `minTokens` tokens on average (T >= segments *
/// minTokens), the op as it was otherwise.
void split(Operation *op, int64_t segments, int64_t maxBlocks,
           int64_t minTokens) {
  ImplicitLocOpBuilder b(op->getLoc(), op);
  if (maxBlocks <= 0) {
    auto [o, s] = Splitter(b, op, segments).build();
    op->getResult(0).replaceAllUsesWith(o);
    op->getResult(1).replaceAllUsesWith(s);
    op->erase();
    return;
  }
  Value B = tensor::DimOp::create(b, op->getOperand(0), 0);
  Value T = tensor::DimOp::create(b, op->getOperand(0), 1);
  Value blocks = arith::MulIOp::create(
      b, B, arith::ConstantIndexOp::create(b, stateHeads(op)));
  Value few =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ule, blocks,
                            arith::ConstantIndexOp::create(b, maxBlocks));
  Value longEnough = arith::CmpIOp::create(
      b, arith::CmpIPredicate::uge, T,
      arith::ConstantIndexOp::create(b, segments * minTokens));
  auto ifOp = scf::IfOp::create(b, op->getResultTypes(),
                                arith::AndIOp::create(b, few, longEnough),
                                /*withElseRegion=*/true);
  b.setInsertionPointToStart(ifOp.thenBlock());
  auto [o, s] = Splitter(b, op, segments).build();
  scf::YieldOp::create(b, ValueRange{o, s});
  b.setInsertionPointToStart(ifOp.elseBlock());
  Operation *fused = b.clone(*op);
  scf::YieldOp::create(b, fused->getResults());
  op->replaceAllUsesWith(ifOp.getResults());
  op->erase();
}

struct SplitSegments : mixir::impl::SplitSegmentsBase<SplitSegments> {
  using SplitSegmentsBase::SplitSegmentsBase;
  void runOnOperation() override {
    if (segments < 1 || smCount < 0) {
      getOperation()->emitError()
          << "mix-split-segments: segments must be at least 1 and sm-count "
             "at least 0, got "
          << segments.getValue() << " and " << smCount.getValue();
      return signalPassFailure();
    }
    if (segments == 1 && smCount == 0)
      return;
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (splittable(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (smCount == 0) {
        split(op, segments, /*maxBlocks=*/0, /*minTokens=*/0);
        continue;
      }
      // The GPU's choice: enough segments that B = 1 fills the SMs (a
      // power of two, at most 32), taken at run time when the fused
      // schedule would leave most SMs idle: B * Hv at most half the SMs
      // (a third for the delta rule, whose M costs a third run), and
      // segments of at least 4 chunks of 64 tokens.
      int64_t hv = stateHeads(op);
      int64_t p = 2;
      while (p < 32 && p * hv < smCount)
        p *= 2;
      int64_t work = isa<mixir::mix::DeltaRuleOp>(op) ? 3 : 2;
      if (hv * work > smCount)
        continue; // even B = 1 keeps the SMs busy enough
      split(op, p, smCount / work, /*minTokens=*/256);
    }
  }
};
} // namespace
