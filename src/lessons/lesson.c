/* Lessons: parse and validate a lesson file, open its model run, and check
 * answers against the live tensors (never against a stored string). */

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

static const char *const lang_names[LS_LANG_COUNT] = LS_LESSON_LANGS;

int ls_lesson_lang(const char *name)
{
    for (int i = 0; i < LS_LANG_COUNT; i++)
        if (name && !strcmp(name, lang_names[i]))
            return i;
    return -1;
}

int ls_lesson_lang_default(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            return !strncmp(v, "zh", 2) ? LS_LANG_ZH : LS_LANG_EN;
    }
    return LS_LANG_EN;
}

const char *ls_ltext_get(const ls_ltext *t, int lang)
{
    if (lang >= 0 && lang < LS_LANG_COUNT && t->s[lang])
        return t->s[lang];
    return t->s[LS_LANG_EN] ? t->s[LS_LANG_EN] : "";
}

/* ------------------------------------------------------------------ */
/* parsing: every error is one line naming the file and the step          */

typedef struct pctx {
    const char *path;
    int step;     /* -1: the lesson header */
    ls_error *err;
} pctx;

static int perr(const pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(const pctx *c, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->step >= 0)
        return ls_error_set(c->err, LS_ERR_FORMAT, "%s: step %d: %s", c->path, c->step + 1, msg);
    return ls_error_set(c->err, LS_ERR_FORMAT, "%s: %s", c->path, msg);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int get_str(const pctx *c, const cJSON *o, const char *key, bool required, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (required)
            return perr(c, "missing \"%s\"", key);
        return LS_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return perr(c, "\"%s\" must be a non-empty string", key);
    if (!(*out = dup_str(v->valuestring)))
        return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
    return LS_OK;
}

/* {"en": "...", "zh": "..."}: every language is required. */
static int get_text(const pctx *c, const cJSON *o, const char *key, bool required, ls_ltext *t)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (required)
            return perr(c, "missing \"%s\"", key);
        return LS_OK;
    }
    if (!cJSON_IsObject(v))
        return perr(c, "\"%s\" must be an object of languages {\"en\": ..., \"zh\": ...}", key);
    for (int i = 0; i < LS_LANG_COUNT; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, lang_names[i]);
        if (!cJSON_IsString(s) || !s->valuestring[0])
            return perr(c, "\"%s\" has no \"%s\" text", key, lang_names[i]);
        if (!(t->s[i] = dup_str(s->valuestring)))
            return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
    }
    return LS_OK;
}

static int get_index(const pctx *c, const cJSON *o, const char *key, bool required, int *n,
                     int64_t *idx)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *n = 0;
    if (!v)
        return required ? perr(c, "missing \"%s\"", key) : LS_OK;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 4)
        return perr(c, "\"%s\" must be an array of at most 4 indices", key);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e9 ||
            e->valuedouble != (double)(int64_t)e->valuedouble)
            return perr(c, "\"%s\" must hold non-negative integers", key);
        idx[(*n)++] = (int64_t)e->valuedouble;
    }
    return LS_OK;
}

