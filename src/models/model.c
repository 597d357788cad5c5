#include "layerstep/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hf.h"
#include "layerstep/config.h"
#include "layerstep/safetensors.h"

/* Hugging Face transformers directories name their architecture with
 * "model_type" (no "arch") and their weights with transformers' module
 * names; `import` renames those into the reference's (see hf.h). */
static const struct hf_type {
    const char *model_type, *arch;
    int (*import)(const ls_tmap *in, ls_tmap **out, ls_error *err);
} HF_TYPES[] = {
    {"wav2vec2", "wav2vec2", ls_wav2vec2_hf_import},
};

struct ls_model {
    char *dir;
    char config_path[4096];
    cJSON *config;
    ls_tmap *weights;
    const ls_arch *arch;
    void *cfg;
    char note[128];
    char warning[LS_ERROR_MSG_MAX];  /* "" or non-finite weights */
};

const char *ls_model_dir(const ls_model *m) { return m->dir; }
const ls_arch *ls_model_arch(const ls_model *m) { return m->arch; }
const cJSON *ls_model_config(const ls_model *m) { return m->config; }
const char *ls_model_config_path(const ls_model *m) { return m->config_path; }
ls_tmap *ls_model_weights(const ls_model *m) { return m->weights; }
const char *ls_model_weights_note(const ls_model *m) { return m->note; }
const char *ls_model_warning(const ls_model *m) { return m->warning; }

size_t ls_model_weight_bytes(const ls_model *m)
{
    size_t sum = 0;
    for (int i = 0; m->weights && i < ls_tmap_count(m->weights); i++)
        sum += ls_tensor_nbytes(ls_tmap_at(m->weights, i));
    return sum;
}

size_t ls_model_default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return (size_t)4 << 30;  /* unknown: assume an 8 GiB machine */
    uint64_t phys = (uint64_t)pages * (uint64_t)page;
    return phys / 2 > SIZE_MAX ? SIZE_MAX : (size_t)(phys / 2);
}
void *ls_model_cfg(const ls_model *m) { return m->cfg; }

void ls_model_set_weights_note(ls_model *m, const char *note)
{
    snprintf(m->note, sizeof m->note, "%s", note);
}

void ls_model_set_cfg(ls_model *m, void *cfg)
{
    free(m->cfg);
    m->cfg = cfg;
}

void ls_model_free(ls_model *m)
{
    if (!m)
        return;
    free(m->dir);
    cJSON_Delete(m->config);
    ls_tmap_free(m->weights);
    free(m->cfg);
    free(m);
}

/* NaN or Inf in a checkpoint would flow through every op and surface as
 * a NaN far downstream; a downloaded file can have them (a diverged
 * training run).  They are not an error: the model still runs, and the
 * warning names the first such tensor so people know where to look. */
static void check_finite(ls_model *m, const char *wpath)
{
    int bad_tensors = 0;
    for (int i = 0; i < ls_tmap_count(m->weights); i++) {
        const ls_tensor *t = ls_tmap_at(m->weights, i);
        if (t->dtype != LS_F32)
            continue;
        int64_t n = ls_tensor_numel(t), nan = 0, inf = 0, first = -1;
        const float *d = t->data;
        for (int64_t j = 0; j < n; j++) {
            float v = ls_tensor_is_contiguous(t) ? d[j] : (float)ls_tensor_get_flat(t, j);
            if (isfinite(v))
                continue;
            if (isnan(v))
                nan++;
            else
                inf++;
            if (first < 0)
                first = j;
        }
        if (first < 0)
            continue;
        /* a long path or name is cut; the check keeps -Wformat-truncation quiet */
        if (bad_tensors++ == 0 &&
            snprintf(m->warning, sizeof m->warning,
                     "%s: tensor '%s' has %lld NaN and %lld Inf values (first at flat index %lld)",
                     wpath, ls_tmap_name(m->weights, i), (long long)nan, (long long)inf,
                     (long long)first) >= (int)sizeof m->warning)
            m->warning[sizeof m->warning - 2] = '~';
    }
    if (bad_tensors > 1) {
        size_t k = strlen(m->warning);
        snprintf(m->warning + k, sizeof m->warning - k, "; %d more tensors have NaN/Inf",
                 bad_tensors - 1);
    }
}

/* Anything under that name, even a dangling symlink, a directory or a
 * FIFO: the loader then says what is wrong with it, where a "not there"
 * would send a model with a random_weights_seed to random weights. */
