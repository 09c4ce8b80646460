/*
 * `zguard sa|authz ...`: service accounts and the authorization decision
 * point, over the daemon's /v1/service-accounts and /v1/authz/check
 * routes.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/role_cmd_internal.h"

/* The limits of ttlSeconds on a service account token, in seconds. */
#define TOKEN_TTL_MAX 31622400

/* Service accounts. */

#define SA_OUTPUT_HELP                                                       \
	"Output: \"id\", \"name\", \"description\", \"created-by\",\n"        \
	"\"roles\" and \"created\" lines, or the JSON with --json.\n"

static const struct zg_cli_usage sa_list_usage = {"sa list",
	"sa list [OPTIONS]\n\nLists service accounts.\n\n"
	"Output: a table \"ID  NAME  CREATED-BY  CREATED  DESCRIPTION\", or\n"
	"the JSON with --json.\n", true};
static const struct zg_cli_usage sa_create_usage = {"sa create",
	"sa create NAME [--description TEXT] [--role ROLE]... [OPTIONS]\n\n"
	"Creates the service account sa:NAME, a principal for programs.\n"
	"NAME is 1 to 64 lower-case letters, digits or -_.\n\n"
	"Options:\n"
	"  --description TEXT what the account is for\n"
	"  --role ROLE        grant ROLE to the account; repeat for up to 16\n"
	"\n"
	"Output: \"id\", \"name\", \"description\", \"created-by\", \"roles\"\n"
	"and \"created\" lines, or the JSON with --json.\n", true};
static const struct zg_cli_usage sa_show_usage = {"sa show",
	"sa show ID [OPTIONS]\n\nPrints service account ID (sa:NAME).\n\n"
	SA_OUTPUT_HELP, true};
static const struct zg_cli_usage sa_delete_usage = {"sa delete",
	"sa delete ID [OPTIONS]\n\nDeletes service account ID (sa:NAME) and "
	"revokes its roles. Its\ntokens stop working at once.\n\n"
	"Output: \"id\", \"deleted\" and \"revoked-grants\" lines, or the\n"
	"JSON with --json.\n", true};
static const struct zg_cli_usage sa_token_usage = {"sa token",
	"sa token ID [--ttl SECONDS] [--scope-file FILE] [OPTIONS]\n\n"
	"Creates an API token for service account ID (sa:NAME).\n\n"
	"Options:\n"
	"  --ttl SECONDS      lifetime in seconds, 1 to 31622400 (366 days)\n"
	"                     (default: the server's, 86400)\n"
	"  --scope-file FILE  limit the token to a JSON array of permissions\n"
	"                     in FILE, each {\"resource\", \"actions\", ...};\n"
	"                     a token never exceeds its account's roles\n\n"
	"Output: \"id\", \"token\", \"user\" and \"expires\" lines, or the\n"
	"JSON with --json. The token is shown only once and only on stdout.\n",
	true};

static const char *const sa_fields[] = {
	"id", "id", "name", "name", "description", "description",
	"created-by", "createdBy", "roles", "roles", "created", "createdAt",
	NULL,
};

static int
build_sa(const struct spec *s, struct role_args *a, char *path,
    size_t pathsz, json_t **body)
{
	json_t *scope = NULL;
	int rc;

	if (s->usage == &sa_list_usage || s->usage == &sa_create_usage)
		snprintf(path, pathsz, "/v1/service-accounts");
	else if (s->usage == &sa_token_usage)
		snprintf(path, pathsz, "/v1/service-accounts/%s/tokens",
		    a->arg[0]);
	else
		snprintf(path, pathsz, "/v1/service-accounts/%s", a->arg[0]);

	if (s->usage == &sa_create_usage) {
		*body = json_pack("{s:s}", "name", a->arg[0]);
		if (*body == NULL || (a->description != NULL &&
		    json_object_set_new(*body, "description",
		    json_string(a->description)) != 0))
			return zg_cli_usage_error(s->usage, "NAME and "
			    "--description must be UTF-8");
		if (a->roles != NULL && json_object_set(*body, "roles",
		    a->roles) != 0)
			return zg_cli_role_out_of_memory();
	}
	if (s->usage == &sa_token_usage) {
		int64_t ttl;
		if ((*body = json_object()) == NULL)
			return zg_cli_role_out_of_memory();
		if (a->ttl != NULL) {
			if ((rc = zg_cli_parse_int(s->usage, "--ttl", a->ttl, 1,
			    TOKEN_TTL_MAX, &ttl)) != ZG_EXIT_OK)
				return rc;
			if (json_object_set_new(*body, "ttlSeconds",
			    json_integer(ttl)) != 0)
				return zg_cli_role_out_of_memory();
		}
		if (a->scope_file != NULL) {
			if ((rc = zg_cli_read_json(a->scope_file, "scope",
			    JSON_ARRAY, &scope)) != ZG_EXIT_OK)
				return rc;
			if (json_object_set_new(*body, "scope", scope) != 0)
				return zg_cli_role_out_of_memory();
		}
	}
	return ZG_EXIT_OK;
}

static int
cmd_sa_list(int argc, char **argv)
{
	static const struct spec s = {&sa_list_usage, zg_cli_role_no_opts, 0,
	    {0}, {0}};
	static const char *const header[] = {
		"ID", "NAME", "CREATED-BY", "CREATED", "DESCRIPTION"};
	static const char *const members[] = {
		"id", "name", "createdBy", "createdAt", "description"};
	static const struct output o = {NULL, header, members, 5};
	return zg_cli_role_run(&s, "GET", &o, build_sa, argc, argv);
}

