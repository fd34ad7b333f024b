//===- ExpandLinearAttention.cpp - non-causal and normalised forms --------===//
//
// MIXERS.md "Non-causal and normalised linear attention". With
// d_r = exp(g_r) the decay of position r, the bidirectional output is
//
//   o[t] = F[t] + sum_{s>t} (prod_{r=t+1..s} d_r) (scale q_t . k_s) v_s
//
// with F the causal op. The second term is a causal op in reversed time
// u = T - 1 - position: at step u = T - 2 - t it reads the query q_t, and
// its keys and values are the reversed ones with the decay of each key's
// own position folded in (into v for a head or scalar gate, into k for a
// per-channel gate, whose k then has one head per state), so its decay
// product over (s', u] becomes the product over [s', u], i.e. the
// positions t+1 .. s. Its gate is the reversed gate. The last position has
// no key after it. With `normalize` a column of ones (two when V is even,
// so that the value dim stays even) rides along with v and its output is
// the divisor.
//
// Without a gate the bidirectional form needs neither op: every query reads
// every key alike, and GlobalLinearAttention.cpp builds it from one [K, V]
// sum per state instead.
//
//===----------------------------------------------------------------------===//
#include "ExpandLinearAttention.h"
#include "GlobalLinearAttention.h"

#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>

using namespace mlir;

namespace mixir::lowering {
namespace {

using IndexFn = std::function<Value(ImplicitLocOpBuilder &, ValueRange)>;

/// The expansion of one op; B and T are the batch and sequence lengths.
class Expander {
public:
  Expander(ImplicitLocOpBuilder &b, mix::LinearAttentionOp op)
      : b(b), op(op), gate(op.getGateKind()) {
    B = tensor::DimOp::create(b, op.getQ(), 0);
    T = tensor::DimOp::create(b, op.getQ(), 1);
  }
  void run();

private:
  /// A new tensor of `shape` (dims 0 and 1 are B and T when dynamic) and
  /// element type `elem` whose element at each index is `fn(index)`.
  Value generate(ArrayRef<int64_t> shape, Type elem, const IndexFn &fn);
  Value shapeLike(Value like, int64_t dim, int64_t size, const IndexFn &fn);
  Value extract(Value t, ValueRange idx) {
    return tensor::ExtractOp::create(b, t, idx);
  }
  Value toF32(Value x) {
    return x.getType().isF32() ? x
                               : arith::ExtFOp::create(b, b.getF32Type(), x);
  }
  Value toType(Value x, Type t) {
    return t == x.getType() ? x : arith::TruncFOp::create(b, t, x);
  }
  /// T - 1 - t, the reversed position.
  Value reversed(Value t) {
    return arith::SubIOp::create(
        b, arith::SubIOp::create(b, T, arith::ConstantIndexOp::create(b, 1)),
        t);
  }
  SmallVector<Value> with(ValueRange idx, unsigned dim, Value x) {
    SmallVector<Value> out(idx);
    out[dim] = x;
    return out;
  }
  Value withOnes(Value v, int64_t extra);
  mix::LinearAttentionOp causalOp(Value q, Value k, Value v, Value g);
  std::tuple<Value, Value, Value, Value> backwardInputs(Value v);
  Value combine(Value fwd, Value bwd, int64_t vd);

  ImplicitLocOpBuilder &b;
  mix::LinearAttentionOp op;
  mix::GateKind gate;
  Value B, T;
};

Value Expander::generate(ArrayRef<int64_t> shape, Type elem,
                         const IndexFn &fn) {
  SmallVector<Value> dyn;
  for (auto [i, n] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(n))
      dyn.push_back(i == 0 ? B : T);
  Value empty = tensor::EmptyOp::create(b, shape, elem, dyn);
  auto map = AffineMap::getMultiDimIdentityMap(shape.size(), b.getContext());
  SmallVector<utils::IteratorType> iters(shape.size(),
                                         utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, TypeRange{empty.getType()}, ValueRange{}, ValueRange{empty},
             ArrayRef<AffineMap>{map}, iters,
             [&](OpBuilder &nb, Location, ValueRange) {
               // The helpers build at `b`: point it into the body.
               OpBuilder::InsertionGuard guard(b);
               b.setInsertionPoint(nb.getInsertionBlock(),
                                   nb.getInsertionPoint());
               SmallVector<Value> idx;
               for (unsigned i = 0; i < shape.size(); ++i)
                 idx.push_back(linalg::IndexOp::create(b, i));
               linalg::YieldOp::create(b, fn(b, idx));
             })
      .getResult(0);
}

/// A tensor shaped as `like` but with dim `dim` of `size`, same element type.
Value Expander::shapeLike(Value like, int64_t dim, int64_t size,
                          const IndexFn &fn) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<int64_t> shape(type.getShape());
  if (dim >= 0)
    shape[dim] = size;
  return generate(shape, type.getElementType(), fn);
}

/// v with `extra` columns of ones after its V.
Value Expander::withOnes(Value v, int64_t extra) {
  int64_t vd = cast<RankedTensorType>(v.getType()).getDimSize(3);
  Type elem = cast<RankedTensorType>(v.getType()).getElementType();
  return shapeLike(
      v, 3, vd + extra, [&](ImplicitLocOpBuilder &ib, ValueRange idx) -> Value {
        Value inV =
            arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, idx[3],
                                  arith::ConstantIndexOp::create(ib, vd));
        Value col = arith::MinUIOp::create(
            ib, idx[3], arith::ConstantIndexOp::create(ib, vd - 1));
        return arith::SelectOp::create(
            ib, inV, tensor::ExtractOp::create(ib, v, with(idx, 3, col)),
            arith::ConstantOp::create(ib, FloatAttr::get(elem, 1.0)));
      });
}

