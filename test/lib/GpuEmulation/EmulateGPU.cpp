//===- EmulateGPU.cpp - the mix-emulate-gpu pass (test only) --------------===//
//
// Turns outlined GPU kernels and the host code that launches them into CPU
// code for testing without a GPU: each kernel becomes a function run by one
// OpenMP thread per GPU thread, a block at a time; gpu.barrier, ldmatrix
// and mma.sync call the emulator (GpuEmulator.h), which
// reproduces the warp-collective fragment layouts of the PTX ISA; cp.async
// becomes a synchronous copy with the same zero fill; device allocations
// and copies become host ones. The kernel's own IR (index arithmetic,
// masks, gates, shared-memory layout, loop structure) is what runs.
//
//===----------------------------------------------------------------------===//
#include "Plugin.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"

namespace mixir::test {
#define GEN_PASS_DEF_EMULATEGPU
#include "Passes.h.inc"
} // namespace mixir::test

using namespace mlir;

namespace {
MemRefType plainMemRef(Type t) {
  auto m = cast<MemRefType>(t);
  return MemRefType::get(m.getShape(), m.getElementType(), m.getLayout());
}

/// Bytes of an element of a shared buffer (index counts 8).
int64_t elementBytes(MemRefType t) {
  Type e = t.getElementType();
  int64_t n = 1;
  if (auto v = dyn_cast<VectorType>(e)) {
    n = v.getNumElements();
    e = v.getElementType();
  }
  return n * (e.isIndex() ? 8 : (e.getIntOrFloatBitWidth() + 7) / 8);
}

MemRefType dynamic2D(Type elem) {
  return MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, elem);
}

class Emulator {
public:
  explicit Emulator(ModuleOp module)
      : module(module), b(module.getContext()), loc(module.getLoc()) {}

  LogicalResult run();

private:
  struct Kernel {
    func::FuncOp fn;
    SmallVector<MemRefType> shared;
  };

  func::FuncOp declare(StringRef name, TypeRange args, TypeRange results,
                       bool cInterface = true);
  Value call(StringRef name, ValueRange args, Type result = {});
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i64(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  }
  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
  }
  FailureOr<Kernel> emulateKernel(gpu::GPUFuncOp k);
  LogicalResult rewriteKernelBody(func::FuncOp fn);
  LogicalResult emulateHost(func::FuncOp host);
  LogicalResult emulateLaunch(gpu::LaunchFuncOp launch);

  ModuleOp module;
  OpBuilder b;
  Location loc;
  llvm::DenseMap<std::pair<Attribute, Attribute>, Kernel> kernels;
};

func::FuncOp Emulator::declare(StringRef name, TypeRange args,
                               TypeRange results, bool cInterface) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto f = func::FuncOp::create(b, loc, name, b.getFunctionType(args, results));
  f.setPrivate();
  if (cInterface)
    f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return f;
}

Value Emulator::call(StringRef name, ValueRange args, Type result) {
  SmallVector<Type> results;
  if (result)
    results.push_back(result);
  func::FuncOp f =
      declare(name, TypeRange(args), results,
              !name.starts_with("omp_") && !name.starts_with("__kmpc_"));
  auto c = func::CallOp::create(b, loc, f, args);
  return result ? c.getResult(0) : Value();
}

FailureOr<Emulator::Kernel> Emulator::emulateKernel(gpu::GPUFuncOp k) {
  if (!k.getBody().hasOneBlock() || !k.getPrivateAttributions().empty())
    return k.emitError("GPU emulation handles single-block kernels without "
                       "private memory");
  Kernel out;
  SmallVector<Type> types(4, b.getIndexType()); // block x, y, z, thread
  unsigned n = k.getNumArguments();
  for (unsigned i = 0; i < n; ++i)
    types.push_back(k.getArgument(i).getType());
  for (Value a : k.getWorkgroupAttributions()) {
    out.shared.push_back(plainMemRef(a.getType()));
    types.push_back(out.shared.back());
  }
  b.setInsertionPointToEnd(module.getBody());
  auto parent = k->getParentOfType<gpu::GPUModuleOp>();
  out.fn = func::FuncOp::create(
      b, k.getLoc(), (parent.getName() + "_" + k.getName() + "_emulated").str(),
      b.getFunctionType(types, {}));
  out.fn.setPrivate();
  Block *entry = out.fn.addEntryBlock();
  IRMapping map;
  for (unsigned i = 0; i < n; ++i)
    map.map(k.getArgument(i), entry->getArgument(4 + i));
  for (auto [j, a] : llvm::enumerate(k.getWorkgroupAttributions()))
    map.map(a, entry->getArgument(4 + n + j));
  b.setInsertionPointToEnd(entry);
  for (Operation &op : k.getBody().front())
    b.clone(op, map);
  if (failed(rewriteKernelBody(out.fn)))
    return failure();
  return out;
}

