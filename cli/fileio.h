/* fileio.h: the CLI's I/O loops: one input (file or stdin) to one output
 * (file through a temporary, or stdout), for each mode of `circa`. */
#ifndef CIRCA_CLI_FILEIO_H
#define CIRCA_CLI_FILEIO_H

typedef enum cli_mode { MODE_COMPRESS, MODE_DECOMPRESS, MODE_TEST, MODE_LIST } cli_mode;

typedef struct cli_opts {
    cli_mode mode;
    int level;
    unsigned threads;
    int to_stdout;        /* -c */
    const char *out_name; /* -o */
    int force;            /* -f */
    int rm;               /* --rm */
    int verbosity;        /* 0 quiet, 1 normal, 2+ verbose */
    const struct circa_record_model *model; /* --model, or NULL */
} cli_opts;

/* Exit statuses of the program. */
enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_DATA = 2 };

/* Processes one input ("-" or NULL for stdin); returns EXIT_OK or EXIT_DATA
 * after printing one line `circa: NAME: what is wrong` on failure. */
int cli_process(const cli_opts *o, const char *in_name);

/* Removes the temporary output file, if any (for signal handlers). */
void cli_remove_temporary(void);

/* `circa: CMD: what[: arg] (see 'circa CMD -h')` on stderr; returns EXIT_USAGE.
 * The one usage-error line of every subcommand. */
int cli_usage_error(const char *cmd, const char *what, const char *arg);

/* `circa: NAME: message` on stderr. */
void cli_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
