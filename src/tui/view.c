/* What the panes (and the SVG export) read of a tensor: the 2-D slice
 * on screen, which cells are masked, the heat range, axis labels (tokens
 * or ms) and the attention module around a point.  Nothing here changes
 * the run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "app_internal.h"

void tui_slice_of(const ls_tui *a, const ls_tensor *t, tui_slice *s)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->n_batch = s->n_head = 1;
    s->row_dim = s->col_dim = -1;
    s->rows = s->cols = 1;
    switch (t->ndim) {
    case 0:
        break;
    case 1:
        s->col_dim = 0;
        break;
    case 2:
        s->row_dim = 0;
        s->col_dim = 1;
        break;
    case 3:
        s->n_batch = (int)t->shape[0];
        s->row_dim = 1;
        s->col_dim = 2;
        break;
    default:
        s->n_batch = (int)t->shape[0];
        s->n_head = (int)t->shape[1];
        s->row_dim = 2;
        s->col_dim = 3;
        break;
    }
    if (s->row_dim >= 0)
        s->rows = t->shape[s->row_dim] > 1 << 30 ? 1 << 30 : (int)t->shape[s->row_dim];
    if (s->col_dim >= 0)
        s->cols = t->shape[s->col_dim] > 1 << 30 ? 1 << 30 : (int)t->shape[s->col_dim];
    s->batch = a->batch < s->n_batch ? a->batch : s->n_batch - 1;
    s->head = a->head < s->n_head ? a->head : s->n_head - 1;
    if (s->batch < 0)
        s->batch = 0;
    if (s->head < 0)
        s->head = 0;
}

void tui_slice_index(const tui_slice *s, int r, int c, int64_t *idx)
{
    memset(idx, 0, LS_MAX_DIMS * sizeof *idx);
    if (s->t->ndim >= 3)
        idx[0] = s->batch;
    if (s->t->ndim >= 4)
        idx[1] = s->head;
    if (s->row_dim >= 0)
        idx[s->row_dim] = r;
    if (s->col_dim >= 0)
        idx[s->col_dim] = c;
}

double tui_slice_get(const tui_slice *s, int r, int c)
{
    int64_t idx[LS_MAX_DIMS];
    tui_slice_index(s, r, c, idx);
    return ls_tensor_get(s->t, idx);
}

static bool point_is(const ls_node *nd, const char *p) { return !strcmp(nd->point, p); }

/* The attention mask that applies to node's last two dims (True =
 * masked), or -1. */
static int mask_node_find(const ls_tui *a, int node);

int tui_mask_node(ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    int cursor = r->front;
    if (a->maskmemo.valid && a->maskmemo.cur == a->cur && a->maskmemo.node == node &&
        a->maskmemo.cursor == cursor && a->maskmemo.epoch == r->epoch)
        return a->maskmemo.result;
    a->maskmemo.valid = true;
    a->maskmemo.cur = a->cur;
    a->maskmemo.node = node;
    a->maskmemo.cursor = cursor;
    a->maskmemo.epoch = r->epoch;
    a->maskmemo.result = mask_node_find(a, node);
    return a->maskmemo.result;
}

static int mask_node_find(const ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    const ls_node *nd = ls_graph_node(r->g, node);
    if (nd->module < 0)
        return -1;
    bool maskable = point_is(nd, "scores") || point_is(nd, "scores_masked") || point_is(nd, "attn") ||
                    point_is(nd, "matrix_ac") || point_is(nd, "matrix_bd") || point_is(nd, "mask_add") ||
                    nd->op == LS_OP_MASKED_FILL || nd->op == LS_OP_SOFTMAX;
    if (!maskable)
        return -1;
    int m = tui_find_point(a, ls_graph_module(r->g, nd->module)->path, "mask");
    const ls_tensor *mt = m >= 0 ? tui_out(r, m) : NULL;
    const ls_tensor *t = tui_out(r, node);
    if (!mt || !t || mt->dtype != LS_BOOL || mt->ndim > t->ndim || mt->ndim < 1 || t->ndim < 2)
        return -1;
    for (int j = 0; j < mt->ndim; j++) {
        int d = j + t->ndim - mt->ndim;
        if (mt->shape[j] != 1 && mt->shape[j] != t->shape[d])
            return -1;
    }
    return m;
}

