/*
 * Private to cli/key_cmd.c, cli/key_sign_cmd.c and cli/key_offline_cmd.c.
 * Declares the options, parsed command line and helpers that every
 * `zguard key` subcommand shares. It also declares the subcommands in the
 * other two files, which key_cmd.c's table dispatches to.
 */
#ifndef ZG_CLI_KEY_CMD_INTERNAL_H
#define ZG_CLI_KEY_CMD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "cli/cmdutil.h"

enum {
	OPT_ALGORITHM = ZG_OPT_FIRST_LOCAL,
	OPT_BACKEND,
	OPT_LABEL,
	OPT_EXPIRES_AT,
	OPT_ALLOW_RAW_DIGEST,
	OPT_KEY_FILE,
	OPT_FILE,
	OPT_HEX,
	OPT_RAW,
	OPT_LIMIT,
	OPT_AFTER,
	OPT_ALL,
	OPT_DATA,
	OPT_OUT,
	OPT_IN,
	OPT_OWNER,
	OPT_PASSPHRASE_FILE,
	OPT_VAULT_PASSPHRASE_FILE,
};

/* The parsed command line of one key subcommand. */
struct key_args {
	struct zg_cli_globals g;
	const char *id;         /* the positional key ID, if any */
	const char *version_or_digest; /* the positional after ID, if any */
	const char *algorithm, *backend, *label, *expires_at, *key_file;
	const char *file, *limit, *after;
	const char *data, *out, *in, *owner, *pass_file, *vault_pass_file;
	bool allow_raw_digest, hex, raw, all;
};

/*
 * Parses argv with opts and expects nargs positional arguments (0 to 2):
 * the key ID first, then the one that second_name names in messages.
 * Returns ZG_CLI_CONTINUE to go on, or the exit code.
 */
int zg_cli_key_parse_args(const struct zg_cli_usage *u,
    const struct option *opts, int nargs, const char *second_name, int argc,
    char **argv, struct key_args *a);

/* Sends one request with a token and leaves the response in *resp. */
int zg_cli_key_call(const struct key_args *a, const char *method,
    const char *path, json_t *body, json_t **resp);

/* Prints that memory ran out and returns ZG_EXIT_IO. */
int zg_cli_key_out_of_memory(void);

/*
 * Reads one secret line of at most max bytes from path, or from stdin
 * (prompting on a terminal) when path is NULL. The result in out is
 * NUL-terminated and wiped when freed. An empty secret is a usage error.
 */
int zg_cli_key_read_secret_line(const char *path, const char *what,
    const char *prompt, size_t max, zg_buf *out);

/* The sign subcommands (key_sign_cmd.c). Each returns its exit code. */
int zg_cli_key_sign_tx(int argc, char **argv);
int zg_cli_key_simulate_tx(int argc, char **argv);
int zg_cli_key_sign_message(int argc, char **argv);
int zg_cli_key_sign_typed_data(int argc, char **argv);
int zg_cli_key_sign_digest(int argc, char **argv);

/*
 * `zguard key backup` and `zguard key restore`, which open a data
 * directory without a daemon (key_offline_cmd.c). Each returns its exit
 * code.
 */
int zg_cli_key_backup(int argc, char **argv);
int zg_cli_key_restore(int argc, char **argv);

#endif
