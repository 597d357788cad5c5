/* diff: where do we first part ways with a reference dump, and is the
 * fault there or inherited? */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "layerstep/diff.h"
#include "layerstep/dump.h"

static const char *const diff_help =
    "usage: layerstep diff --model DIR [--inputs DIR | --input NAME=FILE ...] REF_DUMP_DIR\n"
    "                      [--atol A] [--rtol R] [--json] [--all] [--module PATH]\n"
    "\n"
    "Runs the model and compares every named point, in execution order, with the\n"
    "tensor of the same name in REF_DUMP_DIR (tools/torch_dump.py, layerstep dump,\n"
    "or a fixture's acts/).  Each failing point is run again with the reference's\n"
    "own inputs: if it then matches, its error is inherited from upstream;\n"
    "otherwise the fault is LOCAL to that op.  Prints a summary and the first local\n"
    "fault (op, parameters, shapes, errors, worst index, values from both sides);\n"
    "--all adds the whole table, --json prints the table as JSON.\n"
    "Exit 0: all pass; 1: differences; 2: bad input.\n";

int cmd_diff(int argc, char **argv)
{
    cli_opts o;
    int rc = cli_parse(argc, argv, 2, &o, "diff");
    if (rc || o.help || o.n_positional != 1) {
        if (!rc && !o.help)
            fprintf(stderr, "layerstep diff: needs one reference dump directory\n");
        fputs(diff_help, (rc || !o.help) ? stderr : stdout);
        return o.help && !rc ? 0 : 2;
    }
    ls_error err = {0};
    ls_tmap *ref = NULL;
    if (ls_dump_load(o.positional[0], &ref, &err)) {
        cli_error(err.msg);
        return 2;
    }
    ls_model *m;
    ls_tmap *in;
    if ((rc = cli_load(&o, &m, &in))) {
        ls_tmap_free(ref);
        return rc;
    }
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    ls_diff *d = NULL;
    if ((rc = cli_prepare(&o, m, in, &g, &ex)))
        goto done;
    if (ls_exec_run(ex, &err) || ls_diff_run(ex, ref, &(ls_cmp_opts){o.atol, o.rtol}, &d, &err)) {
        cli_error(err.msg);
        rc = 2;
        goto done;
    }
    if (o.json) {
        cJSON *j = ls_diff_json(ex, ref, d);
        char *s = cJSON_Print(j);
        if (s)
            puts(s);
        free(s);
        cJSON_Delete(j);
    } else {
        ls_diff_print(stdout, ex, ref, d, o.all);
    }
    rc = d->first_fail >= 0 ? 1 : 0;
done:
    ls_diff_free(d);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    ls_tmap_free(ref);
    return rc;
}
