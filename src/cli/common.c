#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "layerstep/audio.h"
#include "layerstep/exec.h"
#include "layerstep/npy.h"
#include "layerstep/transformer.h"

void cli_error(const char *msg) { fprintf(stderr, "layerstep: %s\n", msg); }

static int need_value(int argc, char **argv, int *i, const char **out, const char *cmd)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "layerstep %s: option %s needs a value\n", cmd, argv[*i]);
        return 2;
    }
    *out = argv[++*i];
    return 0;
}

static int parse_double(const char *s, double *out, const char *opt, const char *cmd)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0) || !isfinite(v)) {
        fprintf(stderr, "layerstep %s: %s takes a non-negative number, got '%s'\n", cmd, opt, s);
        return 2;
    }
    *out = v;
    return 0;
}

/* Digits only, checked against max before anything is converted: "1e12",
 * "3e9", "-1" and "nan" are refused rather than cast (a double beyond an
 * int's range cast to int is undefined behaviour). */
int cli_parse_count(const char *s, unsigned long long max, unsigned long long *out,
                    const char *opt, const char *cmd)
{
    unsigned long long v = 0;
    bool ok = *s != '\0';
    for (const char *p = s; ok && *p; p++) {
        if (*p < '0' || *p > '9' || v > (max - (unsigned long long)(*p - '0')) / 10)
            ok = false;
        else
            v = v * 10 + (unsigned long long)(*p - '0');
    }
    if (!ok) {
        fprintf(stderr, "layerstep %s: %s takes a whole number from 0 to %llu, got '%s'\n", cmd,
                opt, max, s);
        return 2;
    }
    *out = v;
    return 0;
}

/* More threads than online CPUs only queue behind each other (a 1 s run
 * took 35 s with 1000 threads on 2 CPUs): cap, and say so once. */
static int cap_threads(unsigned long long want, const char *cmd)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    if (want > (unsigned long long)cpus) {
        fprintf(stderr, "layerstep %s: --threads %llu is more than the %ld online CPUs; using %ld\n",
                cmd, want, cpus, cpus);
        return (int)cpus;
    }
    return (int)want;
}

