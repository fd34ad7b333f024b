//===- BodyEvaluator.cpp - float64 evaluation of upstream ops -------------===//
#include "BodyEvaluator.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

using namespace mlir;

namespace mixir::raise {
namespace {

using Shape = SmallVector<int64_t>;

/// Unary arith/math ops by name.
std::optional<double> unary(StringRef name, double x) {
  return llvm::StringSwitch<std::optional<double>>(name)
      .Case("arith.negf", -x)
      .Case("math.absf", std::fabs(x))
      .Case("math.exp", std::exp(x))
      .Case("math.exp2", std::exp2(x))
      .Case("math.expm1", std::expm1(x))
      .Case("math.log", std::log(x))
      .Case("math.log1p", std::log1p(x))
      .Case("math.log2", std::log2(x))
      .Case("math.tanh", std::tanh(x))
      .Case("math.sqrt", std::sqrt(x))
      .Case("math.rsqrt", 1.0 / std::sqrt(x))
      .Case("math.erf", std::erf(x))
      .Case("math.sin", std::sin(x))
      .Case("math.cos", std::cos(x))
      .Case("math.floor", std::floor(x))
      .Case("math.ceil", std::ceil(x))
      // Conversions keep the value (integers are exact in a double).
      .Cases({"arith.extf", "arith.truncf", "arith.sitofp", "arith.uitofp",
              "arith.index_cast", "arith.index_castui", "arith.extsi",
              "arith.extui"},
             x)
      .Case("arith.fptosi", std::trunc(x))
      .Default(std::nullopt);
}

/// Binary arith/math ops by name.
std::optional<double> binary(StringRef name, double a, double b) {
  bool ta = a != 0.0, tb = b != 0.0;
  return llvm::StringSwitch<std::optional<double>>(name)
      .Cases({"arith.addf", "arith.addi"}, a + b)
      .Cases({"arith.subf", "arith.subi"}, a - b)
      .Cases({"arith.mulf", "arith.muli"}, a * b)
      .Case("arith.divf", a / b)
      .Case("arith.divsi",
            b != 0.0 ? std::optional<double>(std::trunc(a / b)) : std::nullopt)
      .Cases({"arith.maximumf", "arith.maxnumf", "arith.maxsi"}, std::max(a, b))
      .Cases({"arith.minimumf", "arith.minnumf", "arith.minsi"}, std::min(a, b))
      .Case("math.powf", std::pow(a, b))
      .Case("arith.andi", double(ta && tb))
      .Case("arith.ori", double(ta || tb))
      .Case("arith.xori", double(ta != tb))
      .Default(std::nullopt);
}

std::optional<double> compareF(arith::CmpFPredicate p, double a, double b) {
  using P = arith::CmpFPredicate;
  bool unordered = std::isnan(a) || std::isnan(b);
  switch (p) {
  case P::OEQ:
    return a == b;
  case P::ONE:
    return !unordered && a != b;
  case P::OLT:
    return a < b;
  case P::OLE:
    return a <= b;
  case P::OGT:
    return a > b;
  case P::OGE:
    return a >= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  case P::ORD:
    return !unordered;
  case P::ULT:
    return unordered || a < b;
  case P::UGT:
    return unordered || a > b;
  default:
    return std::nullopt;
  }
}

std::optional<double> compareI(arith::CmpIPredicate p, double a, double b) {
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::eq:
    return a == b;
  case P::ne:
    return a != b;
  case P::slt:
  case P::ult:
    return a < b;
  case P::sle:
  case P::ule:
    return a <= b;
  case P::sgt:
  case P::ugt:
    return a > b;
  case P::sge:
  case P::uge:
    return a >= b;
  }
  return std::nullopt;
}

/// A scalar attribute (float, integer, bool) as a double.
std::optional<double> scalarAttr(Attribute a) {
  if (auto f = dyn_cast<FloatAttr>(a))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(a))
    return i.getType().isInteger(1) ? double(i.getValue().getBoolValue())
                                    : double(i.getValue().getSExtValue());
  return std::nullopt;
}