static int parse_question(const pctx *c, const cJSON *qj, const char *point, ls_lesson_question *q)
{
    if (!cJSON_IsObject(qj))
        return perr(c, "\"question\" must be an object");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(qj, "kind");
    static const char *const kinds[] = {"", "shape", "choice", "masked", "direction"};
    if (!cJSON_IsString(k))
        return perr(c, "question: missing \"kind\" (shape, choice, masked or direction)");
    for (int i = 1; i < 5; i++)
        if (!strcmp(k->valuestring, kinds[i]))
            q->kind = (ls_lesson_qkind)i;
    if (!q->kind)
        return perr(c, "question: unknown kind '%s' (shape, choice, masked or direction)",
                    k->valuestring);
    int rc;
    if ((rc = get_text(c, qj, "prompt", true, &q->prompt)) || (rc = get_text(c, qj, "why", true, &q->why)) ||
        (rc = get_str(c, qj, "of", false, &q->of)))
        return rc;
    if (!q->of && !(q->of = dup_str(point)))
        return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
    q->dim = -1;
    bool need_index = q->kind == LS_Q_MASKED || q->kind == LS_Q_DIRECTION;
    if ((rc = get_index(c, qj, "index", need_index, &q->n_index, q->index)))
        return rc;
    if (q->kind == LS_Q_CHOICE) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(qj, "dim");
        if (d) {
            if (!cJSON_IsNumber(d) || d->valueint < 0 || d->valueint > 3)
                return perr(c, "question: \"dim\" must be 0..3");
            q->dim = d->valueint;
        } else if (!q->n_index) {
            return perr(c, "choice question: give \"dim\" (a dimension of \"of\") or \"index\" (a value)");
        }
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(qj, "choices");
        if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) < 2 ||
            cJSON_GetArraySize(ch) > LS_LESSON_MAX_CHOICES)
            return perr(c, "choice question: \"choices\" must be an array of 2..%d objects",
                        LS_LESSON_MAX_CHOICES);
        const cJSON *e;
        cJSON_ArrayForEach(e, ch) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
            if (!cJSON_IsNumber(v))
                return perr(c, "choice %c: missing numeric \"value\"", 'a' + q->n_choices);
            q->values[q->n_choices] = v->valuedouble;
            /* counted before the check: ls_lesson_free frees a half-read text
             * (a leak fuzz_lesson found) */
            rc = get_text(c, e, "text", true, &q->choices[q->n_choices]);
            q->n_choices++;
            if (rc)
                return rc;
        }
    }
    return LS_OK;
}

static int parse_action(const pctx *c, const cJSON *aj, const char *point, ls_lesson_action *a)
{
    if (!cJSON_IsObject(aj))
        return perr(c, "\"action\" must be an object");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(aj, "kind");
    if (!cJSON_IsString(k))
        return perr(c, "action: missing \"kind\" (edit or head)");
    int rc;
    if (!strcmp(k->valuestring, "edit")) {
        a->kind = LS_ACT_EDIT;
        if ((rc = get_str(c, aj, "point", false, &a->point)))
            return rc;
        if (!a->point && !(a->point = dup_str(point)))
            return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
        if ((rc = get_index(c, aj, "index", true, &a->n_index, a->index)))
            return rc;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(aj, "value");
        if (!cJSON_IsNumber(v) && !cJSON_IsBool(v))
            return perr(c, "edit action: missing \"value\" (a number or true/false)");
        a->value = cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? 1 : 0) : v->valuedouble;
    } else if (!strcmp(k->valuestring, "head")) {
        a->kind = LS_ACT_HEAD;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(aj, "head");
        if (!cJSON_IsNumber(h) || h->valueint < 0 || h->valueint > 4096)
            return perr(c, "head action: \"head\" must be a head number");
        a->head = h->valueint;
    } else {
        return perr(c, "action: unknown kind '%s' (edit or head)", k->valuestring);
    }
    return LS_OK;
}

/* "input": {"src", "tgt"} | {"wav"} | {"dir"} | {} (the model's example
 * inputs), for the lesson and for a run */
static int parse_input(const pctx *c, const cJSON *in, const char *where, char **src, char **tgt,
                       char **wav, char **dir)
{
    if (!cJSON_IsObject(in))
        return perr(c, "%s\"input\" must be an object (src/tgt, wav or dir)", where);
    int rc;
    if ((rc = get_str(c, in, "src", false, src)) || (rc = get_str(c, in, "tgt", false, tgt)) ||
        (rc = get_str(c, in, "wav", false, wav)) || (rc = get_str(c, in, "dir", false, dir)))
        return rc;
    if ((*wav && strstr(*wav, "..")) || (*dir && strstr(*dir, "..")))
        return perr(c, "%s\"input\" paths must stay inside the data directory", where);
    if (*tgt && !*src)
        return perr(c, "%sinput: \"tgt\" needs \"src\"", where);
    return LS_OK;
}

