//===- Inline.cpp - inline calls and non-mixer composites -----------------===//
//
// JAX outlines helpers (`_where`, `tril`, `jnp.linalg.norm`, ...) as private
// functions and wraps `jax.lax.composite` bodies in `decomposition`
// functions. The later steps match patterns inside one function body, so
// every call and every composite not named `mixir.*` is replaced by a copy
// of its callee's body; `mixir.*` composites stay for ConvertComposite.
//
//===----------------------------------------------------------------------===//
#include "Convert.h"
#include "Stages.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace mixir::stablehlo_import {

std::string describe(Operation *op, const llvm::Twine &message) {
  // The innermost file position reads best, followed by the first name JAX
  // gave the op (`jit(f)/dot_general`); other locations print as MLIR.
  std::string file, name;
  op->getLoc()->walk([&](Location l) {
    if (auto flc = dyn_cast<FileLineColLoc>(l); flc && file.empty())
      file = (flc.getFilename().strref() + ":" + llvm::Twine(flc.getLine()) +
              ":" + llvm::Twine(flc.getColumn()))
                 .str();
    if (auto nl = dyn_cast<NameLoc>(l); nl && name.empty())
      name = nl.getName().str();
    return WalkResult::advance();
  });
  std::string where = file;
  if (!name.empty())
    where += (where.empty() ? "" : " ") + ("(" + name + ")");
  if (where.empty()) {
    llvm::raw_string_ostream os(where);
    op->getLoc().print(os);
  }
  std::string out =
      ("'" + op->getName().getStringRef() + "' at " + where + ": " + message)
          .str();
  for (char &c : out)
    if (c == '\n' || c == '\r')
      c = ' ';
  return out;
}

namespace {

bool isMixerComposite(Operation *op) {
  auto name = opAttrOfType<StringAttr>(op, "name");
  return name && name.strref().starts_with("mixir.");
}

/// The function a call or composite refers to, or null.
FlatSymbolRefAttr calleeOf(Operation *op) {
  if (auto call = dyn_cast<func::CallOp>(op))
    return call.getCalleeAttr();
  if (op->getName().getStringRef() == "stablehlo.composite" &&
      !isMixerComposite(op))
    return opAttrOfType<FlatSymbolRefAttr>(op, "decomposition");
  return nullptr;
}

bool isInlinable(Operation *op) {
  return isa<func::CallOp>(op) ||
         (op->getName().getStringRef() == "stablehlo.composite" &&
          !isMixerComposite(op));
}

LogicalResult inlineOne(ModuleOp module, Operation *site, std::string &error) {
  FlatSymbolRefAttr ref = calleeOf(site);
  if (!ref) {
    error = describe(site, "expects a 'decomposition' function");
    return failure();
  }
  auto callee = module.lookupSymbol<func::FuncOp>(ref.getAttr());
  if (!callee || callee.isExternal()) {
    error =
        describe(site, "calls '@" + ref.getValue() +
                           "', which is not a function defined in the module");
    return failure();
  }
  if (!callee.getBody().hasOneBlock()) {
    error = describe(site, "callee '@" + ref.getValue() +
                               "' has more than one block");
    return failure();
  }
  Block &body = callee.getBody().front();
  if (body.getNumArguments() != site->getNumOperands() ||
      TypeRange(body.getArgumentTypes()) !=
          TypeRange(site->getOperandTypes())) {
    error = describe(site, "operands do not match the parameters of '@" +
                               ref.getValue() + "'");
    return failure();
  }
  Operation *ret = body.getTerminator();
  if (!isa<func::ReturnOp>(ret) ||
      ret->getNumOperands() != site->getNumResults() ||
      TypeRange(ret->getOperandTypes()) != TypeRange(site->getResultTypes())) {
    error = describe(site,
                     "results do not match those of '@" + ref.getValue() + "'");
    return failure();
  }
  IRMapping mapping;
  mapping.map(body.getArguments(), site->getOperands());
  OpBuilder b(site);
  for (Operation &op : body.without_terminator())
    b.clone(op, mapping);
  for (auto [r, v] : llvm::zip(site->getResults(), ret->getOperands()))
    r.replaceAllUsesWith(mapping.lookupOrDefault(v));
  site->erase();
  return success();
}

/// Erases private functions no longer referenced (the decompositions of
/// `mixir.*` composites do not count: those composites become mix ops).
void eraseUnreferenced(ModuleOp module) {
  while (true) {
    llvm::DenseSet<StringAttr> used;
    module.walk([&](Operation *op) {
      SmallVector<NamedAttribute> attrs(op->getAttrs());
      if (auto props =
              dyn_cast_or_null<DictionaryAttr>(op->getPropertiesAsAttribute()))
        attrs.append(props.begin(), props.end());
      for (NamedAttribute a : attrs) {
        if (a.getName() == "decomposition" && isMixerComposite(op))
          continue;
        a.getValue().walk(
            [&](SymbolRefAttr s) { used.insert(s.getRootReference()); });
      }
    });
    bool erased = false;
    for (auto f : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (f.isPrivate() && !used.contains(f.getSymNameAttr())) {
        f.erase();
        erased = true;
      }
    if (!erased)
      return;
  }
}

} // namespace

LogicalResult inlineCalls(ModuleOp module, std::string &error) {
  // Every round inlines one level; more rounds than functions means a call
  // cycle.
  size_t numFuncs = llvm::range_size(module.getOps<func::FuncOp>());
  for (size_t round = 0;; ++round) {
    SmallVector<Operation *> sites;
    module.walk([&](Operation *op) {
      if (isInlinable(op))
        sites.push_back(op);
    });
    if (sites.empty())
      break;
    if (round > numFuncs) {
      error = describe(sites.front(), "recursive calls cannot be inlined");
      return failure();
    }
    for (Operation *site : sites)
      if (failed(inlineOne(module, site, error)))
        return failure();
  }
  eraseUnreferenced(module);
  return success();
}

} // namespace mixir::stablehlo_import
