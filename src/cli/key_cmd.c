/*
 * `zguard key ...`: signing keys. Every subcommand but backup and restore
 * calls the daemon's /v1/keys routes. Backup and restore work on a data
 * directory directly, so they run without a daemon (key_offline_cmd.c).
 * The sign subcommands are in key_sign_cmd.c.
 *
 * Private keys and passphrases come from a file or stdin, never from an
 * argument, because arguments are visible to every local user in
 * /proc/PID/cmdline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/key_cmd_internal.h"
#include "cli/key_usage.h"

/* Input limits, in bytes. */
#define PRIVATE_KEY_MAX 256

/* The limit the API sets on ?limit= of GET /v1/keys. */
#define LIST_LIMIT_MAX 1000

/*
 * Parses argv with opts and expects nargs positional arguments (0 to 2):
 * the key ID first, then the one that second_name names in messages.
 * Returns ZG_CLI_CONTINUE to go on, or the exit code.
 */
int
zg_cli_key_parse_args(const struct zg_cli_usage *u, const struct option *opts,
    int nargs, const char *second_name, int argc, char **argv,
    struct key_args *a)
{
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_ALGORITHM: a->algorithm = optarg; break;
		case OPT_BACKEND: a->backend = optarg; break;
		case OPT_LABEL: a->label = optarg; break;
		case OPT_EXPIRES_AT: a->expires_at = optarg; break;
		case OPT_ALLOW_RAW_DIGEST: a->allow_raw_digest = true; break;
		case OPT_KEY_FILE: a->key_file = optarg; break;
		case OPT_FILE: a->file = optarg; break;
		case OPT_HEX: a->hex = true; break;
		case OPT_RAW: a->raw = true; break;
		case OPT_LIMIT: a->limit = optarg; break;
		case OPT_AFTER: a->after = optarg; break;
		case OPT_ALL: a->all = true; break;
		case OPT_DATA: a->data = optarg; break;
		case OPT_OUT: a->out = optarg; break;
		case OPT_IN: a->in = optarg; break;
		case OPT_OWNER: a->owner = optarg; break;
		case OPT_PASSPHRASE_FILE: a->pass_file = optarg; break;
		case OPT_VAULT_PASSPHRASE_FILE: a->vault_pass_file = optarg; break;
		case 'h':
			/* The offline commands list their own exit codes. */
			if (!u->client) {
				printf("usage: zguard %s", u->text);
				return ZG_EXIT_OK;
			}
			/* FALLTHROUGH */
		default:
			if ((rc = zg_cli_common_option(opt, argv, &a->g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	int have = argc - optind;
	if (have < nargs)
		return zg_cli_usage_error(u, "missing %s", have == 0 ?
		    "key ID" : second_name);
	if ((rc = zg_cli_expect_args(u, argc, argv, nargs, "")) != ZG_EXIT_OK)
		return rc;
	if (nargs >= 1) {
		a->id = argv[optind];
		if ((rc = zg_cli_check_id(u, a->id)) != ZG_EXIT_OK)
			return rc;
	}
	if (nargs == 2)
		a->version_or_digest = argv[optind + 1];
	return ZG_CLI_CONTINUE;
}

/* Sends one request with a token and leaves the response in *resp. */
int
zg_cli_key_call(const struct key_args *a, const char *method, const char *path,
    json_t *body, json_t **resp)
{
	zg_client *c = NULL;
	long status;
	int rc = zg_client_new(&a->g, true, &c);
	if (rc == ZG_EXIT_OK)
		rc = zg_client_request_or_report(c, method, path, body, &status,
		    resp);
	zg_client_free(c);
	return rc;
}

int
zg_cli_key_out_of_memory(void)
{
	fprintf(stderr, "zguard: out of memory\n");
	return ZG_EXIT_IO;
}

/* Prints one key object as "FIELD  VALUE" lines. */
static int
print_key_fields(const json_t *key)
{
	return zg_cli_print_members(key, (const char *const[]){
	    "id", "id", "label", "label", "algorithm", "algorithm",
	    "backend", "backend", "version", "version", "status", "status",
	    "address", "address", "public-key", "publicKey",
	    "expires", "expiresAt", "raw-digest", "allowRawDigest",
	    "created", "createdAt", NULL});
}

/*
 * Prints the objects of the array items as a table: one row per object,
 * one column per member name, under the given header.
 */
static int
print_rows(const char *const *header, const char *const *members,
    size_t ncol, const json_t *items)
{
	size_t nrow = json_array_size(items);
	char **cells = calloc(nrow * ncol + 1, sizeof(*cells));
	int rc = ZG_EXIT_IO;

	if (cells == NULL)
		goto out;
	for (size_t i = 0; i < nrow; i++)
		for (size_t j = 0; j < ncol; j++) {
			cells[i * ncol + j] = zg_cli_cell_new(json_object_get(
			    json_array_get(items, i), members[j]));
			if (cells[i * ncol + j] == NULL)
				goto out;
		}
	zg_cli_print_table(header, ncol, cells, nrow);
	/* success */
	rc = ZG_EXIT_OK;
out:
	if (rc != ZG_EXIT_OK)
		zg_cli_key_out_of_memory();
	for (size_t i = 0; cells != NULL && i < nrow * ncol; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static const char *const key_header[] = {
	"ID", "LABEL", "ALGORITHM", "BACKEND", "VERSION", "STATUS", "ADDRESS",
};
static const char *const key_members[] = {
	"id", "label", "algorithm", "backend", "version", "status", "address",
};

static const char *const version_header[] = {
	"VERSION", "STATE", "CREATED", "PUBLIC-KEY",
};
static const char *const version_members[] = {
	"version", "state", "createdAt", "publicKey",
};

/* Prints resp as JSON, or as the key's fields (and versions). */
static int
print_key(const struct key_args *a, const json_t *resp, bool versions)
{
	int rc;
	if (a->g.json) {
		zg_cli_print_json(resp);
		return ZG_EXIT_OK;
	}
	if ((rc = print_key_fields(resp)) != ZG_EXIT_OK || !versions)
		return rc;
	printf("\n");
	return print_rows(version_header, version_members, 4,
	    json_object_get(resp, "versions"));
}

/*
 * Reads one secret line from path, or from stdin when path is NULL: on a
 * terminal after prompt with echo off, else everything up to the first
 * "\r" or "\n". The result in out is NUL-terminated and wiped when freed.
 */
int
zg_cli_key_read_secret_line(const char *path, const char *what,
    const char *prompt, size_t max, zg_buf *out)
{
	struct termios old, quiet;
	int rc = ZG_EXIT_IO;
	char c;

	if (path != NULL || !isatty(STDIN_FILENO)) {
		if ((rc = zg_cli_read_secret(path, false, max, what, out)) !=
		    ZG_EXIT_OK)
			return rc;
		out->len = strcspn((const char *)out->data, "\r\n");
		out->data[out->len] = 0;
		goto check;
	}
	fputs(prompt, stderr);
	bool echo_off = tcgetattr(STDIN_FILENO, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	/* Byte by byte, so no copy of the secret stays in a stdio buffer. */
	for (;;) {
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n' || c == '\r')
			break;
		if (out->len >= max || zg_buf_append_u8(out, (uint8_t)c) !=
		    ZG_OK)
			break;
	}
	c = 0;
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputs("\n", stderr);
	if (zg_buf_append_u8(out, 0) != ZG_OK) {
		zg_buf_free(out);
		return zg_cli_key_out_of_memory();
	}
	out->len--;
check:
	if (out->len == 0) {
		fprintf(stderr, "zguard: the %s is empty\n", what);
		zg_buf_free(out);
		return ZG_EXIT_USAGE;
	}
	return ZG_EXIT_OK;
}

/*
 * Builds the fields that create and import share: algorithm, label,
 * expiresAt and allowRawDigest. Returns ZG_CLI_CONTINUE or an exit code.
 */
static int
key_params_body(const struct zg_cli_usage *u, const struct key_args *a,
    json_t **body)
{
	int64_t t;

	if (a->algorithm == NULL || a->algorithm[0] == '\0')
		return zg_cli_usage_error(u, "missing --algorithm ALG");
	if (a->expires_at != NULL &&
	    zg_time_parse_rfc3339(a->expires_at, &t) != ZG_OK)
		return zg_cli_usage_error(u, "invalid --expires-at '%.64s': "
		    "expected RFC 3339 such as 2027-01-31T00:00:00Z",
		    a->expires_at);
	*body = json_pack("{s:s}", "algorithm", a->algorithm);
	if (*body == NULL)
		return zg_cli_usage_error(u, "--algorithm must be UTF-8");
	if (a->label != NULL && json_object_set_new(*body, "label",
	    json_string(a->label)) != 0)
		return zg_cli_usage_error(u, "--label must be UTF-8");
	if (a->expires_at != NULL && json_object_set_new(*body, "expiresAt",
	    json_string(a->expires_at)) != 0)
		return zg_cli_key_out_of_memory();
	if (a->allow_raw_digest && json_object_set_new(*body,
	    "allowRawDigest", json_true()) != 0)
		return zg_cli_key_out_of_memory();
	return ZG_CLI_CONTINUE;
}

static int
cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"algorithm", required_argument, NULL, OPT_ALGORITHM},
		{"backend", required_argument, NULL, OPT_BACKEND},
		{"label", required_argument, NULL, OPT_LABEL},
		{"expires-at", required_argument, NULL, OPT_EXPIRES_AT},
		{"allow-raw-digest", no_argument, NULL, OPT_ALLOW_RAW_DIGEST},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_key_create_usage;
	struct key_args a = {0};
	json_t *body = NULL, *resp = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, opts, 0, NULL, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	if ((rc = key_params_body(u, &a, &body)) != ZG_CLI_CONTINUE)
		goto out;
	if (a.backend != NULL && json_object_set_new(body, "backend",
	    json_string(a.backend)) != 0) {
		rc = zg_cli_usage_error(u, "--backend must be UTF-8");
		goto out;
	}
	if ((rc = zg_cli_key_call(&a, "POST", "/v1/keys", body, &resp)) ==
	    ZG_EXIT_OK)
		rc = print_key(&a, resp, false);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"algorithm", required_argument, NULL, OPT_ALGORITHM},
		{"key-file", required_argument, NULL, OPT_KEY_FILE},
		{"label", required_argument, NULL, OPT_LABEL},
		{"expires-at", required_argument, NULL, OPT_EXPIRES_AT},
		{"allow-raw-digest", no_argument, NULL, OPT_ALLOW_RAW_DIGEST},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_key_import_usage;
	struct key_args a = {0};
	zg_buf priv = ZG_BUF_INIT;
	json_t *body = NULL, *resp = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, opts, 0, NULL, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	if ((rc = key_params_body(u, &a, &body)) != ZG_CLI_CONTINUE)
		goto out;
	if ((rc = zg_cli_key_read_secret_line(a.key_file, "private key",
	    "Private key (hex): ", PRIVATE_KEY_MAX, &priv)) != ZG_EXIT_OK)
		goto out;
	/* The body's strings come from the wiping allocator of cli.c. */
	if (json_object_set_new(body, "privateKey", json_stringn(
	    (const char *)priv.data, priv.len)) != 0) {
		rc = zg_cli_key_out_of_memory();
		goto out;
	}
	zg_buf_free(&priv);
	if ((rc = zg_cli_key_call(&a, "POST", "/v1/keys/import", body,
	    &resp)) == ZG_EXIT_OK)
		rc = print_key(&a, resp, false);
out:
	zg_buf_free(&priv);
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"after", required_argument, NULL, OPT_AFTER},
		{"all", no_argument, NULL, OPT_ALL},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_key_list_usage;
	struct key_args a = {0};
	zg_client *c = NULL;
	json_t *items = NULL, *resp = NULL, *result = NULL, *next = NULL;
	char path[300], after[256] = "";
	int64_t limit = 0;
	long status;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, opts, 0, NULL, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	if (a.limit != NULL && (rc = zg_cli_parse_int(u, "--limit", a.limit,
	    1, LIST_LIMIT_MAX, &limit)) != ZG_EXIT_OK)
		return rc;
	if (a.after != NULL) {
		if ((rc = zg_cli_check_id(u, a.after)) != ZG_EXIT_OK)
			return rc;
		snprintf(after, sizeof(after), "%s", a.after);
	}
	if ((items = json_array()) == NULL)
		return zg_cli_key_out_of_memory();
	if ((rc = zg_client_new(&a.g, true, &c)) != ZG_EXIT_OK)
		goto out;
	for (;;) {
		int n = snprintf(path, sizeof(path), "/v1/keys?");
		if (a.limit != NULL)
			n += snprintf(path + n, sizeof(path) - (size_t)n,
			    "limit=%lld&", (long long)limit);
		if (after[0] != '\0')
			snprintf(path + n, sizeof(path) - (size_t)n,
			    "after=%s&", after);
		path[strlen(path) - 1] = '\0'; /* the last '?' or '&' */

		json_decref(resp);
		resp = NULL;
		if ((rc = zg_client_request_or_report(c, "GET", path, NULL,
		    &status, &resp)) != ZG_EXIT_OK)
			goto out;
		rc = ZG_EXIT_IO;
		if (json_array_extend(items, json_object_get(resp, "items"))
		    != 0) {
			fprintf(stderr, "zguard: the server's list response "
			    "has no items array\n");
			goto out;
		}
		next = json_object_get(resp, "next");
		if (!a.all || !json_is_string(next))
			break;
		/* The id goes into the next URL, so check it like an argument. */
		if (zg_cli_check_id(u, json_string_value(next)) != ZG_EXIT_OK)
			goto out;
		snprintf(after, sizeof(after), "%s", json_string_value(next));
	}
	if (a.g.json) {
		result = json_pack("{s:O, s:O}", "items", items, "next",
		    next != NULL ? next : json_null());
		if (result == NULL) {
			rc = zg_cli_key_out_of_memory();
			goto out;
		}
		zg_cli_print_json(result);
		rc = ZG_EXIT_OK;
	} else
		rc = print_rows(key_header, key_members, 7, items);
out:
	json_decref(result);
	json_decref(resp);
	json_decref(items);
	zg_client_free(c);
	return rc;
}

static int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct key_args a = {0};
	json_t *resp = NULL;
	char path[300];
	int rc;

	if ((rc = zg_cli_key_parse_args(&zg_key_show_usage, opts, 1, NULL, argc,
	    argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	snprintf(path, sizeof(path), "/v1/keys/%s", a.id);
	if ((rc = zg_cli_key_call(&a, "GET", path, NULL, &resp)) == ZG_EXIT_OK)
		rc = print_key(&a, resp, true);
	json_decref(resp);
	return rc;
}

/*
 * Runs a subcommand that POSTs no body to /v1/keys/ID/<action>, or with
 * a version to /v1/keys/ID/versions/N/<action>, and prints the key.
 */
static int
key_action(const struct zg_cli_usage *u, bool versioned, const char *action,
    int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct key_args a = {0};
	json_t *resp = NULL;
	char path[300];
	int64_t version;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, opts, versioned ? 2 : 1, "version N",
	    argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (versioned) {
		if ((rc = zg_cli_parse_int(u, "the version", a.version_or_digest, 1,
		    UINT32_MAX, &version)) != ZG_EXIT_OK)
			return rc;
		snprintf(path, sizeof(path), "/v1/keys/%s/versions/%lld/%s",
		    a.id, (long long)version, action);
	} else
		snprintf(path, sizeof(path), "/v1/keys/%s/%s", a.id, action);
	if ((rc = zg_cli_key_call(&a, "POST", path, NULL, &resp)) == ZG_EXIT_OK)
		rc = print_key(&a, resp, versioned);
	json_decref(resp);
	return rc;
}

static int
cmd_rotate(int argc, char **argv)
{
	return key_action(&zg_key_rotate_usage, false, "rotate", argc, argv);
}

static int
cmd_disable(int argc, char **argv)
{
	return key_action(&zg_key_disable_usage, false, "disable", argc, argv);
}

static int
cmd_enable(int argc, char **argv)
{
	return key_action(&zg_key_enable_usage, false, "enable", argc, argv);
}

static int
cmd_disable_version(int argc, char **argv)
{
	return key_action(&zg_key_disable_version_usage, true, "disable", argc,
	    argv);
}

static int
cmd_enable_version(int argc, char **argv)
{
	return key_action(&zg_key_enable_version_usage, true, "enable", argc,
	    argv);
}

static int
cmd_destroy_version(int argc, char **argv)
{
	return key_action(&zg_key_destroy_version_usage, true, "destroy", argc,
	    argv);
}

int
zg_cmd_key(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"create", cmd_create, "generate a signing key in a backend"},
		{"import", cmd_import, "import a private key (software)"},
		{"list", cmd_list, "list signing keys"},
		{"show", cmd_show, "print a key and its versions"},
		{"rotate", cmd_rotate, "add a key version that signs from now"},
		{"disable", cmd_disable, "switch signing off"},
		{"enable", cmd_enable, "switch signing back on"},
		{"disable-version", cmd_disable_version,
		    "disable one key version"},
		{"enable-version", cmd_enable_version,
		    "enable one key version again"},
		{"destroy-version", cmd_destroy_version,
		    "erase one version's private key"},
		{"sign-tx", zg_cli_key_sign_tx, "sign an Ethereum transaction"},
		{"simulate-tx", zg_cli_key_simulate_tx,
		    "run a transaction against the chain's node, without signing"},
		{"sign-message", zg_cli_key_sign_message,
		    "sign an EIP-191 personal message"},
		{"sign-typed-data", zg_cli_key_sign_typed_data,
		    "sign EIP-712 typed data"},
		{"sign-digest", zg_cli_key_sign_digest,
		    "sign a raw 32-byte digest (allowed keys only)"},
		{"backup", zg_cli_key_backup,
		    "write software keys to an encrypted bundle (offline)"},
		{"restore", zg_cli_key_restore,
		    "restore keys from a bundle into a data dir (offline)"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("key", "Create, rotate and sign with signing "
	    "keys, and back them up.", table, argc, argv);
}
