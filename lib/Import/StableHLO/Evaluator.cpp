//===- Evaluator.cpp - float64 evaluation of flat StableHLO ops -----------===//
#include "Evaluator.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"

#include <cmath>
#include <functional>
#include <numeric>

using namespace mlir;

namespace mixir::stablehlo_import {

using raise::forEachIndex;
using raise::stridesOf;

namespace {

using Shape = SmallVector<int64_t>;

/// An integer-list attribute (array<i64: ...> or a dense integer tensor).
std::optional<Shape> ints(Attribute a) {
  if (auto arr = dyn_cast_or_null<DenseI64ArrayAttr>(a))
    return Shape(arr.asArrayRef());
  if (auto dense = dyn_cast_or_null<DenseIntElementsAttr>(a)) {
    Shape out;
    for (const APInt &v : dense.getValues<APInt>())
      out.push_back(v.getSExtValue());
    return out;
  }
  if (auto arr = dyn_cast_or_null<ArrayAttr>(a)) {
    Shape out;
    for (Attribute e : arr) {
      auto i = dyn_cast<IntegerAttr>(e);
      if (!i)
        return std::nullopt;
      out.push_back(i.getInt());
    }
    return out;
  }
  return std::nullopt;
}

bool isIntegerType(Value v) {
  return !isa<FloatType>(cast<ShapedType>(v.getType()).getElementType());
}

double roundForType(double x, Type elem) {
  if (isa<FloatType>(elem))
    return x;
  if (elem.isInteger(1))
    return x != 0.0 ? 1.0 : 0.0;
  return std::trunc(x);
}

using Unary = double (*)(double);
using Binary = std::function<double(double, double)>;

std::optional<Unary> unaryFn(StringRef name) {
  return llvm::StringSwitch<std::optional<Unary>>(name)
      .Case("negate", [](double x) { return -x; })
      .Case("exponential", [](double x) { return std::exp(x); })
      .Case("exponential_minus_one", [](double x) { return std::expm1(x); })
      .Case("log", [](double x) { return std::log(x); })
      .Case("log_plus_one", [](double x) { return std::log1p(x); })
      .Case("logistic", [](double x) { return 1.0 / (1.0 + std::exp(-x)); })
      .Case("tanh", [](double x) { return std::tanh(x); })
      .Case("sqrt", [](double x) { return std::sqrt(x); })
      .Case("rsqrt", [](double x) { return 1.0 / std::sqrt(x); })
      .Case("cbrt", [](double x) { return std::cbrt(x); })
      .Case("abs", [](double x) { return std::fabs(x); })
      .Case("sign", [](double x) { return x > 0   ? 1.0
                                          : x < 0 ? -1.0
                                                  : x; })
      .Case("floor", [](double x) { return std::floor(x); })
      .Case("ceil", [](double x) { return std::ceil(x); })
      .Case("round_nearest_even", [](double x) { return std::nearbyint(x); })
      .Case("round_nearest_afz", [](double x) { return std::round(x); })
      .Case("cosine", [](double x) { return std::cos(x); })
      .Case("sine", [](double x) { return std::sin(x); })
      .Case("tan", [](double x) { return std::tan(x); })
      .Default(std::nullopt);
}

std::optional<Binary> binaryFn(StringRef name, bool integer, bool boolean) {
  if (name == "add")
    return Binary([](double a, double b) { return a + b; });
  if (name == "subtract")
    return Binary([](double a, double b) { return a - b; });
  if (name == "multiply")
    return Binary([](double a, double b) { return a * b; });
  if (name == "divide") {
    if (integer)
      return Binary(
          [](double a, double b) { return b == 0 ? 0.0 : std::trunc(a / b); });
    return Binary([](double a, double b) { return a / b; });
  }
  if (name == "remainder")
    return Binary(
        [](double a, double b) { return b == 0 ? 0.0 : std::fmod(a, b); });
  if (name == "maximum")
    return Binary([](double a, double b) {
      return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
    });
  if (name == "minimum")
    return Binary([](double a, double b) {
      return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
    });
  if (name == "power")
    return Binary([](double a, double b) { return std::pow(a, b); });
  if (name == "atan2")
    return Binary([](double a, double b) { return std::atan2(a, b); });
  // Logical ops: only on booleans here (bitwise integer forms are rare in
  // masks and would need the bit width).
  if (boolean && name == "and")
    return Binary([](double a, double b) { return double(a != 0 && b != 0); });
  if (boolean && name == "or")
    return Binary([](double a, double b) { return double(a != 0 || b != 0); });
  if (boolean && name == "xor")
    return Binary(
        [](double a, double b) { return double((a != 0) != (b != 0)); });
  return std::nullopt;
}

std::optional<Binary> compareFn(StringRef dir) {
  return llvm::StringSwitch<std::optional<Binary>>(dir)
      .Case("EQ", Binary([](double a, double b) { return double(a == b); }))
      .Case("NE", Binary([](double a, double b) { return double(a != b); }))
      .Case("LT", Binary([](double a, double b) { return double(a < b); }))
      .Case("LE", Binary([](double a, double b) { return double(a <= b); }))
      .Case("GT", Binary([](double a, double b) { return double(a > b); }))
      .Case("GE", Binary([](double a, double b) { return double(a >= b); }))
      .Default(std::nullopt);
}

const llvm::StringSet<> &regionFreeOps() {
  static const llvm::StringSet<> ops = {"constant",
                                        "iota",
                                        "convert",
                                        "reshape",
                                        "broadcast_in_dim",
                                        "transpose",
                                        "slice",
                                        "dynamic_slice",
                                        "dynamic_update_slice",
                                        "concatenate",
                                        "pad",
                                        "select",
                                        "clamp",
                                        "compare",
                                        "dot_general",
                                        "reverse",
                                        "not"};
  return ops;
}

/// Checks the operand and result shapes `evaluate` relies on for op `name`
/// (without its "stablehlo." prefix).
LogicalResult checkShapes(StringRef name, Operation *op,
                          ArrayRef<const HostTensor *> in,
                          ArrayRef<int64_t> out, std::string &error) {
  auto bad = [&](const Twine &what) {
    error = what.str();
    return failure();
  };
  int64_t rank = out.size();
  auto attrInts = [&](StringRef key) { return ints(op->getAttr(key)); };
  auto nonEmpty = [&](size_t from) {
    for (size_t i = from; i < in.size(); ++i)
      if (in[i]->data.empty())
        return false;
    return true;
  };
  if (unaryFn(name) || binaryFn(name, false, true) || name == "compare" ||
      name == "not" || name == "convert") {
    for (const HostTensor *t : in)
      if (t->shape != Shape(out))
        return bad("operand and result shapes differ");
    return success();
  }
  if (name == "select" || name == "clamp") {
    if (in.size() != 3)
      return bad("expected three operands");
    for (const HostTensor *t : in)
      if (t->shape != Shape(out) && t->numElements() != 1)
        return bad("operand and result shapes differ");
    return success();
  }
  if (name == "constant" || name == "iota" || name == "reshape")
    return success(); // element counts are checked after evaluation
  if (in.empty())
    return bad("missing operands");
  const HostTensor &x = *in[0];
  int64_t inRank = x.shape.size();
  if (name == "broadcast_in_dim") {
    auto dims = attrInts("broadcast_dimensions");
    if (!dims || int64_t(dims->size()) != inRank)
      return bad("bad broadcast_dimensions");
    for (int64_t d = 0; d < inRank; ++d) {
      int64_t to = (*dims)[d];
      if (to < 0 || to >= rank || (x.shape[d] != 1 && x.shape[d] != out[to]))
        return bad("bad broadcast_dimensions");
    }
    return success();
  }
  if (name == "transpose" || name == "reverse") {
    if (inRank != rank)
      return bad("operand and result ranks differ");
    if (name == "reverse") {
      auto dims = attrInts("dimensions");
      if (!dims || x.shape != Shape(out) ||
          llvm::any_of(*dims, [&](int64_t d) { return d < 0 || d >= rank; }))
        return bad("bad dimensions");
      return success();
    }
    auto perm = attrInts("permutation");
    if (!perm || int64_t(perm->size()) != rank)
      return bad("bad permutation");
    SmallVector<bool> seen(rank, false);
    for (int64_t d = 0; d < rank; ++d) {
      int64_t p = (*perm)[d];
      if (p < 0 || p >= rank || seen[p] || out[d] != x.shape[p])
        return bad("bad permutation");
      seen[p] = true;
    }
    return success();
  }
  if (name == "slice") {
    auto start = attrInts("start_indices"), strides = attrInts("strides");
    if (!start || int64_t(start->size()) != rank || inRank != rank ||
        (strides && int64_t(strides->size()) != rank))
      return bad("bad slice indices");
    for (int64_t d = 0; d < rank; ++d) {
      int64_t st = strides ? (*strides)[d] : 1;
      if ((*start)[d] < 0 || st < 1 ||
          (out[d] > 0 && (*start)[d] + (out[d] - 1) * st >= x.shape[d]))
        return bad("slice out of bounds");
    }
    return success();
  }
  if (name == "dynamic_slice" || name == "dynamic_update_slice") {
    bool update = name == "dynamic_update_slice";
    if (inRank != rank || int64_t(in.size()) != (update ? 2 : 1) + rank ||
        !nonEmpty(update ? 2 : 1))
      return bad("expected one start index per dimension");
    const Shape &window = update ? in[1]->shape : Shape(out);
    if (int64_t(window.size()) != rank || (update && x.shape != Shape(out)))
      return bad("bad window shape");
    for (int64_t d = 0; d < rank; ++d)
      if (window[d] < 0 || window[d] > x.shape[d])
        return bad("window larger than the operand");
    return success();
  }
  if (name == "concatenate") {
    auto dim = dyn_cast_or_null<IntegerAttr>(op->getAttr("dimension"));
    if (!dim || dim.getInt() < 0 || dim.getInt() >= rank)
      return bad("bad dimension");
    int64_t total = 0;
    for (const HostTensor *t : in) {
      if (int64_t(t->shape.size()) != rank)
        return bad("operand ranks differ");
      for (int64_t d = 0; d < rank; ++d)
        if (d != dim.getInt() && t->shape[d] != out[d])
          return bad("operand shapes differ");
      total += t->shape[dim.getInt()];
    }
    return total == out[dim.getInt()] ? success() : bad("sizes do not add up");
  }
  if (name == "pad") {
    auto lo = attrInts("edge_padding_low"), hi = attrInts("edge_padding_high"),
         interior = attrInts("interior_padding");
    if (!lo || !hi || !interior || int64_t(lo->size()) != rank ||
        int64_t(hi->size()) != rank || int64_t(interior->size()) != rank ||
        inRank != rank || in.size() != 2 || !nonEmpty(1))
      return bad("bad padding");
    for (int64_t d = 0; d < rank; ++d) {
      int64_t n = x.shape[d], inner = n > 0 ? (n - 1) * (*interior)[d] : 0;
      if ((*interior)[d] < 0 || out[d] != (*lo)[d] + (*hi)[d] + n + inner)
        return bad("padding does not give the result shape");
    }
    return success();
  }
  if (name == "dot_general") {
    auto dn =
        dyn_cast_or_null<DictionaryAttr>(op->getAttr("dot_dimension_numbers"));
    if (!dn || in.size() != 2)
      return bad("bad dot_dimension_numbers");
    auto lb = ints(dn.get("lhs_batching_dimensions")),
         rb = ints(dn.get("rhs_batching_dimensions")),
         lc = ints(dn.get("lhs_contracting_dimensions")),
         rc = ints(dn.get("rhs_contracting_dimensions"));
    const HostTensor &r = *in[1];
    int64_t rRank = r.shape.size();
    if (!lb || !rb || !lc || !rc || lb->size() != rb->size() ||
        lc->size() != rc->size())
      return bad("bad dot_dimension_numbers");
    SmallVector<bool> lUsed(inRank, false), rUsed(rRank, false);
    auto use = [](SmallVector<bool> &used, int64_t d) {
      if (d < 0 || d >= int64_t(used.size()) || used[d])
        return false;
      used[d] = true;
      return true;
    };
    Shape expect;
    for (size_t i = 0; i < lb->size(); ++i) {
      if (!use(lUsed, (*lb)[i]) || !use(rUsed, (*rb)[i]) ||
          x.shape[(*lb)[i]] != r.shape[(*rb)[i]])
        return bad("bad batching dimensions");
      expect.push_back(x.shape[(*lb)[i]]);
    }
    for (size_t i = 0; i < lc->size(); ++i)
      if (!use(lUsed, (*lc)[i]) || !use(rUsed, (*rc)[i]) ||
          x.shape[(*lc)[i]] != r.shape[(*rc)[i]])
        return bad("bad contracting dimensions");
    for (int64_t d = 0; d < inRank; ++d)
      if (!lUsed[d])
        expect.push_back(x.shape[d]);
    for (int64_t d = 0; d < rRank; ++d)
      if (!rUsed[d])
        expect.push_back(r.shape[d]);
    return expect == Shape(out) ? success()
                                : bad("result shape does not match");
  }
  if (name == "reduce") {
    auto dims = attrInts("dimensions");
    if (!dims || in.size() != 2 || !nonEmpty(1))
      return bad("bad reduce");
    SmallVector<bool> reduced(inRank, false);
    for (int64_t d : *dims) {
      if (d < 0 || d >= inRank || reduced[d])
        return bad("bad dimensions");
      reduced[d] = true;
    }
    Shape expect;
    for (int64_t d = 0; d < inRank; ++d)
      if (!reduced[d])
        expect.push_back(x.shape[d]);
    return expect == Shape(out) ? success()
                                : bad("result shape does not match");
  }
  return success();
}

} // namespace

bool Evaluator::canEvaluate(Operation *op) {
  StringRef name = op->getName().getStringRef();
  if (!name.consume_front("stablehlo."))
    return false;
  if (name == "reduce")
    return op->getNumRegions() == 1;
  if (op->getNumRegions() != 0)
    return false;
  return regionFreeOps().contains(name) || unaryFn(name) ||
         binaryFn(name, false, true);
}

const HostTensor *Evaluator::get(Value v) const {
  auto it = values.find(v);
  return it == values.end() ? nullptr : &it->second;
}

LogicalResult Evaluator::evaluate(Operation *op, std::string &error) {
  StringRef name = op->getName().getStringRef();
  auto failWith = [&](const Twine &msg) {
    error = (name + ": " + msg).str();
    return failure();
  };
  if (!name.consume_front("stablehlo."))
    return failWith("not a stablehlo op");

  // Operand values: recorded ones, or constants read on demand.
  SmallVector<const HostTensor *> in;
  SmallVector<HostTensor> materialised;
  materialised.reserve(op->getNumOperands());
  for (Value v : op->getOperands()) {
    if (const HostTensor *t = get(v)) {
      in.push_back(t);
      continue;
    }
    Operation *def = v.getDefiningOp();
    auto attr = def && def->getName().getStringRef() == "stablehlo.constant"
                    ? dyn_cast_or_null<DenseElementsAttr>(def->getAttr("value"))
                    : DenseElementsAttr();
    if (!attr)
      return failWith("an operand has no known value");
    materialised.push_back(fromAttr(attr));
    in.push_back(&materialised.back());
  }

  if (op->getNumResults() != 1)
    return failWith("expected one result");
  Shape outShape;
  if (!staticShape(op->getResult(0).getType(), outShape))
    return failWith("result shape is not static");
  // The flat form is not verified (its ops are unregistered), so every shape
  // this evaluator indexes with is checked first.
  for (auto [v, t] : llvm::zip(op->getOperands(), in)) {
    Shape declared;
    if (!staticShape(v.getType(), declared) || declared != t->shape ||
        int64_t(t->data.size()) != t->numElements())
      return failWith("an operand's value does not match its type");
  }
  if (failed(checkShapes(name, op, in, outShape, error)))
    return failWith(error);
  Type outElem = cast<ShapedType>(op->getResult(0).getType()).getElementType();
  HostTensor out;
  out.shape = outShape;
  out.data.assign(out.numElements(), 0.0);
  Shape outStrides = stridesOf(outShape);

  auto attrInts = [&](StringRef key) { return ints(op->getAttr(key)); };

  if (name == "constant") {
    auto attr = dyn_cast_or_null<DenseElementsAttr>(op->getAttr("value"));
    if (!attr)
      return failWith("no dense value");
    out = fromAttr(attr);
  } else if (name == "iota") {
    auto dim = dyn_cast_or_null<IntegerAttr>(op->getAttr("iota_dimension"));
    if (!dim || dim.getInt() < 0 || dim.getInt() >= int64_t(outShape.size()))
      return failWith("bad iota_dimension");
    forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      out.data[lin] = double(idx[dim.getInt()]);
    });
  } else if (auto f = unaryFn(name); f && in.size() == 1) {
    for (int64_t i = 0, e = out.numElements(); i < e; ++i)
      out.data[i] = roundForType((*f)(in[0]->data[i]), outElem);
  } else if (name == "not") {
    bool boolean = outElem.isInteger(1);
    if (!boolean)
      return failWith("bitwise not on integers is not evaluated");
    for (int64_t i = 0, e = out.numElements(); i < e; ++i)
      out.data[i] = in[0]->data[i] != 0 ? 0.0 : 1.0;
  } else if (name == "convert" || name == "reshape") {
    if (in[0]->data.size() != out.data.size())
      return failWith("element count mismatch");
    for (size_t i = 0; i < out.data.size(); ++i)
      out.data[i] = name == "convert" ? roundForType(in[0]->data[i], outElem)
                                      : in[0]->data[i];
  } else if (name == "compare") {
    auto dir =
        dyn_cast_or_null<StringAttr>(op->getAttr("comparison_direction"));
    auto f = dir ? compareFn(dir.getValue()) : std::nullopt;
    if (!f || in.size() != 2)
      return failWith("bad comparison_direction");
    for (size_t i = 0; i < out.data.size(); ++i)
      out.data[i] = (*f)(in[0]->data[i], in[1]->data[i]);
  } else if (auto f = binaryFn(name, isIntegerType(op->getResult(0)),
                               outElem.isInteger(1));
             f && in.size() == 2) {
    for (size_t i = 0; i < out.data.size(); ++i)
      out.data[i] = roundForType((*f)(in[0]->data[i], in[1]->data[i]), outElem);
  } else if (name == "select" || name == "clamp") {
    // select(pred, a, b) and clamp(lo, x, hi); pred / lo / hi may be scalars.
    auto at = [&](int k, size_t i) {
      return in[k]->data.size() == 1 ? in[k]->data[0] : in[k]->data[i];
    };
    for (size_t i = 0; i < out.data.size(); ++i)
      out.data[i] = name == "select"
                        ? (at(0, i) != 0 ? at(1, i) : at(2, i))
                        : std::min(std::max(at(1, i), at(0, i)), at(2, i));
  } else if (name == "broadcast_in_dim") {
    auto dims = attrInts("broadcast_dimensions");
    if (!dims || dims->size() != in[0]->shape.size())
      return failWith("bad broadcast_dimensions");
    Shape inStrides = stridesOf(in[0]->shape);
    forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t src = 0;
      for (size_t d = 0; d < dims->size(); ++d)
        if (in[0]->shape[d] != 1)
          src += idx[(*dims)[d]] * inStrides[d];
      out.data[lin] = in[0]->data[src];
    });
  } else if (name == "transpose") {
    auto perm = attrInts("permutation");
    if (!perm || perm->size() != outShape.size())
      return failWith("bad permutation");
    Shape inStrides = stridesOf(in[0]->shape);
    forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t src = 0;
      for (size_t d = 0; d < perm->size(); ++d)
        src += idx[d] * inStrides[(*perm)[d]];
      out.data[lin] = in[0]->data[src];
    });
  } else if (name == "reverse") {
    auto dims = attrInts("dimensions");
    if (!dims)
      return failWith("bad dimensions");
    Shape inStrides = stridesOf(in[0]->shape);
    forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t src = 0;
      for (size_t d = 0; d < idx.size(); ++d) {
        int64_t i = llvm::is_contained(*dims, int64_t(d))
                        ? outShape[d] - 1 - idx[d]
                        : idx[d];
        src += i * inStrides[d];
      }
      out.data[lin] = in[0]->data[src];
    });
  } else if (name == "slice") {
    auto start = attrInts("start_indices"), strides = attrInts("strides");
    if (!start || start->size() != outShape.size())
      return failWith("bad start_indices");
    Shape inStrides = stridesOf(in[0]->shape);
    forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t src = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        src += ((*start)[d] + idx[d] * (strides ? (*strides)[d] : 1)) *
               inStrides[d];
      out.data[lin] = in[0]->data[src];
    });
  } else if (name == "dynamic_slice" || name == "dynamic_update_slice") {
    bool update = name == "dynamic_update_slice";
    const HostTensor &base = *in[0];
    size_t rank = base.shape.size();
    size_t firstIndex = update ? 2 : 1;
    if (in.size() != firstIndex + rank)
      return failWith("expected one start index per dimension");
    Shape window = update ? in[1]->shape : outShape;
    Shape start(rank);
    for (size_t d = 0; d < rank; ++d) {
      double s = in[firstIndex + d]->data.at(0);
      // StableHLO clamps the start so that the window stays in bounds.
      start[d] = std::clamp<int64_t>(int64_t(s), 0, base.shape[d] - window[d]);
    }
    Shape baseStrides = stridesOf(base.shape);
    if (update)
      out.data = base.data;
    forEachIndex(window, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t pos = 0;
      for (size_t d = 0; d < rank; ++d)
        pos += (start[d] + idx[d]) * baseStrides[d];
      if (update)
        out.data[pos] = in[1]->data[lin];
      else
        out.data[lin] = base.data[pos];
    });
  } else if (name == "concatenate") {
    auto dimAttr = dyn_cast_or_null<IntegerAttr>(op->getAttr("dimension"));
    if (!dimAttr)
      return failWith("bad dimension");
    int64_t dim = dimAttr.getInt(), offset = 0;
    for (const HostTensor *t : in) {
      Shape tStrides = stridesOf(t->shape);
      forEachIndex(t->shape, [&](int64_t lin, ArrayRef<int64_t> idx) {
        int64_t dst = 0;
        for (size_t d = 0; d < idx.size(); ++d)
          dst += (idx[d] + (int64_t(d) == dim ? offset : 0)) * outStrides[d];
        out.data[dst] = t->data[lin];
      });
      offset += t->shape[dim];
    }
  } else if (name == "pad") {
    auto lo = attrInts("edge_padding_low"),
         interior = attrInts("interior_padding");
    if (!lo || !interior)
      return failWith("bad padding");
    std::fill(out.data.begin(), out.data.end(), in[1]->data.at(0));
    forEachIndex(in[0]->shape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t dst = 0;
      for (size_t d = 0; d < idx.size(); ++d) {
        int64_t p = (*lo)[d] + idx[d] * ((*interior)[d] + 1);
        if (p < 0 || p >= outShape[d])
          return;
        dst += p * outStrides[d];
      }
      out.data[dst] = in[0]->data[lin];
    });
  } else if (name == "dot_general") {
    auto dn =
        dyn_cast_or_null<DictionaryAttr>(op->getAttr("dot_dimension_numbers"));
    if (!dn)
      return failWith("dot_dimension_numbers is not a dictionary");
    auto lb = ints(dn.get("lhs_batching_dimensions")),
         rb = ints(dn.get("rhs_batching_dimensions")),
         lc = ints(dn.get("lhs_contracting_dimensions")),
         rc = ints(dn.get("rhs_contracting_dimensions"));
    if (!lb || !rb || !lc || !rc || lb->size() != rb->size() ||
        lc->size() != rc->size())
      return failWith("bad dot_dimension_numbers");
    const HostTensor &l = *in[0], &r = *in[1];
    auto freeDims = [](size_t rank, const Shape &a, const Shape &b) {
      Shape f;
      for (int64_t d = 0; d < int64_t(rank); ++d)
        if (!llvm::is_contained(a, d) && !llvm::is_contained(b, d))
          f.push_back(d);
      return f;
    };
    Shape lf = freeDims(l.shape.size(), *lb, *lc),
          rf = freeDims(r.shape.size(), *rb, *rc);
    Shape ls = stridesOf(l.shape), rs = stridesOf(r.shape);
    Shape cShape;
    for (int64_t d : *lc)
      cShape.push_back(l.shape[d]);
    forEachIndex(outShape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t lBase = 0, rBase = 0;
      size_t k = 0;
      for (size_t i = 0; i < lb->size(); ++i, ++k) {
        lBase += idx[k] * ls[(*lb)[i]];
        rBase += idx[k] * rs[(*rb)[i]];
      }
      for (int64_t d : lf)
        lBase += idx[k++] * ls[d];
      for (int64_t d : rf)
        rBase += idx[k++] * rs[d];
      double acc = 0.0;
      forEachIndex(cShape, [&](int64_t, ArrayRef<int64_t> c) {
        int64_t lo = lBase, ro = rBase;
        for (size_t i = 0; i < c.size(); ++i) {
          lo += c[i] * ls[(*lc)[i]];
          ro += c[i] * rs[(*rc)[i]];
        }
        acc += l.data[lo] * r.data[ro];
      });
      out.data[lin] = acc;
    });
  } else if (name == "reduce") {
    if (op->getNumOperands() != 2 || op->getNumResults() != 1 ||
        op->getRegion(0).empty())
      return failWith("only single-input reduce is evaluated");
    Block &body = op->getRegion(0).front();
    if (body.getOperations().size() != 2)
      return failWith("the reduction body is not one op");
    Operation &combiner = body.front();
    StringRef kind = combiner.getName().getStringRef();
    kind.consume_front("stablehlo.");
    auto f =
        binaryFn(kind, isIntegerType(op->getResult(0)), outElem.isInteger(1));
    if (!f || combiner.getNumOperands() != 2 ||
        !llvm::all_of(combiner.getOperands(), [&](Value v) {
          return v.getParentBlock() == &body && isa<BlockArgument>(v);
        }))
      return failWith("unsupported reduction body");
    auto dims = attrInts("dimensions");
    if (!dims)
      return failWith("bad dimensions");
    std::fill(out.data.begin(), out.data.end(), in[1]->data.at(0));
    forEachIndex(in[0]->shape, [&](int64_t lin, ArrayRef<int64_t> idx) {
      int64_t dst = 0;
      size_t k = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        if (!llvm::is_contained(*dims, int64_t(d)))
          dst += idx[d] * outStrides[k++];
      out.data[dst] = (*f)(out.data[dst], in[0]->data[lin]);
    });
  } else {
    return failWith("not evaluated at import time");
  }
  if (int64_t(out.data.size()) != HostTensor{outShape, {}}.numElements())
    return failWith("internal shape mismatch");
  out.shape = outShape;
  values[op->getResult(0)] = std::move(out);
  return success();
}

} // namespace mixir::stablehlo_import
