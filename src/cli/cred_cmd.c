/* `zguard cred ...`: credentials, their values and one-time leases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/cred_usage.h"

/* The largest value or lease token read from a file or stdin, in bytes. */
#define VALUE_MAX (1024 * 1024)
#define LEASE_TOKEN_MAX 4096

/* The limits the API sets on ?limit= and on a lease's ttlSeconds. */
#define LIST_LIMIT_MAX 1000
#define LEASE_TTL_MAX 86400

enum {
	OPT_TYPE = ZG_OPT_FIRST_LOCAL,
	OPT_NAME,
	OPT_FILE,
	OPT_STDIN,
	OPT_RAW,
	OPT_METADATA,
	OPT_PERMISSION,
	OPT_EXPIRES_AT,
	OPT_VERSION,
	OPT_LIMIT,
	OPT_AFTER,
	OPT_ALL,
	OPT_TTL,
};

/* The parsed command line of one cred subcommand. */
struct cred_args {
	struct zg_cli_globals g;
	const char *id; /* the positional ID, if the command takes one */
	const char *type, *name, *file, *metadata, *expires_at;
	const char *version, *limit, *after, *ttl;
	json_t *permissions;
	bool from_stdin, raw, all;
};

/*
 * Parses argv with the options opts, then expects nargs positional ID
 * arguments. Returns ZG_CLI_CONTINUE to go on, or the exit code.
 */
static int
parse_args(const struct zg_cli_usage *u, const struct option *opts,
    int nargs, int argc, char **argv, struct cred_args *a)
{
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_TYPE: a->type = optarg; break;
		case OPT_NAME: a->name = optarg; break;
		case OPT_FILE: a->file = optarg; break;
		case OPT_STDIN: a->from_stdin = true; break;
		case OPT_RAW: a->raw = true; break;
		case OPT_METADATA: a->metadata = optarg; break;
		case OPT_EXPIRES_AT: a->expires_at = optarg; break;
		case OPT_VERSION: a->version = optarg; break;
		case OPT_LIMIT: a->limit = optarg; break;
		case OPT_AFTER: a->after = optarg; break;
		case OPT_ALL: a->all = true; break;
		case OPT_TTL: a->ttl = optarg; break;
		case OPT_PERMISSION:
			if (json_array_append_new(a->permissions,
			    json_string(optarg)) != 0)
				return zg_cli_usage_error(u, "invalid "
				    "permission '%.64s': not UTF-8", optarg);
			break;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &a->g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, nargs,
	    "credential ID")) != ZG_EXIT_OK)
		return rc;
	if (nargs == 1) {
		a->id = argv[optind];
		if ((rc = zg_cli_check_id(u, a->id)) != ZG_EXIT_OK)
			return rc;
	}
	return ZG_CLI_CONTINUE;
}

static const char *const table_header[] = {
	"ID", "NAME", "TYPE", "VERSION", "STATUS", "EXPIRES", "OWNER",
};
static const char *const table_keys[] = {
	"id", "name", "type", "version", "status", "expiresAt", "owner",
};
#define TABLE_NCOL (sizeof(table_header) / sizeof(table_header[0]))

