//===- SharedObject.cpp - ahead-of-time compilation to artifacts ----------===//
#include "mixir/Jit/SharedObject.h"
#include "mixir/Version.h"

#include "mlir/ExecutionEngine/OptUtils.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include "mixrt/CudaArtifact.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <tuple>

#ifndef MIXIR_GIT_HASH
#define MIXIR_GIT_HASH "unknown"
#endif

namespace mixir {

const char *compilerVersion() {
  return "mixir " MIXIR_VERSION " (LLVM " LLVM_VERSION_STRING
         ", " MIXIR_GIT_HASH ")";
}

namespace {

llvm::Expected<llvm::orc::JITTargetMachineBuilder> hostBuilder() {
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeModel(llvm::CodeModel::Small);
  return builder;
}

/// Adds `void _mlir_<name>(void **args)` for every entry point: it loads each
/// scalar parameter through args[i] and stores the result through args[n]
/// (the packed ABI of mixrt/Call.h, as the ExecutionEngine builds it).
llvm::Error
addPackedEntryPoints(llvm::Module &m,
                     const std::vector<mixrt::FunctionSignature> &sigs) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type *ptrTy = b.getPtrTy();
  for (const auto &sig : sigs) {
    llvm::Function *f = m.getFunction(sig.name);
    if (!f || f->isDeclaration())
      return llvm::createStringError("no LLVM function for @" + sig.name);
    auto *wrapper = llvm::Function::Create(
        llvm::FunctionType::get(b.getVoidTy(), {ptrTy}, false),
        llvm::GlobalValue::ExternalLinkage, "_mlir_" + sig.name, m);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::Value *list = wrapper->getArg(0);
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args()) {
      llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, list, a.getArgNo());
      llvm::Value *p = b.CreateLoad(ptrTy, slot);
      args.push_back(b.CreateLoad(a.getType(), p));
    }
    llvm::Value *result = b.CreateCall(f, args);
    if (!f->getReturnType()->isVoidTy()) {
      llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, list, f->arg_size());
      b.CreateStore(result, b.CreateLoad(ptrTy, slot));
    }
    b.CreateRetVoid();
  }
  return llvm::Error::success();
}

/// Turns the runtime callbacks the code declares into internal functions
/// that call through `__mixir_rt_<name>`, a pointer the loader sets, so the
/// shared object needs no symbol from the runtime library (which may be
/// linked into a host that does not export it).
void redirectRuntimeCallbacks(llvm::Module &m, mixrt::Target target) {
  llvm::IRBuilder<> b(m.getContext());
  for (const mixrt::RuntimeCallback &cb : mixrt::runtimeCallbacks(target)) {
    const char *name = cb.name;
    llvm::Function *f = m.getFunction(name);
    if (!f || !f->isDeclaration())
      continue;
    auto *slot =
        new llvm::GlobalVariable(m, b.getPtrTy(), /*isConstant=*/false,
                                 llvm::GlobalValue::ExternalLinkage,
                                 llvm::ConstantPointerNull::get(b.getPtrTy()),
                                 std::string("__mixir_rt_") + name);
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    b.SetInsertPoint(llvm::BasicBlock::Create(m.getContext(), "entry", f));
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args())
      args.push_back(&a);
    llvm::Value *target = b.CreateLoad(b.getPtrTy(), slot);
    llvm::Value *result = b.CreateCall(f->getFunctionType(), target, args);
    if (f->getReturnType()->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(result);
  }
}

/// Replaces the module's constructors and destructors (llvm.global_ctors /
/// llvm.global_dtors, e.g. target cuda's kernel loading) by the functions
/// `name` that the loader calls once the runtime callbacks are set: at
/// dlopen time they would call through null pointers.
void moveStructors(llvm::Module &m, llvm::StringRef list, llvm::StringRef name,
                   bool reverse) {
  llvm::GlobalVariable *gv = m.getGlobalVariable(list);
  std::vector<std::pair<uint64_t, llvm::Function *>> entries;
  if (gv && gv->hasInitializer())
    if (auto *array = llvm::dyn_cast<llvm::ConstantArray>(gv->getInitializer()))
      for (llvm::Value *op : array->operands()) {
        auto *entry = llvm::cast<llvm::ConstantStruct>(op);
        auto *priority = llvm::cast<llvm::ConstantInt>(entry->getOperand(0));
        if (auto *fn = llvm::dyn_cast<llvm::Function>(entry->getOperand(1)))
          entries.push_back({priority->getZExtValue(), fn});
      }
  std::stable_sort(entries.begin(), entries.end(),
                   [](auto &a, auto &b) { return a.first < b.first; });
  if (reverse)
    std::reverse(entries.begin(), entries.end());
  if (gv)
    gv->eraseFromParent();
  llvm::IRBuilder<> b(m.getContext());
  auto *fn =
      llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), false),
                             llvm::GlobalValue::ExternalLinkage, name, m);
  b.SetInsertPoint(llvm::BasicBlock::Create(m.getContext(), "entry", fn));
  for (auto &entry : entries)
    b.CreateCall(entry.second);
  b.CreateRetVoid();
}

