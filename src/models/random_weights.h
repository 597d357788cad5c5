/* random_weights.h - seeded random weights for configs without a weights
 * file (internal to src/models: the archs' random_weights and
 * random_weights_bytes are two walks over one list of puts).
 *
 *   ls_rw s;
 *   ls_rw_init(&s, ls_model_weights(m), seed, err);   // NULL map: only count
 *   ls_rw_linear(&s, "encoder.fc", 512, 2048, true);  // PyTorch's Linear init
 *   ls_rw_norm(&s, "encoder.norm", 512);              // weight 1, bias 0
 *   return s.rc;                                      // or s.bytes when counting
 *
 * The draws are taken in call order from one splitmix64 stream, so the
 * same calls give the same weights bit for bit.  A big tensor is filled
 * in chunks over a thread pool: splitmix64's state after k draws is the
 * seed plus k times its constant, so each chunk starts where the serial
 * stream would be (loading the article wav2vec2: 0.62 s -> 0.49 s on 2
 * cores).  A counting walk adds up the float32 bytes (saturating), so a
 * config with absurd sizes is refused before anything is allocated.  The
 * map owns every tensor put. */
#ifndef LAYERSTEP_MODELS_RANDOM_WEIGHTS_H
#define LAYERSTEP_MODELS_RANDOM_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "layerstep/model.h"

struct ls_pool;

typedef struct ls_rw {
    ls_tmap *w;       /* NULL: only add up `bytes` */
    struct ls_pool *pool; /* may be NULL: fill on this thread */
    ls_rng rng;
    ls_error *err;
    int rc;           /* the first failure; later puts do nothing */
    uint64_t bytes;
} ls_rw;

void ls_rw_init(ls_rw *s, ls_tmap *w, uint64_t seed, ls_error *err);
/* A float32 tensor named "prefix.key" ("key" alone when prefix is empty,
 * "prefix" alone when key is): bound > 0 draws U(-bound, bound)
 * (PyTorch's Linear/Conv default with bound = 1/sqrt(fan_in)), else every
 * value is `fill`.  Returns its data (NULL when counting or failed). */
float *ls_rw_put(ls_rw *s, const char *prefix, const char *key, int ndim, const int64_t *shape,
                 double bound, float fill);
/* The same with N(0, 1) draws (nn.Embedding's default). */
float *ls_rw_normal(ls_rw *s, const char *prefix, const char *key, int ndim,
                    const int64_t *shape);
/* nn.Linear(in, out): weight [out, in] then, if bias, bias [out], both
 * U(-1/sqrt(in), 1/sqrt(in)). */
void ls_rw_linear(ls_rw *s, const char *prefix, int64_t in, int64_t out, bool bias);
/* A norm's affine pair: weight 1, bias 0. */
void ls_rw_norm(ls_rw *s, const char *prefix, int64_t d);

/* An arch's list of puts for model m; walked once to fill m's map
 * (ls_rw_fill_model: the arch's random_weights) and once to count bytes
 * (ls_rw_count_model: its random_weights_bytes). */
typedef void (*ls_rw_walk)(ls_rw *s, const ls_model *m);
int ls_rw_fill_model(ls_model *m, uint64_t seed, ls_rw_walk walk, ls_error *err);
uint64_t ls_rw_count_model(const ls_model *m, ls_rw_walk walk);

#endif
