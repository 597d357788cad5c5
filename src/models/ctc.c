/* ctc.c - greedy CTC decoding as graph points, the units file that turns
 * ids into text, and the transcript read back from a finished run.
 *
 * The decoding follows WeNet's ctc_greedy_search (wenet/models/transformer/
 * search.py at 01546996): topk(1) over the log-probs, padded frames set to
 * the blank, then remove_duplicates_and_blank (wenet/utils/ctc_utils.py).
 * torchaudio's wav2vec2 tutorial decoder (argmax, unique_consecutive, drop
 * the blank) gives the same ids.
 */
#include "ctc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

int ls_ctc_greedy_points(ls_graph *g, int log_probs, int pad, int64_t blank)
{
    int top = ls_g_op1(g, LS_OP_ARGMAX, log_probs, NULL);
    if (pad >= 0)
        top = ls_g_masked_fill(g, top, pad, (float)blank, NULL);
    top = ls_graph_name(g, top, "topk_index");
    ls_op_params p = {.i = {blank}};
    return ls_graph_op(g, LS_OP_CTC_COLLAPSE, &p, &top, 1, "ctc_greedy_search");
}

void ls_units_free(char **units, int n)
{
    for (int i = 0; units && i < n; i++)
        free(units[i]);
    free(units);
}

#define MAX_UNITS (1 << 20)

/* One "TOKEN ID" per line (WeNet's units.txt; the same for wav2vec2's
 * tokens.txt): the token has no spaces, the id is a decimal number; ids
 * need not be in order, but each at most once.  Blank lines are skipped. */
static int parse_units(FILE *f, const char *path, char ***out, int *n_out, ls_error *err)
{
    char **u = NULL;
    int n = 0, cap = 0, rc = LS_OK;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    long lineno = 0;
    /* getline, not fgets: it tells a NUL byte from the end of the line
     * (the caller has capped the file's size) */
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (memchr(line, '\0', len)) {
            rc = ls_error_set(err, LS_ERR_FORMAT, "%s:%ld: NUL byte in the line", path, lineno);
            break;
        }
        if (len > 1000) {
            rc = ls_error_set(err, LS_ERR_FORMAT, "%s:%ld: line longer than 1000 bytes", path,
                              lineno);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char tok[1024], id_s[64], extra[8];
        int k = sscanf(line, "%1023s %63s %7s", tok, id_s, extra);
        if (k <= 0)
            continue;  /* blank line */
        char *end;
        errno = 0;
        long long id = k == 2 ? strtoll(id_s, &end, 10) : -1;
        if (k != 2 || errno || *end || id < 0 || id >= MAX_UNITS) {
            rc = ls_error_set(err, LS_ERR_FORMAT,
                              "%s:%ld: expected 'TOKEN ID' (ID a number 0..%d), got '%.60s'",
                              path, lineno, MAX_UNITS - 1, line);
            break;
        }
        if (id >= cap) {
            int nc = cap ? cap : 64;
            while (nc <= id)
                nc *= 2;
            char **nu = realloc(u, sizeof *u * (size_t)nc);
            if (!nu) {
                rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory");
                break;
            }
            memset(nu + cap, 0, sizeof *u * (size_t)(nc - cap));
            u = nu;
            cap = nc;
        }
        if (u[id]) {
            rc = ls_error_set(err, LS_ERR_FORMAT, "%s:%ld: id %lld given twice ('%s' and '%s')",
                              path, lineno, id, u[id], tok);
            break;
        }
        if (!(u[id] = strdup(tok))) {
            rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory");
            break;
        }
        if (id >= n)
            n = (int)id + 1;
    }
    free(line);
    if (!rc && ferror(f))
        rc = ls_error_set(err, LS_ERR_IO, "%s: read error", path);
    if (!rc && n == 0)
        rc = ls_error_set(err, LS_ERR_FORMAT, "%s: no units in the file", path);
    if (rc) {
        ls_units_free(u, cap);
        return rc;
    }
    *out = u;
    *n_out = n;
    return LS_OK;
}

int ls_units_load_dir(const char *dir, char ***units, int *n, ls_error *err)
{
    static const char *const NAMES[] = {"units.txt", "tokens.txt"};
    *units = NULL;
    *n = 0;
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, NAMES[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            if (errno == ENOENT)
                continue;
            return ls_error_set(err, LS_ERR_IO, "%s: %s", path, strerror(errno));
        }
        struct stat st;
        if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
            fclose(f);
            return ls_error_set(err, LS_ERR_FORMAT, "%s: not a regular file of at most 16 MiB",
                                path);
        }
        int rc = parse_units(f, path, units, n, err);
        fclose(f);
        return rc;
    }
    return LS_OK;
}

/* ---- reading the result ---- */

const char *ls_model_unit_text(const ls_model *m, int64_t id, char *buf, size_t n)
{
    const char *u = ls_model_unit(m, id);
    if (!u) {
        snprintf(buf, n, "<%lld>", (long long)id);
        return buf;
    }
    /* WeNet's char recipes write the space as "▁" (U+2581) or "<space>" */
    if (!strcmp(u, "\xe2\x96\x81") || !strcmp(u, "<space>"))
        u = " ";
    snprintf(buf, n, "%s", u);
    return buf;
}

int ls_ctc_transcript(const ls_model *m, const ls_exec *ex, int64_t batch, char *buf, size_t n)
{
    if (n == 0)
        return 0;
    buf[0] = '\0';
    const ls_graph *g = ls_exec_graph(ex);
    const ls_tensor *h = ls_exec_out(ex, ls_graph_find(g, "ctc_greedy_search"));
    if (!h || h->ndim != 2 || batch < 0 || batch >= h->shape[0])
        return 0;
    size_t k = 0;
    bool space = false;
    for (int64_t t = 0; t < h->shape[1]; t++) {
        int64_t id = (int64_t)ls_tensor_get(h, (int64_t[]){batch, t});
        if (id < 0)
            break;
        char u[256];
        ls_model_unit_text(m, id, u, sizeof u);
        /* spaces: none leading, one between words, none trailing */
        if (!strcmp(u, " ")) {
            space = k > 0;
            continue;
        }
        if (space && k + 1 < n)
            buf[k++] = ' ';
        space = false;
        size_t l = strlen(u);
        if (k + l >= n)
            break;  /* cut, never overflow */
        memcpy(buf + k, u, l);
        k += l;
        buf[k] = '\0';
    }
    buf[k] = '\0';
    return 1;
}

const char *ls_ctc_id_word(const ls_model *m, const char *point, int64_t id, char *buf, size_t n)
{
    if (strcmp(point, "topk_index") != 0 && strcmp(point, "ctc_greedy_search") != 0)
        return NULL;
    if (id < 0)
        snprintf(buf, n, "%s", "");  /* past the end of a decoded row */
    else if (id == ls_model_ctc_blank(m))
        snprintf(buf, n, "%s", "\xc2\xb7");  /* the blank: a middle dot */
    else if (!ls_model_unit(m, id))
        return NULL;  /* no units file: the id itself */
    else if (!strcmp(ls_model_unit_text(m, id, buf, n), " "))
        snprintf(buf, n, "%s", "\xe2\x96\x81");  /* a space must show */
    return buf;
}