LogicalResult Emulator::rewriteKernelBody(func::FuncOp fn) {
  Block &entry = fn.getBody().front();
  Value blockIds[3] = {entry.getArgument(0), entry.getArgument(1),
                       entry.getArgument(2)};
  Value thread = entry.getArgument(3);
  // Fragment scratch (one per thread: the function runs on its stack).
  llvm::DenseMap<Type, Value> scratch;
  auto scratchOf = [&](MemRefType type) {
    auto it = scratch.find(type);
    if (it != scratch.end())
      return it->second;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    Value m = memref::AllocaOp::create(b, loc, type);
    scratch[type] = m;
    return m;
  };
  auto dyn = [&](Value m) {
    return memref::CastOp::create(
        b, loc, dynamic2D(cast<MemRefType>(m.getType()).getElementType()), m);
  };
  auto suffix = [](Type t) { return t.isBF16() ? "BF16" : "F16"; };
  // Fragments move through memory a row at a time: the CPU lowering takes
  // 1-D vector loads and stores.
  auto storeRows = [&](Value v, Value m) {
    auto type = cast<VectorType>(v.getType());
    for (int64_t i = 0; i < type.getDimSize(0); ++i)
      vector::StoreOp::create(
          b, loc, vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i}), m,
          ValueRange{index(i), index(0)});
  };
  auto loadRows = [&](VectorType type, Value m) -> Value {
    Value v = arith::ConstantOp::create(
        b, loc, type,
        DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
    auto row = VectorType::get({type.getDimSize(1)}, type.getElementType());
    for (int64_t i = 0; i < type.getDimSize(0); ++i)
      v = vector::InsertOp::create(
          b, loc,
          vector::LoadOp::create(b, loc, row, m,
                                 ValueRange{index(i), index(0)}),
          v, ArrayRef<int64_t>{i});
    return v;
  };

  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) { ops.push_back(op); });
  SmallVector<Operation *> dead;
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    if (auto t = dyn_cast<gpu::ThreadIdOp>(op)) {
      op->getResult(0).replaceAllUsesWith(
          t.getDimension() == gpu::Dimension::x ? thread : index(0));
    } else if (auto bid = dyn_cast<gpu::BlockIdOp>(op)) {
      op->getResult(0).replaceAllUsesWith(
          blockIds[static_cast<int>(bid.getDimension())]);
    } else if (isa<gpu::GridDimOp, gpu::BlockDimOp>(op) && op->use_empty()) {
      // Outlining materialises the launch sizes; our kernels do not read
      // them.
    } else if (auto shfl = dyn_cast<gpu::ShuffleOp>(op)) {
      if (shfl.getMode() != gpu::ShuffleMode::XOR ||
          !shfl.getValue().getType().isF32() ||
          getConstantIntValue(shfl.getWidth()) != 32)
        return op->emitError("GPU emulation handles 32-lane f32 xor "
                             "shuffles only");
      Value offset =
          arith::ExtSIOp::create(b, loc, b.getI64Type(), shfl.getOffset());
      shfl.getShuffleResult().replaceAllUsesWith(
          call("mixEmuShuffleXor", {shfl.getValue(), offset}, b.getF32Type()));
      shfl.getValid().replaceAllUsesWith(
          arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1).getResult());
    } else if (isa<gpu::BarrierOp>(op)) {
      call("mixEmuBarrier", {});
    } else if (isa<gpu::ReturnOp>(op)) {
      func::ReturnOp::create(b, loc);
    } else if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
      int64_t n = copy.getDstElements().getZExtValue();
      Value valid = copy.getSrcElements() ? copy.getSrcElements() : index(n);
      auto elem = cast<MemRefType>(copy.getDst().getType()).getElementType();
      Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
      for (int64_t e = 0; e < n; ++e) {
        SmallVector<Value> src(copy.getSrcIndices()), dst(copy.getDstIndices());
        src.back() = arith::AddIOp::create(b, loc, src.back(), index(e));
        dst.back() = arith::AddIOp::create(b, loc, dst.back(), index(e));
        Value ok = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         index(e), valid);
        auto ifOp = scf::IfOp::create(b, loc, elem, ok, true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(
            b, loc,
            ValueRange{memref::LoadOp::create(b, loc, copy.getSrc(), src)});
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, loc, ValueRange{zero});
        b.setInsertionPointAfter(ifOp);
        memref::StoreOp::create(b, loc, ifOp.getResult(0), copy.getDst(), dst);
      }
    } else if (isa<nvgpu::DeviceAsyncCreateGroupOp, nvgpu::DeviceAsyncWaitOp>(
                   op)) {
      // The copies above are synchronous; the barrier that follows a wait
      // still orders them across threads.
    } else if (auto ld = dyn_cast<nvgpu::LdMatrixOp>(op)) {
      auto resType = cast<VectorType>(ld.getRes().getType());
      Type elem = resType.getElementType();
      Value out = scratchOf(MemRefType::get(resType.getShape(), elem));
      auto idx = ld.getIndices();
      call(std::string("mixEmuLdmatrix") + suffix(elem),
           {dyn(ld.getSrcMemref()), i64(idx[0]), i64(idx[1]),
            i64(ld.getTranspose() ? 1 : 0), i64(ld.getNumTiles()), dyn(out)});
      ld.getRes().replaceAllUsesWith(loadRows(resType, out));
    } else if (auto mma = dyn_cast<nvgpu::MmaSyncOp>(op)) {
      Type elem = cast<VectorType>(mma.getMatrixA().getType()).getElementType();
      auto stash = [&](Value v) {
        auto type = cast<VectorType>(v.getType());
        Value m =
            scratchOf(MemRefType::get(type.getShape(), type.getElementType()));
        storeRows(v, m);
        return m;
      };
      Value a = stash(mma.getMatrixA()), bb = stash(mma.getMatrixB());
      Value c = stash(mma.getMatrixC());
      auto resType = cast<VectorType>(mma.getRes().getType());
      // D gets its own scratch: C's holds the same type.
      Value d;
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&entry);
        d = memref::AllocaOp::create(
            b, loc, MemRefType::get(resType.getShape(), b.getF32Type()));
      }
      call(std::string("mixEmuMma") + suffix(elem),
           {dyn(a), dyn(bb), dyn(c), dyn(d)});
      mma.getRes().replaceAllUsesWith(loadRows(resType, d));
    } else if (auto ptr =
                   dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(op)) {
      // The shared-window address of a shared buffer (a wgmma descriptor's
      // base): the buffer itself here, a view of the window.
      auto cast = ptr.getSource().getDefiningOp<memref::MemorySpaceCastOp>();
      if (!cast)
        continue;
      ptr.getSourceMutable().assign(cast.getSource());
      if (cast->use_empty())
        dead.push_back(cast);
      continue;
    } else if (isa<NVVM::FenceProxyOp, NVVM::WgmmaFenceAlignedOp,
                   NVVM::WgmmaGroupSyncAlignedOp, NVVM::WgmmaWaitGroupSyncOp>(
                   op)) {
      // The MMAs below run when issued.
    } else if (auto mma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op)) {
      NVVM::WGMMATypes ta = mma.getTypeA(), tb = mma.getTypeB();
      bool is16 = ta == tb &&
                  (ta == NVVM::WGMMATypes::bf16 || ta == NVVM::WGMMATypes::f16);
      if (!is16 || mma.getTypeD() != NVVM::WGMMATypes::f32 ||
          mma.getScaleD() != NVVM::WGMMAScaleOut::one ||
          mma.getScaleA() != NVVM::WGMMAScaleIn::one ||
          mma.getScaleB() != NVVM::WGMMAScaleIn::one ||
          mma.getLayoutA() != NVVM::MMALayout::row ||
          mma.getLayoutB() != NVVM::MMALayout::col ||
          mma.getShape().getM() != 64 || mma.getShape().getK() != 16)
        return op->emitError("GPU emulation handles wgmma m64nNk16 with "
                             "16-bit K-major operands and f32 accumulation "
                             "only");
      int64_t n = mma.getShape().getN();
      Value acc = scratchOf(MemRefType::get({1, n / 2}, b.getF32Type()));
      for (int64_t i = 0; i < n / 2; ++i)
        memref::StoreOp::create(
            b, loc, LLVM::ExtractValueOp::create(b, loc, mma.getInouts(), i),
            acc, ValueRange{index(0), index(i)});
      call(ta == NVVM::WGMMATypes::bf16 ? "mixEmuWgmmaBF16" : "mixEmuWgmmaF16",
           {mma.getDescriptorA(), mma.getDescriptorB(), dyn(acc), i64(n)});
      Value d = LLVM::PoisonOp::create(b, loc, mma.getResult().getType());
      for (int64_t i = 0; i < n / 2; ++i)
        d = LLVM::InsertValueOp::create(
            b, loc, d,
            memref::LoadOp::create(b, loc, acc, ValueRange{index(0), index(i)}),
            i);
      mma.getResult().replaceAllUsesWith(d);
    } else if (isa<gpu::GPUDialect, nvgpu::NVGPUDialect, NVVM::NVVMDialect>(
                   op->getDialect())) {
      return op->emitError("GPU emulation does not handle ") << op->getName();
    } else {
      continue;
    }
    dead.push_back(op);
  }
  for (Operation *op : llvm::reverse(dead)) {
    op->dropAllUses();
    op->erase();
  }
  return success();
}

