/* cmd_spectral.c: FFT-based audio filters (resample, fir, filter, spectrogram, denoise); none yet. */
#include <stddef.h>
#include "commands.h"

const cli_command cli_spectral_commands[] = {{NULL, NULL, NULL}};
