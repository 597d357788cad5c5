/* config.h - config.json through cJSON, with typed getters whose errors
 * name the file, the key, and what was expected vs found.
 *
 *   cJSON *root;
 *   ls_json_load("model/config.json", &root, &err);
 *   int64_t d_model;
 *   ls_json_int(root, "globals.d_model", "model/config.json", 1, 65536, &d_model, &err);
 *   cJSON_Delete(root);
 *
 * Keys are dotted paths into nested objects ("kwargs.encoder_embed_dim").
 * Each architecture turns the tree into its own typed struct (see its
 * model header); this file only reads and checks values.
 */
#ifndef LAYERSTEP_CONFIG_H
#define LAYERSTEP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "layerstep/error.h"

/* Parses a JSON file (at most 64 MiB); a syntax error gives line and column. */
int ls_json_load(const char *path, cJSON **out, ls_error *err);
int ls_json_parse(const char *text, size_t len, const char *name, cJSON **out, ls_error *err);

/* Dotted lookup; NULL if any step is absent. */
const cJSON *ls_json_at(const cJSON *root, const char *dotted);
/* Required values (missing -> LS_ERR_MISSING, wrong type / out of range -> LS_ERR_FORMAT / LS_ERR_RANGE). */
int ls_json_int(const cJSON *root, const char *key, const char *file, int64_t lo, int64_t hi,
                int64_t *out, ls_error *err);
int ls_json_num(const cJSON *root, const char *key, const char *file, double lo, double hi,
                double *out, ls_error *err);
int ls_json_bool(const cJSON *root, const char *key, const char *file, bool *out, ls_error *err);
/* Copies a string value into buf (truncation is an error). */
int ls_json_str(const cJSON *root, const char *key, const char *file, char *buf, size_t n,
                ls_error *err);
/* Optional forms: absent -> *out = dflt, LS_OK. */
int ls_json_int_opt(const cJSON *root, const char *key, const char *file, int64_t lo, int64_t hi,
                    int64_t dflt, int64_t *out, ls_error *err);
int ls_json_num_opt(const cJSON *root, const char *key, const char *file, double lo, double hi,
                    double dflt, double *out, ls_error *err);
int ls_json_bool_opt(const cJSON *root, const char *key, const char *file, bool dflt, bool *out,
                     ls_error *err);
int ls_json_str_opt(const cJSON *root, const char *key, const char *file, const char *dflt,
                    char *buf, size_t n, ls_error *err);

#endif
