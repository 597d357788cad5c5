/* golden.h - run a fixture model directory on its inputs and compare every
 * named point with the fixture's acts/ (a test helper, not the library).
 *
 *   ls_golden_opts o = {.mode = "teacher", .atol = 1e-5, .rtol = 1e-4};
 *   int failures = ls_golden_check(LS_TEST_DATA "/transformer_small", &o);
 *
 * Fails (returns > 0) when a point differs beyond tolerance, when an act
 * file has no point of that name (unless it matches an `optional` glob),
 * or when the model does not build.  Prints one line per failure and the
 * first failing name with its max error.
 */
#ifndef LS_TEST_GOLDEN_H
#define LS_TEST_GOLDEN_H

#include <stdbool.h>

#include "layerstep/model.h"

typedef struct ls_golden_opts {
    const char *mode;          /* ls_build_opts.mode */
    double atol, rtol;
    const char *const *optional; /* NULL-terminated globs of acts we may skip */
    const char *const *only;   /* if set: compare only acts matching these globs */
    bool reference;            /* force the reference kernels */
    const char *inputs_dir;    /* default: <fixture>/inputs */
    int min_compared;          /* fail if fewer points were compared */
} ls_golden_opts;

/* Returns the number of failures (0 = all good). */
int ls_golden_check(const char *fixture_dir, const ls_golden_opts *o);
/* Path of a fixture under LS_TEST_DATA (static buffer per call site is fine in tests). */
const char *ls_golden_path(const char *name, char *buf, size_t n);

#endif
