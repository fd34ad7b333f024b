//===- BodyEvaluator.cpp - float64 evaluation of upstream ops -------------===//
#include "BodyEvaluator.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

using namespace mlir;

namespace mixir::raise {
namespace {

using Shape = SmallVector<int64_t>;

enum class Fn : uint8_t {
  constant,
  add,
  sub,
  mul,
  div,
  divsi,
  max,
  min,
  pow,
  andi,
  ori,
  xori,
  neg,
  abs,
  exp,
  exp2,
  expm1,
  log,
  log1p,
  log2,
  tanh,
  sqrt,
  rsqrt,
  erf,
  sin,
  cos,
  floor,
  ceil,
  keep,
  trunc,
  select,
  cmpf,
  cmpi
};

/// The function of a unary (1) or binary (2) arith/math op, by name.
std::optional<Fn> fnOf(StringRef name, unsigned arity) {
  if (arity == 1)
    return llvm::StringSwitch<std::optional<Fn>>(name)
        .Case("arith.negf", Fn::neg)
        .Case("math.absf", Fn::abs)
        .Case("math.exp", Fn::exp)
        .Case("math.exp2", Fn::exp2)
        .Case("math.expm1", Fn::expm1)
        .Case("math.log", Fn::log)
        .Case("math.log1p", Fn::log1p)
        .Case("math.log2", Fn::log2)
        .Case("math.tanh", Fn::tanh)
        .Case("math.sqrt", Fn::sqrt)
        .Case("math.rsqrt", Fn::rsqrt)
        .Case("math.erf", Fn::erf)
        .Case("math.sin", Fn::sin)
        .Case("math.cos", Fn::cos)
        .Case("math.floor", Fn::floor)
        .Case("math.ceil", Fn::ceil)
        // Conversions keep the value (integers are exact in a double).
        .Cases({"arith.extf", "arith.truncf", "arith.sitofp", "arith.uitofp",
                "arith.index_cast", "arith.index_castui", "arith.extsi",
                "arith.extui"},
               Fn::keep)
        .Case("arith.fptosi", Fn::trunc)
        .Default(std::nullopt);
  if (arity == 2)
    return llvm::StringSwitch<std::optional<Fn>>(name)
        .Cases({"arith.addf", "arith.addi"}, Fn::add)
        .Cases({"arith.subf", "arith.subi"}, Fn::sub)
        .Cases({"arith.mulf", "arith.muli"}, Fn::mul)
        .Case("arith.divf", Fn::div)
        .Case("arith.divsi", Fn::divsi)
        .Cases({"arith.maximumf", "arith.maxnumf", "arith.maxsi"}, Fn::max)
        .Cases({"arith.minimumf", "arith.minnumf", "arith.minsi"}, Fn::min)
        .Case("math.powf", Fn::pow)
        .Case("arith.andi", Fn::andi)
        .Case("arith.ori", Fn::ori)
        .Case("arith.xori", Fn::xori)
        .Default(std::nullopt);
  return std::nullopt;
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
  default:
    break;
  }
  // A divisor that is not positive gives an index no operand has.
  if (r <= 0)
    return -1;
  switch (e.getKind()) {
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

std::optional<ScalarOp> ScalarOp::of(Operation *op) {
  ScalarOp s;
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    auto x = scalarAttr(c.getValue());
    if (!x)
      return std::nullopt;
    s.fn = uint8_t(Fn::constant);
    s.constant = *x;
  } else if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    s.fn = uint8_t(Fn::cmpf);
    s.predicate = int(cmp.getPredicate());
  } else if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    s.fn = uint8_t(Fn::cmpi);
    s.predicate = int(cmp.getPredicate());
  } else if (isa<arith::SelectOp>(op)) {
    s.fn = uint8_t(Fn::select);
  } else if (auto fn =
                 fnOf(op->getName().getStringRef(), op->getNumOperands())) {
    s.fn = uint8_t(*fn);
  } else {
    return std::nullopt;
  }
  return s;
}

