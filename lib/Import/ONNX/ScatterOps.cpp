//===- ScatterOps.cpp - ONNX scatters that write one constant block -------===//
//
// torch.onnx exports in-place slice writes (select_scatter, slice_scatter:
// `x[:, t] = y`, `x[a:b] = y`) as ScatterElements / ScatterND with constant
// indices. When the indices name one block of the data (one position along
// an axis, or a run of consecutive rows), the scatter is a
// tensor.insert_slice of the updates. Other scatters are rejected.
//===----------------------------------------------------------------------===//
#include "Importer.h"
#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::onnx_import {
namespace {

/// Checks reduction and the constant indices; `index` normalised (negative
/// from the end) and checked against `size`.
FailureOr<int64_t> checkedIndex(Node &n, int64_t index, int64_t size) {
  if (ShapedType::isDynamic(size))
    return n.fail("the scattered dimension must have a static size");
  int64_t i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    return n.fail("index " + llvm::Twine(index) + " is out of range for size " +
                  llvm::Twine(size));
  return i;
}

/// updates written at `offsets` of the data (sizes: the updates' own).
LogicalResult insertBlock(Node &n, ArrayRef<int64_t> offsets) {
  Value data = n.input(0), updates = n.input(2);
  auto dt = n.inputType(0), ut = n.inputType(2);
  if (ut.getRank() != dt.getRank() ||
      ut.getElementType() != dt.getElementType())
    return n.fail("updates must have the data's rank and element type");
  for (int64_t d = 0; d < dt.getRank(); ++d) {
    int64_t u = ut.getDimSize(d), s = dt.getDimSize(d);
    if (ShapedType::isDynamic(u) ||
        (!ShapedType::isDynamic(s) && offsets[d] + u > s))
      return n.fail("updates do not fit in the data at dimension " +
                    llvm::Twine(d));
  }
  SmallVector<OpFoldResult> offs, sizes = build::sizesOf(n.b, n.loc, updates),
                                  strides(dt.getRank(), n.b.getIndexAttr(1));
  for (int64_t o : offsets)
    offs.push_back(n.b.getIndexAttr(o));
  n.setOutput(0, tensor::InsertSliceOp::create(n.b, n.loc, updates, data, offs,
                                               sizes, strides));
  return success();
}

LogicalResult plainScatter(Node &n) {
  if (!n.hasInput(0) || !n.hasInput(1) || !n.hasInput(2))
    return n.fail("expects data, indices and updates");
  if (n.stringAttr("reduction", "none") != "none")
    return n.fail("only reduction 'none' is supported");
  return success();
}

/// ScatterElements whose constant indices all name position c along `axis`,
/// where the updates have size 1 (select_scatter).
LogicalResult scatterElements(Node &n) {
  if (failed(plainScatter(n)))
    return failure();
  auto dt = n.inputType(0);
  auto axis = n.axis(n.intAttr("axis", 0), dt.getRank());
  if (failed(axis))
    return failure();
  auto idx = n.intsInput(1);
  if (n.inputType(1).getShape() != n.inputType(2).getShape())
    return n.fail("indices and updates must have the same shape");
  if (!idx || idx->empty() ||
      llvm::any_of(*idx, [&](int64_t v) { return v != idx->front(); }) ||
      n.inputType(2).getDimSize(*axis) != 1)
    return n.fail("only constant indices that all name one position along "
                  "the axis, with updates of size 1 there (select_scatter), "
                  "are supported");
  auto c = checkedIndex(n, idx->front(), dt.getDimSize(*axis));
  if (failed(c))
    return failure();
  SmallVector<int64_t> offsets(dt.getRank(), 0);
  offsets[*axis] = *c;
  return insertBlock(n, offsets);
}

/// ScatterND whose constant indices [k, 1] are consecutive rows c .. c+k-1
/// of the data (slice_scatter along the first dimension).
LogicalResult scatterND(Node &n) {
  if (failed(plainScatter(n)))
    return failure();
  auto it = n.inputType(1);
  auto idx = n.intsInput(1);
  auto dt = n.inputType(0);
  if (!idx || it.getRank() != 2 || it.getDimSize(1) != 1 || idx->empty() ||
      n.inputType(2).getDimSize(0) != (int64_t)idx->size())
    return n.fail("only constant indices of shape [k, 1] are supported");
  SmallVector<int64_t> rows;
  for (int64_t v : *idx) {
    auto row = checkedIndex(n, v, dt.getDimSize(0));
    if (failed(row))
      return failure();
    rows.push_back(*row);
  }
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i] != rows[0] + (int64_t)i)
      return n.fail("only indices naming consecutive rows (slice_scatter) "
                    "are supported");
  SmallVector<int64_t> offsets(dt.getRank(), 0);
  offsets[0] = rows[0];
  return insertBlock(n, offsets);
}

} // namespace

void registerScatterOps(HandlerMap &m) {
  import::addHandlers(
      m,
      "::", {{"ScatterElements", scatterElements}, {"ScatterND", scatterND}});
}

} // namespace mixir::onnx_import
