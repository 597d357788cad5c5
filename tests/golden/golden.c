#include "golden.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/compare.h"
#include "layerstep/exec.h"
#include "layerstep/npy.h"

const char *ls_golden_path(const char *name, char *buf, size_t n)
{
    const char *root = getenv("LS_TEST_DATA");
    snprintf(buf, n, "%s/%s", root ? root : "tests/data", name);
    return buf;
}

static bool any_glob(const char *const *globs, const char *name)
{
    for (const char *const *g = globs; g && *g; g++)
        if (ls_glob_match(*g, name))
            return true;
    return false;
}

int ls_golden_check(const char *dir, const ls_golden_opts *o)
{
    ls_error err = {0};
    ls_model *m = NULL;
    ls_tmap *inputs = NULL, *acts = NULL;
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    int failures = 0, compared = 0;
    char path[4096];

    if (ls_model_load(dir, &m, &err)) {
        printf("golden %s: %s\n", dir, err.msg);
        return 1;
    }
    if (o->inputs_dir)
        snprintf(path, sizeof path, "%s", o->inputs_dir);
    else
        snprintf(path, sizeof path, "%s/inputs", dir);
    if (ls_npy_load_dir(path, &inputs, &err)) {
        printf("golden %s: %s\n", dir, err.msg);
        failures = 1;
        goto done;
    }
    snprintf(path, sizeof path, "%s/acts", dir);
    if (ls_npy_load_dir(path, &acts, &err)) {
        printf("golden %s: %s\n", dir, err.msg);
        failures = 1;
        goto done;
    }
    ls_build_opts bo = {.mode = o->mode, .module = NULL};
    if (ls_model_build(m, inputs, &bo, &g, &err)) {
        printf("golden %s: build: %s\n", dir, err.msg);
        failures = 1;
        goto done;
    }
    ls_exec_opts eo = {.reference = o->reference, .threads = 1};
    if (ls_exec_new(g, &eo, &ex, &err) || ls_exec_set_inputs(ex, inputs, &err) ||
        ls_exec_run(ex, &err)) {
        printf("golden %s: run: %s\n", dir, err.msg);
        failures = 1;
        goto done;
    }
    ls_cmp_opts co = {o->atol, o->rtol};
    const char *first = NULL;
    for (int i = 0; i < ls_tmap_count(acts); i++) {
        const char *name = ls_tmap_name(acts, i);
        if (o->only && !any_glob(o->only, name))
            continue;
        int node = ls_graph_find(g, name);
        if (node < 0) {
            if (!any_glob(o->optional, name)) {
                printf("  %-55s missing: no point of that name\n", name);
                failures++;
                if (!first)
                    first = name;
            }
            continue;
        }
        const ls_tensor *ours = ls_exec_out(ex, node);
        ls_cmp_row r;
        ls_compare_tensors(ours, ls_tmap_at(acts, i), &co, &r);
        compared++;
        if (r.status != LS_CMP_PASS) {
            char a[64], b[64];
            printf("  %-55s %s: max abs %.3g (scale %.3g, %lld over tol) ours %s %s ref %s %s\n",
                   name, ls_cmp_status_name(r.status), r.max_abs, r.scale,
                   (long long)(r.mismatches + r.nonfinite), ls_dtype_name(ours->dtype),
                   ls_shape_str(ours, a, sizeof a), ls_dtype_name(ls_tmap_at(acts, i)->dtype),
                   ls_shape_str(ls_tmap_at(acts, i), b, sizeof b));
            failures++;
            if (!first)
                first = name;
        }
    }
    if (compared < o->min_compared) {
        printf("golden %s: only %d points compared (expected at least %d)\n", dir, compared,
               o->min_compared);
        failures++;
    }
    printf("golden %s [%s%s]: %d points compared, %d failures%s%s\n", dir,
           o->mode ? o->mode : "default", o->reference ? ", reference kernels" : "", compared,
           failures, first ? ", first: " : "", first ? first : "");
done:
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(acts);
    ls_tmap_free(inputs);
    ls_model_free(m);
    return failures;
}