int64_t evalAffine(AffineExpr e, ArrayRef<int64_t> dims) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return dims[d.getPosition()];
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  auto bin = cast<AffineBinaryOpExpr>(e);
  int64_t l = evalAffine(bin.getLHS(), dims),
          r = evalAffine(bin.getRHS(), dims);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return l + r;
  case AffineExprKind::Mul:
    return l * r;
  case AffineExprKind::Mod:
    return ((l % r) + r) % r;
  case AffineExprKind::FloorDiv:
    return l >= 0 ? l / r : -((-l + r - 1) / r);
  default:
    return (l + r - 1) / r; // CeilDiv
  }
}

bool staticResult(Operation *op, Shape &shape) {
  return op->getNumResults() == 1 &&
         staticShape(op->getResultTypes()[0], shape);
}

const llvm::StringSet<> &tensorOps() {
  static const llvm::StringSet<> ops = {
      "tensor.empty",        "tensor.extract_slice",  "tensor.insert_slice",
      "tensor.expand_shape", "tensor.collapse_shape", "tensor.reshape",
      "tensor.cast",         "tensor.extract",        "tensor.from_elements",
      "tensor.dim"};
  return ops;
}

} // namespace

std::optional<double> evaluateScalar(Operation *op, ArrayRef<double> a) {
  StringRef name = op->getName().getStringRef();
  if (auto c = dyn_cast<arith::ConstantOp>(op))
    return scalarAttr(c.getValue());
  if (auto cmp = dyn_cast<arith::CmpFOp>(op))
    return compareF(cmp.getPredicate(), a[0], a[1]);
  if (auto cmp = dyn_cast<arith::CmpIOp>(op))
    return compareI(cmp.getPredicate(), a[0], a[1]);
  if (isa<arith::SelectOp>(op))
    return a[0] != 0.0 ? a[1] : a[2];
  if (a.size() == 1)
    return unary(name, a[0]);
  if (a.size() == 2)
    return binary(name, a[0], a[1]);
  return std::nullopt;
}

bool BodyEvaluator::canEvaluate(Operation *op) {
  if (isa<linalg::LinalgOp>(op))
    return true;
  if (tensorOps().contains(op->getName().getStringRef()))
    return true;
  if (isa<arith::ConstantOp>(op))
    return true;
  StringRef dialect = op->getName().getDialectNamespace();
  if ((dialect != "arith" && dialect != "math") || op->getNumResults() != 1)
    return false;
  // Known when it evaluates on zeros (or ones) of its arity.
  SmallVector<double> ones(op->getNumOperands(), 1.0);
  return evaluateScalar(op, ones).has_value();
}

const HostTensor *BodyEvaluator::get(Value v) const {
  auto it = values.find(v);
  if (it != values.end())
    return &it->second;
  if (auto e = v.getDefiningOp<tensor::EmptyOp>()) {
    HostTensor t;
    if (!staticShape(e.getType(), t.shape))
      return nullptr;
    t.data.assign(t.numElements(), 0.0);
    return &(values[v] = std::move(t));
  }
  auto c = v.getDefiningOp<arith::ConstantOp>();
  if (!c)
    return nullptr;
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()))
    return &(values[v] = fromAttr(dense));
  if (auto x = scalarAttr(c.getValue()))
    return &(values[v] = HostTensor{{}, {*x}});
  return nullptr;
}

LogicalResult BodyEvaluator::evaluate(Operation *op) {
  if (isa<linalg::LinalgOp>(op))
    return evaluateStructured(op);
  if (tensorOps().contains(op->getName().getStringRef()))
    return evaluateTensorOp(op);
  if (op->getNumResults() != 1)
    return failure();
  if (isa<arith::ConstantOp>(op))
    return success(get(op->getResult(0)) != nullptr);
  // Scalars, or element-wise on tensors of one shape.
  SmallVector<const HostTensor *> in;
  for (Value v : op->getOperands()) {
    in.push_back(get(v));
    if (!in.back())
      return failure();
  }
  HostTensor out;
  if (!in.empty())
    out.shape = in.front()->shape;
  for (const HostTensor *t : in)
    if (t->shape != out.shape)
      return failure();
  int64_t n = out.numElements();
  out.data.resize(n);
  SmallVector<double> args(in.size());
  for (int64_t i = 0; i < n; ++i) {
    for (auto [j, t] : llvm::enumerate(in))
      args[j] = t->data[i];
    auto r = evaluateScalar(op, args);
    if (!r)
      return failure();
    out.data[i] = *r;
  }
  set(op->getResult(0), std::move(out));
  return success();
}

