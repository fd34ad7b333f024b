//===- DeviceSection.h - host code around a GPU launch ----------*- C++ -*-===//
//
// Internal to lib/Conversion/MixToGPU: the host side of a launch of
// convert-chunked-to-gpu. Device buffers are
// allocated and copied on one chain of async tokens, freed at the end, and
// the host waits for the chain.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_CONVERSION_MIXTOGPU_DEVICESECTION_H
#define MIXIR_LIB_CONVERSION_MIXTOGPU_DEVICESECTION_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mixir::gpu_lowering {
using mlir::ImplicitLocOpBuilder;
using mlir::MemRefType;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;
namespace gpu = mlir::gpu;
namespace memref = mlir::memref;

/// The dynamic sizes of the memref `like` (memref.dim of each dynamic dim).
inline llvm::SmallVector<Value> dynamicSizesOf(ImplicitLocOpBuilder &b,
                                               Value like) {
  auto type = mlir::cast<MemRefType>(like.getType());
  llvm::SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(memref::DimOp::create(b, like, i));
  return sizes;
}

/// Host-side plumbing of one op: device copies of the inputs, device
/// results, and the token chain that orders them.
struct DeviceSection {
  ImplicitLocOpBuilder &b;
  Value token;
  llvm::SmallVector<Value> deviceBuffers;

  Type tokenType() { return gpu::AsyncTokenType::get(b.getContext()); }

  Value alloc(MemRefType type, Value likeHost, ValueRange dynSizes = {}) {
    llvm::SmallVector<Value> sizes(dynSizes);
    if (likeHost)
      llvm::append_range(sizes, dynamicSizesOf(b, likeHost));
    auto op = gpu::AllocOp::create(b, type, tokenType(), ValueRange{token},
                                   sizes, ValueRange{}, false);
    token = op.getAsyncToken();
    deviceBuffers.push_back(op.getMemref());
    return op.getMemref();
  }
  Value upload(Value host) {
    if (!host)
      return {};
    Value dev = alloc(mlir::cast<MemRefType>(host.getType()), host);
    token = gpu::MemcpyOp::create(b, tokenType(), ValueRange{token}, dev, host)
                .getAsyncToken();
    return dev;
  }
  void download(Value host, Value dev) {
    token = gpu::MemcpyOp::create(b, tokenType(), ValueRange{token}, host, dev)
                .getAsyncToken();
  }
  void finish() {
    for (Value dev : deviceBuffers)
      token = gpu::DeallocOp::create(b, tokenType(), ValueRange{token}, dev)
                  .getAsyncToken();
    gpu::WaitOp::create(b, Type(), ValueRange{token});
  }
};

/// A section that starts with its own `gpu.wait async`.
inline DeviceSection startDeviceSection(ImplicitLocOpBuilder &b) {
  return DeviceSection{
      b, gpu::WaitOp::create(b, gpu::AsyncTokenType::get(b.getContext()),
                             ValueRange{})
             .getAsyncToken()};
}

} // namespace mixir::gpu_lowering

#endif
