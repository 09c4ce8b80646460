/*
 * `zguard audit tree-head|events|record|erase|public-key`: client commands
 * for the audit log's HTTP routes, unlike verify and export, which read the
 * data directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "cli/audit_cmd_internal.h"
#include "cli/cli.h"
#include "cli/cmdutil.h"

/* The limits of the "from" and "limit" query parameters of GET events. */
#define EVENTS_FROM_MAX INT64_MAX
#define EVENTS_LIMIT_MAX 1000

/* The bytes of a user id, as POST /v1/users/{userId}/erase accepts them. */
#define USER_ID_CHARS                                                        \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@:+-"

static const struct zg_cli_usage tree_head_usage = {
	"audit tree-head",
	"audit tree-head [OPTIONS]\n\n"
	"Prints the latest signed tree head of the audit log. Needs an admin\n"
	"token.\n\n"
	"Output: \"treeSize\", \"rootHash\" (hex SHA-256), \"timestamp\"\n"
	"(RFC 3339, UTC), \"keyId\" and \"signature\" (hex Ed25519) lines, each\n"
	"\"FIELD  VALUE\", or the JSON with --json. An empty log, which has no\n"
	"head yet, is an error (exit 1).\n",
	true,
};

static const struct zg_cli_usage events_usage = {
	"audit events",
	"audit events [--from N] [--limit N] [--user ID] [--resource R]\n"
	"       [OPTIONS]\n\n"
	"Lists audit events in log order, decoded by the server. Needs an\n"
	"admin token.\n\n"
	"Options:\n"
	"  --from N           first leaf index to list, from 0 (default: 0)\n"
	"  --limit N          maximum number of events, 1 to 1000\n"
	"                     (default: the server's, 100)\n"
	"  --user ID          only events of this user id\n"
	"  --resource R       only events on this resource\n\n"
	"Output: a table with the columns LEAF, TIME, USER, TYPE, RESOURCE,\n"
	"ACTION and SUCCESS, or the JSON with --json. When more events follow,\n"
	"stderr names the --from value that lists them.\n",
	true,
};

static const struct zg_cli_usage record_usage = {
	"audit record",
	"audit record --type EVENTTYPE --resource R --action A [--failed]\n"
	"       [--session ID] [--metadata JSON] [OPTIONS]\n\n"
	"Records an event of your platform in the audit log, as the user of\n"
	"the token.\n\n"
	"Options:\n"
	"  --type EVENTTYPE   authentication, authorization, data_access,\n"
	"                     workflow_execution, credential_access,\n"
	"                     configuration_change, key_usage or transaction\n"
	"                     (required)\n"
	"  --resource R       the resource acted on, 1 to 256 bytes (required)\n"
	"  --action A         the action taken, 1 to 128 bytes (required)\n"
	"  --failed           record the action as failed (default: succeeded)\n"
	"  --session ID       session id, 1 to 128 bytes\n"
	"  --metadata JSON    a JSON object stored encrypted with the event\n\n"
	"Output: \"eventId\" and \"leafIndex\" lines, or the JSON with --json.\n",
	true,
};

static const struct zg_cli_usage erase_usage = {
	"audit erase",
	"audit erase USER [OPTIONS]\n\n"
	"Destroys the key that encrypts the personal data in USER's audit\n"
	"events. The events stay in the log and still verify. Needs an admin\n"
	"token.\n\n"
	"Output: an \"erased  USER\" line, or the JSON with --json.\n",
	true,
};

static const struct zg_cli_usage public_key_usage = {
	"audit public-key",
	"audit public-key [OPTIONS]\n\n"
	"Prints the Ed25519 public key that signs the tree heads. No token is\n"
	"needed.\n\n"
	"Output: \"keyId\" and \"publicKey\" (hex) lines, or the JSON with\n"
	"--json.\n",
	true,
};

/*
 * Parses argv for a command with only the global flags and want positional
 * arguments. Returns ZG_CLI_CONTINUE when the command should run.
 */
static int
parse_plain(const struct zg_cli_usage *u, int argc, char **argv, int want,
    const char *what, struct zg_cli_globals *g)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		if ((rc = zg_cli_common_option(opt, argv, g, u)) !=
		    ZG_CLI_CONTINUE)
			return rc;
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, want, what)) != ZG_EXIT_OK)
		return rc;
	return ZG_CLI_CONTINUE;
}

