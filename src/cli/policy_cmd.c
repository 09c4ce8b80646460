/*
 * `zguard policy ...`: transaction policies over the daemon's
 * /v1/policies/transactions routes. This file also contains the argument
 * parsing, request and table helpers that txreq_cmd.c shares through
 * policy_cmd_internal.h.
 *
 * Amounts stay decimal strings from input to output. The JSON read from a
 * file or stdin is rejected when it contains a number with a fraction or an
 * exponent, because jansson would parse it as a double and send it
 * rounded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/policy_cmd_internal.h"

/* The largest policy or evaluation request read, in bytes. */

/* The maximum length of a policy name, in bytes. */
#define POLICY_NAME_MAX 48

/* Stop ids are "stop_" and request ids "txr_", then 24 hex digits. */
#define GENERATED_ID_HEX 24

int
zg_cli_tx_out_of_memory(void)
{
	fprintf(stderr, "zguard: out of memory\n");
	return ZG_EXIT_IO;
}

/* Checks that s is prefix and then GENERATED_ID_HEX lower-case hex digits. */
static bool
generated_id_valid(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 &&
	    strlen(s + n) == GENERATED_ID_HEX &&
	    strspn(s + n, "0123456789abcdef") == GENERATED_ID_HEX;
}

int
zg_cli_tx_check_policy_name(const struct zg_cli_usage *u, const char *s)
{
	size_t n = strlen(s);
	/* "." and ".." match the pattern but would change the URL's path. */
	if (n == 0 || n > POLICY_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return zg_cli_usage_error(u, "invalid policy name '%.64s': "
		    "expected 1 to %d letters, digits or ._-", s,
		    POLICY_NAME_MAX);
	return ZG_EXIT_OK;
}

static int
check_arg(const struct zg_cli_usage *u, enum arg_kind k, const char *s)
{
	switch (k) {
	case ARG_POLICY:
		return zg_cli_tx_check_policy_name(u, s);
	case ARG_KEY:
		return zg_cli_check_id(u, s);
	case ARG_STOP:
		if (!generated_id_valid(s, "stop_"))
			return zg_cli_usage_error(u, "invalid stop id '%.64s': "
			    "expected stop_ and 24 hex digits, as 'zguard stop "
			    "list' prints", s);
		return ZG_EXIT_OK;
	case ARG_TXREQ:
		if (!generated_id_valid(s, "txr_"))
			return zg_cli_usage_error(u, "invalid request id "
			    "'%.64s': expected txr_ and 24 hex digits", s);
		return ZG_EXIT_OK;
	}
	return ZG_EXIT_USAGE;
}

/* Parses argv by spec s. Returns ZG_CLI_CONTINUE or the exit code. */
int
zg_cli_tx_parse_args(const struct spec *s, int argc, char **argv,
    struct tx_args *a)
{
	const struct zg_cli_usage *u = s->usage;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, s->opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_FILE: a->file = optarg; break;
		case OPT_WORKFLOW_ID: a->workflow_id = optarg; break;
		case OPT_KEY: a->key = optarg; break;
		case OPT_POLICY: a->policy = optarg; break;
		case OPT_ALL: a->all = true; break;
		case OPT_REASON: a->reason = optarg; break;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &a->g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, s->nargs,
	    s->arg_name)) != ZG_EXIT_OK)
		return rc;
	if (s->nargs == 1) {
		a->arg = argv[optind];
		if ((rc = check_arg(u, s->arg_kind, a->arg)) != ZG_EXIT_OK)
			return rc;
	}
	if (a->reason != NULL && (a->reason[0] == '\0' ||
	    strlen(a->reason) > ZG_CLI_TX_REASON_MAX))
		return zg_cli_usage_error(u, "invalid --reason: expected 1 to "
		    "%d bytes of text", ZG_CLI_TX_REASON_MAX);
	return ZG_CLI_CONTINUE;
}

