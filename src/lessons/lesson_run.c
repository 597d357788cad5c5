/* The run a stretch of a lesson's steps looks at: its model, inputs,
 * graph and executor (a whole model, or one module of it on random or
 * real inputs), and the check that every point a step names exists. */

#include "layerstep/lesson.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "layerstep/atomic.h"
#include "layerstep/audio.h"
#include "layerstep/npy.h"
#include "layerstep/transformer.h"
#include "lesson_internal.h"

/* ------------------------------------------------------------------ */
/* the run                                                             */

void ls_lesson_run_close(ls_lesson_run *r)
{
    ls_exec_free(r->ex);
    ls_graph_free(r->g);
    ls_tmap_free(r->in);
    if (!r->borrowed)
        ls_model_free(r->m);
    memset(r, 0, sizeof *r);
}

int ls_lesson_run_start(const ls_lesson *L, int step)
{
    if (step >= L->n_steps)
        step = L->n_steps - 1;
    for (int i = step; i > 0; i--)
        if (L->steps[i].run)
            return i;
    return 0;
}

/* What a run is made of, after inheriting from the runs before it. */
typedef struct run_spec {
    char *const *models;
    int n_models;
    const char *src, *tgt, *wav, *dir, *mode, *module;
    bool random;
    uint64_t seed;
} run_spec;