/* 512M, 2G, 1.5GiB, 1000000 (bytes) */
static int parse_size(const char *s, size_t *out, const char *opt, const char *cmd)
{
    char *end;
    double v = strtod(s, &end);
    double k = 1;
    switch (*end) {
    case 'k': case 'K': k = 1024.0; end++; break;
    case 'm': case 'M': k = 1024.0 * 1024; end++; break;
    case 'g': case 'G': k = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': k = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (k > 1 && (!strcmp(end, "iB") || !strcmp(end, "B")))
        end += strlen(end);
    if (end == s || *end || !(v > 0) || v * k >= 9.0e18) {
        fprintf(stderr, "layerstep %s: %s takes a size like 512M or 4G, got '%s'\n", cmd, opt, s);
        return 2;
    }
    *out = (size_t)(v * k);
    return 0;
}

/* "1.50 GiB", "380.2 MiB", "12.0 KiB" */
static const char *human(size_t b, char buf[32])
{
    if (b >= (size_t)1 << 30)
        snprintf(buf, 32, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
    else if (b >= (size_t)1 << 20)
        snprintf(buf, 32, "%.1f MiB", (double)b / (1024.0 * 1024));
    else
        snprintf(buf, 32, "%.1f KiB", (double)b / 1024.0);
    return buf;
}

int cli_check_memory(const cli_opts *o, const ls_model *m, const ls_graph *g,
                     const ls_exec_opts *eo)
{
    size_t limit = o->max_memory ? o->max_memory : ls_model_default_max_memory();
    size_t w = ls_model_weight_bytes(m), act = ls_exec_plan_bytes(g, eo);
    size_t packs = ls_exec_pack_bytes(g, eo);
    size_t total = w > SIZE_MAX - act ? SIZE_MAX : w + act;
    total = total > SIZE_MAX - packs ? SIZE_MAX : total + packs;
    if (total <= limit)
        return 0;
    char b0[32], b1[32], b2[32], b3[32], b4[32], b5[32], shape[64], big[400] = "";
    char packed[64] = "";
    if (packs)
        snprintf(packed, sizeof packed, " + weights packed for the GEMM %s", human(packs, b5));
    /* The largest single tensor says where the memory goes: for a long
     * input it is an attention matrix [B, H, T, T], which --only cannot
     * help (it is working memory, needed while its layer runs). */
    int imax = -1, same = 0;
    size_t max = 0;
    for (int i = 0; i < ls_graph_n_nodes(g); i++) {
        const ls_tensor *t = &ls_graph_node(g, i)->out;
        /* views share storage; weights are counted as weights */
        if (ls_op_kind_of(ls_graph_node(g, i)->op) == LS_KIND_VIEW ||
            ls_graph_node(g, i)->op == LS_OP_CONST)
            continue;
        size_t b = (size_t)ls_tensor_numel(t) * ls_dtype_size(t->dtype);
        if (b > max) {
            max = b;
            imax = i;
            same = 0;
        }
        same += b == max;
    }
    if (imax >= 0) {
        const ls_tensor *t = &ls_graph_node(g, imax)->out;
        bool square = t->ndim == 4 && t->shape[2] == t->shape[3] && t->shape[2] > 1;
        char name[200];
        snprintf(big, sizeof big, "; the largest, '%s' %s%s, %s %s%s",
                 ls_printable(ls_graph_node(g, imax)->name, name, sizeof name),
                 ls_shape_str(t, shape, sizeof shape), same > 1 ? " and others like it" : "",
                 same > 1 ? "take" : "takes", human(max, b4), same > 1 ? " each" : "");
        if (square)
            snprintf(big + strlen(big), sizeof big - strlen(big),
                     " (attention working memory: it grows with the square of the input length)");
    }
    fprintf(stderr,
            "layerstep: %s: this run needs about %s (weights %s%s + %s tensors %s)%s, more "
            "than --max-memory %s; try a shorter input, %s--module PATH to run one module, "
            "or a larger --max-memory\n",
            ls_model_dir(m), human(total, b0), human(w, b1), packed,
            eo && eo->reuse_buffers ? "working and kept" : "traced", human(act, b2), big,
            human(limit, b3),
            !o->only_keeps ? "" : o->only ? "a narrower --only GLOB, "
                                          : "--only GLOB to keep only the points you need, ");
    return 2;
}

bool cli_reference(const cli_opts *o)
{
    const char *env = getenv("LAYERSTEP_REFERENCE");
    return o->reference || (env && !strcmp(env, "1"));
}

size_t cli_exec_budget(const cli_opts *o, const ls_model *m)
{
    size_t w = ls_model_weight_bytes(m);
    if (!o->max_memory)
        return 0;
    return o->max_memory > w ? o->max_memory - w : 1;
}

int cli_parse(int argc, char **argv, int first, cli_opts *o, const char *cmd)
{
    memset(o, 0, sizeof *o);
    o->atol = 1e-5;
    o->rtol = 1e-4;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
        } else if (!strcmp(a, "--model")) {
            rc = need_value(argc, argv, &i, &o->model, cmd);
        } else if (!strcmp(a, "--inputs")) {
            rc = need_value(argc, argv, &i, &o->inputs_dir, cmd);
        } else if (!strcmp(a, "--input")) {
            if (!(rc = need_value(argc, argv, &i, &v, cmd))) {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v || !eq[1]) {
                    fprintf(stderr, "layerstep %s: --input takes NAME=FILE.npy, got '%s'\n", cmd, v);
                    return 2;
                }
                if (o->n_inputs >= CLI_MAX_INPUTS) {
                    fprintf(stderr, "layerstep %s: at most %d --input options\n", cmd, CLI_MAX_INPUTS);
                    return 2;
                }
                if ((size_t)(eq - v) >= sizeof o->name_buf[0]) {
                    fprintf(stderr, "layerstep %s: --input name is longer than %zu bytes\n", cmd,
                            sizeof o->name_buf[0] - 1);
                    return 2;
                }
                char *name = o->name_buf[o->n_inputs];
                memcpy(name, v, (size_t)(eq - v));
                name[eq - v] = '\0';
                o->input_names[o->n_inputs] = name;
                o->input_files[o->n_inputs++] = eq + 1;
            }
        } else if (!strcmp(a, "--src")) {
            rc = need_value(argc, argv, &i, &o->src, cmd);
        } else if (!strcmp(a, "--tgt")) {
            rc = need_value(argc, argv, &i, &o->tgt, cmd);
        } else if (!strcmp(a, "--wav")) {
            rc = need_value(argc, argv, &i, &o->wav, cmd);
        } else if (!strcmp(a, "--mode")) {
            rc = need_value(argc, argv, &i, &o->mode, cmd);
        } else if (!strcmp(a, "--module")) {
            rc = need_value(argc, argv, &i, &o->module, cmd);
        } else if (!strcmp(a, "--only")) {
            rc = need_value(argc, argv, &i, &o->only, cmd);
        } else if (!strcmp(a, "--out")) {
            rc = need_value(argc, argv, &i, &o->out, cmd);
        } else if (!strcmp(a, "--break")) {
            if (!(rc = need_value(argc, argv, &i, &v, cmd))) {
                if (o->n_breaks >= CLI_MAX_BREAKS) {
                    fprintf(stderr, "layerstep %s: at most %d --break options\n", cmd, CLI_MAX_BREAKS);
                    return 2;
                }
                o->breaks[o->n_breaks++] = v;
            }
        } else if (!strcmp(a, "--atol")) {
            if (!(rc = need_value(argc, argv, &i, &v, cmd)))
                rc = parse_double(v, &o->atol, a, cmd);
        } else if (!strcmp(a, "--rtol")) {
            if (!(rc = need_value(argc, argv, &i, &v, cmd)))
                rc = parse_double(v, &o->rtol, a, cmd);
        } else if (!strcmp(a, "--threads")) {
            unsigned long long t;
            if (!(rc = need_value(argc, argv, &i, &v, cmd)) &&
                !(rc = cli_parse_count(v, 1000000, &t, a, cmd)))
                o->threads = cap_threads(t, cmd);
        } else if (!strcmp(a, "--random-inputs")) {
            unsigned long long s;
            if (!(rc = need_value(argc, argv, &i, &v, cmd)) &&
                !(rc = cli_parse_count(v, ULLONG_MAX, &s, a, cmd))) {
                o->random_inputs = true;
                o->seed = s;
            }
        } else if (!strcmp(a, "--max-memory")) {
            if (!(rc = need_value(argc, argv, &i, &v, cmd)))
                rc = parse_size(v, &o->max_memory, a, cmd);
        } else if (!strcmp(a, "--stats")) {
            o->stats = true;
        } else if (!strcmp(a, "--force")) {
            o->force = true;
        } else if (!strcmp(a, "--reference")) {
            o->reference = true;
        } else if (!strcmp(a, "--all")) {
            o->all = true;
        } else if (!strcmp(a, "--strict")) {
            o->strict = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "layerstep %s: unknown option '%s' (see layerstep %s --help)\n", cmd, a, cmd);
            return 2;
        } else {
            if (o->n_positional >= 4) {
                fprintf(stderr, "layerstep %s: too many arguments ('%s')\n", cmd, a);
                return 2;
            }
            o->positional[o->n_positional++] = a;
        }
        if (rc)
            return rc;
    }
    /* inputs from two places: one of them would be silently ignored */
    const char *conflict = o->inputs_dir && o->src ? "--inputs and --src"
                           : o->inputs_dir && o->wav ? "--inputs and --wav"
                           : o->src && o->wav        ? "--src and --wav"
                                                     : NULL;
    if (conflict) {
        fprintf(stderr, "layerstep %s: %s both give the inputs; use one\n", cmd, conflict);
        return 2;
    }
    if (o->tgt && !o->src) {
        fprintf(stderr, "layerstep %s: --tgt needs --src (the target of which sentence?)\n", cmd);
        return 2;
    }
    if (o->src && !o->src[strspn(o->src, " \t")]) {
        fprintf(stderr, "layerstep %s: --src is empty; give a sentence\n", cmd);
        return 2;
    }
    if (o->tgt && !o->tgt[strspn(o->tgt, " \t")]) {
        fprintf(stderr, "layerstep %s: --tgt is empty; give a sentence\n", cmd);
        return 2;
    }
    return 0;
}

