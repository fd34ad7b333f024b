//===- ShapeChecks.cpp - run-time checks of a mix op's sizes --------------===//
#include "Conversion/Utils/ShapeChecks.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace mixir::lowering {

namespace {
constexpr StringLiteral kShapeErrorFn = "mixrtShapeError";

Value sizeConst(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

/// One run-time comparison of a dimension against its symbol's size.
struct DimCheck {
  Value got, expected;
  std::string message;
};

/// Declares `mixrtShapeError(memref<?xi8> message, i64 got, i64 expected)`,
/// provided by the runtime, once per module.
func::FuncOp getOrDeclareShapeErrorFn(ModuleOp module, OpBuilder &b) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(kShapeErrorFn))
    return fn;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto msgType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  auto type = b.getFunctionType({msgType, b.getI64Type(), b.getI64Type()}, {});
  auto fn = func::FuncOp::create(b, module.getLoc(), kShapeErrorFn, type);
  fn.setPrivate();
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return fn;
}

/// Reads the offsets of a packing: the first, the last and the index of the
/// first offset smaller than the one before it (the number of offsets when
/// none is). An empty packing reads nothing and gives 0, `T` and 0.
SmallVector<Value> readPacking(ImplicitLocOpBuilder &b, Value cuSeqlens,
                               Value T) {
  Value count = tensor::DimOp::create(b, cuSeqlens, 0);
  Value one = sizeConst(b, 1);
  Value any = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, count, one);
  Type index = b.getIndexType();
  auto read = scf::IfOp::create(b, TypeRange{index, index, index}, any,
                                /*withElseRegion=*/true);
  {
    auto tb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &read.getThenRegion().front());
    Value first = offsetAt(tb, cuSeqlens, sizeConst(tb, 0));
    Value last = offsetAt(tb, cuSeqlens, arith::SubIOp::create(tb, count, one));
    auto loop = scf::ForOp::create(
        tb, one, count, one, ValueRange{count},
        [&](OpBuilder &nested, Location loc, Value i, ValueRange args) {
          ImplicitLocOpBuilder nb(loc, nested);
          Value before =
              offsetAt(nb, cuSeqlens, arith::SubIOp::create(nb, i, one));
          Value drops = arith::AndIOp::create(
              nb,
              arith::CmpIOp::create(nb, arith::CmpIPredicate::slt,
                                    offsetAt(nb, cuSeqlens, i), before),
              arith::CmpIOp::create(nb, arith::CmpIPredicate::eq, args[0],
                                    count));
          scf::YieldOp::create(
              nb, ValueRange{arith::SelectOp::create(nb, drops, i, args[0])});
        });
    scf::YieldOp::create(tb, ValueRange{first, last, loop.getResult(0)});
  }
  {
    auto eb = ImplicitLocOpBuilder::atBlockBegin(b.getLoc(),
                                                 &read.getElseRegion().front());
    scf::YieldOp::create(eb, ValueRange{sizeConst(eb, 0), T, count});
  }
  return SmallVector<Value>(read.getResults());
}

/// The run-time rules of packed sequences (MIXERS.md "Packed sequences"): a
/// batch of one and offsets 0 = cu[0] <= ... <= cu[N] = T.
/// Together they keep every sequence inside [0, T).
void addPackingChecks(ImplicitLocOpBuilder &b, Value cuSeqlens,
                      const SymbolSizes &sizes, StringRef opName,
                      SmallVectorImpl<DimCheck> &checks) {
  std::string prefix = opName.str() + ": ";
  Value one = sizeConst(b, 1), T = sizes.lookup("T");
  Value count = tensor::DimOp::create(b, cuSeqlens, 0);
  SmallVector<Value> read = readPacking(b, cuSeqlens, T);
  // A static B is the verifier's (it must be 1).
  if (!getConstantIntValue(sizes.lookup("B")))
    checks.push_back({sizes.lookup("B"), one,
                      prefix + "the batch (B, dim 0 of the inputs) must be 1 "
                               "with 'cu_seqlens' (sequences are packed along "
                               "T)"});
  checks.push_back(
      {arith::MinUIOp::create(b, count, one), one,
       prefix + "'cu_seqlens' must hold N + 1 >= 1 offsets; got: none"});
  checks.push_back(
      {read[0], sizeConst(b, 0), prefix + "'cu_seqlens'[0] must be 0"});
  checks.push_back({read[1], T,
                    prefix + "the last offset 'cu_seqlens'[N] must be T, the "
                             "packed length (dim 1 of the inputs)"});
  checks.push_back(
      {read[2], count,
       prefix + "'cu_seqlens' must be non-decreasing; got: the index of the "
                "first offset smaller than the one before it, expected: N + 1 "
                "(none)"});
}