static bool mask_cell(const ls_tensor *mt, const ls_tensor *t, const int64_t *idx)
{
    int64_t mi[LS_MAX_DIMS] = {0};
    for (int j = 0; j < mt->ndim; j++) {
        int d = j + t->ndim - mt->ndim;
        mi[j] = mt->shape[j] == 1 ? 0 : idx[d];
    }
    return ls_tensor_get(mt, mi) != 0;
}

static bool is_mask_tensor(const ls_node *nd, const ls_tensor *t)
{
    return t->dtype == LS_BOOL && strstr(nd->name, "mask");
}

bool tui_slice_masked(ls_tui *a, int node, const tui_slice *s, int r, int c)
{
    int64_t idx[LS_MAX_DIMS];
    tui_slice_index(s, r, c, idx);
    double v = ls_tensor_get(s->t, idx);
    const ls_node *nd = ls_graph_node(tui_ccur(a)->g, node);
    int m = tui_mask_node(a, node);
    /* an open lesson question asks which cells the mask hides */
    if (tui_quiz_mask_hidden(a, m))
        return false;
    /* "which key does query 3 attend to most?": the numbers are hidden,
     * the mask is not (a masked key is never the answer), read from the
     * mask alone, not from the hidden values */
    if (tui_quiz_hides_ranking_only(a, node))
        return m >= 0 && mask_cell(tui_out(tui_ccur(a), m), s->t, idx);
    if (tui_quiz_hides_values(a, node))
        return false;
    if (is_mask_tensor(nd, s->t))
        return v != 0;
    if (s->t->dtype == LS_F32 && (v <= -1e8 || (isinf(v) && v < 0)))
        return true;
    return m >= 0 && mask_cell(tui_out(tui_ccur(a), m), s->t, idx);
}

void tui_heat_range(ls_tui *a, int node, const tui_slice *s, double *lo, double *hi)
{
    const tui_run *r = tui_ccur(a);
    if (a->heat.valid && a->heat.cur == a->cur && a->heat.node == node &&
        a->heat.batch == s->batch && a->heat.head == s->head && a->heat.epoch == r->epoch) {
        *lo = a->heat.lo;
        *hi = a->heat.hi;
        return;
    }
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < s->rows; i++)
        for (int j = 0; j < s->cols; j++) {
            double v = tui_slice_get(s, i, j);
            if (!isfinite(v) || tui_slice_masked(a, node, s, i, j))
                continue;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    if (mn > mx)
        mn = mx = 0;
    *lo = mn;
    *hi = mx;
    a->heat.valid = true;
    a->heat.cur = a->cur;
    a->heat.node = node;
    a->heat.batch = s->batch;
    a->heat.head = s->head;
    a->heat.epoch = r->epoch;
    a->heat.lo = mn;
    a->heat.hi = mx;
}

int ls_tui_heat_level(double v, double lo, double hi)
{
    if (!(hi > lo))
        return 5;
    int k = (int)((v - lo) / (hi - lo) * 9.0 + 0.5);
    return k < 0 ? 0 : k > 9 ? 9 : k;
}

static bool is_audio(const ls_tui *a)
{
    return a->arch && (!strcmp(a->arch->name, "wav2vec2") || !strcmp(a->arch->name, "conformer"));
}

/* Length in ms of the audio input: a waveform [B,S] at 16 kHz, or
 * fbank frames [B,T,F] at a 10 ms shift; 0 if unknown. */
static double audio_ms(const ls_tui *a)
{
    if (!a->inputs)
        return 0;
    for (int i = 0; i < ls_tmap_count(a->inputs); i++) {
        const ls_tensor *t = ls_tmap_at(a->inputs, i);
        if (t->dtype != LS_F32)
            continue;
        if (t->ndim == 2)
            return (double)t->shape[1] / 16.0;
        if (t->ndim == 3)
            return (double)t->shape[1] * 10.0;
    }
    return 0;
}

bool tui_whole_run(const ls_tui *a)
{
    /* the main run, or a lesson's switched run of a whole model (its own
     * model and inputs are a->model, a->inputs then) */
    return a->cur == 0 || (a->les.run && tui_ccur(a)->g == a->les.run->g && !a->les.run->module[0]);
}