void cli_wav_notices(const char *path, const ls_wav_info *wi)
{
    /* Converted input is not what the user handed over: say so, once. */
    if (wi->channels > 1)
        fprintf(stderr, "layerstep: %s: %d channels mixed down to mono\n", path, wi->channels);
    if (wi->sample_rate && wi->sample_rate != LS_WAV_RATE)
        fprintf(stderr, "layerstep: %s: %d Hz resampled to %d Hz\n", path, wi->sample_rate,
                LS_WAV_RATE);
}

int cli_load(const cli_opts *o, ls_model **mp, ls_tmap **inp)
{
    ls_error err = {0};
    *mp = NULL;
    *inp = NULL;
    if (!o->model) {
        cli_error("--model DIR is required");
        return 2;
    }
    ls_model *m;
    size_t limit = o->max_memory ? o->max_memory : ls_model_default_max_memory();
    if (ls_model_load_limit(o->model, limit, &m, &err)) {
        cli_error(err.msg);
        return 2;
    }
    if (ls_model_warning(m)[0])
        fprintf(stderr, "layerstep: warning: %s\n", ls_model_warning(m));
    ls_tmap *in = NULL;
    if (o->inputs_dir) {
        if (ls_npy_load_dir(o->inputs_dir, &in, &err)) {
            cli_error(err.msg);
            ls_model_free(m);
            return 2;
        }
    } else {
        /* named by where the inputs come from, for messages */
        in = ls_tmap_new(o->wav ? o->wav : o->src ? "--src" : "example inputs");
        /* with --module, --input names the module's arguments instead */
        bool given = (o->n_inputs > 0 && !o->module) || o->src || o->wav;
        ls_wav_info wi = {0};
        if (o->wav && ls_audio_model_inputs_info(m, o->wav, in, &wi, &err)) {
            cli_error(err.msg);
            ls_tmap_free(in);
            ls_model_free(m);
            return 2;
        }
        if (o->wav)
            cli_wav_notices(o->wav, &wi);
        if (o->src && ls_transformer_text_inputs(m, o->src, o->tgt, in, &err)) {
            cli_error(err.msg);
            ls_tmap_free(in);
            ls_model_free(m);
            return 2;
        }
        if (!given && ls_model_arch(m)->example_inputs &&
            ls_model_arch(m)->example_inputs(m, in, &err)) {
            cli_error(err.msg);
            ls_tmap_free(in);
            ls_model_free(m);
            return 2;
        }
    }
    for (int i = 0; i < o->n_inputs && !o->module; i++) {
        ls_tensor t;
        if (ls_npy_load(o->input_files[i], ls_tmap_arena(in), &t, &err) ||
            ls_tmap_put_ref(in, o->input_names[i], &t, &err)) {
            cli_error(err.msg);
            ls_tmap_free(in);
            ls_model_free(m);
            return 2;
        }
    }
    *mp = m;
    *inp = in;
    return 0;
}

