// SPDX-License-Identifier: GPL-2.0-only
/* `mxgate dump [--pin-dir DIR]`: the tc backend prints its pins
 * (gate/tc_dump.c). */
#include "cli.h"
#include "tc_dump.h"

int do_dump(int argc, char **argv)
{
	const char *dir;
	int c = cli_pin_dir_args(argc, argv, &dir);

	if (c >= 0)
		return c;
	return tc_dump(dir) ? CLI_FAIL : CLI_OK;
}