static int
cmd_sa_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"description", required_argument, NULL, OPT_DESCRIPTION},
		{"role", required_argument, NULL, OPT_ROLE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	/* The server checks NAME's stricter rules and names the one broken. */
	static const struct spec s = {&sa_create_usage, opts, 1, {"NAME"},
	    {ARG_TEXT}};
	const struct output o = {(const char *const[]){
	    "id", "id", "name", "name", "description", "description",
	    "created-by", "createdBy", "roles", "roles", "created", "createdAt",
	    NULL}, NULL, NULL, 0};
	return zg_cli_role_run(&s, "POST", &o, build_sa, argc, argv);
}

static int
cmd_sa_show(int argc, char **argv)
{
	static const struct spec s = {&sa_show_usage, zg_cli_role_no_opts, 1,
	    {"service account ID"}, {ARG_USER}};
	static const struct output o = {sa_fields, NULL, NULL, 0};
	return zg_cli_role_run(&s, "GET", &o, build_sa, argc, argv);
}

static int
cmd_sa_delete(int argc, char **argv)
{
	static const struct spec s = {&sa_delete_usage, zg_cli_role_no_opts, 1,
	    {"service account ID"}, {ARG_USER}};
	const struct output o = {(const char *const[]){
	    "id", "id", "deleted", "deleted", "revoked-grants",
	    "revokedGrants", NULL}, NULL, NULL, 0};
	return zg_cli_role_run(&s, "DELETE", &o, build_sa, argc, argv);
}

static int
cmd_sa_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ttl", required_argument, NULL, OPT_TTL},
		{"scope-file", required_argument, NULL, OPT_SCOPE_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&sa_token_usage, opts, 1,
	    {"service account ID"}, {ARG_USER}};
	const struct output o = {(const char *const[]){
	    "id", "id", "token", "token", "user", "userId",
	    "expires", "expiresAt", NULL}, NULL, NULL, 0};
	return zg_cli_role_run(&s, "POST", &o, build_sa, argc, argv);
}

int
zg_cmd_sa(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"list", cmd_sa_list, "list service accounts"},
		{"create", cmd_sa_create, "create a service account"},
		{"show", cmd_sa_show, "print a service account"},
		{"delete", cmd_sa_delete, "delete a service account"},
		{"token", cmd_sa_token, "create a token for a service account"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("sa", "Manage service accounts: non-human "
	    "principals with their own roles and tokens.", table, argc, argv);
}

/* The decision point. */

static const struct zg_cli_usage authz_check_usage = {"authz check",
	"authz check USER RESOURCE ACTION [--context-file FILE] [OPTIONS]\n\n"
	"Asks the server whether USER may do ACTION on RESOURCE, such as\n"
	"'zguard authz check alice workflows/w1 read'.\n\n"
	"Options:\n"
	"  --context-file FILE  a JSON object of request attributes, such as\n"
	"                       {\"ownerId\": \"alice\", \"amount\": 500,\n"
	"                       \"ip\": \"10.0.0.7\", \"mfa\": true}\n\n"
	"Output: \"allowed\", \"reason\", \"role\" and \"permission\" lines,\n"
	"or the JSON with --json. Exits 0 when allowed and 1 when denied.\n",
	true};

static int
build_check(const struct spec *s, struct role_args *a, char *path,
    size_t pathsz, json_t **body)
{
	json_t *context = NULL;
	int rc;

	snprintf(path, pathsz, "/v1/authz/check");
	*body = json_pack("{s:s, s:s, s:s}", "userId", a->arg[0], "resource",
	    a->arg[1], "action", a->arg[2]);
	if (*body == NULL)
		return zg_cli_usage_error(s->usage, "RESOURCE and ACTION must "
		    "be UTF-8");
	if (a->context_file != NULL) {
		if ((rc = zg_cli_read_json(a->context_file, "context",
		    JSON_OBJECT, &context)) != ZG_EXIT_OK)
			return rc;
		if (json_object_set_new(*body, "context", context) != 0)
			return zg_cli_role_out_of_memory();
	}
	return ZG_EXIT_OK;
}

static int
cmd_authz_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"context-file", required_argument, NULL, OPT_CONTEXT_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&authz_check_usage, opts, 3,
	    {"USER", "RESOURCE", "ACTION"}, {ARG_TEXT, ARG_TEXT, ARG_TEXT}};
	struct role_args a = {0};
	json_t *body = NULL, *resp = NULL;
	char path[64];
	int rc;

	if ((rc = zg_cli_role_parse_args(&s, argc, argv, &a)) !=
	    ZG_CLI_CONTINUE)
		goto out;
	if ((rc = build_check(&s, &a, path, sizeof(path), &body)) !=
	    ZG_EXIT_OK)
		goto out;
	if ((rc = zg_cli_role_call(&a, "POST", path, body, &resp)) !=
	    ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else if ((rc = zg_cli_print_members(resp, (const char *const[]){
	    "allowed", "allowed", "reason", "reason", "role", "matchedRole",
	    "permission", "matchedPermission", NULL})) != ZG_EXIT_OK)
		goto out;
	rc = json_is_true(json_object_get(resp, "allowed")) ? ZG_EXIT_OK :
	    ZG_EXIT_FAILED;
out:
	json_decref(body);
	json_decref(resp);
	return rc;
}

int
zg_cmd_authz(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"check", cmd_authz_check,
		    "decide whether a user may act on a resource"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("authz", "Ask the permission engine for "
	    "decisions.", table, argc, argv);
}