static bool same_models(char *const *a, int na, char *const *b, int nb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

/* The lesson's own run, then every switch up to `start` in order. */
static void resolve(const ls_lesson *L, int start, run_spec *r)
{
    *r = (run_spec){L->models, L->n_models, L->in_src, L->in_tgt, L->in_wav, L->in_dir, L->mode,
                    NULL, false, 0};
    for (int i = 0; i <= start && i < L->n_steps; i++) {
        const ls_lesson_switch *w = L->steps[i].run;
        if (!w)
            continue;
        bool same = !w->n_models || same_models(w->models, w->n_models, r->models, r->n_models);
        if (w->n_models) {
            r->models = w->models;
            r->n_models = w->n_models;
        }
        if (w->has_input) {
            r->src = w->in_src;
            r->tgt = w->in_tgt;
            r->wav = w->in_wav;
            r->dir = w->in_dir;
        } else if (!same) {
            r->src = r->tgt = r->wav = r->dir = NULL;  /* another model: its example inputs */
        }
        if (w->mode)
            r->mode = w->mode;
        else if (!same)
            r->mode = NULL;
        r->module = w->module;
        r->random = w->random;
        r->seed = w->seed;
    }
}

/* Feeds every input of the module graph: seeded N(0,1) floats and the
 * argument's fill for masks and ids, exactly as `layerstep run --module P
 * --random-inputs SEED` does (same order, same generator), so a lesson
 * and the CLI show the same numbers. */
static int module_random_inputs(ls_lesson_run *r, ls_error *err)
{
    ls_arena *a = ls_arena_new(1 << 20);
    if (!a)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    ls_rng rng = {r->seed};
    int rc = LS_OK;
    for (int i = 0; i < ls_graph_n_nodes(r->g) && !rc; i++) {
        const ls_node *nd = ls_graph_node(r->g, i);
        if (nd->op != LS_OP_INPUT)
            continue;
        ls_tensor t;
        rc = ls_tensor_alloc(a, nd->out.dtype, nd->out.ndim, nd->out.shape, &t, err);
        for (int64_t j = 0; !rc && j < ls_tensor_numel(&t); j++)
            ls_tensor_set_flat(&t, j, t.dtype == LS_F32 ? ls_rng_normal(&rng) : ls_graph_input_fill(nd));
        if (!rc)
            rc = ls_exec_set_input(r->ex, nd->name, &t, err);
    }
    ls_arena_free(a);
    return rc;
}

/* Feeds every input of the module graph with the tensor the full run
 * computed there: an argument from its alias "<module>.@<arg>", any
 * other outside value by its own name. */
static int module_real_inputs(ls_lesson_run *r, const ls_graph *full, const ls_exec *fex,
                              ls_error *err)
{
    for (int i = 0; i < ls_graph_n_nodes(r->g); i++) {
        const ls_node *nd = ls_graph_node(r->g, i);
        if (nd->op != LS_OP_INPUT)
            continue;
        char name[600];
        if (nd->flags & LS_NODE_ARG)
            snprintf(name, sizeof name, "%s.@%s", r->module, nd->name);
        else
            snprintf(name, sizeof name, "%s", nd->name);
        int src = ls_graph_find(full, name);
        const ls_tensor *t = src >= 0 ? ls_exec_out(fex, src) : NULL;
        if (!t)
            return ls_error_set(err, LS_ERR_MISSING,
                                "module '%s': the full run has no value for its input '%s' "
                                "(give \"random_inputs\")", r->module, nd->name);
        int rc = ls_exec_set_input(r->ex, nd->name, t, err);
        if (rc)
            return rc;
    }
    return LS_OK;
}

/* Opens the run of `step`.  `reuse` (may be NULL) is a loaded model: when
 * the run needs that directory it is used instead of loading the weights
 * again (a copy of the article Conformer's random weights is 0.3 GiB),
 * owned by the run if `own` (else borrowed), and freed here if `own` and
 * not needed. */
static int open_run(const ls_lesson *L, int step, const char *data_dir, const ls_exec_opts *eo,
                    ls_model *reuse, bool own, ls_lesson_run *r, ls_error *err)
{
    memset(r, 0, sizeof *r);
    r->start = ls_lesson_run_start(L, step);
    snprintf(r->data_dir, sizeof r->data_dir, "%s", data_dir);
    if (eo) {
        r->eo = *eo;
        r->has_eo = true;
    }
    run_spec sp;
    resolve(L, r->start, &sp);
    char cfg[700];
    for (int i = 0; i < sp.n_models && !r->model_dir[0]; i++) {
        snprintf(cfg, sizeof cfg, "%s/%s/config.json", data_dir, sp.models[i]);
        struct stat st;
        if (!stat(cfg, &st))
            snprintf(r->model_dir, sizeof r->model_dir, "%s/%s", data_dir, sp.models[i]);
    }
    ls_graph *full = NULL;
    ls_exec *fex = NULL;
    int rc;
    if (!r->model_dir[0]) {
        rc = ls_error_set(err, LS_ERR_MISSING, "no model directory '%s' under %s", sp.models[0],
                          data_dir);
        goto fail;
    }
    if (reuse && !strcmp(ls_model_dir(reuse), r->model_dir)) {
        r->m = reuse;
        r->borrowed = !own;
        reuse = NULL;
    } else if ((rc = ls_model_load(r->model_dir, &r->m, err))) {
        goto fail;
    }
    if (reuse && own)
        ls_model_free(reuse);
    reuse = NULL;
    char path[700];
    if (sp.dir) {
        snprintf(path, sizeof path, "%s/%s", r->model_dir, sp.dir);
        rc = ls_npy_load_dir(path, &r->in, err);
    } else {
        r->in = ls_tmap_new(sp.wav ? (L->user_wav ? L->user_wav : sp.wav) : sp.src ? "lesson text" : "example inputs");
        if (!r->in)
            rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory");
        else if (sp.wav) {
            /* the learner's own recording stands in for the lesson's clip */
            if (L->user_wav)
                snprintf(path, sizeof path, "%s", L->user_wav);
            else
                snprintf(path, sizeof path, "%s/%s", data_dir, sp.wav);
            ls_wav_info wi = {0};
            rc = ls_audio_model_inputs_info(r->m, path, r->in, &wi, err);
            r->wav_rate = wi.sample_rate;
            r->wav_channels = wi.channels;
            snprintf(r->wav_path, sizeof r->wav_path, "%s", path);
        } else if (sp.src) {
            rc = ls_transformer_text_inputs(r->m, sp.src, sp.tgt, r->in, err);
        } else if (ls_model_arch(r->m)->example_inputs) {
            rc = ls_model_arch(r->m)->example_inputs(r->m, r->in, err);
        }
    }
    if (rc)
        goto fail;
    const char *mode = sp.mode ? sp.mode : (sp.src && !sp.tgt ? "greedy" : NULL);
    ls_build_opts bo = {.mode = mode};
    if (!sp.module) {
        if ((rc = ls_model_build(r->m, r->in, &bo, &r->g, err)) ||
            (rc = ls_exec_new(r->g, eo, &r->ex, err)) || (rc = ls_exec_set_inputs(r->ex, r->in, err)))
            goto fail;
        return LS_OK;
    }
    /* one module: the full graph fixes its shapes (and, without random
     * inputs, computes the tensors it is fed) */
    snprintf(r->module, sizeof r->module, "%s", sp.module);
    r->random = sp.random;
    r->seed = sp.seed;
    if ((rc = ls_model_build(r->m, r->in, &bo, &full, err)))
        goto fail;
    if (!r->random && ((rc = ls_exec_new(full, eo, &fex, err)) ||
                       (rc = ls_exec_set_inputs(fex, r->in, err)) || (rc = ls_exec_run(fex, err))))
        goto fail;
    if ((rc = ls_graph_extract(full, sp.module, &r->g, err)) || (rc = ls_exec_new(r->g, eo, &r->ex, err)))
        goto fail;
    rc = r->random ? module_random_inputs(r, err) : module_real_inputs(r, full, fex, err);
    if (rc)
        goto fail;
    ls_exec_free(fex);
    ls_graph_free(full);
    return LS_OK;
fail:
    if (reuse && own)
        ls_model_free(reuse);
    ls_exec_free(fex);
    ls_graph_free(full);
    if (L->steps[r->start].run)
        ls_error_prefix(err, "%s: step %d: run", L->path, r->start + 1);
    else
        ls_error_prefix(err, "%s", L->path);
    ls_lesson_run_close(r);
    return rc ? rc : LS_ERR_INTERNAL;
}

int ls_lesson_run_open_at(const ls_lesson *L, int step, const char *data_dir,
                          const ls_exec_opts *eo, ls_lesson_run *r, ls_error *err)
{
    return open_run(L, step, data_dir, eo, NULL, false, r, err);
}

int ls_lesson_run_open_shared(const ls_lesson *L, int step, const char *data_dir,
                              const ls_exec_opts *eo, const ls_model *share, ls_lesson_run *r,
                              ls_error *err)
{
    /* borrowed, never written: builds only read the model */
    return open_run(L, step, data_dir, eo, (ls_model *)share, false, r, err);
}

int ls_lesson_run_open(const ls_lesson *L, const char *data_dir, const ls_exec_opts *eo,
                       ls_lesson_run *r, ls_error *err)
{
    return ls_lesson_run_open_at(L, 0, data_dir, eo, r, err);
}

int ls_lesson_run_switch(const ls_lesson *L, int step, ls_lesson_run *r, ls_error *err)
{
    if (r->g && r->start == ls_lesson_run_start(L, step))
        return LS_OK;
    char dir[sizeof r->data_dir];
    snprintf(dir, sizeof dir, "%s", r->data_dir);
    ls_exec_opts eo = r->eo;
    bool has_eo = r->has_eo;
    /* the model goes on to the next run if it needs the same one */
    ls_model *m = r->m;
    bool borrowed = r->borrowed;
    r->m = NULL;
    ls_lesson_run_close(r);
    return open_run(L, step, dir, has_eo ? &eo : NULL, m, !borrowed, r, err);
}

/* Points of the steps [from, to) in g. */
static int check_steps(const ls_lesson *L, int from, int to, const ls_graph *g, ls_error *err);


int ls_lesson_check_points(const ls_lesson *L, const ls_graph *g, ls_error *err)
{
    int to = 1;
    while (to < L->n_steps && !L->steps[to].run)
        to++;
    return check_steps(L, 0, to, g, err);
}

int ls_lesson_check_all(const ls_lesson *L, ls_lesson_run *r, ls_error *err)
{
    for (int from = 0; from < L->n_steps;) {
        int to = from + 1;
        while (to < L->n_steps && !L->steps[to].run)
            to++;
        int rc = ls_lesson_run_switch(L, from, r, err);
        if (!rc)
            rc = check_steps(L, from, to, r->g, err);
        if (rc)
            return rc;
        from = to;
    }
    return ls_lesson_run_switch(L, 0, r, err);
}

static int check_steps(const ls_lesson *L, int from, int to, const ls_graph *g, ls_error *err)
{
    for (int i = from; i < to; i++) {
        const ls_lesson_step *s = &L->steps[i];
        const char *names[3] = {s->point, s->q.kind ? s->q.of : NULL, s->act.point};
        for (int k = 0; k < 3; k++)
            if (names[k] && ls_graph_find(g, names[k]) < 0)
                return ls_error_set(err, LS_ERR_MISSING, "%s: step %d: no point '%s' in the model",
                                    L->path, i + 1, names[k]);
        int node = s->q.kind ? ls_graph_find(g, s->q.of) : -1;
        if (node >= 0 && s->q.kind == LS_Q_TEXT && !s->q.n_index && strcmp(s->q.of, "ctc_greedy_search"))
            return ls_error_set(err, LS_ERR_ARG, "%s: step %d: a text question without \"index\" asks "
                                "for the transcript: \"of\" must be ctc_greedy_search, not '%s'",
                                L->path, i + 1, s->q.of);
        if (node >= 0 && (s->q.kind == LS_Q_TEXT || s->q.kind == LS_Q_COUNT) &&
            ls_graph_node(g, node)->out.ndim < 1)
            return ls_error_set(err, LS_ERR_SHAPE, "%s: step %d: '%s' is a scalar", L->path, i + 1, s->q.of);
        bool row_q = s->q.kind == LS_Q_MASKED || s->q.kind == LS_Q_ARGMAX || s->q.kind == LS_Q_COUNT ||
                     s->q.argmax;
        if (node >= 0 && (s->q.n_index || row_q || s->q.kind == LS_Q_DIRECTION)) {
            const ls_tensor *t = &ls_graph_node(g, node)->out;
            int need = row_q ? t->ndim - 1 : t->ndim;
            if (s->q.n_index != need)
                return ls_error_set(err, LS_ERR_SHAPE, "%s: step %d: index of '%s' has %d numbers, expected %d",
                                    L->path, i + 1, s->q.of, s->q.n_index, need);
            for (int d = 0; d < s->q.n_index; d++)
                if (s->q.index[d] >= t->shape[d])
                    return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: index %lld of '%s' is out of its dim %d (size %lld)",
                                        L->path, i + 1, (long long)s->q.index[d], s->q.of, d,
                                        (long long)t->shape[d]);
        }
        if (node >= 0 && s->q.kind == LS_Q_CHOICE && s->q.dim >= ls_graph_node(g, node)->out.ndim)
            return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: '%s' has no dim %d", L->path, i + 1,
                                s->q.of, s->q.dim);
        /* the edit writes at its index: a cell outside the tensor would
         * write outside it (found writing fuzz_lesson's seeds; ASan cannot see a
         * write that stays inside the arena) */
        int en = s->act.kind == LS_ACT_EDIT ? ls_graph_find(g, s->act.point) : -1;
        if (en >= 0 && !ls_lesson_index_inside(&ls_graph_node(g, en)->out, s->act.n_index, s->act.index))
            return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: edit index is not a cell of '%s' (%d dims)",
                                L->path, i + 1, s->act.point, ls_graph_node(g, en)->out.ndim);
        if (en >= 0 && s->act.has_to &&
            !ls_lesson_index_inside(&ls_graph_node(g, en)->out, s->act.n_index, s->act.to))
            return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: edit \"to\" is not a cell of '%s' (shape %s)",
                                L->path, i + 1, s->act.point,
                                ls_shape_str(&ls_graph_node(g, en)->out, (char[96]){0}, 96));
    }
    return LS_OK;
}

