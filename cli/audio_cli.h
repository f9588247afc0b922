/* audio_cli.h: what the audio subcommands (cmd_audio.c, cmd_spectral.c)
 * share: sox-like format options, opening inputs and outputs with circa's
 * conventions, and the loop that runs a circa_op from one input to one
 * output in bounded-memory blocks.
 *
 * Contents
 *   1. the command-line scheme        audio_cli_format, audio_cli_args, audio_cli_parse
 *   2. inputs                         audio_cli_open_input
 *   3. outputs                        audio_cli_output, audio_cli_open_output, audio_cli_write,
 *                                     audio_cli_close_output; audio_cli_target (any binary output)
 *   4. running an operator            audio_cli_run_op
 *
 * Conventions (as cli/fileio.c): every failure prints one line
 * `circa: NAME: what is wrong` on stderr, where NAME is the file (or
 * "stdin"/"stdout") or, for usage errors, the subcommand; functions return
 * the exit status EXIT_OK (0), EXIT_USAGE (1) or EXIT_DATA (2) of fileio.h.
 * Named outputs are written to a temporary next to them and renamed when
 * complete; audio is never read from a terminal, nor written to one unless -f.
 *
 * The scheme (docs/audio.md), as in sox: format options apply to the next
 * file named.
 *     -t TYPE      wav | flac | au | raw        (inputs: only raw needs it)
 *     -r RATE      raw input: frames per second
 *     -c CHANNELS  raw input: channels
 *     -b BITS      16 | 24 | 32
 *     -e ENCODING  signed | float               (float means 32 bits)
 *     -v DB        (commands that mix) gain of the next input
 * Before an input (a file, or - for stdin) they describe it; before -o OUT,
 * or left over after the last input, they choose the output's type and
 * sample format. Output defaults: the type from -t, else from OUT's suffix
 * (.wav .flac .au .snd .raw .pcm), else the first input's (wav for types
 * circa does not write); the sample format from -b/-e, else the input's
 * (s24 when that does not fit FLAC). -f overwrites an existing OUT.
 *
 * A subcommand built on this (a sketch of `circa gain`):
 *
 *     static int take_db(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
 *         double *db = ctx;   // claim the first number as DB (once only, in real code)
 *         return audio_cli_number(argv[*i], db) == 0 ? AUDIO_CLI_TAKEN : AUDIO_CLI_NOT_MINE;
 *     }
 *     static circa_status make(void *ctx, const circa_audio_info *in, circa_op **op,
 *                              char *why, size_t cap) {
 *         return circa_op_gain_create(*(double *)ctx, in->rate, in->channels, op);
 *     }
 *     int cmd_gain(int argc, char **argv) {
 *         double db = 0;
 *         audio_cli_args a;
 *         audio_cli_args_init(&a, "gain", 1);
 *         int r = audio_cli_parse(&a, argc, argv, USAGE, take_db, &db);
 *         if (r != AUDIO_CLI_GO) return r;
 *         return audio_cli_run_op(&a, make, &db);
 *     } */
#ifndef CIRCA_CLI_AUDIO_CLI_H
#define CIRCA_CLI_AUDIO_CLI_H

#include <stddef.h>
#include <stdint.h>
#include "circa/audio.h"
#include "fileio.h"

/* ---- 1. the command-line scheme ------------------------------------------ */
#define AUDIO_CLI_MAX_INPUTS 64

/* What format options said about one file; a field is "not given" at 0. */
typedef struct audio_cli_format {
    int has_type;                /* -t */
    circa_audio_container type;
    uint32_t rate;               /* -r */
    uint32_t channels;           /* -c */
    unsigned bits;               /* -b: 16, 24, 32 */
    int encoding;                /* -e: 0 not given, 1 signed, 2 float */
} audio_cli_format;

typedef struct audio_cli_args {
    const char *cmd;                                /* subcommand name, for messages */
    int max_inputs;                                 /* set by audio_cli_args_init */
    int n_inputs;
    const char *inputs[AUDIO_CLI_MAX_INPUTS];       /* "-" for stdin */
    audio_cli_format in_fmt[AUDIO_CLI_MAX_INPUTS];
    double in_gain_db[AUDIO_CLI_MAX_INPUTS];        /* -v, 0 when not given */
    int accept_volume;                              /* -v allowed (mixing commands) */
    const char *out_name;                           /* -o; NULL or "-": stdout */
    audio_cli_format out_fmt;
    int force;                                      /* -f */
    audio_cli_format pending;                       /* options not yet attached to a file */
    double pending_gain_db;
    int has_pending_gain;
} audio_cli_args;

/* audio_cli_parse: go on (else it returns an exit status). */
enum { AUDIO_CLI_GO = -1 };
/* What a subcommand's argument callback says of an argument. */
enum { AUDIO_CLI_NOT_MINE = 0, AUDIO_CLI_TAKEN = 1, AUDIO_CLI_BAD = 2 };

/* Zeroes a, names the command, and allows up to max_inputs inputs (1..64). */
void audio_cli_args_init(audio_cli_args *a, const char *cmd, int max_inputs);

/* A subcommand's own arguments: called for every argument before the common
 * ones are tried (so it sees "-3" before it could be taken for an option).
 * argv[*i] is the argument; to take a value, advance *i. Returns
 * AUDIO_CLI_TAKEN, AUDIO_CLI_NOT_MINE, or AUDIO_CLI_BAD after printing a
 * usage message (the parse then returns EXIT_USAGE). */
typedef int (*audio_cli_extra_fn)(void *ctx, audio_cli_args *a, int argc, char **argv, int *i);

