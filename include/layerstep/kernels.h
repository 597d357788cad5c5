/* kernels.h - what the fast kernels need from whoever runs them: a thread
 * pool, a cache of weights packed once, and the CPU's vector ISA.
 *
 *   ls_pool *pool = ls_pool_new(ls_cpu_count(), &err);   // the executor owns one
 *   ls_pack_cache *packs = ls_pack_cache_new();
 *   ls_op_ctx ctx = {.threads = 2, .pool = pool, .packs = packs, .isa = ls_cpu_isa()};
 *   ... ls_op_compute(..., &ctx, ...) ...
 *   ls_pack_cache_free(packs); ls_pool_free(pool);
 *
 * Nothing here is global: the executor creates a pool and a cache in
 * ls_exec_new and frees them in ls_exec_free.  A ctx without them runs on
 * the calling thread and packs on every call.
 */
#ifndef LAYERSTEP_KERNELS_H
#define LAYERSTEP_KERNELS_H

#include <stddef.h>

#include "layerstep/ops.h"

/* The vector ISA of the GEMM micro-kernels.  LS_ISA_AUTO asks the CPU. */
typedef enum ls_isa { LS_ISA_AUTO = 0, LS_ISA_GENERIC, LS_ISA_AVX2, LS_ISA_AVX512 } ls_isa;

/* The best ISA this CPU and OS support (__builtin_cpu_supports, no cache). */
ls_isa ls_cpu_isa(void);
const char *ls_isa_name(ls_isa isa);   /* "avx512", "avx2", "generic" */
/* Online CPUs (sysconf), at least 1. */
int ls_cpu_count(void);

/* ---- thread pool ----
 * n threads in all, the caller included (n - 1 workers).  ls_pool_run
 * calls fn(ud, task, thread) for every task in [0, n_tasks), spread over
 * min(threads, n_tasks) threads, and returns when all are done.  Not
 * reentrant: one run at a time, from one thread. */
typedef struct ls_pool ls_pool;
ls_pool *ls_pool_new(int threads, ls_error *err);
void ls_pool_free(ls_pool *p);
int ls_pool_threads(const ls_pool *p);
void ls_pool_run(ls_pool *p, int threads, void (*fn)(void *ud, int task, int thread), void *ud,
                 int n_tasks);
/* Scratch memory of one pool thread, kept between runs; grown on demand
 * (NULL if out of memory).  64-byte aligned. */
void *ls_pool_scratch(ls_pool *p, int thread, int slot, size_t bytes);

/* ---- packed weights ----
 * Weights (ls_op_ctx.const_inputs) are packed into the GEMM's panel
 * layout on first use and kept here, keyed by address and layout.  One
 * cache may serve several executors of a model (ls_exec_opts.packs), in
 * several threads: lookups and inserts take its lock, entries are never
 * moved or freed before ls_pack_cache_free. */
typedef struct ls_pack_cache ls_pack_cache;
ls_pack_cache *ls_pack_cache_new(void);
void ls_pack_cache_free(ls_pack_cache *c);
size_t ls_pack_cache_bytes(const ls_pack_cache *c);

#endif
