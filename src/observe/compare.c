#include "layerstep/compare.h"

#include <math.h>
#include <string.h>

const char *ls_cmp_status_name(ls_cmp_status s)
{
    switch (s) {
    case LS_CMP_PASS: return "pass";
    case LS_CMP_FAIL: return "FAIL";
    case LS_CMP_NONFINITE: return "NaN/Inf";
    case LS_CMP_SHAPE: return "shape";
    case LS_CMP_MISSING_A: return "missing (ours)";
    case LS_CMP_MISSING_B: return "missing (ref)";
    }
    return "?";
}

void ls_compare_tensors(const ls_tensor *a, const ls_tensor *ref, const ls_cmp_opts *o,
                        ls_cmp_row *row)
{
    memset(row, 0, sizeof *row);
    row->worst = -1;
    if (a->dtype != ref->dtype || !ls_tensor_same_shape(a, ref)) {
        row->status = LS_CMP_SHAPE;
        return;
    }
    int64_t n = ls_tensor_numel(a);
    if (a->dtype != LS_F32) {
        for (int64_t i = 0; i < n; i++)
            if (ls_tensor_get_flat(a, i) != ls_tensor_get_flat(ref, i)) {
                if (row->worst < 0)
                    row->worst = i;
                row->mismatches++;
            }
        row->max_abs = row->mismatches ? 1.0 : 0.0;
        row->status = row->mismatches ? LS_CMP_FAIL : LS_CMP_PASS;
        return;
    }
    /* the scale first: tolerance is relative to the reference's own size */
    double scale = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double r = ls_tensor_get_flat(ref, i);
        if (isfinite(r) && fabs(r) > scale)
            scale = fabs(r);
    }
    row->scale = scale;
    double tol = o->atol + o->rtol * scale;
    for (int64_t i = 0; i < n; i++) {
        double x = ls_tensor_get_flat(a, i), r = ls_tensor_get_flat(ref, i);
        if (!isfinite(x) || !isfinite(r)) {
            /* equal non-finite values (both -inf, both NaN) agree */
            bool same = (isnan(x) && isnan(r)) || x == r;
            if (!same) {
                row->nonfinite++;
                if (row->worst < 0)
                    row->worst = i;
            }
            continue;
        }
        double d = fabs(x - r);
        if (d > row->max_abs) {
            row->max_abs = d;
            if (!row->nonfinite)
                row->worst = i;
        }
        if (d > tol)
            row->mismatches++;
    }
    row->max_rel = scale > 0 ? row->max_abs / scale : row->max_abs;
    if (row->nonfinite)
        row->status = LS_CMP_NONFINITE;
    else if (row->mismatches)
        row->status = LS_CMP_FAIL;
    else
        row->status = LS_CMP_PASS;
}
