/*
 * `zguard role|grant ...`: roles and grants of roles to users, over the
 * daemon's /v1/roles and /v1/users/{userId}/roles routes. This file also
 * contains the argument parsing and request helpers that sa_authz_cmd.c
 * shares through role_cmd_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn.h"
#include "authz/model.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/role_cmd_internal.h"

/* The largest JSON file read (role, scope, context), in bytes. */

/* Roles a service account may get when it is created. */
#define SA_ROLES_MAX 16

int
zg_cli_role_out_of_memory(void)
{
	fprintf(stderr, "zguard: out of memory\n");
	return ZG_EXIT_IO;
}

/* Checks one positional argument of kind k. */
static int
check_arg(const struct zg_cli_usage *u, enum arg_kind k, const char *s)
{
	if (k == ARG_ROLE && !zg_authz_role_name_valid(s))
		return zg_cli_usage_error(u, "invalid role name '%.64s': "
		    "expected 1 to 64 letters, digits or ._-", s);
	/* "." and ".." are valid ids but would change the URL's path. */
	if (k == ARG_USER && (!zg_user_id_valid(s) || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0))
		return zg_cli_usage_error(u, "invalid user id '%.64s': expected "
		    "1 to 128 letters, digits or ._@:+-", s);
	return ZG_EXIT_OK;
}

/* Parses argv by spec s. Returns ZG_CLI_CONTINUE or the exit code. */
int
zg_cli_role_parse_args(const struct spec *s, int argc, char **argv,
    struct role_args *a)
{
	const struct zg_cli_usage *u = s->usage;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, s->opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_FILE: a->file = optarg; break;
		case OPT_EXPIRES_AT: a->expires_at = optarg; break;
		case OPT_DESCRIPTION: a->description = optarg; break;
		case OPT_TTL: a->ttl = optarg; break;
		case OPT_SCOPE_FILE: a->scope_file = optarg; break;
		case OPT_CONTEXT_FILE: a->context_file = optarg; break;
		case OPT_ROLE:
			if (check_arg(u, ARG_ROLE, optarg) != ZG_EXIT_OK)
				return ZG_EXIT_USAGE;
			if (a->roles == NULL && (a->roles = json_array()) == NULL)
				return zg_cli_role_out_of_memory();
			if (json_array_size(a->roles) == SA_ROLES_MAX)
				return zg_cli_usage_error(u, "at most %d --role "
				    "options", SA_ROLES_MAX);
			if (json_array_append_new(a->roles,
			    json_string(optarg)) != 0)
				return zg_cli_role_out_of_memory();
			break;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &a->g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	int have = argc - optind;
	if (have < s->nargs)
		return zg_cli_usage_error(u, "missing %s", s->arg_names[have]);
	if ((rc = zg_cli_expect_args(u, argc, argv, s->nargs, "")) !=
	    ZG_EXIT_OK)
		return rc;
	for (int i = 0; i < s->nargs; i++) {
		a->arg[i] = argv[optind + i];
		if ((rc = check_arg(u, s->arg_kinds[i], a->arg[i])) !=
		    ZG_EXIT_OK)
			return rc;
	}
	if (a->expires_at != NULL) {
		int64_t t;
		if (zg_time_parse_rfc3339(a->expires_at, &t) != ZG_OK)
			return zg_cli_usage_error(u, "invalid --expires-at "
			    "'%.64s': expected RFC 3339 such as "
			    "2027-01-31T00:00:00Z", a->expires_at);
	}
	return ZG_CLI_CONTINUE;
}


/* Sends one request with a token and leaves the response in *resp. */
int
zg_cli_role_call(const struct role_args *a, const char *method,
    const char *path, json_t *body, json_t **resp)
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

/* Prints the array items as a table of the named members. */
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
		zg_cli_role_out_of_memory();
	for (size_t i = 0; cells != NULL && i < nrow * ncol; i++)
		free(cells[i]);
	free(cells);
	return rc;
}
/*
 * Runs one subcommand: parses argv by s, lets build make the path and
 * body from the arguments, sends the request and prints the response in
 * the format o describes (or as JSON with --json).
 */
int
zg_cli_role_run(const struct spec *s, const char *method,
    const struct output *o, int (*build)(const struct spec *,
    struct role_args *, char *, size_t, json_t **), int argc, char **argv)
{
	struct role_args a = {0};
	json_t *body = NULL, *resp = NULL;
	char path[512];
	int rc;

	if ((rc = zg_cli_role_parse_args(s, argc, argv, &a)) != ZG_CLI_CONTINUE)
		goto out;
	if ((rc = build(s, &a, path, sizeof(path), &body)) != ZG_EXIT_OK)
		goto out;
	if ((rc = zg_cli_role_call(&a, method, path, body, &resp)) !=
	    ZG_EXIT_OK)
		goto out;
	if (a.g.json)
		zg_cli_print_json(resp);
	else if (o->fields != NULL)
		rc = zg_cli_print_members(resp, o->fields);
	else
		rc = print_rows(o->header, o->members, o->ncol,
		    json_object_get(resp, "items"));
out:
	json_decref(a.roles);
	json_decref(body);
	json_decref(resp);
	return rc;
}

