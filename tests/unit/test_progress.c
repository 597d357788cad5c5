/* Lesson progress (src/lessons/progress.c): steps, done and answers kept
 * per lesson; a learner's file is never lost: one that cannot be read is
 * never written over, a damaged one is kept aside before a new one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <sys/wait.h>

#include "layerstep/lesson.h"
#include "tmpdir.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_bad(const char *path)
{
    char pat[600];
    snprintf(pat, sizeof pat, "%s.bad-*", path);
    glob_t g;
    int n = glob(pat, 0, NULL, &g) ? 0 : (int)g.gl_pathc;
    if (n)
        globfree(&g);
    return n;
}

static void test_steps_and_answers(void **state)
{
    (void)state;
    char dir[300], path[400];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
    snprintf(path, sizeof path, "%s/a/b/progress.json", dir);
    int step;
    bool done, any;
    ls_error err = {0};
    assert_int_equal(ls_progress_get(path, "02", &step, &done, &any, &err), LS_OK);
    assert_false(any);
    unsigned char res[6] = {1, 2, 0, 3, 0, 1}, got[6];
    assert_int_equal(ls_progress_set_answers(path, "02", 4, false, res, 6, &err), LS_OK);
    assert_int_equal(ls_progress_set(path, "01", 9, true, &err), LS_OK);
    assert_int_equal(ls_progress_get(path, "02", &step, &done, &any, &err), LS_OK);
    assert_true(any);
    assert_int_equal(step, 4);
    assert_false(done);
    assert_int_equal(ls_progress_get(path, "01", &step, &done, &any, &err), LS_OK);
    assert_int_equal(step, 9);
    assert_true(done);
    assert_int_equal(ls_progress_get_answers(path, "02", got, 6, &err), LS_OK);
    assert_memory_equal(got, res, 6);
    /* a step saved without answers keeps the answers already there */
    assert_int_equal(ls_progress_set(path, "02", 5, false, &err), LS_OK);
    assert_int_equal(ls_progress_get_answers(path, "02", got, 6, &err), LS_OK);
    assert_memory_equal(got, res, 6);
    test_tmpdir_remove(dir);
}

/* Damaged files: kept as .bad-<time>, the learner told, the rest kept. */
static void test_damaged_file_is_kept(void **state)
{
    (void)state;
    static const char *const damaged[] = {
        "{\"lessons\": {\"01\": {\"step\": 3", /* cut short */
        "[1, 2, 3]",                            /* not an object */
    };
    for (size_t k = 0; k < 3; k++) {
        char dir[300], path[400];
        assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
        snprintf(path, sizeof path, "%s/progress.json", dir);
        if (k < 2) {
            write_text(path, damaged[k]);
        } else { /* over 1 MiB */
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            for (int i = 0; i < (1 << 20) / 8 + 2; i++)
                fputs("        ", f);
            assert_int_equal(fclose(f), 0);
        }
        int step;
        bool done, any;
        ls_error err = {0};
        assert_int_not_equal(ls_progress_get(path, "01", &step, &done, &any, &err), LS_OK);
        assert_non_null(strstr(err.msg, path));
        ls_error e2 = {0};
        assert_int_equal(ls_progress_set(path, "02", 1, false, &e2), LS_OK);
        /* saved, with a notice naming the kept copy */
        assert_non_null(strstr(e2.msg, ".bad-"));
        assert_int_equal(count_bad(path), 1);
        assert_int_equal(ls_progress_get(path, "02", &step, &done, &any, &err), LS_OK);
        assert_int_equal(step, 1);
        test_tmpdir_remove(dir);
    }
}

/* As `nobody`, in a child: a root-owned state directory is read-only and
 * a root-owned 0600 file unreadable; progress must fail to save, say why,
 * and leave the learner's file as it was.  Returns 0 when all held. */