/*
 * Finds a JSON number with a fraction or an exponent in v and writes its
 * path, such as "limits[0].max", to path. Returns true if there is one.
 */
static bool
find_real(const json_t *v, char *path, size_t pathsz)
{
	size_t len = strlen(path), i;
	const char *name;
	json_t *member;

	if (json_is_real(v))
		return true;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, name, member) {
			snprintf(path + len, pathsz - len, "%s%s",
			    len > 0 ? "." : "", name);
			if (find_real(member, path, pathsz))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, member) {
			snprintf(path + len, pathsz - len, "[%zu]", i);
			if (find_real(member, path, pathsz))
				return true;
		}
	}
	path[len] = '\0';
	return false;
}

/* Reads a JSON object from path, or from stdin when path is NULL. */
static int
read_json_object(const char *path, const char *what, json_t **out)
{
	char where[256] = "";
	json_t *v;
	int rc;

	*out = NULL;
	if ((rc = zg_cli_read_json(path, what, JSON_OBJECT, &v)) != ZG_EXIT_OK)
		return rc;
	if (find_real(v, where, sizeof(where))) {
		fprintf(stderr, "zguard: field \"%s\" of the %s from %s is a "
		    "number with a fraction or exponent; write amounts as "
		    "decimal strings such as \"1000000000000000000\"\n", where,
		    what, path ? path : "stdin");
		json_decref(v);
		return ZG_EXIT_USAGE;
	}
	*out = v;
	return ZG_EXIT_OK;
}

/* Sends one request with a token and leaves the response in *resp. */
int
zg_cli_tx_call(const struct tx_args *a, const char *method, const char *path,
    json_t *body, long *status, json_t **resp)
{
	zg_client *c = NULL;
	long ignored;
	int rc = zg_client_new(&a->g, true, &c);
	if (rc == ZG_EXIT_OK)
		rc = zg_client_request_or_report(c, method, path, body,
		    status != NULL ? status : &ignored, resp);
	zg_client_free(c);
	return rc;
}

