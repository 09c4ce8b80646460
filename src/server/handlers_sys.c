/* Health, seal state and key rotation routes. */
#include <string.h>

#include "base/buf.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "server/server.h"

zg_err
zg_h_health(zg_app *app, zg_request *req)
{
	zg_req_reply(req, 200, json_pack("{s:s}", "status", "ok"));
	return ZG_OK;
}

zg_err
zg_h_seal_status(zg_app *app, zg_request *req)
{
	zg_req_reply(req, 200, json_pack("{s:b,s:s}", "sealed",
	    zg_keyring_sealed(app->kr), "seal",
	    zg_keyring_seal_kind(app->kr) == ZG_SEAL_PASSPHRASE ?
	    "passphrase" : "keyfile"));
	return ZG_OK;
}

zg_err
zg_h_unseal(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"passphrase", NULL};
	zg_err err;
	json_t *body = NULL;
	const char *pass;
	size_t pass_len;

	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "passphrase",
	    ZG_JSON_REQUIRED | ZG_JSON_SECRET, 1, 4096, &pass, &pass_len,
	    &req->em)) != ZG_OK)
		goto out;
	err = zg_keyring_unseal(app->kr, (const uint8_t *)pass, pass_len,
	    &req->em);
	if (err == ZG_ERR_BAD_PASSPHRASE)
		zg_log_warn("unseal failed: wrong passphrase",
		    ZGF_S("request_id", req->request_id),
		    ZGF_S("client", req->client_ip));
	if (err != ZG_OK)
		goto out;
	zg_req_reply(req, 200, json_pack("{s:b}", "sealed", false));
out:
	json_decref(body);
	return err;
}

zg_err
zg_h_rotate_root(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {NULL};
	json_t *body = NULL;
	uint32_t version = 0;
	size_t n = 0;
	zg_err err;

	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_rotate_root(app->kr, &version, &n)) != ZG_OK)
		goto out;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "sys/keys/root");
	zg_req_reply(req, 200, json_pack("{s:I,s:I}", "rootVersion",
	    (json_int_t)version, "rewrappedKeys", (json_int_t)n));
out:
	json_decref(body);
	return err;
}

zg_err
zg_h_rotate_kek(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {NULL};
	json_t *body = NULL;
	uint32_t version = 0;
	zg_err err;

	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		goto out;
	if ((err = zg_keyring_rotate_kek(app->kr, &version)) != ZG_OK)
		goto out;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "sys/keys/kek");
	zg_req_reply(req, 200, json_pack("{s:I}", "kekVersion",
	    (json_int_t)version));
out:
	json_decref(body);
	return err;
}