/* "model": "dir" | ["dir", ...] (first found under data/ wins) */
static int parse_models(const pctx *c, const cJSON *m, const char *where, char **models, int *n)
{
    if (cJSON_IsString(m) && m->valuestring[0]) {
        if (!(models[(*n)++] = dup_str(m->valuestring)))
            return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) >= 1 && cJSON_GetArraySize(m) <= 4) {
        const cJSON *e;
        cJSON_ArrayForEach(e, m) {
            if (!cJSON_IsString(e) || !e->valuestring[0])
                return perr(c, "%s\"model\" entries must be directory names", where);
            if (!(models[(*n)++] = dup_str(e->valuestring)))
                return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
        }
    } else {
        return perr(c, "%s\"model\" must be a directory name under data/ (or a list of 1..4, first found wins)",
                    where);
    }
    for (int i = 0; i < *n; i++)
        if (strstr(models[i], ".."))
            return perr(c, "%s\"model\" '%s' must stay inside the data directory", where, models[i]);
    return LS_OK;
}

static int parse_switch(const pctx *c, const cJSON *rj, ls_lesson_switch *r)
{
    if (!cJSON_IsObject(rj))
        return perr(c, "\"run\" must be an object (model, input, mode, module, random_inputs)");
    static const char *const keys[] = {"model", "input", "mode", "module", "random_inputs"};
    const cJSON *e;
    cJSON_ArrayForEach(e, rj) {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            known |= !strcmp(e->string, keys[i]);
        if (!known)
            return perr(c, "run: unknown field \"%s\" (model, input, mode, module, random_inputs)",
                        e->string);
    }
    int rc;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(rj, "model");
    if (m && (rc = parse_models(c, m, "run: ", r->models, &r->n_models)))
        return rc;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(rj, "input");
    if (in) {
        r->has_input = true;
        if ((rc = parse_input(c, in, "run: ", &r->in_src, &r->in_tgt, &r->in_wav, &r->in_dir)))
            return rc;
    }
    if ((rc = get_str(c, rj, "mode", false, &r->mode)) || (rc = get_str(c, rj, "module", false, &r->module)))
        return rc;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(rj, "random_inputs");
    if (seed) {
        if (!cJSON_IsNumber(seed) || seed->valuedouble < 0 || seed->valuedouble > 9e15 ||
            seed->valuedouble != (double)(int64_t)seed->valuedouble)
            return perr(c, "run: \"random_inputs\" must be a seed (a non-negative integer)");
        if (!r->module)
            return perr(c, "run: \"random_inputs\" needs \"module\" (the module fed random tensors)");
        r->random = true;
        r->seed = (uint64_t)seed->valuedouble;
    }
    return LS_OK;
}

