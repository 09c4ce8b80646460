/*
 * Private to cli/role_cmd.c and cli/sa_authz_cmd.c: the options, the
 * subcommand description and the parsed command line that `zguard role`,
 * `grant`, `sa` and `authz` share, and the helpers that run a subcommand.
 */
#ifndef ZG_CLI_ROLE_CMD_INTERNAL_H
#define ZG_CLI_ROLE_CMD_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "cli/cmdutil.h"

enum {
	OPT_FILE = ZG_OPT_FIRST_LOCAL,
	OPT_EXPIRES_AT,
	OPT_DESCRIPTION,
	OPT_ROLE,
	OPT_TTL,
	OPT_SCOPE_FILE,
	OPT_CONTEXT_FILE,
};

/* The check a positional argument gets before it enters a URL or a body. */
enum arg_kind {
	ARG_ROLE,      /* a role name */
	ARG_USER,      /* a user id, or a service account id "sa:NAME" */
	ARG_TEXT,      /* sent in a JSON body only */
};

/* One subcommand: its help, options and positional arguments. */
struct spec {
	const struct zg_cli_usage *usage;
	const struct option *opts;
	int nargs;
	const char *arg_names[3];     /* for "missing ..." messages */
	enum arg_kind arg_kinds[3];
};

/* The parsed command line. */
struct role_args {
	struct zg_cli_globals g;
	const char *arg[3];
	const char *file, *expires_at, *description, *ttl, *scope_file;
	const char *context_file;
	json_t *roles;                /* --role values, owned */
};

/*
 * The output format of a subcommand: "FIELD  VALUE" lines of fields
 * (label/member pairs), or a table of the response's "items" array.
 */
struct output {
	const char *const *fields;
	const char *const *header;
	const char *const *members;
	size_t ncol;
};

/* The options of a subcommand that takes only the global ones. */
extern const struct option zg_cli_role_no_opts[];

/* Prints that memory ran out and returns ZG_EXIT_IO. */
int zg_cli_role_out_of_memory(void);

/* Parses argv by spec s. Returns ZG_CLI_CONTINUE or the exit code. */
int zg_cli_role_parse_args(const struct spec *s, int argc, char **argv,
    struct role_args *a);

/* Sends one request with a token and leaves the response in *resp. */
int zg_cli_role_call(const struct role_args *a, const char *method,
    const char *path, json_t *body, json_t **resp);

/*
 * Runs one subcommand: parses argv by s, lets build make the path and
 * body from the arguments, sends the request and prints the response in
 * the format o describes (or as JSON with --json).
 */
int zg_cli_role_run(const struct spec *s, const char *method,
    const struct output *o, int (*build)(const struct spec *,
    struct role_args *, char *, size_t, json_t **), int argc, char **argv);

#endif
