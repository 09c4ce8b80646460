/*
 * Transaction requests: /v1/tx-requests/{id} and its approve, reject and
 * release actions. The state machine itself is in txpolicy/requests.c;
 * these handlers add who may act. An approver or rejecter must hold the
 * rule's role (granted, by configuration, from the identity provider, or
 * through a role that inherits it) and must not be the requester. Each
 * step is the route's audit event, with the actor as its user and the
 * request id and the states before and after in its metadata.
 *
 * The routes also need the permission engine to allow them. An approver
 * role needs "approve" and "reject" on every "tx-requests/{id}", and a
 * requester that is not admin needs "read" and "release" on its own
 * requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "authz/engine.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "keys/keys.h"
#include "server/server.h"
#include "txpolicy/gate.h"

#define GRANTS_MAX 1000
#define ROLE_DEPTH_MAX 10000

/* Appends name to the array set unless it is there. */
static void
set_add(json_t *set, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(set, i, v) {
		if (strcmp(json_string_value(v), name) == 0)
			return;
	}
	json_array_append_new(set, json_string(name));
}

/* Adds the roles that the roles of set inherit, transitively. */
static zg_err
add_inherited(zg_app *app, json_t *set, zg_errmsg *em)
{
	/* set grows while it is walked, which visits each role once. */
	for (size_t i = 0; i < json_array_size(set) && i < ROLE_DEPTH_MAX;
	    i++) {
		const char *name = json_string_value(json_array_get(set, i));
		zg_obj_row row;
		zg_err err = app->st->ops->obj_get(app->st, ZG_AUTHZ_KIND_ROLE,
		    name, &row);
		if (err == ZG_ERR_NOT_FOUND)
			continue;
		if (err != ZG_OK)
			return zg_fail(em, err, "reading role %s failed", name);
		json_t *j = json_loads(row.body_json, 0, NULL);
		zg_obj_row_free(&row);
		size_t k;
		json_t *parent;
		json_array_foreach(json_object_get(j, "inherits"), k, parent) {
			if (json_is_string(parent))
				set_add(set, json_string_value(parent));
		}
		json_decref(j);
	}
	return ZG_OK;
}

zg_err
zg_user_roles(zg_app *app, const char *user_id, const zg_principal *p,
    json_t **roles, zg_errmsg *em)
{
	char prefix[ZG_USER_MAX + 2], list[sizeof(app->cfg.authz_default_roles)];
	zg_obj_row *rows = NULL;
	size_t n = 0;
	int64_t now = zg_time_now_us();
	json_t *set = json_array();
	zg_err err;

	*roles = NULL;
	if (set == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	snprintf(list, sizeof(list), "%s", app->cfg.authz_default_roles);
	for (char *save = NULL, *tok = strtok_r(list, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save))
		set_add(set, tok);
	for (unsigned i = 0; p != NULL && i < p->nroles; i++)
		set_add(set, p->roles[i]);
	snprintf(prefix, sizeof(prefix), "%s/", user_id);
	if ((err = app->st->ops->obj_list(app->st, ZG_AUTHZ_KIND_GRANT, NULL,
	    prefix, NULL, GRANTS_MAX, &rows, &n)) != ZG_OK) {
		zg_fail(em, err, "listing the grants of %s failed", user_id);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_loads(rows[i].body_json, 0, NULL);
		zg_authz_grant g;
		zg_errmsg inner;
		if (j != NULL && zg_authz_grant_from_json(j, &g, &inner) == ZG_OK &&
		    strcmp(g.user_id, user_id) == 0 &&
		    !zg_authz_grant_expired(&g, now))
			set_add(set, g.role_id);
		json_decref(j);
	}
	if ((err = add_inherited(app, set, em)) != ZG_OK)
		goto out;
	*roles = set;
	set = NULL;
out:
	zg_obj_rows_free(rows, n);
	json_decref(set);
	return err;
}

zg_err
zg_owner_txreq(zg_app *app, zg_request *req, char *owner)
{
	zg_obj_row row;
	owner[0] = '\0';
	zg_err err = app->st->ops->obj_get(app->st, ZG_TXREQ_KIND,
	    req->params[0], &row);
	if (err != ZG_OK)
		return err;
	snprintf(owner, ZG_USER_MAX, "%s", row.owner);
	zg_obj_row_free(&row);
	return ZG_OK;
}

/* Records a transition in the request's audit metadata. */
static void
note_transition(zg_request *req, const zg_txreq *r, const char *from)
{
	if (req->audit_metadata == NULL)
		req->audit_metadata = json_object();
	json_object_set_new(req->audit_metadata, "requestId",
	    json_string(r->id));
	json_object_set_new(req->audit_metadata, "fromState", json_string(from));
	json_object_set_new(req->audit_metadata, "toState",
	    json_string(zg_txreq_state_name(r->state)));
}

/*
 * Loads the path's request and moves it to expired when its time has
 * passed, so that every reader sees the same state.
 */
/*
 * A request stays "approved" only while its last approver's call signs
 * it. One still approved long after (the daemon stopped in between) goes
 * back to pending_approval without that last approval, so that it can be
 * approved again instead of staying stuck.
 */
#define STALE_APPROVED_US (15 * 60 * 1000000LL)

static zg_err
recover_stale_approval(zg_app *app, zg_request *req, zg_txreq *r)
{
	json_t *approvals = json_object_get(r->body, "approvals");
	const char *at = json_string_value(json_object_get(r->body,
	    "updatedAt"));
	int64_t updated = 0, now = zg_time_now_us();
	zg_err err;

	if (r->state != ZG_TXREQ_APPROVED || at == NULL ||
	    zg_time_parse_rfc3339(at, &updated) != ZG_OK ||
	    now - updated < STALE_APPROVED_US ||
	    json_array_size(approvals) == 0)
		return ZG_OK;
	const char *last = json_string_value(json_object_get(json_array_get(
	    approvals, json_array_size(approvals) - 1), "userId"));
	char user[ZG_USER_MAX];
	snprintf(user, sizeof(user), "%s", last ? last : "");
	if ((err = zg_txreq_unapprove(app->st, r, user, now, &req->em)) !=
	    ZG_OK) {
		zg_txreq_free(r);
		return err;
	}
	zg_log_warn("a transaction request was left approved but unsigned; "
	    "its last approval is taken back", ZGF_S("tx_request", r->id),
	    ZGF_S("approver", user));
	return ZG_OK;
}

static zg_err
load_current(zg_app *app, zg_request *req, zg_txreq *r)
{
	bool expired = false;
	zg_err err;

	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "tx-requests/%.140s", req->params[0]);
	if ((err = zg_txreq_load(app->st, req->params[0], r, &req->em)) != ZG_OK)
		return err;
	if ((err = zg_txreq_expire_if_due(app->st, r, zg_time_now_us(),
	    &expired, &req->em)) != ZG_OK) {
		zg_txreq_free(r);
		return err;
	}
	if (expired) {
		note_transition(req, r, "pending_approval");
		zg_log_info("transaction request expired",
		    ZGF_S("tx_request", r->id));
	}
	return recover_stale_approval(app, req, r);
}