llvm::Expected<std::string> findLinker() {
  if (const char *env = std::getenv("MIXIR_LINKER"); env && *env)
    return std::string(env);
  for (const char *name : {"ld.lld-22", "ld.lld"})
    if (auto p = llvm::sys::findProgramByName(name))
      return *p;
  if (llvm::sys::fs::can_execute("/usr/lib/llvm-22/bin/ld.lld"))
    return std::string("/usr/lib/llvm-22/bin/ld.lld");
  if (auto p = llvm::sys::findProgramByName("ld"))
    return *p;
  return llvm::createStringError(
      "no linker found to build the shared object (install lld or binutils, "
      "or set MIXIR_LINKER)");
}

/// Links `object` into a shared object and returns its bytes. Temporary
/// files are removed on every path.
llvm::Expected<std::string> linkSharedObject(llvm::StringRef object) {
  auto linker = findLinker();
  if (!linker)
    return linker.takeError();
  llvm::SmallString<128> objPath, soPath, errPath;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("mixir", "o", fd, objPath))
    return llvm::createStringError("cannot create a temporary file: " +
                                   ec.message());
  llvm::FileRemover removeObj(objPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
    if (os.has_error())
      return llvm::createStringError("cannot write " + objPath.str().str());
  }
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("mixir", "so", soPath))
    return llvm::createStringError("cannot create a temporary file: " +
                                   ec.message());
  llvm::FileRemover removeSo(soPath);
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("mixir-ld", "txt", errPath))
    return llvm::createStringError("cannot create a temporary file: " +
                                   ec.message());
  llvm::FileRemover removeErr(errPath);
  llvm::SmallVector<llvm::StringRef> args = {
      *linker,       "-shared", "-Bsymbolic", "-z",
      "noexecstack", "-o",      soPath,       objPath};
  std::optional<llvm::StringRef> redirects[] = {
      llvm::StringRef(""), llvm::StringRef(""), llvm::StringRef(errPath)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, 0, &message);
  if (rc != 0) {
    std::string out;
    if (auto buf = llvm::MemoryBuffer::getFile(errPath))
      out = (*buf)->getBuffer().trim().str();
    return llvm::createStringError("linking the shared object with " + *linker +
                                   " failed" +
                                   (message.empty() ? "" : ": " + message) +
                                   (out.empty() ? "" : ": " + out));
  }
  auto so = llvm::MemoryBuffer::getFile(soPath, /*IsText=*/false,
                                        /*RequiresNullTerminator=*/false);
  if (!so)
    return llvm::createStringError("cannot read the linked shared object: " +
                                   so.getError().message());
  return (*so)->getBuffer().str();
}

class PhaseTimer {
public:
  PhaseTimer() : enabled(std::getenv("MIXIR_TIMING") != nullptr) {}
  void mark(const char *phase) {
    auto now = std::chrono::steady_clock::now();
    if (enabled)
      llvm::errs()
          << "mixir-timing: " << phase << " "
          << llvm::format(
                 "%.1f",
                 std::chrono::duration<double, std::milli>(now - last).count())
          << " ms\n";
    last = now;
  }

private:
  bool enabled;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};

} // namespace

std::pair<std::string, std::string> hostCPU() {
  auto builder = hostBuilder();
  if (!builder) {
    llvm::consumeError(builder.takeError());
    return {"unknown", ""};
  }
  return {builder->getCPU(), builder->getFeatures().getString()};
}