/// Reads a pool's slot indices: the position of the first index >= P and of
/// the first non-negative index used before (each `count`, their number,
/// when there is none).
std::pair<Value, Value> readSlots(ImplicitLocOpBuilder &b, Value indices,
                                  Value slots) {
  Value count = tensor::DimOp::create(b, indices, 0);
  Value zero = sizeConst(b, 0), one = sizeConst(b, 1);
  auto firstWhere = [&](ImplicitLocOpBuilder &b, Value bad, Value i,
                        Value first) -> Value {
    Value isFirst = arith::AndIOp::create(
        b, bad,
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, first, count));
    return arith::SelectOp::create(b, isFirst, i, first);
  };
  auto loop = scf::ForOp::create(
      b, zero, count, one, ValueRange{count, count},
      [&](OpBuilder &nested, Location loc, Value i, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        Value slot = offsetAt(nb, indices, i);
        Value beyond =
            arith::CmpIOp::create(nb, arith::CmpIPredicate::sge, slot, slots);
        Value used =
            scf::ForOp::create(
                nb, zero, i, one,
                ValueRange{arith::ConstantIntOp::create(nb, 0, 1)},
                [&](OpBuilder &inner, Location loc, Value j, ValueRange seen) {
                  ImplicitLocOpBuilder ib(loc, inner);
                  Value same =
                      arith::CmpIOp::create(ib, arith::CmpIPredicate::eq,
                                            offsetAt(ib, indices, j), slot);
                  scf::YieldOp::create(
                      ib, ValueRange{arith::OrIOp::create(ib, seen[0], same)});
                })
                .getResult(0);
        Value repeat = arith::AndIOp::create(
            nb, used,
            arith::CmpIOp::create(nb, arith::CmpIPredicate::sge, slot, zero));
        scf::YieldOp::create(nb,
                             ValueRange{firstWhere(nb, beyond, i, args[0]),
                                        firstWhere(nb, repeat, i, args[1])});
      });
  return {loop.getResult(0), loop.getResult(1)};
}

/// The run-time rules of a state pool (MIXERS.md "State pools"): one index
/// per sequence, each below P or negative (padding), no slot used twice.
/// `pool` names the operand that holds the pool.
void addPoolChecks(ImplicitLocOpBuilder &b, Value indices, Value sequences,
                   const SymbolSizes &sizes, StringRef opName, StringRef pool,
                   SmallVectorImpl<DimCheck> &checks) {
  std::string prefix = opName.str() + ": ";
  Value count = tensor::DimOp::create(b, indices, 0);
  auto [beyond, repeat] = readSlots(b, indices, sizes.lookup("P"));
  checks.push_back({count, sequences,
                    prefix + "'state_indices' dim 0 does not match the number "
                             "of sequences (N with 'cu_seqlens', else B)"});
  checks.push_back(
      {beyond, count,
       prefix + "'state_indices' must be below P (the pool's slots, '" +
           pool.str() +
           "' dim 0) or negative (padding); got: the position of the first "
           "that is not, expected: N (none)"});
  checks.push_back({repeat, count,
                    prefix + "'state_indices' must not name a slot twice; "
                             "got: the position of the first repeat, "
                             "expected: N (none)"});
}

