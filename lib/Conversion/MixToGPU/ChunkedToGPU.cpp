//===- ChunkedToGPU.cpp - the convert-chunked-to-gpu pass -----------------===//
//
// The GPU back end of the one chunked form. Mix ops are lowered by the same
// passes as on the CPU (convert-mix-to-chunked, convert-mix-to-loops) into
// an scf.forall over the independent (batch, state head) problems. Here each
// such loop, once bufferized and with its tile ops lowered to loops, becomes
// a gpu.launch of one block per iteration, with host code around it
// (DeviceSection.h): device copies of the buffers the loop uses, the launch,
// copies back of the buffers it writes, on one chain of async tokens. A block's
// threads share the iteration's work (BlockThreads.h); with one thread per
// block, its tiles live in the thread's private memory.
//
//===----------------------------------------------------------------------===//
#include "BlockThreads.h"
#include "DeviceSection.h"
#include "mixir/Conversion/Passes.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mixir {
#define GEN_PASS_DEF_CONVERTCHUNKEDTOGPU
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;
using mixir::gpu_lowering::DeviceSection;
using mixir::gpu_lowering::TilePlan;
using namespace mixir::gpu_lowering;

namespace {

/// The local memory one CUDA thread can address (sm_80 and later).
constexpr int64_t kMaxThreadLocalBytes = 512 * 1024;
/// The register budget of the kernels (all a thread may have).
constexpr int32_t kMaxRegisters = 255;

/// Top-level scf.forall ops of host functions: not inside another forall or
/// a kernel.
SmallVector<scf::ForallOp> hostLoops(ModuleOp module) {
  SmallVector<scf::ForallOp> loops;
  module.walk([&](scf::ForallOp forall) {
    if (!forall->getParentOfType<scf::ForallOp>() &&
        !forall->getParentOfType<gpu::LaunchOp>() &&
        !forall->getParentOfType<gpu::GPUModuleOp>())
      loops.push_back(forall);
  });
  return loops;
}

/// True when `user` (outside `loop`) may run after `loop`: it follows the
/// loop (or an op holding the loop) in a block, or a loop holds them both;
/// not when it comes before, or lies in the other branch of an scf.if, with
/// no loop around.
bool mayRunAfter(Operation *user, Operation *loop) {
  for (Operation *p = loop->getParentOp(); p; p = p->getParentOp())
    if (isa<LoopLikeOpInterface>(p))
      return true; // a later iteration runs it after (conservative)
  for (Operation *cur = loop; cur && cur->getBlock();
       cur = cur->getParentOp()) {
    Operation *at = cur->getBlock()->findAncestorOpInBlock(*user);
    if (!at)
      continue;
    if (at == cur)
      return !isa<scf::IfOp, scf::IndexSwitchOp>(cur);
    return !at->isBeforeInBlock(cur);
  }
  return true;
}

/// True when host code after `loop` may touch the data of the buffer
/// `buffer` looks into (through any view of it, or a result of an scf.if or
/// loop that yields it), other than returning or freeing it.
bool usedOnHostAfter(Value buffer, Operation *loop) {
  SmallVector<Value> work = {rootOf(buffer)};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (loop->isAncestor(user))
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v) {
        llvm::append_range(work, user->getResults());
        continue;
      }
      if (isa<scf::YieldOp>(user) &&
          isa<scf::IfOp, scf::IndexSwitchOp, scf::ForOp>(user->getParentOp()) &&
          user->getParentOp()->getNumResults() == user->getNumOperands()) {
        work.push_back(user->getParentOp()->getResult(use.getOperandNumber()));
        continue;
      }
      if (isa<func::ReturnOp, memref::DeallocOp, memref::DimOp>(user) ||
          !mayRunAfter(user, loop))
        continue;
      return true;
    }
  }
  return false;
}

/// True when `buffer` (a memref defined outside the loop) may be written by
/// an op inside `region`, directly or through views of it.
bool writtenIn(Value buffer, Region &region) {
  SmallVector<Value> work = {buffer};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (!region.isAncestor(user->getParentRegion()))
        continue;
      if (isa<ViewLikeOpInterface>(user)) {
        llvm::append_range(work, user->getResults());
        continue;
      }
      if (isa<memref::LoadOp, vector::TransferReadOp, vector::LoadOp,
              memref::DimOp>(user))
        continue;
      if (auto copy = dyn_cast<memref::CopyOp>(user);
          copy && use.getOperandNumber() == 0)
        continue;
      return true;
    }
  }
  return false;
}

