#include <math.h>

#include "layerstep/model.h"

/* splitmix64: tiny, seedable, and the same on every platform, so a model
 * made from "seed 7" has the same weights everywhere. */
uint64_t ls_rng_next(ls_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float ls_rng_uniform(ls_rng *r) { return (float)((ls_rng_next(r) >> 40) * (1.0 / 16777216.0)); }

float ls_rng_normal(ls_rng *r)
{
    double u1 = ((ls_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (ls_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2));
}
