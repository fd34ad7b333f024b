//===- LinearAttentionGrad.cpp - backward of mix.linear_attention ---------===//
//
// mix.linear_attention is mix.recurrence without low-rank terms: its
// backward is that op's (RecurrenceGrad.cpp), derived once. The state
// gradient runs the reverse recurrence; dv is its normal read, dk its
// transposed read and dq the forward recurrence's transposed read, all
// with the op's own gate (a per-channel gate included, read transposed
// along the key axis), and the gate gradient is the reverse cumulative sum
// of q.dq - k.dk. Packed sequences (cu_seqlens) are the general op's
// packed sequences.
//
//===----------------------------------------------------------------------===//
#include "Grads.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace mixir::grad {

FailureOr<SmallVector<Value>> linearAttentionGrad(OpBuilder &b,
                                                  mix::LinearAttentionOp op,
                                                  Value dO, Value dS,
                                                  std::string &why) {
  // The same recurrence as the general op (log decays, the normal read).
  auto rec = mix::RecurrenceOp::create(
      b, op.getLoc(), op.getO().getType(), op.getFinalState().getType(),
      op.getQ(), op.getK(), op.getV(), Value(), Value(), op.getG(),
      op.getInitialState(), op.getCuSeqlens(), Value(), op.getGateKindAttr(),
      mix::DecayKindAttr::get(b.getContext(), mix::DecayKind::log),
      b.getF32FloatAttr(op.getScaleOrDefault()), IntegerAttr());
  FailureOr<SmallVector<Value>> grads = recurrenceGrad(b, rec, dO, dS, why);
  // Its operands are q, k, v, [g], [initial_state], as the op's are.
  if (rec->use_empty())
    rec->erase();
  return grads;
}

} // namespace mixir::grad
