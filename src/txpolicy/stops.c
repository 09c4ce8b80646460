/*
 * Emergency stops: stored objects of kind ZG_TXSTOP_KIND. A stop is
 * active while its object exists; lifting deletes it. Every write bumps
 * ZG_TXGATE_COUNTER in the same batch, so every process sharing the
 * store reloads its stops before its next signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "crypto/crypto.h"
#include "keys/keys.h"
#include "txpolicy/gate.h"

static const char *const scope_names[] = {"key", "policy", "all"};

zg_err
zg_txstop_from_json(const json_t *body, zg_txstop *out, zg_errmsg *em)
{
	static const char *const top[] = {"scope", "reason", NULL};
	static const char *const key_fields[] = {"type", "keyId", NULL};
	static const char *const policy_fields[] = {"type", "policy", NULL};
	static const char *const all_fields[] = {"type", NULL};
	const char *type, *reason, *target = NULL;
	json_t *scope;
	zg_err err;

	memset(out, 0, sizeof(*out));
	if ((err = zg_json_only_keys(body, top, em)) != ZG_OK)
		return err;
	scope = json_object_get(body, "scope");
	if (!json_is_object(scope))
		return zg_fail(em, ZG_ERR_INVALID, "field \"scope\" is required: "
		    "{\"type\":\"key\",\"keyId\"}, {\"type\":\"policy\","
		    "\"policy\"} or {\"type\":\"all\"}");
	if ((err = zg_json_get_string(scope, "type", ZG_JSON_REQUIRED, 1, 16,
	    &type, NULL, em)) != ZG_OK)
		return zg_fail(em, err, "field \"scope.type\" is required: key, "
		    "policy or all");
	if (strcmp(type, "key") == 0) {
		out->scope = ZG_TXSTOP_KEY;
		if ((err = zg_json_only_keys_in(scope, "scope", key_fields, em)) != ZG_OK)
			return err;
		if (zg_json_get_string(scope, "keyId", ZG_JSON_REQUIRED, 1,
		    ZG_ID_MAX - 1, &target, NULL, em) != ZG_OK ||
		    !zg_key_id_valid(target))
			return zg_fail(em, ZG_ERR_INVALID, "field \"scope.keyId\" "
			    "must be a key id: key_ followed by 24 hex digits");
	} else if (strcmp(type, "policy") == 0) {
		out->scope = ZG_TXSTOP_POLICY;
		if ((err = zg_json_only_keys_in(scope, "scope", policy_fields, em)) != ZG_OK)
			return err;
		if (zg_json_get_string(scope, "policy", ZG_JSON_REQUIRED, 1,
		    ZG_TXPOLICY_NAME_MAX - 1, &target, NULL, em) != ZG_OK)
			return zg_fail(em, ZG_ERR_INVALID, "field \"scope.policy\" "
			    "must be a policy name of 1 to %d bytes",
			    ZG_TXPOLICY_NAME_MAX - 1);
	} else if (strcmp(type, "all") == 0) {
		out->scope = ZG_TXSTOP_ALL;
		if ((err = zg_json_only_keys_in(scope, "scope", all_fields, em)) != ZG_OK)
			return err;
	} else {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(type, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"scope.type\" must be "
		    "key, policy or all; got \"%s\"", q);
	}
	if (target != NULL)
		snprintf(out->target, sizeof(out->target), "%s", target);
	const json_t *rv = json_object_get(body, "reason");
	if (rv != NULL && !json_is_string(rv)) {
		char shown[ZG_QUOTE_MAX + 2];
		zg_json_value_text(rv, shown, sizeof(shown));
		return zg_fail(em, ZG_ERR_INVALID, "field \"reason\" must be a "
		    "string saying why signing stops; got %s", shown);
	}
	if (zg_json_get_string(body, "reason", ZG_JSON_REQUIRED, 1,
	    ZG_TXSTOP_REASON_MAX - 1, &reason, NULL, em) != ZG_OK)
		return zg_fail(em, ZG_ERR_INVALID, "field \"reason\" is required: "
		    "1 to %d bytes saying why signing stops",
		    ZG_TXSTOP_REASON_MAX - 1);
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
	return ZG_OK;
}

json_t *
zg_txstop_to_json(const zg_txstop *s)
{
	json_t *scope = json_pack("{s:s}", "type", scope_names[s->scope]);
	if (scope != NULL && s->scope == ZG_TXSTOP_KEY)
		json_object_set_new(scope, "keyId", json_string(s->target));
	else if (scope != NULL && s->scope == ZG_TXSTOP_POLICY)
		json_object_set_new(scope, "policy", json_string(s->target));
	return json_pack("{s:s,s:o,s:s,s:s,s:o}", "id", s->id, "scope", scope,
	    "reason", s->reason, "createdBy", s->created_by, "createdAt",
	    zg_json_time(s->created_at));
}

/* Reads a stored stop; ZG_ERR_INTEGRITY when it does not parse. */
static zg_err
stop_from_row(const zg_obj_row *row, zg_txstop *out, zg_errmsg *em)
{
	json_t *j = json_loads(row->body_json, 0, NULL);
	json_t *scope = json_object_get(j, "scope");
	const char *by = json_string_value(json_object_get(j, "createdBy"));
	zg_err err = ZG_ERR_INTEGRITY;
	zg_errmsg inner;

	if (j == NULL || by == NULL)
		goto out;
	json_t *copy = json_pack("{s:O,s:O}", "scope", scope, "reason",
	    json_object_get(j, "reason"));
	if (copy == NULL)
		goto out;
	err = zg_txstop_from_json(copy, out, &inner);
	json_decref(copy);
	if (err != ZG_OK) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%.63s", row->id);
	snprintf(out->created_by, sizeof(out->created_by), "%s", by);
	out->created_at = row->created_at;
out:
	json_decref(j);
	if (err != ZG_OK)
		zg_fail(em, ZG_ERR_INTEGRITY, "stored emergency stop %s does not "
		    "parse", row->id);
	return err;
}

