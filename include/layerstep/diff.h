/* diff.h - find the first op where our run and a reference dump part
 * ways, and tell a local fault from one inherited from upstream.
 *
 *   ls_exec_run(ex, &err);                              // our run, to the end
 *   ls_diff *d;
 *   ls_diff_run(ex, ref, &(ls_cmp_opts){1e-5, 1e-4}, &d, &err);
 *   ls_diff_print(stdout, ex, ref, d);                  // summary + the first local fault
 *   ls_diff_free(d);
 *
 * For every named point with a tensor of the same name in the reference,
 * the point is compared.  A failing point's node is then run again with
 * the *reference's* inputs: each input's value is taken from the
 * reference where it has that name, derived from reference values
 * through unnamed view/compute nodes where it can be, and our own value
 * (weights, inputs) otherwise.  If the node then matches, the error was
 * inherited from upstream; if it still differs, the fault is local to
 * this op.
 */
#ifndef LAYERSTEP_DIFF_H
#define LAYERSTEP_DIFF_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "layerstep/compare.h"
#include "layerstep/exec.h"

typedef enum ls_diff_verdict {
    LS_DIFF_PASS = 0,
    LS_DIFF_LOCAL,       /* still differs when fed the reference's inputs */
    LS_DIFF_INHERITED,   /* matches when fed the reference's inputs */
    LS_DIFF_MISMATCH,    /* differs; cannot be rerun (a leaf, or shapes differ) */
} ls_diff_verdict;

typedef struct ls_diff_row {
    int node;
    ls_cmp_row cmp;       /* ours vs reference */
    ls_diff_verdict verdict;
    ls_cmp_row recheck;   /* rerun with reference inputs vs reference */
    int ref_inputs;       /* how many of the node's inputs came from the reference */
} ls_diff_row;

typedef struct ls_diff {
    int n;                /* rows: named points found in the reference */
    ls_diff_row *rows;
    int n_missing;        /* named points with no reference tensor */
    int first_fail;       /* row index, -1 if none */
    int first_local;      /* row index, -1 if none */
    int first_nonfinite;  /* row index of the first NaN/Inf disagreement, -1 */
} ls_diff;

int ls_diff_run(const ls_exec *ex, const ls_tmap *ref, const ls_cmp_opts *o, ls_diff **out,
                ls_error *err);
void ls_diff_free(ls_diff *d);
const char *ls_diff_verdict_name(ls_diff_verdict v);
/* Short summary, then details of the first NaN/Inf, the first local fault
 * and the first failure: op, parameters, shapes, errors, worst index and
 * a window of values from both sides. */
void ls_diff_print(FILE *out, const ls_exec *ex, const ls_tmap *ref, const ls_diff *d,
                   bool table);
/* The whole table as JSON (caller frees with cJSON_Delete). */
cJSON *ls_diff_json(const ls_exec *ex, const ls_tmap *ref, const ls_diff *d);

#endif
