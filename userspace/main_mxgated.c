// SPDX-License-Identifier: GPL-2.0-only
/* mxgated: placeholder until the controller lands (issue 4). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "mxgated: the controller is not built yet\n");
	return 1;
}
