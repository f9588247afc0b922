/* commands.h: subcommands that live outside main.c. Each room's CLI file
 * exports a table of them, ended by a {NULL} entry; main.c looks a leading
 * word up in every table before treating argv as compress options. */
#ifndef CIRCA_CLI_COMMANDS_H
#define CIRCA_CLI_COMMANDS_H

typedef struct cli_command {
    const char *name;                     /* e.g. "gain", or "pc" for `circa pc learn` */
    int (*run)(int argc, char **argv);    /* argv[0] is the subcommand name; returns the exit status */
    const char *summary;                  /* one line for `circa help` */
} cli_command;

extern const cli_command cli_audio_commands[]; /* cli/cmd_audio.c: audio filters (dsp/) */
extern const cli_command cli_pc_commands[];    /* cli/cmd_pc.c: probabilistic circuits */
extern const cli_command cli_image_commands[];    /* cli/cmd_image.c: lossless image codec */
extern const cli_command cli_spectral_commands[]; /* cli/cmd_spectral.c: FFT-based filters (dsp/spectral) */
extern const cli_command cli_rbf_commands[];      /* cli/cmd_rbf.c: RBF image fields (models/rbf) */
extern const cli_command cli_separate_commands[]; /* cli/cmd_separate.c: speech separation (models/separate) */

#endif
