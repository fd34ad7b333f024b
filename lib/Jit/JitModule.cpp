//===- JitModule.cpp - compile MLIR source and run it in-process ----------===//
#include "mixir/Jit/JitModule.h"

#include "mixir/InitAll.h"
#include "mixir/Pipelines/Pipelines.h"
#include "mixir/Transforms/Passes.h"
#include "mixrt/Artifact.h"
#include "mixrt/TestPlugin.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include "mixrt/Cuda.h"

#include <cstdlib>
#include <mutex>

using namespace mlir;

namespace mixir {
namespace {

/// Collects diagnostics so the first error can be returned as a message.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error && first.empty()) {
            std::string loc;
            llvm::raw_string_ostream os(loc);
            if (auto flc = dyn_cast<FileLineColLoc>(d.getLocation()))
              os << flc.getFilename().getValue() << ":" << flc.getLine() << ":"
                 << flc.getColumn();
            else
              d.getLocation().print(os);
            first = loc + ": error: " + d.str();
          }
          return success();
        }) {}
  llvm::Error error(llvm::StringRef fallback) const {
    return llvm::createStringError(first.empty() ? fallback.str() : first);
  }

private:
  std::string first;
  ScopedDiagnosticHandler handler;
};

std::unique_ptr<MLIRContext> makeContext() {
  DialectRegistry registry;
  registerAllDialects(registry);
  // gpu.binary's #gpu.select_object embeds the device code in the host module.
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  // No per-context thread pool: a cached module keeps its context alive.
  auto ctx =
      std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  registerBuiltinDialectTranslation(*ctx);
  registerLLVMDialectTranslation(*ctx);
  registerOpenMPDialectTranslation(*ctx);
  // Target cuda: gpu.binary (the embedded device code) and NVVM kernels.
  registerGPUDialectTranslation(*ctx);
  registerNVVMDialectTranslation(*ctx);
  ctx->loadAllAvailableDialects();
  return ctx;
}

void initNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

std::optional<mixrt::DType> toDType(Type t) {
  if (t.isF32())
    return mixrt::DType::f32;
  if (t.isF16())
    return mixrt::DType::f16;
  if (t.isBF16())
    return mixrt::DType::bf16;
  if (t.isF64())
    return mixrt::DType::f64;
  if (t.isInteger(1))
    return mixrt::DType::boolean;
  if (t.isSignlessInteger(8))
    return mixrt::DType::i8;
  if (t.isSignlessInteger(16))
    return mixrt::DType::i16;
  if (t.isSignlessInteger(32))
    return mixrt::DType::i32;
  if (t.isSignlessInteger(64))
    return mixrt::DType::i64;
  return std::nullopt;
}

llvm::Expected<mixrt::TensorSignature>
toSignature(Type t, func::FuncOp fn, llvm::StringRef what, unsigned i) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  std::optional<mixrt::DType> dtype =
      tensor ? toDType(tensor.getElementType()) : std::nullopt;
  if (!dtype) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "@" << fn.getSymName() << " " << what << " " << i << " has type " << t
       << "; entry points take and return ranked tensors of f32, f16, bf16, "
          "f64, i1, i8, i16, i32 or i64";
    return llvm::createStringError(s);
  }
  mixrt::TensorSignature sig;
  sig.dtype = *dtype;
  for (int64_t d : tensor.getShape())
    sig.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return sig;
}

/// Device code the JIT loads: a cubin when ptxas is at hand (the pipeline
/// runs it), else PTX that the driver compiles when the module loads.
std::string jitDeviceFormat() {
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *dir = std::getenv(var))
      if (*dir && llvm::sys::fs::can_execute(std::string(dir) + "/bin/ptxas"))
        return "bin";
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas") ||
      llvm::sys::findProgramByName("ptxas"))
    return "bin";
  return "isa";
}

/// The tensor signatures of the public functions of `module`.
llvm::Error collectSignatures(ModuleOp module, const CompileOptions &options,
                              std::vector<mixrt::FunctionSignature> &out) {
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isDeclaration() || fn.isPrivate())
      continue;
    mixrt::FunctionSignature sig;
    sig.name = fn.getSymName().str();
    for (auto [i, t] : llvm::enumerate(fn.getArgumentTypes())) {
      auto s = toSignature(t, fn, "argument", i);
      if (!s)
        return s.takeError();
      sig.args.push_back(*s);
    }
    for (auto [i, t] : llvm::enumerate(fn.getResultTypes())) {
      auto s = toSignature(t, fn, "result", i);
      if (!s)
        return s.takeError();
      sig.results.push_back(*s);
    }
    out.push_back(std::move(sig));
  }
  if (out.empty())
    return llvm::createStringError(options.sourceName +
                                   ": no public func.func to run");
  return llvm::Error::success();
}

