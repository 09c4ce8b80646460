/*
 * Transaction policies, spending limits, emergency stops and simulation:
 * /v1/policies/transactions, /v1/limits, /v1/emergency-stop and
 * /v1/keys/{id}/simulate-transaction. Policies and stops are stored
 * through txpolicy/gate.h, which bumps the counter every process reads
 * before it signs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/engine.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "chain/rpc.h"
#include "crypto/secp256k1.h"
#include "keys/keys.h"
#include "server/handlers_authz.h"
#include "server/server.h"
#include "txpolicy/gate.h"

#define GRANTS_SCAN_MAX 100000

/* ---- the checks policy validation needs ---- */

static bool
check_role_exists(void *ctx, const char *role)
{
	zg_app *app = ctx;
	zg_obj_row row;
	if (app->st->ops->obj_get(app->st, ZG_AUTHZ_KIND_ROLE, role,
	    &row) != ZG_OK)
		return false;
	zg_obj_row_free(&row);
	return true;
}

static bool
check_chain_has_rpc(void *ctx, const zg_u256 *chain_id)
{
	zg_app *app = ctx;
	char chain[ZG_U256_DEC_LEN];
	zg_u256_to_dec(chain_id, chain);
	return zg_config_rpc_endpoint(&app->cfg, chain) != NULL;
}

/* True if role or a role it inherits, transitively, is target. */
static bool
provides(const zg_authz_role *roles, size_t n, const char *role,
    const char *target, unsigned depth)
{
	if (strcmp(role, target) == 0)
		return true;
	if (depth > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(roles[i].name, role) != 0)
			continue;
		for (size_t k = 0; k < roles[i].ninherits; k++)
			if (provides(roles, n, roles[i].inherits[k], target,
			    depth + 1))
				return true;
	}
	return false;
}

/* True if the comma- or space-separated list contains name. */
static bool
list_contains(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ", ");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}

/*
 * Counts the users with an unexpired grant of role or of a role that
 * inherits it. Returns -1 when the count is unknown: on a store error,
 * or when every principal has the role by configuration.
 */
static long
count_role_holders(void *ctx, const char *role)
{
	zg_app *app = ctx;
	zg_authz_role *roles = NULL;
	zg_obj_row *rows = NULL;
	size_t nroles = 0, nrows = 0;
	json_t *users = NULL;
	long count = -1;
	zg_errmsg em;

	if (list_contains(app->cfg.authz_default_roles, role))
		return -1;
	if (zg_authz_load_roles(app, &roles, &nroles, NULL, NULL, &em) != ZG_OK)
		return -1;
	if (app->st->ops->obj_list(app->st, ZG_AUTHZ_KIND_GRANT, NULL, NULL,
	    NULL, GRANTS_SCAN_MAX, &rows, &nrows) != ZG_OK)
		goto out;
	if ((users = json_object()) == NULL)
		goto out;
	int64_t now = zg_time_now_us();
	for (size_t i = 0; i < nrows; i++) {
		json_t *j = json_loads(rows[i].body_json, 0, NULL);
		zg_authz_grant g;
		if (j != NULL && zg_authz_grant_from_json(j, &g, &em) == ZG_OK &&
		    !zg_authz_grant_expired(&g, now) &&
		    provides(roles, nroles, g.role_id, role, 0))
			json_object_set_new(users, g.user_id, json_true());
		json_decref(j);
	}
	count = (long)json_object_size(users);
out:
	json_decref(users);
	zg_obj_rows_free(rows, nrows);
	zg_authz_roles_free(roles, nroles);
	return count;
}

/* ---- policies ---- */

/* Sets the audit resource and checks the length of the path's policy
 * name; zg_txpolicy_from_json checks its characters. */
static zg_err
path_name(zg_request *req, const char **name)
{
	*name = req->params[0];
	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "policies/transactions/%.100s", *name);
	if (strlen(*name) >= ZG_TXPOLICY_NAME_MAX) {
		return zg_fail(&req->em, ZG_ERR_INVALID, "policy name in the "
		    "path must be 1 to %d characters of [A-Za-z0-9._-]",
		    ZG_TXPOLICY_NAME_MAX - 1);
	}
	return ZG_OK;
}