/* A module run: each argument from --input NAME=FILE, or random. */
static int set_module_inputs(const cli_opts *o, const ls_graph *g, ls_exec *ex, ls_error *err)
{
    ls_arena *a = ls_arena_new(1 << 20);
    if (!a)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    ls_rng rng = {o->seed};
    int rc = LS_OK;
    for (int i = 0; i < ls_graph_n_nodes(g) && !rc; i++) {
        const ls_node *nd = ls_graph_node(g, i);
        if (nd->op != LS_OP_INPUT)
            continue;
        char shape[64];
        ls_shape_str(&nd->out, shape, sizeof shape);
        int k = 0;
        while (k < o->n_inputs && strcmp(o->input_names[k], nd->name))
            k++;
        ls_tensor t;
        if (k < o->n_inputs) {
            rc = ls_npy_load(o->input_files[k], a, &t, err);
        } else if (o->random_inputs) {
            rc = ls_tensor_alloc(a, nd->out.dtype, nd->out.ndim, nd->out.shape, &t, err);
            /* floats ~ N(0,1); masks and ids get the module's "nothing
             * masked" value (its argument's fill) */
            for (int64_t j = 0; !rc && j < ls_tensor_numel(&t); j++)
                ls_tensor_set_flat(&t, j, t.dtype == LS_F32 ? ls_rng_normal(&rng) : ls_graph_input_fill(nd));
            if (!rc)
                printf("# random input %-28s %s %s (seed %llu)\n", nd->name,
                       ls_dtype_name(t.dtype), shape, o->seed);
        } else {
            rc = ls_error_set(err, LS_ERR_MISSING,
                              "module '%s' needs input '%s' (%s %s): give --input %s=FILE.npy or "
                              "--random-inputs SEED",
                              o->module, nd->name, ls_dtype_name(nd->out.dtype), shape, nd->name);
        }
        if (!rc)
            rc = ls_exec_set_input(ex, nd->name, &t, err);
    }
    for (int k = 0; k < o->n_inputs && !rc; k++)
        if (ls_graph_find(g, o->input_names[k]) < 0 ||
            ls_graph_node(g, ls_graph_find(g, o->input_names[k]))->op != LS_OP_INPUT)
            rc = ls_error_set(err, LS_ERR_ARG, "module '%s' has no input '%s'", o->module,
                              o->input_names[k]);
    ls_arena_free(a);
    return rc;
}

