//===- AmxTiles.h - the geometry of AMX tile products -----------*- C++ -*-===//
//
// One rule for which tile products go to the AMX tile unit, shared by
// convert-mix-to-chunked's bf16-products (which rounds only those products'
// operands to bf16) and mix-matmul-to-amx (which runs them).
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_CONVERSION_AMXTILES_H
#define MIXIR_CONVERSION_AMXTILES_H

#include <cstdint>

namespace mixir {

/// Rows of every AMX tile, f32 columns of a result tile, and bf16 columns
/// (the reduction) of an operand tile: tdpbf16ps does 16 x 16 x 32
/// multiply-adds.
inline constexpr int64_t kAmxRows = 16, kAmxCols = 16, kAmxDepth = 32;

/// Whether an [M, K] x [K, N] product is made of whole AMX tiles.
constexpr bool fillsAmxTiles(int64_t m, int64_t k, int64_t n) {
  return m > 0 && k > 0 && n > 0 && m % kAmxRows == 0 && n % kAmxCols == 0 &&
         k % kAmxDepth == 0;
}

} // namespace mixir

#endif