const struct option zg_cli_role_no_opts[] = {
	ZG_CLI_GLOBAL_OPTIONS,
	{NULL, 0, NULL, 0},
};
static const struct option file_opts[] = {
	{"file", required_argument, NULL, OPT_FILE},
	ZG_CLI_GLOBAL_OPTIONS,
	{NULL, 0, NULL, 0},
};

/* Roles. */

#define ROLE_INPUT_HELP                                                      \
	"The role is a JSON object read from FILE, else from stdin:\n"        \
	"{\"name\", \"description\", \"permissions\": [{\"resource\",\n"      \
	"\"actions\", \"conditions\", \"effect\"}], \"inherits\": [names]}.\n\n"\
	"Options:\n"                                                         \
	"  --file FILE        read the role from FILE instead of stdin\n\n"

#define ROLE_OUTPUT_HELP                                                     \
	"Output: \"name\", \"description\", \"built-in\", \"inherits\" and\n"  \
	"\"permissions\" lines (the last two as compact JSON), or the JSON\n" \
	"with --json.\n"

static const struct zg_cli_usage role_list_usage = {"role list",
	"role list [OPTIONS]\n\nLists every role, built-in roles included.\n\n"
	"Output: a table \"NAME  BUILT-IN  INHERITS  DESCRIPTION\", or with\n"
	"--json {\"items\": [...]} with each role's permissions.\n", true};
static const struct zg_cli_usage role_show_usage = {"role show",
	"role show NAME [OPTIONS]\n\nPrints role NAME.\n\n"
	ROLE_OUTPUT_HELP, true};
static const struct zg_cli_usage role_create_usage = {"role create",
	"role create [--file FILE] [OPTIONS]\n\nCreates a role. "
	ROLE_INPUT_HELP ROLE_OUTPUT_HELP, true};
static const struct zg_cli_usage role_update_usage = {"role update",
	"role update NAME [--file FILE] [OPTIONS]\n\nReplaces the "
	"description, permissions and parents of role NAME; \"name\" may be\n"
	"left out. " ROLE_INPUT_HELP ROLE_OUTPUT_HELP, true};
static const struct zg_cli_usage role_delete_usage = {"role delete",
	"role delete NAME [OPTIONS]\n\nDeletes role NAME. Built-in roles and "
	"roles that another role\ninherits cannot be deleted.\n\n"
	"Output: \"name\" and \"deleted\" lines, or the JSON with --json.\n",
	true};

static const char *const role_fields[] = {
	"name", "name", "description", "description", "built-in", "builtIn",
	"inherits", "inherits", "permissions", "permissions", NULL,
};

/* Builds the path /v1/roles, with the first argument if there is one. */
static int
build_role(const struct spec *s, struct role_args *a, char *path,
    size_t pathsz, json_t **body)
{
	if (s->nargs == 1)
		snprintf(path, pathsz, "/v1/roles/%s", a->arg[0]);
	else
		snprintf(path, pathsz, "/v1/roles");
	if (s->usage == &role_create_usage || s->usage == &role_update_usage)
		return zg_cli_read_json(a->file, "role", JSON_OBJECT,
		    body);
	return ZG_EXIT_OK;
}

static int
cmd_role_list(int argc, char **argv)
{
	static const struct spec s = {&role_list_usage, zg_cli_role_no_opts, 0,
	    {0}, {0}};
	static const char *const header[] = {
		"NAME", "BUILT-IN", "INHERITS", "DESCRIPTION"};
	static const char *const members[] = {
		"name", "builtIn", "inherits", "description"};
	static const struct output o = {NULL, header, members, 4};
	return zg_cli_role_run(&s, "GET", &o, build_role, argc, argv);
}

static int
cmd_role_show(int argc, char **argv)
{
	static const struct spec s = {&role_show_usage, zg_cli_role_no_opts, 1,
	    {"role NAME"}, {ARG_ROLE}};
	static const struct output o = {role_fields, NULL, NULL, 0};
	return zg_cli_role_run(&s, "GET", &o, build_role, argc, argv);
}

static int
cmd_role_create(int argc, char **argv)
{
	static const struct spec s = {&role_create_usage, file_opts, 0, {0},
	    {0}};
	static const struct output o = {role_fields, NULL, NULL, 0};
	return zg_cli_role_run(&s, "POST", &o, build_role, argc, argv);
}

static int
cmd_role_update(int argc, char **argv)
{
	static const struct spec s = {&role_update_usage, file_opts, 1,
	    {"role NAME"}, {ARG_ROLE}};
	static const struct output o = {role_fields, NULL, NULL, 0};
	return zg_cli_role_run(&s, "PUT", &o, build_role, argc, argv);
}

