/* zguard: the daemon and its command-line client share one binary. */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return zg_cli_main(argc, argv);
}
