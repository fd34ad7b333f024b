//===- AttentionGrad.cpp - backward of mix.attention ----------------------===//
//
// Softmax attention has no recurrence to run backwards: its backward is the
// flash-attention backward, one mix.attention_grad with the forward's
// operands and attributes (lowered on the forward's flash tiles, with the
// scores and the row log-sum-exp recomputed). Around it, at the mix level:
// the key and value gradients of the query heads that share a key head are
// summed, and the forget gate's gradient is the reverse cumulative sum of
// dG, the gradient of G = cumsum(g).
//
//===----------------------------------------------------------------------===//
#include "GradBuilders.h"
#include "Grads.h"
#include "Sequences.h"

using namespace mlir;

namespace mixir::grad {
namespace {

/// `like`'s shape with dim 2 set to `heads`, in f32.
RankedTensorType f32WithHeads(Value like, int64_t heads) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[2] = heads;
  return RankedTensorType::get(shape, Float32Type::get(like.getContext()));
}

} // namespace

FailureOr<SmallVector<Value>> attentionGrad(OpBuilder &b, mix::AttentionOp op,
                                            Value dO, Value dLse,
                                            std::string &why) {
  (void)why;
  Location loc = op.getLoc();
  Value q = op.getQ(), k = op.getK(), v = op.getV(), g = op.getG();
  int64_t hq = dimOf(q, 2), share = hq / dimOf(k, 2);
  Value dout =
      dO ? dO
         : castLike(b, loc, outputCotangent(b, loc, dO, q, dimOf(v, 3)), q);
  Type dgType = g ? f32WithHeads(g, hq) : Type();
  auto grad = mix::AttentionGradOp::create(
      b, loc, f32WithHeads(q, hq), f32WithHeads(k, hq), f32WithHeads(v, hq),
      dgType, q, k, v, dout, g, op.getCuSeqlens(), dLse, op.getCausalAttr(),
      op.getWindowAttr(), op.getScaleAttr(), op.getSoftcapAttr(),
      op.getBlockAttr());
  SmallVector<Value> grads = {
      castLike(b, loc, grad.getDq(), q),
      castLike(b, loc, sumHeads(b, loc, grad.getDk(), 2, share), k),
      castLike(b, loc, sumHeads(b, loc, grad.getDv(), 2, share), v)};
  if (g)
    grads.push_back(castLike(
        b, loc,
        reverseCumsumTime(b, loc, grad.getDg(),
                          Sequences(b, loc, op.getCuSeqlens(), grad.getDg())),
        g));
  return grads;
}

} // namespace mixir::grad