double ScalarOp::apply(ArrayRef<double> a) const {
  switch (Fn(fn)) {
  case Fn::constant:
    return constant;
  case Fn::add:
    return a[0] + a[1];
  case Fn::sub:
    return a[0] - a[1];
  case Fn::mul:
    return a[0] * a[1];
  case Fn::div:
    return a[0] / a[1];
  case Fn::divsi:
    return a[1] != 0.0 ? std::trunc(a[0] / a[1]) : NAN;
  case Fn::max:
    return std::max(a[0], a[1]);
  case Fn::min:
    return std::min(a[0], a[1]);
  case Fn::pow:
    return std::pow(a[0], a[1]);
  case Fn::andi:
    return double(a[0] != 0.0 && a[1] != 0.0);
  case Fn::ori:
    return double(a[0] != 0.0 || a[1] != 0.0);
  case Fn::xori:
    return double((a[0] != 0.0) != (a[1] != 0.0));
  case Fn::neg:
    return -a[0];
  case Fn::abs:
    return std::fabs(a[0]);
  case Fn::exp:
    return std::exp(a[0]);
  case Fn::exp2:
    return std::exp2(a[0]);
  case Fn::expm1:
    return std::expm1(a[0]);
  case Fn::log:
    return std::log(a[0]);
  case Fn::log1p:
    return std::log1p(a[0]);
  case Fn::log2:
    return std::log2(a[0]);
  case Fn::tanh:
    return std::tanh(a[0]);
  case Fn::sqrt:
    return std::sqrt(a[0]);
  case Fn::rsqrt:
    return 1.0 / std::sqrt(a[0]);
  case Fn::erf:
    return std::erf(a[0]);
  case Fn::sin:
    return std::sin(a[0]);
  case Fn::cos:
    return std::cos(a[0]);
  case Fn::floor:
    return std::floor(a[0]);
  case Fn::ceil:
    return std::ceil(a[0]);
  case Fn::keep:
    return a[0];
  case Fn::trunc:
    return std::trunc(a[0]);
  case Fn::select:
    return a[0] != 0.0 ? a[1] : a[2];
  case Fn::cmpf:
    return compareF(arith::CmpFPredicate(predicate), a[0], a[1]).value_or(NAN);
  case Fn::cmpi:
    return compareI(arith::CmpIPredicate(predicate), a[0], a[1]).value_or(NAN);
  }
  return NAN;
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
  return ScalarOp::of(op).has_value();
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
  auto scalar = ScalarOp::of(op);
  if (!scalar)
    return failure();
  int64_t n = out.numElements();
  out.data.resize(n);
  SmallVector<double> args(in.size());
  for (int64_t i = 0; i < n; ++i) {
    for (auto [j, t] : llvm::enumerate(in))
      args[j] = t->data[i];
    out.data[i] = scalar->apply(args);
  }
  set(op->getResult(0), std::move(out));
  return success();
}

namespace {

/// A linalg body as a program on slots: the block arguments, then values
/// from outside (scalars), then each op's result.
struct BodyProgram {
  struct Instr {
    ScalarOp op;
    int index = -1; // linalg.index dim, or -1
    SmallVector<unsigned> args;
    unsigned result;
  };
  SmallVector<double> slots;
  SmallVector<Instr> instrs;
  SmallVector<unsigned> yielded;

  /// Runs the body at iteration `point`; the block arguments must be set.
  void run(ArrayRef<int64_t> point) {
    SmallVector<double, 8> args;
    for (const Instr &instr : instrs) {
      if (instr.index >= 0) {
        slots[instr.result] = point[instr.index];
        continue;
      }
      args.clear();
      for (unsigned a : instr.args)
        args.push_back(slots[a]);
      slots[instr.result] = instr.op.apply(args);
    }
  }
};

/// `body` compiled, its outside values read with `get`; nullopt for an op
/// it does not know.
std::optional<BodyProgram>
compileBody(Block &body, function_ref<const HostTensor *(Value)> get) {
  BodyProgram p;
  DenseMap<Value, unsigned> slotOf;
  for (BlockArgument arg : body.getArguments()) {
    slotOf[arg] = p.slots.size();
    p.slots.push_back(0.0);
  }
  for (Operation &inner : body) {
    SmallVector<unsigned> args;
    for (Value v : inner.getOperands()) {
      if (!slotOf.count(v)) {
        const HostTensor *outer = get(v);
        if (!outer || outer->data.size() != 1)
          return std::nullopt;
        slotOf[v] = p.slots.size();
        p.slots.push_back(outer->data[0]);
      }
      args.push_back(slotOf[v]);
    }
    if (isa<linalg::YieldOp>(inner)) {
      p.yielded = args;
      continue;
    }
    BodyProgram::Instr instr;
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      instr.index = index.getDim();
    } else {
      auto scalar =
          inner.getNumResults() == 1 ? ScalarOp::of(&inner) : std::nullopt;
      if (!scalar)
        return std::nullopt;
      instr.op = *scalar;
    }
    instr.args = std::move(args);
    instr.result = p.slots.size();
    slotOf[inner.getResult(0)] = p.slots.size();
    p.slots.push_back(0.0);
    p.instrs.push_back(std::move(instr));
  }
  return p;
}

