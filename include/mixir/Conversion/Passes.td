//===- Passes.td - mix lowering passes ----------------------*- tablegen -*-===//
#ifndef MIXIR_CONVERSION_PASSES_TD
#define MIXIR_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMixToLoops : Pass<"convert-mix-to-loops"> {
  let summary = "Lower mix ops to their recurrent per-token loops";
  let description = [{
    Rewrites every `mix` op into the recurrent form of MIXERS.md on tensors:
    `scf.for` loops over batch, heads and tokens, vectorised over the key or
    value axis (`vector.transfer_read/write`), with f32 state and
    accumulation. Dynamic batch and sequence sizes are checked at run time:
    a mismatch calls `mixrtShapeError` with a message naming the operand and
    skips the computation instead of reading out of bounds.

    With `gpu-blocks` (the CUDA pipeline sets it) `mix.rnn` takes the form
    `convert-chunked-to-gpu` runs on thread blocks: one `scf.forall`
    iteration per (batch, head), the head's recurrent weights copied once
    into a tile, and each token's pre-activations, `r h` products and state
    update as `linalg` ops on tiles, which the block's threads share.
  }];
  let options = [
    Option<"gpuBlocks", "gpu-blocks", "bool", /*default=*/"false",
           "Lower mix.rnn for convert-chunked-to-gpu (one thread block per "
           "(batch, head)) instead of the CPU's vector form">
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::math::MathDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect", "mlir::linalg::LinalgDialect"
  ];
}

