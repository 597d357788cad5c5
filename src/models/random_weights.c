/* Seeded random weights shared by the archs (see random_weights.h). */
#include "random_weights.h"

#include <math.h>
#include <stdio.h>

void ls_rw_init(ls_rw *s, ls_tmap *w, uint64_t seed, ls_error *err)
{
    *s = (ls_rw){.w = w, .rng = {seed}, .err = err, .rc = LS_OK, .bytes = 0};
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
    /* one loop per kind: the per-element choice cost more than the
     * generator (the article models are 83M floats) */
    if (normal)
        for (int64_t i = 0; i < n; i++)
            d[i] = ls_rng_normal(&s->rng);
    else if (bound > 0)
        for (int64_t i = 0; i < n; i++)
            d[i] = (float)((2.0 * ls_rng_uniform(&s->rng) - 1.0) * bound);
    else
        for (int64_t i = 0; i < n; i++)
            d[i] = fill;
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
    walk(&s, m);
    return s.rc;
}

uint64_t ls_rw_count_model(const ls_model *m, ls_rw_walk walk)
{
    ls_rw s;
    ls_rw_init(&s, NULL, 0, NULL);  /* count only */
    walk(&s, m);
    return s.bytes;
}