namespace {
/// The host half of an artifact: the payload, signatures and CPU fields of
/// `info`; target cuda's embedded device code goes to `deviceCode`.
llvm::Error compileHostCode(llvm::StringRef source,
                            const CompileOptions &options,
                            mixrt::ArtifactInfo &info,
                            std::vector<DeviceBinary> &deviceCode) {
  PhaseTimer timer;
  llvm::LLVMContext llvmContext;
  auto module = lowerToLLVMModule(source, options, llvmContext, info.functions,
                                  &deviceCode);
  if (!module)
    return module.takeError();
  timer.mark("parse+lower+translate");

  auto builder = hostBuilder();
  if (!builder)
    return builder.takeError();
  llvm::CodeGenOptLevel level =
      options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                              : llvm::CodeGenOptLevel::Default;
  builder->setCodeGenOptLevel(level);
  auto tm = builder->createTargetMachine();
  if (!tm)
    return tm.takeError();
  llvm::Module &m = **module;
  // The AMX flag: the module holds tile products (mix-matmul-to-amx), so
  // the runtime must ask Linux for the tiles before running it.
  bool usesAmx = false;
  for (llvm::Function &f : m)
    usesAmx |= f.isIntrinsic() && f.getName().starts_with("llvm.x86.tdp");
  m.setDataLayout((*tm)->createDataLayout());
  m.setTargetTriple((*tm)->getTargetTriple());
  if (llvm::Error e = addPackedEntryPoints(m, info.functions))
    return std::move(e);
  redirectRuntimeCallbacks(m, options.target);
  moveStructors(m, "llvm.global_ctors", mixrt::kModuleInitSymbol, false);
  moveStructors(m, "llvm.global_dtors", mixrt::kModuleFiniSymbol, true);
  auto optimize =
      mlir::makeOptimizingTransformer(options.optLevel, 0, tm->get());
  if (llvm::Error e = optimize(&m))
    return std::move(e);
  timer.mark("llvm-opt");

  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager pm;
    if ((*tm)->addPassesToEmitFile(pm, os, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
      return llvm::createStringError("the host target cannot emit objects");
    pm.run(m);
  }
  timer.mark("llvm-codegen");
  auto so = linkSharedObject(llvm::StringRef(object.data(), object.size()));
  if (!so)
    return so.takeError();
  timer.mark("link");

  info.compilerVersion = compilerVersion();
  info.target = options.target;
  info.arch = mixrt::hostArch();
  info.cpu = builder->getCPU();
  info.features = builder->getFeatures().getString();
  info.payloadKind = mixrt::kPayloadSharedObject;
  info.payload = std::move(*so);
  info.usesAmx = usesAmx;
  return llvm::Error::success();
}

/// The chips of a target cuda artifact: `chips`, or the options' one (each
/// checked with validate(); "" is the default chip); lowest compute
/// capability first.
llvm::Expected<std::vector<std::string>>
artifactChips(const CompileOptions &options,
              llvm::ArrayRef<std::string> chips) {
  std::vector<std::string> out;
  if (chips.empty()) {
    if (llvm::Error e = validate(options))
      return std::move(e);
    out.push_back(options.chipOrDefault());
  }
  for (const std::string &chip : chips) {
    CompileOptions one = options;
    one.chip = chip;
    if (llvm::Error e = validate(one))
      return std::move(e);
    if (!llvm::is_contained(out, one.chipOrDefault()))
      out.push_back(one.chipOrDefault());
  }
  auto version = [](const std::string &chip) {
    mixrt::ChipVersion v =
        mixrt::parseChip(chip).value_or(mixrt::ChipVersion());
    return std::make_tuple(v.major, v.minor, v.archSpecific);
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](auto &a, auto &b) { return version(a) < version(b); });
  return out;
}
} // namespace

llvm::Expected<mixrt::ArtifactInfo>
compileArtifact(llvm::StringRef source, const CompileOptions &options,
                llvm::ArrayRef<std::string> chips) {
  if (!chips.empty() && options.target != Target::cuda)
    return llvm::createStringError(
        std::string("chips are for target cuda, not ") +
        mixrt::targetName(options.target));
  bool cuda = options.target == Target::cuda;
  auto list = artifactChips(options, chips);
  if (!list)
    return list.takeError();
  CompileOptions host = options;
  if (cuda)
    host.chip = list->front(); // the PTX chip: the lowest
  mixrt::ArtifactInfo info;
  std::vector<DeviceBinary> ptx;
  if (llvm::Error e = compileHostCode(source, host, info, ptx))
    return std::move(e);
  if (!cuda)
    return info;
  for (const std::string &chip : *list)
    info.chip += (info.chip.empty() ? "" : ",") + chip;
  // Without kernels (host code only) there is no device code to build.
  if (ptx.empty())
    return info;
  for (DeviceBinary &b : ptx)
    info.deviceImages.push_back(
        {b.name, b.target, mixrt::kDeviceImagePtx, std::move(b.bytes)});
  for (const std::string &chip : *list) {
    CompileOptions one = options;
    one.chip = chip;
    auto cubins = lowerToDeviceCode(source, one, "bin");
    if (!cubins)
      return cubins.takeError();
    for (DeviceBinary &b : *cubins)
      info.deviceImages.push_back(
          {b.name, chip, mixrt::kDeviceImageCubin, std::move(b.bytes)});
  }
  return info;
}

} // namespace mixir
