//===- MixToGPU.cpp - the convert-mix-to-gpu pass -------------------------===//
//
// Rewrites each mix op into host code that moves its operands to the GPU,
// launches the op's kernel (Kernels.h) and copies the results back, all on
// one stream of async tokens; the rest of the function stays on the host.
//
//===----------------------------------------------------------------------===//
#include "Conversion/Utils/CollectMixOps.h"
#include "Conversion/Utils/ExpandLinearAttention.h"
#include "Conversion/Utils/ShapeChecks.h"
#include "DeviceSection.h"
#include "Fragments.h"
#include "Kernels.h"
#include "mixir/Compiler/ChunkSize.h"
#include "mixir/Conversion/Passes.h"
#include "mixrt/Target.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mixir {
#define GEN_PASS_DEF_CONVERTMIXTOGPU
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;
using namespace mixir::gpu_lowering;
using mixir::lowering::SymbolSizes;

namespace {
MemRefType bufferType(Value tensor) {
  auto t = cast<RankedTensorType>(tensor.getType());
  return MemRefType::get(t.getShape(), t.getElementType());
}

Value toBuffer(ImplicitLocOpBuilder &b, Value tensor) {
  if (!tensor)
    return {};
  return bufferization::ToBufferOp::create(b, bufferType(tensor), tensor,
                                           /*read_only=*/true);
}

/// memref.alloc of a result whose dynamic dims are the op's symbols.
Value allocResult(ImplicitLocOpBuilder &b, Value result,
                  ArrayRef<StringRef> dims, const SymbolSizes &sizes) {
  MemRefType type = bufferType(result);
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dyn.push_back(sizes.lookup(dims[i]));
  return memref::AllocOp::create(b, type, dyn);
}

/// Copies `inputs` (null entries stay null) to the GPU, allocates device
/// twins of `outputs`, runs `launch` on them and copies the outputs back,
/// ordered by one chain of async tokens and synchronised at the end.
void runOnDevice(
    ImplicitLocOpBuilder &b, ArrayRef<Value> inputs, ArrayRef<Value> outputs,
    const std::function<Value(ArrayRef<Value>, ArrayRef<Value>, Value)> &launch,
    const std::function<Value(DeviceSection &)> &scratch = nullptr) {
  DeviceSection dev = startDeviceSection(b);
  SmallVector<Value> in, out;
  for (Value v : inputs)
    in.push_back(dev.upload(v));
  for (Value v : outputs)
    out.push_back(dev.alloc(cast<MemRefType>(v.getType()), v));
  // Device-only buffers (filled by the launch, freed with the rest).
  if (scratch)
    in.push_back(scratch(dev));
  dev.token = launch(in, out, dev.token);
  for (auto [host, device] : llvm::zip(outputs, out))
    dev.download(host, device);
  dev.finish();
}

Value asTensor(ImplicitLocOpBuilder &b, Value result, Value buffer) {
  return bufferization::ToTensorOp::create(b, result.getType(), buffer,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

/// lowerWithShapeChecks for the host side of an op: `build` also gets the
/// batch and token counts.
LogicalResult lowerOnHost(
    RewriterBase &rewriter, Operation *op,
    llvm::function_ref<SmallVector<Value>(ImplicitLocOpBuilder &,
                                          const SymbolSizes &, Value, Value)>
        build) {
  return mixir::lowering::lowerWithShapeChecks(
      rewriter, op, [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes) {
        return build(b, sizes, sizes.lookup("B"), sizes.lookup("T"));
      });
}

/// One scf.if on whether every count in `counts` is positive: `onDevice`
/// builds the device section in its then block, `otherwise` the results of
/// an empty problem in its else block.
void ifWork(ImplicitLocOpBuilder &b, ArrayRef<Value> counts,
            llvm::function_ref<void()> onDevice,
            llvm::function_ref<void()> otherwise) {
  Ix ix{b};
  Value zero = ix.c(0);
  Value work = ix.lt(zero, counts.front());
  for (Value n : counts.drop_front())
    work = ix.both(work, ix.lt(zero, n));
  auto ifOp = scf::IfOp::create(b, work, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  onDevice();
  b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  otherwise();
}

/// The host side of mix.linear_attention and mix.delta_rule (one kernel).
/// Without tokens the final state is the initial one (or 0); nothing is
/// written for an empty batch.
void initialStateWhenEmpty(ImplicitLocOpBuilder &b, Value batch, Value init,
                           Value state) {
  Ix ix{b};
  auto nonEmpty = scf::IfOp::create(b, ix.lt(ix.c(0), batch), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(nonEmpty.thenBlock()->getTerminator());
  if (init) {
    memref::CopyOp::create(b, init, state);
  } else {
    Value f0 = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    linalg::FillOp::create(b, ValueRange{f0}, ValueRange{state});
  }
}

/// The fused kernel has (batch x state heads x value tiles) blocks; with
/// few of them and many chunks, two passes (states, then every chunk's
/// outputs in parallel) keep more of the GPU busy. Decided when B and T are
/// static (the functional ops compile per shape).
void chooseVariant(LinearAttentionConfig &config, Value q) {
  auto type = cast<RankedTensorType>(q.getType());
  if (type.isDynamicDim(0) || type.isDynamicDim(1))
    return;
  int64_t blocks =
      type.getDimSize(0) * config.hv *
      ((config.valueDim + config.valueTile - 1) / config.valueTile);
  int64_t chunks = (type.getDimSize(1) + config.chunk - 1) / config.chunk;
  config.twoPass = blocks < 32 && chunks >= 8;
}

LogicalResult lowerRecurrence(RewriterBase &rewriter, Operation *op,
                              const LinearAttentionConfig &config, Value q,
                              Value k, Value v, Value g, Value initial,
                              Value beta, Value oResult, Value stateResult) {
  return lowerOnHost(
      rewriter, op,
      [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes, Value batch,
          Value tokens) -> SmallVector<Value> {
        Value init = toBuffer(b, initial);
        Value o = allocResult(b, oResult, {"B", "T", "Ho", "V"}, sizes);
        Value state = allocResult(b, stateResult, {"B", "Hv", "K", "V"}, sizes);
        ifWork(
            b, {batch, tokens},
            [&] {
              runOnDevice(
                  b,
                  {toBuffer(b, q), toBuffer(b, k), toBuffer(b, v),
                   toBuffer(b, g), init, toBuffer(b, beta)},
                  {o, state},
                  [&](ArrayRef<Value> in, ArrayRef<Value> out, Value t) {
                    DeviceBuffers d;
                    d.q = in[0], d.k = in[1], d.v = in[2], d.g = in[3];
                    d.init = in[4], d.beta = in[5], d.o = out[0];
                    d.state = out[1], d.chunkStates = in[6];
                    return buildLinearAttentionLaunch(b, config, d, batch,
                                                      tokens, t);
                  },
                  [&](DeviceSection &dev) -> Value {
                    if (!config.twoPass)
                      return {};
                    auto type = MemRefType::get(
                        {ShapedType::kDynamic, ShapedType::kDynamic,
                         config.keyDim, config.valueDim},
                        b.getF32Type());
                    Ix ix{b};
                    return dev.alloc(type, Value(),
                                     {ix.mul(batch, config.hv),
                                      ix.ceilDiv(tokens, config.chunk)});
                  });
            },
            // No tokens (or no batch): the final state is the initial one.
            [&] { initialStateWhenEmpty(b, batch, init, state); });
        return {asTensor(b, oResult, o), asTensor(b, stateResult, state)};
      });
}

constexpr const char *kTarget = mixrt::targetName(mixrt::Target::cuda);

/// The chunk length asked for `op`: its chunk_size `attr`, else the pass
/// option `option`; none when neither is set. A length the kernels cannot
/// run is an error naming the op.
FailureOr<std::optional<int64_t>>
requestedChunk(Operation *op, std::optional<int64_t> attr,
               std::optional<int64_t> option) {
  std::optional<int64_t> chunk = attr ? attr : option;
  if (!chunk)
    return std::optional<int64_t>();
  if (std::string why = mixir::checkCudaChunkSize(*chunk, kTarget);
      !why.empty()) {
    op->emitOpError() << why;
    return failure();
  }
  return chunk;
}

/// mix.linear_attention and mix.delta_rule: the kernel configured for the
/// chunk asked for (a reason it cannot run is an error naming the op), then
/// its host side.
template <typename OpTy>
LogicalResult lowerLinearRecurrence(RewriterBase &rewriter, OpTy op,
                                    std::optional<int64_t> option) {
  auto chunk = requestedChunk(op, op.getChunkSize(), option);
  if (failed(chunk))
    return failure();
  LinearAttentionConfig config;
  std::string why;
  Value beta;
  if constexpr (std::is_same_v<OpTy, mixir::mix::DeltaRuleOp>) {
    why = configureDeltaRule(op, *chunk, config);
    beta = op.getBeta();
  } else {
    why = configureLinearAttention(op, *chunk, config);
  }
  if (!why.empty())
    return op.emitOpError() << "cannot run on target cuda: " << why;
  chooseVariant(config, op.getQ());
  return lowerRecurrence(rewriter, op, config, op.getQ(), op.getK(), op.getV(),
                         op.getG(), op.getInitialState(), beta, op.getO(),
                         op.getFinalState());
}

LogicalResult lowerAttention(RewriterBase &rewriter, mixir::mix::AttentionOp op,
                             std::optional<int64_t> chunk) {
  AttentionConfig config;
  std::string why = configureAttention(op, config);
  if (!why.empty())
    return op.emitOpError() << "cannot run on target cuda: " << why;
  // mix.attention has no chunk_size: the chunk length asked for the module
  // is its block size on the CPU. The kernel's blocks are its own.
  if (chunk && (*chunk != config.queryBlock || *chunk != config.keyBlock))
    return op.emitOpError()
           << "runs in blocks of " << config.queryBlock << " queries and "
           << config.keyBlock << " keys on target cuda; chunk_size " << *chunk
           << " cannot be honoured (leave the chunk length unset, or set "
              "chunk_size on the other ops)";
  return lowerOnHost(
      rewriter, op,
      [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes, Value batch,
          Value tokens) -> SmallVector<Value> {
        // With a forget gate or a block mask the keys share the queries'
        // length symbol.
        Value keys = op.keysAreQueries() ? tokens : sizes.lookup("S");
        Value o = allocResult(b, op.getO(), {"B", "T", "Hq", "V"}, sizes);
        // Without keys every row is 0; without rows there is nothing to do.
        ifWork(
            b, {batch, tokens, keys},
            [&] {
              Value g = toBuffer(b, op.getG());
              runOnDevice(
                  b,
                  {toBuffer(b, op.getQ()), toBuffer(b, op.getK()),
                   toBuffer(b, op.getV()), g},
                  {o},
                  [&](ArrayRef<Value> in, ArrayRef<Value> out, Value t) {
                    DeviceBuffers d;
                    d.q = in[0], d.k = in[1], d.v = in[2], d.o = out[0];
                    d.g = in[3], d.state = g ? in[4] : Value();
                    return buildAttentionLaunch(b, config, d, batch, tokens,
                                                keys, t);
                  },
                  [&](DeviceSection &dev) -> Value {
                    if (!g)
                      return {};
                    // The forget gate's prefix sums G = cumsum(g) in f64
                    // (see GateFloor.h).
                    auto type = MemRefType::get(
                        cast<MemRefType>(g.getType()).getShape(),
                        b.getF64Type());
                    return dev.alloc(type, g);
                  });
            },
            [&] {
              Value z =
                  arith::ConstantOp::create(b, b.getZeroAttr(config.elemType));
              linalg::FillOp::create(b, ValueRange{z}, ValueRange{o});
            });
        return {asTensor(b, op.getO(), o)};
      });
}

LogicalResult lowerScan(RewriterBase &rewriter, mixir::mix::ScanOp op) {
  // The kernel scans each channel in order: the recurrent form.
  if (op.getChunkSize().value_or(0) != 0)
    return op.emitOpError()
           << "chunk_size = " << *op.getChunkSize()
           << " asks for the chunked scan, which target cuda does not "
              "have (its kernel scans each channel in order); use "
              "chunk_size = 0 or leave it out";
  int64_t channels = cast<RankedTensorType>(op.getX().getType()).getDimSize(2);
  return lowerOnHost(
      rewriter, op,
      [&](ImplicitLocOpBuilder &b, const SymbolSizes &sizes, Value batch,
          Value tokens) -> SmallVector<Value> {
        Value init = toBuffer(b, op.getInitialState());
        Value o = allocResult(b, op.getO(), {"B", "T", "D"}, sizes);
        Value state = allocResult(b, op.getFinalState(), {"B", "D"}, sizes);
        ifWork(
            b, {batch, tokens},
            [&] {
              runOnDevice(
                  b, {toBuffer(b, op.getX()), toBuffer(b, op.getG()), init},
                  {o, state},
                  [&](ArrayRef<Value> in, ArrayRef<Value> out, Value t) {
                    DeviceBuffers d;
                    d.q = in[0], d.g = in[1], d.init = in[2];
                    d.o = out[0], d.state = out[1];
                    return buildScanLaunch(b, d, channels, batch, tokens, t);
                  });
            },
            [&] { initialStateWhenEmpty(b, batch, init, state); });
        return {asTensor(b, op.getO(), o),
                asTensor(b, op.getFinalState(), state)};
      });
}

/// mix.rnn runs on target cuda with 16-bit inputs (f32 states and sums),
/// as the kernels do.
LogicalResult checkRnn(mixir::mix::RnnOp op) {
  Type elem = op.getWx().getType().getElementType();
  if (elem.isBF16() || elem.isF16())
    return success();
  // The op's element types are f32, f16 and bf16.
  return op.emitOpError(
      "cannot run on target cuda: inputs must be bf16 or "
      "f16 (wx is f32; f32 inputs run on target cpu, or on cuda "
      "with gpu-kernels=chunked)");
}

struct ConvertMixToGPU : mixir::impl::ConvertMixToGPUBase<ConvertMixToGPU> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<int64_t> option;
    if (chunkSize != mixir::kChunkSizeUnset) {
      std::string why = mixir::checkChunkSize(chunkSize);
      if (why.empty())
        why = mixir::checkCudaChunkSize(chunkSize, kTarget);
      if (!why.empty()) {
        getOperation()->emitError(why);
        return signalPassFailure();
      }
      option = chunkSize;
    }
    if (failed(mixir::lowering::expandLinearAttentionForms(getOperation())))
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (Operation *op : mixir::lowering::collectMixOps(getOperation())) {
      // Packed sequences and the state after every token have no kernel of
      // their own: like mix.recurrence they take the chunked (or recurrent)
      // form, one GPU thread per (sequence, state head), mapped by
      // convert-chunked-to-gpu. (The conv is refused below, packed or not.)
      if ((mixir::mix::getCuSeqlens(op) || mixir::mix::returnsAllStates(op)) &&
          !isa<mixir::mix::CausalConv1dOp>(op))
        continue;
      // Nor has attention over a KV cache (decode) or returning its
      // log-sum-exp: the chunked form's flash tiles, mapped the same way.
      if (auto attention = dyn_cast<mixir::mix::AttentionOp>(op);
          attention && (attention.getKvLens() || attention.getLse()))
        continue;
      rewriter.setInsertionPoint(op);
      LogicalResult lowered =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case<mixir::mix::LinearAttentionOp, mixir::mix::DeltaRuleOp>(
                  [&](auto o) {
                    return lowerLinearRecurrence(rewriter, o, option);
                  })
              .Case(
                  [&](mixir::mix::ScanOp o) { return lowerScan(rewriter, o); })
              .Case([&](mixir::mix::AttentionOp o) {
                return lowerAttention(rewriter, o, option);
              })
              // No kernel of its own: the chunked form, mapped by
              // convert-chunked-to-gpu.
              .Case<mixir::mix::RecurrenceOp, mixir::mix::AttentionGradOp>(
                  [](auto) { return success(); })
              // The loops of convert-mix-to-loops="gpu-blocks", mapped the
              // same way: a thread block per (batch, head).
              .Case([](mixir::mix::RnnOp o) { return checkRnn(o); })
              .Case([](mixir::mix::CausalConv1dOp o) {
                return o.emitOpError()
                       << "is not supported on target cuda: " << o->getName()
                       << " has a CPU lowering only (use "
                       << "target cpu)";
              })
              .Default([](Operation *o) {
                return o->emitOpError(
                    "is not supported on target cuda yet (the GPU lowering "
                    "covers mix.linear_attention, mix.delta_rule, "
                    "mix.attention and mix.scan)");
              });
      failedAny |= failed(lowered);
    }
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