/* Parses argv[1..argc) (argv[0] is the subcommand) into a. -h/--help print
 * usage_text on stdout and return EXIT_OK; a usage error prints one line
 * `circa: CMD: what` and returns EXIT_USAGE; otherwise AUDIO_CLI_GO. With no
 * input named, the input is stdin ("-") when max_inputs is 1; commands with
 * more inputs must check n_inputs themselves. extra may be NULL. */
int audio_cli_parse(audio_cli_args *a, int argc, char **argv, const char *usage_text,
                    audio_cli_extra_fn extra, void *ctx);

/* Parses a whole argument as a finite number: 0, or -1. */
int audio_cli_number(const char *s, double *out);

/* Takes the pending format options for a file a subcommand names itself
 * (e.g. stats --ref REF) and clears them. */
audio_cli_format audio_cli_take_pending(audio_cli_args *a);

/* ---- 2. inputs ------------------------------------------------------------ */
/* Opens NAME ("-" is stdin) as fmt describes (raw needs -r, -c and -b or
 * -e). Returns EXIT_OK with *out set, or an exit status after a message:
 * EXIT_USAGE for incomplete raw options, EXIT_DATA for I/O and format
 * errors (missing file, malformed header, rate or channels out of range). */
int audio_cli_open_input(const audio_cli_args *a, const char *name, const audio_cli_format *fmt,
                         circa_audio_reader **out);

/* The name messages use for an input: "stdin" for "-". */
const char *audio_cli_display_name(const char *name);

/* ---- 3. outputs ----------------------------------------------------------- */
/* Any binary output: -o NAME through a temporary, or stdout. */
typedef struct audio_cli_target {
    const char *name;   /* for messages: the file name, or "stdout" */
    const char *final;  /* NULL for stdout */
    int fd;
    int is_file;
} audio_cli_target;

/* Opens NAME (NULL or "-": stdout). Refuses, unless force, a terminal and an
 * existing file; always refuses a name that is one of inputs[0..n_inputs)
 * (pass NULL, 0 when there are none). Returns EXIT_OK or EXIT_DATA after a message. The
 * temporary is removed on SIGINT, SIGTERM, SIGHUP. */
int audio_cli_target_open(audio_cli_target *t, const char *name, int force,
                          const char *const *inputs, int n_inputs);
/* Renames the temporary into place (the fd must already be closed by whoever
 * owned it: pass fd_closed = 1) or does nothing for stdout. EXIT_OK or
 * EXIT_DATA after a message. */
int audio_cli_target_commit(audio_cli_target *t, int fd_closed);
/* Removes the temporary (closing the fd unless fd_closed); for failures. */
void audio_cli_target_abandon(audio_cli_target *t, int fd_closed);

/* Registers another partial output file to be removed if a signal (SIGINT,
 * SIGTERM, SIGHUP) ends the program; returns a slot for
 * cli_temporary_forget (once renamed or removed), or -1 when all are taken. */
int cli_temporary_register(const char *path);
void cli_temporary_forget(int slot);

/* Reads a whole file or stdin ("-") into a malloc'd buffer; NULL after a
 * one-line message. */
uint8_t *cli_read_whole(const char *path, size_t *len);
/* Writes p[0..n) to OUT (through a temporary; NULL: stdout, never a
 * terminal); refuses to overwrite IN (may be NULL) and, unless force, an
 * existing file. EXIT_OK or EXIT_DATA after a message. */
int cli_write_whole(const char *out, int force, const char *in, const uint8_t *p, size_t n);

typedef struct audio_cli_output {
    audio_cli_target target;
    circa_audio_writer *w;
    circa_audio_info info;   /* what is written */
} audio_cli_output;

/* Resolves the output's description (see the scheme above) from a->out_fmt,
 * a->out_name and `like` (the input: container, sample format, and frames
 * at like->rate as a length hint, -1 if unknown), with the given rate and
 * channels, then opens it. Returns EXIT_OK, EXIT_USAGE (e.g.
 * -b 32 with -t flac, -r on an output) or EXIT_DATA, after a message. */
int audio_cli_open_output(const audio_cli_args *a, const circa_audio_info *like, uint32_t rate,
                          uint32_t channels, audio_cli_output *o);
/* Writes frames; EXIT_OK or EXIT_DATA after a message. */
int audio_cli_write(audio_cli_output *o, const float *buf, size_t frames);
/* With ok == EXIT_OK: completes the stream, renames it into place, and warns
 * on stderr when samples were clipped; returns EXIT_OK or EXIT_DATA. With any
 * other ok: removes what was written and returns ok. Safe on an output that
 * was never opened (zeroed). */
int audio_cli_close_output(audio_cli_output *o, int ok);

/* ---- 4. running an operator ----------------------------------------------- */
/* Creates the operator once the input is open (its rate and channels are
 * known). On failure returns a status; a message in why[0..cap) is printed
 * as `circa: CMD: why` (else circa_strerror); CIRCA_E_PARAM exits with
 * EXIT_USAGE, anything else with EXIT_DATA. */
typedef circa_status (*audio_cli_make_op)(void *ctx, const circa_audio_info *in, circa_op **op,
                                          char *why, size_t cap);

/* Opens a->inputs[0], makes the operator, opens the output at the
 * operator's out_rate and out_channels, and streams: blocks of at most 64 Ki
 * samples in and out, the input pushed until consumed, then drained (see
 * circa_op in audio.h). Checks the operator takes the input's rate and
 * channels. Frees the operator. Returns the exit status, after a message on
 * failure (a partial named output is removed). */
int audio_cli_run_op(const audio_cli_args *a, audio_cli_make_op make, void *ctx);

#endif
