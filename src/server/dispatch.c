/* The request pipeline shared by every route, and small request helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "authn/authenticator.h"
#include "authz/authz.h"
#include "base/jsonutil.h"
#include "chain/chain.h"
#include "crypto/secp256k1.h"
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

/* Parses a positive decimal query parameter in [1, max]. */
zg_err
zg_req_query_uint(zg_request *req, const char *key, uint64_t max, uint64_t *out,
    bool *present)
{
	const char *v = zg_req_query(req, key);
	*present = v != NULL;
	if (v == NULL)
		return ZG_OK;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < 1 ||
	    n > max) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(v, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID,
		    "query parameter \"%s\" must be an integer from 1 to %llu; "
		    "got \"%s\"", key, (unsigned long long)max, q);
	}
	*out = n;
	return ZG_OK;
}

/* The pipeline step that stopped a request, as its audit event needs it. */
enum stage {
	STAGE_SEALED,
	STAGE_AUTHN,
	STAGE_AUTHZ,
	STAGE_AUDIT,
	STAGE_HANDLER,
};

/* Rejects query parameters that the route does not declare. */
static zg_err
check_query(zg_request *req)
{
	const char *accepted = req->route->query_params;
	for (size_t i = 0; i < req->nquery; i++) {
		const char *key = req->query[i].key;
		size_t len = strlen(key);
		bool known = false;
		for (const char *p = accepted; p != NULL && *p != '\0';) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			if (n == len && strncmp(p, key, n) == 0)
				known = true;
			p = comma ? comma + 1 : p + n;
		}
		if (known)
			continue;
		char q[ZG_QUOTE_MAX];
		zg_quote_value(key, q, sizeof(q));
		if (accepted == NULL)
			return zg_fail(&req->em, ZG_ERR_INVALID, "unknown query "
			    "parameter \"%s\"; %s %s takes none", q,
			    req->route->method, req->route->pattern);
		return zg_fail(&req->em, ZG_ERR_INVALID, "unknown query parameter "
		    "\"%s\"; %s %s takes %s", q, req->route->method,
		    req->route->pattern, accepted);
	}
	return ZG_OK;
}

/*
 * Reads request.amount, request.chainId and request.to from a transaction
 * body for conditions. A body that does not parse leaves them unset: the
 * handler reports it, and a condition on a missing attribute fails.
 */
static void
tx_attrs(zg_request *req, zg_authz_context *ctx, char amount[ZG_U256_DEC_LEN],
    char chain[ZG_U256_DEC_LEN], char to[43])
{
	json_t *body = NULL, *v;
	zg_errmsg em;
	zg_u256 n;
	uint8_t addr[20];

	if (zg_json_parse_object((const char *)req->body.data, req->body.len,
	    &body, &em) != ZG_OK)
		return;
	if ((v = json_object_get(body, "value")) != NULL &&
	    zg_u256_from_json(v, "value", &n, &em) == ZG_OK) {
		zg_u256_to_dec(&n, amount);
		ctx->amount = amount;
	} else if (v == NULL) {
		ctx->amount = "0";
	}
	if ((v = json_object_get(body, "chainId")) != NULL &&
	    zg_u256_from_json(v, "chainId", &n, &em) == ZG_OK) {
		zg_u256_to_dec(&n, chain);
		ctx->chain_id = chain;
	}
	if ((v = json_object_get(body, "to")) != NULL && json_is_string(v) &&
	    zg_eth_address_parse(json_string_value(v), addr) == ZG_OK) {
		zg_eth_address_hex(addr, to);
		ctx->to = to;
	}
	json_decref(body);
}

/*
 * Checks the route's resource and action for the principal. For an
 * object with an owner, a denial reads as "not found" unless the caller
 * owns it, so that no caller learns which ids exist by probing.
 */
static zg_err
authorize(zg_app *app, zg_request *req)
{
	const zg_route *r = req->route;
	zg_authz_context ctx;
	zg_authz_decision dec;
	char amount[ZG_U256_DEC_LEN], chain[ZG_U256_DEC_LEN], to[43];
	bool hide = false;
	zg_err err;

	memset(&ctx, 0, sizeof(ctx));
	if (r->flags & ZG_ROUTE_TX_ATTRS)
		tx_attrs(req, &ctx, amount, chain, to);
	if ((err = zg_route_resource(req, req->resource_path,
	    sizeof(req->resource_path))) != ZG_OK)
		return err;
	if (r->owner != NULL) {
		err = r->owner(app, req, req->resource_owner);
		if (err == ZG_ERR_NOT_FOUND) {
			/* The handler reports the missing object, if the
			 * principal may act on objects it does not own. */
			req->resource_owner[0] = '\0';
			hide = true;
		} else if (err != ZG_OK) {
			return err;
		} else {
			hide = strcmp(req->resource_owner,
			    req->principal.user_id) != 0;
		}
		ctx.resource_owner_id = req->resource_owner;
	}
	if ((err = zg_authz_check(app->authz, &req->principal, req->client_ip,
	    req->resource_path, r->action, &ctx, &dec, &req->em)) != ZG_OK)
		return err;
	if (dec.allowed)
		return ZG_OK;
	zg_log_info("access denied", ZGF_S("request_id", req->request_id),
	    ZGF_S("user_id", req->principal.user_id),
	    ZGF_S("resource", req->resource_path), ZGF_S("action", r->action),
	    ZGF_S("reason", dec.reason));
	return zg_authz_denied(&req->principal, req->resource_path, r->action,
	    &dec, hide, &req->em);
}