int cli_prepare(const cli_opts *o, ls_model *m, ls_tmap *inputs, ls_graph **gp, ls_exec **exp)
{
    ls_error err = {0};
    /* a sentence without a target can only be decoded greedily */
    const char *mode = o->mode ? o->mode : (o->src && !o->tgt ? "greedy" : NULL);
    ls_build_opts bo = {.mode = mode, .module = o->module};
    ls_graph *g;
    *gp = NULL;
    *exp = NULL;
    if (ls_model_build(m, inputs, &bo, &g, &err)) {
        cli_error(err.msg);
        return 2;
    }
    ls_exec_opts eo = {.reference = cli_reference(o), .threads = o->threads, .cancel = o->cancel};
    if (o->only_keeps && o->only) {
        eo.reuse_buffers = true;
        eo.keep = o->only;
    }
    /* an explicit limit also bounds what the run allocates later (the
     * TUI's edits copy weights) */
    eo.max_bytes = cli_exec_budget(o, m);
    if (cli_check_memory(o, m, g, &eo)) {
        ls_graph_free(g);
        return 2;
    }
    ls_exec *ex;
    if (ls_exec_new(g, &eo, &ex, &err)) {
        cli_error(err.msg);
        ls_graph_free(g);
        return 2;
    }
    int rc = o->module ? set_module_inputs(o, g, ex, &err) : ls_exec_set_inputs(ex, inputs, &err);
    if (rc) {
        cli_error(err.msg);
        ls_exec_free(ex);
        ls_graph_free(g);
        return 2;
    }
    *gp = g;
    *exp = ex;
    return 0;
}