zg_err
zg_h_policy_list(zg_app *app, zg_request *req)
{
	const zg_txsnapshot *snap;
	zg_err err;

	if ((err = zg_txgate_acquire(app->txgate, &snap, &req->em)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < snap->npolicies; i++)
		json_array_append_new(items,
		    zg_txpolicy_to_json(snap->policies[i]));
	zg_txgate_release(app->txgate, snap);
	zg_req_reply(req, 200, json_pack("{s:o}", "items", items));
	return ZG_OK;
}

/*
 * Warnings for a policy that parses but probably does not do what its
 * author meant: it names no key, names keys that do not exist, or has no
 * rule and so blocks everything on its keys.
 */
static void
add_key_warnings(zg_app *app, const json_t *body, json_t *warnings)
{
	const json_t *keys = json_object_get(body, "keys");
	const json_t *ids = json_object_get(keys, "ids");
	const json_t *labels = json_object_get(keys, "labels");
	const json_t *rules = json_object_get(body, "rules");
	size_t i;
	json_t *id;

	if (json_array_size(ids) == 0 && json_array_size(labels) == 0)
		json_array_append_new(warnings, json_string("the policy names "
		    "no keys in \"keys\", so it covers no key"));
	if (json_array_size(rules) == 0)
		json_array_append_new(warnings, json_string("the policy has no "
		    "rules, so it blocks every request on its keys"));
	json_t *rule;
	json_array_foreach(rules, i, rule) {
		const json_t *dest = json_object_get(json_object_get(rule,
		    "match"), "destinations");
		const char *action = json_string_value(json_object_get(rule,
		    "action"));
		if (json_object_get(dest, "deny") == NULL || action == NULL ||
		    strcmp(action, "block") != 0)
			continue;
		char msg[300];
		snprintf(msg, sizeof(msg), "rule %.64s blocks every destination "
		    "except those in destinations.deny; to block the listed "
		    "addresses, list them in destinations.allow",
		    json_string_value(json_object_get(rule, "name")) ?
		    json_string_value(json_object_get(rule, "name")) : "?");
		json_array_append_new(warnings, json_string(msg));
	}
	json_array_foreach(ids, i, id) {
		zg_key key;
		zg_errmsg em;
		const char *s = json_string_value(id);
		if (s == NULL || app->keys == NULL)
			continue;
		if (zg_keys_get(app->keys, s, &key, &em) == ZG_OK) {
			zg_key_free(&key);
			continue;
		}
		char msg[160];
		snprintf(msg, sizeof(msg), "key %.64s does not exist; the "
		    "policy covers it once it is created", s);
		json_array_append_new(warnings, json_string(msg));
	}
}

zg_err
zg_h_policy_put(zg_app *app, zg_request *req)
{
	zg_txpolicy_checks checks = {app, check_role_exists,
	    check_chain_has_rpc, count_role_holders};
	zg_txpolicy *p = NULL;
	json_t *body = NULL, *warnings = NULL, *name_j;
	const char *name;
	bool created = false;
	zg_err err;

	if ((err = path_name(req, &name)) != ZG_OK)
		return err;
	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK)
		return err;
	name_j = json_object_get(body, "name");
	if (name_j == NULL) {
		json_object_set_new(body, "name", json_string(name));
	} else if (!json_is_string(name_j) ||
	    strcmp(json_string_value(name_j), name) != 0) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"name\" must "
		    "equal the policy name in the path, %s", name);
		goto out;
	}
	if ((err = zg_txpolicy_from_json(body, &checks, &p, &warnings,
	    &req->em)) != ZG_OK)
		goto out;
	if (warnings == NULL && (warnings = json_array()) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	add_key_warnings(app, body, warnings);
	if ((err = zg_txgate_put_policy(app->st, p, &created,
	    &req->em)) != ZG_OK)
		goto out;
	req->audit_metadata = json_pack("{s:s,s:b,s:O}", "policy", name,
	    "created", created, "warnings", warnings);
	zg_log_info("transaction policy stored", ZGF_S("policy", name),
	    ZGF_S("user_id", req->principal.user_id),
	    ZGF_I("warnings", json_array_size(warnings)));
	zg_req_reply(req, created ? 201 : 200, json_pack("{s:o,s:O}",
	    "policy", zg_txpolicy_to_json(p), "warnings", warnings));
out:
	zg_txpolicy_free(p);
	json_decref(warnings);
	json_decref(body);
	return err;
}