/// The `mix.host_read_args` that mix-mark-host-read-args left on the lowered
/// functions (target cuda), into their signatures.
void recordHostReads(ModuleOp module,
                     std::vector<mixrt::FunctionSignature> &signatures) {
  for (mixrt::FunctionSignature &sig : signatures) {
    sig.hostReadArgs.clear();
    auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(sig.name);
    auto read = fn ? fn->getAttrOfType<DenseI32ArrayAttr>("mix.host_read_args")
                   : DenseI32ArrayAttr();
    if (read)
      for (int32_t i : read.asArrayRef())
        sig.hostReadArgs.push_back(static_cast<uint32_t>(i));
  }
}

/// Parses `source` and checks that it holds at least one entry point.
llvm::Expected<OwningOpRef<ModuleOp>> parse(MLIRContext &ctx,
                                            llvm::StringRef source,
                                            const CompileOptions &options,
                                            const DiagnosticCollector &diags) {
  // The lexer finds the end of the text at a NUL byte, which a caller's
  // buffer (the C API's `size` bytes) need not have: it would read past the
  // buffer. std::string's copy ends with one.
  std::string text = source.str();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(&ctx), options.sourceName);
  if (!module)
    return diags.error("could not parse " + options.sourceName);
  return module;
}

LogicalResult lower(ModuleOp module, const CompileOptions &options,
                    llvm::StringRef deviceFormat = "") {
  // Callers' buffers are inputs only: bufferization must copy rather than
  // update an argument in place.
  for (auto fn : module.getOps<func::FuncOp>())
    if (!fn.isDeclaration())
      for (unsigned i = 0; i < fn.getNumArguments(); ++i)
        if (isa<TensorType>(fn.getArgument(i).getType()))
          fn.setArgAttr(i, "bufferization.writable",
                        BoolAttr::get(module.getContext(), false));
  PassManager pm(module.getContext());
  bool cuda = options.target == Target::cuda;
  if (std::getenv("MIXIR_PASS_TIMING"))
    pm.enableTiming(); // per-pass times on stderr (profiling compile latency)
  CUDADeviceCode deviceCode;
  if (cuda)
    deviceCode.format =
        deviceFormat.empty() ? jitDeviceFormat() : deviceFormat.str();
  if (llvm::Error e = buildPipeline(pm, options, deviceCode))
    return module.emitError(llvm::toString(std::move(e)));
  if (failed(pm.run(module)))
    return failure();
  // Name the first op the pipeline left outside the LLVM dialect, rather
  // than failing later in the translation without a location.
  Operation *leftover = nullptr;
  module.walk([&](Operation *op) {
    StringRef dialect = op->getDialect()->getNamespace();
    if (!leftover && op != module.getOperation() && dialect != "llvm" &&
        dialect != "omp" &&
        !(cuda && isa<gpu::BinaryOp, gpu::LaunchFuncOp>(op)))
      leftover = op;
  });
  if (leftover)
    return leftover->emitError("'")
           << leftover->getName() << "' was not lowered to the LLVM dialect";
  return success();
}

/// A module parsed from source and lowered by the target's pipeline, the
/// context it lives in, and the first error diagnosed on the way.
struct LoweredModule {
  std::unique_ptr<MLIRContext> context = makeContext();
  DiagnosticCollector diags{*context};
  OwningOpRef<ModuleOp> module;
};

/// Parses `source` (checked options) into `out`, collects the signatures of
/// its entry points into `signatures` when given, and runs the target's
/// pipeline (`deviceFormat` as in lower()).
llvm::Error parseAndLower(LoweredModule &out, llvm::StringRef source,
                          const CompileOptions &options,
                          std::vector<mixrt::FunctionSignature> *signatures,
                          llvm::StringRef deviceFormat = "") {
  initNativeTarget();
  auto module = parse(*out.context, source, options, out.diags);
  if (!module)
    return module.takeError();
  out.module = std::move(*module);
  // Backward functions (mix.derive_backward) are entry points too, so they
  // exist before the signatures are read.
  PassManager derive(out.context.get());
  derive.addPass(createDeriveBackward());
  if (failed(derive.run(*out.module)))
    return out.diags.error("deriving the backward of " + options.sourceName +
                           " failed");
  if (signatures) {
    signatures->clear();
    if (llvm::Error e = collectSignatures(*out.module, options, *signatures))
      return e;
  }
  if (failed(lower(*out.module, options, deviceFormat)))
    return out.diags.error("lowering " + options.sourceName + " failed");
  if (signatures)
    recordHostReads(*out.module, *signatures);
  return llvm::Error::success();
}

} // namespace

