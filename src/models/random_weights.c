/* Seeded random weights shared by the archs (see random_weights.h). */
#include "random_weights.h"

#include <math.h>
#include <stdio.h>

#include "layerstep/kernels.h"

void ls_rw_init(ls_rw *s, ls_tmap *w, uint64_t seed, ls_error *err)
{
    *s = (ls_rw){.w = w, .rng = {seed}, .err = err, .rc = LS_OK, .bytes = 0};
}

/* splitmix64 adds this to its state on every draw (rng.c) */
#define RNG_STEP 0x9E3779B97F4A7C15ull

enum { CHUNK = 1 << 16 };

typedef struct fill_job {
    float *d;
    int64_t n;
    uint64_t s0;     /* the stream's state before the tensor's first draw */
    bool normal;
    double bound;
} fill_job;

/* Elements [i0, i1) of one tensor, from the state the serial stream would
 * have there (uniform: one draw per element, normal: two). */
static void fill_range(const fill_job *j, int64_t i0, int64_t i1)
{
    ls_rng r = {j->s0 + (uint64_t)i0 * (j->normal ? 2u : 1u) * RNG_STEP};
    float *d = j->d;
    if (j->normal)
        for (int64_t i = i0; i < i1; i++)
            d[i] = ls_rng_normal(&r);
    else
        for (int64_t i = i0; i < i1; i++)
            d[i] = (float)((2.0 * ls_rng_uniform(&r) - 1.0) * j->bound);
}

static void fill_task(void *ud, int t, int thread)
{
    (void)thread;
    const fill_job *j = ud;
    const int64_t i0 = (int64_t)t * CHUNK, i1 = i0 + CHUNK < j->n ? i0 + CHUNK : j->n;
    fill_range(j, i0, i1);
}

/* Saturating byte count of a float32 tensor of this shape. */
static uint64_t shape_bytes(int ndim, const int64_t *shape)
{
    uint64_t n = sizeof(float);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && n > UINT64_MAX / (uint64_t)shape[i]))
            return UINT64_MAX;
        n *= (uint64_t)shape[i];
    }
    return n;
}

/* normal: N(0,1); else bound > 0: U(-bound, bound); else fill */
static float *put(ls_rw *s, const char *prefix, const char *key, int ndim, const int64_t *shape,
                  bool normal, double bound, float fill)
{
    if (s->rc)
        return NULL;
    if (!s->w) {
        uint64_t b = shape_bytes(ndim, shape);
        s->bytes = b > UINT64_MAX - s->bytes ? UINT64_MAX : s->bytes + b;
        return NULL;
    }
    char name[256];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix && *key ? "." : "", key);
    ls_tensor t;
    if ((s->rc = ls_tensor_alloc(ls_tmap_arena(s->w), LS_F32, ndim, shape, &t, s->err)))
        return NULL;
    float *d = t.data;
    const int64_t n = ls_tensor_numel(&t);
    if (normal || bound > 0) {
        fill_job j = {d, n, s->rng.s, normal, bound};
        const int64_t chunks = (n + CHUNK - 1) / CHUNK;
        if (s->pool && chunks > 1 && chunks < (1 << 30))
            ls_pool_run(s->pool, ls_pool_threads(s->pool), fill_task, &j, (int)chunks);
        else
            fill_range(&j, 0, n);
        s->rng.s += (uint64_t)n * (normal ? 2u : 1u) * RNG_STEP;
    } else {
        for (int64_t i = 0; i < n; i++)
            d[i] = fill;
    }
    if ((s->rc = ls_tmap_put_ref(s->w, name, &t, s->err)))
        return NULL;
    return d;
}

float *ls_rw_put(ls_rw *s, const char *prefix, const char *key, int ndim, const int64_t *shape,
                 double bound, float fill)
{
    return put(s, prefix, key, ndim, shape, false, bound, fill);
}

float *ls_rw_normal(ls_rw *s, const char *prefix, const char *key, int ndim,
                    const int64_t *shape)
{
    return put(s, prefix, key, ndim, shape, true, 0, 0);
}

void ls_rw_linear(ls_rw *s, const char *prefix, int64_t in, int64_t out, bool bias)
{
    const double bound = 1.0 / sqrt((double)in);
    ls_rw_put(s, prefix, "weight", 2, (int64_t[]){out, in}, bound, 0);
    if (bias)
        ls_rw_put(s, prefix, "bias", 1, &out, bound, 0);
}

void ls_rw_norm(ls_rw *s, const char *prefix, int64_t d)
{
    ls_rw_put(s, prefix, "weight", 1, &d, 0, 1.0f);
    ls_rw_put(s, prefix, "bias", 1, &d, 0, 0.0f);
}

int ls_rw_fill_model(ls_model *m, uint64_t seed, ls_rw_walk walk, ls_error *err)
{
    ls_rw s;
    ls_rw_init(&s, ls_model_weights(m), seed, err);
    /* no pool (out of memory, one CPU): the same draws on this thread */
    s.pool = ls_cpu_count() > 1 ? ls_pool_new(ls_cpu_count(), NULL) : NULL;
    walk(&s, m);
    ls_pool_free(s.pool);
    return s.rc;
}

uint64_t ls_rw_count_model(const ls_model *m, ls_rw_walk walk)
{
    ls_rw s;
    ls_rw_init(&s, NULL, 0, NULL);  /* count only */
    walk(&s, m);
    return s.bytes;
}