/* Finds the named policy in snap, or NULL. */
static const zg_txpolicy *
find_policy(const zg_txsnapshot *snap, const char *name)
{
	for (size_t i = 0; i < snap->npolicies; i++)
		if (strcmp(zg_txpolicy_name(snap->policies[i]), name) == 0)
			return snap->policies[i];
	return NULL;
}

zg_err
zg_h_policy_get(zg_app *app, zg_request *req)
{
	const zg_txsnapshot *snap;
	const char *name;
	zg_err err;

	if ((err = path_name(req, &name)) != ZG_OK)
		return err;
	if ((err = zg_txgate_acquire(app->txgate, &snap, &req->em)) != ZG_OK)
		return err;
	const zg_txpolicy *p = find_policy(snap, name);
	if (p == NULL)
		err = zg_fail(&req->em, ZG_ERR_NOT_FOUND, "policy %s not found",
		    name);
	else
		zg_req_reply(req, 200, zg_txpolicy_to_json(p));
	zg_txgate_release(app->txgate, snap);
	return err;
}

zg_err
zg_h_policy_delete(zg_app *app, zg_request *req)
{
	const char *name;
	zg_err err;

	if ((err = path_name(req, &name)) != ZG_OK)
		return err;
	if ((err = zg_txgate_delete_policy(app->st, name, &req->em)) != ZG_OK)
		return err;
	zg_log_info("transaction policy deleted", ZGF_S("policy", name),
	    ZGF_S("user_id", req->principal.user_id));
	zg_req_reply(req, 200, json_pack("{s:s,s:b}", "name", name, "deleted",
	    1));
	return ZG_OK;
}

/*
 * Fills facts from the one payload field of an evaluation body:
 * "transaction", "message" (with "encoding") or "typedData".
 */
static zg_err
eval_facts(zg_request *req, const json_t *body, zg_tx *tx, bool *has_tx,
    zg_txfacts *facts)
{
	json_t *t = json_object_get(body, "transaction");
	json_t *m = json_object_get(body, "message");
	json_t *td = json_object_get(body, "typedData");
	zg_err err;

	*has_tx = false;
	if ((t != NULL) + (m != NULL) + (td != NULL) != 1)
		return zg_fail(&req->em, ZG_ERR_INVALID, "send exactly one of "
		    "the fields \"transaction\", \"message\" and \"typedData\"");
	if (t != NULL) {
		if ((err = zg_tx_parse(t, tx, &req->em)) != ZG_OK)
			return err;
		*has_tx = true;
		return zg_txfacts_from_tx(tx, NULL, facts, &req->em);
	}
	if (m != NULL) {
		json_t *msg = json_pack("{s:O}", "message", m);
		json_t *enc = json_object_get(body, "encoding");
		uint8_t *bytes = NULL;
		size_t len = 0;
		if (msg != NULL && enc != NULL)
			json_object_set(msg, "encoding", enc);
		err = msg == NULL ? ZG_ERR_NOMEM : zg_eth_message_parse(msg,
		    &bytes, &len, &req->em);
		free(bytes);
		json_decref(msg);
		zg_txfacts_from_message(facts);
		return err;
	}
	if (!json_is_object(td))
		return zg_fail(&req->em, ZG_ERR_INVALID, "field \"typedData\" "
		    "must be an object with types, primaryType, domain and "
		    "message");
	/* What signing would refuse, evaluate refuses too. */
	uint8_t digest[32];
	zg_err derr = zg_eip712_digest(td, digest, &req->em);
	if (derr != ZG_OK)
		return derr;
	return zg_txfacts_from_typed_data(td, facts, &req->em);
}