/*
 * Sends one request and prints the response: its JSON with --json, else
 * the "LABEL  VALUE" lines of the label/key pairs.
 */
static int
request_and_print(const struct zg_cli_globals *g, bool need_token,
    const char *method, const char *path, json_t *body,
    const char *const *pairs)
{
	zg_client *c = NULL;
	json_t *resp = NULL;
	long status;
	int rc;

	if ((rc = zg_client_new(g, need_token, &c)) != ZG_EXIT_OK)
		goto out;
	if ((rc = zg_client_request_or_report(c, method, path, body, &status,
	    &resp)) != ZG_EXIT_OK)
		goto out;
	if (g->json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, pairs);
out:
	json_decref(resp);
	zg_client_free(c);
	return rc;
}

int
zg_cli_audit_tree_head(int argc, char **argv)
{
	struct zg_cli_globals g = {0};
	int rc;

	if ((rc = parse_plain(&tree_head_usage, argc, argv, 0, "", &g)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	return request_and_print(&g, true, "GET", "/v1/audit/tree-head", NULL,
	    (const char *const[]){"treeSize", "treeSize", "rootHash",
	    "rootHash", "timestamp", "timestamp", "keyId", "keyId", "signature",
	    "signature", NULL});
}

int
zg_cli_audit_public_key(int argc, char **argv)
{
	struct zg_cli_globals g = {0};
	int rc;

	if ((rc = parse_plain(&public_key_usage, argc, argv, 0, "", &g)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	return request_and_print(&g, false, "GET", "/v1/audit/public-key",
	    NULL, (const char *const[]){"keyId", "keyId", "publicKey",
	    "publicKey", NULL});
}

/*
 * Appends "&key=value" (or "?key=value" for the first parameter) to url,
 * with value percent-encoded. Call only between zg_client_new and
 * zg_client_free, because libcurl then allocates with the client's
 * allocator, and curl_free must match it.
 */
static int
append_param(zg_buf *url, bool *first, const char *key, const char *value)
{
	char *escaped = curl_easy_escape(NULL, value, 0);
	int rc = ZG_EXIT_IO;

	if (escaped == NULL)
		goto out;
	if (zg_buf_append_str(url, *first ? "?" : "&") != ZG_OK ||
	    zg_buf_append_str(url, key) != ZG_OK ||
	    zg_buf_append_str(url, "=") != ZG_OK ||
	    zg_buf_append_str(url, escaped) != ZG_OK)
		goto out;
	*first = false;
	rc = ZG_EXIT_OK;
out:
	if (rc != ZG_EXIT_OK)
		fprintf(stderr, "zguard: out of memory\n");
	curl_free(escaped);
	return rc;
}

static const char *const events_header[] = {
	"LEAF", "TIME", "USER", "TYPE", "RESOURCE", "ACTION", "SUCCESS",
};
/* The members of each decoded event after LEAF, in column order. */
static const char *const events_keys[] = {
	"timestamp", "userId", "eventType", "resource", "action", "success",
};
#define EVENTS_NCOL (sizeof(events_header) / sizeof(events_header[0]))

/* Prints the items of a GET /v1/audit/events response as a table. */
static int
print_events_table(const json_t *items)
{
	int rc = ZG_EXIT_IO;
	size_t nrow = json_array_size(items);
	char **cells = calloc(nrow * EVENTS_NCOL + 1, sizeof(*cells));

	if (cells == NULL)
		goto out;
	for (size_t i = 0; i < nrow; i++) {
		const json_t *item = json_array_get(items, i);
		const json_t *ev = json_object_get(item, "event");
		char **row = cells + i * EVENTS_NCOL;

		if ((row[0] = zg_cli_cell_new(json_object_get(item,
		    "leafIndex"))) == NULL)
			goto out;
		for (size_t j = 1; j < EVENTS_NCOL; j++)
			if ((row[j] = zg_cli_cell_new(json_object_get(ev,
			    events_keys[j - 1]))) == NULL)
				goto out;
	}
	zg_cli_print_table(events_header, EVENTS_NCOL, cells, nrow);
	rc = ZG_EXIT_OK;
out:
	if (rc != ZG_EXIT_OK)
		fprintf(stderr, "zguard: out of memory\n");
	for (size_t i = 0; cells != NULL && i < nrow * EVENTS_NCOL; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

int
zg_cli_audit_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, OPT_FROM},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"user", required_argument, NULL, OPT_USER},
		{"resource", required_argument, NULL, OPT_RESOURCE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &events_usage;
	struct zg_cli_globals g = {0};
	const char *from_arg = NULL, *limit_arg = NULL;
	const char *user = NULL, *resource = NULL;
	int64_t from = 0, limit = 0;
	zg_buf url = {0};
	bool first = true;
	zg_client *c = NULL;
	json_t *resp = NULL;
	long status;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_FROM: from_arg = optarg; break;
		case OPT_LIMIT: limit_arg = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_RESOURCE: resource = optarg; break;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, 0, "")) != ZG_EXIT_OK)
		return rc;
	if (from_arg != NULL && (rc = zg_cli_parse_int(u, "--from", from_arg,
	    0, EVENTS_FROM_MAX, &from)) != ZG_EXIT_OK)
		return rc;
	if (limit_arg != NULL && (rc = zg_cli_parse_int(u, "--limit",
	    limit_arg, 1, EVENTS_LIMIT_MAX, &limit)) != ZG_EXIT_OK)
		return rc;
	if (user != NULL && user[0] == '\0')
		return zg_cli_usage_error(u, "invalid --user: the user id is empty");
	if (resource != NULL && resource[0] == '\0')
		return zg_cli_usage_error(u, "invalid --resource: the resource "
		    "is empty");

	if ((rc = zg_client_new(&g, true, &c)) != ZG_EXIT_OK)
		goto out;
	rc = ZG_EXIT_IO;
	if (zg_buf_append_str(&url, "/v1/audit/events") != ZG_OK) {
		fprintf(stderr, "zguard: out of memory\n");
		goto out;
	}
	if ((from_arg != NULL &&
	    (rc = append_param(&url, &first, "from", from_arg)) != ZG_EXIT_OK) ||
	    (limit_arg != NULL &&
	    (rc = append_param(&url, &first, "limit", limit_arg)) != ZG_EXIT_OK) ||
	    (user != NULL &&
	    (rc = append_param(&url, &first, "userId", user)) != ZG_EXIT_OK) ||
	    (resource != NULL &&
	    (rc = append_param(&url, &first, "resource", resource)) != ZG_EXIT_OK))
		goto out;
	if (zg_buf_append(&url, "", 1) != ZG_OK) {
		fprintf(stderr, "zguard: out of memory\n");
		rc = ZG_EXIT_IO;
		goto out;
	}
	if ((rc = zg_client_request_or_report(c, "GET", (const char *)url.data,
	    NULL, &status, &resp)) != ZG_EXIT_OK)
		goto out;
	if (g.json) {
		zg_cli_print_json(resp);
		goto out;
	}
	if ((rc = print_events_table(json_object_get(resp, "events"))) !=
	    ZG_EXIT_OK)
		goto out;
	const json_t *next = json_object_get(resp, "next");
	if (json_is_integer(next))
		fprintf(stderr, "zguard: more events follow; list them with "
		    "--from %" JSON_INTEGER_FORMAT "\n", json_integer_value(next));
out:
	json_decref(resp);
	zg_buf_free(&url);
	zg_client_free(c);
	return rc;
}

/* Builds the body of POST /v1/audit/events, or prints why it cannot. */
static int
record_body(const struct zg_cli_usage *u, const char *type,
    const char *resource, const char *action, bool failed,
    const char *session, const char *metadata, json_t **out)
{
	json_t *body = json_pack("{s:s, s:s, s:s, s:b}", "eventType", type,
	    "resource", resource, "action", action, "success", !failed);
	json_error_t jerr;

	*out = NULL;
	if (body == NULL)
		return zg_cli_usage_error(u, "--type, --resource or --action is "
		    "not valid UTF-8");
	if (session != NULL && json_object_set_new(body, "sessionId",
	    json_string(session)) != 0) {
		json_decref(body);
		return zg_cli_usage_error(u, "--session is not valid UTF-8");
	}
	if (metadata != NULL) {
		json_t *meta = json_loads(metadata, JSON_REJECT_DUPLICATES,
		    &jerr);
		if (meta == NULL || !json_is_object(meta)) {
			json_decref(meta);
			json_decref(body);
			return zg_cli_usage_error(u, "invalid --metadata: %s",
			    meta == NULL ? jerr.text : "expected a JSON object");
		}
		json_object_set_new(body, "metadata", meta);
	}
	*out = body;
	return ZG_EXIT_OK;
}

int
zg_cli_audit_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, OPT_TYPE},
		{"resource", required_argument, NULL, OPT_RESOURCE},
		{"action", required_argument, NULL, OPT_ACTION},
		{"failed", no_argument, NULL, OPT_FAILED},
		{"session", required_argument, NULL, OPT_SESSION},
		{"metadata", required_argument, NULL, OPT_METADATA},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &record_usage;
	struct zg_cli_globals g = {0};
	const char *type = NULL, *resource = NULL, *action = NULL;
	const char *session = NULL, *metadata = NULL;
	bool failed = false;
	json_t *body = NULL;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_TYPE: type = optarg; break;
		case OPT_RESOURCE: resource = optarg; break;
		case OPT_ACTION: action = optarg; break;
		case OPT_FAILED: failed = true; break;
		case OPT_SESSION: session = optarg; break;
		case OPT_METADATA: metadata = optarg; break;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, 0, "")) != ZG_EXIT_OK)
		return rc;
	if (type == NULL || type[0] == '\0')
		return zg_cli_usage_error(u, "missing --type EVENTTYPE");
	if (resource == NULL || resource[0] == '\0')
		return zg_cli_usage_error(u, "missing --resource R");
	if (action == NULL || action[0] == '\0')
		return zg_cli_usage_error(u, "missing --action A");
	if ((rc = record_body(u, type, resource, action, failed, session,
	    metadata, &body)) != ZG_EXIT_OK)
		return rc;

	rc = request_and_print(&g, true, "POST", "/v1/audit/events", body,
	    (const char *const[]){"eventId", "eventId", "leafIndex",
	    "leafIndex", NULL});
	json_decref(body);
	return rc;
}

