/* cmvn.c - global mean/variance normalisation and WeNet's global_cmvn
 * statistics file.
 *
 * The file holds sums, not the mean and istd themselves:
 *   {"mean_stat": [sum_t x_t[d]], "var_stat": [sum_t x_t[d]^2], "frame_num": N}
 * so mean = mean_stat/N and var = var_stat/N - mean^2.  WeNet does this in
 * Python floats (double) and only then casts to float32, and so do we: the
 * subtraction cancels badly in float32 for fbank values around 10..20.
 */
#include "layerstep/audio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/atomic.h"
#include "layerstep/config.h"

#define CMVN_DIM_MAX 65536

static const char *json_type(const cJSON *v)
{
    if (!v)
        return "nothing";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    return "null";
}

/* Reads key as a non-empty array of finite numbers into a malloc'ed buffer. */
static int num_array(const cJSON *root, const char *key, const char *name, double **out,
                     int *n, ls_error *err)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v)
        return ls_error_set(err, LS_ERR_MISSING, "%s: no '%s' key", name, key);
    if (!cJSON_IsArray(v))
        return ls_error_set(err, LS_ERR_FORMAT, "%s: '%s' must be an array of numbers, found %s",
                            name, key, json_type(v));
    int len = cJSON_GetArraySize(v);
    if (len < 1 || len > CMVN_DIM_MAX)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: '%s' has %d values, expected 1..%d", name,
                            key, len, CMVN_DIM_MAX);
    double *d = malloc((size_t)len * sizeof *d);
    if (!d)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory for '%s'", name, key);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
            free(d);
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: '%s'[%d] must be a finite number, found %s", name, key, i,
                                cJSON_IsNumber(e) ? "a non-finite number" : json_type(e));
        }
        d[i++] = e->valuedouble;
    }
    *out = d;
    *n = len;
    return LS_OK;
}

int ls_cmvn_parse_json(const char *text, size_t len, const char *name, ls_arena *a,
                       ls_cmvn *out, ls_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(cmvn)";
    cJSON *root;
    int rc = ls_json_parse(text, len, name, &root, err);
    if (rc != LS_OK)
        return rc;
    double *mean = NULL, *var = NULL;
    int nm = 0, nv = 0;
    double count;
    if (!cJSON_IsObject(root)) {
        rc = ls_error_set(err, LS_ERR_FORMAT, "%s: top level must be an object, found %s", name,
                          json_type(root));
        goto done;
    }
    if ((rc = num_array(root, "mean_stat", name, &mean, &nm, err)) != LS_OK ||
        (rc = num_array(root, "var_stat", name, &var, &nv, err)) != LS_OK)
        goto done;
    if (nm != nv) {
        rc = ls_error_set(err, LS_ERR_SHAPE,
                          "%s: 'mean_stat' has %d values but 'var_stat' has %d", name, nm, nv);
        goto done;
    }
    /* frame_num is a count, but Kaldi-converted files write it as a float. */
    if ((rc = ls_json_num(root, "frame_num", name, 1, 1e18, &count, err)) != LS_OK)
        goto done;
    const int64_t D = nm;
    if ((rc = ls_tensor_alloc(a, LS_F32, 1, &D, &out->mean, err)) != LS_OK ||
        (rc = ls_tensor_alloc(a, LS_F32, 1, &D, &out->istd, err)) != LS_OK) {
        ls_error_prefix(err, "%s", name);
        goto done;
    }
    float *pm = out->mean.data, *pi = out->istd.data;
    for (int d = 0; d < nm; d++) {
        const double m = mean[d] / count;
        double v = var[d] / count - m * m;
        if (!(v >= 1e-20)) /* also catches a NaN from huge stats */
            v = 1e-20;
        pm[d] = (float)m;
        pi[d] = (float)(1.0 / sqrt(v));
    }
    rc = LS_OK;
done:
    if (rc != LS_OK)
        memset(out, 0, sizeof *out);
    free(mean);
    free(var);
    cJSON_Delete(root);
    return rc;
}

int ls_cmvn_load_json(const char *path, ls_arena *a, ls_cmvn *out, ls_error *err)
{
    memset(out, 0, sizeof *out);
    void *buf;
    size_t len;
    int rc = ls_read_file(path, (size_t)64 << 20, &buf, &len, err);
    if (rc != LS_OK)
        return rc;
    rc = ls_cmvn_parse_json(buf, len, path, a, out, err);
    free(buf);
    return rc;
}

int ls_cmvn_apply(const ls_cmvn *c, ls_tensor *x, ls_error *err)
{
    const int64_t D = c->mean.ndim == 1 ? c->mean.shape[0] : 0;
    if (x->dtype != LS_F32 || x->ndim < 1 || x->shape[x->ndim - 1] != D) {
        char s[64];
        return ls_error_set(err, LS_ERR_SHAPE, "cmvn: input is %s %s, expected float32 [..., %lld]",
                            ls_dtype_name(x->dtype), ls_shape_str(x, s, sizeof s), (long long)D);
    }
    const float *m = c->mean.data, *is = c->istd.data;
    const int64_t n = ls_tensor_numel(x);
    if (ls_tensor_is_contiguous(x)) {
        float *p = x->data;
        for (int64_t i = 0; i < n; i++)
            p[i] = (p[i] - m[i % D]) * is[i % D];
        return LS_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        const float v = (float)ls_tensor_get_flat(x, i);
        ls_tensor_set_flat(x, i, (double)((v - m[i % D]) * is[i % D]));
    }
    return LS_OK;
}
