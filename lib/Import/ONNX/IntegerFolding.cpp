//===- IntegerFolding.cpp - evaluate shape arithmetic at import time ------===//
//
// Exporters compute reshape targets with small integer graphs (Shape ->
// Gather -> Unsqueeze -> Concat -> Reshape). When every input is known, the
// importer evaluates them here so the consumers see constant shapes.
//
//===----------------------------------------------------------------------===//
#include "Importer.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>

namespace mixir::onnx_import {
namespace {

struct IntTensor {
  SmallVector<int64_t> shape;
  SmallVector<int64_t> data;
  Type elem;
};

/// The largest constant folded: the boolean [1, 1, T, T] causal masks that
/// torch.onnx builds (a constant, And-ed with all-true tensors) for up to
/// T = 1024 tokens; mix-raise reads the folded mask. Larger ones stay
/// computed at run time (the attention is then not raised).
constexpr int64_t kMaxFoldedElements = 1 << 20;

std::optional<IntTensor> intTensor(Node &n, int i) {
  DenseElementsAttr c = n.constantInput(i);
  if (!c || !isa<IntegerType>(c.getElementType()) ||
      c.getNumElements() > kMaxFoldedElements)
    return std::nullopt;
  IntTensor t;
  auto type = cast<RankedTensorType>(c.getType());
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  t.elem = c.getElementType();
  for (const APInt &v : c.getValues<APInt>())
    t.data.push_back(v.getBitWidth() == 1 ? (int64_t)v.getZExtValue()
                                          : v.getSExtValue());
  return t;
}

DenseElementsAttr toAttr(const IntTensor &t) {
  auto type = RankedTensorType::get(t.shape, t.elem);
  SmallVector<APInt> v;
  for (int64_t x : t.data)
    v.push_back(APInt(t.elem.getIntOrFloatBitWidth(), (uint64_t)x, true, true));
  return DenseElementsAttr::get(type, v);
}

int64_t normAxis(int64_t a, int64_t rank) { return a < 0 ? a + rank : a; }

std::optional<IntTensor> fold(Node &n, SmallVector<IntTensor> &in) {
  llvm::StringRef op = n.proto.op_type();
  if (op == "Identity")
    return in[0];
  if (op == "Cast") {
    Type to = elementTypeFor(n.b.getContext(), n.intAttr("to", 0));
    if (!to || !isa<IntegerType>(to))
      return std::nullopt;
    IntTensor t = in[0];
    t.elem = to;
    return t;
  }
  bool logic = op == "And" || op == "Or" || op == "Xor";
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || logic) {
    if (in.size() != 2)
      return std::nullopt;
    IntTensor &a = in[0], &b = in[1];
    bool aScalar = a.data.size() == 1, bScalar = b.data.size() == 1;
    if (!(a.shape == b.shape || aScalar || bScalar))
      return std::nullopt;
    IntTensor r = a.data.size() >= b.data.size() ? a : b;
    // Broadcasting against a one-element tensor keeps the larger rank:
    // And([1, 1, 1, 1], [T, T]) is [1, 1, T, T].
    size_t rank = std::max(a.shape.size(), b.shape.size());
    r.shape.insert(r.shape.begin(), rank - r.shape.size(), 1);
    for (size_t i = 0; i < r.data.size(); ++i) {
      int64_t x = a.data[aScalar ? 0 : i], y = b.data[bScalar ? 0 : i];
      if (op == "Div" && (y == 0 || (y == -1 && x == INT64_MIN)))
        return std::nullopt;
      // Two's-complement wrap-around, as int64 tensors do.
      uint64_t ux = x, uy = y;
      r.data[i] = op == "Add"   ? (int64_t)(ux + uy)
                  : op == "Sub" ? (int64_t)(ux - uy)
                  : op == "Mul" ? (int64_t)(ux * uy)
                  : op == "And" ? (x & y)
                  : op == "Or"  ? (x | y)
                  : op == "Xor" ? (x ^ y)
                                : x / y;
    }
    return r;
  }
  if (op == "Unsqueeze" || op == "Squeeze" || op == "Reshape" ||
      op == "Flatten") {
    IntTensor t = in[0];
    if (op == "Reshape") {
      if (in.size() < 2)
        return std::nullopt;
      int64_t known = 1, infer = -1;
      SmallVector<int64_t> s = in[1].data;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == 0 && i < t.shape.size())
          s[i] = t.shape[i];
        if (s[i] == -1 && infer < 0)
          infer = i;
        else if (s[i] < 0 || llvm::MulOverflow(known, s[i], known))
          return std::nullopt;
      }
      if (infer >= 0)
        s[infer] = known ? (int64_t)t.data.size() / known : 0;
      t.shape = s;
      return t;
    }
    if (op == "Flatten")
      return std::nullopt;
    std::optional<SmallVector<int64_t>> axes =
        n.opset >= 13
            ? (in.size() > 1 ? std::optional(in[1].data) : std::nullopt)
            : n.intsAttr("axes");
    if (op == "Unsqueeze") {
      if (!axes)
        return std::nullopt;
      int64_t rank = t.shape.size() + axes->size();
      SmallVector<int64_t> a;
      for (int64_t x : *axes)
        a.push_back(normAxis(x, rank));
      llvm::sort(a);
      if (!a.empty() && (a.front() < 0 || a.back() >= rank ||
                         std::adjacent_find(a.begin(), a.end()) != a.end()))
        return std::nullopt;
      for (int64_t x : a)
        t.shape.insert(t.shape.begin() + x, 1);
      return t;
    }
    SmallVector<int64_t> shape;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      bool drop = axes ? llvm::is_contained(*axes, (int64_t)d) ||
                             llvm::is_contained(
                                 *axes, (int64_t)d - (int64_t)t.shape.size())
                       : t.shape[d] == 1;
      if (!drop)
        shape.push_back(t.shape[d]);
    }
    t.shape = shape;
    return t;
  }
  if (op == "Concat") {
    for (auto &t : in)
      if (t.shape.size() != 1)
        return std::nullopt;
    IntTensor r = in[0];
    for (size_t i = 1; i < in.size(); ++i)
      r.data.append(in[i].data.begin(), in[i].data.end());
    r.shape = {(int64_t)r.data.size()};
    return r;
  }
  if (op == "Gather") {
    IntTensor &d = in[0], &idx = in[1];
    if (d.shape.size() != 1 || normAxis(n.intAttr("axis", 0), 1) != 0)
      return std::nullopt;
    IntTensor r;
    r.elem = d.elem;
    r.shape = idx.shape;
    for (int64_t i : idx.data) {
      int64_t j = i < 0 ? i + (int64_t)d.data.size() : i;
      if (j < 0 || j >= (int64_t)d.data.size())
        return std::nullopt;
      r.data.push_back(d.data[j]);
    }
    return r;
  }
  if (op == "Slice" && n.opset >= 10) {
    IntTensor &d = in[0];
    if (d.shape.size() != 1 || in.size() < 3 || in[1].data.size() != 1 ||
        in[2].data.size() != 1 || (in.size() > 4 && in[4].data.size() != 1))
      return std::nullopt;
    int64_t size = d.data.size(), start = in[1].data[0], end = in[2].data[0];
    int64_t step = in.size() > 4 ? in[4].data[0] : 1;
    if (step != 1)
      return std::nullopt;
    if (start < 0)
      start += size;
    if (end < 0)
      end += size;
    start = std::clamp<int64_t>(start, 0, size);
    end = std::clamp<int64_t>(end, start, size);
    IntTensor r;
    r.elem = d.elem;
    r.data.assign(d.data.begin() + start, d.data.begin() + end);
    r.shape = {(int64_t)r.data.size()};
    return r;
  }
  return std::nullopt;
}

} // namespace

bool foldIntegerNode(Node &n) {
  if (!n.proto.domain().empty() && n.proto.domain() != "ai.onnx")
    return false;
  if (n.numOutputs() != 1 || n.numInputs() == 0)
    return false;
  SmallVector<IntTensor> in;
  for (size_t i = 0; i < n.numInputs(); ++i) {
    if (!n.hasInput(i))
      return false;
    auto t = intTensor(n, i);
    if (!t)
      return false;
    in.push_back(*t);
  }
  auto r = fold(n, in);
  if (!r)
    return false;
  int64_t count = 1;
  for (int64_t s : r->shape)
    if (s < 0 || llvm::MulOverflow(count, s, count))
      return false;
  if (count != (int64_t)r->data.size())
    return false;
  n.setConstantOutput(0, toAttr(*r));
  return true;
}

} // namespace mixir::onnx_import