void *
zg_req_take_object(zg_request *req)
{
	void *o = req->object;
	req->object = NULL;
	req->object_free = NULL;
	return o;
}

zg_err
zg_req_may(zg_app *app, zg_request *req, const char *resource,
    const char *action, const char *owner, bool *allowed)
{
	zg_authz_context ctx;
	zg_authz_decision dec;
	memset(&ctx, 0, sizeof(ctx));
	ctx.resource_owner_id = owner;
	zg_err err = zg_authz_check(app->authz, &req->principal, req->client_ip,
	    resource, action, &ctx, &dec, &req->em);
	*allowed = err == ZG_OK && dec.allowed;
	return err;
}

/* Runs every step before the handler. Returns ZG_OK to go on. */
static zg_err
pre_handler(zg_app *app, zg_request *req, enum stage *stage)
{
	zg_err err;
	const zg_route *r = req->route;

	if (!(r->flags & ZG_ROUTE_NO_AUTH)) {
		/* Tokens are verified with a key under the root key, so
		 * nothing but the unauthenticated routes can run while
		 * sealed. */
		*stage = STAGE_SEALED;
		if (zg_keyring_sealed(app->kr))
			return zg_fail(&req->em, ZG_ERR_SEALED, "the vault is "
			    "sealed; unseal it with POST /v1/sys/unseal");
		*stage = STAGE_AUTHN;
		err = zg_authenticate(app->authn, req->authorization,
		    req->client_ip, zg_time_now_us(), &req->principal,
		    &req->retry_after_s, &req->em);
		if (err != ZG_OK) {
			if (err == ZG_ERR_UNAUTHENTICATED ||
			    err == ZG_ERR_RATE_LIMITED)
				zg_log_warn("authentication failed",
				    ZGF_S("request_id", req->request_id),
				    ZGF_S("client", req->client_ip),
				    ZGF_S("reason", req->em.text));
			return err;
		}
		req->authenticated = true;
		*stage = STAGE_AUTHZ;
		if ((err = authorize(app, req)) != ZG_OK)
			return err;
	}
	/* An operation that must be audited does not run while the audit
	 * log cannot be written. */
	*stage = STAGE_AUDIT;
	if (app->audit != NULL && r->event_type != NULL &&
	    !zg_audit_available(app->audit))
		return zg_fail(&req->em, ZG_ERR_AUDIT_UNAVAILABLE, "the audit log "
		    "cannot be written, so audited operations are refused; see "
		    "the server log");
	*stage = STAGE_HANDLER;
	return check_query(req);
}

/* True if the request's outcome must be recorded by the pipeline. */
static bool
event_needed(zg_app *app, zg_request *req, enum stage stage, zg_err result)
{
	const zg_route *r = req->route;
	if (app->audit == NULL || r->event_type == NULL)
		return false;
	/* Nothing to record: a sealed vault cannot identify a principal yet,
	 * and a request refused because the log is failing cannot be
	 * recorded. */
	if (stage == STAGE_SEALED || stage == STAGE_AUDIT)
		return false;
	/* A route that records its own event did so when it succeeded; a
	 * rejected request still gets the pipeline's event. */
	if (stage == STAGE_HANDLER && (r->flags & ZG_ROUTE_AUDIT_SELF) &&
	    result == ZG_OK)
		return false;
	/* A decision query that allowed is a read of policy, not of data;
	 * its denials and failures are recorded. */
	if (stage == STAGE_HANDLER && (r->flags & ZG_ROUTE_AUDIT_DENIALS) &&
	    result == ZG_OK && !req->answered_denied)
		return false;
	return true;
}

