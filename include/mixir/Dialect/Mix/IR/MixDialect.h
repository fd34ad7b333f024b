//===- MixDialect.h - the mix dialect ---------------------------*- C++ -*-===//
#ifndef MIXIR_DIALECT_MIX_IR_MIXDIALECT_H
#define MIXIR_DIALECT_MIX_IR_MIXDIALECT_H

#include "mlir/IR/Dialect.h"

#include "mixir/Dialect/Mix/IR/MixOpsDialect.h.inc"

#endif
