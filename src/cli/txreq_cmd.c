/*
 * `zguard stop|limits|txreq ...`: emergency stops, the use of spending
 * limits and transaction requests, over the daemon's /v1/emergency-stop,
 * /v1/limits and /v1/tx-requests routes. The helpers they share with
 * `zguard policy` are in policy_cmd.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/policy_cmd_internal.h"

/* ---- emergency stops ---- */

static const struct zg_cli_usage stop_list_usage = {"stop list",
	"stop list [OPTIONS]\n\nLists the active emergency stops.\n\n"
	"Output: a table \"ID  SCOPE  CREATED-BY  CREATED  REASON\", or with\n"
	"--json {\"items\": [...]}.\n", true};
static const struct zg_cli_usage stop_create_usage = {"stop create",
	"stop create (--key ID | --policy NAME | --all) --reason TEXT "
	"[OPTIONS]\n\n"
	"Freezes signing at once, in every process that shares the store:\n"
	"the signatures the stop covers are refused, and requests waiting for\n"
	"approvals are not signed while it lasts.\n\n"
	"Options:\n"
	"  --key ID           stop one key\n"
	"  --policy NAME      stop every key that policy NAME covers\n"
	"  --all              stop every key\n"
	"  --reason TEXT      why, 1 to 512 bytes, kept in the audit log\n\n"
	"Output: \"id\", \"scope\", \"reason\", \"created-by\" and\n"
	"\"created\" lines, or the JSON with --json.\n", true};
static const struct zg_cli_usage stop_lift_usage = {"stop lift",
	"stop lift ID --reason TEXT [OPTIONS]\n\n"
	"Lifts emergency stop ID, so that its keys can sign again. Only the\n"
	"admin role may lift a stop by default.\n\n"
	"Options:\n"
	"  --reason TEXT      why, 1 to 512 bytes, kept in the audit log\n\n"
	"Output: the stop's lines as 'zguard stop create' prints them, with\n"
	"\"lifted-by\" and \"lift-reason\"; or the JSON with --json.\n", true};

/* Returns the stop's scope as text: "all", "key ID" or "policy NAME". */
static char *
stop_scope_cell(const json_t *stop)
{
	const json_t *scope = json_object_get(stop, "scope");
	const char *type = json_string_value(json_object_get(scope, "type"));
	const char *key = json_string_value(json_object_get(scope, "keyId"));
	const char *policy = json_string_value(json_object_get(scope,
	    "policy"));

	if (type != NULL && strcmp(type, "key") == 0 && key != NULL)
		return zg_cli_tx_format_cell("key %s", key);
	if (type != NULL && strcmp(type, "policy") == 0 && policy != NULL)
		return zg_cli_tx_format_cell("policy %s", policy);
	return zg_cli_tx_format_cell("%s", type != NULL ? type : "?");
}

static bool
stop_row(const json_t *stop, char **cells)
{
	static const char *const members[] = {"id", NULL, "createdBy",
	    "createdAt", "reason"};
	if (!zg_cli_tx_member_cells(stop, members, 5, cells))
		return false;
	return (cells[1] = stop_scope_cell(stop)) != NULL;
}

static int
print_stop(const json_t *stop)
{
	char *scope = stop_scope_cell(stop);
	if (scope == NULL)
		return zg_cli_tx_out_of_memory();
	json_t *view = json_copy((json_t *)stop);
	int rc = view == NULL || json_object_set_new(view, "scope",
	    json_string(scope)) != 0 ? zg_cli_tx_out_of_memory() :
	    zg_cli_print_members(view, (const char *const[]){
	    "id", "id", "scope", "scope", "reason", "reason",
	    "created-by", "createdBy", "created", "createdAt",
	    json_object_get(stop, "liftedBy") != NULL ? "lifted-by" : NULL,
	    "liftedBy", "lift-reason", "liftReason", NULL});
	json_decref(view);
	free(scope);
	return rc;
}

