/* layerstep bench: forward time of the article-size models with tracing
 * on and off, on 1 thread and on every core; GFLOP/s of every GEMM shape
 * they use against the FMA peak measured here; peak memory.
 *
 * Each model runs in a child process (fork) so that its peak resident
 * memory (VmHWM) is its own.  `--compare FILE` reads tools/bench_torch.py's
 * JSON and prints PyTorch's times beside ours.
 *
 * Timing: the model is loaded and the graph and executor built first (as
 * PyTorch's model is already in memory); one warm-up run packs the
 * weights; then `--runs` runs of reset + run, median reported.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

#include "cli.h"
#include "layerstep/config.h"
#include "layerstep/kernels.h"

static const char *const usage_bench =
    "usage: layerstep bench [--models NAME,...] [--runs N] [--threads N] [--compare FILE]\n"
    "       layerstep bench --tui [--help]   (one key to a redrawn screen, see --tui --help)\n"
    "\n"
    "Median forward time (tracing on = every output kept, off = buffers reused),\n"
    "on 1 thread and on N (default: every core); GFLOP/s of each GEMM shape as a\n"
    "fraction of the FMA peak measured on this machine; peak memory.\n"
    "\n"
    "  --models LIST   comma-separated model dirs under the data folder\n"
    "                  (default conformer_article,wav2vec2_base,transformer_base)\n"
    "  --runs N        timed runs per configuration (default 5)\n"
    "  --threads N     the multi-thread configuration (default: online CPUs)\n"
    "  --compare FILE  JSON from tools/bench_torch.py: print the ratios\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- FMA peak: independent FMA chains on registers only ---- */

#ifdef BENCH_X86
__attribute__((target("avx512f,avx2,fma"))) static float fma_avx512(long iters)
{
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < iters; k++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) /* 12 chains cover 4-cycle latency x 2 ports */
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    for (int i = 1; i < 12; i++)
        a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_reduce_add_ps(a[0]);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters)
{
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < iters; k++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    float t[8];
    for (int i = 1; i < 12; i++)
        a[0] = _mm256_add_ps(a[0], a[i]);
    _mm256_storeu_ps(t, a[0]);
    return t[0] + t[7];
}
#endif

typedef struct peak_arg {
    int isa;
    long iters;
    float sink;
} peak_arg;

static void *peak_thread(void *p)
{
    peak_arg *a = p;
#ifdef BENCH_X86
    a->sink = a->isa == LS_ISA_AVX512 ? fma_avx512(a->iters) : fma_avx2(a->iters);
#endif
    return NULL;
}

/* GFLOP/s of the FMA loop on `threads` threads (0 if the ISA is missing). */
static double fma_peak(int isa, int threads)
{
#ifdef BENCH_X86
    if (isa > (int)ls_cpu_isa() || isa < LS_ISA_AVX2)
        return 0.0;
    const int lanes = isa == LS_ISA_AVX512 ? 16 : 8;
    const long iters = 20000000;
    double best = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t tid[256];
        peak_arg args[256];
        double t0 = now_s();
        for (int i = 0; i < threads; i++) {
            args[i] = (peak_arg){isa, iters, 0};
            pthread_create(&tid[i], NULL, peak_thread, &args[i]);
        }
        for (int i = 0; i < threads; i++)
            pthread_join(tid[i], NULL);
        double dt = now_s() - t0;
        double g = (double)threads * iters * 12.0 * lanes * 2.0 / dt / 1e9;
        best = g > best ? g : best;
    }
    return best;
#else
    (void)isa;
    (void)threads;
    return 0.0;
#endif
}

/* ---- GEMM shapes of a graph ---- */

typedef struct gemm_shape {
    ls_op op;
    int64_t batch, M, N, K;
    int node;       /* first node with this shape */
    int count;
    double gflops[2]; /* 1 thread, N threads */
} gemm_shape;