LogicalResult BodyEvaluator::evaluateStructured(Operation *op) {
  auto lop = cast<linalg::LinalgOp>(op);
  if (!lop.hasPureTensorSemantics())
    return failure();
  Shape ranges = lop.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return failure();
  SmallVector<AffineMap> maps = lop.getIndexingMapsArray();
  unsigned numIn = lop.getNumDpsInputs(), numOps = op->getNumOperands();
  SmallVector<const HostTensor *> in;
  SmallVector<Shape> strides;
  for (Value v : op->getOperands()) {
    in.push_back(get(v));
    if (!in.back() ||
        in.back()->shape.size() != maps[in.size() - 1].getNumResults())
      return failure();
    strides.push_back(stridesOf(in.back()->shape));
  }
  SmallVector<HostTensor> outs;
  for (unsigned i = numIn; i < numOps; ++i)
    outs.push_back(*in[i]);
  Block &body = *lop.getBlock();
  if (body.getNumArguments() > numOps)
    return failure();
  DenseMap<Value, double> env;
  SmallVector<int64_t> offsets(numOps);
  bool ok = true;
  forEachIndex(ranges, [&](int64_t, ArrayRef<int64_t> point) {
    if (!ok)
      return;
    for (unsigned i = 0; i < numOps; ++i) {
      int64_t off = 0;
      for (auto [r, e] : llvm::enumerate(maps[i].getResults()))
        off += evalAffine(e, point) * strides[i][r];
      offsets[i] = off;
    }
    for (auto [j, arg] : llvm::enumerate(body.getArguments()))
      env[arg] = j < numIn ? in[j]->data[offsets[j]]
                           : outs[j - numIn].data[offsets[j]];
    SmallVector<double> args;
    for (Operation &inner : body) {
      if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
        env[index.getResult()] = point[index.getDim()];
        continue;
      }
      args.clear();
      for (Value v : inner.getOperands()) {
        auto it = env.find(v);
        const HostTensor *outer = it == env.end() ? get(v) : nullptr;
        if (it == env.end() && (!outer || outer->data.size() != 1)) {
          ok = false;
          return;
        }
        args.push_back(it != env.end() ? it->second : outer->data[0]);
      }
      if (isa<linalg::YieldOp>(inner)) {
        for (auto [k, x] : llvm::enumerate(args))
          outs[k].data[offsets[numIn + k]] = x;
        continue;
      }
      std::optional<double> r = inner.getNumResults() == 1
                                    ? evaluateScalar(&inner, args)
                                    : std::nullopt;
      if (!r) {
        ok = false;
        return;
      }
      env[inner.getResult(0)] = *r;
    }
  });
  if (!ok || outs.size() != op->getNumResults())
    return failure();
  for (auto [r, t] : llvm::zip(op->getResults(), outs))
    set(r, std::move(t));
  return success();
}

