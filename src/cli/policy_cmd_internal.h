/*
 * Private to cli/policy_cmd.c and cli/txreq_cmd.c: the options, the
 * subcommand description and the parsed command line that `zguard
 * policy`, `stop`, `limits` and `txreq` share, and the helpers that parse
 * them, send a request and print tables. policy_cmd.c defines them.
 */
#ifndef ZG_CLI_POLICY_CMD_INTERNAL_H
#define ZG_CLI_POLICY_CMD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/cmdutil.h"

/* The daemon's limit on stop and rejection reasons, in bytes. */
#define ZG_CLI_TX_REASON_MAX 512

enum {
	OPT_FILE = ZG_OPT_FIRST_LOCAL,
	OPT_WORKFLOW_ID,
	OPT_KEY,
	OPT_POLICY,
	OPT_ALL,
	OPT_REASON,
};

/* The check a positional argument gets before it enters a URL or body. */
enum arg_kind {
	ARG_POLICY, /* a policy name */
	ARG_KEY,    /* a key id */
	ARG_STOP,   /* an emergency stop id, "stop_" and 24 hex digits */
	ARG_TXREQ,  /* a transaction request id, "txr_" and 24 hex digits */
};

/* One subcommand's help, options and positional argument, if any. */
struct spec {
	const struct zg_cli_usage *usage;
	const struct option *opts;
	int nargs;              /* 0 or 1 */
	const char *arg_name;   /* for the "missing ..." message */
	enum arg_kind arg_kind;
};

/* The parsed command line. Strings are borrowed from argv. */
struct tx_args {
	struct zg_cli_globals g;
	const char *arg;        /* the positional argument, checked */
	const char *file, *workflow_id, *key, *policy, *reason;
	bool all;
};

/*
 * A table row function: fills the ncol cells of one row from item, each
 * newly allocated. Returns false when memory ran out.
 */
typedef bool (*zg_cli_tx_row_fn)(const json_t *item, char **cells);

/* The options of a subcommand that takes only the global ones. */
extern const struct option zg_cli_tx_no_opts[];

/* Prints that memory ran out and returns ZG_EXIT_IO. */
int zg_cli_tx_out_of_memory(void);

/* Checks a policy name before it enters a URL: 1 to 48 of [A-Za-z0-9._-]. */
int zg_cli_tx_check_policy_name(const struct zg_cli_usage *u, const char *s);

/*
 * Parses argv by spec s and checks the positional argument and --reason.
 * Returns ZG_CLI_CONTINUE or the exit code.
 */
int zg_cli_tx_parse_args(const struct spec *s, int argc, char **argv,
    struct tx_args *a);

/*
 * Sends one request with a token and leaves the response in *resp and,
 * when status is not NULL, the HTTP status in *status.
 */
int zg_cli_tx_call(const struct tx_args *a, const char *method,
    const char *path, json_t *body, long *status, json_t **resp);

/* Prints the response's "items" array as a table with one row per item. */
int zg_cli_tx_print_items(const json_t *resp, const char *const *header,
    size_t ncol, zg_cli_tx_row_fn row);

/*
 * Fills cells[j] from member members[j] of item by zg_cli_cell_new, and
 * an empty string as "-". A NULL name leaves cells[j] for the caller.
 * Returns false when memory ran out.
 */
bool zg_cli_tx_member_cells(const json_t *item, const char *const *members,
    size_t n, char **cells);

/*
 * Returns the printf result, newly allocated, with control characters
 * replaced by '?', or NULL when memory ran out.
 */
char *zg_cli_tx_format_cell(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