zg_err
zg_h_txreq_get(zg_app *app, zg_request *req)
{
	zg_txreq r;
	zg_err err;

	if ((err = load_current(app, req, &r)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, zg_txreq_to_json(&r));
	zg_txreq_free(&r);
	return ZG_OK;
}

/* Checks that the principal has the role the request's rule names. */
static zg_err
check_role(zg_app *app, zg_request *req, const zg_txreq *r, const char *verb)
{
	const char *role = json_string_value(json_object_get(r->body,
	    "fromRole"));
	json_t *roles = NULL;
	bool holds = false;
	size_t i;
	json_t *v;
	zg_err err;

	if ((err = zg_user_roles(app, req->principal.user_id, &req->principal,
	    &roles, &req->em)) != ZG_OK)
		return err;
	json_array_foreach(roles, i, v) {
		if (role != NULL && strcmp(json_string_value(v), role) == 0)
			holds = true;
	}
	json_decref(roles);
	if (!holds)
		return zg_fail(&req->em, ZG_ERR_FORBIDDEN, "%s may not %s "
		    "transaction request %s: that needs role %s", 
		    req->principal.user_id, verb, r->id, role ? role : "?");
	return ZG_OK;
}

/*
 * Records the signature an approval made as its own key_usage event, so
 * that every signature of a key shows under keys/{id} whichever route
 * made it. A failure is logged: the transaction event of the approval
 * carries the same details.
 */
static void
record_key_usage(zg_app *app, zg_request *req, const char *key_id,
    const char *kind)
{
	char resource[ZG_ID_MAX + 8];
	if (app->audit == NULL)
		return;
	snprintf(resource, sizeof(resource), "keys/%s", key_id);
	zg_audit_event ev = {
		.user_id = req->principal.user_id,
		.token_id = req->principal.token_id,
		.request_id = req->request_id,
		.ip_address = req->client_ip,
		.user_agent = req->user_agent,
		.event_type = "key_usage",
		.resource = resource,
		.action = strcmp(kind, "personal_message") == 0 ? "sign_message" :
		    strcmp(kind, "typed_data") == 0 ? "sign_typed_data" :
		    "sign_transaction",
		.success = true,
		.metadata = req->audit_metadata,
	};
	zg_err err = zg_audit_record(app->audit, &ev, NULL);
	if (err != ZG_OK)
		zg_log_error("recording the key_usage event of an approved "
		    "signature failed", ZGF_S("request_id", req->request_id),
		    ZGF_S("key_id", key_id), ZGF_ERR(err));
}

/* Signs an approved request as its requester asked, through the gate. */
static zg_err
sign_approved(zg_app *app, zg_request *req, zg_txreq *r)
{
	const json_t *b = r->body;
	const char *kind = json_string_value(json_object_get(b, "kind"));
	zg_sign_job job = {
		.payload = json_object_get(b, "payload"),
		.workflow_id = json_string_value(json_object_get(b,
		    "workflowId")),
		.initiator_id = json_string_value(json_object_get(b,
		    "requester")),
		.initiator_type = json_string_value(json_object_get(b,
		    "requesterType")),
		.roles = json_object_get(b, "requesterRoles"),
		.approved = r,
	};
	zg_key key;
	zg_err err;

	if (kind != NULL && strcmp(kind, "personal_message") == 0)
		job.kind = ZG_SIGN_MESSAGE;
	else if (kind != NULL && strcmp(kind, "typed_data") == 0)
		job.kind = ZG_SIGN_TYPED_DATA;
	else
		job.kind = ZG_SIGN_TRANSACTION;
	if (job.initiator_id == NULL || job.initiator_type == NULL ||
	    !json_is_object(job.payload))
		return zg_fail(&req->em, ZG_ERR_INTEGRITY, "stored transaction "
		    "request %s lacks its payload or requester", r->id);
	memset(&key, 0, sizeof(key));
	err = zg_keys_get(app->keys, json_string_value(json_object_get(b,
	    "keyId")), &key, &req->em);
	if (err == ZG_OK) {
		err = zg_sign_run(app, req, &key, &job);
		if (err == ZG_OK)
			record_key_usage(app, req, key.id, kind ? kind :
			    "transaction");
	} else if (r->state == ZG_TXREQ_APPROVED) {
		zg_errmsg inner;
		zg_txreq_unapprove(app->st, r, req->principal.user_id,
		    zg_time_now_us(), &inner);
	}
	zg_key_free(&key);
	return err;
}

zg_err
zg_h_txreq_approve(zg_app *app, zg_request *req)
{
	static const char *const none[] = {NULL};
	json_t *body = NULL;
	zg_txreq r;
	bool reached = false;
	zg_err err;

	if ((err = zg_req_json(req, none, true, &body)) != ZG_OK)
		return err;
	json_decref(body);
	if ((err = load_current(app, req, &r)) != ZG_OK)
		return err;
	if (r.state == ZG_TXREQ_EXPIRED) {
		err = zg_fail(&req->em, ZG_ERR_EXPIRED, "transaction request %s "
		    "expired at %s and can no longer be approved", r.id,
		    json_string_value(json_object_get(r.body, "expiresAt")));
		goto out;
	}
	if ((err = check_role(app, req, &r, "approve")) != ZG_OK)
		goto out;
	if ((err = zg_txreq_approve(app->st, &r, req->principal.user_id,
	    zg_time_now_us(), &reached, &req->em)) != ZG_OK)
		goto out;
	note_transition(req, &r, "pending_approval");
	zg_log_info("transaction request approved",
	    ZGF_S("tx_request", r.id), ZGF_S("user_id", req->principal.user_id),
	    ZGF_I("approvals", json_array_size(json_object_get(r.body,
	    "approvals"))));
	if (!reached) {
		zg_req_reply(req, 200, zg_txreq_to_json(&r));
		goto out;
	}
	err = sign_approved(app, req, &r);
	note_transition(req, &r, "pending_approval");
out:
	zg_txreq_free(&r);
	return err;
}

zg_err
zg_h_txreq_reject(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"reason", NULL};
	json_t *body = NULL;
	const char *reason = NULL;
	zg_txreq r;
	zg_err err;

	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		return err;
	if ((err = zg_json_get_string(body, "reason", ZG_JSON_OPTIONAL, 1, 512,
	    &reason, NULL, &req->em)) != ZG_OK) {
		json_decref(body);
		return err;
	}
	if ((err = load_current(app, req, &r)) != ZG_OK) {
		json_decref(body);
		return err;
	}
	if ((err = check_role(app, req, &r, "reject")) != ZG_OK)
		goto out;
	if ((err = zg_txreq_reject(app->st, &r, req->principal.user_id, reason,
	    app->cfg.txpolicy_rejections, zg_time_now_us(),
	    &req->em)) != ZG_OK)
		goto out;
	note_transition(req, &r, "pending_approval");
	zg_log_info("transaction request rejected", ZGF_S("tx_request", r.id),
	    ZGF_S("user_id", req->principal.user_id),
	    ZGF_S("status", zg_txreq_state_name(r.state)));
	zg_req_reply(req, 200, zg_txreq_to_json(&r));
out:
	json_decref(body);
	zg_txreq_free(&r);
	return err;
}

zg_err
zg_h_txreq_release(zg_app *app, zg_request *req)
{
	static const char *const none[] = {NULL};
	json_t *body = NULL;
	zg_txreq r;
	zg_err err;

	if ((err = zg_req_json(req, none, true, &body)) != ZG_OK)
		return err;
	json_decref(body);
	if ((err = load_current(app, req, &r)) != ZG_OK)
		return err;
	if ((err = zg_txreq_release(app->st, &r, zg_time_now_us(),
	    &req->em)) == ZG_OK) {
		note_transition(req, &r, "signed");
		zg_log_info("spending limit reservation released",
		    ZGF_S("tx_request", r.id),
		    ZGF_S("user_id", req->principal.user_id));
		zg_req_reply(req, 200, zg_txreq_to_json(&r));
	}
	zg_txreq_free(&r);
	return err;
}
