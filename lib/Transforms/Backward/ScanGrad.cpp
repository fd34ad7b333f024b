//===- ScanGrad.cpp - backward of mix.scan --------------------------------===//
//
// h_t = exp(g_t) h_{t-1} + x_t. With lambda_t the gradient of h_t
// (lambda_t = do_t + exp(g_{t+1}) lambda_{t+1}, lambda_{T-1} including
// d final_state), which is a mix.scan of do over reversed time:
//
//   dx_t = lambda_t,   dg_t = lambda_t exp(g_t) h_{t-1},
//   d initial_state = exp(g_0) lambda_0,
//
// with h recomputed in f32 by the forward scan. Packed sequences
// (cu_seqlens) run both scans packed, the reversed one over the reversed
// packing, and start each sequence's h_{t-1} from its own initial state
// (Sequences.h).
//
//===----------------------------------------------------------------------===//
#include "GradBuilders.h"
#include "Grads.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace mixir::grad {

FailureOr<SmallVector<Value>> scanGrad(OpBuilder &b, mix::ScanOp op, Value dO,
                                       Value dS, std::string &why) {
  Location loc = op.getLoc();
  Value x = toF32(b, loc, op.getX()), g = toF32(b, loc, op.getG());
  Value d = dO ? toF32(b, loc, dO) : zerosLike(b, loc, x);
  auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
  auto xType = cast<RankedTensorType>(x.getType());
  Sequences seqs(b, loc, op.getCuSeqlens(), x);
  auto reversed = mix::ScanOp::create(
      b, loc, xType, stateType, reverseTime(b, loc, d),
      reverseShiftedGate(b, loc, g, seqs), seqs.reversedRows(b, loc, dS),
      seqs.reversed(), IntegerAttr());
  Value lambda = reverseTime(b, loc, reversed.getO());

  Value h0 = op.getInitialState();
  auto forward = mix::ScanOp::create(b, loc, xType, stateType, x, g, h0,
                                     seqs.forward(), IntegerAttr());
  Value before = h0 ? shiftForward(b, loc, forward.getO(), h0, seqs)
                    : shiftForwardZero(b, loc, forward.getO(), seqs);
  Value decay =
      build::elementwise(b, loc, ValueRange{g}, b.getF32Type(),
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           return math::ExpOp::create(nb, l, a[0]).getResult();
                         });
  SmallVector<Value> grads = {
      castLike(b, loc, lambda, op.getX()),
      castLike(b, loc, mul(b, loc, lambda, mul(b, loc, decay, before)),
               op.getG())};
  if (h0)
    grads.push_back(mul(b, loc,
                        seqs.reversedRows(b, loc, reversed.getFinalState()),
                        firstStepDecay(b, loc, g, seqs)));
  (void)why;
  return grads;
}

} // namespace mixir::grad
