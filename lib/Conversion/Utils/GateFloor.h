//===- GateFloor.h - the lowest log gate a chunked form carries -*- C++ -*-===//
//
// A log decay g <= -104 multiplies by exp(g), which is 0 in f32 (below half
// the smallest subnormal), exactly as exp(-104) is. The chunked forms and the
// forget-gate attention add the gates up (Gc, G = cumsum(g)) and exponentiate
// differences Gc_i - Gc_j; a gate of -1e4 among moderate ones makes the sums
// large and every difference after it loses its low bits (f32 eps * |Gc|).
// Flooring each gate at -104 before it is added keeps every product that has
// a factor exp(g) bit-for-bit what it was (0) and keeps the sums small.
//
// The forget-gate attention sums its gates over the whole sequence: over
// 65536 tokens G reaches ~-1.6e4, where an f32 G_i - G_j is off by ~1e-3.
// Its forms keep G in f64 and round only the difference to f32 (addGateF64,
// gateBias; the CUDA kernel's prefix sums likewise).
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_CONVERSION_UTILS_GATEFLOOR_H
#define MIXIR_CONVERSION_UTILS_GATEFLOOR_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mixir {

/// The floor: exp(kLogGateFloor) rounds to 0 in f32.
constexpr float kLogGateFloor = -104.0f;

/// max(g, kLogGateFloor) for an f32 scalar or an f32 vector `g` (NaN stays
/// NaN: maximumf propagates it).
inline mlir::Value floorLogGate(mlir::ImplicitLocOpBuilder &b, mlir::Value g) {
  mlir::Type t = g.getType();
  mlir::TypedAttr floor = b.getF32FloatAttr(kLogGateFloor);
  if (auto vt = mlir::dyn_cast<mlir::VectorType>(t))
    floor = mlir::DenseElementsAttr::get(vt, floor);
  mlir::Value c = mlir::arith::ConstantOp::create(b, floor);
  return mlir::arith::MaximumFOp::create(b, g, c);
}

/// run + max(g, kLogGateFloor) for an f64 running sum `run` and an f32 gate.
inline mlir::Value addGateF64(mlir::ImplicitLocOpBuilder &b, mlir::Value run,
                              mlir::Value g) {
  mlir::Value g64 =
      mlir::arith::ExtFOp::create(b, b.getF64Type(), floorLogGate(b, g));
  return mlir::arith::AddFOp::create(b, run, g64);
}

/// The f32 bias Gi - Gj of two f64 cumulative gates, subtracted in f64.
inline mlir::Value gateBias(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value Gi, mlir::Value Gj) {
  mlir::Value d = mlir::arith::SubFOp::create(b, loc, Gi, Gj);
  return mlir::arith::TruncFOp::create(b, loc, b.getF32Type(), d);
}

} // namespace mixir

#endif