zg_err
zg_txstops_add(zg_store *st, zg_txstop *s, zg_errmsg *em)
{
	uint8_t rnd[12];
	zg_obj_row row, counter;
	json_t *j = NULL;
	zg_err err;

	memset(&row, 0, sizeof(row));
	memset(&counter, 0, sizeof(counter));
	if ((err = zg_random(rnd, sizeof(rnd))) != ZG_OK)
		return zg_fail(em, err, "no random bytes for a stop id");
	memcpy(s->id, "stop_", 5);
	zg_hex_encode(rnd, sizeof(rnd), s->id + 5);
	if ((j = zg_txstop_to_json(s)) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	snprintf(row.kind, sizeof(row.kind), "%s", ZG_TXSTOP_KIND);
	snprintf(row.id, sizeof(row.id), "%s", s->id);
	snprintf(row.owner, sizeof(row.owner), "%s", s->created_by);
	row.created_at = row.updated_at = s->created_at;
	row.body_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (row.body_json == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	snprintf(counter.id, sizeof(counter.id), "%s", ZG_TXGATE_COUNTER);
	zg_obj_op ops[2] = {
		{ZG_OBJ_PUT, &row, ZG_REV_NEW, 0},
		{ZG_OBJ_COUNTER, &counter, 0, 1},
	};
	err = st->ops->obj_apply(st, ops, 2, NULL);
	if (err != ZG_OK)
		zg_fail(em, err, "storing emergency stop %s failed", s->id);
	zg_json_free_text(row.body_json);
	return err;
}

zg_err
zg_txstops_lift(zg_store *st, const char *id, zg_txstop *lifted,
    zg_errmsg *em)
{
	zg_obj_row row, counter;
	zg_err err;

	memset(&counter, 0, sizeof(counter));
	err = st->ops->obj_get(st, ZG_TXSTOP_KIND, id, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, err, "emergency stop %s is not active", id);
	if (err != ZG_OK)
		return zg_fail(em, err, "reading emergency stop %s failed", id);
	if ((err = stop_from_row(&row, lifted, em)) != ZG_OK)
		goto out;
	snprintf(counter.id, sizeof(counter.id), "%s", ZG_TXGATE_COUNTER);
	zg_obj_op ops[2] = {
		{ZG_OBJ_DELETE, &row, row.rev, 0},
		{ZG_OBJ_COUNTER, &counter, 0, 1},
	};
	err = st->ops->obj_apply(st, ops, 2, NULL);
	if (err == ZG_ERR_NOT_FOUND || err == ZG_ERR_CONFLICT)
		err = zg_fail(em, ZG_ERR_NOT_FOUND, "emergency stop %s was "
		    "lifted meanwhile", id);
	else if (err != ZG_OK)
		zg_fail(em, err, "lifting emergency stop %s failed", id);
out:
	zg_obj_row_free(&row);
	return err;
}

zg_err
zg_txstops_list(zg_store *st, zg_txstop **out, size_t *n, zg_errmsg *em)
{
	zg_obj_row *rows = NULL;
	size_t nrows = 0;
	zg_err err;

	*out = NULL;
	*n = 0;
	if ((err = st->ops->obj_list(st, ZG_TXSTOP_KIND, NULL, NULL, NULL,
	    ZG_TXSTOPS_MAX, &rows, &nrows)) != ZG_OK)
		return zg_fail(em, err, "listing emergency stops failed");
	if (nrows > 0 && (*out = calloc(nrows, sizeof(**out))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nrows; i++) {
		if ((err = stop_from_row(&rows[i], &(*out)[i], em)) != ZG_OK) {
			free(*out);
			*out = NULL;
			goto out;
		}
	}
	*n = nrows;
out:
	zg_obj_rows_free(rows, nrows);
	return err;
}

bool
zg_txstop_covers(const zg_txstop *s, const char *key_id,
    const char *const *policies, size_t npolicies)
{
	switch (s->scope) {
	case ZG_TXSTOP_ALL:
		return true;
	case ZG_TXSTOP_KEY:
		return strcmp(s->target, key_id) == 0;
	case ZG_TXSTOP_POLICY:
		for (size_t i = 0; i < npolicies; i++)
			if (strcmp(s->target, policies[i]) == 0)
				return true;
		return false;
	}
	return true;
}
