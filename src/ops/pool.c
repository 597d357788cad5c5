/* pool.c - the executor's thread pool and the CPU probe.
 *
 * A run is a generation g: the caller publishes the job (fn, ud, n_tasks)
 * in slot g % 2, then one 64-bit word `work` = g << 32 | next task index,
 * and takes part as thread 0.  Every thread claims task indices with a
 * compare-and-swap on `work`, which checks the generation and the index in
 * one step, so a thread that wakes late (descheduled by another process on
 * a busy machine) can never take a task of another run.  The caller waits
 * for the run's tasks to be *finished*, not for every worker to show up:
 * when the other core is busy, the caller simply does all the tasks itself
 * instead of stalling on a worker that is not running (the old scheme
 * waited for every worker's acknowledgement, and one descheduled worker
 * stalled every op: 1.7 s instead of 0.28 s for the Conformer).
 *
 * The ops are short (tens of microseconds to a few milliseconds) and come
 * back to back, so a worker spins for a while before it sleeps: waking a
 * sleeping thread through a condition variable costs more than many small
 * ops.
 *
 *   caller: job -> work = g<<32 (wake sleepers) -> claim+run -> wait finished == n_tasks
 *   worker: wait gen(work) != seen (spin, then cond) -> claim+run while gen matches
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#include "layerstep/kernels.h"

enum { SLOTS = 4 };
/* How long an idle worker spins before sleeping (ns). */
#define SPIN_NS 2000000L

typedef struct scratch {
    void *p;
    size_t cap;
} scratch;

typedef struct worker_arg {
    struct ls_pool *pool;
    int index;
} worker_arg;

typedef void (*task_fn)(void *ud, int task, int thread);

/* One run's job.  Atomic fields: a late thread may read a slot while the
 * caller refills it for a later run; its claim then fails on `work`. */
typedef struct job {
    _Atomic(task_fn) fn;
    _Atomic(void *) ud;
    atomic_int n_tasks, active;
} job;

struct ls_pool {
    int n;                 /* threads, the caller included */
    int started;           /* workers actually created */
    pthread_t *tid;
    worker_arg *args;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t work; /* generation << 32 | next task index */
    unsigned gen;          /* the caller's: last generation posted */
    job jobs[2];           /* by generation parity */
    atomic_int finished;   /* tasks of the current run done */
    atomic_int sleepers;
    atomic_bool stop;
    scratch *scr;          /* n * SLOTS */
};

ls_isa ls_cpu_isa(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    /* __builtin_cpu_supports also checks that the OS saves the wide
     * registers (XCR0), so a "yes" is safe to act on. */
    if (__builtin_cpu_supports("avx512f"))
        return LS_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return LS_ISA_AVX2;
#endif
    return LS_ISA_GENERIC;
}

const char *ls_isa_name(ls_isa isa)
{
    switch (isa) {
    case LS_ISA_AVX512:
        return "avx512";
    case LS_ISA_AVX2:
        return "avx2";
    case LS_ISA_GENERIC:
        return "generic";
    default:
        return "auto";
    }
}

int ls_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static unsigned gen_of(uint64_t w) { return (unsigned)(w >> 32); }

/* Claims and runs tasks of generation g until none is left or another
 * run has started. */
