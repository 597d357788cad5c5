/* layerstep: step through a transformer's forward pass. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const usage =
    "usage: layerstep <command> [options]\n"
    "\n"
    "With no command: the lessons (lesson 01 on the first start).\n"
    "\n"
    "commands:\n"
    "  lessons   list the guided lessons\n"
    "  lesson N  take lesson N (--lang en|zh, --classroom)\n"
    "  tui       the step-through debugger (press ? inside for the keys)\n"
    "  print     the model's module tree (PyTorch repr style)\n"
    "  run       run the forward pass, one line per named point\n"
    "  dump      write every named point as .npy plus manifest.json\n"
    "  compare   compare two dump directories point by point\n"
    "  diff      find the first op where a reference dump and this run diverge\n"
    "  bench     forward times, GEMM efficiency, peak memory (--tui: key times)\n"
    "\n"
    "Run 'layerstep <command> --help' for a command's options; 'man layerstep'\n"
    "for everything.\n";

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} command;

static const command commands[] = {
    {"print", cmd_print},
    {"run", cmd_run},
    {"dump", cmd_dump},
    {"compare", cmd_compare},
    {"diff", cmd_diff},
    {"bench", cmd_bench},
    {"tui", cmd_tui},
    {"lesson", cmd_lesson},
    {"lessons", cmd_lessons},
    {"man", cmd_man},
};

/* stdio only remembers that a write to stdout failed (a full disk, a
 * redirect to /dev/full): the output is incomplete, and a zero exit would
 * tell a script it is whole.  A command that already failed (2) has said
 * why; its code stands. */
static int finish(int rc)
{
    errno = 0;
    int flushed = fflush(stdout);
    if ((flushed != 0 || ferror(stdout)) && rc != 2) {
        if (errno)
            fprintf(stderr, "layerstep: writing standard output failed: %s\n", strerror(errno));
        else
            fprintf(stderr, "layerstep: writing standard output failed; the output is incomplete\n");
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return finish(cli_default(argv[0]));  /* the main job: the lessons */
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return finish(0);
    }
    if (!strcmp(argv[1], "--version")) {
        puts("layerstep 0.1.0");
        return finish(0);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return finish(commands[i].fn(argc, argv));
    fprintf(stderr, "layerstep: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}
