/* compare: two dump directories, by name, in the first one's order. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "layerstep/compare.h"
#include "layerstep/dump.h"

static const char *const compare_help =
    "usage: layerstep compare DIR_A DIR_B [--atol A] [--rtol R] [--strict]\n"
    "\n"
    "Compares two dump directories (layerstep dump, tools/torch_dump.py, or a\n"
    "golden fixture's acts/) by name, in DIR_A's execution order.  A float\n"
    "tensor passes when max|a-b| <= atol + rtol * max|b| (defaults 1e-5, 1e-4);\n"
    "bool and int tensors must be equal.  Names on one side only are listed;\n"
    "with --strict they count as failures.  Exit 0: all pass; 1: a mismatch;\n"
    "2: bad input.\n";

int cmd_compare(int argc, char **argv)
{
    cli_opts o;
    int rc = cli_parse(argc, argv, 2, &o, "compare");
    if (rc || o.help || o.n_positional != 2) {
        if (!o.help && !rc)
            fprintf(stderr, "layerstep compare: needs two directories\n");
        fputs(compare_help, (rc || !o.help) ? stderr : stdout);
        return o.help && !rc ? 0 : 2;
    }
    ls_error err = {0};
    ls_tmap *a = NULL, *b = NULL;
    if (ls_dump_load(o.positional[0], &a, &err) || ls_dump_load(o.positional[1], &b, &err)) {
        cli_error(err.msg);
        ls_tmap_free(a);
        return 2;
    }
    for (int k = 0; k < 2; k++)
        if (ls_dump_is_incomplete(o.positional[k]))
            fprintf(stderr, "layerstep: warning: %s is an interrupted dump (incomplete): only the "
                            "points it has are compared\n", o.positional[k]);
    ls_cmp_opts co = {o.atol, o.rtol};
    int pass = 0, fail = 0, missing = 0;
    const char *first = NULL;
    printf("%-54s %-16s %10s %10s  %s\n", "name", "shape", "max abs", "max rel", "result");
    /* names come from files (a manifest, file names): printed escaped */
    char shown[512], first_buf[512];
    for (int i = 0; i < ls_tmap_count(a); i++) {
        const char *raw = ls_tmap_name(a, i);
        const char *name = ls_printable(raw, shown, sizeof shown);
        const ls_tensor *ta = ls_tmap_at(a, i), *tb = ls_tmap_get(b, raw);
        char shape[64];
        ls_shape_str(ta, shape, sizeof shape);
        if (!tb) {
            printf("%-54s %-16s %10s %10s  only in %s\n", name, shape, "-", "-", o.positional[0]);
            missing++;
            continue;
        }
        ls_cmp_row r;
        ls_compare_tensors(ta, tb, &co, &r);
        if (r.status == LS_CMP_SHAPE) {
            char sb[64];
            printf("%-54s %-16s %10s %10s  FAIL: %s %s vs %s %s\n", name, shape, "-", "-",
                   ls_dtype_name(ta->dtype), shape, ls_dtype_name(tb->dtype),
                   ls_shape_str(tb, sb, sizeof sb));
        } else {
            printf("%-54s %-16s %10.3g %10.3g  %s\n", name, shape, r.max_abs, r.max_rel,
                   r.status == LS_CMP_PASS ? "pass" : ls_cmp_status_name(r.status));
        }
        if (r.status == LS_CMP_PASS) {
            pass++;
        } else {
            fail++;
            if (!first)
                first = strcpy(first_buf, name);
        }
    }
    for (int i = 0; i < ls_tmap_count(b); i++)
        if (!ls_tmap_get(a, ls_tmap_name(b, i))) {
            char shape[64];
            printf("%-54s %-16s %10s %10s  only in %s\n", ls_printable(ls_tmap_name(b, i), shown, sizeof shown),
                   ls_shape_str(ls_tmap_at(b, i), shape, sizeof shape), "-", "-", o.positional[1]);
            missing++;
        }
    printf("\n%d passed, %d failed, %d missing on one side (atol %g, rtol %g)\n", pass, fail,
           missing, o.atol, o.rtol);
    if (first)
        printf("first failing point: %s\n", first);
    ls_tmap_free(a);
    ls_tmap_free(b);
    return (fail || (o.strict && missing)) ? 1 : 0;
}