mix::LinearAttentionOp Expander::causalOp(Value q, Value k, Value v, Value g) {
  auto oType = cast<RankedTensorType>(op.getO().getType());
  auto sType = cast<RankedTensorType>(op.getFinalState().getType());
  int64_t vd = cast<RankedTensorType>(v.getType()).getDimSize(3);
  SmallVector<int64_t> oShape(oType.getShape()), sShape(sType.getShape());
  oShape[3] = sShape[3] = vd;
  // The default scale depends on K only, which the new ops share.
  return mix::LinearAttentionOp::create(
      b, oType.clone(oShape), sType.clone(sShape), q, k, v, g, Value(), Value(),
      Value(), op.getGateKindAttr(), op.getScaleAttr(), op.getChunkSizeAttr());
}

/// The reversed-time op's q, k, v and g (see the file comment).
std::tuple<Value, Value, Value, Value> Expander::backwardInputs(Value v) {
  Value q = op.getQ(), k = op.getK(), g = op.getG();
  Value one = arith::ConstantIndexOp::create(b, 1);
  // q~[u] = q[T - 2 - u], 0 at u = T - 1.
  Value qb = shapeLike(q, -1, 0, [&](ImplicitLocOpBuilder &ib, ValueRange idx) {
    Value src = arith::SubIOp::create(ib, reversed(idx[1]), one);
    Value inside =
        arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, idx[1],
                              reversed(arith::ConstantIndexOp::create(ib, 0)));
    Value safe = arith::SelectOp::create(ib, inside, src,
                                         arith::ConstantIndexOp::create(ib, 0));
    Type elem = cast<RankedTensorType>(q.getType()).getElementType();
    return arith::SelectOp::create(
        ib, inside, extract(q, with(idx, 1, safe)),
        arith::ConstantOp::create(ib, FloatAttr::get(elem, 0.0)));
  });
  auto rev = [&](Value x) {
    return shapeLike(x, -1, 0, [&](ImplicitLocOpBuilder &, ValueRange idx) {
      return extract(x, with(idx, 1, reversed(idx[1])));
    });
  };
  // exp(g) of the (reversed) position, per the gate's shape.
  auto decayAt = [&](ValueRange idx) -> Value {
    Value x = gate == mix::GateKind::head ? extract(g, {idx[2]})
              : gate == mix::GateKind::scalar
                  ? extract(g, {idx[0], reversed(idx[1]), idx[2]})
                  : extract(g, {idx[0], reversed(idx[1]), idx[2], idx[3]});
    return math::ExpOp::create(b, toF32(x));
  };
  Value kb = gate == mix::GateKind::vector ? Value() : rev(k);
  Value vb = gate == mix::GateKind::head || gate == mix::GateKind::scalar
                 ? Value()
                 : rev(v);
  Value gb = gate == mix::GateKind::scalar || gate == mix::GateKind::vector
                 ? rev(g)
                 : g;
  if (gate == mix::GateKind::head || gate == mix::GateKind::scalar) {
    vb = shapeLike(v, -1, 0, [&](ImplicitLocOpBuilder &, ValueRange idx) {
      Value x = toF32(extract(v, with(idx, 1, reversed(idx[1]))));
      return toType(arith::MulFOp::create(b, x, decayAt(idx)),
                    cast<RankedTensorType>(v.getType()).getElementType());
    });
  } else if (gate == mix::GateKind::vector) {
    // One key head per state head, so each key takes its state's decay.
    int64_t hk = cast<RankedTensorType>(k.getType()).getDimSize(2);
    int64_t hv = cast<RankedTensorType>(v.getType()).getDimSize(2);
    kb = shapeLike(k, 2, hv, [&](ImplicitLocOpBuilder &, ValueRange idx) {
      Value head = arith::DivUIOp::create(
          b, idx[2], arith::ConstantIndexOp::create(b, hv / hk));
      Value x = toF32(extract(k, {idx[0], reversed(idx[1]), head, idx[3]}));
      return toType(arith::MulFOp::create(b, x, decayAt(idx)),
                    cast<RankedTensorType>(k.getType()).getElementType());
    });
  }
  return {qb, kb, vb, gb};
}