llvm::Error chooseCudaChip(CompileOptions &options, bool needDevice) {
  if (const char *env = std::getenv("MIXIR_CUDA_CHIP");
      options.chip.empty() && env && *env) {
    options.chip = env;
    if (llvm::Error e = validate(options))
      return e;
  }
  std::string noDevice;
  if (!mixrt::cudaAvailable(&noDevice)) {
    if (needDevice)
      return llvm::createStringError("target cuda: " + noDevice);
    return llvm::Error::success();
  }
  if (std::string device;
      options.chip.empty() && mixrt::cudaDeviceArchitecture(device)) {
    options.chip = device;
    if (llvm::Error e = validate(options))
      return e;
  }
  return llvm::Error::success();
}

namespace {

/// The runtime functions compiled code calls (memrefCopy, the shape error
/// hook, a test target's plugin's, the CUDA runtime's), as the artifact
/// loader provides them.
llvm::orc::SymbolMap runtimeSymbols(Target target,
                                    llvm::orc::MangleAndInterner interner) {
  llvm::orc::SymbolMap map;
  for (const mixrt::RuntimeCallback &c : mixrt::runtimeCallbacks(target))
    map[interner(c.name)] = {llvm::orc::ExecutorAddr::fromPtr(c.address),
                             llvm::JITSymbolFlags::Exported};
  for (const mixrt::RuntimeSymbol &s : mixrt::cudaRuntimeSymbols())
    map[interner(s.name)] = {llvm::orc::ExecutorAddr::fromPtr(s.address),
                             llvm::JITSymbolFlags::Exported};
  return map;
}

/// An execution engine for the lowered `module`, optimised at
/// `options.optLevel`, with the OpenMP and MixIR runtimes linked in.
llvm::Expected<std::unique_ptr<ExecutionEngine>>
createEngine(ModuleOp module, const CompileOptions &options) {
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return tmBuilder.takeError();
  llvm::CodeGenOptLevel codeGenLevel = options.optLevel >= 3
                                           ? llvm::CodeGenOptLevel::Aggressive
                                           : llvm::CodeGenOptLevel::Default;
  tmBuilder->setCodeGenOptLevel(codeGenLevel);
  auto tmForPasses = tmBuilder->createTargetMachine();
  if (!tmForPasses)
    return tmForPasses.takeError();
  auto tmForJit = tmBuilder->createTargetMachine();
  if (!tmForJit)
    return tmForJit.takeError();
  auto transformer =
      makeOptimizingTransformer(options.optLevel, 0, tmForPasses->get());
  ExecutionEngineOptions eo;
  // The OpenMP runtime behind the parallel (batch, head) loops.
  llvm::StringRef sharedLibs[] = {MIXIR_LIBOMP_PATH};
  eo.sharedLibPaths = sharedLibs;
  eo.transformer = transformer;
  eo.jitCodeGenOptLevel = codeGenLevel;
  eo.enableGDBNotificationListener = false;
  eo.enablePerfNotificationListener = false;
  auto engine = ExecutionEngine::create(module, eo, std::move(*tmForJit));
  if (!engine)
    return engine.takeError();
  (*engine)->registerSymbols(
      [target = options.target](llvm::orc::MangleAndInterner interner) {
        return runtimeSymbols(target, interner);
      });
  return std::move(*engine);
}
} // namespace

JitModule::JitModule() = default;
JitModule::~JitModule() = default;

llvm::Expected<std::unique_ptr<JitModule>>
JitModule::compile(llvm::StringRef source, const CompileOptions &given) {
  if (llvm::Error e = validate(given))
    return std::move(e);
  CompileOptions options = given;
  if (options.target == Target::cuda)
    if (llvm::Error e = chooseCudaChip(options))
      return std::move(e);
  std::unique_ptr<JitModule> jm(new JitModule());
  jm->target = options.target;
  LoweredModule lowered;
  if (llvm::Error e = parseAndLower(lowered, source, options, &jm->signatures))
    return std::move(e);
  auto engine = createEngine(*lowered.module, options);
  if (!engine)
    return engine.takeError();
  jm->engine = std::move(*engine);
  // Target cuda: the module's constructors load the device code.
  (void)mixrt::cudaTakeStatus();
  jm->engine->initialize();
  if (mixrt::Status s = mixrt::cudaTakeStatus(); !s)
    return llvm::createStringError("target cuda: loading the kernels failed: " +
                                   s.message());
  for (const auto &sig : jm->signatures) {
    auto fn = jm->engine->lookupPacked(sig.name);
    if (!fn)
      return fn.takeError();
    jm->entryPoints.push_back(*fn);
  }
  // A cached module keeps its context alive.
  jm->context = std::move(lowered.context);
  return jm;
}