/* Fills ev from the request; the caller releases *meta after use. */
static void
fill_event(zg_request *req, enum stage stage, zg_err result,
    zg_audit_event *ev, json_t **meta)
{
	const zg_route *r = req->route;

	memset(ev, 0, sizeof(*ev));
	ev->user_id = req->authenticated ? req->principal.user_id : "";
	ev->token_id = req->authenticated ? req->principal.token_id : "";
	ev->request_id = req->request_id;
	ev->ip_address = req->client_ip;
	ev->user_agent = req->user_agent;
	ev->success = result == ZG_OK && !req->answered_denied;
	ev->event_type = r->event_type;
	ev->resource = req->audit_resource[0] ? req->audit_resource :
	    req->resource_path[0] ? req->resource_path :
	    r->resource ? r->resource : r->pattern;
	ev->action = r->action;
	if (stage == STAGE_AUTHN) {
		ev->event_type = "authentication";
		ev->action = "authenticate";
	} else if (stage == STAGE_AUTHZ || result == ZG_ERR_FORBIDDEN) {
		/* Handlers that decide on more than the route's resource (a
		 * token for another user, a role to grant) deny with
		 * ZG_ERR_FORBIDDEN: every denial is an authorization event. */
		ev->event_type = "authorization";
	}
	*meta = req->audit_metadata ? json_copy(req->audit_metadata) :
	    json_object();
	json_object_set_new(*meta, "method", json_string(req->method));
	json_object_set_new(*meta, "route", json_string(r->pattern));
	json_object_set_new(*meta, "status", json_integer(req->status ?
	    req->status : zg_err_http_status(result)));
	if (result != ZG_OK)
		json_object_set_new(*meta, "error",
		    json_string(zg_err_name(result)));
	ev->metadata = *meta;
}

/* Replaces the response of a request whose event could not be written. */
static void
withhold_response(zg_request *req, zg_err err)
{
	zg_errmsg em;
	zg_log_error("audit event not recorded; the response is withheld",
	    ZGF_S("request_id", req->request_id),
	    ZGF_S("route", req->route->pattern), ZGF_ERR(err));
	zg_fail(&em, ZG_ERR_AUDIT_UNAVAILABLE, "the audit log cannot be "
	    "written; the operation's result is withheld");
	zg_req_reply(req, zg_err_http_status(ZG_ERR_AUDIT_UNAVAILABLE),
	    zg_error_body(ZG_ERR_AUDIT_UNAVAILABLE, &em));
	req->result = ZG_ERR_AUDIT_UNAVAILABLE;
}

/*
 * Records the request's audit event and waits until it is durable.
 * Returns ZG_OK when it is, or when the request needs none.
 */
static zg_err
record_event(zg_app *app, zg_request *req, enum stage stage, zg_err result)
{
	zg_audit_event ev;
	json_t *meta = NULL;

	if (!event_needed(app, req, stage, result))
		return ZG_OK;
	fill_event(req, stage, result, &ev, &meta);
	zg_err err = zg_audit_record(app->audit, &ev, NULL);
	json_decref(meta);
	return err;
}

/* Runs every step before the audit event; returns the stage reached. */
static enum stage
run_pipeline(zg_app *app, zg_request *req, zg_err *result)
{
	enum stage stage = STAGE_HANDLER;
	zg_err err = pre_handler(app, req, &stage);

	if (err == ZG_OK)
		err = req->route->handler(app, req);
	req->result = err;
	if (err != ZG_OK) {
		/* A sealed vault is an expected state, not a failure. */
		if (zg_err_http_status(err) >= 500 && err != ZG_ERR_SEALED)
			zg_log_error("request failed",
			    ZGF_S("request_id", req->request_id),
			    ZGF_S("route", req->route->pattern), ZGF_ERR(err),
			    ZGF_S("detail", req->em.code == err ? req->em.text : ""));
		zg_req_reply(req, zg_err_http_status(err),
		    zg_error_body(err, &req->em));
	}
	*result = err;
	return stage;
}

static void
async_event_done(void *ctx, zg_err err, uint64_t leaf_index)
{
	zg_request *req = ctx;
	if (err != ZG_OK)
		withhold_response(req, err);
	req->on_complete(req);
}

bool
zg_dispatch_start(zg_request *req, void (*on_complete)(zg_request *req))
{
	zg_app *app = req->app;
	zg_err result;
	enum stage stage = run_pipeline(app, req, &result);
	zg_audit_event ev;
	json_t *meta = NULL;

	if (!event_needed(app, req, stage, result))
		return false;
	req->on_complete = on_complete;
	fill_event(req, stage, result, &ev, &meta);
	zg_err err = zg_audit_record_async(app->audit, &ev, async_event_done,
	    req);
	json_decref(meta);
	if (err != ZG_OK) {
		withhold_response(req, err);
		return false;
	}
	return true;
}

void
zg_dispatch(zg_request *req)
{
	zg_app *app = req->app;
	zg_err result;
	enum stage stage = run_pipeline(app, req, &result);

	/* The event is durable before any response leaves, and a response
	 * whose event could not be written is replaced, secret and all. */
	zg_err err = record_event(app, req, stage, result);
	if (err != ZG_OK)
		withhold_response(req, err);
}
