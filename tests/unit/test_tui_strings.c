/* The debugger's own words (src/tui/strings.c): every id in English and
 * Chinese with the same printf conversions, every key of the key table
 * with a Chinese help text, the zh screen drawn in Chinese at 80x24, and
 * the terminal locale's fallback to a UTF-8 LC_CTYPE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/graph.h"
#include "layerstep/lesson.h"
#include "layerstep/tui.h"
#include "../../src/tui/tui_internal.h"

/* The conversions of a printf format as "d s s " (length modifiers kept,
 * flags, width and precision dropped: zh may print an argument with
 * %.0s to leave out the English plural).  false on a positional (%1$s)
 * or a '*', which the table must not use. */
static bool conversions(const char *f, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (const char *p = f; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p && strchr("-+ #0", *p))
            p++;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '$' || *p == '*')
            return false;
        if (*p == '.') {
            p++;
            if (*p == '*')
                return false;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        char conv[8];
        size_t c = 0;
        while (*p && strchr("hlLqjzt", *p) && c < 4)
            conv[c++] = *p++;
        if (!*p)
            return false;
        conv[c++] = *p;
        conv[c] = '\0';
        k += (size_t)snprintf(out + k, n - k, "%s ", conv);
    }
    return true;
}

static void test_every_text_in_both_languages(void **state)
{
    (void)state;
    int bad = 0;
    for (int id = 0; id < S_COUNT; id++) {
        const char *en = tui_s_lang(LS_LANG_EN, (tui_str)id), *zh = tui_s_lang(LS_LANG_ZH, (tui_str)id);
        char ce[128], cz[128];
        if (!en[0] || !zh[0]) {
            fprintf(stderr, "string %d: missing %s text\n", id, en[0] ? "zh" : "en");
            bad++;
        } else if (!conversions(en, ce, sizeof ce) || !conversions(zh, cz, sizeof cz) || strcmp(ce, cz)) {
            fprintf(stderr, "string %d: conversions differ: \"%s\" vs \"%s\"\n", id, en, zh);
            bad++;
        } else if (en == zh && strchr(en, ' ')) {
            /* the fallback to English: a hole in the zh column */
            fprintf(stderr, "string %d: zh is the English text\n", id);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_conversions_checker(void **state)
{
    (void)state;
    char a[64], b[64];
    assert_true(conversions("edited %d cell%s of %s", a, sizeof a));
    assert_true(conversions("已修改 %d 个单元%.0s（%s）", b, sizeof b));
    assert_string_equal(a, b);
    assert_true(conversions("%lld cells %5.2f%%", a, sizeof a));
    assert_string_equal(a, "lld f ");
    assert_false(conversions("%1$s", a, sizeof a));
    assert_true(conversions("%d of %s", a, sizeof a));
    assert_true(conversions("%s of %d", b, sizeof b));
    assert_string_not_equal(a, b);
}

static void test_every_key_has_chinese_help(void **state)
{
    (void)state;
    int helps = 0;
    for (int i = 0; i < ls_tui_keymap_len; i++) {
        const tui_keydef *d = &ls_tui_keymap[i];
        if (!d->help) {
            assert_null(d->help_zh);
            continue;
        }
        helps++;
        assert_non_null(d->help_zh);
        assert_true(d->help_zh[0]);
        /* some Chinese in it (not the English copied over) */
        bool wide = false;
        for (const char *p = d->help_zh; *p; p++)
            wide |= (unsigned char)*p >= 0x80;
        if (!wide)
            fail_msg("key help '%s' has no Chinese text", d->help);
    }
    assert_true(helps > 30);
    /* the ? screen in zh: same number of lines, headings translated */
    char en[256], zh[256];
    int n_en = 0, n_zh = 0;
    while (ls_tui_help_line(LS_LANG_EN, n_en, en, sizeof en))
        n_en++;
    while (ls_tui_help_line(LS_LANG_ZH, n_zh, zh, sizeof zh))
        n_zh++;
    assert_int_equal(n_en, n_zh);
    ls_tui_help_line(LS_LANG_EN, 0, en, sizeof en);
    ls_tui_help_line(LS_LANG_ZH, 0, zh, sizeof zh);
    assert_string_equal(en, "Stepping");
    assert_string_equal(zh, "单步");
    /* --help and the man page stay English */
    char *text = ls_tui_help_text();
    assert_non_null(text);
    assert_non_null(strstr(text, "step into: run to the next named point"));
    assert_null(strstr(text, "步入"));
    free(text);
}

/* A zh hint set must fit where the English one does: the status line
 * picks the widest set that fits, by display columns. */
static void test_zh_hints_fit(void **state)
{
    (void)state;
    static const tui_str ids[] = {S_HINTS_WIDE,  S_HINTS_MID,  S_HINTS_NARROW,
                                  S_LHINTS_WIDE, S_LHINTS_MID, S_LHINTS_NARROW};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int we = ls_text_width(tui_s_lang(LS_LANG_EN, ids[i]));
        int wz = ls_text_width(tui_s_lang(LS_LANG_ZH, ids[i]));
        if (wz > we)
            fail_msg("zh hint %d is %d columns, en %d", (int)ids[i], wz, we);
    }
}

/* x[2,3] -> enc: scaled */
typedef struct fx {
    ls_tmap *w;
    ls_graph *g;
    ls_exec *ex;
    ls_tui *app;
    ls_textcanvas tc;
} fx;

static void build(fx *f, int lang, int w, int h)
{
    memset(f, 0, sizeof *f);
    f->w = ls_tmap_new("none.safetensors");
    ls_graph *g = ls_graph_new("Toy", f->w);
    int x = ls_graph_input(g, "x", LS_F32, 2, (int64_t[]){2, 3});
    ls_graph_begin(g, "Encoder", "", "enc");
    int y = ls_g_scalar(g, LS_OP_SCALE, x, 2.0f, "scaled");
    y = ls_graph_end(g, y);
    assert_true(ls_graph_ok(g));
    f->g = g;
    ls_error err = {0};
    assert_int_equal(ls_exec_new(g, &(ls_exec_opts){.threads = 1}, &f->ex, &err), LS_OK);
    static const float X[6] = {1, 2, 3, 4, 5, 6};
    ls_tensor xt = ls_tensor_make(LS_F32, 2, (int64_t[]){2, 3}, (void *)X);
    assert_int_equal(ls_exec_set_input(f->ex, "x", &xt, &err), LS_OK);
    assert_int_equal(ls_tui_new(g, f->ex, &(ls_tui_opts){.lang = lang, .exec = {.threads = 1}}, &f->app, &err),
                     LS_OK);
    assert_int_equal(ls_textcanvas_init(&f->tc, w, h), LS_OK);
    ls_tui_set_size(f->app, w, h);
}

static void teardown(fx *f)
{
    ls_textcanvas_free(&f->tc);
    ls_tui_free(f->app);
    ls_exec_free(f->ex);
    ls_graph_free(f->g);
    ls_tmap_free(f->w);
}

static bool screen_has(fx *f, const char *s)
{
    ls_textcanvas_clear(&f->tc);
    ls_tui_draw(f->app, &f->tc.c);
    if (getenv("LS_TUI_SHOW")) {
        char *d = ls_textcanvas_dump(&f->tc);
        fprintf(stderr, "%s----\n", d ? d : "");
        free(d);
    }
    return ls_textcanvas_find(&f->tc, s) >= 0;
}

static void test_screen_in_chinese(void **state)
{
    (void)state;
    fx f;
    build(&f, LS_LANG_ZH, 80, 24);
    assert_true(screen_has(&f, " 模块 (Tab: 张量)"));
    assert_true(screen_has(&f, "s 步入，n 步过"));   /* the first message */
    assert_true(screen_has(&f, "（开始：还没有运行）"));
    /* at 80 columns the middle hint set, as in English, at the right edge */
    assert_true(screen_has(&f, "s n o c p g b v a e  ? 帮助  q 退出"));
    char row[1024];
    ls_textcanvas_row(&f.tc, 22, row, sizeof row);
    assert_int_equal(ls_text_width(row), 79); /* the hints end in a blank */
    assert_false(screen_has(&f, "Modules"));
    ls_tui_feed(f.app, 's');
    assert_true(screen_has(&f, " 位于 x [2, 3]  [1/3]"));
    ls_tui_feed(f.app, 'Q');
    assert_true(screen_has(&f, "按键 Q 在这里没有作用"));
    ls_tui_feed(f.app, '?');
    assert_true(screen_has(&f, "按键  （上/下 滚动"));
    assert_true(screen_has(&f, "步入：运行到下一个有名字的点"));
    ls_tui_feed(f.app, '?');
    ls_tui_command(f.app, "frob");
    assert_true(screen_has(&f, "未知命令 ':frob'"));
    /* wide enough: the whole hint set, ending at the right edge */
    ls_textcanvas_free(&f.tc);
    assert_int_equal(ls_textcanvas_init(&f.tc, 130, 30), LS_OK);
    assert_true(screen_has(&f, "s/n/o/c 单步  p 后退  g 跳转  b 断点  v 视图  a 注意力  e 形状  ? 帮助  q 退出"));
    ls_textcanvas_row(&f.tc, 28, row, sizeof row);
    assert_int_equal(ls_text_width(row), 129);
    ls_tui_set_size(f.app, 40, 10);
    ls_textcanvas_free(&f.tc);
    assert_int_equal(ls_textcanvas_init(&f.tc, 40, 10), LS_OK);
    assert_true(screen_has(&f, "终端太小"));
    teardown(&f);
    /* English stays as it was */
    build(&f, LS_LANG_EN, 80, 24);
    assert_true(screen_has(&f, " Modules (Tab: tensor)"));
    assert_true(screen_has(&f, "? help  q quit"));
    assert_false(screen_has(&f, "模块"));
    teardown(&f);
}

/* The panes' own words follow the language too: the tensor pane in each
 * view, the shape explanation, the goto prompt, the lesson menu; and the
 * labels that share a line with others are no wider than the English. */
static void test_panes_in_chinese(void **state)
{
    (void)state;
    static const tui_str fit[] = {S_T_TITLE, S_T_SLICE, S_T_BATCH_HEAD, S_T_BATCH_HEAD_SHORT,
                                  S_T_HEAT_MASKED, S_T_WHOLE, S_T_THIS_SLICE, S_T_ROWS_SUM,
                                  S_X_TITLE, S_A_TITLE, S_A_LEGEND, S_A_SUM, S_L_HEAD,
                                  S_L_HINT_CHOICE, S_L_HINT_TYPE, S_L_SCORE};
    for (size_t i = 0; i < sizeof fit / sizeof fit[0]; i++) {
        int we = ls_text_width(tui_s_lang(LS_LANG_EN, fit[i]));
        int wz = ls_text_width(tui_s_lang(LS_LANG_ZH, fit[i]));
        if (wz > we)
            fail_msg("zh text %d is %d columns, en %d", (int)fit[i], wz, we);
    }
    fx f;
    build(&f, LS_LANG_ZH, 80, 24);
    ls_tui_feed(f.app, 's');
    assert_true(screen_has(&f, " 张量  视图：网格（v 切换）"));
    assert_true(screen_has(&f, "float32 [2, 3]  已算出  input"));
    assert_true(screen_has(&f, "切片 [:, :] 2x3"));
    ls_tui_feed(f.app, 'v');
    assert_true(screen_has(&f, "视图：热图"));
    assert_true(screen_has(&f, "XX 遮住  ! 整行遮住"));
    ls_tui_feed(f.app, 'v');
    assert_true(screen_has(&f, "视图：统计"));
    assert_true(screen_has(&f, "元素 6 个  步长 [3, 1]  连续"));
    assert_true(screen_has(&f, "整体：最小 1  最大 6"));
    assert_true(screen_has(&f, "有限 6  NaN 0  Inf 0"));
    assert_true(screen_has(&f, "此切片（2x3）：最小 1"));
    ls_tui_feed(f.app, 'e');
    assert_true(screen_has(&f, " 形状（e 或 Esc 关闭） "));
    assert_true(screen_has(&f, "x 的形状是怎么来的："));
    ls_tui_feed(f.app, LS_KEY_ESC);
    ls_tui_feed(f.app, 'g');
    assert_true(screen_has(&f, "跳转："));
    ls_tui_feed(f.app, LS_KEY_ESC);
    assert_false(screen_has(&f, "computed"));
    assert_false(screen_has(&f, "Tensor"));
    teardown(&f);
    /* English word for word as before */
    build(&f, LS_LANG_EN, 80, 24);
    ls_tui_feed(f.app, 's');
    assert_true(screen_has(&f, " Tensor  view: grid (v cycles)"));
    assert_true(screen_has(&f, "float32 [2, 3]  computed  input"));
    assert_true(screen_has(&f, "slice [:, :] 2x3"));
    ls_tui_feed(f.app, 'v');
    ls_tui_feed(f.app, 'v');
    assert_true(screen_has(&f, "elements 6  strides [3, 1]  contiguous"));
    assert_true(screen_has(&f, "whole tensor: min 1  max 6"));
    ls_tui_feed(f.app, 'e');
    assert_true(screen_has(&f, "How x got its shape:"));
    ls_tui_feed(f.app, LS_KEY_ESC);
    ls_tui_feed(f.app, 'g');
    assert_true(screen_has(&f, "goto:"));
    teardown(&f);
    /* the lesson list's own "too small" */
    ls_menu *m;
    ls_error err = {0};
    ls_textcanvas tc;
    assert_int_equal(ls_menu_new("课程", "q 退出", &m, &err), LS_OK);
    ls_menu_set_lang(m, LS_LANG_ZH);
    assert_int_equal(ls_textcanvas_init(&tc, 30, 5), LS_OK);
    ls_menu_draw(m, &tc.c);
    assert_true(ls_textcanvas_find(&tc, "终端太小") >= 0);
    assert_true(ls_textcanvas_find(&tc, "30x5，至少要 40x6") >= 0);
    ls_menu_set_lang(m, LS_LANG_EN);
    ls_textcanvas_clear(&tc);
    ls_menu_draw(m, &tc.c);
    assert_true(ls_textcanvas_find(&tc, "30x5, need 40x6") >= 0);
    ls_textcanvas_free(&tc);
    ls_menu_free(m);
}

/* The terminal's locale: with LANG=C (or a locale that is not installed)
 * LC_CTYPE falls back to a UTF-8 one; with none, Chinese is refused in
 * one line naming the locale and what to install, English goes on. */
static void test_locale_fallback(void **state)
{
    (void)state;
    ls_error err = {0};
    unsetenv("LC_ALL");
    unsetenv("LC_CTYPE");
    setenv("LANG", "C", 1);
    static const char *const none[] = {"xx_NOWHERE.UTF-8"};
    assert_int_equal(ls_tui_locale_from(none, 1, false, &err), LS_OK);
    assert_int_not_equal(ls_tui_locale_from(none, 1, true, &err), LS_OK);
    assert_non_null(strstr(err.msg, "LANG=C is not a UTF-8 locale"));
    assert_non_null(strstr(err.msg, "locales-all"));
    assert_non_null(strstr(err.msg, "C.UTF-8"));
    assert_null(strchr(err.msg, '\n'));
    setenv("LANG", "zh_CN.GB18030-not-here", 1);
    memset(&err, 0, sizeof err);
    assert_int_not_equal(ls_tui_locale_from(none, 1, true, &err), LS_OK);
    assert_non_null(strstr(err.msg, "locale zh_CN.GB18030-not-here (LANG=zh_CN.GB18030-not-here) is not installed"));
    /* LC_ALL wins over LANG, as in setlocale */
    setenv("LC_ALL", "C", 1);
    memset(&err, 0, sizeof err);
    assert_int_not_equal(ls_tui_locale_from(none, 1, true, &err), LS_OK);
    assert_non_null(strstr(err.msg, "LC_ALL=C is not"));
    unsetenv("LC_ALL");
    /* the real list: C.UTF-8 is installed here (Debian's libc-bin) */
    if (!setlocale(LC_CTYPE, "C.UTF-8")) {
        fprintf(stderr, "no C.UTF-8 here: fallback not checked\n");
        return;
    }
    setlocale(LC_ALL, "C");
    setenv("LANG", "C", 1);
    assert_int_equal(ls_tui_locale(true, &err), LS_OK);
    assert_string_equal(nl_langinfo(CODESET), "UTF-8");
    setlocale(LC_ALL, "C");
    setenv("LANG", "zh_CN.UTF-8-not-installed", 1);
    assert_int_equal(ls_tui_locale(true, &err), LS_OK);
    assert_string_equal(nl_langinfo(CODESET), "UTF-8");
    setlocale(LC_ALL, "C");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversions_checker),
        cmocka_unit_test(test_every_text_in_both_languages),
        cmocka_unit_test(test_every_key_has_chinese_help),
        cmocka_unit_test(test_zh_hints_fit),
        cmocka_unit_test(test_screen_in_chinese),
        cmocka_unit_test(test_panes_in_chinese),
        cmocka_unit_test(test_locale_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