/// Linear offsets into an operand at loop points: through its indexing map,
/// with projected permutations (the common case) indexed directly.
struct OperandIndexer {
  AffineMap map;
  SmallVector<int64_t> dims; // loop dim per result; -1: constant 0; -2: other
  SmallVector<int64_t> strides, shape;

  OperandIndexer(AffineMap map, ArrayRef<int64_t> shape)
      : map(map), strides(stridesOf(shape)), shape(shape) {
    for (AffineExpr e : map.getResults()) {
      auto d = dyn_cast<AffineDimExpr>(e);
      auto c = dyn_cast<AffineConstantExpr>(e);
      dims.push_back(d ? int64_t(d.getPosition())
                       : (c && c.getValue() == 0 ? -1 : -2));
    }
  }
  /// The offset, or -1 when a general result falls outside the operand
  /// (the verifier checks the corners of the loop ranges only).
  int64_t at(ArrayRef<int64_t> point) const {
    int64_t off = 0;
    for (auto [r, d] : llvm::enumerate(dims)) {
      int64_t i = d >= 0    ? point[d]
                  : d == -1 ? 0
                            : evalAffine(map.getResult(r), point);
      if (d == -2 && (i < 0 || i >= shape[r]))
        return -1;
      off += i * strides[r];
    }
    return off;
  }
};

} // namespace

LogicalResult BodyEvaluator::evaluateStructured(Operation *op) {
  auto lop = cast<linalg::LinalgOp>(op);
  Shape ranges = lop.getStaticLoopRanges();
  if (!lop.hasPureTensorSemantics() ||
      llvm::any_of(ranges, ShapedType::isDynamic))
    return failure();
  SmallVector<AffineMap> maps = lop.getIndexingMapsArray();
  unsigned numIn = lop.getNumDpsInputs(), numOps = op->getNumOperands();
  SmallVector<const HostTensor *> in;
  SmallVector<OperandIndexer> index;
  for (auto [v, map] : llvm::zip(op->getOperands(), maps)) {
    in.push_back(get(v));
    if (!in.back() || in.back()->shape.size() != map.getNumResults())
      return failure();
    index.emplace_back(map, in.back()->shape);
  }
  SmallVector<HostTensor> outs;
  for (unsigned i = numIn; i < numOps; ++i)
    outs.push_back(*in[i]);
  Block &body = *lop.getBlock();
  auto program = compileBody(body, [&](Value v) { return get(v); });
  if (body.getNumArguments() > numOps || !program ||
      program->yielded.size() != outs.size() ||
      outs.size() != op->getNumResults())
    return failure();
  SmallVector<int64_t> offsets(numOps);
  bool outside = false;
  forEachIndex(ranges, [&](int64_t, ArrayRef<int64_t> point) {
    for (unsigned i = 0; i < numOps; ++i)
      offsets[i] = index[i].at(point);
    if (outside || llvm::is_contained(offsets, -1)) {
      outside = true;
      return;
    }
    for (unsigned j = 0; j < body.getNumArguments(); ++j)
      program->slots[j] = j < numIn ? in[j]->data[offsets[j]]
                                    : outs[j - numIn].data[offsets[j]];
    program->run(point);
    for (auto [k, slot] : llvm::enumerate(program->yielded))
      outs[k].data[offsets[numIn + k]] = program->slots[slot];
  });
  if (outside)
    return failure();
  for (auto [r, t] : llvm::zip(op->getResults(), outs))
    set(r, std::move(t));
  return success();
}

namespace {

/// An integer operand position (attribute or evaluated scalar).
std::optional<int64_t> intOf(const BodyEvaluator &ev, OpFoldResult f) {
  if (auto a = dyn_cast<Attribute>(f))
    return cast<IntegerAttr>(a).getInt();
  const HostTensor *t = ev.get(cast<Value>(f));
  if (!t || t->data.size() != 1)
    return std::nullopt;
  return int64_t(t->data[0]);
}

std::optional<Shape> intsOf(const BodyEvaluator &ev,
                            ArrayRef<OpFoldResult> fs) {
  Shape out;
  for (OpFoldResult f : fs) {
    auto x = intOf(ev, f);
    if (!x)
      return std::nullopt;
    out.push_back(*x);
  }
  return out;
}

/// The strided window of a slice op into a tensor of shape `full`, checked
/// to lie inside it.
struct Window {
  Shape offsets, sizes, strides, fullStrides;

