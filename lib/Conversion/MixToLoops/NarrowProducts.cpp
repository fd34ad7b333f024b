//===- NarrowProducts.cpp - bf16 operands for the chunked tile products ---===//
//
// With bf16 inputs, the chunked form's tile products that fill whole AMX
// tiles (AmxTiles.h) may take their operands in bf16 and accumulate in
// f32, as fla's chunk kernels do: the
// q, k and v tiles are exact in bf16, and the few derived operands (the
// masked scores, the gated rows, the chunk state) are rounded once per
// product. On CPUs with AMX, mix-matmul-to-amx then runs them on the tile
// unit (tdpbf16ps: 16 x 16 x 32 multiply-adds an instruction).
//
// Every product of the chunked form is a linalg.matmul or a matmul-shaped
// contraction (`contract` in TileOps: a linalg.generic over (i, j, r) with
// out[i, j] += lhs * rhs). Both become a linalg.matmul of bf16 [M, R] by
// bf16 [R, N] tiles into the f32 accumulator, with a transpose where an
// operand is read along its rows.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"
#include "TileOps.h"
#include "mixir/Conversion/AmxTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;

namespace mixir::lowering {
namespace {

/// Whether `type` is a static 2-D f32 tile.
bool isF32Tile(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && t.getRank() == 2 && t.hasStaticShape() &&
         t.getElementType().isF32();
}

/// Whether the product into `out` over a reduction of `depth` fills whole
/// AMX tiles: others keep f32 operands, which cost no accuracy where no
/// tile unit runs them.
bool fillsTiles(Value out, int64_t depth) {
  auto shape = cast<RankedTensorType>(out.getType()).getShape();
  return fillsAmxTiles(shape[0], depth, shape[1]);
}

/// The operand as a bf16 [rows, cols] tile, transposed first when
/// `transpose`.
Value bf16Tile(ImplicitLocOpBuilder &b, Value tile, bool transpose) {
  if (transpose)
    tile = transposed(b, tile);
  auto type = cast<RankedTensorType>(tile.getType());
  return arith::TruncFOp::create(
      b, RankedTensorType::get(type.getShape(), b.getBF16Type()), tile);
}

/// For a contraction of `contract`'s shape (three loops, the last a
/// reduction; out indexed (d0, d1)): whether the operand with `map` is read
/// as [d0 or d1, d2] (false) or [d2, d0 or d1] (true); none otherwise.
std::optional<bool> readTransposed(AffineMap map, unsigned parallelDim) {
  if (map.getNumDims() != 3 || map.getNumResults() != 2 ||
      map.getNumSymbols() != 0)
    return std::nullopt;
  auto a = dyn_cast<AffineDimExpr>(map.getResult(0));
  auto c = dyn_cast<AffineDimExpr>(map.getResult(1));
  if (!a || !c)
    return std::nullopt;
  if (a.getPosition() == parallelDim && c.getPosition() == 2)
    return false;
  if (a.getPosition() == 2 && c.getPosition() == parallelDim)
    return true;
  return std::nullopt;
}

/// Whether `generic`'s body is out + lhs * rhs (in either order).
bool isMulAdd(linalg::GenericOp generic) {
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !yield || yield.getValues().size() != 1 ||
      yield.getValues()[0] != add.getResult())
    return false;
  Value lhs = body.getArgument(0), rhs = body.getArgument(1),
        out = body.getArgument(2);
  bool operands = (mul.getLhs() == lhs && mul.getRhs() == rhs) ||
                  (mul.getLhs() == rhs && mul.getRhs() == lhs);
  bool accumulates = (add.getLhs() == out && add.getRhs() == mul) ||
                     (add.getLhs() == mul && add.getRhs() == out);
  return operands && accumulates;
}

/// The bf16 matmul replacing `op` (a linalg.matmul or a `contract`
/// generic on f32 tiles), or null when `op` is neither.
Value narrowed(ImplicitLocOpBuilder &b, Operation *op) {
  if (auto mm = dyn_cast<linalg::MatmulOp>(op)) {
    if (!mm.hasPureTensorSemantics() || mm.getInputs().size() != 2 ||
        !isF32Tile(mm.getInputs()[0].getType()) ||
        !isF32Tile(mm.getInputs()[1].getType()) ||
        !isF32Tile(mm.getOutputs()[0].getType()) ||
        // Only the plain matmul maps (no user-defined broadcast/transpose).
        mm.getIndexingMapsArray() !=
            linalg::MatmulOp::getDefaultIndexingMaps(b.getContext()) ||
        !fillsTiles(
            mm.getOutputs()[0],
            cast<RankedTensorType>(mm.getInputs()[0].getType()).getDimSize(1)))
      return Value();
    return matmul(b, bf16Tile(b, mm.getInputs()[0], false),
                  bf16Tile(b, mm.getInputs()[1], false), mm.getOutputs()[0]);
  }
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || !generic.hasPureTensorSemantics() ||
      generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != 3 || !isMulAdd(generic))
    return Value();
  SmallVector<utils::IteratorType> iters = generic.getIteratorTypesArray();
  if (iters[0] != utils::IteratorType::parallel ||
      iters[1] != utils::IteratorType::parallel ||
      iters[2] != utils::IteratorType::reduction)
    return Value();
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  MLIRContext *ctx = b.getContext();
  AffineMap outMap = AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  if (maps[2] != outMap)
    return Value();
  std::optional<bool> lhsT = readTransposed(maps[0], 0);
  std::optional<bool> rhsT = readTransposed(maps[1], 1);
  Value lhs = generic.getDpsInputs()[0], rhs = generic.getDpsInputs()[1],
        out = generic.getDpsInits()[0];
  if (!lhsT || !rhsT || !isF32Tile(lhs.getType()) ||
      !isF32Tile(rhs.getType()) || !isF32Tile(out.getType()))
    return Value();
  // The reduction's length, from the lhs: [i, r] or, read transposed, [r, i].
  int64_t depth =
      cast<RankedTensorType>(lhs.getType()).getDimSize(*lhsT ? 0 : 1);
  if (!fillsTiles(out, depth))
    return Value();
  // lhs is [i, r] unless read transposed; rhs is [r, j] when read as
  // [r, j] (map (d2, d1): "transposed" relative to [j, r]).
  return matmul(b, bf16Tile(b, lhs, *lhsT), bf16Tile(b, rhs, !*rhsT), out);
}

} // namespace

void narrowProducts(RewriterBase &rewriter, ArrayRef<Operation *> roots) {
  SmallVector<Operation *> products;
  for (Operation *root : roots)
    root->walk([&](Operation *op) {
      if (isa<linalg::MatmulOp, linalg::GenericOp>(op))
        products.push_back(op);
    });
  for (Operation *op : products) {
    ImplicitLocOpBuilder b(op->getLoc(), op);
    if (Value product = narrowed(b, op))
      rewriter.replaceOp(op, product);
  }
}

} // namespace mixir::lowering
