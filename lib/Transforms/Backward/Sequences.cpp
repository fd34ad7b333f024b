//===- Sequences.cpp - per-sequence pieces of derived backward passes -----===//
#include "Sequences.h"

#include "GradBuilders.h"

#include "mixir/Builders/TensorBuilders.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace mixir::grad {
namespace {

Type elemOf(Value x) {
  return cast<RankedTensorType>(x.getType()).getElementType();
}

Value cmp(OpBuilder &b, Location loc, arith::CmpIPredicate p, Value x,
          Value y) {
  return arith::CmpIOp::create(b, loc, p, x, y);
}

/// `x` (an integer) as an i64, clamped into [0, hi].
Value clampedI64(OpBuilder &b, Location loc, Value x, Value hi) {
  Value v = build::convertScalar(b, loc, x, b.getI64Type());
  Value zero = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0);
  return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, v, zero),
                                hi);
}

/// `T - reverse(cu)`: the offsets of the packing read backwards, in cu's
/// element type.
Value reversedOffsets(OpBuilder &b, Location loc, Value cu, Value length) {
  Value count = tensor::DimOp::create(b, loc, cu, 0);
  Type elem = elemOf(cu);
  return generate(b, loc, build::sizesOf(b, loc, cu), elem,
                  [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
                    Value last = arith::SubIOp::create(nb, l, count,
                                                       indexConst(nb, l, 1));
                    Value at = arith::SubIOp::create(nb, l, last, idx[0]);
                    Value v = tensor::ExtractOp::create(nb, l, cu, at);
                    Value t = arith::IndexCastOp::create(nb, l, elem, length);
                    return arith::SubIOp::create(nb, l, t, v).getResult();
                  });
}

/// The sequence of each of T tokens, i64 [T]: the number of interior
/// offsets `interior` (offsets 1 .. N-1) at or before the token.
Value sequenceOfEachToken(OpBuilder &b, Location loc, Value interior,
                          Value length) {
  MLIRContext *ctx = b.getContext();
  Type i64 = b.getI64Type();
  Value init = build::filledTensor(b, loc, {OpFoldResult(length)},
                                   build::scalarConstant(b, loc, i64, 0));
  AffineExpr t = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {j}, ctx),
                                 AffineMap::get(2, 0, {t}, ctx)};
  SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel,
                                            utils::IteratorType::reduction};
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{interior}, ValueRange{init},
             maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value token = arith::IndexCastOp::create(
                   nb, l, i64, linalg::IndexOp::create(nb, l, 0));
               Value passed =
                   cmp(nb, l, arith::CmpIPredicate::sle, args[0], token);
               Value inc = arith::ExtUIOp::create(nb, l, i64, passed);
               linalg::YieldOp::create(
                   nb, l,
                   ValueRange{arith::AddIOp::create(nb, l, args[1], inc)});
             })
      .getResult(0);
}

} // namespace

Sequences::Sequences(OpBuilder &b, Location loc, Value cuSeqlens, Value tokens)
    : cu(cuSeqlens) {
  length = tensor::DimOp::create(b, loc, tokens, 1);
  rows = tensor::DimOp::create(b, loc, tokens, 0);
  staticRows = dimOf(tokens, 0);
  if (!cu)
    return;
  Type i64 = b.getI64Type();
  Value t64 = arith::IndexCastOp::create(b, loc, i64, length);
  Value clamped =
      build::elementwise(b, loc, ValueRange{cu}, i64,
                         [&](OpBuilder &nb, Location l, ValueRange a) {
                           return clampedI64(nb, l, a[0], t64);
                         });
  Value tail =
      build::filledTensor(b, loc, {OpFoldResult(b.getIndexAttr(1))}, t64);
  offsets = build::concat(b, loc, {clamped, tail}, 0);
  cuReversed = reversedOffsets(b, loc, cu, length);
  // Offsets 1 .. N-1 (none for fewer than two sequences).
  Value n1 = tensor::DimOp::create(b, loc, cu, 0);
  Value two = indexConst(b, loc, 2);
  Value interiorCount = arith::SubIOp::create(
      b, loc, arith::MaxUIOp::create(b, loc, n1, two), two);
  OpFoldResult one = b.getIndexAttr(1);
  Value interior = build::slice(b, loc, offsets, {one},
                                {OpFoldResult(interiorCount)}, {one});
  seqOf = sequenceOfEachToken(b, loc, interior, length);
}