static int
cmd_role_delete(int argc, char **argv)
{
	static const struct spec s = {&role_delete_usage, zg_cli_role_no_opts,
	    1, {"role NAME"}, {ARG_ROLE}};
	const struct output o = {(const char *const[]){
	    "name", "name", "deleted", "deleted", NULL}, NULL, NULL, 0};
	return zg_cli_role_run(&s, "DELETE", &o, build_role, argc, argv);
}

int
zg_cmd_role(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"list", cmd_role_list, "list roles"},
		{"show", cmd_role_show, "print a role"},
		{"create", cmd_role_create, "create a role from JSON"},
		{"update", cmd_role_update, "replace a role from JSON"},
		{"delete", cmd_role_delete, "delete a role"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("role", "Manage roles: named sets of "
	    "permissions that grants give to users.", table, argc, argv);
}

/* Grants. */

static const struct zg_cli_usage grant_list_usage = {"grant list",
	"grant list USER [OPTIONS]\n\nLists the roles granted to USER.\n\n"
	"Output: a table \"ROLE  GRANTED-BY  GRANTED-AT  EXPIRES  EXPIRED\",\n"
	"\"-\" for no expiry; or the JSON with --json.\n", true};
static const struct zg_cli_usage grant_add_usage = {"grant add",
	"grant add USER ROLE [--expires-at TIME] [OPTIONS]\n\n"
	"Grants ROLE to USER. Granting a role again replaces its expiry. You\n"
	"need \"grant\" on roles/ROLE as well as on users/USER/roles.\n\n"
	"Options:\n"
	"  --expires-at TIME  the grant ends at TIME, RFC 3339 such as\n"
	"                     2027-01-31T00:00:00Z (default: never)\n\n"
	"Output: \"user\", \"role\", \"granted-by\", \"granted-at\" and\n"
	"\"expires\" lines, or the JSON with --json.\n", true};
static const struct zg_cli_usage grant_revoke_usage = {"grant revoke",
	"grant revoke USER ROLE [OPTIONS]\n\nRevokes ROLE from USER.\n\n"
	"Output: \"user\", \"role\" and \"revoked\" lines, or the JSON with\n"
	"--json.\n", true};

static int
build_grant(const struct spec *s, struct role_args *a, char *path,
    size_t pathsz, json_t **body)
{
	if (s->usage == &grant_revoke_usage) {
		snprintf(path, pathsz, "/v1/users/%s/roles/%s", a->arg[0],
		    a->arg[1]);
		return ZG_EXIT_OK;
	}
	snprintf(path, pathsz, "/v1/users/%s/roles", a->arg[0]);
	if (s->usage != &grant_add_usage)
		return ZG_EXIT_OK;
	if ((*body = json_pack("{s:s}", "roleId", a->arg[1])) == NULL ||
	    (a->expires_at != NULL && json_object_set_new(*body, "expiresAt",
	    json_string(a->expires_at)) != 0))
		return zg_cli_role_out_of_memory();
	return ZG_EXIT_OK;
}

static int
cmd_grant_list(int argc, char **argv)
{
	static const struct spec s = {&grant_list_usage, zg_cli_role_no_opts, 1,
	    {"USER"}, {ARG_USER}};
	static const char *const header[] = {
		"ROLE", "GRANTED-BY", "GRANTED-AT", "EXPIRES", "EXPIRED"};
	static const char *const members[] = {
		"roleId", "grantedBy", "grantedAt", "expiresAt", "expired"};
	static const struct output o = {NULL, header, members, 5};
	return zg_cli_role_run(&s, "GET", &o, build_grant, argc, argv);
}

static int
cmd_grant_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{"expires-at", required_argument, NULL, OPT_EXPIRES_AT},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct spec s = {&grant_add_usage, opts, 2,
	    {"USER", "ROLE"}, {ARG_USER, ARG_ROLE}};
	const struct output o = {(const char *const[]){
	    "user", "userId", "role", "roleId", "granted-by", "grantedBy",
	    "granted-at", "grantedAt", "expires", "expiresAt", NULL},
	    NULL, NULL, 0};
	return zg_cli_role_run(&s, "POST", &o, build_grant, argc, argv);
}

static int
cmd_grant_revoke(int argc, char **argv)
{
	static const struct spec s = {&grant_revoke_usage, zg_cli_role_no_opts,
	    2, {"USER", "ROLE"}, {ARG_USER, ARG_ROLE}};
	const struct output o = {(const char *const[]){
	    "user", "userId", "role", "roleId", "revoked", "revoked", NULL},
	    NULL, NULL, 0};
	return zg_cli_role_run(&s, "DELETE", &o, build_grant, argc, argv);
}

int
zg_cmd_grant(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"list", cmd_grant_list, "list the roles granted to a user"},
		{"add", cmd_grant_add, "grant a role to a user"},
		{"revoke", cmd_grant_revoke, "revoke a role from a user"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("grant", "Grant roles to users and service "
	    "accounts, and revoke them.", table, argc, argv);
}