  static std::optional<Window> of(const BodyEvaluator &ev,
                                  OffsetSizeAndStrideOpInterface op,
                                  ArrayRef<int64_t> full) {
    auto off = intsOf(ev, op.getMixedOffsets()),
         sz = intsOf(ev, op.getMixedSizes()),
         st = intsOf(ev, op.getMixedStrides());
    if (!off || !sz || !st || off->size() != full.size())
      return std::nullopt;
    for (size_t d = 0; d < full.size(); ++d)
      if ((*off)[d] < 0 || (*sz)[d] < 0 || (*st)[d] < 1 ||
          ((*sz)[d] > 0 && (*off)[d] + ((*sz)[d] - 1) * (*st)[d] >= full[d]))
        return std::nullopt;
    return Window{*off, *sz, *st, stridesOf(full)};
  }
  /// The linear offset in the full tensor of window element `idx`.
  int64_t at(ArrayRef<int64_t> idx) const {
    int64_t o = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      o += (offsets[d] + idx[d] * strides[d]) * fullStrides[d];
    return o;
  }
};

LogicalResult extractSlice(BodyEvaluator &ev, tensor::ExtractSliceOp s) {
  const HostTensor *src = ev.get(s.getSource());
  Shape shape;
  auto w = src ? Window::of(ev, s, src->shape) : std::nullopt;
  if (!w || !staticResult(s, shape))
    return failure();
  HostTensor t{shape, {}};
  t.data.resize(t.numElements());
  forEachIndex(w->sizes, [&](int64_t lin, ArrayRef<int64_t> idx) {
    t.data[lin] = src->data[w->at(idx)];
  });
  ev.set(s.getResult(), std::move(t));
  return success();
}

LogicalResult insertSlice(BodyEvaluator &ev, tensor::InsertSliceOp s) {
  const HostTensor *src = ev.get(s.getSource()), *dst = ev.get(s.getDest());
  auto w = dst ? Window::of(ev, s, dst->shape) : std::nullopt;
  if (!src || !w)
    return failure();
  int64_t n = 1;
  for (int64_t d : w->sizes)
    n *= d;
  if (int64_t(src->data.size()) != n)
    return failure();
  HostTensor t = *dst;
  forEachIndex(w->sizes, [&](int64_t lin, ArrayRef<int64_t> idx) {
    t.data[w->at(idx)] = src->data[lin];
  });
  ev.set(s.getResult(), std::move(t));
  return success();
}

LogicalResult extractElement(BodyEvaluator &ev, tensor::ExtractOp x) {
  const HostTensor *src = ev.get(x.getTensor());
  SmallVector<OpFoldResult> idx(x.getIndices().begin(), x.getIndices().end());
  auto at = intsOf(ev, idx);
  if (!src || !at || at->size() != src->shape.size())
    return failure();
  int64_t o = 0;
  Shape fs = stridesOf(src->shape);
  for (size_t d = 0; d < at->size(); ++d) {
    if ((*at)[d] < 0 || (*at)[d] >= src->shape[d])
      return failure();
    o += (*at)[d] * fs[d];
  }
  ev.set(x.getResult(), HostTensor{{}, {src->data[o]}});
  return success();
}

} // namespace

LogicalResult BodyEvaluator::evaluateTensorOp(Operation *op) {
  if (auto s = dyn_cast<tensor::ExtractSliceOp>(op))
    return extractSlice(*this, s);
  if (auto s = dyn_cast<tensor::InsertSliceOp>(op))
    return insertSlice(*this, s);
  if (auto x = dyn_cast<tensor::ExtractOp>(op))
    return extractElement(*this, x);
  if (auto d = dyn_cast<tensor::DimOp>(op)) {
    auto i = d.getConstantIndex();
    Shape src;
    if (!i || !staticShape(d.getSource().getType(), src) || *i < 0 ||
        *i >= int64_t(src.size()))
      return failure();
    set(d.getResult(), HostTensor{{}, {double(src[*i])}});
    return success();
  }
  Shape shape;
  if (!staticResult(op, shape))
    return failure();
  HostTensor t{shape, {}};
  if (isa<tensor::EmptyOp>(op)) {
    t.data.assign(t.numElements(), 0.0);
  } else if (isa<tensor::FromElementsOp>(op)) {
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