int
zg_cli_audit_erase(int argc, char **argv)
{
	const struct zg_cli_usage *u = &erase_usage;
	struct zg_cli_globals g = {0};
	zg_client *c = NULL;
	json_t *resp = NULL;
	char *escaped = NULL;
	char path[512];
	long status;
	int rc;

	if ((rc = parse_plain(u, argc, argv, 1, "USER", &g)) !=
	    ZG_CLI_CONTINUE)
		return rc;
	const char *user = argv[optind];
	/*
	 * The daemon decodes the path before it matches routes, so a '/' in
	 * the id would reach no route, and libcurl drops "." and ".." path
	 * segments. Checking the daemon's user id rule here gives a plain
	 * error instead.
	 */
	size_t n = strlen(user);
	if (n == 0 || n >= ZG_USER_MAX || strspn(user, USER_ID_CHARS) != n ||
	    strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
		return zg_cli_usage_error(u, "invalid user id '%.64s': expected "
		    "1 to %d letters, digits or ._@:+-, and not \".\" or \"..\"",
		    user, ZG_USER_MAX - 1);

	if ((rc = zg_client_new(&g, true, &c)) != ZG_EXIT_OK)
		goto out;
	if ((escaped = curl_easy_escape(NULL, user, 0)) == NULL) {
		fprintf(stderr, "zguard: out of memory\n");
		rc = ZG_EXIT_IO;
		goto out;
	}
	/* A 128-byte id escapes to at most 384 bytes, so it fits in path. */
	snprintf(path, sizeof(path), "/v1/users/%s/erase", escaped);
	if ((rc = zg_client_request_or_report(c, "POST", path, NULL, &status,
	    &resp)) != ZG_EXIT_OK)
		goto out;
	if (g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "erased", "userId", NULL});
out:
	curl_free(escaped);
	json_decref(resp);
	zg_client_free(c);
	return rc;
}
