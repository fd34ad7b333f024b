//===- MixDialect.cpp - the mix dialect -----------------------------------===//
#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mixir/Dialect/Mix/IR/MixOps.h"

using namespace mlir;
using namespace mixir::mix;

#include "mixir/Dialect/Mix/IR/MixOpsDialect.cpp.inc"

void MixDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mixir/Dialect/Mix/IR/MixOps.cpp.inc"
      >();
}
