/* transcribe: WAV files through a speech model's CTC head, one line each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "layerstep/audio.h"

static const char *const transcribe_help =
    "usage: layerstep transcribe --model DIR [options] FILE.wav...\n"
    "\n"
    "Runs each WAV through a speech model with a CTC head (WeNet's ctc.ctc_lo,\n"
    "wav2vec2's aux) and prints FILE<TAB>TEXT per file: the greedy CTC\n"
    "transcript, units mapped to text by the model's units.txt / tokens.txt\n"
    "(ids as <N> without one).  A file that cannot be read gets one line on\n"
    "stderr and the others are still transcribed; the exit status is then 2.\n"
    "\n"
    "  --reference         use the plain reference loops only\n"
    "  --threads N         worker threads\n"
    "  --max-memory SIZE   refuse a run needing more (default half of RAM)\n";

/* One file: inputs, graph, run, text.  Errors are printed by the callee
 * (cli_prepare) or here; returns 0 or 2. */
static int transcribe_one(const cli_opts *o, ls_model *m, const char *file, char *text,
                          size_t n)
{
    ls_error err = {0};
    ls_tmap *in = ls_tmap_new(file);
    if (!in) {
        cli_error("out of memory");
        return 2;
    }
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    int rc = 2;
    ls_wav_info wi = {0};
    if (ls_audio_model_inputs_info(m, file, in, &wi, &err)) {
        cli_error(err.msg);
        goto done;
    }
    cli_wav_notices(file, &wi);
    if (cli_prepare(o, m, in, &g, &ex))
        goto done;
    if (ls_exec_run(ex, &err)) {
        fprintf(stderr, "layerstep: %s: %s\n", file, err.msg);
        goto done;
    }
    if (!ls_ctc_transcript(m, ex, 0, text, n)) {
        fprintf(stderr, "layerstep: %s: the model has no CTC head (no ctc.ctc_lo or aux "
                        "weights): nothing to transcribe\n",
                ls_model_dir(m));
        rc = 3;  /* the same for every file: stop */
        goto done;
    }
    rc = 0;
done:
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    return rc;
}

int cmd_transcribe(int argc, char **argv)
{
    /* cli_parse takes at most 4 positional arguments: hand it the options
     * only and keep the files here */
    char **opts = calloc((size_t)argc + 1, sizeof *opts);
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!opts || !files) {
        free(opts);
        free(files);
        cli_error("out of memory");
        return 2;
    }
    int n_opts = 0, n_files = 0;
    bool only_files = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || !a[1]) {
            files[n_files++] = a;
        } else if (!strcmp(a, "--")) {
            only_files = true;
        } else {
            opts[n_opts++] = argv[i];
            bool takes = !strcmp(a, "--model") || !strcmp(a, "--threads") ||
                         !strcmp(a, "--max-memory");
            if (takes && i + 1 < argc)
                opts[n_opts++] = argv[++i];
        }
    }
    cli_opts o;
    int rc;
    /* cli_parse reads argv[first..]: give it the options after two slots */
    char **av = calloc((size_t)n_opts + 3, sizeof *av);
    if (!av) {
        free(opts);
        free(files);
        cli_error("out of memory");
        return 2;
    }
    av[0] = argv[0];
    av[1] = argv[1];
    memcpy(av + 2, opts, sizeof *av * (size_t)n_opts);
    rc = cli_parse(n_opts + 2, av, 2, &o, "transcribe");
    bool bad_opt = false;
    if (!rc && !o.help) {
        bad_opt = o.inputs_dir || o.n_inputs || o.src || o.wav || o.module || o.only || o.out;
        if (bad_opt)
            fprintf(stderr, "layerstep transcribe: takes only --model, --reference, --threads, "
                            "--max-memory and WAV files\n");
        else if (!n_files)
            fprintf(stderr, "layerstep transcribe: no WAV files given\n");
    }
    if (!rc && o.help) {
        fputs(transcribe_help, stdout);
        goto out;
    }
    if (rc || bad_opt || !n_files) {
        fputs(transcribe_help, stderr);
        rc = 2;
        goto out;
    }
    if (!o.model) {
        cli_error("transcribe: --model DIR is required");
        rc = 2;
        goto out;
    }
    ls_error err = {0};
    ls_model *m;
    if (ls_model_load_limit(o.model, o.max_memory ? o.max_memory : ls_model_default_max_memory(),
                            &m, &err)) {
        cli_error(err.msg);
        rc = 2;
        goto out;
    }
    if (ls_model_warning(m)[0])
        fprintf(stderr, "layerstep: warning: %s\n", ls_model_warning(m));
    char text[4096];
    for (int i = 0; i < n_files; i++) {
        int r = transcribe_one(&o, m, files[i], text, sizeof text);
        if (r == 3) {
            rc = 2;
            break;
        }
        if (r) {
            rc = 2;
            continue;
        }
        printf("%s\t%s\n", files[i], text);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("transcribe: cannot write to standard output");
            rc = 2;
            break;
        }
    }
    ls_model_free(m);
out:
    free(av);
    free(opts);
    free(files);
    return rc;
}