static int parse_step(const pctx *c, const cJSON *sj, ls_lesson_step *s)
{
    if (!cJSON_IsObject(sj))
        return perr(c, "a step must be an object");
    int rc;
    if ((rc = get_str(c, sj, "point", true, &s->point)) || (rc = get_text(c, sj, "text", true, &s->text)))
        return rc;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(sj, "show");
    s->show = LS_SHOW_TENSOR;
    if (sh) {
        static const char *const shows[] = {"tensor", "heatmap", "attention", "shape"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (cJSON_IsString(sh) && !strcmp(sh->valuestring, shows[i]))
                found = i;
        if (found < 0)
            return perr(c, "\"show\" must be tensor, heatmap, attention or shape");
        s->show = (ls_lesson_show)found;
    }
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(sj, "run");
    if (run) {
        if (!(s->run = calloc(1, sizeof *s->run)))
            return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
        if ((rc = parse_switch(c, run, s->run)))
            return rc;
    }
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(sj, "question");
    if (q && (rc = parse_question(c, q, s->point, &s->q)))
        return rc;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(sj, "action");
    if (a && (rc = parse_action(c, a, s->point, &s->act)))
        return rc;
    if (s->q.kind == LS_Q_DIRECTION && s->act.kind != LS_ACT_EDIT)
        return perr(c, "a direction question needs an edit action (the edit whose effect is asked)");
    return LS_OK;
}

static int parse_lesson(const pctx *c0, const cJSON *root, ls_lesson *L)
{
    pctx c = *c0;
    c.step = -1;
    if (!cJSON_IsObject(root))
        return perr(&c, "a lesson must be a JSON object");
    int rc;
    if ((rc = get_text(&c, root, "title", true, &L->title)))
        return rc;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if ((rc = parse_models(&c, m, "", L->models, &L->n_models)))
        return rc;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    if (in && (rc = parse_input(&c, in, "", &L->in_src, &L->in_tgt, &L->in_wav, &L->in_dir)))
        return rc;
    if ((rc = get_str(&c, root, "mode", false, &L->mode)))
        return rc;
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
    if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) < 1 || cJSON_GetArraySize(steps) > 1000)
        return perr(&c, "\"steps\" must be an array of 1..1000 steps");
    L->steps = calloc((size_t)cJSON_GetArraySize(steps), sizeof *L->steps);
    if (!L->steps)
        return ls_error_set(c.err, LS_ERR_NOMEM, "out of memory");
    const cJSON *s;
    cJSON_ArrayForEach(s, steps) {
        c.step = L->n_steps;
        rc = parse_step(&c, s, &L->steps[L->n_steps]);
        L->n_steps++;
        if (rc)
            return rc;
    }
    return LS_OK;
}

int ls_lesson_parse(const char *text, size_t n, const char *name, ls_lesson **out,
                    ls_error *err)
{
    *out = NULL;
    ls_lesson *L = calloc(1, sizeof *L);
    if (!L || !(L->path = dup_str(name))) {
        free(L);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    size_t k = 0;
    while (isdigit((unsigned char)base[k]) && k < sizeof L->id - 1) {
        L->id[k] = base[k];
        k++;
    }
    if (!k)
        snprintf(L->id, sizeof L->id, "%.15s", base);
    pctx c = {name, -1, err};
    /* the Opts form reports where parsing stopped without cJSON's global */
    const char *at = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &at, 0);
    int rc;
    if (!root) {
        int line = 1;
        for (const char *p = text; at && p < at && p < text + n; p++)
            line += *p == '\n';
        rc = perr(&c, "not valid JSON (near line %d)", line);
    } else {
        rc = parse_lesson(&c, root, L);
    }
    cJSON_Delete(root);
    if (rc) {
        ls_lesson_free(L);
        return rc;
    }
    *out = L;
    return LS_OK;
}

int ls_lesson_load(const char *path, ls_lesson **out, ls_error *err)
{
    *out = NULL;
    void *buf;
    size_t len;
    if (ls_read_file(path, 1 << 20, &buf, &len, err))
        return err ? err->code : LS_ERR_IO;
    int rc = ls_lesson_parse(buf, len, path, out, err);
    free(buf);
    return rc;
}

static void text_free(ls_ltext *t)
{
    for (int i = 0; i < LS_LANG_COUNT; i++)
        free(t->s[i]);
}

