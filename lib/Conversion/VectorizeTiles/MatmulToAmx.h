//===- MatmulToAmx.h - bf16 tile products on AMX ----------------*- C++ -*-===//
#ifndef MIXIR_CONVERSION_VECTORIZETILES_MATMULTOAMX_H
#define MIXIR_CONVERSION_VECTORIZETILES_MATMULTOAMX_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mixir {

/// Whether mix-matmul-to-amx takes `op` (on tensors or buffers): a plain
/// matmul of static bf16 [M, K] and [K, N] operands into f32 [M, N], with
/// M and N multiples of 16 and K of 32 (whole AMX tiles).
bool fitsAmxTiles(mlir::linalg::MatmulOp op);

} // namespace mixir

#endif
