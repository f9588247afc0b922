/* cmd_audio.c: audio pipe filters (gain, mix, resample, ...); none yet. */
#include <stddef.h>
#include "commands.h"

const cli_command cli_audio_commands[] = {{NULL, NULL, NULL}};