zg_err
zg_h_policy_evaluate(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"keyId", "transaction", "message",
	    "encoding", "typedData", "workflowId", NULL};
	const char *key_id, *wf = NULL;
	const zg_txsnapshot *snap = NULL;
	json_t *body = NULL, *roles = NULL, *role;
	zg_txverdict v;
	zg_key key;
	zg_tx tx;
	bool has_tx = false;
	const char *rolev[64];
	size_t nroles = 0, i;
	zg_err err;

	memset(&v, 0, sizeof(v));
	memset(&key, 0, sizeof(key));
	memset(&tx, 0, sizeof(tx));
	zg_txrequest tr = {0};
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		return err;
	if ((err = zg_json_get_string(body, "keyId", ZG_JSON_REQUIRED, 1,
	    ZG_ID_MAX - 1, &key_id, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "workflowId", ZG_JSON_OPTIONAL, 1,
	    128, &wf, NULL, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_keys_get(app->keys, key_id, &key, &req->em)) != ZG_OK) {
		if (err == ZG_ERR_NOT_FOUND)
			err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"keyId\": "
			    "key %s not found", key_id);
		goto out;
	}
	if ((err = eval_facts(req, body, &tx, &has_tx, &tr.facts)) != ZG_OK ||
	    (err = zg_user_roles(app, req->principal.user_id, &req->principal,
	    &roles, &req->em)) != ZG_OK)
		goto out;
	json_array_foreach(roles, i, role) {
		if (nroles < 64)
			rolev[nroles++] = json_string_value(role);
	}
	tr.key_id = key.id;
	tr.key_label = key.label;
	tr.initiator_id = req->principal.user_id;
	tr.initiator_type = strcmp(req->principal.subject_type,
	    "service_account") == 0 ? ZG_TXINITIATOR_SERVICE_ACCOUNT :
	    ZG_TXINITIATOR_USER;
	tr.roles = rolev;
	tr.nroles = nroles;
	tr.workflow_id = wf;
	if ((err = zg_txgate_acquire(app->txgate, &snap, &req->em)) != ZG_OK ||
	    (err = zg_txgate_decide(snap, &tr, has_tx ? &tx : NULL, false,
	    app->cfg.txpolicy_require_policy, &v, &req->em)) != ZG_OK)
		goto out;

	const char *decision = zg_txaction_name(v.action);
	char reason[sizeof(v.reason) + sizeof(req->em.text)];
	snprintf(reason, sizeof(reason), "%s", v.reason);
	bool limit_exceeded = false;
	if (v.action != ZG_TXACTION_BLOCK) {
		zg_errmsg lem;
		zg_err lerr = zg_txgate_check_limits(app->st, &v,
		    zg_time_now_us(), &lem);
		if (lerr == ZG_ERR_FORBIDDEN || lerr == ZG_ERR_RATE_LIMITED) {
			decision = "block";
			limit_exceeded = true;
			snprintf(reason, sizeof(reason), "%s", lem.text);
		} else if (lerr != ZG_OK) {
			err = zg_fail(&req->em, lerr, "%s", lem.text);
			goto out;
		}
	}
	json_t *approval = v.action == ZG_TXACTION_REQUIRE_APPROVAL ?
	    json_pack("{s:I,s:s,s:I}", "count", (json_int_t)v.approval.count,
	    "fromRole", v.approval.from_role, "expiresInSeconds",
	    (json_int_t)v.approval.expires_in_s) : json_null();
	zg_req_reply(req, 200, json_pack("{s:s,s:s?,s:s?,s:s,s:o,s:b,s:b,s:b,"
	    "s:b}", "decision", decision, "policy", v.policy[0] ? v.policy :
	    NULL, "rule", v.rule[0] ? v.rule : NULL, "reason", reason,
	    "approval", approval, "simulate", v.simulate, "limitExceeded",
	    limit_exceeded, "emergencyStop", v.stopped, "noPolicy",
	    v.no_policy));