static void run_tasks(ls_pool *p, int thread, unsigned g)
{
    const job *j = &p->jobs[g & 1];
    uint64_t w = atomic_load_explicit(&p->work, memory_order_acquire);
    for (;;) {
        if (gen_of(w) != g)
            return;
        int n = atomic_load_explicit(&j->n_tasks, memory_order_relaxed);
        if (thread >= atomic_load_explicit(&j->active, memory_order_relaxed) ||
            (uint32_t)w >= (uint32_t)n)
            return;
        task_fn fn = atomic_load_explicit(&j->fn, memory_order_relaxed);
        void *ud = atomic_load_explicit(&j->ud, memory_order_relaxed);
        /* the CAS proves the generation (and so fn, ud, n) is still g's */
        if (!atomic_compare_exchange_weak_explicit(&p->work, &w, w + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        fn(ud, (int)(uint32_t)w, thread);
        atomic_fetch_add_explicit(&p->finished, 1, memory_order_release);
        w = atomic_load_explicit(&p->work, memory_order_acquire);
    }
}

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    ls_pool *p = wa->pool;
    /* generation 0 is never posted; reading `work` here instead would miss
     * a first run posted before this thread got scheduled (a hang) */
    unsigned seen = 0;
    for (;;) {
        /* spin, then sleep */
        long t0 = now_ns();
        int spins = 0;
        while (gen_of(atomic_load_explicit(&p->work, memory_order_acquire)) == seen &&
               !atomic_load(&p->stop)) {
            CPU_RELAX();
            if (++spins % 256 == 0 && now_ns() - t0 > SPIN_NS) {
                pthread_mutex_lock(&p->mu);
                atomic_fetch_add(&p->sleepers, 1);
                while (gen_of(atomic_load(&p->work)) == seen && !atomic_load(&p->stop))
                    pthread_cond_wait(&p->cv, &p->mu);
                atomic_fetch_sub(&p->sleepers, 1);
                pthread_mutex_unlock(&p->mu);
            }
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = gen_of(atomic_load_explicit(&p->work, memory_order_acquire));
        run_tasks(p, wa->index, seen);
    }
}

ls_pool *ls_pool_new(int threads, ls_error *err)
{
    if (threads < 1)
        threads = 1;
    ls_pool *p = calloc(1, sizeof *p);
    if (!p) {
        ls_error_set(err, LS_ERR_NOMEM, "out of memory creating the thread pool");
        return NULL;
    }
    p->n = threads;
    p->tid = calloc((size_t)threads, sizeof *p->tid);
    p->args = calloc((size_t)threads, sizeof *p->args);
    p->scr = calloc((size_t)threads * SLOTS, sizeof *p->scr);
    if (!p->tid || !p->args || !p->scr) {
        ls_pool_free(p);
        ls_error_set(err, LS_ERR_NOMEM, "out of memory creating the thread pool");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 1; i < threads; i++) {
        p->args[i] = (worker_arg){p, i};
        if (pthread_create(&p->tid[i], NULL, worker, &p->args[i]) != 0)
            break;
        p->started = i;
    }
    /* fewer threads than asked is still a working pool */
    p->n = p->started + 1;
    return p;
}

void ls_pool_free(ls_pool *p)
{
    if (!p)
        return;
    if (p->tid) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, true);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i <= p->started; i++)
            pthread_join(p->tid[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    if (p->scr)
        for (int i = 0; i < p->n * SLOTS; i++)
            free(p->scr[i].p);
    free(p->scr);
    free(p->tid);
    free(p->args);
    free(p);
}

int ls_pool_threads(const ls_pool *p) { return p ? p->n : 1; }

void ls_pool_run(ls_pool *p, int threads, void (*fn)(void *ud, int task, int thread), void *ud,
                 int n_tasks)
{
    if (n_tasks <= 0)
        return;
    if (!p || p->n == 1 || threads <= 1 || n_tasks == 1) {
        for (int k = 0; k < n_tasks; k++)
            fn(ud, k, 0);
        return;
    }
    unsigned g = ++p->gen;
    if (g == 0)
        g = ++p->gen;  /* 0 is the workers' "nothing posted yet" */
    job *j = &p->jobs[g & 1];
    atomic_store_explicit(&j->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&j->ud, ud, memory_order_relaxed);
    atomic_store_explicit(&j->n_tasks, n_tasks, memory_order_relaxed);
    atomic_store_explicit(&j->active, threads < p->n ? threads : p->n, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    /* seq_cst: publishes the job, and pairs with the sleepers check below */
    atomic_store(&p->work, (uint64_t)g << 32);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p, 0, g);
    /* every task claimed is finished before the job's memory is reused */
    while (atomic_load_explicit(&p->finished, memory_order_acquire) < n_tasks)
        CPU_RELAX();
}

void *ls_pool_scratch(ls_pool *p, int thread, int slot, size_t bytes)
{
    scratch *s = &p->scr[thread * SLOTS + slot];
    if (s->cap < bytes) {
        free(s->p);
        s->cap = 0;
        /* a little headroom so slowly growing shapes do not reallocate */
        size_t cap = (bytes + bytes / 4 + 63) & ~(size_t)63;
        s->p = aligned_alloc(64, cap);
        if (!s->p)
            return NULL;
        s->cap = cap;
    }
    return s->p;
}