/// A KV cache's key lengths `lens` [B]: each must lie in [T, S] (the
/// queries are its last T positions). The check is the position of the
/// first that does not, B when none (the [B] size itself is the shape
/// contract's).
void addKeyLengthChecks(ImplicitLocOpBuilder &b, Value lens,
                        const SymbolSizes &sizes, StringRef opName,
                        SmallVectorImpl<DimCheck> &checks) {
  Value count = tensor::DimOp::create(b, lens, 0);
  Value T = sizes.lookup("T"), S = sizes.lookup("S");
  Value zero = sizeConst(b, 0), one = sizeConst(b, 1);
  auto loop = scf::ForOp::create(
      b, zero, count, one, ValueRange{count},
      [&](OpBuilder &nested, Location loc, Value i, ValueRange args) {
        ImplicitLocOpBuilder nb(loc, nested);
        // Signed: a negative length is below T.
        Value len = arith::ExtSIOp::create(
            nb, nb.getI64Type(), tensor::ExtractOp::create(nb, lens, i));
        auto asI64 = [&](Value x) {
          return arith::IndexCastOp::create(nb, nb.getI64Type(), x);
        };
        Value bad = arith::OrIOp::create(
            nb,
            arith::CmpIOp::create(nb, arith::CmpIPredicate::slt, len, asI64(T)),
            arith::CmpIOp::create(nb, arith::CmpIPredicate::sgt, len,
                                  asI64(S)));
        Value first = arith::AndIOp::create(
            nb, bad,
            arith::CmpIOp::create(nb, arith::CmpIPredicate::eq, args[0],
                                  count));
        scf::YieldOp::create(
            nb, ValueRange{arith::SelectOp::create(nb, first, i, args[0])});
      });
  checks.push_back({loop.getResult(0), count,
                    opName.str() +
                        ": 'kv_lens' must lie between T (the queries, dim 1 "
                        "of 'q') and S (the cache, dim 1 of 'k'); got: the "
                        "batch row of the first that does not, expected: B "
                        "(none)"});
}

/// A constant global holding `text`, as memref<?xi8>.
Value messageRef(ImplicitLocOpBuilder &b, ModuleOp module, StringRef text) {
  auto type =
      MemRefType::get({static_cast<int64_t>(text.size())}, b.getI8Type());
  SmallVector<int8_t> bytes(text.begin(), text.end());
  auto init = DenseElementsAttr::get(
      RankedTensorType::get(type.getShape(), b.getI8Type()),
      ArrayRef<int8_t>(bytes));
  OpBuilder gb(module.getContext()); // no insertion point: detached
  auto global = memref::GlobalOp::create(
      gb, b.getLoc(), "mix_shape_message", gb.getStringAttr("private"), type,
      init, /*constant=*/true, /*alignment=*/nullptr);
  SymbolTable(module).insert(global, module.getBody()->begin()); // uniqued
  Value ref = memref::GetGlobalOp::create(b, type, global.getSymName());
  return memref::CastOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), ref);
}
} // namespace

void reportIfDiffers(ImplicitLocOpBuilder &b, ModuleOp module, Value got,
                     Value expected, StringRef message) {
  func::FuncOp errorFn = getOrDeclareShapeErrorFn(module, b);
  Value bad = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, got, expected);
  auto one = scf::IfOp::create(b, bad, /*withElseRegion=*/false);
  ImplicitLocOpBuilder rb = ImplicitLocOpBuilder::atBlockBegin(
      b.getLoc(), &one.getThenRegion().front());
  Value msg = messageRef(rb, module, message);
  func::CallOp::create(
      rb, errorFn,
      ValueRange{msg, arith::IndexCastOp::create(rb, rb.getI64Type(), got),
                 arith::IndexCastOp::create(rb, rb.getI64Type(), expected)});
}

Value offsetAt(ImplicitLocOpBuilder &b, Value cuSeqlens, Value i) {
  Value raw = tensor::ExtractOp::create(b, cuSeqlens, i);
  return arith::IndexCastOp::create(b, b.getIndexType(), raw);
}