/* Prints the credentials in the array items as a table. */
static int
print_cred_table(const json_t *items)
{
	int rc = ZG_EXIT_IO;
	size_t nrow = json_array_size(items);
	char **cells = calloc(nrow * TABLE_NCOL + 1, sizeof(*cells));
	if (cells == NULL)
		goto out;
	for (size_t i = 0; i < nrow; i++) {
		const json_t *cred = json_array_get(items, i);
		for (size_t j = 0; j < TABLE_NCOL; j++) {
			cells[i * TABLE_NCOL + j] = zg_cli_cell_new(
			    json_object_get(cred, table_keys[j]));
			if (cells[i * TABLE_NCOL + j] == NULL)
				goto out;
		}
	}
	zg_cli_print_table(table_header, TABLE_NCOL, cells, nrow);
	/* success */
	rc = ZG_EXIT_OK;
out:
	if (rc != ZG_EXIT_OK)
		fprintf(stderr, "zguard: out of memory\n");
	for (size_t i = 0; cells != NULL && i < nrow * TABLE_NCOL; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* Prints one credential object as a table or as JSON. */
static int
print_cred(const struct cred_args *a, json_t *cred)
{
	if (a->g.json) {
		zg_cli_print_json(cred);
		return ZG_EXIT_OK;
	}
	json_t *items = json_pack("[O]", cred);
	if (items == NULL) {
		fprintf(stderr, "zguard: out of memory\n");
		return ZG_EXIT_IO;
	}
	int rc = print_cred_table(items);
	json_decref(items);
	return rc;
}

/* Prints the "value" member of resp and a newline, or resp as JSON. */
static int
print_value(const struct cred_args *a, const json_t *resp)
{
	if (a->g.json) {
		zg_cli_print_json(resp);
		return ZG_EXIT_OK;
	}
	const json_t *value = json_object_get(resp, "value");
	if (!json_is_string(value)) {
		fprintf(stderr, "zguard: the server's response has no value\n");
		return ZG_EXIT_IO;
	}
	fwrite(json_string_value(value), 1, json_string_length(value), stdout);
	fputc('\n', stdout);
	return ZG_EXIT_OK;
}

/*
 * Sends one request for the command and leaves the response in *resp.
 * Opens the client with a token and closes it again.
 */
static int
call(const struct cred_args *a, const char *method, const char *path,
    json_t *body, json_t **resp)
{
	zg_client *c = NULL;
	long status;
	int rc = zg_client_new(&a->g, true, &c);
	if (rc == ZG_EXIT_OK)
		rc = zg_client_request_or_report(c, method, path, body,
		    &status, resp);
	zg_client_free(c);
	return rc;
}

static int
cmd_put(int argc, char **argv)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, OPT_TYPE},
		{"name", required_argument, NULL, OPT_NAME},
		{"file", required_argument, NULL, OPT_FILE},
		{"raw", no_argument, NULL, OPT_RAW},
		{"metadata", required_argument, NULL, OPT_METADATA},
		{"permission", required_argument, NULL, OPT_PERMISSION},
		{"expires-at", required_argument, NULL, OPT_EXPIRES_AT},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_cred_put_usage;
	struct cred_args a = {.permissions = json_array()};
	zg_buf value = ZG_BUF_INIT;
	json_t *body = NULL, *meta = NULL, *resp = NULL;
	int rc = ZG_EXIT_IO;

	if (a.permissions == NULL)
		goto nomem;
	if ((rc = parse_args(u, opts, 0, argc, argv, &a)) != ZG_CLI_CONTINUE)
		goto out;
	rc = ZG_EXIT_USAGE;
	if (a.type == NULL || a.type[0] == '\0') {
		zg_cli_usage_error(u, "missing --type TYPE");
		goto out;
	}
	if (a.name == NULL || a.name[0] == '\0') {
		zg_cli_usage_error(u, "missing --name NAME");
		goto out;
	}
	if (a.metadata != NULL) {
		json_error_t jerr;
		meta = json_loads(a.metadata, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(meta)) {
			zg_cli_usage_error(u, "invalid --metadata: expected a "
			    "JSON object such as '{\"team\":\"ops\"}'");
			goto out;
		}
	}
	int64_t t;
	if (a.expires_at != NULL &&
	    zg_time_parse_rfc3339(a.expires_at, &t) != ZG_OK) {
		zg_cli_usage_error(u, "invalid --expires-at '%.64s': expected "
		    "RFC 3339 such as 2027-01-31T00:00:00Z", a.expires_at);
		goto out;
	}

	if ((rc = zg_cli_read_secret(a.file, a.raw, VALUE_MAX, "value",
	    &value)) != ZG_EXIT_OK)
		goto out;
	rc = ZG_EXIT_IO;
	body = json_pack("{s:s, s:s, s:s%}", "type", a.type, "name", a.name,
	    "value", (const char *)value.data, value.len);
	if (body == NULL) {
		rc = zg_cli_usage_error(u, "--type and --name must be UTF-8");
		goto out;
	}
	zg_buf_free(&value);
	if (meta != NULL && json_object_set(body, "metadata", meta) != 0)
		goto nomem;
	if (json_array_size(a.permissions) > 0 &&
	    json_object_set(body, "permissions", a.permissions) != 0)
		goto nomem;
	if (a.expires_at != NULL && json_object_set_new(body, "expiresAt",
	    json_string(a.expires_at)) != 0) {
		rc = zg_cli_usage_error(u, "--expires-at must be UTF-8");
		goto out;
	}
	if ((rc = call(&a, "POST", "/v1/credentials", body, &resp)) ==
	    ZG_EXIT_OK)
		rc = print_cred(&a, resp);
	goto out;
nomem:
	fprintf(stderr, "zguard: out of memory\n");
	rc = ZG_EXIT_IO;
out:
	zg_buf_free(&value);
	json_decref(a.permissions);
	json_decref(meta);
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{"version", required_argument, NULL, OPT_VERSION},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cred_args a = {0};
	json_t *resp = NULL;
	char path[300];
	int64_t version = 0;
	int rc;

	if ((rc = parse_args(&zg_cred_get_usage, opts, 1, argc, argv,
	    &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	if (a.version != NULL && (rc = zg_cli_parse_int(&zg_cred_get_usage,
	    "--version", a.version, 1, UINT32_MAX, &version)) != ZG_EXIT_OK)
		return rc;
	if (a.version != NULL)
		snprintf(path, sizeof(path), "/v1/credentials/%s/value"
		    "?version=%lld", a.id, (long long)version);
	else
		snprintf(path, sizeof(path), "/v1/credentials/%s/value", a.id);
	if ((rc = call(&a, "GET", path, NULL, &resp)) == ZG_EXIT_OK)
		rc = print_value(&a, resp);
	json_decref(resp);
	return rc;
}

static int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cred_args a = {0};
	json_t *resp = NULL;
	char path[300];
	int rc;

	if ((rc = parse_args(&zg_cred_show_usage, opts, 1, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	snprintf(path, sizeof(path), "/v1/credentials/%s", a.id);
	if ((rc = call(&a, "GET", path, NULL, &resp)) != ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "id", "id", "name", "name", "type", "type",
		    "owner", "owner", "version", "version",
		    "status", "status", "created", "createdAt",
		    "updated", "updatedAt", "expires", "expiresAt",
		    "revoked", "revokedAt", "permissions", "permissions",
		    "metadata", "metadata", NULL});
out:
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
	const struct zg_cli_usage *u = &zg_cred_list_usage;
	struct cred_args a = {0};
	zg_client *c = NULL;
	json_t *items = NULL, *resp = NULL, *next = NULL, *result = NULL;
	char path[300], *after = NULL;
	int64_t limit = 0;
	long status;
	int rc;

	if ((rc = parse_args(u, opts, 0, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.limit != NULL && (rc = zg_cli_parse_int(u, "--limit", a.limit,
	    1, LIST_LIMIT_MAX, &limit)) != ZG_EXIT_OK)
		return rc;
	if (a.after != NULL && (rc = zg_cli_check_id(u, a.after)) !=
	    ZG_EXIT_OK)
		return rc;

	rc = ZG_EXIT_IO;
	if ((items = json_array()) == NULL)
		goto nomem;
	if (a.after != NULL && (after = strdup(a.after)) == NULL)
		goto nomem;
	if ((rc = zg_client_new(&a.g, true, &c)) != ZG_EXIT_OK)
		goto out;
	for (;;) {
		int n = snprintf(path, sizeof(path), "/v1/credentials?");
		if (a.limit != NULL)
			n += snprintf(path + n, sizeof(path) - (size_t)n,
			    "limit=%lld&", (long long)limit);
		if (after != NULL)
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
		free(after);
		after = NULL;
		if (!a.all || !json_is_string(next))
			break;
		/* The id goes into the next URL, so check it like an argument. */
		if (zg_cli_check_id(u, json_string_value(next)) != ZG_EXIT_OK)
			goto out;
		if ((after = strdup(json_string_value(next))) == NULL)
			goto nomem;
	}
	if (a.g.json) {
		result = json_pack("{s:O, s:O}", "items", items, "next",
		    next != NULL ? next : json_null());
		if (result == NULL)
			goto nomem;
		zg_cli_print_json(result);
		rc = ZG_EXIT_OK;
	} else
		rc = print_cred_table(items);
	goto out;
nomem:
	fprintf(stderr, "zguard: out of memory\n");
	rc = ZG_EXIT_IO;
out:
	free(after);
	json_decref(result);
	json_decref(resp);
	json_decref(items);
	zg_client_free(c);
	return rc;
}

static int
cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		{"stdin", no_argument, NULL, OPT_STDIN},
		{"raw", no_argument, NULL, OPT_RAW},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_cred_rotate_usage;
	struct cred_args a = {0};
	zg_buf value = ZG_BUF_INIT;
	json_t *body = NULL, *resp = NULL;
	char path[300];
	int rc;

	if ((rc = parse_args(u, opts, 1, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.file != NULL && a.from_stdin)
		return zg_cli_usage_error(u, "--file and --stdin cannot be "
		    "used together");
	if (a.raw && a.file == NULL && !a.from_stdin)
		return zg_cli_usage_error(u, "--raw needs --file or --stdin");
	snprintf(path, sizeof(path), "/v1/credentials/%s/rotate", a.id);

	if (a.file != NULL || a.from_stdin) {
		if ((rc = zg_cli_read_secret(a.file, a.raw, VALUE_MAX,
		    "value", &value)) != ZG_EXIT_OK)
			goto out;
		body = json_pack("{s:s%}", "value", (const char *)value.data,
		    value.len);
		zg_buf_free(&value);
		if (body == NULL) {
			fprintf(stderr, "zguard: out of memory\n");
			rc = ZG_EXIT_IO;
			goto out;
		}
	}
	if ((rc = call(&a, "POST", path, body, &resp)) == ZG_EXIT_OK)
		rc = print_cred(&a, resp);
out:
	zg_buf_free(&value);
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cred_args a = {0};
	json_t *resp = NULL;
	char path[300];
	int rc;

	if ((rc = parse_args(&zg_cred_revoke_usage, opts, 1, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	snprintf(path, sizeof(path), "/v1/credentials/%s/revoke", a.id);
	if ((rc = call(&a, "POST", path, NULL, &resp)) == ZG_EXIT_OK)
		rc = print_cred(&a, resp);
	json_decref(resp);
	return rc;
}

static int
cmd_lease(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ttl", required_argument, NULL, OPT_TTL},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_cred_lease_usage;
	struct cred_args a = {0};
	json_t *body = NULL, *resp = NULL;
	char path[300];
	int64_t ttl;
	int rc;

	if ((rc = parse_args(u, opts, 1, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.ttl == NULL)
		return zg_cli_usage_error(u, "missing --ttl SECONDS");
	if ((rc = zg_cli_parse_int(u, "--ttl", a.ttl, 1, LEASE_TTL_MAX,
	    &ttl)) != ZG_EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", a.id);
	if ((body = json_pack("{s:I}", "ttlSeconds", (json_int_t)ttl)) ==
	    NULL) {
		fprintf(stderr, "zguard: out of memory\n");
		return ZG_EXIT_IO;
	}
	if ((rc = call(&a, "POST", path, body, &resp)) != ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "lease-token", "leaseToken", "expires", "expiresAt",
		    "credential", "credentialId", "version", "version", NULL});
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_redeem(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct cred_args a = {0};
	zg_buf token = ZG_BUF_INIT;
	json_t *body = NULL, *resp = NULL;
	int rc;

	if ((rc = parse_args(&zg_cred_redeem_usage, opts, 0, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	if ((rc = zg_cli_read_secret(a.file, false, LEASE_TOKEN_MAX,
	    "lease token", &token)) != ZG_EXIT_OK)
		goto out;
	/* Strip the carriage return of a CRLF line ending. */
	if (token.len > 0 && token.data[token.len - 1] == '\r')
		token.data[--token.len] = 0;
	body = json_pack("{s:s%}", "leaseToken", (const char *)token.data,
	    token.len);
	zg_buf_free(&token);
	if (body == NULL) {
		fprintf(stderr, "zguard: out of memory\n");
		rc = ZG_EXIT_IO;
		goto out;
	}
	if ((rc = call(&a, "POST", "/v1/leases/redeem", body, &resp)) ==
	    ZG_EXIT_OK)
		rc = print_value(&a, resp);
out:
	zg_buf_free(&token);
	json_decref(body);
	json_decref(resp);
	return rc;
}

int
zg_cmd_cred(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"put", cmd_put, "store a new credential"},
		{"get", cmd_get, "print a credential's value"},
		{"show", cmd_show, "print a credential's metadata"},
		{"list", cmd_list, "list credentials"},
		{"rotate", cmd_rotate, "create a new version of a credential"},
		{"revoke", cmd_revoke, "revoke a credential"},
		{"lease", cmd_lease, "create a one-time lease on a credential"},
		{"redeem", cmd_redeem, "redeem a lease and print the value"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("cred", "Store, read, rotate, revoke and lease "
	    "credentials.", table, argc, argv);
}
