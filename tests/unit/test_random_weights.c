/* The seeded random weights of the bundled article-size configs stay bit
 * for bit what they were when the hashes below were recorded (before the
 * archs' generators were folded into src/models/random_weights.c):
 * a hash over every weight's name, shape and bytes, in map order, and the
 * byte count the limit check adds up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/model.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void check(const char *dir, uint64_t want_hash, size_t want_bytes)
{
    const char *root = getenv("LS_SOURCE_ROOT");
    char path[512];
    snprintf(path, sizeof path, "%s/data/%s", root ? root : ".", dir);
    ls_model *m;
    ls_error err = {0};
    if (ls_model_load(path, &m, &err))
        fail_msg("%s", err.msg);
    const ls_tmap *w = ls_model_weights(m);
    uint64_t h = 0xcbf29ce484222325ull, sum = 0;
    for (int i = 0; i < ls_tmap_count(w); i++) {
        const char *name = ls_tmap_name(w, i);
        const ls_tensor *t = ls_tmap_at(w, i);
        sum += ls_tensor_nbytes(t);
        h = fnv(h, name, strlen(name) + 1);
        h = fnv(h, t->shape, (size_t)t->ndim * sizeof *t->shape);
        h = fnv(h, t->data, ls_tensor_nbytes(t));
    }
    /* the dry pass (what the limit check adds up) walks the same list */
    assert_int_equal(ls_model_arch(m)->random_weights_bytes(m), sum);
    size_t bytes = ls_model_weight_bytes(m);
    if (h != want_hash || bytes != want_bytes)
        fail_msg("%s: %d weights hash 0x%016llx, %zu bytes; recorded 0x%016llx, %zu bytes", dir,
                 ls_tmap_count(w), (unsigned long long)h, bytes, (unsigned long long)want_hash,
                 want_bytes);
    ls_model_free(m);
}

static void test_conformer_article(void **st)
{
    (void)st;
    check("conformer_article", 0xa7679a7814043cd4ull, 332583552);
}

static void test_wav2vec2_base(void **st)
{
    (void)st;
    check("wav2vec2_base", 0x24c3d62768a2c036ull, 377483776);
}

static void test_wav2vec2_base_ln(void **st)
{
    (void)st;
    check("wav2vec2_base_ln", 0x7f1207ec21a64aacull, 377522688);
}

static void test_mha_lesson(void **st)
{
    (void)st;
    check("mha_lesson", 0x5f5a98b8bf703a58ull, 4202496);
    /* lesson 02's -inf run says it is lesson 01's attention: the same weights */
    check("mha_lesson_causal", 0x5f5a98b8bf703a58ull, 4202496);
}

static void test_transformer_base(void **st)
{
    (void)st;
    check("transformer_base", 0x63d131a486a87764ull, 176209920);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformer_article),
        cmocka_unit_test(test_wav2vec2_base),
        cmocka_unit_test(test_wav2vec2_base_ln),
        cmocka_unit_test(test_transformer_base),
        cmocka_unit_test(test_mha_lesson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