void ls_lesson_free(ls_lesson *L)
{
    if (!L)
        return;
    for (int i = 0; i < L->n_steps; i++) {
        ls_lesson_step *s = &L->steps[i];
        free(s->point);
        text_free(&s->text);
        text_free(&s->q.prompt);
        text_free(&s->q.why);
        free(s->q.of);
        for (int j = 0; j < s->q.n_choices; j++)
            text_free(&s->q.choices[j]);
        free(s->act.point);
        if (s->run) {
            for (int j = 0; j < s->run->n_models; j++)
                free(s->run->models[j]);
            free(s->run->in_src);
            free(s->run->in_tgt);
            free(s->run->in_wav);
            free(s->run->in_dir);
            free(s->run->mode);
            free(s->run->module);
            free(s->run);
        }
    }
    free(L->steps);
    text_free(&L->title);
    for (int i = 0; i < L->n_models; i++)
        free(L->models[i]);
    free(L->in_src);
    free(L->in_tgt);
    free(L->in_wav);
    free(L->in_dir);
    free(L->mode);
    free(L->path);
    free(L);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ls_lesson_list(const char *dir, char ***paths, int *n, ls_error *err)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ls_error_set(err, LS_ERR_IO, "%s: cannot open the lessons directory: %s", dir,
                            strerror(errno));
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || !isdigit((unsigned char)e->d_name[0]) || strcmp(e->d_name + l - 5, ".json"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **np = realloc(*paths, (size_t)cap * sizeof *np);
            if (!np)
                break;
            *paths = np;
        }
        size_t pl = strlen(dir) + l + 2;
        char *p = malloc(pl);
        if (!p)
            break;
        snprintf(p, pl, "%s/%s", dir, e->d_name);
        (*paths)[(*n)++] = p;
    }
    closedir(d);
    if (*n > 1)
        qsort(*paths, (size_t)*n, sizeof **paths, cmp_str);
    return LS_OK;
}

void ls_lesson_list_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

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
        r->in = ls_tmap_new(sp.wav ? sp.wav : sp.src ? "lesson text" : "example inputs");
        if (!r->in)
            rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory");
        else if (sp.wav) {
            snprintf(path, sizeof path, "%s/%s", data_dir, sp.wav);
            rc = ls_audio_model_inputs(r->m, path, r->in, err);
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

/* idx (n numbers) names a cell of t */
static bool index_inside(const ls_tensor *t, int n, const int64_t *idx)
{
    if (n != t->ndim)
        return false;
    for (int d = 0; d < n; d++)
        if (idx[d] < 0 || idx[d] >= t->shape[d])
            return false;
    return true;
}

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
        if (node >= 0 && (s->q.n_index || s->q.kind == LS_Q_MASKED || s->q.kind == LS_Q_DIRECTION)) {
            const ls_tensor *t = &ls_graph_node(g, node)->out;
            int need = s->q.kind == LS_Q_MASKED ? t->ndim - 1 : t->ndim;
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
        if (en >= 0 && !index_inside(&ls_graph_node(g, en)->out, s->act.n_index, s->act.index))
            return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: edit index is not a cell of '%s' (%d dims)",
                                L->path, i + 1, s->act.point, ls_graph_node(g, en)->out.ndim);
    }
    return LS_OK;
}

/* ------------------------------------------------------------------ */
/* live facts                                                          */