LogicalResult BodyEvaluator::evaluateTensorOp(Operation *op) {
  Shape shape;
  auto scalarOf = [&](OpFoldResult f) -> std::optional<int64_t> {
    if (auto a = dyn_cast<Attribute>(f))
      return cast<IntegerAttr>(a).getInt();
    const HostTensor *t = get(cast<Value>(f));
    if (!t || t->data.size() != 1)
      return std::nullopt;
    return int64_t(t->data[0]);
  };
  auto ints = [&](ArrayRef<OpFoldResult> fs) -> std::optional<Shape> {
    Shape out;
    for (OpFoldResult f : fs) {
      auto x = scalarOf(f);
      if (!x)
        return std::nullopt;
      out.push_back(*x);
    }
    return out;
  };
  // Element `idx` of a strided window (offsets, strides) of `full`.
  auto windowOffset = [](ArrayRef<int64_t> idx, ArrayRef<int64_t> off,
                         ArrayRef<int64_t> str, ArrayRef<int64_t> fullStrides) {
    int64_t o = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      o += (off[d] + idx[d] * str[d]) * fullStrides[d];
    return o;
  };
  auto inBounds = [](ArrayRef<int64_t> full, ArrayRef<int64_t> off,
                     ArrayRef<int64_t> sizes, ArrayRef<int64_t> str) {
    for (size_t d = 0; d < full.size(); ++d)
      if (off[d] < 0 ||
          (sizes[d] > 0 && off[d] + (sizes[d] - 1) * str[d] >= full[d]))
        return false;
    return true;
  };
  if (auto e = dyn_cast<tensor::EmptyOp>(op)) {
    if (!staticResult(op, shape))
      return failure();
    HostTensor t{shape, {}};
    t.data.assign(t.numElements(), 0.0);
    set(e.getResult(), std::move(t));
    return success();
  }
  if (auto s = dyn_cast<tensor::ExtractSliceOp>(op)) {
    const HostTensor *src = get(s.getSource());
    auto off = ints(s.getMixedOffsets()), sz = ints(s.getMixedSizes()),
         st = ints(s.getMixedStrides());
    if (!src || !off || !sz || !st || !staticResult(op, shape) ||
        !inBounds(src->shape, *off, *sz, *st))
      return failure();
    HostTensor t{shape, {}};
    Shape fs = stridesOf(src->shape);
    t.data.resize(t.numElements());
    forEachIndex(*sz, [&](int64_t lin, ArrayRef<int64_t> idx) {
      t.data[lin] = src->data[windowOffset(idx, *off, *st, fs)];
    });
    set(s.getResult(), std::move(t));
    return success();
  }
  if (auto s = dyn_cast<tensor::InsertSliceOp>(op)) {
    const HostTensor *src = get(s.getSource()), *dst = get(s.getDest());
    auto off = ints(s.getMixedOffsets()), sz = ints(s.getMixedSizes()),
         st = ints(s.getMixedStrides());
    if (!src || !dst || !off || !sz || !st ||
        !inBounds(dst->shape, *off, *sz, *st))
      return failure();
    HostTensor t = *dst;
    Shape fs = stridesOf(dst->shape);
    forEachIndex(*sz, [&](int64_t lin, ArrayRef<int64_t> idx) {
      t.data[windowOffset(idx, *off, *st, fs)] = src->data[lin];
    });
    set(s.getResult(), std::move(t));
    return success();
  }
  if (auto x = dyn_cast<tensor::ExtractOp>(op)) {
    const HostTensor *src = get(x.getTensor());
    SmallVector<OpFoldResult> idx(x.getIndices().begin(), x.getIndices().end());
    auto at = ints(idx);
    if (!src || !at || at->size() != src->shape.size())
      return failure();
    int64_t o = 0;
    Shape fs = stridesOf(src->shape);
    for (size_t d = 0; d < at->size(); ++d) {
      if ((*at)[d] < 0 || (*at)[d] >= src->shape[d])
        return failure();
      o += (*at)[d] * fs[d];
    }
    set(x.getResult(), HostTensor{{}, {src->data[o]}});
    return success();
  }
  if (auto d = dyn_cast<tensor::DimOp>(op)) {
    auto i = d.getConstantIndex();
    Shape src;
    if (!i || !staticShape(d.getSource().getType(), src))
      return failure();
    set(d.getResult(), HostTensor{{}, {double(src[*i])}});
    return success();
  }
  if (!staticResult(op, shape))
    return failure();
  HostTensor t{shape, {}};
  if (isa<tensor::FromElementsOp>(op)) {
    for (Value v : op->getOperands()) {
      const HostTensor *x = get(v);
      if (!x || x->data.size() != 1)
        return failure();
      t.data.push_back(x->data[0]);
    }
  } else {
    // Reshapes and casts keep the row-major data.
    const HostTensor *src = get(op->getOperand(0));
    if (!src)
      return failure();
    t.data = src->data;
  }
  if (int64_t(t.data.size()) != t.numElements())
    return failure();
  set(op->getResult(0), std::move(t));
  return success();
}

} // namespace mixir::raise