LogicalResult lowerWithShapeChecks(
    RewriterBase &rewriter, Operation *op,
    const std::function<SmallVector<Value>(
        ImplicitLocOpBuilder &, const SymbolSizes &)> &buildResults) {
  auto module = op->getParentOfType<ModuleOp>();
  if (!module)
    return rewriter.notifyMatchFailure(op, "not inside a module");
  ImplicitLocOpBuilder b(op->getLoc(), rewriter);
  b.setInsertionPoint(op);

  // Bind each symbol to the first operand dimension that carries it; every
  // later dimension with the same symbol is compared against it at run time
  // unless the verifier already proved them equal (both static).
  SymbolSizes sizes;
  llvm::StringMap<std::pair<std::string, bool>> firstSeen; // desc, isStatic
  SmallVector<DimCheck> checks;
  std::string opName = op->getName().getStringRef().str();
  Value cuSeqlens = mix::getCuSeqlens(op);
  if (cuSeqlens) {
    // N, the number of packed sequences, is one less than the offsets (0
    // for an empty offsets tensor, which is reported below).
    Value offsets = tensor::DimOp::create(b, cuSeqlens, 0);
    sizes["N"] = arith::SubIOp::create(
        b, arith::MaxUIOp::create(b, offsets, sizeConst(b, 1)),
        sizeConst(b, 1));
    firstSeen["N"] = {"'cu_seqlens' dim 0 - 1", false};
  }
  auto contract = mix::getShapeContract(op);
  StringRef poolName;
  for (const mix::ShapedValue &sv : contract) {
    if (poolName.empty() && sv.dims.front() == "P")
      poolName = sv.name;
    bool isResult = isa<OpResult>(sv.value) && sv.value.getDefiningOp() == op;
    auto type = cast<RankedTensorType>(sv.value.getType());
    for (auto [i, sym] : llvm::enumerate(sv.dims)) {
      std::string desc = "'" + sv.name.str() + "' dim " + std::to_string(i);
      bool isStatic = !type.isDynamicDim(i);
      auto it = firstSeen.find(sym);
      if (it == firstSeen.end()) {
        if (isResult && !isStatic)
          continue; // a dynamic result dim is built from its symbol
        sizes[sym] = isStatic ? sizeConst(b, type.getDimSize(i))
                              : Value(tensor::DimOp::create(b, sv.value, i));
        firstSeen[sym] = {desc, isStatic};
        continue;
      }
      if ((isStatic && it->second.second) || (isResult && !isStatic))
        continue;
      Value got = isStatic ? sizeConst(b, type.getDimSize(i))
                           : Value(tensor::DimOp::create(b, sv.value, i));
      checks.push_back({got, sizes[sym],
                        opName + ": " + desc + " (" + sym.str() +
                            ") does not match " + it->second.first});
    }
  }

  if (cuSeqlens)
    addPackingChecks(b, cuSeqlens, sizes, opName, checks);
  if (Value indices = mix::getStateIndices(op))
    addPoolChecks(b, indices, sizes.lookup(cuSeqlens ? "N" : "B"), sizes,
                  opName, poolName, checks);
  if (auto attention = dyn_cast<mix::AttentionOp>(op);
      attention && attention.getKvLens())
    addKeyLengthChecks(b, attention.getKvLens(), sizes, opName, checks);
  if (checks.empty()) {
    rewriter.replaceOp(op, buildResults(b, sizes));
    return success();
  }

  // On a mismatch, report every disagreeing dimension and run the loops over
  // an empty batch: nothing out of bounds is touched and the results are
  // empty. (Branching around the computation with scf.if would give the
  // results a dynamic layout and cost a copy at the function boundary.)
  Value ok = arith::ConstantIntOp::create(b, 1, 1);
  for (const DimCheck &c : checks)
    ok = arith::AndIOp::create(
        b, ok,
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, c.got, c.expected));
  auto report = scf::IfOp::create(
      b, arith::XOrIOp::create(b, ok, arith::ConstantIntOp::create(b, 1, 1)),
      /*withElseRegion=*/false);
  {
    ImplicitLocOpBuilder eb = ImplicitLocOpBuilder::atBlockBegin(
        op->getLoc(), &report.getThenRegion().front());
    for (const DimCheck &c : checks)
      reportIfDiffers(eb, module, c.got, c.expected, c.message);
  }
  sizes["B"] = arith::SelectOp::create(b, ok, sizes["B"], sizeConst(b, 0));
  if (cuSeqlens)
    sizes["N"] = arith::SelectOp::create(b, ok, sizes["N"], sizeConst(b, 0));
  rewriter.replaceOp(op, buildResults(b, sizes));
  return success();
}

} // namespace mixir::lowering
