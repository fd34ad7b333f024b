//===- Attention.cpp - reference-form softmax attention -------------------===//
//
// One query row at a time with an online softmax (running max and sum in
// f32) over the keys the causal and window masks allow; the key range is
// computed, not masked, so out-of-window and out-of-block keys cost nothing.
//
//===----------------------------------------------------------------------===//
#include "Conversion/Utils/GateFloor.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>
#include <tuple>

using namespace mlir;

namespace mixir::lowering {
namespace {

/// G = cumsum(g) over T, f64 [B, T, Hq] (see GateFloor.h): the forget-gate
/// bias is G_i - G_j.
Value cumulativeGate(ImplicitLocOpBuilder &b, Value g, int64_t heads,
                     const SymbolSizes &sizes) {
  Value zero = indexConst(b, 0);
  Value zero64 = arith::ConstantOp::create(b, b.getF64FloatAttr(0.0));
  auto type = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, heads}, b.getF64Type());
  Value G =
      tensor::EmptyOp::create(b, type.getShape(), b.getF64Type(),
                              ValueRange{sizes.lookup("B"), sizes.lookup("T")});
  return forLoop(
      b, zero, sizes.lookup("B"), {G},
      [&](ImplicitLocOpBuilder &b, Value bi, ValueRange a) {
        return forLoop(
            b, zero, indexConst(b, heads), a,
            [&](ImplicitLocOpBuilder &b, Value h, ValueRange a) {
              auto r = forLoop(
                  b, zero, sizes.lookup("T"), {a[0], zero64},
                  [&](ImplicitLocOpBuilder &b, Value t, ValueRange a) {
                    Value run = addGateF64(b, a[1], readF32(b, g, {bi, t, h}));
                    Value G = tensor::InsertOp::create(b, run, a[0],
                                                       ValueRange{bi, t, h});
                    return SmallVector<Value>{G, run};
                  });
              return SmallVector<Value>{r[0]};
            });
      })[0];
}

/// [lo, hi) narrowed to the keys of query i's block of `block` positions,
/// [i / block * block, (i / block + 1) * block); empty stays empty.
std::pair<Value, Value> clampToBlock(ImplicitLocOpBuilder &b, Value i,
                                     int64_t block, Value lo, Value hi) {
  Value n = indexConst(b, block);
  Value start = arith::MulIOp::create(b, arith::DivUIOp::create(b, i, n), n);
  Value end = arith::AddIOp::create(b, start, n);
  return {arith::MaxSIOp::create(b, lo, start),
          arith::MinSIOp::create(b, hi, end)};
}

} // namespace