Value Sequences::reversedRows(OpBuilder &b, Location loc, Value x) const {
  return cu && x ? build::reverse(b, loc, x, 0) : x;
}

int64_t Sequences::staticCount() const {
  if (!cu)
    return staticRows;
  int64_t n1 = dimOf(cu, 0);
  return ShapedType::isDynamic(n1) ? ShapedType::kDynamic
                                   : std::max<int64_t>(n1 - 1, 0);
}

OpFoldResult Sequences::count(OpBuilder &b, Location loc) const {
  int64_t n = staticCount();
  if (!ShapedType::isDynamic(n))
    return b.getIndexAttr(n);
  if (!cu)
    return rows;
  Value one = indexConst(b, loc, 1);
  Value n1 = tensor::DimOp::create(b, loc, cu, 0);
  return arith::SubIOp::create(b, loc, arith::MaxUIOp::create(b, loc, n1, one),
                               one)
      .getResult();
}

Value Sequences::offsetAt(OpBuilder &b, Location loc, Value i) const {
  Value last = arith::SubIOp::create(
      b, loc, tensor::DimOp::create(b, loc, offsets, 0), indexConst(b, loc, 1));
  Value at = arith::MinUIOp::create(b, loc, i, last);
  Value v = tensor::ExtractOp::create(b, loc, offsets, at);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Sequences::Span Sequences::ofToken(OpBuilder &b, Location loc, Value row,
                                   Value t) const {
  if (!cu)
    return {row, row, indexConst(b, loc, 0), length};
  Value seq = arith::IndexCastOp::create(
      b, loc, b.getIndexType(), tensor::ExtractOp::create(b, loc, seqOf, t));
  Value next = arith::AddIOp::create(b, loc, seq, indexConst(b, loc, 1));
  return {seq, row, offsetAt(b, loc, seq), offsetAt(b, loc, next)};
}

Sequences::Span Sequences::ofSequence(OpBuilder &b, Location loc,
                                      Value n) const {
  if (!cu)
    return {n, n, indexConst(b, loc, 0), length};
  Value next = arith::AddIOp::create(b, loc, n, indexConst(b, loc, 1));
  return {n, indexConst(b, loc, 0), offsetAt(b, loc, n),
          offsetAt(b, loc, next)};
}

namespace {

/// `idx` without its time index (dim 1), with `seq` as its first index: the
/// element of a per-sequence tensor [N, ...] that token `idx` belongs to.
SmallVector<Value> perSequenceIndex(ArrayRef<Value> idx, Value seq) {
  SmallVector<Value> out(idx.begin(), idx.end());
  out.erase(out.begin() + 1);
  out[0] = seq;
  return out;
}

/// x[at] where `cond` holds, else 0 (x is not read).
Value extractOrZero(OpBuilder &b, Location l, Value cond, Value x,
                    ArrayRef<Value> at) {
  auto ifOp = scf::IfOp::create(
      b, l, cond,
      [&](OpBuilder &tb, Location tl) {
        scf::YieldOp::create(
            tb, tl, tensor::ExtractOp::create(tb, tl, x, at).getResult());
      },
      [&](OpBuilder &eb, Location el) {
        scf::YieldOp::create(eb, el,
                             build::scalarConstant(eb, el, elemOf(x), 0.0));
      });
  return ifOp.getResult(0);
}

/// perSeq[seq, <idx without time>]: token idx's element of a per-sequence
/// tensor [N, ...]. Packed, it reads 0 for a `seq` beyond perSeq's rows
/// (a packing with no sequences, or tokens past the last offset: the op's
/// own checks report those, and nothing is read out of range meanwhile).
Value readPerSequence(OpBuilder &b, Location l, Value perSeq,
                      ArrayRef<Value> idx, Value seq, const Sequences &seqs) {
  SmallVector<Value> at = perSequenceIndex(idx, seq);
  if (!seqs.packed())
    return tensor::ExtractOp::create(b, l, perSeq, at);
  Value rows = tensor::DimOp::create(b, l, perSeq, 0);
  return extractOrZero(b, l, cmp(b, l, arith::CmpIPredicate::ult, seq, rows),
                       perSeq, at);
}

/// x's sizes with the sequences in place of dims 0 and 1.
SmallVector<OpFoldResult> perSequenceSizes(OpBuilder &b, Location loc, Value x,
                                           const Sequences &seqs) {
  SmallVector<OpFoldResult> sizes = build::sizesOf(b, loc, x);
  sizes.erase(sizes.begin() + 1);
  sizes[0] = seqs.count(b, loc);
  return sizes;
}

} // namespace

Value reverseShiftedGate(OpBuilder &b, Location loc, Value g,
                         const Sequences &seqs) {
  Value n = tensor::DimOp::create(b, loc, g, 1);
  Type elem = elemOf(g);
  return generate(
      b, loc, build::sizesOf(b, loc, g), elem,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        // Position t of the reversed axis is token u = T - 1 - t, whose
        // reversed gate is that of token u + 1 when u + 1 is in its sequence.
        Value one = indexConst(nb, l, 1);
        Value u = arith::SubIOp::create(
            nb, l, arith::SubIOp::create(nb, l, n, one), idx[1]);
        Value next = arith::AddIOp::create(nb, l, u, one);
        Sequences::Span span = seqs.ofToken(nb, l, idx[0], u);
        Value inside = cmp(nb, l, arith::CmpIPredicate::ult, next, span.end);
        Value src = arith::SelectOp::create(nb, l, inside, next, u);
        Value v = readAtTime(nb, l, g, idx, src);
        return arith::SelectOp::create(nb, l, inside, v,
                                       build::scalarConstant(nb, l, elem, 0.0))
            .getResult();
      });
}

