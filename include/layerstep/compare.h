/* compare.h - compare tensors the way every golden test and
 * `layerstep compare` do: per tensor, relative to the reference's scale.
 *
 *   ls_cmp_row r;
 *   ls_compare_tensors(&ours, &ref, &(ls_cmp_opts){1e-5, 1e-4}, &r);
 *   if (r.status != LS_CMP_PASS) printf("%s: max abs %g\n", name, r.max_abs);
 *
 * Float tensors pass when max|a - ref| <= atol + rtol * max|ref| (NaN/Inf
 * on either side, where the other has a finite value, fail first).
 * Bool and int64 tensors must be equal exactly.  Shapes must be equal.
 */
#ifndef LAYERSTEP_COMPARE_H
#define LAYERSTEP_COMPARE_H

#include "layerstep/tensor.h"

typedef enum ls_cmp_status {
    LS_CMP_PASS = 0,
    LS_CMP_FAIL,          /* values differ beyond tolerance */
    LS_CMP_NONFINITE,     /* NaN/Inf where the other side differs */
    LS_CMP_SHAPE,         /* shape or dtype differ */
    LS_CMP_MISSING_A,     /* only in the reference */
    LS_CMP_MISSING_B,     /* only in ours */
} ls_cmp_status;

typedef struct ls_cmp_opts {
    double atol, rtol;
} ls_cmp_opts;

typedef struct ls_cmp_row {
    ls_cmp_status status;
    double max_abs;       /* max |a - ref| over finite pairs */
    double scale;         /* max |ref| */
    double max_rel;       /* max_abs / scale (0 if scale is 0) */
    int64_t worst;        /* flat index of the worst element (-1 if none) */
    int64_t mismatches;   /* elements over tolerance (exact for bool/int) */
    int64_t nonfinite;    /* NaN/Inf positions that differ */
} ls_cmp_row;

const char *ls_cmp_status_name(ls_cmp_status s);
void ls_compare_tensors(const ls_tensor *a, const ls_tensor *ref, const ls_cmp_opts *o,
                        ls_cmp_row *row);

#endif
