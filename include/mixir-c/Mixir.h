/*===- mixir-c/Mixir.h - MixIR compiler C API ----------------------*- C -*-===
 *
 * Compile MLIR text (mix ops and upstream dialects on tensors) into modules
 * that run in-process, and serialize them to artifacts. Link libmixir; it
 * includes the whole runtime API of mixir-c/Runtime.h.
 *
 * A compiler context holds its options and a cache: compiling the same
 * source with the same options again returns the module compiled before
 * (in memory), and, with a cache directory, artifacts are stored on disk
 * under a hash of source, options, compiler version (and the compiler
 * binary's path, size and mtime) and host CPU, so another
 * process skips the compilation too. Contexts share nothing; one context may
 * be used from several threads.
 *
 *===----------------------------------------------------------------------===*/
#ifndef MIXIR_C_MIXIR_H
#define MIXIR_C_MIXIR_H

#include "mixir-c/Runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* chunk_size: the target's choice (on "cpu" a cost model picks each op's
   form and chunk). */
#define MIXIR_CHUNK_SIZE_DEFAULT (-1)

typedef struct mixir_compiler_options_t {
  const char *target; /* "cpu" (default) or "cuda" (an artifact with a cubin
                         for `chip`; loading it needs the driver) */
  const char *chip;   /* GPU architecture, target "cuda" only; NULL: the
                         default */
  int64_t chunk_size; /* chunked lowering's chunk (a power of two <= 128);
                         0: recurrent form; default MIXIR_CHUNK_SIZE_DEFAULT */
  int32_t opt_level;  /* LLVM optimisation level 0-3, default 3 */
  /* On-disk cache directory: NULL uses $MIXIR_CACHE_DIR when set (and no
   * disk cache when that directory cannot be created), "" turns the disk
   * cache off. Created when missing; mixir_compiler_create fails when an
   * explicit directory cannot be created. */
  const char *cache_dir;
  /* Bound on the total size of the artifacts in the cache directory: after
   * writing a new one, the least recently used others (written or hit the
   * longest ago, in any process) are deleted until the total is within it.
   * 0 (the default): $MIXIR_CACHE_MAX_BYTES when set (a whole number of
   * bytes; anything else makes mixir_compiler_create fail), else
   * MIXIR_CACHE_MAX_BYTES_DEFAULT; negative: no bound. */
  int64_t cache_max_bytes;
} mixir_compiler_options_t;

/* The disk cache's bound when nothing sets one: 1 GiB. */
#define MIXIR_CACHE_MAX_BYTES_DEFAULT (INT64_C(1) << 30)

/* Fills `options` with the defaults. */
MIXIR_API void mixir_compiler_options_init(mixir_compiler_options_t *options);

typedef struct mixir_compiler_s *mixir_compiler_t;

/* `options` may be NULL (defaults); the strings are copied. */
MIXIR_API mixir_status_t mixir_compiler_create(
    const mixir_compiler_options_t *options, mixir_compiler_t *out);
MIXIR_API void mixir_compiler_destroy(mixir_compiler_t compiler);

/* Compiles `size` bytes of MLIR text; `source_name` (may be NULL) names the
 * buffer in diagnostics. The error status carries the first diagnostic with
 * its location. */
MIXIR_API mixir_status_t mixir_compiler_compile(mixir_compiler_t compiler,
                                                const char *source, size_t size,
                                                const char *source_name,
                                                mixir_module_t *out);
MIXIR_API mixir_status_t mixir_compiler_compile_file(mixir_compiler_t compiler,
                                                     const char *path,
                                                     mixir_module_t *out);

typedef struct mixir_cache_stats_t {
  uint64_t compiles;     /* modules compiled from source */
  uint64_t memory_hits;  /* served from the in-memory cache */
  uint64_t disk_hits;    /* loaded from the disk cache */
  uint64_t disk_rejects; /* disk cache files rejected (corrupt, foreign) */
} mixir_cache_stats_t;

MIXIR_API mixir_status_t mixir_compiler_cache_stats(mixir_compiler_t compiler,
                                                    mixir_cache_stats_t *out);
/* Empties the in-memory cache (modules in use stay valid). */
MIXIR_API mixir_status_t mixir_compiler_clear_cache(mixir_compiler_t compiler);

/* "mixir 0.1.0 (LLVM x.y.z, <git hash>)", also recorded in artifacts. */
MIXIR_API const char *mixir_compiler_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MIXIR_C_MIXIR_H */
