/*
 * `zguard key sign-tx|sign-message|sign-typed-data|sign-digest`: the
 * requests to the daemon's /v1/keys/ID/sign* routes. The input comes from
 * a file or stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cmdutil.h"
#include "cli/key_cmd_internal.h"
#include "cli/key_usage.h"

/* Input limits, in bytes. */
#define MESSAGE_MAX (1024 * 1024)

/* Reads a JSON object from path, or from stdin when path is NULL. */
static int
read_json_object(const char *path, const char *what, json_t **out)
{
	return zg_cli_read_json(path, what, JSON_OBJECT, out);
}

/* Sends body to /v1/keys/ID/<route> and prints the members named. */
static int
sign_request(const struct key_args *a, const char *route, json_t *body,
    const char *const *fields)
{
	json_t *resp = NULL;
	char path[300];
	int rc;

	snprintf(path, sizeof(path), "/v1/keys/%s/%s", a->id, route);
	if ((rc = zg_cli_key_call(a, "POST", path, body, &resp)) != ZG_EXIT_OK)
		goto out;
	if (a->g.json) {
		zg_cli_print_json(resp);
	} else if (json_is_string(json_object_get(resp, "status"))) {
		/* 202: the signature waits for approvals; the request id is
		 * what `zguard txreq approve` needs. */
		rc = zg_cli_print_members(resp, (const char *const[]){
		    "request-id", "requestId", "status", "status",
		    "required", "required", "approvals", "approvals", NULL});
	} else {
		rc = zg_cli_print_members(resp, fields);
		/* Spending limits were reserved: the id lets the caller
		 * release them if the transaction is never sent. */
		if (rc == ZG_EXIT_OK && json_is_string(json_object_get(resp,
		    "requestId")))
			rc = zg_cli_print_members(resp, (const char *const[]){
			    "request-id", "requestId", NULL});
	}
out:
	json_decref(resp);
	return rc;
}

static const char *const signature_fields[] = {
	"signature", "signature", NULL,
};

int
zg_cli_key_sign_tx(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct key_args a = {0};
	json_t *tx = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(&zg_key_sign_tx_usage, opts, 1, NULL,
	    argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = read_json_object(a.file, "transaction", &tx)) != ZG_EXIT_OK)
		return rc;
	rc = sign_request(&a, "sign-transaction", tx, (const char *const[]){
	    "raw-transaction", "rawTransaction", "hash", "hash",
	    "from", "from", NULL});
	json_decref(tx);
	return rc;
}

int
zg_cli_key_simulate_tx(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct key_args a = {0};
	json_t *tx = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(&zg_key_simulate_tx_usage, opts, 1,
	    NULL, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = read_json_object(a.file, "transaction", &tx)) != ZG_EXIT_OK)
		return rc;
	rc = sign_request(&a, "simulate-transaction", tx, (const char *const[]){
	    "success", "success", "gas-estimate", "gasEstimate",
	    "revert-reason", "revertReason", "balance-sufficient",
	    "balanceSufficient", NULL});
	json_decref(tx);
	return rc;
}

int
zg_cli_key_sign_message(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		{"hex", no_argument, NULL, OPT_HEX},
		{"raw", no_argument, NULL, OPT_RAW},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct key_args a = {0};
	zg_buf msg = ZG_BUF_INIT;
	json_t *body = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(&zg_key_sign_message_usage, opts, 1,
	    NULL, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = zg_cli_read_secret(a.file, a.raw, MESSAGE_MAX, "message",
	    &msg)) != ZG_EXIT_OK)
		return rc;
	/* Hex has no meaningful trailing whitespace, such as a CRLF. */
	while (a.hex && msg.len > 0 && strchr(" \t\r\n",
	    msg.data[msg.len - 1]) != NULL)
		msg.data[--msg.len] = 0;
	body = json_pack("{s:s%}", "message", (const char *)msg.data, msg.len);
	if (body == NULL || (a.hex && json_object_set_new(body, "encoding",
	    json_string("hex")) != 0)) {
		rc = zg_cli_key_out_of_memory();
		goto out;
	}
	rc = sign_request(&a, "sign-message", body, signature_fields);
out:
	zg_buf_free(&msg);
	json_decref(body);
	return rc;
}

int
zg_cli_key_sign_typed_data(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct key_args a = {0};
	json_t *td = NULL, *body = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(&zg_key_sign_typed_data_usage, opts, 1,
	    NULL, argc, argv, &a)) != ZG_CLI_CONTINUE)
		return rc;
	if ((rc = read_json_object(a.file, "typed data", &td)) != ZG_EXIT_OK)
		return rc;
	if ((body = json_pack("{s:o}", "typedData", td)) == NULL)
		rc = zg_cli_key_out_of_memory();
	else
		rc = sign_request(&a, "sign-typed-data", body,
		    signature_fields);
	json_decref(body);
	return rc;
}

int
zg_cli_key_sign_digest(int argc, char **argv)
{
	static const struct option opts[] = {
		ZG_CLI_GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const struct zg_cli_usage *u = &zg_key_sign_digest_usage;
	struct key_args a = {0};
	json_t *body = NULL;
	int rc;

	if ((rc = zg_cli_key_parse_args(u, opts, 2, "DIGEST", argc, argv,
	    &a)) != ZG_CLI_CONTINUE)
		return rc;
	if (strlen(a.version_or_digest) != 66 || strncmp(a.version_or_digest, "0x", 2) != 0 ||
	    strspn(a.version_or_digest + 2, "0123456789abcdefABCDEF") != 64)
		return zg_cli_usage_error(u, "invalid DIGEST '%.70s': expected "
		    "0x and 64 hex digits (32 bytes)", a.version_or_digest);
	if ((body = json_pack("{s:s}", "digest", a.version_or_digest)) == NULL)
		return zg_cli_key_out_of_memory();
	rc = sign_request(&a, "sign", body, signature_fields);
	json_decref(body);
	return rc;
}