/* Prints the response's "items" array as a table with one row per item. */
int
zg_cli_tx_print_items(const json_t *resp, const char *const *header,
    size_t ncol, zg_cli_tx_row_fn row)
{
	const json_t *items = json_object_get(resp, "items");
	size_t nrow = json_array_size(items);
	char **cells = calloc(nrow * ncol + 1, sizeof(*cells));
	int rc = ZG_EXIT_IO;

	if (cells == NULL)
		goto out;
	for (size_t i = 0; i < nrow; i++)
		if (!row(json_array_get(items, i), cells + i * ncol))
			goto out;
	zg_cli_print_table(header, ncol, cells, nrow);
	/* success */
	rc = ZG_EXIT_OK;
out:
	if (rc != ZG_EXIT_OK)
		zg_cli_tx_out_of_memory();
	for (size_t i = 0; cells != NULL && i < nrow * ncol; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* Fills cells from the named members of item. A NULL name is skipped. */
bool
zg_cli_tx_member_cells(const json_t *item, const char *const *members, size_t n,
    char **cells)
{
	for (size_t j = 0; j < n; j++) {
		if (members[j] == NULL)
			continue;
		const json_t *v = json_object_get(item, members[j]);
		/* An empty string, such as an unused limit's scope value. */
		if (json_is_string(v) && json_string_length(v) == 0)
			v = NULL;
		if ((cells[j] = zg_cli_cell_new(v)) == NULL)
			return false;
	}
	return true;
}

char *
zg_cli_tx_format_cell(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	/* Keep terminal escapes and line breaks out of the table. */
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* ---- policies ---- */

#define POLICY_FORMAT_HELP \
	"A policy is a JSON object with the members \"keys\"\n" \
	"({\"ids\": [...], \"labels\": [...]}), \"rules\" ([{\"name\",\n" \
	"\"match\", \"action\", \"approval\", \"simulate\"}]), \"limits\"\n" \
	"([{\"name\", \"scope\", \"asset\", \"window\", \"max\"}]),\n" \
	"\"feeCaps\" and \"unlimitedApprovalCeiling\". Rules are tried in\n" \
	"order and the first match decides; a request that no rule matches\n" \
	"is blocked. Amounts are decimal strings in base units (wei, or the\n" \
	"token's smallest unit), such as \"1000000000000000000\".\n" \
	"docs/api/openapi.yaml (schema TransactionPolicy) describes every\n" \
	"field.\n"

static const struct zg_cli_usage policy_list_usage = {"policy list",
	"policy list [OPTIONS]\n\nLists the transaction policies in name "
	"order.\n\n"
	"Output: a table \"NAME  RULES  LIMITS  KEYS\", KEYS as compact JSON,\n"
	"or with --json {\"items\": [...]} with every policy in full.\n", true};
static const struct zg_cli_usage policy_show_usage = {"policy show",
	"policy show NAME [OPTIONS]\n\nPrints transaction policy NAME.\n\n"
	"Output: \"name\", \"keys\", \"fee-caps\" and \"unlimited-approval-\n"
	"ceiling\" lines, a table of the rules \"RULE  ACTION  APPROVAL\n"
	"SIMULATE  MATCH\" and a table of the limits \"LIMIT  SCOPE  ASSET\n"
	"WINDOW  MAX\"; or the policy's JSON with --json.\n", true};
static const struct zg_cli_usage policy_put_usage = {"policy put",
	"policy put NAME [--file FILE] [OPTIONS]\n\nCreates transaction "
	"policy NAME, or replaces it. The next signature\nuses it.\n\n"
	POLICY_FORMAT_HELP "\n"
	"Options:\n"
	"  --file FILE        read the policy from FILE instead of stdin\n\n"
	"The server stores a policy that probably does not do what its author\n"
	"meant (it covers no key, has no rules, names a key that does not\n"
	"exist, asks for more approvers than hold the role) with a warning.\n"
	"Each warning is printed to stderr as \"zguard: warning: ...\".\n\n"
	"Output: \"policy\", \"status\" (created or replaced), \"rules\",\n"
	"\"limits\" and \"warnings\" lines, or with --json {\"policy\",\n"
	"\"warnings\"}.\n", true};
static const struct zg_cli_usage policy_delete_usage = {"policy delete",
	"policy delete NAME [OPTIONS]\n\nDeletes transaction policy NAME. "
	"The keys it covered are then judged\nby the other policies only.\n\n"
	"Output: \"name\" and \"deleted\" lines, or the JSON with --json.\n",
	true};
static const struct zg_cli_usage policy_evaluate_usage = {"policy evaluate",
	"policy evaluate KEY_ID [--file FILE] [--workflow-id ID] [OPTIONS]\n\n"
	"Asks the server what signing a request with key KEY_ID would do, as\n"
	"you: the deciding policy and rule, and whether a spending limit or\n"
	"an emergency stop blocks it. Nothing is signed or reserved.\n\n"
	"The request is a JSON object read from FILE, else from stdin: a\n"
	"transaction as 'zguard key sign-tx' takes it, or an object with\n"
	"one of \"transaction\", \"message\" (with \"encoding\") and\n"
	"\"typedData\".\n\n"
	"Options:\n"
	"  --file FILE        read the request from FILE instead of stdin\n"
	"  --workflow-id ID   the workflow id that limits of scope\n"
	"                     \"workflow\" count under\n\n"
	"Output: \"decision\" (allow, block or require_approval),\n"
	"\"policy\", \"rule\", \"reason\", \"approval\", \"simulate\",\n"
	"\"limit-exceeded\", \"emergency-stop\" and \"no-policy\" lines, or\n"
	"the JSON with --json. Exits 0 unless the decision is block, which\n"
	"exits 1.\n", true};

const struct option zg_cli_tx_no_opts[] = {
	ZG_CLI_GLOBAL_OPTIONS,
	{NULL, 0, NULL, 0},
};

static bool
policy_row(const json_t *p, char **cells)
{
	static const char *const members[] = {"name", NULL, NULL, "keys"};
	if (!zg_cli_tx_member_cells(p, members, 4, cells))
		return false;
	cells[1] = zg_cli_tx_format_cell("%zu",
	    json_array_size(json_object_get(p, "rules")));
	cells[2] = zg_cli_tx_format_cell("%zu",
	    json_array_size(json_object_get(p, "limits")));
	return cells[1] != NULL && cells[2] != NULL;
}

static bool
rule_row(const json_t *r, char **cells)
{
	static const char *const members[] = {"name", "action", NULL,
	    "simulate", "match"};
	const json_t *approval = json_object_get(r, "approval");
	const json_t *match = json_object_get(r, "match");

	if (!zg_cli_tx_member_cells(r, members, 5, cells))
		return false;
	if (json_is_object(approval))
		cells[2] = zg_cli_tx_format_cell("%lld of %s, %llds",
		    (long long)json_integer_value(json_object_get(approval,
		    "count")), json_string_value(json_object_get(approval,
		    "fromRole")), (long long)json_integer_value(
		    json_object_get(approval, "expiresInSeconds")));
	else
		cells[2] = zg_cli_tx_format_cell("-");
	if (json_object_size(match) == 0) {
		free(cells[4]);
		cells[4] = zg_cli_tx_format_cell("any request");
	}
	return cells[2] != NULL && cells[4] != NULL;
}

static bool
limit_row(const json_t *l, char **cells)
{
	static const char *const members[] = {"name", "scope", "asset", NULL,
	    "max"};
	const json_t *w = json_object_get(l, "window");
	const char *type = json_string_value(json_object_get(w, "type"));
	const char *tz = json_string_value(json_object_get(w, "timezone"));

	if (!zg_cli_tx_member_cells(l, members, 5, cells))
		return false;
	if (type != NULL && strcmp(type, "rolling") == 0)
		cells[3] = zg_cli_tx_format_cell("rolling %llds", (long long)
		    json_integer_value(json_object_get(w, "seconds")));
	else
		cells[3] = zg_cli_tx_format_cell("%s %s", type ? type : "?",
		    tz ? tz : "UTC");
	return cells[3] != NULL;
}

/* Prints items as a table under a blank line, or "No TITLE." when empty. */
static int
print_section(const json_t *items, const char *title,
    const char *const *header, size_t ncol, zg_cli_tx_row_fn row)
{
	printf("\n");
	if (json_array_size(items) == 0) {
		printf("No %s.\n", title);
		return ZG_EXIT_OK;
	}
	json_t *wrapper = json_pack("{s:O}", "items", items);
	if (wrapper == NULL)
		return zg_cli_tx_out_of_memory();
	int rc = zg_cli_tx_print_items(wrapper, header, ncol, row);
	json_decref(wrapper);
	return rc;
}

static int
print_policy(const json_t *p)
{
	static const char *const rule_header[] = {"RULE", "ACTION", "APPROVAL",
	    "SIMULATE", "MATCH"};
	static const char *const limit_header[] = {"LIMIT", "SCOPE", "ASSET",
	    "WINDOW", "MAX"};
	int rc;

	if ((rc = zg_cli_print_members(p, (const char *const[]){
	    "name", "name", "keys", "keys", "fee-caps", "feeCaps",
	    "unlimited-approval-ceiling", "unlimitedApprovalCeiling",
	    NULL})) != ZG_EXIT_OK)
		return rc;
	if ((rc = print_section(json_object_get(p, "rules"), "rules: the "
	    "policy blocks every request on its keys", rule_header, 5,
	    rule_row)) != ZG_EXIT_OK)
		return rc;
	return print_section(json_object_get(p, "limits"), "spending limits",
	    limit_header, 5, limit_row);
}

static int
cmd_policy_list(int argc, char **argv)
{
	static const struct spec s = {&policy_list_usage, zg_cli_tx_no_opts,
	    0, NULL, ARG_POLICY};
	static const char *const header[] = {"NAME", "RULES", "LIMITS",
	    "KEYS"};
	struct tx_args a = {0};
	json_t *resp = NULL;
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = zg_cli_tx_call(&a, "GET", "/v1/policies/transactions", NULL,
	    NULL, &resp)) != ZG_EXIT_OK)
		return rc;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_tx_print_items(resp, header, 4, policy_row);
	json_decref(resp);
	return rc;
}

/* Runs `policy show` and `policy delete`, which differ in method only. */
static int
policy_by_name(const struct spec *s, const char *method, int argc,
    char **argv)
{
	struct tx_args a = {0};
	json_t *resp = NULL;
	char path[128];
	int rc;

	if ((rc = zg_cli_tx_parse_args(s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	snprintf(path, sizeof(path), "/v1/policies/transactions/%s", a.arg);
	if ((rc = zg_cli_tx_call(&a, method, path, NULL, NULL, &resp)) !=
	    ZG_EXIT_OK)
		return rc;
	if (a.g.json)
		zg_cli_print_json(resp);
	else if (strcmp(method, "GET") == 0)
		rc = print_policy(resp);
	else
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "name", "name", "deleted", "deleted", NULL});
	json_decref(resp);
	return rc;
}

static int
cmd_policy_show(int argc, char **argv)
{
	static const struct spec s = {&policy_show_usage, zg_cli_tx_no_opts, 1,
	    "policy NAME", ARG_POLICY};
	return policy_by_name(&s, "GET", argc, argv);
}

static int
cmd_policy_delete(int argc, char **argv)
{
	static const struct spec s = {&policy_delete_usage, zg_cli_tx_no_opts,
	    1, "policy NAME", ARG_POLICY};
	return policy_by_name(&s, "DELETE", argc, argv);
}

static const struct option file_opts[] = {
	{"file", required_argument, NULL, OPT_FILE},
	ZG_CLI_GLOBAL_OPTIONS,
	{NULL, 0, NULL, 0},
};

/* Prints each warning of a policy response to stderr. */
static int
print_warnings(const json_t *warnings)
{
	size_t i;
	json_t *w;
	json_array_foreach(warnings, i, w) {
		char *text = zg_cli_cell_new(w);
		if (text == NULL)
			return zg_cli_tx_out_of_memory();
		fprintf(stderr, "zguard: warning: %s\n", text);
		free(text);
	}
	return ZG_EXIT_OK;
}

static int
cmd_policy_put(int argc, char **argv)
{
	static const struct spec s = {&policy_put_usage, file_opts, 1,
	    "policy NAME", ARG_POLICY};
	struct tx_args a = {0};
	json_t *body = NULL, *resp = NULL;
	char path[128], rules[24], limits[24], warnings[24];
	long status = 0;
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = read_json_object(a.file, "policy", &body)) != ZG_EXIT_OK)
		goto out;
	snprintf(path, sizeof(path), "/v1/policies/transactions/%s", a.arg);
	if ((rc = zg_cli_tx_call(&a, "PUT", path, body, &status, &resp)) !=
	    ZG_EXIT_OK)
		goto out;
	const json_t *policy = json_object_get(resp, "policy");
	const json_t *w = json_object_get(resp, "warnings");
	if ((rc = print_warnings(w)) != ZG_EXIT_OK)
		goto out;
	if (a.g.json) {
		zg_cli_print_json(resp);
		goto out;
	}
	snprintf(rules, sizeof(rules), "%zu", json_array_size(
	    json_object_get(policy, "rules")));
	snprintf(limits, sizeof(limits), "%zu", json_array_size(
	    json_object_get(policy, "limits")));
	snprintf(warnings, sizeof(warnings), "%zu", json_array_size(w));
	zg_cli_print_fields((const char *const[]){
	    "policy", a.arg, "status", status == 201 ? "created" : "replaced",
	    "rules", rules, "limits", limits, "warnings", warnings, NULL});
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

/*
 * Builds the evaluation body from the input object: an object with one of
 * the payload fields is sent as it is, and any other object is taken as a
 * transaction, whose "workflowId" moves to the top as sign-tx sends it.
 */
static int
build_evaluation(const struct tx_args *a, json_t *input, json_t **out)
{
	const struct zg_cli_usage *u = &policy_evaluate_usage;
	json_t *body = input;

	*out = NULL;
	if (json_object_get(input, "transaction") == NULL &&
	    json_object_get(input, "message") == NULL &&
	    json_object_get(input, "typedData") == NULL) {
		if ((body = json_object()) == NULL)
			return zg_cli_tx_out_of_memory();
		json_t *wf = json_object_get(input, "workflowId");
		if (wf != NULL && (json_object_set(body, "workflowId",
		    wf) != 0 || json_object_del(input, "workflowId") != 0)) {
			json_decref(body);
			return zg_cli_tx_out_of_memory();
		}
		if (json_object_set(body, "transaction", input) != 0) {
			json_decref(body);
			return zg_cli_tx_out_of_memory();
		}
	} else {
		json_incref(body);
	}
	const char *key = json_string_value(json_object_get(body, "keyId"));
	if (key != NULL && strcmp(key, a->arg) != 0) {
		json_decref(body);
		return zg_cli_usage_error(u, "the request's \"keyId\" %.64s "
		    "differs from KEY_ID %s; leave it out", key, a->arg);
	}
	if (json_object_set_new(body, "keyId", json_string(a->arg)) != 0) {
		json_decref(body);
		return zg_cli_tx_out_of_memory();
	}
	/* jansson returns NULL for a string that is not valid UTF-8. */
	if (a->workflow_id != NULL && json_object_set_new(body, "workflowId",
	    json_string(a->workflow_id)) != 0) {
		json_decref(body);
		return zg_cli_usage_error(u, "invalid --workflow-id: expected "
		    "UTF-8 text");
	}
	*out = body;
	return ZG_EXIT_OK;
}

static int
cmd_policy_evaluate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		{"workflow-id", required_argument, NULL, OPT_WORKFLOW_ID},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&policy_evaluate_usage, opts, 1,
	    "KEY_ID", ARG_KEY};
	struct tx_args a = {0};
	json_t *input = NULL, *body = NULL, *resp = NULL;
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = read_json_object(a.file, "request", &input)) != ZG_EXIT_OK ||
	    (rc = build_evaluation(&a, input, &body)) != ZG_EXIT_OK ||
	    (rc = zg_cli_tx_call(&a, "POST",
	    "/v1/policies/transactions/evaluate", body, NULL, &resp)) !=
	    ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else if ((rc = zg_cli_print_members(resp, (const char *const[]){
	    "decision", "decision", "policy", "policy", "rule", "rule",
	    "reason", "reason", "approval", "approval", "simulate", "simulate",
	    "limit-exceeded", "limitExceeded", "emergency-stop",
	    "emergencyStop", "no-policy", "noPolicy", NULL})) != ZG_EXIT_OK)
		goto out;
	const char *decision = json_string_value(json_object_get(resp,
	    "decision"));
	rc = decision != NULL && strcmp(decision, "block") == 0 ?
	    ZG_EXIT_FAILED : ZG_EXIT_OK;
out:
	json_decref(input);
	json_decref(body);
	json_decref(resp);
	return rc;
}

int
zg_cmd_policy(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"list", cmd_policy_list, "list transaction policies"},
		{"show", cmd_policy_show, "print a transaction policy"},
		{"put", cmd_policy_put, "create or replace a policy from JSON"},
		{"delete", cmd_policy_delete, "delete a transaction policy"},
		{"evaluate", cmd_policy_evaluate,
		    "decide a request without signing it"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("policy", "Manage transaction policies: the "
	    "rules, approvals and spending limits\nthat every signature "
	    "passes.", table, argc, argv);
}