LogicalResult lowerAttention(RewriterBase &rewriter, mix::AttentionOp op) {
  Value q = op.getQ(), k = op.getK(), v = op.getV(), g = op.getG();
  Value cu = op.getCuSeqlens(), kvLens = op.getKvLens();
  const int64_t hq = dimSize(q, 2), hk = dimSize(k, 2);
  const int64_t K = dimSize(q, 3), V = dimSize(v, 3);
  const int64_t share = hq / hk;
  const float scale = op.getScaleOrDefault();
  const bool causal = op.getCausal();
  const int64_t window = op.getWindowOrZero();
  const int64_t block = op.getBlockOrZero();
  const float softcap = op.getSoftcapOrZero();
  auto oType = op.getO().getType();
  StringRef keyLen = op.keysAreQueries() ? "T" : "S";

  return lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        Value zero = indexConst(b, 0), one = indexConst(b, 1);
        Value G = g ? cumulativeGate(b, g, hq, sizes) : Value();
        SmallVector<Value> outs = {
            emptyLike(b, oType, {"B", "T", "Hq", "V"}, sizes)};
        if (Value lse = op.getLse())
          outs.push_back(emptyLike(b, cast<RankedTensorType>(lse.getType()),
                                   {"B", "T", "Hq"}, sizes));
        float negInf = -std::numeric_limits<float>::infinity();
        // Query i (counted from its sequence's first token) of head h.
        // With a KV cache its position among the keys is shift + i.
        auto row = [&](ImplicitLocOpBuilder &b, const SequenceSpan &span,
                       Value numKeys, Value shift, Value h, Value kvHead,
                       Value i, ValueRange o) -> SmallVector<Value> {
          Value bi = span.batch, at = span.token(b, i);
          Value qi = arith::MulFOp::create(
              b, readF32Vector(b, q, {bi, at, h, zero}, K),
              f32Splat(b, scale, K));
          // Allowed keys: lo <= j < hi (from the sequence's start).
          Value pos = b.createOrFold<arith::AddIOp>(shift, i);
          Value hi = numKeys;
          if (causal)
            hi = arith::MinSIOp::create(b, numKeys,
                                        arith::AddIOp::create(b, pos, one));
          Value lo = zero;
          if (window > 0)
            lo = arith::MaxSIOp::create(
                b, zero,
                arith::SubIOp::create(b, pos, indexConst(b, window - 1)));
          if (block > 0)
            std::tie(lo, hi) = clampToBlock(b, i, block, lo, hi);
          Value Gi = G ? tensor::ExtractOp::create(b, G, ValueRange{bi, at, h})
                       : Value();
          auto softmax = forLoop(
              b, lo, hi,
              {f32Const(b, negInf), f32Const(b, 0.0f), f32Splat(b, 0.0f, V)},
              [&](ImplicitLocOpBuilder &b, Value j, ValueRange a) {
                Value m = a[0], l = a[1], acc = a[2];
                Value key = span.token(b, j);
                Value kj = readF32Vector(b, k, {bi, key, kvHead, zero}, K);
                Value s = reduceAdd(b, arith::MulFOp::create(b, qi, kj));
                if (softcap > 0.0f)
                  s = softcapped(b, s, softcap);
                if (G)
                  s = arith::AddFOp::create(
                      b, s,
                      gateBias(b, b.getLoc(), Gi,
                               tensor::ExtractOp::create(
                                   b, G, ValueRange{bi, key, h})));
                Value mNew = arith::MaximumFOp::create(b, m, s);
                Value c =
                    math::ExpOp::create(b, arith::SubFOp::create(b, m, mNew));
                Value p =
                    math::ExpOp::create(b, arith::SubFOp::create(b, s, mNew));
                Value lNew =
                    arith::AddFOp::create(b, arith::MulFOp::create(b, l, c), p);
                Value vj = readF32Vector(b, v, {bi, key, kvHead, zero}, V);
                Value accNew = vector::FMAOp::create(
                    b, splat(b, p, V), vj,
                    arith::MulFOp::create(b, acc, splat(b, c, V)));
                return SmallVector<Value>{mNew, lNew, accNew};
              });
          // Rows with no allowed key (empty window) produce 0.
          Value l = softmax[1];
          Value any = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l,
                                            f32Const(b, 0.0f));
          Value safeL = arith::SelectOp::create(b, any, l, f32Const(b, 1.0f));
          Value out = arith::DivFOp::create(b, softmax[2], splat(b, safeL, V));
          SmallVector<Value> written = {
              writeVector(b, out, o[0], {bi, at, h, zero})};
          if (o.size() > 1) {
            // lse = m + log l; -inf (an empty sum) without an allowed key.
            Value lse = arith::SelectOp::create(
                b, any,
                arith::AddFOp::create(b, softmax[0],
                                      math::LogOp::create(b, safeL)),
                f32Const(b, negInf));
            written.push_back(
                tensor::InsertOp::create(b, lse, o[1], ValueRange{bi, at, h}));
          }
          return written;
        };
        // One sequence per batch row, or the packed sequences of row 0.
        auto loops = forLoop(
            b, zero, sequenceCount(sizes, cu), outs,
            [&](ImplicitLocOpBuilder &b, Value n, ValueRange a) {
              SequenceSpan span = sequenceSpan(b, cu, n, sizes);
              Value numKeys = cu ? span.length : sizes.lookup(keyLen);
              Value shift = zero;
              if (kvLens) {
                // Row n's keys, kv_lens[n] in [T, S] (checked before).
                numKeys = offsetAt(b, kvLens, n);
                shift = arith::SubIOp::create(b, numKeys, span.length);
              }
              return forLoop(
                  b, zero, indexConst(b, hq), a,
                  [&](ImplicitLocOpBuilder &b, Value h, ValueRange a) {
                    Value kvHead =
                        arith::DivUIOp::create(b, h, indexConst(b, share));
                    return forLoop(
                        b, zero, span.length, a,
                        [&](ImplicitLocOpBuilder &b, Value i, ValueRange a) {
                          return row(b, span, numKeys, shift, h, kvHead, i, a);
                        });
                  });
            });
        return loops;
      });
}

} // namespace mixir::lowering
