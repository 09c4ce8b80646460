/* The request pipeline shared by every route, and small request helpers. */
#include <stdio.h>
#include <string.h>

#include "authz/authz.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "server/server.h"

const char *
zg_req_query(const zg_request *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value;
	return NULL;
}

void
zg_req_reply(zg_request *req, int status, json_t *body)
{
	json_decref(req->response);
	req->status = status;
	req->response = body;
}

json_t *
zg_error_body(zg_err err, const zg_errmsg *em)
{
	const char *message = (em != NULL && em->code == err && em->text[0]) ?
	    em->text : zg_strerror(err);
	return json_pack("{s:{s:s,s:s}}", "error", "code", zg_err_name(err),
	    "message", message);
}

zg_err
zg_req_json(zg_request *req, const char *const *allowed, bool empty_ok,
    json_t **out)
{
	zg_err err;
	*out = NULL;
	if (req->body.len == 0 && empty_ok) {
		*out = json_object();
		return *out ? ZG_OK : ZG_ERR_NOMEM;
	}
	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, out, &req->em)) != ZG_OK)
		return err;
	if ((err = zg_json_only_keys(*out, allowed, &req->em)) != ZG_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

/* Runs every step before the handler. Returns ZG_OK to go on. */
static zg_err
pre_handler(zg_app *app, zg_request *req)
{
	zg_err err;
	const zg_route *r = req->route;

	if (r->flags & ZG_ROUTE_NO_AUTH)
		return ZG_OK;
	/* Tokens are verified with a key under the root key, so nothing
	 * but the unauthenticated routes can run while sealed. */
	if (zg_keyring_sealed(app->kr))
		return zg_fail(&req->em, ZG_ERR_SEALED,
		    "the vault is sealed; unseal it with POST /v1/sys/unseal");
	err = zg_authn_bearer(&app->vault, req->authorization, zg_time_now_us(),
	    &req->principal, &req->em);
	if (err != ZG_OK) {
		if (err == ZG_ERR_UNAUTHENTICATED)
			zg_log_warn("authentication failed",
			    ZGF_S("request_id", req->request_id),
			    ZGF_S("client", req->client_ip),
			    ZGF_S("reason", req->em.text));
		return err;
	}
	req->authenticated = true;
	return zg_authz_check(&req->principal, r->resource, r->action, NULL,
	    &req->em);
}

void
zg_dispatch(zg_request *req)
{
	zg_app *app = req->app;
	zg_err err = pre_handler(app, req);

	if (err == ZG_OK)
		err = req->route->handler(app, req);
	req->result = err;
	if (err != ZG_OK) {
		if (zg_err_http_status(err) >= 500)
			zg_log_error("request failed",
			    ZGF_S("request_id", req->request_id),
			    ZGF_S("route", req->route->pattern), ZGF_ERR(err),
			    ZGF_S("detail", req->em.code == err ? req->em.text : ""));
		zg_req_reply(req, zg_err_http_status(err),
		    zg_error_body(err, &req->em));
	}
}
