//===- StableHLOImporter.cpp - flat-form StableHLO to mix + upstream ------===//
#include "mixir/Import/StableHLO/StableHLOImporter.h"

#include "Stages.h"
#include "mixir/Dialect/Mix/IR/MixDialect.h"
#include "mixir/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace mixir {

namespace {

/// "LINE:COL: MESSAGE" for parser diagnostics.
std::string diagnosticLine(Diagnostic &diag) {
  std::string out;
  if (auto flc = dyn_cast<FileLineColLoc>(diag.getLocation()))
    out = std::to_string(flc.getLine()) + ":" +
          std::to_string(flc.getColumn()) + ": ";
  out += diag.str();
  for (char &c : out)
    if (c == '\n' || c == '\r')
      c = ' ';
  return out;
}

/// Where an operand is used outside the scope of its definition, or before
/// it in the same block ("" when none is). Every region of the flat form
/// is an SSA region, those of unregistered ops included.
std::string firstUseBeforeDefinition(ModuleOp module) {
  std::string where;
  module.walk([&](Operation *op) {
    for (Value v : op->getOperands()) {
      Block *scope = v.getParentBlock();
      Operation *user = scope ? scope->findAncestorOpInBlock(*op) : nullptr;
      Operation *def = v.getDefiningOp();
      if (user && (!def || (def != user && def->isBeforeInBlock(user))))
        continue;
      std::string loc;
      llvm::raw_string_ostream os(loc);
      op->getLoc().print(os);
      where = "'" + op->getName().getStringRef().str() + "' at " + loc +
              " uses a value before or outside its definition";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return where;
}

OwningOpRef<ModuleOp> importImpl(MLIRContext &context, StringRef flatText,
                                 const StableHLOImportOptions &options,
                                 std::string &error) {
  StringRef first = flatText.split('\n').first.rtrim("\r");
  if (first != kStableHLOFlatHeader) {
    error = "not flat-form StableHLO: the first line must be '" +
            kStableHLOFlatHeader.str() + "'";
    return nullptr;
  }
  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                      tensor::TensorDialect, mix::MixDialect>();
  // The first diagnostic (parser, verifier or pass) becomes the error.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diagnostics.empty() && diag.getSeverity() == DiagnosticSeverity::Error)
      diagnostics = diagnosticLine(diag);
    return success();
  });
  OwningOpRef<ModuleOp> module;
  {
    bool allowed = context.allowsUnregisteredDialects();
    context.allowUnregisteredDialects(true);
    module = parseSourceString<ModuleOp>(flatText, ParserConfig(&context),
                                         "<stablehlo>");
    context.allowUnregisteredDialects(allowed);
  }
  if (!module) {
    error = "malformed flat-form StableHLO: " +
            (diagnostics.empty() ? std::string("cannot parse") : diagnostics);
    return nullptr;
  }
  // The verifier leaves the regions of unregistered ops (stablehlo.while's
  // bodies) alone: a value used before its definition there would reach the
  // conversion.
  if (std::string where = firstUseBeforeDefinition(*module); !where.empty()) {
    error = "malformed flat-form StableHLO: " + where;
    return nullptr;
  }
  if (module->getBody()->getOperations().empty() ||
      module->getOps<func::FuncOp>().empty()) {
    error = "the module holds no function";
    return nullptr;
  }
  using namespace stablehlo_import;
  if (failed(inlineCalls(*module, error)) ||
      (options.fold && failed(foldConstantSubgraphs(*module, error))) ||
      failed(convertToUpstream(*module, error)))
    return nullptr;
  // The translation leaves the ops it looked through (broadcasts folded into
  // element-wise maps, softmax intermediates) unused.
  IRRewriter rewriter(&context);
  (void)runRegionDCE(rewriter, module->getOperation()->getRegions());
  if (failed(verify(*module))) {
    error = "the imported IR does not verify: " + diagnostics;
    return nullptr;
  }
  if (options.raise) {
    // No canonicalisation before mix-raise: it would merge the two
    // transposes that put K in [B, H, K, T] order into one, hiding the K^T
    // that mix-raise's Q K^T matcher looks for.
    PassManager pm(&context);
    mixir::addImportRaisingPasses(pm, options.reportRaising,
                                  /*canonicalizeFirst=*/false);
    if (failed(pm.run(*module))) {
      error = "simplifying the imported IR failed: " + diagnostics;
      return nullptr;
    }
  }
  return module;
}

} // namespace

OwningOpRef<ModuleOp> importStableHLOFlat(MLIRContext &context,
                                          StringRef flatText,
                                          const StableHLOImportOptions &options,
                                          std::string &error) {
  return importImpl(context, flatText, options, error);
}

} // namespace mixir
