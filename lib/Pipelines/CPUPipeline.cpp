//===- CPUPipeline.cpp - mix on tensors to LLVM for the host --------------===//
#include "mixir/Conversion/Passes.h"
#include "mixir/Pipelines/Pipelines.h"
#include "mixir/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mixir::addMixLoweringPasses(OpPassManager &pm,
                                 const CompileOptions &options) {
  // Unset: mix-select-algorithm's cost model picks each op's form;
  // mix.attention takes blocks of kDefaultChunkSize.
  int64_t chunkSize = options.chunkSizeOrUnset();
  // Imported models carry linalg.softmax (kept for mix-raise); expand it
  // before tiling and bufferization.
  pm.addNestedPass<func::FuncOp>(createDecomposeAggregates());
  // Backward functions are mix ops too: derive them before anything chunks.
  pm.addPass(createDeriveBackward());
  if (chunkSize != 0) {
    SelectAlgorithmOptions select;
    select.chunkSize = chunkSize;
    select.amx = options.amx;
    pm.addPass(createSelectAlgorithm(select));
    ConvertMixToChunkedOptions chunked;
    chunked.chunkSize =
        chunkSize == kChunkSizeUnset ? kDefaultChunkSize : chunkSize;
    chunked.bf16Products = options.amx;
    pm.addPass(createConvertMixToChunked(chunked));
  }
  pm.addPass(createConvertMixToLoops());
  // Gate prologues (element-wise producers of what the loops read element
  // by element) move into the loops.
  pm.addNestedPass<func::FuncOp>(createFuseElementwiseIntoExtracts());
}

void mixir::buildCPUPipeline(OpPassManager &pm, const CompileOptions &options) {
  addMixLoweringPasses(pm, options);
  pm.addPass(createConvertElementwiseToLinalgPass());
  {
    OpPassManager &fn = pm.nest<func::FuncOp>();
    fn.addPass(createVectorizeTiles({options.amx}));
    fn.addPass(createConvertVectorToSCFPass(
        VectorTransferToSCFOptions().enableFullUnroll().enableLowerTensors()));
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  addBufferization(pm);
  {
    OpPassManager &fn = pm.nest<func::FuncOp>();
    fn.addPass(createCanonicalizerPass());
    fn.addPass(createHoistVectorTransfers());
  }
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // After the deallocation pipeline, which refuses the explicit frees of
  // its packed operands.
  if (options.amx)
    pm.addNestedPass<func::FuncOp>(createMatmulToAmx());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  // Independent (batch, head) work items become OpenMP threads. This runs
  // late so no canonicalisation moves ops into the loop wrappers OpenMP
  // requires to stay bare, and memrefs are lowered before scf-to-cf so the
  // per-thread alloca scopes are still one block.
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createLegalizeExpandShape());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.amx = options.amx;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