static void shape_text(const ls_tensor *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int ls_lesson_expand(const char *text, const ls_graph *g, char *out, size_t n)
{
    size_t k = 0;
    int unresolved = 0;
    if (!n)
        return 0;
    while (*text && k + 1 < n) {
        const char *close = NULL;
        if (*text == '{' && (!strncmp(text, "{shape:", 7) || !strncmp(text, "{dim:", 5)))
            close = strchr(text, '}');
        if (!close) {
            out[k++] = *text++;
            continue;
        }
        char spec[300];
        snprintf(spec, sizeof spec, "%.*s", (int)(close - text - 1), text + 1);
        char *name = strchr(spec, ':') + 1, val[96] = "?";
        char *dim = spec[0] == 'd' ? strrchr(name, ':') : NULL;
        if (dim)
            *dim++ = '\0';
        int node = g ? ls_graph_find(g, name) : -1;
        bool ok = false;
        if (node >= 0) {
            const ls_tensor *t = &ls_graph_node(g, node)->out;
            if (!dim) {
                shape_text(t, val, sizeof val);
                ok = true;
            } else if (atoi(dim) >= 0 && atoi(dim) < t->ndim) {
                snprintf(val, sizeof val, "%lld", (long long)t->shape[atoi(dim)]);
                ok = true;
            }
        }
        unresolved += !ok;
        k += (size_t)snprintf(out + k, n - k, "%s", val);
        if (k >= n)
            k = n - 1;
        text = close + 1;
    }
    out[k] = '\0';
    return unresolved;
}

static const ls_tensor *live(const ls_graph *g, const ls_exec *ex, const char *name, ls_error *err)
{
    int node = ls_graph_find(g, name);
    if (node < 0) {
        ls_error_set(err, LS_ERR_MISSING, "no point '%s' in the model", name);
        return NULL;
    }
    const ls_tensor *t = ls_exec_out(ex, node);
    if (!t)
        ls_error_set(err, LS_ERR_ARG, "'%s' is not computed yet", name);
    return t;
}

double ls_lesson_watch(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex)
{
    const ls_tensor *t = live(g, ex, q->of, NULL);
    if (!t || q->n_index != t->ndim)
        return NAN;
    return ls_tensor_get(t, q->index);
}

/* Masked columns of the row at q->index, as "1 4 5" (or "none"). */
static void masked_cols(const ls_tensor *t, const ls_lesson_question *q, char *buf, size_t n)
{
    int64_t idx[LS_MAX_DIMS] = {0};
    memcpy(idx, q->index, sizeof q->index);
    size_t k = 0;
    buf[0] = '\0';
    int last = t->ndim - 1;
    for (int64_t j = 0; j < t->shape[last] && k < n; j++) {
        idx[last] = j;
        if (ls_tensor_get(t, idx) != 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", k ? " " : "", (long long)j);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

int ls_lesson_answer(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const double *before, char *ans, size_t n, ls_error *err)
{
    const ls_tensor *t = live(g, ex, q->of, err);
    if (!t)
        return err ? err->code : LS_ERR_ARG;
    switch (q->kind) {
    case LS_Q_SHAPE:
        shape_text(t, ans, n);
        return LS_OK;
    case LS_Q_MASKED:
        masked_cols(t, q, ans, n);
        return LS_OK;
    case LS_Q_CHOICE: {
        double v = q->dim >= 0 ? (double)t->shape[q->dim] : ls_tensor_get(t, q->index);
        for (int i = 0; i < q->n_choices; i++)
            if (fabs(q->values[i] - v) <= 1e-6 * (1 + fabs(v))) {
                snprintf(ans, n, "%c", 'a' + i);
                return LS_OK;
            }
        return ls_error_set(err, LS_ERR_RANGE, "no choice matches the live value %g of '%s'", v, q->of);
    }
    case LS_Q_DIRECTION: {
        if (!before)
            return ls_error_set(err, LS_ERR_ARG, "a direction question needs the value before the edit");
        double after = ls_tensor_get(t, q->index);
        snprintf(ans, n, "%s", after > *before ? "rises" : after < *before ? "falls" : "same");
        return LS_OK;
    }
    case LS_Q_NONE: break;
    }
    return ls_error_set(err, LS_ERR_ARG, "this step asks no question");
}

/* Integers of s in order ("[2, 8,6 x64]" -> 2 8 6 64); returns the count. */
static int numbers(const char *s, long long *v, int max)
{
    int n = 0;
    while (*s && n < max) {
        if (isdigit((unsigned char)*s)) {
            v[n++] = strtoll(s, (char **)&s, 10);
            continue;
        }
        s++;
    }
    return n;
}

static bool same_numbers(const char *a, const char *b)
{
    long long va[256], vb[256];
    int na = numbers(a, va, 256), nb = numbers(b, vb, 256);
    return na == nb && !memcmp(va, vb, (size_t)na * sizeof *va);
}

bool ls_lesson_check(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const double *before, const char *typed, int lang, char *reason, size_t n)
{
    char ans[256];
    ls_error err = {0};
    reason[0] = '\0';
    if (ls_lesson_answer(q, g, ex, before, ans, sizeof ans, &err)) {
        snprintf(reason, n, "%s", err.msg);
        return false;
    }
    while (*typed == ' ')
        typed++;
    bool ok = false;
    const char *fact_en = "", *fact_zh = "";
    char fact[300];
    switch (q->kind) {
    case LS_Q_SHAPE:
        ok = same_numbers(typed, ans) && numbers(typed, (long long[1]){0}, 1) > 0;
        fact_en = "the live shape of";
        fact_zh = "实际形状:";
        snprintf(fact, sizeof fact, "%s %s is %s", fact_en, q->of, ans);
        if (lang == LS_LANG_ZH)
            snprintf(fact, sizeof fact, "%s 的%s %s", q->of, fact_zh, ans);
        break;
    case LS_Q_MASKED: {
        bool none = !strcmp(ans, "none");
        ok = none ? (!strncasecmp(typed, "none", 4) || !strcmp(typed, "-") || !strcmp(typed, "无"))
                  : same_numbers(typed, ans);
        if (lang == LS_LANG_ZH)
            snprintf(fact, sizeof fact, "%s 这一行被遮住的列是: %s", q->of, none ? "无" : ans);
        else
            snprintf(fact, sizeof fact, "this row of %s masks columns: %s", q->of, ans);
        break;
    }
    case LS_Q_CHOICE: {
        char c = (char)tolower((unsigned char)typed[0]);
        ok = c == ans[0] && (!typed[1] || typed[1] == ' ' || typed[1] == ')');
        int i = ans[0] - 'a';
        if (lang == LS_LANG_ZH)
            snprintf(fact, sizeof fact, "正确答案是 %c) %s", ans[0], ls_ltext_get(&q->choices[i], lang));
        else
            snprintf(fact, sizeof fact, "the answer is %c) %s", ans[0], ls_ltext_get(&q->choices[i], lang));
        break;
    }
    case LS_Q_DIRECTION: {
        char c = (char)tolower((unsigned char)typed[0]);
        bool up = c == 'r' || c == 'u' || c == 'i' || !strncmp(typed, "升", 3) || !strncmp(typed, "上", 3) ||
                  !strncmp(typed, "增", 3);
        bool down = c == 'f' || c == 'd' || !strncmp(typed, "降", 3) || !strncmp(typed, "下", 3) ||
                    !strncmp(typed, "减", 3);
        ok = (ans[0] == 'r' && up && !down) || (ans[0] == 'f' && down && !up) ||
             (ans[0] == 's' && (c == 's' || c == '='));
        double after = ls_tensor_get(live(g, ex, q->of, NULL), q->index);
        if (lang == LS_LANG_ZH)
            snprintf(fact, sizeof fact, "%s 从 %.4g 变成 %.4g (%s)", q->of, *before, after,
                     ans[0] == 'r' ? "上升" : ans[0] == 'f' ? "下降" : "不变");
        else
            snprintf(fact, sizeof fact, "%s went from %.4g to %.4g (%s)", q->of, *before, after, ans);
        break;
    }
    case LS_Q_NONE: break;
    }
    if (!ok)
        snprintf(reason, n, "%s%s%s", fact, lang == LS_LANG_ZH ? "。" : ". ", ls_ltext_get(&q->why, lang));
    return ok;
}

/* ------------------------------------------------------------------ */
/* progress                                                            */

int ls_progress_path(char *buf, size_t n)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (x && x[0] == '/')
        snprintf(buf, n, "%s/layerstep/progress.json", x);
    else if (home && home[0])
        snprintf(buf, n, "%s/.local/state/layerstep/progress.json", home);
    else
        return LS_ERR_MISSING;
    return LS_OK;
}

static cJSON *progress_read(const char *path)
{
    void *buf;
    size_t len;
    if (ls_read_file(path, 1 << 20, &buf, &len, NULL))
        return NULL;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

int ls_progress_get(const char *path, const char *id, int *step, bool *done, bool *any)
{
    *step = 0;
    *done = false;
    *any = false;
    cJSON *root = progress_read(path);
    if (!root)
        return LS_OK;  /* no file yet (or a damaged one): a first start */
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "lessons");
    *any = cJSON_IsObject(ls) && ls->child;
    const cJSON *e = id ? cJSON_GetObjectItemCaseSensitive(ls, id) : NULL;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "step");
    if (cJSON_IsNumber(s) && s->valueint >= 0 && s->valueint < 100000)
        *step = s->valueint;
    *done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "done"));
    cJSON_Delete(root);
    return LS_OK;
}

