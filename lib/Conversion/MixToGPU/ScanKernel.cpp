//===- ScanKernel.cpp - element-wise gated scan on the GPU ----------------===//
//
// mix.scan has no matmul: one thread per (batch, channel) runs the
// recurrence h = exp(g) h + x over the sequence; neighbouring threads read
// neighbouring channels, so every step's loads and stores are coalesced.
//
//===----------------------------------------------------------------------===//
#include "KernelBase.h"
#include "Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mixir::gpu_lowering {

namespace {
class ScanKernel : KernelBase {
public:
  ScanKernel(ImplicitLocOpBuilder &b, const DeviceBuffers &d, int64_t channels,
             Value batch, Value tokens)
      : KernelBase(b, kScanThreads / 32), d(d), channels(channels),
        batch(batch), tokens(tokens) {}

  void build(gpu::LaunchOp launch) {
    setUp(launch);
    Value idx = ix.add(ix.mul(launch.getBlockIds().x, threads()), tid);
    ifThen(ix.lt(idx, ix.mul(batch, channels)), [&] {
      Value bi = ix.div(idx, channels), ch = ix.rem(idx, channels);
      Value h = d.init ? memref::LoadOp::create(b, d.init, ValueRange{bi, ch})
                             .getResult()
                       : ix.f32(0.0f);
      auto loop =
          scf::ForOp::create(b, ix.c(0), tokens, ix.c(1), ValueRange{h});
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        Value t = loop.getInductionVar();
        SmallVector<Value> at = {bi, t, ch};
        Value x = toF32(memref::LoadOp::create(b, d.q, at));
        Value g = toF32(memref::LoadOp::create(b, d.g, at));
        Value next = arith::AddFOp::create(
            b,
            arith::MulFOp::create(b, math::ExpOp::create(b, g),
                                  loop.getRegionIterArg(0)),
            x);
        Type elem = cast<MemRefType>(d.o.getType()).getElementType();
        Value out =
            elem.isF32() ? next : Value(arith::TruncFOp::create(b, elem, next));
        memref::StoreOp::create(b, out, d.o, at);
        scf::YieldOp::create(b, ValueRange{next});
      }
      memref::StoreOp::create(b, loop.getResult(0), d.state,
                              ValueRange{bi, ch});
    });
  }

  static constexpr int64_t kScanThreads = 128;

private:
  const DeviceBuffers &d;
  int64_t channels;
  Value batch, tokens;
};
} // namespace

Value buildScanLaunch(ImplicitLocOpBuilder &b, const DeviceBuffers &d,
                      int64_t channels, Value batch, Value tokens,
                      Value dependency) {
  Ix ix{b};
  Value one = ix.c(1);
  auto launch = gpu::LaunchOp::create(
      b, ix.ceilDiv(ix.mul(batch, channels), ScanKernel::kScanThreads), one,
      one, ix.c(ScanKernel::kScanThreads), one, one, nullptr,
      gpu::AsyncTokenType::get(b.getContext()), ValueRange{dependency});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    ScanKernel(b, d, channels, batch, tokens).build(launch);
    gpu::TerminatorOp::create(b);
  }
  return launch.getAsyncToken();
}

} // namespace mixir::gpu_lowering