/* A speech model with a CTC head labels a frame at the CTC rate with its
 * best unit (topk_index: "12:480ms h", the blank "·"), once the user has
 * stepped past topk_index, so attention and what was heard line up. */
static void add_best_unit(const ls_tui *a, int64_t batch, int64_t len, int64_t i, char *buf,
                          size_t n)
{
    const tui_run *r = tui_ccur(a);
    /* the open question asks which unit wins, or how many blanks */
    int top = tui_whole_run(a) && !tui_quiz_hides_point(a, "topk_index") ? ls_graph_find(r->g, "topk_index")
                                                                          : -1;
    const ls_tensor *t = top >= 0 && top < r->front ? ls_exec_out(r->ex, top) : NULL;
    if (!t || t->ndim != 2 || t->shape[1] != len || batch < 0 || batch >= t->shape[0])
        return;
    int64_t id = (int64_t)ls_tensor_get(t, (int64_t[]){batch, i});
    char w[64];
    const char *u = a->arch->id_word ? a->arch->id_word(a->model, "topk_index", id, w, sizeof w)
                                     : NULL;
    size_t k = strlen(buf);
    if (k + 1 >= n)
        return;
    if (u)
        snprintf(buf + k, n - k, " %s", u);
    else
        snprintf(buf + k, n - k, " %lld", (long long)id);
}

const char *tui_axis_label(const ls_tui *a, int node, const tui_slice *s, int axis, int64_t i,
                           char *buf, size_t n)
{
    const ls_node *nd = ls_graph_node(tui_ccur(a)->g, node);
    int dim = axis == 0 ? s->row_dim : s->col_dim;
    if (dim < 0 || nd->op == LS_OP_CONST || (nd->flags & LS_NODE_PARAM) || !a->model)
        return NULL;
    int64_t len = s->t->shape[dim];
    if (a->arch && a->arch->token_label && a->inputs) {
        /* label an axis only when it is exactly as long as the sentence */
        char tmp[64];
        if (!a->arch->token_label(a->model, a->inputs, nd->name, s->batch, axis, len - 1, tmp, sizeof tmp) ||
            a->arch->token_label(a->model, a->inputs, nd->name, s->batch, axis, len, tmp, sizeof tmp))
            return NULL;
        return a->arch->token_label(a->model, a->inputs, nd->name, s->batch, axis, i, buf, n);
    }
    if (is_audio(a) && a->arch->time_rates) {
        /* a time axis is one as long as the input at one of the model's
         * frame rates: [B,T,C] rows, [B,C,T] columns, both of [B,H,T,T];
         * a frame starts at i * step (receptive fields only trim the end) */
        double ms = audio_ms(a), step[16];
        int64_t frames[16];
        int k = ms > 0 ? a->arch->time_rates(a->model, ms, frames, step, 16) : 0;
        for (int r = 0; r < k; r++)
            if (frames[r] == len && len >= 2) {
                double t = (double)i * step[r];
                /* whole milliseconds where the rate allows (10, 20, 40 ms) */
                if (step[r] == floor(step[r]))
                    snprintf(buf, n, "%lld:%.0fms", (long long)i, t);
                else
                    snprintf(buf, n, "%lld:%.1fms", (long long)i, t);
                add_best_unit(a, s->batch, len, i, buf, n);
                return buf;
            }
    }
    return NULL;
}

int tui_attention_module(const ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    int m = tui_selected_module(a);
    if (m < 0 && node >= 0)
        m = ls_graph_node(r->g, node)->module;
    static const char *const need[] = {"scores", "attn"};
    for (; m >= 0; m = ls_graph_module(r->g, m)->parent) {
        const char *path = ls_graph_module(r->g, m)->path;
        bool ok = true;
        for (size_t k = 0; k < sizeof need / sizeof need[0] && ok; k++)
            ok = tui_find_point(a, path, need[k]) >= 0;
        if (ok && (tui_find_point(a, path, "q") >= 0 || tui_find_point(a, path, "matrix_ac") >= 0))
            return m;
    }
    return -1;
}