/* The GEMM a node runs, if any (depthwise convs are a direct loop). */
static bool node_gemm(const ls_graph *g, int i, gemm_shape *s)
{
    const ls_node *nd = ls_graph_node(g, i);
    const ls_tensor *x = ls_graph_shape(g, nd->in[0]), *o = &nd->out;
    memset(s, 0, sizeof *s);
    s->op = nd->op;
    s->node = i;
    switch (nd->op) {
    case LS_OP_LINEAR: {
        const ls_tensor *w = ls_graph_shape(g, nd->in[1]);
        s->K = x->shape[x->ndim - 1];
        s->N = w->shape[0];
        s->M = s->K ? ls_tensor_numel(x) / s->K : 0;
        s->batch = 1;
        return true;
    }
    case LS_OP_MATMUL:
        s->M = o->shape[o->ndim - 2];
        s->N = o->shape[o->ndim - 1];
        s->K = x->shape[x->ndim - 1];
        s->batch = s->M > 0 && s->N > 0 ? ls_tensor_numel(o) / (s->M * s->N) : 0;
        return true;
    case LS_OP_CONV1D: {
        const ls_tensor *w = ls_graph_shape(g, nd->in[1]);
        int64_t groups = nd->p.i[2];
        if (w->shape[0] / groups == 1)
            return false;
        s->M = w->shape[0] / groups;
        s->N = o->shape[2];
        s->K = w->shape[1] * w->shape[2];
        s->batch = o->shape[0] * groups;
        return true;
    }
    case LS_OP_CONV2D: {
        const ls_tensor *w = ls_graph_shape(g, nd->in[1]);
        s->M = w->shape[0];
        s->N = o->shape[2] * o->shape[3];
        s->K = w->shape[1] * w->shape[2] * w->shape[3];
        s->batch = o->shape[0];
        return true;
    }
    default:
        return false;
    }
}

/* Times node i's op alone (inputs from a finished run), median of runs. */
static double time_node(const ls_exec *ex, int i, ls_op_ctx *ctx, int runs, ls_arena *a)
{
    const ls_graph *g = ls_exec_graph(ex);
    const ls_node *nd = ls_graph_node(g, i);
    const ls_tensor *ins[LS_OP_MAX_INPUTS];
    ctx->const_inputs = 0;
    for (int j = 0; j < nd->n_in; j++) {
        ins[j] = ls_exec_out(ex, nd->in[j]);
        if (!ins[j])
            return 0.0;
        int s = ls_exec_storage_node(ex, nd->in[j]);
        if (ls_graph_node(g, s)->op == LS_OP_CONST)
            ctx->const_inputs |= 1u << j;
    }
    ls_tensor out;
    if (ls_tensor_alloc(a, nd->out.dtype, nd->out.ndim, nd->out.shape, &out, NULL))
        return 0.0;
    double t[64];
    if (runs > 64)
        runs = 64;
    ls_op_compute(nd->op, &nd->p, ins, nd->n_in, &out, ctx, NULL); /* packs the weight */
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        ls_op_compute(nd->op, &nd->p, ins, nd->n_in, &out, ctx, NULL);
        t[r] = now_s() - t0;
    }
    return median(t, runs);
}

/* ---- one model (in a child process) ---- */

typedef struct bench_cfg {
    int runs, threads;
    double peak[2]; /* GFLOP/s of the kernels' ISA: 1 thread, N threads */
    const cJSON *torch;
} bench_cfg;

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Median seconds of reset + run. */
static int time_forward(ls_graph *g, const ls_tmap *inputs, int threads, bool keep, int runs,
                        ls_pack_cache *packs, double *sec, ls_exec **keep_ex, ls_error *err)
{
    ls_exec_opts eo = {.threads = threads, .reuse_buffers = !keep, .packs = packs};
    ls_exec *ex;
    int rc = ls_exec_new(g, &eo, &ex, err);
    if (rc)
        return rc;
    if ((rc = ls_exec_set_inputs(ex, inputs, err)) || (rc = ls_exec_run(ex, err))) {
        ls_exec_free(ex);
        return rc;
    }
    double t[64];
    if (runs > 64)
        runs = 64;
    for (int r = 0; r < runs && !rc; r++) {
        ls_exec_reset(ex);
        double t0 = now_s();
        rc = ls_exec_run(ex, err);
        t[r] = now_s() - t0;
    }
    *sec = rc ? 0 : median(t, runs);
    if (keep_ex && !rc)
        *keep_ex = ex;
    else
        ls_exec_free(ex);
    return rc;
}