LogicalResult Emulator::emulateLaunch(gpu::LaunchFuncOp launch) {
  auto it =
      kernels.find({launch.getKernelModuleName(), launch.getKernelName()});
  if (it == kernels.end())
    return launch.emitError("GPU emulation: kernel not found");
  const Kernel &k = it->second;
  auto dims = launch.getBlockSizeOperandValues();
  Value threads = arith::MulIOp::create(
      b, loc, dims.x, arith::MulIOp::create(b, loc, dims.y, dims.z));
  if (getConstantIntValue(dims.y) != 1 || getConstantIntValue(dims.z) != 1)
    return launch.emitError("GPU emulation handles 1-D blocks only");
  auto grid = launch.getGridSizeOperandValues();
  Value one = index(1), zero = index(0);
  auto forLoop = [&](Value ub, const std::function<void(Value)> &body) {
    auto loop = scf::ForOp::create(b, loc, zero, ub, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  };
  SmallVector<Value> operands(launch.getKernelOperands());
  forLoop(grid.z, [&](Value bz) {
    forLoop(grid.y, [&](Value by) {
      forLoop(grid.x, [&](Value bx) {
        // The block's shared buffers, views of one window aligned to 2^18:
        // the low 18 bits of an address are then its offset in the window,
        // as on the GPU (what wgmma's matrix descriptors hold).
        SmallVector<int64_t> offsets;
        int64_t bytes = 0;
        for (MemRefType t : k.shared) {
          offsets.push_back(bytes);
          bytes += (t.getNumElements() * elementBytes(t) + 127) / 128 * 128;
        }
        Value window = memref::AllocOp::create(
            b, loc,
            MemRefType::get({std::max<int64_t>(bytes, 1)}, b.getI8Type()),
            b.getI64IntegerAttr(int64_t(1) << 18));
        SmallVector<Value> shared;
        for (auto [t, offset] : llvm::zip(k.shared, offsets))
          shared.push_back(memref::ViewOp::create(b, loc, t, window,
                                                  index(offset), ValueRange{}));
        call("mixEmuBeginBlock", {i64(threads)});
        call("mixEmuSharedWindow",
             {i64(memref::ExtractAlignedPointerAsIndexOp::create(b, loc,
                                                                 window)),
              i64(bytes)});
        omp::ParallelOperands clauses;
        clauses.numThreads =
            arith::IndexCastOp::create(b, loc, b.getI32Type(), threads);
        auto par = omp::ParallelOp::create(b, loc, clauses);
        {
          OpBuilder::InsertionGuard guard(b);
          b.createBlock(&par.getRegion());
          Type i32 = b.getI32Type();
          // libomp's own entry points: in a process that also loaded
          // libgomp (torch does), omp_get_thread_num may resolve to
          // libgomp's, which knows nothing of this team.
          Value noLoc = LLVM::ZeroOp::create(
              b, loc, LLVM::LLVMPointerType::get(b.getContext()));
          Value tid = call("__kmpc_bound_thread_num", {noLoc}, i32);
          Value team = call("__kmpc_bound_num_threads", {noLoc}, i32);
          auto ext = [&](Value v) {
            return arith::ExtSIOp::create(b, loc, b.getI64Type(), v);
          };
          Value ok =
              call("mixEmuBeginThread", {ext(tid), ext(team)}, b.getI64Type());
          auto run = scf::IfOp::create(
              b, loc,
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, ok,
                                    i64(0)),
              false);
          b.setInsertionPoint(run.thenBlock()->getTerminator());
          SmallVector<Value> args = {
              bx, by, bz,
              arith::IndexCastOp::create(b, loc, b.getIndexType(), tid)};
          args.append(operands);
          args.append(shared);
          func::CallOp::create(b, loc, k.fn, args);
          b.setInsertionPointAfter(run);
          omp::TerminatorOp::create(b, loc);
        }
        call("mixEmuEndBlock", {});
      });
    });
  });
  return success();
}

