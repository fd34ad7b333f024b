//===- HostReadArgs.cpp - the mix-mark-host-read-args pass ----------------===//
//
// A call of a cuda function on device buffers (mixrt/CudaDeviceCall.h) runs
// its host code on device pointers. That is safe for arguments the host
// code only copies to or from the device, passes to kernels, or asks for
// their sizes; an argument it reads itself needs a host copy. This pass
// finds those arguments on bufferized host code and lists them in the
// function's `mix.host_read_args` attribute.
//
//===----------------------------------------------------------------------===//
#include "mixir/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mixir {
#define GEN_PASS_DEF_MARKHOSTREADARGS
#include "mixir/Conversion/Passes.h.inc"
} // namespace mixir

using namespace mlir;

namespace {

/// Whether the host code touches the memory of `root` (a memref argument)
/// other than through copies to or from the device, kernel launches and
/// queries of its layout, following views of it.
bool readOnHost(Value root) {
  SmallVector<Value> work{root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<memref::DimOp, gpu::MemcpyOp, gpu::LaunchFuncOp>(user))
        continue;
      // Its sizes and strides are a layout query; its base buffer aliases
      // the argument.
      if (auto meta = dyn_cast<memref::ExtractStridedMetadataOp>(user)) {
        work.push_back(meta.getBaseBuffer());
        continue;
      }
      // Views alias the argument: follow them (a use as an offset or size
      // operand is not a view of it).
      auto view = dyn_cast<ViewLikeOpInterface>(user);
      if ((view && view.getViewSource() == v) || isa<memref::CastOp>(user)) {
        for (Value r : user->getResults())
          if (isa<MemRefType>(r.getType()))
            work.push_back(r);
        continue;
      }
      return true;
    }
  }
  return false;
}

struct MarkHostReadArgs : mixir::impl::MarkHostReadArgsBase<MarkHostReadArgs> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isDeclaration() || fn.isPrivate())
        continue;
      SmallVector<int32_t> read;
      for (BlockArgument a : fn.getArguments())
        if (isa<MemRefType>(a.getType()) && readOnHost(a))
          read.push_back(static_cast<int32_t>(a.getArgNumber()));
      if (read.empty())
        fn->removeAttr(kAttr);
      else
        fn->setAttr(kAttr, DenseI32ArrayAttr::get(fn.getContext(), read));
    }
  }
  static constexpr llvm::StringLiteral kAttr = "mix.host_read_args";
};

} // namespace
