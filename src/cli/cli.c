#include "cli/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"

#define ZG_VERSION "0.1.0"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"serve", zg_cmd_serve, "run the daemon"},
	{"init", zg_cmd_init, "create a new data directory and its root key"},
	{"unseal", zg_cmd_unseal, "load the root key into a running daemon"},
	{"sys", zg_cmd_sys, "seal status and root key rotation"},
	{"cred", zg_cmd_cred, "store, read, rotate, revoke and lease credentials"},
	{"token", zg_cmd_token, "create and revoke API tokens"},
	{"audit", zg_cmd_audit, "read and verify the audit log"},
	{"key", zg_cmd_key, "create, sign with, back up and restore signing keys"},
	{"role", zg_cmd_role, "manage roles and their permissions"},
	{"grant", zg_cmd_grant, "grant roles to users and revoke them"},
	{"sa", zg_cmd_sa, "manage service accounts and their tokens"},
	{"authz", zg_cmd_authz, "ask whether a user may act on a resource"},
	{"policy", zg_cmd_policy, "manage and evaluate transaction policies"},
	{"stop", zg_cmd_stop, "freeze signing with emergency stops"},
	{"limits", zg_cmd_limits, "show the use of spending limits"},
	{"txreq", zg_cmd_txreq, "approve, reject and release signing requests"},
	{NULL, NULL, NULL},
};

static void
print_main_help(void)
{
	printf("usage: zguard [CLIENT OPTIONS] COMMAND [OPTIONS]\n"
	    "       zguard --help | --version\n\n"
	    "zguard stores credentials and signing keys, decides access, "
	    "applies\ntransaction policies before signing, and keeps a "
	    "tamper-evident audit log.\n\nCommands:\n");
	for (const struct command *c = commands; c->name != NULL; c++)
		printf("  %-7s %s\n", c->name, c->summary);
	printf("\nRun 'zguard COMMAND --help' for the options of a command.\n"
	    "Client commands read the server address from --addr or "
	    "$ZGUARD_ADDR\n"
	    "(default http://127.0.0.1:8420) and the token from "
	    "--token-file or\n$ZGUARD_TOKEN. The client options --addr URL, "
	    "--token-file FILE,\n--cacert FILE and --json may come before or "
	    "after the command.\n\n"
	    "Exit codes:\n"
	    "  0  success\n"
	    "  1  the server rejected the request\n"
	    "  2  usage error: unknown command, bad flag, missing argument\n"
	    "  3  cannot reach the server, or a local file or I/O error\n");
}

static const struct command *
find_command(const char *name)
{
	for (const struct command *c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* True for the client options every command accepts. */
static bool
is_global_option(const char *arg)
{
	static const char *const names[] = {"--addr", "--token-file",
	    "--cacert", "--json", NULL};
	for (const char *const *n = names; *n != NULL; n++) {
		size_t len = strlen(*n);
		if (strncmp(arg, *n, len) == 0 &&
		    (arg[len] == '\0' || arg[len] == '='))
			return true;
	}
	return false;
}

int
zg_cli_main(int argc, char **argv)
{
	int rc;

	/*
	 * Install the wiping allocator before any JSON is built, so bodies
	 * and responses that carried a value are wiped when freed.
	 */
	zg_json_use_wiping_allocator();

	if (argc < 2) {
		fprintf(stderr, "zguard: missing command; run 'zguard --help'\n");
		return ZG_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_main_help();
		return ZG_EXIT_OK;
	}
	if (strcmp(name, "help") == 0) {
		if (argc < 3) {
			print_main_help();
			return ZG_EXIT_OK;
		}
		/* "zguard help cred" is "zguard cred --help". */
		const struct command *c = find_command(argv[2]);
		if (c == NULL) {
			fprintf(stderr, "zguard: unknown command '%s'; run "
			    "'zguard --help'\n", argv[2]);
			return ZG_EXIT_USAGE;
		}
		char help_flag[] = "--help";
		char *sub_argv[] = {argv[2], help_flag, NULL};
		rc = c->run(2, sub_argv);
		fflush(stdout);
		return rc;
	}
	if (strcmp(name, "--version") == 0) {
		printf("zguard " ZG_VERSION "\n");
		return ZG_EXIT_OK;
	}
	/*
	 * Client options given before the command ("zguard --token-file F
	 * cred list") are moved after it, where each command parses them.
	 */
	int first = 1;
	while (first < argc && is_global_option(argv[first])) {
		bool has_value = strchr(argv[first], '=') == NULL &&
		    strcmp(argv[first], "--json") != 0;
		if (has_value && first + 1 >= argc) {
			fprintf(stderr, "zguard: option '%s' needs a value; run "
			    "'zguard --help'\n", argv[first]);
			return ZG_EXIT_USAGE;
		}
		first += has_value ? 2 : 1;
	}
	if (first >= argc) {
		fprintf(stderr, "zguard: missing command; run 'zguard --help'\n");
		return ZG_EXIT_USAGE;
	}
	name = argv[first];
	if (name[0] == '-') {
		fprintf(stderr, "zguard: unknown option '%s'; run 'zguard "
		    "--help'\n", name);
		return ZG_EXIT_USAGE;
	}
	const struct command *c = find_command(name);
	if (c == NULL) {
		fprintf(stderr, "zguard: unknown command '%s'; run 'zguard "
		    "--help'\n", name);
		return ZG_EXIT_USAGE;
	}
	char **sub_argv = malloc((size_t)argc * sizeof(*sub_argv));
	if (sub_argv == NULL)
		return ZG_EXIT_IO;
	int n = 0;
	for (int i = first; i < argc; i++)
		sub_argv[n++] = argv[i];
	for (int i = 1; i < first; i++)
		sub_argv[n++] = argv[i];
	sub_argv[n] = NULL;
	rc = c->run(n, sub_argv);
	free(sub_argv);
	/* A failed flush (a full disk, a closed pipe) loses output. */
	if (fflush(stdout) != 0 && rc == ZG_EXIT_OK) {
		fprintf(stderr, "zguard: cannot write to stdout\n");
		rc = ZG_EXIT_IO;
	}
	return rc;
}
