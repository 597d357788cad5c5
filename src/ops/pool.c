/* pool.c - the executor's thread pool and the CPU probe.
 *
 * A run is a generation: the caller publishes (fn, ud, n_tasks), bumps
 * `gen`, and takes part as thread 0; workers claim task indices from one
 * atomic counter, so uneven tasks balance themselves.  The ops are short
 * (tens of microseconds to a few milliseconds) and come back to back, so
 * a worker spins for a while before it sleeps: waking a sleeping thread
 * through a condition variable costs more than many small ops.
 *
 *   caller: job = ..; gen++ (wake sleepers) -> run tasks -> wait done == workers
 *   worker: wait gen != seen (spin, then cond) -> run tasks -> done++
 */
#include <pthread.h>
#include <stdatomic.h>
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

struct ls_pool {
    int n;                 /* threads, the caller included */
    int started;           /* workers actually created */
    pthread_t *tid;
    worker_arg *args;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;
    atomic_int next;
    atomic_int done;
    atomic_int sleepers;
    atomic_bool stop;
    int n_tasks, active;
    void (*fn)(void *ud, int task, int thread);
    void *ud;
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

static void run_tasks(ls_pool *p, int thread)
{
    int k;
    while ((k = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->n_tasks)
        p->fn(p->ud, k, thread);
}

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    ls_pool *p = wa->pool;
    /* gen is 0 when the pool is made; reading it here instead would miss
     * a first run posted before this thread got scheduled (a hang) */
    unsigned seen = 0;
    for (;;) {
        /* spin, then sleep */
        long t0 = now_ns();
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
               !atomic_load(&p->stop)) {
            CPU_RELAX();
            if (++spins % 256 == 0 && now_ns() - t0 > SPIN_NS) {
                pthread_mutex_lock(&p->mu);
                atomic_fetch_add(&p->sleepers, 1);
                while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                    pthread_cond_wait(&p->cv, &p->mu);
                atomic_fetch_sub(&p->sleepers, 1);
                pthread_mutex_unlock(&p->mu);
            }
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (wa->index < p->active)
            run_tasks(p, wa->index);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
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
    p->fn = fn;
    p->ud = ud;
    p->n_tasks = n_tasks;
    p->active = threads < p->n ? threads : p->n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: pairs with the sleepers check below */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p, 0);
    while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n - 1)
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