/// The forall's iteration space as (lower bound 0, step 1) upper bounds.
FailureOr<SmallVector<Value>> upperBounds(OpBuilder &b, scf::ForallOp forall) {
  SmallVector<Value> ubs;
  Location loc = forall.getLoc();
  for (auto [lb, ub, step] :
       llvm::zip(forall.getMixedLowerBound(), forall.getMixedUpperBound(),
                 forall.getMixedStep())) {
    if (getConstantIntValue(lb) != 0 || getConstantIntValue(step) != 1)
      return failure();
    ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, ub));
  }
  return ubs;
}

/// True when `buffer` (or a view of it) is yielded to the next iteration of
/// a loop: giving it one slot for the whole kernel would make the iteration
/// that allocates it again overwrite what it reads.
bool carriedAcrossIterations(Value buffer) {
  SmallVector<Value> work = {buffer};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (isa<ViewLikeOpInterface>(user)) {
        llvm::append_range(work, user->getResults());
      } else if (auto yield = dyn_cast<scf::YieldOp>(user)) {
        Operation *parent = yield->getParentOp();
        if (isa<scf::ForOp, scf::WhileOp>(parent))
          return true;
        // Through an scf.if to whatever uses its result.
        for (OpOperand &use : yield->getOpOperands())
          if (use.get() == v && isa<scf::IfOp>(parent))
            work.push_back(parent->getResult(use.getOperandNumber()));
      } else if (isa<scf::ConditionOp>(user))
        return true;
    }
  }
  return false;
}

/// False when `buffer` is (a view of) a host allocation nothing has used
/// before `loop`: its contents are undefined (a result the loop fills), so
/// the device copy needs no upload, and a call on device buffers sees no
/// copy that is neither an argument's upload nor a result's download.
bool holdsData(Value buffer, scf::ForallOp loop) {
  Value root = rootOf(buffer);
  // Only an allocation made in the loop's own block, once per pass through
  // it: one made outside an enclosing loop may hold the last trip's data.
  auto alloc = root.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != loop->getBlock())
    return true;
  SmallVector<Value> work = {root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (loop->isAncestor(user))
        continue;
      if (isa<ViewLikeOpInterface>(user)) {
        llvm::append_range(work, user->getResults());
        continue;
      }
      Operation *at = loop->getBlock()->findAncestorOpInBlock(*user);
      if (!at || at->isBeforeInBlock(loop))
        return true;
    }
  }
  return false;
}

/// True when the loop reads or writes 16-bit float buffers from outside.
bool takes16BitInputs(scf::ForallOp forall) {
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(forall.getRegion(), captured);
  return llvm::any_of(captured, [](Value v) {
    auto t = dyn_cast<MemRefType>(v.getType());
    return t && (t.getElementType().isBF16() || t.getElementType().isF16());
  });
}