const mixrt::FunctionSignature *JitModule::lookup(llvm::StringRef name) const {
  for (const auto &sig : signatures)
    if (sig.name == name)
      return &sig;
  return nullptr;
}

mixrt::Status JitModule::call(llvm::StringRef name,
                              const std::vector<mixrt::ArrayView> &args,
                              std::vector<mixrt::HostArray> &results) const {
  for (size_t i = 0; i < signatures.size(); ++i) {
    if (signatures[i].name != name)
      continue;
    return mixrt::callCompiled(entryPoints[i], target, signatures[i], args,
                               results);
  }
  std::string known;
  for (const auto &sig : signatures)
    known += (known.empty() ? "@" : ", @") + sig.name;
  return mixrt::Status::error("no function @" + name.str() +
                              " in the module (it has " + known + ")");
}

llvm::Expected<std::string> readSourceFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError("cannot read '" + path.str() +
                                   "': " + buffer.getError().message());
  llvm::StringRef text = (*buffer)->getBuffer();
  if (text.contains('\0'))
    return llvm::createStringError("'" + path.str() + "' is not MLIR text");
  return text.str();
}

namespace {
/// The device code of every gpu.binary in `module`.
std::vector<DeviceBinary> collectDeviceCode(ModuleOp module,
                                            llvm::StringRef chip) {
  std::vector<DeviceBinary> binaries;
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    for (Attribute a : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(a);
      if (!object)
        continue;
      DeviceBinary out;
      out.name = binary.getSymName().str();
      out.target = chip.str();
      out.bytes = object.getObject().getValue().str();
      binaries.push_back(std::move(out));
    }
  }
  return binaries;
}
} // namespace

llvm::Expected<std::unique_ptr<llvm::Module>>
lowerToLLVMModule(llvm::StringRef source, const CompileOptions &options,
                  llvm::LLVMContext &llvmContext,
                  std::vector<mixrt::FunctionSignature> &signatures,
                  std::vector<DeviceBinary> *deviceCode) {
  if (llvm::Error e = validate(options))
    return std::move(e);
  // Target cuda: the host code embeds PTX (the runtime may load other code).
  bool cuda = options.target == Target::cuda;
  LoweredModule lowered;
  if (llvm::Error e = parseAndLower(lowered, source, options, &signatures,
                                    cuda ? "isa" : ""))
    return std::move(e);
  if (deviceCode)
    *deviceCode = collectDeviceCode(*lowered.module, options.chipOrDefault());
  auto llvmModule = translateModuleToLLVMIR(*lowered.module, llvmContext);
  if (!llvmModule)
    return lowered.diags.error("translation of " + options.sourceName +
                               " to LLVM IR failed");
  return llvmModule;
}

llvm::Expected<std::string> lowerToText(llvm::StringRef source,
                                        const CompileOptions &options,
                                        bool emitLLVMIR) {
  if (llvm::Error e = validate(options))
    return std::move(e);
  LoweredModule lowered;
  if (llvm::Error e = parseAndLower(lowered, source, options, nullptr))
    return std::move(e);
  std::string out;
  llvm::raw_string_ostream os(out);
  if (!emitLLVMIR) {
    lowered.module->print(os);
    return out;
  }
  llvm::LLVMContext llvmCtx;
  auto llvmModule = translateModuleToLLVMIR(*lowered.module, llvmCtx);
  if (!llvmModule)
    return lowered.diags.error("translation to LLVM IR failed");
  llvmModule->print(os, nullptr);
  return out;
}

llvm::Expected<std::vector<DeviceBinary>>
lowerToDeviceCode(llvm::StringRef source, const CompileOptions &options,
                  llvm::StringRef format) {
  if (options.target != Target::cuda)
    return llvm::createStringError(
        std::string("device code needs target cuda, not '") +
        mixrt::targetName(options.target) + "'");
  if (llvm::Error e = validate(options))
    return std::move(e);
  if (llvm::Error e = checkDeviceCode(CUDADeviceCode{format.str(), ""}))
    return std::move(e);
  LoweredModule lowered;
  if (llvm::Error e = parseAndLower(lowered, source, options, nullptr, format))
    return std::move(e);
  std::vector<DeviceBinary> binaries =
      collectDeviceCode(*lowered.module, options.chipOrDefault());
  if (binaries.empty())
    return llvm::createStringError(options.sourceName +
                                   ": the CUDA pipeline produced no device "
                                   "code (no gpu.binary with an object)");
  return binaries;
}

} // namespace mixir
