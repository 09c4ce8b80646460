/* `zguard token create|revoke`: API tokens. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"

/* The limits of ttlSeconds on POST /v1/tokens, in seconds. */
#define TOKEN_TTL_MAX 31622400

enum {
	OPT_USER = ZG_OPT_FIRST_LOCAL,
	OPT_TTL,
	OPT_SCOPE_FILE,
};

static const struct zg_cli_usage create_usage = {
	"token create",
	"token create --user USER [--ttl SECONDS] [--scope-file FILE] "
	"[OPTIONS]\n\n"
	"Creates an API token for USER. Users may create tokens for\n"
	"themselves; creating one for another user needs \"create\" on\n"
	"users/USER/tokens (admins have it).\n\n"
	"Options:\n"
	"  --user USER        the user id the token authenticates (required)\n"
	"  --ttl SECONDS      lifetime in seconds, 1 to 31622400 (366 days)\n"
	"                     (default: the server's, 86400)\n"
	"  --scope-file FILE  limit the token to the permissions in FILE, a\n"
	"                     JSON array such as [{\"resource\":\"keys/*\",\n"
	"                     \"actions\":[\"sign_message\"]}]\n\n"
	"Output: \"id\", \"token\", \"user\" and \"expires\" lines,\n"
	"each \"FIELD  VALUE\", or the JSON with --json. The token is shown\n"
	"only once and only on stdout.\n",
	true,
};

static const struct zg_cli_usage revoke_usage = {
	"token revoke",
	"token revoke ID [OPTIONS]\n\n"
	"Revokes the API token ID (tok_...).\n\n"
	"Output: \"id\" and \"revoked\" lines, or the JSON with --json.\n",
	true,
};

static int
cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, OPT_USER},
		{"ttl", required_argument, NULL, OPT_TTL},
		{"scope-file", required_argument, NULL, OPT_SCOPE_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &create_usage;
	struct zg_cli_globals g = {0};
	const char *user = NULL, *ttl_arg = NULL, *scope_file = NULL;
	int64_t ttl = 0;
	zg_client *c = NULL;
	json_t *body = NULL, *resp = NULL;
	long status;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		switch (opt) {
		case OPT_USER:
			user = optarg;
			break;
		case OPT_TTL:
			ttl_arg = optarg;
			break;
		case OPT_SCOPE_FILE:
			scope_file = optarg;
			break;
		default:
			if ((rc = zg_cli_common_option(opt, argv, &g, u)) !=
			    ZG_CLI_CONTINUE)
				return rc;
		}
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, 0, "")) != ZG_EXIT_OK)
		return rc;
	if (user == NULL || user[0] == '\0')
		return zg_cli_usage_error(u, "missing --user USER");
	if (ttl_arg != NULL && (rc = zg_cli_parse_int(u, "--ttl", ttl_arg, 1,
	    TOKEN_TTL_MAX, &ttl)) != ZG_EXIT_OK)
		return rc;

	if ((rc = zg_client_new(&g, true, &c)) != ZG_EXIT_OK)
		goto out;
	rc = ZG_EXIT_IO;
	body = json_pack("{s:s}", "userId", user);
	if (body == NULL || (ttl_arg != NULL && json_object_set_new(body,
	    "ttlSeconds", json_integer(ttl)) != 0)) {
		fprintf(stderr, "zguard: the user id is not valid UTF-8 or "
		    "memory ran out\n");
		goto out;
	}
	if (scope_file != NULL) {
		json_error_t jerr;
		json_t *scope = json_load_file(scope_file, 0, &jerr);
		if (scope == NULL) {
			fprintf(stderr, "zguard: cannot read the scope in %s: %s "
			    "(line %d)\n", scope_file, jerr.text, jerr.line);
			rc = ZG_EXIT_USAGE;
			goto out;
		}
		json_object_set_new(body, "scope", scope);
	}
	if ((rc = zg_client_request_or_report(c, "POST", "/v1/tokens", body,
	    &status, &resp)) != ZG_EXIT_OK)
		goto out;
	if (g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "id", "id", "token", "token", "user", "userId",
		    "expires", "expiresAt", NULL});
out:
	json_decref(body);
	json_decref(resp);
	zg_client_free(c);
	return rc;
}

static int
cmd_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &revoke_usage;
	struct zg_cli_globals g = {0};
	zg_client *c = NULL;
	json_t *resp = NULL;
	char path[300];
	long status;
	int rc, opt;

	zg_cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ZG_CLI_SHORT_OPTIONS, opts,
	    NULL)) != -1) {
		if ((rc = zg_cli_common_option(opt, argv, &g, u)) !=
		    ZG_CLI_CONTINUE)
			return rc;
	}
	if ((rc = zg_cli_expect_args(u, argc, argv, 1, "token ID")) !=
	    ZG_EXIT_OK)
		return rc;
	const char *id = argv[optind];
	if ((rc = zg_cli_check_id(u, id)) != ZG_EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/tokens/%s", id);

	if ((rc = zg_client_new(&g, true, &c)) != ZG_EXIT_OK)
		goto out;
	if ((rc = zg_client_request_or_report(c, "DELETE", path, NULL,
	    &status, &resp)) != ZG_EXIT_OK)
		goto out;
	if (g.json)
		zg_cli_print_json(resp);
	else
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "id", "id", "revoked", "revoked", NULL});
out:
	json_decref(resp);
	zg_client_free(c);
	return rc;
}

int
zg_cmd_token(int argc, char **argv)
{
	static const struct zg_cli_subcommand table[] = {
		{"create", cmd_create,
		    "create an API token for yourself or another user"},
		{"revoke", cmd_revoke, "revoke an API token"},
		{NULL, NULL, NULL},
	};
	return zg_cli_dispatch("token", "Create and revoke API tokens.",
	    table, argc, argv);
}
