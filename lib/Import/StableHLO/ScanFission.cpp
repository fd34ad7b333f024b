//===- ScanFission.cpp - the state-independent part of a scan body --------===//
//
// The scan raisers that do not read the mix op's operands straight from the
// loop's inputs (ScanRaiseDPLR.cpp, ScanRaiseDiag.cpp) move the part of the
// body that does not depend on the state into a loop of its own (loop
// fission): it runs the same counter, computes the operands of every token
// and writes them into stacked arrays.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "ScanLoop.h"

#include "mixir/Transforms/Recurrences.h"

using namespace mlir;

namespace mixir::stablehlo_import::scan {

Value indexConstant(OpBuilder &b, Location loc, Type counterType,
                    int64_t value) {
  return createConstant(b, loc,
                        toAttr(cast<RankedTensorType>(counterType),
                               HostTensor{{}, {double(value)}}))
      ->getResult(0);
}

Value writeStep(OpBuilder &b, Location loc, Value stack, Value x, Value at) {
  Shape one = shapeOf(x);
  one.insert(one.begin(), 1);
  SmallVector<Value> ops = {stack, reshape(b, loc, x, one), at};
  for (size_t d = 1; d < one.size(); ++d)
    ops.push_back(indexConstant(b, loc, at.getType(), 0));
  return generic(b, loc, "stablehlo.dynamic_update_slice", ops,
                 stack.getType());
}

namespace {

/// The new loop's condition: the old one, on the counter.
void cloneCondition(Block &cond, unsigned counter, Block *newCond,
                    MLIRContext *ctx) {
  IRMapping cmap;
  cmap.map(cond.getArgument(counter), newCond->getArgument(0));
  OpBuilder cb(ctx);
  cb.setInsertionPointToEnd(newCond);
  for (Operation &op : cond)
    cb.clone(op, cmap);
}

} // namespace

std::optional<SmallVector<Value>> fission(const ScanLoop &scan,
                                          ArrayRef<Value> roots,
                                          ArrayRef<Shape> stackShapes,
                                          Type elem, StackWriter write) {
  Operation *loop = scan.loop;
  Block &cond = loop->getRegion(0).front();
  Block *body = &loop->getRegion(1).front();
  Operation *ret = &body->back();
  for (Operation &op : cond)
    for (Value v : op.getOperands())
      if (auto a = dyn_cast<BlockArgument>(v);
          a && a.getOwner() == &cond && a.getArgNumber() != scan.counter)
        return std::nullopt;
  Operation *next = ret->getOperand(scan.counter).getDefiningOp();
  if (!next)
    return std::nullopt;

  OpBuilder b(loop);
  Location loc = loop->getLoc();
  SmallVector<unsigned> carried;
  for (const Read &rd : scan.reads)
    if (!llvm::is_contained(carried, rd.carried))
      carried.push_back(rd.carried);
  SmallVector<Value> operands = {loop->getOperand(scan.counter)};
  for (unsigned c : carried)
    operands.push_back(loop->getOperand(c));
  for (const Shape &s : stackShapes) {
    HostTensor zeros;
    zeros.shape = s;
    zeros.data.assign(zeros.numElements(), 0.0);
    operands.push_back(
        createConstant(b, loc, toAttr(tensorOf(s, elem), zeros))->getResult(0));
  }
  OperationState st(loc, "stablehlo.while");
  st.addOperands(operands);
  for (Value v : operands)
    st.addTypes(v.getType());
  Region *condRegion = st.addRegion(), *bodyRegion = st.addRegion();
  SmallVector<Location> locs(operands.size(), loc);
  Block *newCond = new Block, *newBody = new Block;
  condRegion->push_back(newCond);
  bodyRegion->push_back(newBody);
  for (Block *blk : {newCond, newBody})
    blk->addArguments(ValueRange(operands).getTypes(), locs);
  cloneCondition(cond, scan.counter, newCond, loop->getContext());

  // The body: the state-independent ops the stacks need, then the writes.
  IRMapping map;
  map.map(body->getArgument(scan.counter), newBody->getArgument(0));
  for (auto [i, c] : llvm::enumerate(carried))
    map.map(body->getArgument(c), newBody->getArgument(1 + i));
  SmallVector<Value> needed(roots.begin(), roots.end());
  needed.push_back(next->getResult(0));
  OpBuilder bb(loop->getContext());
  bb.setInsertionPointToEnd(newBody);
  for (Operation *op : raise::opsComputing(body, needed))
    bb.clone(*op, map);
  SmallVector<Value> stacks(
      newBody->getArguments().take_back(stackShapes.size()));
  write(bb, map, newBody->getArgument(0), stacks);
  SmallVector<Value> results = {map.lookup(next->getResult(0))};
  for (size_t i = 0; i < carried.size(); ++i)
    results.push_back(newBody->getArgument(1 + i));
  llvm::append_range(results, stacks);
  OperationState rs(loc, "stablehlo.return");
  rs.addOperands(results);
  bb.create(rs);

  Operation *fissioned = b.create(st);
  return SmallVector<Value>(
      fissioned->getResults().take_back(stackShapes.size()));
}

} // namespace mixir::stablehlo_import::scan
