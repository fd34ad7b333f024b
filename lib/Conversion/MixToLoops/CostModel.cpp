//===- CostModel.cpp - the CPU cost of each form of a mixer ---------------===//
//
// Each row of the table holds, for one op, gate kind and element type at
// one K and V, the measured time per token and state head of the recurrent
// form and of chunks of 16..128 tokens. An op takes the rows of its op,
// gate kind (or the nearest one measured) and element type, the row whose
// K * V is nearest its own (in ratio), and scales each of that row's times
// by the ratio of the form's FLOPs per token at its shape to those at the
// row's shape (flopsPerToken). A static length adds the padding of the last
// chunk. The cheapest form wins, the recurrent form unless a chunk is more
// than kRecurrentMargin cheaper (it compiles in a fraction of the time and
// its measured lead or lag within the margin is noise); ties go to the
// shorter chunk.
//
//===----------------------------------------------------------------------===//
#include "CostModel.h"
#include "mixir/Compiler/ChunkSize.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mixir::lowering;
using mixir::kDefaultChunkSize;

namespace {
constexpr int64_t kCandidates[] = {0, 16, 32, 64, 128};
/// How much cheaper than the recurrent form a chunk must be to be chosen.
constexpr double kRecurrentMargin = 1.05;

struct CostRow {
  const char *op, *gate, *elementType;
  int64_t keyDim, valueDim;
  /// ns per token per state head, in the order of kCandidates.
  double cost[std::size(kCandidates)];
};

constexpr CostRow kTable[] = {
#include "CostTable.inc"
};

/// The rank of the measured rows: mix.recurrence was measured with R = 1.
int64_t measuredRank(llvm::StringRef op) {
  return op == "delta_rule" || op == "recurrence" ? 1 : 0;
}

/// FLOPs per token and state head of the form with chunks of `chunk`
/// tokens (0: recurrent). Recurrent: the read-out and the state update, one
/// K x V outer product each, and a rank-one read and write per low-rank
/// term. Chunked: the same state work once per token (the inter-chunk
/// product and the state update), the intra-chunk products (Q K^T and its
/// product with V, C (K + V) per token, once per low-rank term too) and the
/// per-chunk triangular solve of C R rows ((C R)^2 / 2 per token-row,
/// times K). The scan: K channels for every form.
double flopsPerToken(llvm::StringRef op, int64_t chunk, double k, double v,
                     double rank) {
  if (op == "scan")
    return k;
  double state = 2.0 * k * v * (1.0 + rank);
  if (chunk == 0)
    return state;
  double c = static_cast<double>(chunk);
  return state + c * (k + v) * (1.0 + rank) + 0.5 * c * rank * rank * k;
}

/// How near two gate kinds are in cost: the same kind, then the other
/// kinds with one decay per token and head (none, head, scalar), then the
/// per-channel gate.
int gateDistance(llvm::StringRef a, llvm::StringRef b) {
  if (a == b)
    return 0;
  return (a == "vector") == (b == "vector") ? 1 : 2;
}

/// The measured row for `shape`: its op, the nearest gate kind, its element
/// type (f16 takes bf16's rows; bf16 on AMX the "bf16+amx" rows), and the
/// nearest K * V; null if none.
const CostRow *nearestRow(const MixerShape &shape, llvm::StringRef type);

const CostRow *nearestRow(const MixerShape &shape) {
  llvm::StringRef type =
      shape.elementType == "f16" ? "bf16" : shape.elementType;
  if (shape.amx && type == "bf16")
    if (const CostRow *row = nearestRow(shape, "bf16+amx"))
      return row;
  return nearestRow(shape, type);
}

const CostRow *nearestRow(const MixerShape &shape, llvm::StringRef type) {
  const CostRow *best = nullptr;
  double bestScore = std::numeric_limits<double>::infinity();
  // The scan has K channels and no V: its rows are measured at K = V.
  double area = static_cast<double>(shape.keyDim) *
                (shape.op == "scan" ? shape.keyDim : shape.valueDim);
  for (const CostRow &row : kTable) {
    if (shape.op != row.op || type != row.elementType)
      continue;
    double rowArea = static_cast<double>(row.keyDim) * row.valueDim;
    double score = 100.0 * gateDistance(shape.gate, row.gate) +
                   std::fabs(std::log(std::max(area, 1.0) / rowArea));
    if (score < bestScore) {
      bestScore = score;
      best = &row;
    }
  }
  return best;
}
} // namespace

int64_t mixir::lowering::chooseChunkSize(const MixerShape &shape) {
  const CostRow *row = nearestRow(shape);
  bool unknownDims =
      shape.keyDim <= 0 || (shape.op != "scan" && shape.valueDim <= 0);
  if (!row || unknownDims) { // what the table cannot price: the old default
    int64_t chunk = std::min(kDefaultChunkSize, shape.maxChunk);
    return shape.length >= 0 && shape.length < chunk ? 0 : chunk;
  }
  double rowRank = measuredRank(shape.op);
  int64_t best = 0;
  double bestCost = std::numeric_limits<double>::infinity();
  // A transposed read runs chunked whenever the shortest chunk fits.
  bool chunkFits = shape.maxChunk >= kCandidates[1] &&
                   (shape.length < 0 || shape.length >= kCandidates[1]);
  for (auto [i, chunk] : llvm::enumerate(kCandidates)) {
    if (chunk > shape.maxChunk || (shape.length >= 0 && chunk > shape.length))
      continue;
    if (chunk == 0 && shape.transposedRead && chunkFits)
      continue;
    double scale =
        flopsPerToken(shape.op, chunk, shape.keyDim, shape.valueDim,
                      shape.rank) /
        flopsPerToken(shape.op, chunk, row->keyDim, row->valueDim, rowRank);
    double cost = row->cost[i] * scale;
    if (chunk > 0 && shape.length > 0) // the last chunk is padded
      cost *= static_cast<double>((shape.length + chunk - 1) / chunk * chunk) /
              shape.length;
    if (chunk == 0)
      cost /= kRecurrentMargin;
    if (cost < bestCost) {
      bestCost = cost;
      best = chunk;
    }
  }
  return best;
}