out:
	zg_txverdict_free(&v);
	if (snap != NULL)
		zg_txgate_release(app->txgate, snap);
	if (has_tx)
		zg_tx_free(&tx);
	zg_key_free(&key);
	json_decref(roles);
	json_decref(body);
	return err;
}

/* ---- limits ---- */

zg_err
zg_h_limits(zg_app *app, zg_request *req)
{
	const zg_txsnapshot *snap;
	json_t *items = json_array();
	int64_t now = zg_time_now_us();
	zg_err err;

	if (items == NULL)
		return ZG_ERR_NOMEM;
	if ((err = zg_txgate_acquire(app->txgate, &snap, &req->em)) != ZG_OK) {
		json_decref(items);
		return err;
	}
	for (size_t i = 0; i < snap->npolicies && err == ZG_OK; i++) {
		const zg_txpolicy *p = snap->policies[i];
		zg_txlimit_status *st = NULL;
		size_t n = 0;
		if (zg_txpolicy_limit_count(p) == 0)
			continue;
		if ((err = zg_txlimits_status(app->st, p, now, &st, &n,
		    &req->em)) != ZG_OK)
			break;
		for (size_t k = 0; k < n; k++) {
			json_array_append_new(items,
			    zg_txlimit_status_to_json(p, &st[k]));
		}
		free(st);
	}
	zg_txgate_release(app->txgate, snap);
	if (err != ZG_OK) {
		json_decref(items);
		return err;
	}
	zg_req_reply(req, 200, json_pack("{s:o}", "items", items));
	return ZG_OK;
}

/* ---- emergency stops ---- */

zg_err
zg_h_stop_create(zg_app *app, zg_request *req)
{
	json_t *body = NULL;
	zg_txstop s;
	zg_obj_row row;
	zg_err err;

	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK)
		return err;
	err = zg_txstop_from_json(body, &s, &req->em);
	json_decref(body);
	if (err != ZG_OK)
		return err;
	/* A stop on a name that does not exist would protect nothing,
	 * which is most likely a typo. */
	if (s.scope == ZG_TXSTOP_KEY) {
		zg_key key;
		zg_errmsg inner;
		if (zg_keys_get(app->keys, s.target, &key, &inner) != ZG_OK)
			return zg_fail(&req->em, ZG_ERR_INVALID, "field "
			    "\"scope.keyId\": key %s not found", s.target);
		zg_key_free(&key);
	}
	if (s.scope == ZG_TXSTOP_POLICY) {
		if (app->st->ops->obj_get(app->st, ZG_TXPOLICY_KIND, s.target,
		    &row) != ZG_OK)
			return zg_fail(&req->em, ZG_ERR_INVALID, "field "
			    "\"scope.policy\": policy %s not found", s.target);
		zg_obj_row_free(&row);
	}
	snprintf(s.created_by, sizeof(s.created_by), "%s",
	    req->principal.user_id);
	s.created_at = zg_time_now_us();
	if ((err = zg_txstops_add(app->st, &s, &req->em)) != ZG_OK)
		return err;
	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "emergency-stops/%s", s.id);
	req->audit_metadata = json_pack("{s:s,s:s}", "stopId", s.id, "reason",
	    s.reason);
	zg_log_warn("emergency stop: signing frozen", ZGF_S("stop_id", s.id),
	    ZGF_S("target", s.target[0] ? s.target : "all keys"),
	    ZGF_S("user_id", s.created_by));
	zg_req_reply(req, 201, zg_txstop_to_json(&s));
	return ZG_OK;
}

