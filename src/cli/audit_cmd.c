#include <stdio.h>

#include "cli/cli.h"

/* TODO: replace with the audit commands once the daemon serves /v1/audit. */
int
zg_cmd_audit(int argc, char **argv)
{
	fprintf(stderr, "zguard: the audit command is not available yet\n");
	return ZG_EXIT_USAGE;
}