static int
cmd_stop_list(int argc, char **argv)
{
	static const struct spec s = {&stop_list_usage, zg_cli_tx_no_opts, 0,
	    NULL, ARG_STOP};
	static const char *const header[] = {"ID", "SCOPE", "CREATED-BY",
	    "CREATED", "REASON"};
	struct tx_args a = {0};
	json_t *resp = NULL;
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = zg_cli_tx_call(&a, "GET", "/v1/emergency-stop", NULL, NULL,
	    &resp)) != ZG_EXIT_OK)
		return rc;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_tx_print_items(resp, header, 5, stop_row);
	json_decref(resp);
	return rc;
}

/* Builds the body of `stop create` from exactly one scope option. */
static int
build_stop(const struct tx_args *a, json_t **out)
{
	const struct zg_cli_usage *u = &stop_create_usage;
	json_t *scope;
	int rc;

	*out = NULL;
	if ((a->key != NULL) + (a->policy != NULL) + a->all != 1)
		return zg_cli_usage_error(u, "give exactly one of --key, "
		    "--policy and --all");
	if (a->reason == NULL)
		return zg_cli_usage_error(u, "missing --reason");
	if (a->key != NULL) {
		if ((rc = zg_cli_check_id(u, a->key)) != ZG_EXIT_OK)
			return rc;
		scope = json_pack("{s:s,s:s}", "type", "key", "keyId", a->key);
	} else if (a->policy != NULL) {
		if ((rc = zg_cli_tx_check_policy_name(u, a->policy)) !=
		    ZG_EXIT_OK)
			return rc;
		scope = json_pack("{s:s,s:s}", "type", "policy", "policy",
		    a->policy);
	} else {
		scope = json_pack("{s:s}", "type", "all");
	}
	if (scope == NULL)
		return zg_cli_tx_out_of_memory();
	/* json_pack fails on a reason that is not valid UTF-8. */
	if ((*out = json_pack("{s:o,s:s}", "scope", scope, "reason",
	    a->reason)) == NULL)
		return zg_cli_usage_error(u, "invalid --reason: expected UTF-8 "
		    "text");
	return ZG_EXIT_OK;
}

static int
cmd_stop_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, OPT_KEY},
		{"policy", required_argument, NULL, OPT_POLICY},
		{"all", no_argument, NULL, OPT_ALL},
		{"reason", required_argument, NULL, OPT_REASON},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&stop_create_usage, opts, 0, NULL,
	    ARG_STOP};
	struct tx_args a = {0};
	json_t *body = NULL, *resp = NULL;
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = build_stop(&a, &body)) != ZG_EXIT_OK ||
	    (rc = zg_cli_tx_call(&a, "POST", "/v1/emergency-stop", body, NULL,
	    &resp)) != ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = print_stop(resp);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_stop_lift(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, OPT_REASON},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&stop_lift_usage, opts, 1, "stop ID",
	    ARG_STOP};
	struct tx_args a = {0};
	json_t *resp = NULL;
	char *escaped = NULL;
	/* A 512-byte reason escapes to at most 1536 bytes. */
	char path[2048];
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.reason == NULL)
		return zg_cli_usage_error(&stop_lift_usage, "missing --reason");
	/* The client sends no body with DELETE, so the reason goes in the
	 * query parameter "reason", which the route also accepts. */
	if ((escaped = curl_easy_escape(NULL, a.reason, 0)) == NULL)
		return zg_cli_tx_out_of_memory();
	snprintf(path, sizeof(path), "/v1/emergency-stop/%s?reason=%s", a.arg,
	    escaped);
	curl_free(escaped);
	if ((rc = zg_cli_tx_call(&a, "DELETE", path, NULL, NULL, &resp)) !=
	    ZG_EXIT_OK)
		return rc;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = print_stop(resp);
	json_decref(resp);
	return rc;
}

int
zg_cmd_stop(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"list", cmd_stop_list, "list active emergency stops"},
		{"create", cmd_stop_create, "freeze signing now"},
		{"lift", cmd_stop_lift, "lift an emergency stop"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("stop", "Freeze and unfreeze signing with "
	    "emergency stops.", table, argc, argv);
}