static int mkdirs(char *dir)
{
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(dir, 0700) && errno != EEXIST) {
                *p = '/';
                return -1;
            }
            *p = '/';
        }
    return mkdir(dir, 0700) && errno != EEXIST ? -1 : 0;
}

int ls_progress_set(const char *path, const char *id, int step, bool done, ls_error *err)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdirs(dir))
            return ls_error_set(err, LS_ERR_IO, "%s: cannot create the directory: %s", dir, strerror(errno));
    }
    cJSON *root = progress_read(path);
    if (!root)
        root = cJSON_CreateObject();
    cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "lessons");
    if (!cJSON_IsObject(ls)) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "lessons");
        ls = cJSON_AddObjectToObject(root, "lessons");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ls, id);
    cJSON *e = cJSON_AddObjectToObject(ls, id);
    cJSON_AddNumberToObject(e, "step", step);
    cJSON_AddBoolToObject(e, "done", done);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "last");
    cJSON_AddStringToObject(root, "last", id);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int rc = ls_atomic_write_file(path, text, strlen(text), err);
    free(text);
    return rc;
}

int ls_lesson_solve(const ls_lesson *L, int step, ls_lesson_run *run, char *ans, size_t n,
                    ls_error *err)
{
    if (step < 0 || step >= L->n_steps)
        return ls_error_set(err, LS_ERR_RANGE, "%s: no step %d", L->path, step + 1);
    const ls_lesson_step *s = &L->steps[step];
    int rc0 = ls_lesson_run_switch(L, step, run, err);
    if (rc0)
        return rc0;
    if (!ls_exec_done(run->ex) && ls_exec_run(run->ex, err))
        return err ? err->code : LS_ERR_INTERNAL;
    if (s->q.kind != LS_Q_DIRECTION)
        return ls_lesson_answer(&s->q, run->g, run->ex, NULL, ans, n, err);
    int node = ls_graph_find(run->g, s->act.point);
    double before = ls_lesson_watch(&s->q, run->g, run->ex);
    ls_tensor *t = node >= 0 ? ls_exec_edit(run->ex, node, err) : NULL;
    if (!t)
        return ls_error_set(err, LS_ERR_ARG, "%s: step %d: cannot edit '%s'", L->path, step + 1,
                            s->act.point);
    if (!index_inside(t, s->act.n_index, s->act.index))
        return ls_error_set(err, LS_ERR_SHAPE, "%s: step %d: edit index (%d numbers) is not a cell of '%s' (%d dims)",
                            L->path, step + 1, s->act.n_index, s->act.point, t->ndim);
    double old = ls_tensor_get(t, s->act.index);
    ls_error verr = {0};
    if (ls_tensor_value_check(t->dtype, s->act.value, &verr)) {
        ls_exec_unpin(run->ex, node);
        return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: edit of '%s': %s", L->path, step + 1,
                            s->act.point, verr.msg);
    }
    ls_tensor_set(t, s->act.index, s->act.value);
    int rc = ls_exec_rerun(run->ex, node, err);
    if (!rc)
        rc = ls_lesson_answer(&s->q, run->g, run->ex, &before, ans, n, err);
    ls_tensor_set(t, s->act.index, old);
    ls_exec_unpin(run->ex, node);
    int rc2 = ls_exec_rerun(run->ex, node, rc ? NULL : err);
    return rc ? rc : rc2;
}