static double torch_ms(const bench_cfg *c, const char *model, int threads)
{
    const cJSON *ms = c->torch ? ls_json_at(c->torch, "models") : NULL;
    char key[16];
    snprintf(key, sizeof key, "%d", threads);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ms, model), key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static int bench_model(const char *dir, const char *name, const bench_cfg *c)
{
    ls_error err = {0};
    ls_model *m = NULL;
    ls_tmap *in = NULL;
    ls_graph *g = NULL;
    int rc = ls_model_load(dir, &m, &err);
    if (!rc) {
        in = ls_tmap_new("inputs");
        rc = ls_model_arch(m)->example_inputs(m, in, &err);
    }
    if (!rc)
        rc = ls_model_build(m, in, NULL, &g, &err);
    if (rc) {
        fprintf(stderr, "layerstep bench: %s\n", err.msg);
        ls_graph_free(g);
        ls_tmap_free(in);
        ls_model_free(m);
        return 2;
    }
    size_t wbytes = 0;
    const ls_tmap *w = ls_model_weights(m);
    for (int i = 0; i < ls_tmap_count(w); i++)
        wbytes += ls_tensor_nbytes(ls_tmap_at(w, i));
    size_t abytes = ls_graph_activation_bytes(g);

    /* GEMM flops of one forward */
    gemm_shape shapes[256];
    int n_shapes = 0;
    double flops = 0;
    for (int i = 0; i < ls_graph_n_nodes(g); i++) {
        gemm_shape s;
        if (!node_gemm(g, i, &s))
            continue;
        flops += 2.0 * (double)s.batch * (double)s.M * (double)s.N * (double)s.K;
        int k = 0;
        while (k < n_shapes && !(shapes[k].op == s.op && shapes[k].batch == s.batch &&
                                 shapes[k].M == s.M && shapes[k].N == s.N && shapes[k].K == s.K))
            k++;
        if (k == n_shapes && n_shapes < 256)
            shapes[n_shapes++] = s;
        if (k < n_shapes)
            shapes[k].count++;
    }
    printf("\n== %s  (%d nodes, GEMM work %.2f GFLOP per forward; weights %.1f MB, traced "
           "tensors %.1f MB)\n",
           name, ls_graph_n_nodes(g), flops / 1e9, wbytes / 1e6, abytes / 1e6);
    printf("  %-8s %12s %12s %9s %12s %10s\n", "threads", "trace on", "trace off", "on/off",
           "GFLOP/s(on)", "torch");
    int tcounts[2] = {1, c->threads};
    int n_tc = c->threads > 1 ? 2 : 1;
    ls_exec *traced = NULL;
    /* one packed copy of the weights for every executor of the model, as
     * the TUI's runs would share it */
    ls_pack_cache *packs = ls_pack_cache_new();
    if (!packs)
        rc = ls_error_set(&err, LS_ERR_NOMEM, "out of memory");
    for (int ti = 0; ti < n_tc && !rc; ti++) {
        double on = 0, off = 0;
        rc = time_forward(g, in, tcounts[ti], true, c->runs, packs, &on,
                          ti == 0 ? &traced : NULL, &err);
        if (!rc)
            rc = time_forward(g, in, tcounts[ti], false, c->runs, packs, &off, NULL, &err);
        if (rc)
            break;
        double tm = torch_ms(c, name, tcounts[ti]);
        char ts[64] = "-";
        if (tm > 0)
            snprintf(ts, sizeof ts, "%.1f ms (ours/torch %.2fx)", tm, on * 1e3 / tm);
        printf("  %-8d %9.1f ms %9.1f ms %8.2fx %12.1f   %s\n", tcounts[ti], on * 1e3, off * 1e3,
               off > 0 ? on / off : 0, flops / on / 1e9, ts);
        fflush(stdout);
    }
    if (!rc && traced) {
        /* where one traced 1-thread forward spends its time, by op */
        double op_t[LS_OP_COUNT] = {0}, total = 0;
        int op_n[LS_OP_COUNT] = {0};
        ls_exec_reset(traced);
        while (!rc && !ls_exec_done(traced)) {
            int i = ls_exec_cursor(traced);
            double t0 = now_s();
            rc = ls_exec_step(traced, &err);
            double dt = now_s() - t0;
            op_t[ls_graph_node(g, i)->op] += dt;
            op_n[ls_graph_node(g, i)->op]++;
            total += dt;
        }
        printf("  time by op, 1 thread, trace on (%.1f ms stepped):", total * 1e3);
        for (int shown = 0; shown < 8; shown++) {
            int best = -1;
            for (int o = 0; o < LS_OP_COUNT; o++)
                if (op_t[o] > 0 && (best < 0 || op_t[o] > op_t[best]))
                    best = o;
            if (best < 0 || op_t[best] < 0.005 * total)
                break;
            printf("%s %s %.1f ms (%d)", shown % 4 ? "," : "\n   ", ls_op_name((ls_op)best),
                   op_t[best] * 1e3, op_n[best]);
            op_t[best] = 0;
        }
        printf("\n");
    }
    if (rc) {
        fprintf(stderr, "layerstep bench: %s\n", err.msg);
    } else {
        /* each GEMM shape alone, inputs from the traced run */
        ls_arena *a = ls_arena_new(1 << 24);
        ls_pool *pool = c->threads > 1 ? ls_pool_new(c->threads, NULL) : NULL;
        printf("  GEMM shapes (batch x M x N x K; %% of the measured FMA peak, %s):\n",
               ls_isa_name(ls_cpu_isa()));
        printf("    %-7s %5s %26s %10s %16s %16s\n", "op", "uses", "shape", "GFLOP", "1 thread",
               "all threads");
        for (int k = 0; k < n_shapes; k++) {
            gemm_shape *s = &shapes[k];
            double f = 2.0 * (double)s->batch * (double)s->M * (double)s->N * (double)s->K;
            char shp[64], col[2][32];
            snprintf(shp, sizeof shp, "%lldx%lldx%lldx%lld", (long long)s->batch,
                     (long long)s->M, (long long)s->N, (long long)s->K);
            for (int ti = 0; ti < 2; ti++) {
                snprintf(col[ti], sizeof col[ti], "-");
                if (ti == 1 && n_tc < 2)
                    continue;
                ls_op_ctx ctx = {.threads = tcounts[ti], .pool = ti ? pool : NULL,
                                 .packs = packs, .isa = ls_cpu_isa()};
                int reps = f < 1e8 ? 21 : 7;
                double t = time_node(traced, s->node, &ctx, reps, a);
                s->gflops[ti] = t > 0 ? f / t / 1e9 : 0;
                double pk = c->peak[ti];
                snprintf(col[ti], sizeof col[ti], "%6.1f (%3.0f%%)", s->gflops[ti],
                         pk > 0 ? 100.0 * s->gflops[ti] / pk : 0.0);
            }
            printf("    %-7s %5d %26s %10.3f %16s %16s\n", ls_op_name(s->op), s->count, shp,
                   f / 1e9, col[0], col[1]);
        }
        /* VmHWM covers the whole process: the two executors (one traced,
         * one reusing buffers), the GEMM timing's copies of a node's
         * inputs, the pool's scratch and the graph too */
        const size_t pbytes = ls_pack_cache_bytes(packs);
        const double hwm = vm_hwm_kb() / 1e3;
        printf("  peak memory %.1f MB: weights %.1f MB + traced tensors %.1f MB = %.1f MB "
               "(peak %.2fx that); + packed weights %.1f MB (one copy, shared by the "
               "executors) = %.1f MB (peak %.2fx that)\n",
               hwm, wbytes / 1e6, abytes / 1e6, (wbytes + abytes) / 1e6,
               hwm * 1e6 / (double)(wbytes + abytes), pbytes / 1e6,
               (wbytes + abytes + pbytes) / 1e6, hwm * 1e6 / (double)(wbytes + abytes + pbytes));
        ls_pool_free(pool);
        ls_arena_free(a);
    }
    ls_exec_free(traced);
    ls_pack_cache_free(packs); /* after every executor that borrowed it */
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    return rc ? 2 : 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_cfg c = {.runs = 5, .threads = ls_cpu_count()};
    const char *models = "conformer_article,wav2vec2_base,transformer_base";
    const char *compare = NULL;
    if (argc > 2 && !strcmp(argv[2], "--tui"))
        return cmd_bench_tui(argc, argv);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_bench, stdout);
            return 0;
        } else if (!strcmp(a, "--models") && v) {
            models = v;
            i++;
        } else if (!strcmp(a, "--runs") && v) {
            unsigned long long n;
            if (cli_parse_count(v, 100000, &n, a, "bench"))
                return 2;
            c.runs = (int)n;
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            unsigned long long n;
            if (cli_parse_count(v, 4096, &n, a, "bench"))
                return 2;
            c.threads = (int)n;
            i++;
        } else if (!strcmp(a, "--compare") && v) {
            compare = v;
            i++;
        } else {
            fprintf(stderr, "layerstep bench: bad option '%s'\n%s", a, usage_bench);
            return 2;
        }
    }
    if (c.runs < 1 || c.runs > 64 || c.threads < 1 || c.threads > 256) {
        fprintf(stderr, "layerstep bench: --runs takes 1..64, --threads 1..256\n");
        return 2;
    }
    /* meson's benchmark() passes the JSON through the environment, used
     * only when tools/bench_torch.py has written it */
    const char *env_cmp = getenv("LAYERSTEP_BENCH_COMPARE");
    if (!compare && env_cmp && access(env_cmp, R_OK) == 0)
        compare = env_cmp;
    cJSON *torch = NULL;
    if (compare) {
        ls_error err = {0};
        if (ls_json_load(compare, &torch, &err)) {
            cli_error(err.msg);
            return 2;
        }
        c.torch = torch;
    }
    const int isa = ls_cpu_isa();
    printf("layerstep bench: %d online CPUs, GEMM kernels %s, %d runs per configuration%s\n",
           ls_cpu_count(), ls_isa_name(isa), c.runs,
           getenv("LAYERSTEP_REFERENCE") ? " (LAYERSTEP_REFERENCE is ignored here)" : "");
    printf("FMA peak (register-only loop), GFLOP/s:\n");
    for (int i = LS_ISA_AVX512; i >= LS_ISA_AVX2; i--) {
        double p1 = fma_peak(i, 1), pn = c.threads > 1 ? fma_peak(i, c.threads) : p1;
        if (p1 > 0)
            printf("  %-7s 1 thread %7.1f   %d threads %7.1f\n", ls_isa_name(i), p1, c.threads,
                   pn);
        if (i == (int)isa) {
            c.peak[0] = p1;
            c.peak[1] = pn;
        }
    }
    if (torch) {
        const cJSON *v = ls_json_at(torch, "torch_version");
        printf("compared with PyTorch %s (%s)\n", cJSON_IsString(v) ? v->valuestring : "?",
               compare);
    }
    int status = 0;
    char list[1024];
    snprintf(list, sizeof list, "%s", models);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char dir[2048];
        if (strchr(tok, '/'))
            snprintf(dir, sizeof dir, "%s", tok);
        else
            snprintf(dir, sizeof dir, "%s/%s", LS_DATA_DIR, tok);
        const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            int rc = bench_model(dir, name, &c);
            fflush(stdout);
            _exit(rc);
        }
        int ws = 0;
        if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "layerstep bench: %s failed\n", name);
            status = 1;
        }
    }
    cJSON_Delete(torch);
    return status;
}
