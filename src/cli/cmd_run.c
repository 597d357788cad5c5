/* print, run, dump: build the graph, attach observers, run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "layerstep/dump.h"
#include "layerstep/trace.h"

static const char *const print_help =
    "usage: layerstep print --model DIR [--inputs DIR | --input NAME=FILE ...] [--mode M]\n"
    "\n"
    "Prints the model's module tree in PyTorch's repr style, each module's\n"
    "parameter shapes as a comment, repeated layers folded.\n";

static const char *const run_help =
    "usage: layerstep run --model DIR [--inputs DIR | --input NAME=FILE ...] [options]\n"
    "\n"
    "Runs the forward pass and prints one line per named point: name, op,\n"
    "dtype, shape; then the result.\n"
    "\n"
    "  --inputs DIR        every DIR/*.npy as an input named by its file stem\n"
    "  --input NAME=FILE   one input from a .npy file (repeatable)\n"
    "  --wav FILE          16 kHz mono WAV for a speech model (wav2vec2, conformer)\n"
    "  --src TEXT          source sentence for text models (decoded greedily)\n"
    "  --tgt TEXT          target sentence: teacher forcing with --src\n"
    "                      (--inputs, --wav and --src exclude each other)\n"
    "  --mode MODE         transformer: teacher (default) or greedy\n"
    "  --module PATH       run only this module, fed from the inputs\n"
    "  --only GLOB         list only points whose name matches GLOB; only those\n"
    "                      (and the results) stay in memory, other buffers are reused\n"
    "  --stats             add min/max/mean/std\n"
    "  --all               list internal nodes and weights too\n"
    "  --reference         use the plain reference loops only\n"
    "  --max-memory SIZE   refuse a run needing more (weights + every traced\n"
    "                      tensor, or with --only the kept ones); default half\n"
    "                      of physical memory\n"
    "  --threads N         worker threads (0: every online CPU; more than the\n"
    "                      online CPUs is capped with a notice)\n";

static const char *const dump_help =
    "usage: layerstep dump --model DIR [--inputs DIR | --input NAME=FILE ...] --out DIR\n"
    "                      [--only GLOB] [--force] [--max-memory SIZE]\n"
    "\n"
    "Writes every named point as DIR/<name>.npy and DIR/manifest.json (name,\n"
    "shape, dtype, module path, op, execution order).  Files are written\n"
    "atomically; only a regular file is ever replaced.  Refuses a non-empty DIR\n"
    "that is not a previous dump unless --force.  Into a previous dump, the\n"
    "points it wrote (its manifest, or an interrupted dump's marker) are removed\n"
    "first, nothing else.  Missing folders of DIR are created.  An interrupted\n"
    "dump's .layerstep-dump says \"incomplete\" (compare warns about it).\n";

int cmd_print(int argc, char **argv)
{
    cli_opts o;
    int rc = cli_parse(argc, argv, 2, &o, "print");
    if (rc || o.help) {
        fputs(print_help, rc ? stderr : stdout);
        return rc;
    }
    ls_model *m;
    ls_tmap *in;
    if ((rc = cli_load(&o, &m, &in)))
        return rc;
    ls_error err = {0};
    ls_build_opts bo = {.mode = o.mode, .module = o.module};
    ls_graph *g;
    if (ls_model_build(m, in, &bo, &g, &err)) {
        cli_error(err.msg);
        rc = 2;
    } else {
        printf("# %s (%s)\n", ls_model_dir(m), ls_model_weights_note(m));
        ls_tree_print(stdout, g, ls_model_weights(m));
        ls_graph_free(g);
    }
    ls_tmap_free(in);
    ls_model_free(m);
    return rc;
}

static int run_or_dump(int argc, char **argv, bool dump)
{
    const char *cmd = dump ? "dump" : "run";
    cli_opts o;
    int rc = cli_parse(argc, argv, 2, &o, cmd);
    if (rc || o.help) {
        fputs(dump ? dump_help : run_help, rc ? stderr : stdout);
        return rc;
    }
    if (dump && !o.out) {
        cli_error("dump: --out DIR is required");
        return 2;
    }
    if (!dump && o.out) {
        fprintf(stderr, "layerstep run: --out is not a run option (run prints; 'layerstep dump "
                        "--out DIR' writes the points)\n");
        return 2;
    }
    ls_model *m;
    ls_tmap *in;
    if ((rc = cli_load(&o, &m, &in)))
        return rc;
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    ls_dump *d = NULL;
    ls_error err = {0};
    o.only_keeps = true;
    if ((rc = cli_prepare(&o, m, in, &g, &ex)))
        goto done;
    ls_trace tr = {.out = stdout, .only = o.only, .stats = o.stats, .all = o.all};
    if (dump) {
        if (ls_dump_open(o.out, o.only, o.force, &d, &err)) {
            cli_error(err.msg);
            rc = 2;
            goto done;
        }
        ls_exec_add_hook(ex, ls_dump_hook(d));
    } else {
        printf("# %s (%s)\n", ls_model_dir(m), ls_model_weights_note(m));
        ls_exec_add_hook(ex, ls_trace_hook(&tr));
    }
    if (ls_exec_run(ex, &err)) {
        /* a failed write says more than "an observer failed" */
        if (d)
            ls_dump_status(d, &err);
        cli_error(err.msg);
        rc = 2;
        goto done;
    }
    if (dump) {
        int n = ls_dump_count(d);
        rc = ls_dump_close(d, ex, &err);
        d = NULL;
        if (rc) {
            cli_error(err.msg);
            rc = 2;
            goto done;
        }
        printf("wrote %d points to %s/ (manifest.json lists them in execution order)\n", n,
               o.out);
    } else if (ls_model_arch(m)->print_result) {
        ls_model_arch(m)->print_result(m, ex, stdout);
    }
done:
    if (d)
        ls_dump_close(d, ex, NULL);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    return rc;
}

int cmd_run(int argc, char **argv) { return run_or_dump(argc, argv, false); }
int cmd_dump(int argc, char **argv) { return run_or_dump(argc, argv, true); }