/// o = (F[t] + bwd[T - 2 - t]) in f32, divided by its column `vd` with
/// `normalize` (0 where that is 0), in the op's output type.
Value Expander::combine(Value fwd, Value bwd, int64_t vd) {
  auto oType = cast<RankedTensorType>(op.getO().getType());
  bool normalize = op.getNormalize();
  return generate(
      oType.getShape(), oType.getElementType(),
      [&](ImplicitLocOpBuilder &ib, ValueRange idx) -> Value {
        auto sum = [&](SmallVector<Value> at) -> Value {
          Value x = toF32(extract(fwd, at));
          if (!bwd)
            return x;
          Value one = arith::ConstantIndexOp::create(ib, 1);
          Value inside = arith::CmpIOp::create(
              ib, arith::CmpIPredicate::slt, idx[1],
              reversed(arith::ConstantIndexOp::create(ib, 0)));
          Value src = arith::SelectOp::create(
              ib, inside, arith::SubIOp::create(ib, reversed(idx[1]), one),
              arith::ConstantIndexOp::create(ib, 0));
          Value y = toF32(extract(bwd, with(at, 1, src)));
          Value zero = arith::ConstantOp::create(ib, ib.getF32FloatAttr(0.0f));
          return arith::AddFOp::create(
              ib, x, arith::SelectOp::create(ib, inside, y, zero));
        };
        Value x = sum(idx);
        if (normalize) {
          Value den = sum(with(idx, 3, arith::ConstantIndexOp::create(ib, vd)));
          Value zero = arith::ConstantOp::create(ib, ib.getF32FloatAttr(0.0f));
          Value nonzero =
              arith::CmpFOp::create(ib, arith::CmpFPredicate::ONE, den, zero);
          Value safe = arith::SelectOp::create(
              ib, nonzero, den,
              arith::ConstantOp::create(ib, ib.getF32FloatAttr(1.0f)));
          x = arith::SelectOp::create(ib, nonzero,
                                      arith::DivFOp::create(ib, x, safe), zero);
        }
        return toType(x, oType.getElementType());
      });
}

void Expander::run() {
  int64_t vd = cast<RankedTensorType>(op.getV().getType()).getDimSize(3);
  Value v = op.getV();
  if (op.getNormalize())
    v = withOnes(v, vd % 2 ? 1 : 2);
  auto fwd = causalOp(op.getQ(), op.getK(), v, op.getG());
  Value bwdO;
  if (!op.getCausal()) {
    auto [qb, kb, vb, gb] = backwardInputs(v);
    bwdO = causalOp(qb, kb, vb, gb).getO();
  }
  Value o = combine(fwd.getO(), bwdO, vd);
  Value state = fwd.getFinalState();
  if (op.getNormalize()) {
    auto sType = cast<RankedTensorType>(op.getFinalState().getType());
    state = generate(sType.getShape(), sType.getElementType(),
                     [&](ImplicitLocOpBuilder &, ValueRange idx) {
                       return extract(fwd.getFinalState(), idx);
                     });
  }
  op.getO().replaceAllUsesWith(o);
  op.getFinalState().replaceAllUsesWith(state);
  op.erase();
}

} // namespace

LogicalResult expandLinearAttentionForms(Operation *root) {
  SmallVector<mix::LinearAttentionOp> ops;
  root->walk([&](mix::LinearAttentionOp op) {
    if (!op.isPlainCausal())
      ops.push_back(op);
  });
  for (mix::LinearAttentionOp op : ops) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    if (op.getCausal() || op.getGateKind() != mix::GateKind::none) {
      Expander(b, op).run();
      continue;
    }
    // Without a gate every query reads every key alike: the global form.
    auto [o, state] = buildGlobalLinearAttention(b, op);
    op.getO().replaceAllUsesWith(o);
    op.getFinalState().replaceAllUsesWith(state);
    op.erase();
  }
  return success();
}

} // namespace mixir::lowering