Value shiftForward(OpBuilder &b, Location loc, Value x, Value first,
                   const Sequences &seqs) {
  return generate(
      b, loc, build::sizesOf(b, loc, x), elemOf(x),
      [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        Sequences::Span span = seqs.ofToken(nb, l, idx[0], idx[1]);
        Value isFirst =
            cmp(nb, l, arith::CmpIPredicate::ule, idx[1], span.start);
        Value prev = arith::SubIOp::create(nb, l, idx[1], indexConst(nb, l, 1));
        prev = arith::SelectOp::create(nb, l, isFirst, idx[1], prev);
        Value before = readAtTime(nb, l, x, idx, prev);
        Value init = readPerSequence(nb, l, first, idx, span.seq, seqs);
        init = build::convertScalar(nb, l, init, elemOf(x));
        return arith::SelectOp::create(nb, l, isFirst, init, before)
            .getResult();
      });
}

Value shiftForwardZero(OpBuilder &b, Location loc, Value x,
                       const Sequences &seqs) {
  Value zeros =
      build::filledTensor(b, loc, perSequenceSizes(b, loc, x, seqs),
                          build::scalarConstant(b, loc, elemOf(x), 0.0));
  return shiftForward(b, loc, x, zeros, seqs);
}

Value firstStep(OpBuilder &b, Location loc, Value x, const Sequences &seqs) {
  Type elem = elemOf(x);
  return generate(b, loc, perSequenceSizes(b, loc, x, seqs), elem,
                  [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
                    Sequences::Span span = seqs.ofSequence(nb, l, idx[0]);
                    SmallVector<Value> at(idx.begin(), idx.end());
                    at[0] = span.row;
                    at.insert(at.begin() + 1, span.start);
                    // An empty sequence has no first token: 0.
                    Value nonEmpty = cmp(nb, l, arith::CmpIPredicate::ult,
                                         span.start, span.end);
                    return extractOrZero(nb, l, nonEmpty, x, at);
                  });
}