zg_err
zg_h_stop_list(zg_app *app, zg_request *req)
{
	zg_txstop *stops = NULL;
	size_t n = 0;
	zg_err err;

	if ((err = zg_txstops_list(app->st, &stops, &n, &req->em)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, zg_txstop_to_json(&stops[i]));
	free(stops);
	zg_req_reply(req, 200, json_pack("{s:o}", "items", items));
	return ZG_OK;
}

zg_err
zg_h_stop_lift(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"reason", NULL};
	const char *reason = zg_req_query(req, "reason");
	json_t *body = NULL;
	zg_txstop s;
	zg_err err;

	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "emergency-stops/%.140s", req->params[0]);
	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		return err;
	if (json_object_get(body, "reason") != NULL &&
	    (err = zg_json_get_string(body, "reason", ZG_JSON_REQUIRED, 1,
	    ZG_TXSTOP_REASON_MAX - 1, &reason, NULL, &req->em)) != ZG_OK)
		goto out;
	if (reason == NULL || reason[0] == '\0' ||
	    strlen(reason) >= ZG_TXSTOP_REASON_MAX) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"reason\" is "
		    "required to lift a stop: 1 to %d bytes, in the body or "
		    "the query", ZG_TXSTOP_REASON_MAX - 1);
		goto out;
	}
	if ((err = zg_txstops_lift(app->st, req->params[0], &s,
	    &req->em)) != ZG_OK)
		goto out;
	req->audit_metadata = json_pack("{s:s,s:s,s:s}", "stopId", s.id,
	    "reason", reason, "stopReason", s.reason);
	zg_log_warn("emergency stop lifted", ZGF_S("stop_id", s.id),
	    ZGF_S("user_id", req->principal.user_id));
	json_t *j = zg_txstop_to_json(&s);
	if (j != NULL) {
		json_object_set_new(j, "liftedBy",
		    json_string(req->principal.user_id));
		json_object_set_new(j, "liftReason", json_string(reason));
	}
	zg_req_reply(req, 200, j);
out:
	json_decref(body);
	return err;
}

/* ---- simulation without signing ---- */

zg_err
zg_h_simulate(zg_app *app, zg_request *req)
{
	json_t *body = NULL;
	zg_key key;
	zg_tx tx;
	zg_sim_result res;
	uint8_t from[20];
	char chain[ZG_U256_DEC_LEN];
	bool have_from = false;
	zg_err err;

	memset(&tx, 0, sizeof(tx));
	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK ||
	    (err = zg_tx_parse(body, &tx, &req->em)) != ZG_OK)
		goto out;
	for (size_t i = 0; i < key.nversions; i++) {
		if (key.versions[i].version == key.current_version &&
		    key.versions[i].pub_len == ZG_SECP_PUB_LEN) {
			zg_eth_address(key.versions[i].pub, from);
			have_from = true;
		}
	}
	if (key.alg != ZG_KEY_ALG_SECP256K1 || !have_from) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "key %s is %s; simulation "
		    "needs a secp256k1 key", key.id, zg_key_alg_name(key.alg));
		goto out;
	}
	zg_u256_to_dec(&tx.chain_id, chain);
	const char *url = zg_config_rpc_endpoint(&app->cfg, chain);
	if (url == NULL) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"chainId\": chain "
		    "%s has no JSON-RPC endpoint; add one under [rpc] in the "
		    "config", chain);
		goto out;
	}
	zg_rpc_options opts = {app->cfg.rpc_connect_timeout_ms,
	    app->cfg.rpc_timeout_ms, 0};
	if ((err = zg_simulate(&tx, from, url, &opts, &res, &req->em)) != ZG_OK)
		goto out;
	req->audit_metadata = json_pack("{s:s,s:s,s:b}", "keyId", key.id,
	    "chainId", chain, "success", res.success);
	char gas[24];
	snprintf(gas, sizeof(gas), "%llu", (unsigned long long)res.gas_estimate);
	zg_req_reply(req, 200, json_pack("{s:b,s:o,s:o,s:b}", "success",
	    res.success, "gasEstimate", res.has_gas_estimate ?
	    json_string(gas) : json_null(),
	    "revertReason", res.success ? json_null() :
	    json_string(res.revert.reason), "balanceSufficient",
	    res.balance_sufficient));
out:
	zg_tx_free(&tx);
	zg_key_free(&key);
	json_decref(body);
	return err;
}