/* ---- spending limits ---- */

static const struct zg_cli_usage limits_usage = {"limits",
	"limits [OPTIONS]\n\n"
	"Shows the use of every spending limit in its current window. A\n"
	"limit with nothing used has one row with SCOPE-VALUE \"-\". Amounts\n"
	"are decimal integers in the asset's base units (wei for native).\n\n"
	"Output: a table \"POLICY  LIMIT  SCOPE  SCOPE-VALUE  ASSET  USED\n"
	"REMAINING  RESETS\", or with --json {\"items\": [...]}, which adds\n"
	"\"max\" and \"windowStart\".\n", true};

static bool
limit_status_row(const json_t *item, char **cells)
{
	static const char *const members[] = {"policy", "limit", "scope",
	    "scopeValue", "asset", "used", "remaining", "resetsAt"};
	return zg_cli_tx_member_cells(item, members, 8, cells);
}

int
zg_cmd_limits(int argc, char **argv)
{
	static const struct spec s = {&limits_usage, zg_cli_tx_no_opts, 0, NULL,
	    ARG_POLICY};
	static const char *const header[] = {"POLICY", "LIMIT", "SCOPE",
	    "SCOPE-VALUE", "ASSET", "USED", "REMAINING", "RESETS"};
	struct tx_args a = {0};
	json_t *resp = NULL;
	int rc;

	if ((rc = zg_cli_tx_parse_args(&s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = zg_cli_tx_call(&a, "GET", "/v1/limits", NULL, NULL, &resp)) !=
	    ZG_EXIT_OK)
		return rc;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_tx_print_items(resp, header, 8, limit_status_row);
	json_decref(resp);
	return rc;
}

/* ---- transaction requests ---- */

#define TXREQ_OUTPUT_HELP                                                    \
	"Output: \"id\", \"status\", \"key\", \"kind\", \"requester\",\n" \
	"\"policy\", \"rule\", \"required\", \"approvals\",\n" \
	"\"approved-by\", \"from-role\", \"rejections\", \"expires\" and\n" \
	"\"updated\" lines, and once signed \"raw-transaction\", \"hash\"\n" \
	"and \"from\", or \"signature\"; or the JSON with --json.\n"

static const struct zg_cli_usage txreq_show_usage = {"txreq show",
	"txreq show ID [OPTIONS]\n\nPrints transaction request ID: a request "
	"that waits for approvals,\nor one that signed with spending limits "
	"reserved.\n\n" TXREQ_OUTPUT_HELP, true};
static const struct zg_cli_usage txreq_approve_usage = {"txreq approve",
	"txreq approve ID [OPTIONS]\n\nApproves transaction request ID. You "
	"need the role the rule names,\nand you cannot approve your own "
	"request. The approval that reaches\nthe count signs it, after the "
	"stops, policies and limits are\nchecked again.\n\n"
	TXREQ_OUTPUT_HELP, true};
static const struct zg_cli_usage txreq_reject_usage = {"txreq reject",
	"txreq reject ID [--reason TEXT] [OPTIONS]\n\nRejects transaction "
	"request ID. You need the role the rule names.\n\n"
	"Options:\n"
	"  --reason TEXT      why, 1 to 512 bytes, stored with the\n"
	"                     rejection\n\n"
	TXREQ_OUTPUT_HELP, true};
static const struct zg_cli_usage txreq_release_usage = {"txreq release",
	"txreq release ID [OPTIONS]\n\nGives the spending limits reserved by "
	"signed request ID back, for a\ntransaction that was never "
	"broadcast. Do not broadcast it afterwards:\nits amount would no "
	"longer count against the limits.\n\n" TXREQ_OUTPUT_HELP, true};

static int
print_txreq(const json_t *r)
{
	static const char *const base[] = {
		"id", "id", "status", "status", "key", "keyId", "kind", "kind",
		"requester", "requester", "policy", "policy", "rule", "rule",
		"required", "required", "approvals", "approvals",
		"approved-by", "approvedBy", "from-role", "fromRole",
		"rejections", "rejections", "expires", "expiresAt",
		"updated", "updatedAt",
	};
	static const char *const result[] = {
		"raw-transaction", "rawTransaction", "hash", "hash",
		"from", "from", "signature", "signature",
	};
	const size_t nbase = sizeof(base) / sizeof(base[0]);
	const char *pairs[sizeof(base) / sizeof(base[0]) +
	    sizeof(result) / sizeof(result[0]) + 1];
	const json_t *res = json_object_get(r, "result");
	size_t n = nbase;
	int rc;

	memcpy(pairs, base, sizeof(base));
	json_t *view = json_copy((json_t *)r);
	if (view == NULL)
		return zg_cli_tx_out_of_memory();
	/* Copy the signing result's members to the top level, so that one
	 * call prints and aligns every line. */
	for (size_t i = 0; json_is_object(res) &&
	    i < sizeof(result) / sizeof(result[0]); i += 2) {
		json_t *v = json_object_get(res, result[i + 1]);
		if (v == NULL)
			continue;
		if (json_object_set(view, result[i + 1], v) != 0) {
			json_decref(view);
			return zg_cli_tx_out_of_memory();
		}
		pairs[n++] = result[i];
		pairs[n++] = result[i + 1];
	}
	pairs[n] = NULL;
	rc = zg_cli_print_members(view, pairs);
	json_decref(view);
	return rc;
}

/* Runs a txreq subcommand: method on /v1/tx-requests/ID plus suffix. */
static int
txreq_run(const struct spec *s, const char *method, const char *suffix,
    int argc, char **argv)
{
	struct tx_args a = {0};
	json_t *body = NULL, *resp = NULL;
	char path[128];
	int rc;

	if ((rc = zg_cli_tx_parse_args(s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (a.reason != NULL && (body = json_pack("{s:s}", "reason",
	    a.reason)) == NULL)
		return zg_cli_usage_error(s->usage, "invalid --reason: "
		    "expected UTF-8 text");
	snprintf(path, sizeof(path), "/v1/tx-requests/%s%s", a.arg, suffix);
	if ((rc = zg_cli_tx_call(&a, method, path, body, NULL, &resp)) !=
	    ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else
		rc = print_txreq(resp);
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

static int
cmd_txreq_show(int argc, char **argv)
{
	static const struct spec s = {&txreq_show_usage, zg_cli_tx_no_opts, 1,
	    "request ID", ARG_TXREQ};
	return txreq_run(&s, "GET", "", argc, argv);
}

static int
cmd_txreq_approve(int argc, char **argv)
{
	static const struct spec s = {&txreq_approve_usage,
	    zg_cli_tx_no_opts, 1, "request ID", ARG_TXREQ};
	return txreq_run(&s, "POST", "/approve", argc, argv);
}

static int
cmd_txreq_reject(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, OPT_REASON},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&txreq_reject_usage, opts, 1,
	    "request ID", ARG_TXREQ};
	return txreq_run(&s, "POST", "/reject", argc, argv);
}

static int
cmd_txreq_release(int argc, char **argv)
{
	static const struct spec s = {&txreq_release_usage,
	    zg_cli_tx_no_opts, 1, "request ID", ARG_TXREQ};
	return txreq_run(&s, "POST", "/release", argc, argv);
}

int
zg_cmd_txreq(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"show", cmd_txreq_show, "print a transaction request"},
		{"approve", cmd_txreq_approve, "approve a pending request"},
		{"reject", cmd_txreq_reject, "reject a pending request"},
		{"release", cmd_txreq_release,
		    "give back the limits of an unsent transaction"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("txreq", "Read, approve, reject and release "
	    "transaction requests: signatures\nthat wait for approvals or "
	    "hold spending limits.", table, argc, argv);
}