static int unwritable_as_nobody(void)
{
    char dir[300], path[400], secret[400];
    if (test_tmpdir_make(dir, sizeof dir, "progress") || chmod(dir, 0755))
        return -1;
    snprintf(path, sizeof path, "%s/progress.json", dir);
    snprintf(secret, sizeof secret, "%s/sub", dir);
    write_text(path, "{\"lessons\": {\"03\": {\"step\": 2, \"done\": false}}}");
    chmod(path, 0644);
    if (mkdir(secret, 0755) || chmod(secret, 0777)) /* writable: only the read check can stop it */
        return -1;
    char secret_file[500];
    snprintf(secret_file, sizeof secret_file, "%s/progress.json", secret);
    write_text(secret_file, "{\"lessons\": {\"04\": {\"step\": 1, \"done\": false}}}");
    chmod(secret_file, 0600);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(3);
        ls_error err = {0};
        /* read-only directory: the temp file cannot be made */
        if (ls_progress_set(path, "01", 2, false, &err) == LS_OK || !err.msg[0])
            _exit(4);
        /* unreadable file: never written over */
        memset(&err, 0, sizeof err);
        if (ls_progress_set(secret_file, "01", 2, false, &err) == LS_OK || !strstr(err.msg, "progress.json"))
            _exit(5);
        int step;
        bool done, any;
        memset(&err, 0, sizeof err);
        if (ls_progress_get(secret_file, "04", &step, &done, &any, &err) == LS_OK)
            _exit(6);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    const char *kept = read_text(path);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
    if (!rc && !strstr(kept, "\"03\""))
        rc = 7;
    if (!rc && !strstr(read_text(secret_file), "\"04\""))
        rc = 8;
    if (rc)
        print_message("as nobody: check %d failed\n", rc);
    test_tmpdir_remove(dir);
    return rc;
}

/* A file that cannot be read or written: an error naming it, nothing lost. */
static void test_unwritable(void **state)
{
    (void)state;
    char dir[300], path[400], sub[400];
    ls_error err = {0};
    /* a directory where the file should be */
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
    snprintf(path, sizeof path, "%s/progress.json", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_not_equal(ls_progress_set(path, "01", 2, false, &err), LS_OK);
    assert_non_null(strstr(err.msg, "progress.json"));
    test_tmpdir_remove(dir);
    /* a file where the state directory should be */
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
    snprintf(sub, sizeof sub, "%s/layerstep", dir);
    write_text(sub, "mine");
    snprintf(path, sizeof path, "%s/layerstep/progress.json", dir);
    memset(&err, 0, sizeof err);
    assert_int_not_equal(ls_progress_set(path, "01", 2, false, &err), LS_OK);
    assert_non_null(strstr(err.msg, "layerstep"));
    assert_string_equal(read_text(sub), "mine");
    test_tmpdir_remove(dir);
    /* a read-only state directory, an unreadable file: root ignores modes,
     * so as root these run in a child that is `nobody` */
    if (geteuid() == 0) {
        assert_int_equal(unwritable_as_nobody(), 0);
        return;
    }
    if (geteuid() != 0) {
        assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
        snprintf(path, sizeof path, "%s/progress.json", dir);
        write_text(path, "{\"lessons\": {\"03\": {\"step\": 2, \"done\": false}}}");
        assert_int_equal(chmod(dir, 0500), 0);
        memset(&err, 0, sizeof err);
        assert_int_not_equal(ls_progress_set(path, "01", 2, false, &err), LS_OK);
        assert_true(err.msg[0] != '\0');
        assert_int_equal(chmod(dir, 0700), 0);
        assert_non_null(strstr(read_text(path), "\"03\""));
        test_tmpdir_remove(dir);
    }
    /* an unreadable file is never written over */
    if (geteuid() != 0) {
        assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
        snprintf(path, sizeof path, "%s/progress.json", dir);
        write_text(path, "{\"lessons\": {\"03\": {\"step\": 2, \"done\": false}}}");
        assert_int_equal(chmod(path, 0200), 0);
        memset(&err, 0, sizeof err);
        assert_int_not_equal(ls_progress_set(path, "01", 2, false, &err), LS_OK);
        assert_int_equal(chmod(path, 0600), 0);
        assert_non_null(strstr(read_text(path), "\"03\""));
        test_tmpdir_remove(dir);
    }
}

/* A long state path is used whole, never cut to a stray file. */
static void test_long_path(void **state)
{
    (void)state;
    char dir[300];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "progress"), 0);
    char *state_home = malloc(2000);
    assert_non_null(state_home);
    int k = snprintf(state_home, 2000, "%s", dir);
    while (k < 900)
        k += snprintf(state_home + k, 2000 - (size_t)k, "/%s", "a-rather-long-folder-name");
    setenv("XDG_STATE_HOME", state_home, 1);
    char *path = ls_progress_path();
    assert_non_null(path);
    assert_true(strlen(path) > 900);
    assert_non_null(strstr(path, "/layerstep/progress.json"));
    ls_error err = {0};
    assert_int_equal(ls_progress_set(path, "01", 3, false, &err), LS_OK);
    int step;
    bool done, any;
    assert_int_equal(ls_progress_get(path, "01", &step, &done, &any, &err), LS_OK);
    assert_int_equal(step, 3);
    free(path);
    free(state_home);
    unsetenv("XDG_STATE_HOME");
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_and_answers),
        cmocka_unit_test(test_damaged_file_is_kept),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test(test_long_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