Value firstStepDecay(OpBuilder &b, Location loc, Value logGate,
                     const Sequences &seqs) {
  // exp(0) = 1 for an empty sequence.
  return build::elementwise(
      b, loc, ValueRange{firstStep(b, loc, logGate, seqs)}, elemOf(logGate),
      [](OpBuilder &nb, Location l, ValueRange a) {
        return math::ExpOp::create(nb, l, a[0]).getResult();
      });
}

Value addAtLastStep(OpBuilder &b, Location loc, Value x, Value term,
                    const Sequences &seqs) {
  return generate(
      b, loc, build::sizesOf(b, loc, x), elemOf(x),
      [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        Sequences::Span span = seqs.ofToken(nb, l, idx[0], idx[1]);
        Value after =
            arith::AddIOp::create(nb, l, idx[1], indexConst(nb, l, 1));
        Value isLast = cmp(nb, l, arith::CmpIPredicate::uge, after, span.end);
        Value v = tensor::ExtractOp::create(nb, l, x, idx);
        Value t = readPerSequence(nb, l, term, idx, span.seq, seqs);
        Value sum = arith::AddFOp::create(nb, l, v, t);
        return arith::SelectOp::create(nb, l, isLast, sum, v).getResult();
      });
}

Value reverseCumsumTime(OpBuilder &b, Location loc, Value x,
                        const Sequences &seqs) {
  auto type = cast<RankedTensorType>(x.getType());
  assert((type.getRank() == 3 || type.getRank() == 4) &&
         "reverseCumsumTime: [B, T, H] or [B, T, H, K]");
  Value x3 = reverseTime(b, loc, x);
  if (type.getRank() == 4)
    x3 = mergeDims(b, loc, x3, 2);
  auto x3Type = cast<RankedTensorType>(x3.getType());
  auto sType = RankedTensorType::get({seqs.staticCount(), x3Type.getDimSize(2)},
                                     b.getF32Type());
  Value sums =
      mix::ScanOp::create(b, loc, x3Type, sType, x3, zerosLike(b, loc, x3),
                          Value(), seqs.reversed(), IntegerAttr())
          .getO();
  if (type.getRank() == 4)
    sums = splitDim(b, loc, sums, 2, type.getDimSize(3));
  return reverseTime(b, loc, sums);
}

Value headGateGrad(OpBuilder &b, Location loc, Value dG, const Sequences &seqs,
                   Value minus) {
  Type f64 = b.getF64Type();
  SmallVector<Value> ins = {dG};
  if (minus)
    ins.push_back(minus);
  Value weighted = build::elementwise(
      b, loc, ins, f64, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value row = linalg::IndexOp::create(nb, l, 0);
        Value t = linalg::IndexOp::create(nb, l, 1);
        // The weight is the token's position in its sequence, plus one.
        Sequences::Span span = seqs.ofToken(nb, l, row, t);
        Value p = arith::SubIOp::create(nb, l, t, span.start);
        Value p1 = arith::AddIOp::create(nb, l, p, indexConst(nb, l, 1));
        Value w = arith::UIToFPOp::create(
            nb, l, f64,
            arith::IndexCastUIOp::create(nb, l, nb.getI64Type(), p1));
        Value x = arith::ExtFOp::create(nb, l, f64, a[0]);
        Value term = arith::MulFOp::create(nb, l, w, x);
        if (a.size() > 1)
          term = arith::SubFOp::create(nb, l, term,
                                       arith::ExtFOp::create(nb, l, f64, a[1]));
        return term;
      });
  Value sum =
      build::reduce(b, loc, weighted, {0, 1}, false, build::ReduceKind::sum);
  return build::castElements(b, loc, sum, b.getF32Type());
}

} // namespace mixir::grad