static bool name_taken(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

int ls_model_load(const char *dir, ls_model **out, ls_error *err)
{
    return ls_model_load_limit(dir, ls_model_default_max_memory(), out, err);
}

int ls_model_load_limit(const char *dir, size_t max_bytes, ls_model **out, ls_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ls_error_set(err, LS_ERR_IO, "%s: not a model directory (expected a folder with config.json)", dir);
    ls_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    snprintf(m->config_path, sizeof m->config_path, "%s/config.json", dir);
    int rc = ls_json_load(m->config_path, &m->config, err);
    if (rc)
        goto fail;
    char arch[64];
    const struct hf_type *hf = NULL;
    if (!ls_json_at(m->config, "arch") && ls_json_at(m->config, "model_type")) {
        rc = ls_json_str(m->config, "model_type", m->config_path, arch, sizeof arch, err);
        if (rc)
            goto fail;
        for (size_t i = 0; i < sizeof HF_TYPES / sizeof HF_TYPES[0]; i++)
            if (strcmp(HF_TYPES[i].model_type, arch) == 0)
                hf = &HF_TYPES[i];
        if (hf)
            snprintf(arch, sizeof arch, "%s", hf->arch);
    } else {
        rc = ls_json_str(m->config, "arch", m->config_path, arch, sizeof arch, err);
        if (rc)
            goto fail;
    }
    m->arch = ls_arch_find(arch);
    if (!m->arch) {
        char known[256] = "";
        for (int i = 0; i < ls_arch_count(); i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, ls_arch_at(i)->name, sizeof known - strlen(known) - 1);
        }
        rc = ls_error_set(err, LS_ERR_FORMAT, "%s: unknown arch '%s' (known: %s)", m->config_path,
                          arch, known);
        goto fail;
    }
    rc = m->arch->parse_config(m, err);
    if (rc)
        goto fail;
    /* weights: weights.safetensors, or model.safetensors (Hugging Face) */
    char wpath[4200];
    snprintf(wpath, sizeof wpath, "%s/weights.safetensors", dir);
    if (!name_taken(wpath))
        snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    if (name_taken(wpath)) {
        rc = ls_safetensors_load(wpath, &m->weights, err);
        if (rc)
            goto fail;
        check_finite(m, wpath);
        if (hf) {
            ls_tmap *renamed;
            rc = hf->import(m->weights, &renamed, err);
            if (rc)
                goto fail;
            ls_tmap_free(m->weights);
            m->weights = renamed;
        }
        /* a long path is cut in the note; the check keeps gcc's
         * -Wformat-truncation quiet */
        if (snprintf(m->note, sizeof m->note, "weights from %s", wpath) >= (int)sizeof m->note)
            m->note[sizeof m->note - 2] = '~';
    } else if (m->arch->random_weights && ls_json_at(m->config, "random_weights_seed")) {
        /* only on request: a trained model whose weights file is missing
         * must not quietly run on random numbers */
        int64_t seed = 0;
        rc = ls_json_int_opt(m->config, "random_weights_seed", m->config_path, 0, INT64_MAX, 0,
                             &seed, err);
        if (rc)
            goto fail;
        m->weights = ls_tmap_new("random weights");
        if (!m->weights) {
            rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        /* sized by the config alone: a hostile or mistyped size must not
         * make us allocate terabytes.  The arch adds up what it would make
         * first; the map's limit backs that up. */
        uint64_t need = m->arch->random_weights_bytes ? m->arch->random_weights_bytes(m) : 0;
        if (max_bytes && need > max_bytes) {
            rc = ls_error_set(err, LS_ERR_LIMIT,
                              "%s: random weights for this config would take %.2f GiB, more "
                              "than the memory limit of %.2f GiB; check its sizes or raise "
                              "--max-memory",
                              m->config_path, (double)need / (1 << 30),
                              (double)max_bytes / (1 << 30));
            goto fail;
        }
        ls_arena_set_limit(ls_tmap_arena(m->weights), max_bytes);
        rc = m->arch->random_weights(m, (uint64_t)seed, err);
        if (rc == LS_ERR_NOMEM && max_bytes)
            rc = ls_error_set(err, LS_ERR_LIMIT,
                              "%s: random weights for this config need more than %.1f MiB (the "
                              "memory limit); check its sizes or raise --max-memory",
                              m->config_path, (double)max_bytes / (1 << 20));
        if (rc)
            goto fail;
        ls_arena_set_limit(ls_tmap_arena(m->weights), 0);
        snprintf(m->note, sizeof m->note, "random weights, seed %lld", (long long)seed);
    } else {
        rc = ls_error_set(err, LS_ERR_MISSING, "%s: no weights.safetensors in the model directory%s",
                          dir, m->arch->random_weights
                                   ? " (for seeded random weights, put \"random_weights_seed\": N in config.json)"
                                   : "");
        goto fail;
    }
    *out = m;
    return LS_OK;
fail:
    ls_model_free(m);
    return rc;
}

int ls_model_build(const ls_model *m, const ls_tmap *inputs, const ls_build_opts *o,
                   ls_graph **out, ls_error *err)
{
    ls_build_opts dflt;
    memset(&dflt, 0, sizeof dflt);
    if (!o)
        o = &dflt;
    if (!o->module || !o->module[0])
        return m->arch->build(m, inputs, o, out, err);
    /* one module: build the whole forward pass for these inputs (they fix
     * the module's shapes), then keep only that module */
    ls_build_opts full = *o;
    full.module = NULL;
    ls_graph *g;
    int rc = m->arch->build(m, inputs, &full, &g, err);
    if (rc)
        return rc;
    rc = ls_graph_extract(g, o->module, out, err);
    ls_graph_free(g);
    return rc;
}
