//===- ConvertControl.cpp - while, if and case to scf ---------------------===//
#include "Convert.h"

#include "mixir/Builders/TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mixir::stablehlo_import {
namespace {

/// Translates `region`'s block into a new block of `into` with the given
/// argument types and returns the translated operands of its
/// `stablehlo.return`.
FailureOr<SmallVector<Value>> convertRegion(OpView &v, Region &region,
                                            Region &into, TypeRange types) {
  if (!region.hasOneBlock())
    return v.fail("expects single-block regions");
  Block &src = region.front();
  if (src.getNumArguments() != types.size() ||
      TypeRange(src.getArgumentTypes()) != types)
    return v.fail("region arguments do not match the loop-carried values");
  Operation *ret = &src.back();
  if (ret->getName().getStringRef() != "stablehlo.return")
    return v.fail("regions must end with stablehlo.return");
  SmallVector<Location> locs(types.size(), v.loc);
  Block *dst = v.b.createBlock(&into, {}, types, locs);
  v.converter.mapping.map(src.getArguments(), dst->getArguments());
  v.b.setInsertionPointToStart(dst);
  if (failed(v.converter.convertOps(src)))
    return failure();
  SmallVector<Value> out;
  for (Value x : ret->getOperands())
    out.push_back(v.converter.lookup(x));
  return out;
}

LogicalResult whileOp(OpView &v) {
  if (v.op->getNumRegions() != 2)
    return v.fail("expects a condition and a body region");
  SmallVector<Value> inits;
  for (unsigned i = 0; i < v.numOperands(); ++i)
    inits.push_back(v.operand(i));
  TypeRange types = v.op->getResultTypes();
  if (TypeRange(v.op->getOperandTypes()) != types)
    return v.fail("operand and result types differ");
  auto loop = scf::WhileOp::create(v.b, v.loc, types, inits);
  {
    OpBuilder::InsertionGuard guard(v.b);
    auto cond = convertRegion(v, v.op->getRegion(0), loop.getBefore(), types);
    if (failed(cond))
      return failure();
    auto pt = cond->size() == 1
                  ? dyn_cast<RankedTensorType>((*cond)[0].getType())
                  : RankedTensorType();
    if (!pt || pt.getRank() != 0 || !pt.getElementType().isInteger(1))
      return v.fail("the condition must return one tensor<i1>");
    Value pred =
        tensor::ExtractOp::create(v.b, v.loc, (*cond)[0], ValueRange{});
    scf::ConditionOp::create(v.b, v.loc, pred, loop.getBefore().getArguments());
    auto body = convertRegion(v, v.op->getRegion(1), loop.getAfter(), types);
    if (failed(body))
      return failure();
    if (TypeRange(ValueRange(*body)) != types)
      return v.fail("the body must return the loop-carried values");
    Block &after = loop.getAfter().front();
    for (auto [i, value] : llvm::enumerate(*body))
      value = build::yieldedInPlace(v.b, v.loc, value, after.getArgument(i));
    scf::YieldOp::create(v.b, v.loc, *body);
  }
  return v.setResults(loop.getResults());
}

/// Translates `region` (no arguments) into `into`, ending it in scf.yield.
LogicalResult convertBranch(OpView &v, Region &region, Region &into) {
  OpBuilder::InsertionGuard guard(v.b);
  auto results = convertRegion(v, region, into, TypeRange());
  if (failed(results))
    return failure();
  if (TypeRange(ValueRange(*results)) != v.op->getResultTypes())
    return v.fail("every branch must return the op's result types");
  scf::YieldOp::create(v.b, v.loc, *results);
  return success();
}

/// `stablehlo.if` (i1 predicate) -> scf.if.
LogicalResult ifOp(OpView &v) {
  if (v.numOperands() != 1 || v.op->getNumRegions() != 2 ||
      v.operandType(0).getRank() != 0 ||
      !v.operandType(0).getElementType().isInteger(1))
    return v.fail("expects a tensor<i1> predicate and two branches");
  Value pred =
      tensor::ExtractOp::create(v.b, v.loc, v.operand(0), ValueRange{});
  auto op = scf::IfOp::create(v.b, v.loc, v.op->getResultTypes(), pred,
                              /*withElseRegion=*/true);
  // The builder made (empty-yield) blocks: start from empty regions.
  op.getThenRegion().getBlocks().clear();
  op.getElseRegion().getBlocks().clear();
  if (failed(convertBranch(v, v.op->getRegion(0), op.getThenRegion())) ||
      failed(convertBranch(v, v.op->getRegion(1), op.getElseRegion())))
    return failure();
  return v.setResults(op.getResults());
}

/// `stablehlo.case` (lax.cond, lax.switch) -> scf.index_switch; an index
/// out of range runs the last branch, which becomes the default.
LogicalResult caseOp(OpView &v) {
  unsigned n = v.op->getNumRegions();
  if (v.numOperands() != 1 || n == 0 || v.operandType(0).getRank() != 0 ||
      !v.operandType(0).getElementType().isSignlessInteger())
    return v.fail("expects an integer index and at least one branch");
  Value index =
      tensor::ExtractOp::create(v.b, v.loc, v.operand(0), ValueRange{});
  index = arith::IndexCastOp::create(v.b, v.loc, v.b.getIndexType(), index);
  SmallVector<int64_t> cases;
  for (unsigned i = 0; i + 1 < n; ++i)
    cases.push_back(i);
  auto op = scf::IndexSwitchOp::create(v.b, v.loc, v.op->getResultTypes(),
                                       index, cases, cases.size());
  for (unsigned i = 0; i + 1 < n; ++i)
    if (failed(convertBranch(v, v.op->getRegion(i), op.getCaseRegions()[i])))
      return failure();
  if (failed(convertBranch(v, v.op->getRegion(n - 1), op.getDefaultRegion())))
    return failure();
  return v.setResults(op.getResults());
}

LogicalResult customCall(OpView &v) {
  std::string target = v.stringAttr("call_target_name").value_or("");
  return v.fail("custom_call to '" + target +
                "' is not supported (no MixIR equivalent of the target)");
}

/// Ops that only pass their operands through.
LogicalResult passThrough(OpView &v) {
  if (v.numOperands() != v.op->getNumResults())
    return v.fail("expects as many operands as results");
  SmallVector<Value> operands;
  for (unsigned i = 0; i < v.numOperands(); ++i)
    operands.push_back(v.operand(i));
  return v.setResults(operands);
}

} // namespace

void registerControlOps(HandlerMap &m) {
  import::addHandlers(m, "stablehlo.",
                      {{"while", whileOp},
                       {"if", ifOp},
                       {"case", caseOp},
                       {"custom_call", customCall},
                       {"optimization_barrier", passThrough}});
}

} // namespace mixir::stablehlo_import