LogicalResult Emulator::emulateHost(func::FuncOp host) {
  SmallVector<Operation *> ops;
  host.walk([&](Operation *op) {
    // The host code's own frees go too: the CPU pipeline's buffer
    // deallocation frees every host buffer, and takes no frees of others.
    if (isa<gpu::WaitOp, gpu::AllocOp, gpu::MemcpyOp, gpu::DeallocOp,
            gpu::LaunchFuncOp, memref::DeallocOp>(op))
      ops.push_back(op);
    else if (isa<gpu::GPUDialect>(op->getDialect()))
      op->emitError("GPU emulation does not handle this host op");
  });
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
      alloc.getMemref().replaceAllUsesWith(memref::AllocOp::create(
          b, loc, alloc.getType(), alloc.getDynamicSizes()));
    } else if (auto copy = dyn_cast<gpu::MemcpyOp>(op)) {
      memref::CopyOp::create(b, loc, copy.getSrc(), copy.getDst());
    } else if (isa<gpu::DeallocOp>(op)) {
      // The CPU pipeline's buffer deallocation frees the host copies.
    } else if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
      if (failed(emulateLaunch(launch)))
        return failure();
    }
  }
  for (Operation *op : llvm::reverse(ops)) {
    op->dropAllUses();
    op->erase();
  }
  return success();
}

LogicalResult Emulator::run() {
  SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
  for (gpu::GPUModuleOp gm : gpuModules)
    for (auto k : gm.getOps<gpu::GPUFuncOp>()) {
      if (!k.isKernel())
        continue;
      auto emulated = emulateKernel(k);
      if (failed(emulated))
        return failure();
      kernels[{gm.getNameAttr(), k.getNameAttr()}] = *emulated;
    }
  SmallVector<func::FuncOp> hosts;
  for (auto fn : module.getOps<func::FuncOp>())
    if (!fn.isDeclaration())
      hosts.push_back(fn);
  for (func::FuncOp fn : hosts)
    if (failed(emulateHost(fn)))
      return failure();
  for (gpu::GPUModuleOp gm : gpuModules)
    gm.erase();
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  return success();
}

struct EmulateGPU : mixir::test::impl::EmulateGPUBase<EmulateGPU> {
  void runOnOperation() override {
    if (failed(Emulator(getOperation()).run()))
      signalPassFailure();
  }
};
} // namespace

std::unique_ptr<mlir::Pass> mixir::test::createEmulateGPUPass() {
  return std::make_unique<EmulateGPU>();
}