/// Drops the deallocations of the launch body (its tiles live as long as
/// the kernel) and checks that every tile can have one slot: a static
/// shape, or one of `plan`'s dynamic tiles.
LogicalResult checkTiles(gpu::LaunchOp launch, const TilePlan *plan) {
  SmallVector<Operation *> deallocs;
  WalkResult result = launch.getBody().walk([&](Operation *op) {
    if (isa<memref::DeallocOp>(op)) {
      deallocs.push_back(op);
      return WalkResult::advance();
    }
    auto alloc = dyn_cast<memref::AllocOp>(op);
    if (!alloc)
      return WalkResult::advance();
    if (carriedAcrossIterations(alloc.getResult())) {
      alloc.emitOpError("holds a tile carried from one loop iteration to the "
                        "next in a fresh buffer; a GPU kernel's tiles have "
                        "one slot each");
      return WalkResult::interrupt();
    }
    if (!alloc.getType().hasStaticShape() &&
        !(plan && llvm::is_contained(plan->dynamic, alloc))) {
      alloc.emitOpError("has a dynamic shape; a GPU kernel's tiles must be "
                        "static");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  for (Operation *op : deallocs)
    op->erase();
  return failure(result.wasInterrupted());
}

/// One thread runs the iteration: its tiles are thread-private, one slot
/// each at the top of the kernel, as the NVPTX back end places every
/// fixed-size alloca (alloca hoisting), so the emulator runs the same
/// memory layout and a loop does not grow the stack on the CPU.
FailureOr<gpu::LaunchOp> runOnOneThread(gpu::LaunchOp launch) {
  SmallVector<memref::AllocOp> allocs;
  launch.getBody().walk([&](memref::AllocOp a) { allocs.push_back(a); });
  int64_t bytes = 0;
  for (memref::AllocOp alloc : allocs) {
    OpBuilder ab = OpBuilder::atBlockBegin(&launch.getBody().front());
    auto alloca = memref::AllocaOp::create(ab, alloc.getLoc(), alloc.getType(),
                                           alloc.getAlignmentAttr());
    alloc.replaceAllUsesWith(alloca.getResult());
    alloc.erase();
    bytes += mixir::gpu_lowering::tileBytes(alloca.getType());
  }
  SmallVector<memref::CopyOp> copies;
  launch.getBody().walk([&](memref::CopyOp c) { copies.push_back(c); });
  for (memref::CopyOp c : copies)
    copyAsLoops(c, /*parallel=*/false);
  if (bytes > kMaxThreadLocalBytes)
    return launch.emitOpError()
           << "needs " << bytes / 1024
           << " KiB of tiles per (batch, state head) thread, above the "
           << kMaxThreadLocalBytes / 1024
           << " KiB of local memory a GPU thread has; the tiles grow with "
              "the chunk and the head dims: ask for a smaller chunk_size "
              "(16 is the least)";
  return launch;
}

/// Rewrites `forall` (bufferized, loops only) into a launch of one block of
/// `threads` threads per iteration with device copies of the buffers it
/// uses.
FailureOr<gpu::LaunchOp> launchOnDevice(scf::ForallOp forall, int64_t threads,
                                        bool warpgroupMma) {
  Location loc = forall.getLoc();
  if (forall.getRank() > 3 || forall.getNumResults() != 0)
    return forall.emitOpError("cannot be mapped to GPU blocks (more than 3 "
                              "dims, or not bufferized)");
  // The cooperative mapping, where the body allows it (its tile sizes are
  // computed before the loop).
  std::optional<TilePlan> plan;
  // Shared memory kept for the warpgroup products' operands (sm_90a: the
  // block is one warpgroup).
  int64_t staging = 0;
  if (threads > 1) {
    exposeParallelLoops(forall.getRegion());
    if (warpgroupMma && threads == kBlockThreads)
      staging = warpgroupStagingRows(forall.getRegion()) * 16;
    if (blockMappable(forall.getRegion()))
      if (auto p = planTiles(forall.getRegion(), staging); succeeded(p)) {
        plan = std::move(*p);
        splitVectorLanes(forall.getRegion());
      }
  }
  // The matmuls kept for the tensor cores take them only in a block.
  KeptMatmuls how = !plan     ? KeptMatmuls::loops
                    : staging ? KeptMatmuls::warpgroup
                              : KeptMatmuls::mmaSync;
  if (memref::AllocOp stage = lowerKeptMatmuls(forall.getRegion(), how))
    plan->shared.push_back(stage);
  if (!plan)
    threads = 1;
  OpBuilder b(forall);
  auto bounds = upperBounds(b, forall);
  if (failed(bounds))
    return forall.emitOpError(
        "cannot be mapped to GPU blocks (lower bound or step not 0 and 1)");

  // No launch for an empty iteration space (a batch of 0: a grid of 0
  // blocks is a launch error).
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value work;
  for (Value ub : *bounds) {
    Value positive =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, ub, zero);
    work = work ? arith::AndIOp::create(b, loc, work, positive) : positive;
  }
  auto ifWork = scf::IfOp::create(b, loc, work, /*withElseRegion=*/false);
  b.setInsertionPoint(ifWork.thenBlock()->getTerminator());

  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(forall.getRegion(), captured);
  // Each captured buffer gets a device copy of its own: two views of one
  // allocation would become two copies, and the writes through one would be
  // lost when the other is copied back.
  llvm::DenseSet<Value> roots;
  for (Value v : captured) {
    if (!isa<MemRefType>(v.getType()))
      continue;
    bool inserted = roots.insert(rootOf(v)).second;
    if (!inserted)
      return forall.emitOpError(
          "uses two views of one buffer, which cannot be copied to the GPU "
          "separately");
  }
  ImplicitLocOpBuilder ib(loc, b);
  DeviceSection dev = mixir::gpu_lowering::startDeviceSection(ib);
  IRMapping map;
  SmallVector<std::pair<Value, Value>> buffers; // host, device
  for (Value v : captured) {
    auto type = dyn_cast<MemRefType>(v.getType());
    if (!type)
      continue;
    if (!type.getLayout().isIdentity())
      return forall.emitOpError("uses a buffer with a non-identity layout, "
                                "which cannot be copied to the GPU whole");
    Value device = holdsData(v, forall) ? dev.upload(v) : dev.alloc(type, v);
    map.map(v, device);
    buffers.push_back({v, device});
  }

  // Grid: one block per iteration along x (up to 2^31 - 1 blocks; y and z
  // stop at 65535), the iteration's indices recovered inside. When the
  // tiles need global scratch (a slice per block) and the loop has three
  // dims, the innermost runs inside each block instead, in turn on its
  // slice: attention's (batch, head, query block) keeps scratch for B x H
  // blocks, not for B x H x T / C.
  auto ivs = forall.getInductionVars();
  bool needsScratch = plan && plan->needsScratch();
  bool innerLoop = needsScratch && ivs.size() == 3;
  size_t gridDims = innerLoop ? ivs.size() - 1 : ivs.size();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value blocks = one;
  for (Value ub : ArrayRef(*bounds).take_front(gridDims))
    blocks = arith::MulIOp::create(b, loc, blocks, ub);
  Value scratch, sliceBytes;
  if (needsScratch) {
    sliceBytes = plan->sliceBytes(b, loc);
    Value bytes = arith::MulIOp::create(b, loc, blocks, sliceBytes);
    scratch = dev.alloc(MemRefType::get({ShapedType::kDynamic}, b.getI8Type()),
                        Value(), ValueRange{bytes});
  }
  Value blockSize = arith::ConstantIndexOp::create(b, loc, threads);
  auto launch =
      gpu::LaunchOp::create(b, loc, blocks, one, one, blockSize, one, one,
                            nullptr, dev.tokenType(), ValueRange{dev.token});
  {
    OpBuilder::InsertionGuard guard(b);
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    // Row-major: the last dim varies fastest.
    Value rest = launch.getBlockIds().x;
    for (int64_t i = gridDims - 1; i >= 0; --i) {
      Value ub = (*bounds)[i];
      map.map(ivs[i], i == 0 ? rest : arith::RemUIOp::create(b, loc, rest, ub));
      if (i > 0)
        rest = arith::DivUIOp::create(b, loc, rest, ub);
    }
    if (innerLoop) {
      auto each =
          scf::ForOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                             bounds->back(), one);
      b.setInsertionPoint(each.getBody()->getTerminator());
      map.map(ivs.back(), each.getInductionVar());
    }
    // (The block's threads meet at a barrier after each step of an
    // iteration, BlockThreads.h, so the next one's tiles wait for this
    // one's last reads.)
    for (Operation &op : forall.getBody()->without_terminator())
      b.clone(op, map);
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
  }
  dev.token = launch.getAsyncToken();
  // A result the host code goes on to use arrives in a buffer of its own and
  // is copied over on the host: calls on device buffers (which bind each
  // download into a returned buffer to the caller's output) then see a
  // download that is not a result's, and refuse to run host code on the
  // device's memory.
  SmallVector<std::pair<Value, Value>> hostCopies; // from, to
  for (auto [host, device] : buffers) {
    if (!writtenIn(host, forall.getRegion()))
      continue;
    Value into = host;
    if (usedOnHostAfter(host, forall)) {
      into = memref::AllocOp::create(
          ib, cast<MemRefType>(host.getType()),
          mixir::gpu_lowering::dynamicSizesOf(ib, host));
      hostCopies.push_back({into, host});
    }
    dev.download(into, device);
  }
  dev.finish();
  for (auto [from, to] : hostCopies) {
    memref::CopyOp::create(ib, from, to);
    memref::DeallocOp::create(ib, from);
  }
  std::optional<TilePlan> cloned;
  if (plan) {
    // The plan's allocations, as cloned into the launch.
    auto clonedAlloc = [&](memref::AllocOp a) {
      return cast<memref::AllocOp>(map.lookup(a.getResult()).getDefiningOp());
    };
    cloned.emplace();
    cloned->globalBytes = plan->globalBytes;
    for (memref::AllocOp a : plan->shared)
      cloned->shared.push_back(clonedAlloc(a));
    for (auto [a, offset] : plan->global)
      cloned->global.push_back({clonedAlloc(a), offset});
    for (memref::AllocOp a : plan->dynamic)
      cloned->dynamic.push_back(clonedAlloc(a));
  }
  forall.erase();
  if (failed(checkTiles(launch, cloned ? &*cloned : nullptr)))
    return failure();
  if (cloned) {
    if (failed(mapOntoBlock(launch, *cloned, scratch, sliceBytes, threads)))
      return failure();
    return launch;
  }
  return runOnOneThread(launch);
}

struct ConvertChunkedToGPU
    : mixir::impl::ConvertChunkedToGPUBase<ConvertChunkedToGPU> {
  using ConvertChunkedToGPUBase::ConvertChunkedToGPUBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockThreads < 1 || blockThreads > 1024) {
      module.emitError() << "convert-chunked-to-gpu: block-threads must be "
                            "1 to 1024, got "
                         << blockThreads.getValue();
      return signalPassFailure();
    }
    if (hostLoops(module).empty())
      return;
    // Bufferize (as the CUDA pipeline does later anyway) and lower the tile
    // ops, so that the loop bodies are plain loops on memrefs: parallel
    // loops, and tensor-core tiles where a block will share the work and
    // the inputs are 16-bit (f32 inputs keep f32 products).
    OpPassManager pm(ModuleOp::getOperationName());
    pm.addPass(createConvertElementwiseToLinalgPass());
    bufferization::OneShotBufferizePassOptions options;
    options.bufferizeFunctionBoundaries = true;
    options.functionBoundaryTypeConversion =
        bufferization::LayoutMapOption::IdentityLayoutMap;
    // Identity layouts where bufferization has the choice (the results of
    // the branch on the sequence length): the device copies then fill the
    // function's results directly, which a call on device buffers needs.
    options.unknownTypeConversion =
        bufferization::LayoutMapOption::IdentityLayoutMap;
    pm.addPass(bufferization::createOneShotBufferizePass(options));
    pm.addPass(createConvertBufferizationToMemRefPass());
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
    SmallVector<scf::ForallOp> loops = hostLoops(module);
    for (scf::ForallOp forall : loops)
      lowerBodyLinalg(forall.getRegion(),
                      blockThreads % 32 == 0 && takes16BitInputs(forall));
    // The host code's own linalg ops, as loops (the bodies' kept matmuls
    // wait for launchOnDevice).
    SmallVector<linalg::LinalgOp> hostOps;
    module.walk([&](linalg::LinalgOp op) {
      if (!llvm::any_of(loops,
                        [&](scf::ForallOp l) { return l->isAncestor(op); }))
        hostOps.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : hostOps) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op)))
        return signalPassFailure();
      rewriter.eraseOp(op);
    }
    SmallVector<gpu::LaunchOp> launches;
    for (scf::ForallOp forall : hostLoops(module)) {
      auto launch = launchOnDevice(forall, blockThreads, warpgroupMma);
      if (failed(launch))
        return signalPassFailure();
      launches.push_back(*launch);
    }
    // Row transfers as plain vector loads and stores, which the NVVM
    // lowering knows (it has no transfer_read).
    RewritePatternSet patterns(&getContext());
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorTransferLoweringPatterns(patterns,
                                                   /*maxTransferRank=*/1);
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (gpu::LaunchOp launch : launches)
      if (failed(applyPatternsGreedily(launch.getBody(), frozen)))
        return signalPassFailure();
    llvm::SmallPtrSet<Operation *, 8> before;
    module.walk([&](gpu::GPUFuncOp f) { before.insert(f); });
    OpPassManager outline(ModuleOp::getOperationName());
    outline.addPass(createGpuKernelOutliningPass());
    if (failed(runPipeline(outline, module)))
      return signalPassFailure();
    // ptxas otherwise picks a register budget for occupancy and may spill
    // to meet it (RWKV-7's kernel on sm_90: 96 registers and 8 bytes
    // spilled); with the architecture's 255 as the budget none of these
    // kernels spills, most at 80 to 140 registers. Not with warpgroup MMAs,
    // whose accumulators take most registers: there the budget made ptxas
    // spill where its own choice did not (the delta rule at K = 64 on
    // sm_90a, 60 bytes). Nor for blocks of one thread (the scan's carry
    // pass), where it only let ptxas take more registers (128 to 254).
    Builder attrs(&getContext());
    module.walk([&](gpu::GPUFuncOp f) {
      if (!f.isKernel() || before.contains(f))
        return;
      std::optional<ArrayRef<int32_t>> block = f.getKnownBlockSize();
      bool wgmma = f.walk([](NVVM::WgmmaMmaAsyncOp) {
                      return WalkResult::interrupt();
                    }).wasInterrupted();
      if (block && (*block)[0] > 1 && !wgmma)
        f->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                   attrs.getI32IntegerAttr(kMaxRegisters));
    });
  }
};

} // namespace
