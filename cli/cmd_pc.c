/* cmd_pc.c: `circa pc learn|eval`; none yet. */
#include <stddef.h>
#include "commands.h"

const cli_command cli_pc_commands[] = {{NULL, NULL, NULL}};
