/* Lessons: parse and validate a lesson file (every error one line naming
 * the file and the step), free it, list a directory's lessons.  The run a
 * lesson looks at is lesson_run.c; answers against the live tensors
 * (never a stored string) are answers.c; progress is progress.c. */

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
    static const char *const kinds[] = {"", "shape", "choice", "masked", "direction", "text", "count", "argmax"};
    if (!cJSON_IsString(k))
        return perr(c, "question: missing \"kind\" (shape, choice, masked, direction, text, count or argmax)");
    for (int i = 1; i < 8; i++)
        if (!strcmp(k->valuestring, kinds[i]))
            q->kind = (ls_lesson_qkind)i;
    if (!q->kind)
        return perr(c, "question: unknown kind '%s' (shape, choice, masked, direction, text, count or argmax)",
                    k->valuestring);
    int rc;
    if ((rc = get_text(c, qj, "prompt", true, &q->prompt)) || (rc = get_text(c, qj, "why", true, &q->why)) ||
        (rc = get_str(c, qj, "of", false, &q->of)))
        return rc;
    if (!q->of && !(q->of = dup_str(point)))
        return ls_error_set(c->err, LS_ERR_NOMEM, "out of memory");
    q->dim = -1;
    bool need_index = q->kind == LS_Q_MASKED || q->kind == LS_Q_DIRECTION || q->kind == LS_Q_COUNT ||
                      q->kind == LS_Q_ARGMAX;
    if ((rc = get_index(c, qj, "index", need_index, &q->n_index, q->index)))
        return rc;
    if (q->kind == LS_Q_COUNT) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(qj, "equal");
        if (!cJSON_IsNumber(e))
            return perr(c, "count question: missing \"equal\" (the value whose cells are counted)");
        q->equal = e->valuedouble;
    }
    if (q->kind == LS_Q_CHOICE) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(qj, "dim");
        const cJSON *am = cJSON_GetObjectItemCaseSensitive(qj, "argmax");
        if (am && !cJSON_IsBool(am))
            return perr(c, "question: \"argmax\" must be true or false");
        q->argmax = cJSON_IsTrue(am);
        if (q->argmax && (d || !q->n_index))
            return perr(c, "choice question: \"argmax\" needs \"index\" (the row) and no \"dim\"");
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
            /* JSON has no NaN: "nan" (or "inf", "-inf") as a string, for
             * what a softmax of all -inf gives */
            char *end = NULL;
            double sv = cJSON_IsString(v) ? strtod(v->valuestring, &end) : 0.0;
            if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) &&
                cJSON_IsNumber(cJSON_GetArrayItem(v, 1)) &&
                cJSON_GetArrayItem(v, 0)->valuedouble <= cJSON_GetArrayItem(v, 1)->valuedouble) {
                q->values[q->n_choices] = cJSON_GetArrayItem(v, 0)->valuedouble;
                q->upto[q->n_choices] = cJSON_GetArrayItem(v, 1)->valuedouble;
                q->is_range[q->n_choices] = true;
            } else if (cJSON_IsString(v) && end && !*end && end != v->valuestring && !isfinite(sv))
                q->values[q->n_choices] = sv;
            else if (cJSON_IsNumber(v))
                q->values[q->n_choices] = v->valuedouble;
            else
                return perr(c, "choice %c: missing \"value\" (a number, [low, high], or \"nan\", \"inf\", \"-inf\")",
                            'a' + q->n_choices);
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
        int n_to = 0;
        if ((rc = get_index(c, aj, "to", false, &n_to, a->to)))
            return rc;
        if (n_to) {
            /* a box of cells: silence frames 40..59 of every mel bin */
            if (n_to != a->n_index)
                return perr(c, "edit action: \"to\" must have as many numbers as \"index\"");
            double cells = 1;
            for (int d = 0; d < n_to; d++) {
                if (a->to[d] < a->index[d])
                    return perr(c, "edit action: \"to\" must not be before \"index\" (dim %d)", d);
                cells *= (double)(a->to[d] - a->index[d] + 1);
            }
            if (cells > LS_LESSON_MAX_EDIT_CELLS)
                return perr(c, "edit action: the box index..to has %.0f cells, at most %d", cells,
                            LS_LESSON_MAX_EDIT_CELLS);
            a->has_to = true;
        }
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
    free(L->user_wav);
    free(L->path);
    free(L);
}

bool ls_lesson_takes_wav(const ls_lesson *L)
{
    if (L->in_wav)
        return true;
    for (int i = 0; i < L->n_steps; i++)
        if (L->steps[i].run && L->steps[i].run->in_wav)
            return true;
    return false;
}

int64_t ls_lesson_edit_count(const ls_lesson_action *a)
{
    if (a->kind != LS_ACT_EDIT)
        return 0;
    int64_t n = 1;
    for (int d = 0; a->has_to && d < a->n_index; d++)
        n *= a->to[d] - a->index[d] + 1;
    return n;
}

void ls_lesson_edit_cell(const ls_lesson_action *a, int64_t k, int64_t *idx)
{
    for (int d = 0; d < LS_MAX_DIMS; d++)
        idx[d] = d < a->n_index ? a->index[d] : 0;
    /* row-major: the last dim counts fastest */
    for (int d = a->n_index - 1; a->has_to && d >= 0; d--) {
        int64_t len = a->to[d] - a->index[d] + 1;
        idx[d] = a->index[d] + k % len;
        k /= len;
    }
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