def FuseElementwiseIntoExtracts
    : Pass<"mix-fuse-elementwise-into-extracts", "mlir::func::FuncOp"> {
  let summary = "Compute element-wise producers where the lowered mix ops "
                "read their elements";
  let description = [{
    The chunked and recurrent forms read per-token operands (gates, beta)
    element by element with `tensor.extract`. Where such a tensor is the
    result of an element-wise `linalg.generic` (all loops parallel, inputs
    read through projected permutations, such as a gate prologue:
    `beta = sigmoid(b)`, `g = -exp(A_log[h]) * softplus(a + dt_bias[h])`),
    and nothing but extracts and `tensor.dim` reads it, each extract
    computes its element from the generic's inputs instead, and the
    generic goes: the prologue runs inside the mixer's loops (on CUDA,
    inside its kernel rather than on the host) and its tensor is never
    written. Runs after `convert-mix-to-chunked` and `convert-mix-to-loops`.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def SplitSegments : Pass<"mix-split-segments"> {
  let summary = "The two-pass schedule: segments of a sequence in parallel";
  let description = [{
    Rewrites each causal, dense `mix.linear_attention` and `mix.delta_rule`
    into the segment-parallel (two-pass) schedule of MIXERS.md's segment
    summaries: the op packed (`varlen`) over `segments` segments of every
    sequence from zero states gives each segment's state contribution `C`;
    `M` is the segment's summed log decay (linear attention) or, for the
    delta rule, the op run with `v = 0` from the identity; a scan over each
    sequence's segments, `S <- M S + C`, gives the state entering each
    segment and the final state; the op packed over the segments again,
    from those states, gives the outputs. About twice the work (three times
    for the delta rule) for `segments` times the independent problems.
    Packed, pooled, per-token-state, non-causal and normalised ops are left
    alone.

    With `sm-count` (a GPU's SM count) the pass chooses: segments enough for B = 1 to fill the SMs (a power of
    two up to 32), and a run-time branch that takes the split only when
    `B x Hv` is at most half the SM count (a third for the delta rule) and
    `T >= 256 x segments`, the fused op otherwise. The CUDA pipeline does
    not run it yet: no GPU has timed it against the fused schedule, and the
    two branches triple the kernels' code.
  }];
  let options = [
    Option<"segments", "segments", "int64_t", /*default=*/"1",
           "Segments per sequence (1: leave the ops alone)">,
    Option<"smCount", "sm-count", "int64_t", /*default=*/"0",
           "The GPU's SM count: choose the segments per op and take the "
           "split at run time only when B x H leaves most SMs idle (0: "
           "always split, into `segments`)">
  ];
  let dependentDialects = ["mixir::mix::MixDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect", "mlir::scf::SCFDialect"];
}

def ExpandLinearAttention : Pass<"mix-expand-linear-attention"> {
  let summary = "Rewrite non-causal and normalised linear attention";
  let description = [{
    Rewrites each `mix.linear_attention` with `causal = false` or
    `normalize` into plain causal `mix.linear_attention` ops and
    element-wise `linalg.generic`s (MIXERS.md): the forward op, for
    `causal = false` a second causal op on the time-reversed sequence
    (queries shifted by one position, each key's own decay folded into its
    value, or into the key for per-channel gates, the reversed gate), whose
    output is added back in forward order; for `normalize` `v` with one or
    two columns of ones appended, whose output divides the others (a zero
    divisor gives 0). With gate `none` and `causal = false` it builds the
    global form instead, no causal op: the state `S = sum_t k v^T` per
    state head and `o = S^T (scale q)` per output head (divided by
    `scale q . sum_t k` for `normalize`), as `linalg.generic` contractions
    in f32. `convert-mix-to-loops` and `convert-mix-to-chunked` run this
    rewrite first, so every target takes it.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect", "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def SelectAlgorithm : Pass<"mix-select-algorithm"> {
  let summary = "Choose the chunked or recurrent form and the chunk length";
  let description = [{
    Sets `chunk_size` on every mix op that has a chunkwise lowering and no
    `chunk_size` yet. With the `chunk-size` option unset (the default:
    nobody asked for a chunk length) a cost model for the CPU chooses
    between the recurrent form (0) and chunks of 16, 32, 64 or 128 tokens:
    a measured table (lib/Conversion/MixToLoops/CostTable.inc, written by
    scripts/calibrate_cpu_costs.py) holds the time per token and state head
    of each form for each op, gate kind and element type at K = V = 64 and
    128 (mix.recurrence at R = 1). An op takes the row of its op, nearest
    gate kind and element type (with `amx`, bf16 ops whose tile products
    run on AMX take the `bf16+amx` rows) with the nearest K * V, and scales each
    form's time by the ratio of its FLOPs per token at the op's K, V and
    rank to those at the row's (recurrent: `2 K V (1 + R)`; chunked with C
    tokens: that plus `C (K + V) (1 + R) + C R^2 K / 2`; R is 1 for the
    delta rule, 0 for linear attention); a static length excludes chunks
    longer than itself and pays for the padding of the last chunk. The
    cheapest form wins (a chunk only when more than 5% cheaper than the
    recurrent form). With the option given: the option, or 0 when the
    option is 0 or the sequence length is static and shorter than one chunk
    (unless `short-recurrent` is false, as on CUDA).
    For a dynamic length the chunked lowering itself adds a run-time branch
    to the recurrent form for sequences shorter than a chunk (decode; its
    option of the same name); the model does not move that threshold. An
    op's own `chunk_size` is kept.
    This pass is where the chunk
    of `mix.recurrence` is chosen: the option (or the model's choice) capped
    to the largest power of
    two `C` with `C * R <= 128` (`R` its low-rank terms; the chunked form
    solves a triangular system of `C * R` rows per chunk, unrolled in
    16-row blocks), i.e. 128 for `R <= 1`, 64 for `R = 2`, 32 for `R = 3, 4`.
    An explicit `chunk_size` with `chunk_size * R > 128` is an error naming
    the op (here and in `convert-mix-to-chunked`), never changed. With
    `cuda-chunks` (the CUDA pipeline) so is an explicit `chunk_size` outside
    what the CUDA kernels run (16 to 64 tokens; not 0, the recurrent form,
    except on `mix.scan`), and with the `chunk-size` option unset the ops
    take 16 tokens, `mix.scan` its recurrent form (one kernel; the chunked
    scan takes three).
  }];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t",
           /*default=*/"::mixir::kChunkSizeUnset",
           "Tokens per chunk: 0 (the recurrent form) or a power of two up to "
           "kMaxChunkSize (mixir/Compiler/ChunkSize.h); unset: the CPU cost "
           "model chooses per op">,
    Option<"shortRecurrent", "short-recurrent", "bool", /*default=*/"true",
           "With the chunk-size option: a static length shorter than one "
           "chunk takes the recurrent form; false: the chunk">,
    Option<"cudaChunks", "cuda-chunks", "bool", /*default=*/"false",
           "The CUDA target's rules: an op's own chunk_size must be one the "
           "CUDA kernels run (checkCudaChunkSize; or 0 for mix.scan), an "
           "error naming the op otherwise; with chunk-size unset, "
           "kCudaMinChunkSize, and 0 for mix.scan">,
    Option<"amx", "amx", "bool", /*default=*/"false",
           "The ops whose tile products run on AMX (convert-mix-to-chunked's "
           "bf16-products) are priced by the table's bf16+amx rows, where "
           "it has them">
  ];
}

def ConvertMixToChunked : Pass<"convert-mix-to-chunked"> {
  let summary = "Lower mix ops to the chunkwise-parallel form";
  let description = [{
    Rewrites `mix.linear_attention` (every gate kind) into the chunked form of
    MIXERS.md: per chunk of `chunk_size` tokens (the op's attribute, else the
    pass option), the intra-chunk masked product `(Q K^T) * exp(Gc_i - Gc_j)`
    (per 16-token sub-chunk for per-channel gates) and the inter-chunk term
    `(Q * exp(Gc)) S` as matmul-shaped linalg ops on static tiles, and a
    sequential state loop over chunks. A sequence shorter than one chunk takes
    the recurrent form (a run-time branch when the length is dynamic), unless
    `short-recurrent` is false.
    `mix.delta_rule` gets the WY/UT form of the DeltaNet paper and
    `mix.recurrence` its generalisation to `R` low-rank terms (a triangular
    solve of `C * R` rows per chunk; without `chunk_size` it takes the pass
    option capped as in `mix-select-algorithm`); `mix.scan` a
    chunked scan (local scans in parallel, a carry pass, outputs in
    parallel); `mix.attention` the flash form (query and key blocks of
    `chunk-size`, online softmax, blocks outside the causal or window mask
    skipped). Ops with `chunk_size = 0` are left for `convert-mix-to-loops`.
  }];
  let options =
      [Option<"chunkSize", "chunk-size", "int64_t",
              /*default=*/"::mixir::kDefaultChunkSize",
              "Tokens per chunk for ops without a chunk_size: 0 (the recurrent "
              "form) or a power of two up to kMaxChunkSize">,
       Option<"factorBlocks", "factor-blocks", "bool", /*default=*/"true",
              "Per-channel gates: factor each diagonal 16-token block's decay "
              "through one reference row when its exponents stay within 30 "
              "(one matmul; a run-time branch to the exact per-entry exponent "
              "otherwise); false: always the exact form">,
       Option<"shortRecurrent", "short-recurrent", "bool",
              /*default=*/"true",
              "A sequence shorter than one chunk takes the recurrent form "
              "(on the CPU a chunk's tile products cost more than its few "
              "steps); false: the chunked form at every length (CUDA: one "
              "kernel per op, whose state stays in the block's shared "
              "tiles)">,
       Option<"bf16Products", "bf16-products", "bool", /*default=*/"false",
              "Ops with bf16 inputs and no low-rank terms "
              "(mix.linear_attention, mix.recurrence with R = 0) and "
              "mix.attention: the chunked and flash forms' tile products "
              "that fill whole AMX tiles take bf16 operands and accumulate "
              "in f32 (the CPU pipeline sets it with AMX, whose "
              "mix-matmul-to-amx takes these products)">];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect", "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect", "mlir::vector::VectorDialect",
    "mlir::func::FuncDialect", "mlir::memref::MemRefDialect"
  ];
}

def VectorizeTiles : Pass<"mix-vectorize-tiles", "mlir::func::FuncOp"> {
  let summary = "Tile and vectorise the linalg ops on chunk tiles for the CPU";
  let description = [{
    Tiles every statically shaped linalg op (the matmul-shaped contractions
    and element-wise maps of the chunked form, fills and copies) into
    register tiles: contractions to `8 x 32 x 1` (an outer-product
    micro-kernel of 8 rows by 32 columns per reduction step), element-wise
    ops to `8 x 32`; vectorises each tile (masked where a dimension is not a
    multiple of the tile) and lowers the vector contractions to FMAs. Math
    functions on vectors become polynomial approximations so they stay
    vectorised. Vector widths follow the host through LLVM.

    With `amx`, the matmuls that mix-matmul-to-amx takes (bf16 tiles into
    an f32 tile, in whole AMX tiles) are left whole for it.
  }];
  let options =
      [Option<"amx", "amx", "bool", /*default=*/"false",
              "Leave bf16 x bf16 -> f32 tile matmuls that fit AMX tiles to "
              "mix-matmul-to-amx">];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect", "mlir::math::MathDialect",
    "mlir::tensor::TensorDialect", "mlir::affine::AffineDialect"
  ];
}

def MatmulToAmx : Pass<"mix-matmul-to-amx", "mlir::func::FuncOp"> {
  let summary = "bf16 tile matmuls on the AMX tile unit (after bufferization)";
  let description = [{
    Rewrites each `linalg.matmul` of static bf16 [M, K] and [K, N] buffers
    into an f32 [M, N] buffer, with M and N multiples of 16 and K of 32,
    into AMX tile operations: the right operand is first packed in pairs of
    rows (the layout `tdpbf16ps` reads) into a heap buffer, then each
    16 x 16 block of the result is loaded into a tile, accumulates
    `amx.tile_mulf` of 16 x 32 tiles along K, and is stored back. Only for
    hosts with AMX-BF16 whose OS grants the tile state (the CPU pipeline's
    `amx`).
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect", "mlir::memref::MemRefDialect",
    "mlir::amx::AMXDialect"
  ];
}

def HoistVectorTransfers : Pass<"mix-hoist-vector-transfers", "mlir::func::FuncOp"> {
  let summary = "Keep accumulator tiles in registers across reduction loops";
  let description = [{
    After bufferization, hoists the read and write of a vector accumulator
    out of the loops that only update it, and loop-invariant reads of
    buffers a loop does not write: the rules of upstream
    `hoistRedundantVectorTransfers` (loops that run at least once, no view
    sources, other accesses in the loop disjoint), applied in one sweep over
    the loops, innermost first, rather than restarting after every pair
    (quadratic in the number of register tiles of a chunked body).
  }];
}

def ConvertChunkedToGPU : Pass<"convert-chunked-to-gpu", "mlir::ModuleOp"> {
  let summary = "Run the chunked (or recurrent) form of mix ops on the GPU";
  let description = [{
    The GPU back end of the one chunked form, and the only one: every mix
    op is lowered by `convert-mix-to-chunked` (`mix.rnn` by
    `convert-mix-to-loops` with `gpu-blocks`) into an `scf.forall` over the
    independent problems ((batch, state head); attention's query blocks),
    whose body is the chunk loop on static tiles. This pass bufferizes the module, lowers the tile ops to parallel
    loops, and turns each such top-level `scf.forall` into host code that
    copies the buffers the loop reads to the GPU, launches one block per
    (batch, state head), and copies back the buffers the loop writes, on one
    chain of async tokens. Kernels are outlined.

    A block of `block-threads` threads runs its iteration together: the
    tile ops' parallel loops are spread over the threads, other writes run
    on thread 0 with their results broadcast through shared memory,
    barriers separate them, and the tiles live in shared memory while they
    fit (46 KiB), in a per-block slice of a global scratch buffer beyond.
    With `block-threads=1` (or a body this mapping does not take) one
    thread runs the iteration with its tiles in thread-private memory. A
    module without such a loop is left unchanged.

    The tile products with 16-bit inputs run on the tensor cores: each warp
    takes 16 x 8 tiles of the result with `mma.sync` m16n8k16, or, with
    `warpgroup-mma` (sm_90a), the block of 128 threads is one warpgroup and
    a product whose M is a multiple of 64 runs as `wgmma.mma_async`
    m64nNk16, its operands staged in shared memory for each step of 16
    along K (the staging buffer comes out of the 46 KiB first).
  }];
  let options =
      [Option<"blockThreads", "block-threads", "int64_t", /*default=*/"128",
              "Threads per block (1: one thread runs each iteration alone)">,
       Option<"warpgroupMma", "warpgroup-mma", "bool", /*default=*/"false",
              "Run tile products as Hopper warpgroup MMAs (sm_90a)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::gpu::GPUDialect", "mlir::nvgpu::NVGPUDialect",
                           "mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect",
                           "mlir::func::FuncDialect",
                           "mlir::tensor::TensorDialect"];
}

def LowerMmaSync : Pass<"mix-lower-mma-sync"> {
  let summary = "Lower 16-bit nvgpu.mma.sync to nvvm.mma.sync";
  let description = [{
    Upstream nvgpu-to-nvvm handles f16, tf32 and integer mma.sync only (bf16
    fails). This pass rewrites `nvgpu.mma.sync` with bf16 or f16 operands
    (m16n8k16, f32 accumulators) into `nvvm.mma.sync`: bf16 registers packed
    as i32, f16 as vector<2xf16>. Run it before `convert-nvgpu-to-nvvm`.
  }];
  let dependentDialects = [
    "mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect",
    "mlir::vector::VectorDialect"
  ];
}

def LegalizeExpandShape : Pass<"mix-legalize-expand-shape"> {
  let summary = "Write dynamic splits of memref.expand_shape as casts";
  let description = [{
    MLIR 22's `expand-strided-metadata` crashes on a `memref.expand_shape`
    that splits one dimension into several dynamic sizes ([B*T, D] to
    [B, T, D] with B and T dynamic). On a row-major source with a row-major
    result, such an expansion is rewritten as `memref.reinterpret_cast`
    with the output sizes and their suffix products as strides. In host
    code outside parallel regions, each group's sizes are checked against
    the source's at run time: a mismatch is reported through
    `mixrtShapeError` and gives the view zero sizes. Run it
    after bufferization, while `scf` and `func.func` are still there, and
    before `expand-strided-metadata`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def MarkHostReadArgs : Pass<"mix-mark-host-read-args", "mlir::ModuleOp"> {
  let summary = "Record which arguments of the host code it reads itself";
  let description = [{
    Runs on bufferized host code of target cuda. An argument of a public
    function is *device-only* when the host code uses it only for its
    sizes and strides (`memref.dim`, `memref.extract_strided_metadata`), as
    the source or destination of a `gpu.memcpy`, or as a `gpu.launch_func`
    operand, directly or through view-like ops (casts, subviews, reshapes).
    Any other use (a load, a linalg op, a call) reads it on the host: the
    packed sequences' offsets and the state pools' indices, which the host
    checks, and tensors that ops without a kernel read on the CPU. The pass
    sets `mix.host_read_args` (the indices of those arguments, ascending) on
    each public function that has any; the compiler records it in the
    function's signature, so a call on device buffers hands the host code
    host copies of exactly those arguments.
  }];
}

#endif
