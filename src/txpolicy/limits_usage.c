/*
 * Usage records of spending limits: reading one from the store, parsing
 * its body, pruning the entries of a rolling window, and encoding it for
 * a write. The stored layout is documented in txpolicy.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "txpolicy/txpolicy_internal.h"

void
txl_usage_init(txl_usage *u, const char *id, bool rolling)
{
	size_t len = strnlen(id, sizeof(u->id) - 1);
	memset(u, 0, sizeof(*u));
	memcpy(u->id, id, len);
	u->rolling = rolling;
}

void
txl_usage_clear(txl_usage *u)
{
	free(u->entries);
	memset(u, 0, sizeof(*u));
}

zg_err
txl_usage_add_entry(txl_usage *u, const char *id, int64_t at_us,
    const zg_u256 *amount)
{
	if (u->nentries == u->cap) {
		size_t cap = u->cap == 0 ? 8 : u->cap * 2;
		txl_entry *v = realloc(u->entries, cap * sizeof(*v));
		if (v == NULL)
			return ZG_ERR_NOMEM;
		u->entries = v;
		u->cap = cap;
	}
	txl_entry *e = &u->entries[u->nentries++];
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->at_us = at_us;
	e->amount = *amount;
	return ZG_OK;
}

zg_err
txl_usage_prune(txl_usage *u, int64_t cutoff_us)
{
	size_t kept = 0;

	zg_u256_from_u64(&u->used, 0);
	for (size_t i = 0; i < u->nentries; i++) {
		if (u->entries[i].at_us <= cutoff_us)
			continue;
		if (zg_u256_add(&u->used, &u->used, &u->entries[i].amount))
			return ZG_ERR_INTEGRITY;
		u->entries[kept++] = u->entries[i];
	}
	u->nentries = kept;
	return ZG_OK;
}

static zg_err
parse_entries(const json_t *entries, txl_usage *u)
{
	size_t i;
	json_t *e;

	if (!json_is_array(entries))
		return ZG_ERR_INTEGRITY;
	json_array_foreach(entries, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		json_t *at = json_object_get(e, "at");
		zg_u256 amount;
		if (id == NULL || strlen(id) >= ZG_TXLIMIT_RESERVATION_MAX ||
		    !json_is_integer(at) ||
		    zg_u256_from_json(json_object_get(e, "amount"), "amount",
		    &amount, NULL) != ZG_OK)
			return ZG_ERR_INTEGRITY;
		if (txl_usage_add_entry(u, id, json_integer_value(at),
		    &amount) != ZG_OK)
			return ZG_ERR_NOMEM;
	}
	return ZG_OK;
}

zg_err
txl_usage_parse(const zg_obj_row *row, txl_usage *u, zg_errmsg *em)
{
	json_t *body = NULL;
	zg_err err = ZG_ERR_INTEGRITY;

	u->rev = row->rev;
	u->created_at = row->created_at;
	u->nentries = 0;
	if ((body = json_loads(row->body_json, 0, NULL)) == NULL ||
	    zg_u256_from_json(json_object_get(body, "used"), "used", &u->used,
	    NULL) != ZG_OK)
		goto out;
	if (u->rolling && (err = parse_entries(json_object_get(body,
	    "entries"), u)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	json_decref(body);
	if (err == ZG_ERR_NOMEM)
		return zg_fail(em, err, "out of memory");
	if (err != ZG_OK)
		return zg_fail(em, err, "spending limit usage %s has a "
		    "malformed body", u->id);
	return ZG_OK;
}

zg_err
txl_usage_fetch(zg_store *st, txl_usage *u, zg_errmsg *em)
{
	zg_obj_row row;
	zg_err err;

	memset(&row, 0, sizeof(row));
	err = st->ops->obj_get(st, ZG_TXLIMIT_USAGE_KIND, u->id, &row);
	if (err == ZG_ERR_NOT_FOUND) {
		u->rev = ZG_REV_NEW;
		u->nentries = 0;
		zg_u256_from_u64(&u->used, 0);
		return ZG_OK;
	}
	if (err != ZG_OK)
		return zg_fail(em, err, "reading spending limit usage %s "
		    "failed", u->id);
	err = txl_usage_parse(&row, u, em);
	zg_obj_row_free(&row);
	return err;
}

static json_t *
entries_to_json(const txl_usage *u)
{
	char amount[ZG_U256_DEC_LEN];
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < u->nentries; i++) {
		const txl_entry *e = &u->entries[i];
		zg_u256_to_dec(&e->amount, amount);
		if (json_array_append_new(a, json_pack("{s:s,s:I,s:s}", "id",
		    e->id, "at", (json_int_t)e->at_us, "amount", amount)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

zg_err
txl_usage_to_row(const txl_usage *u, int64_t now_us, zg_obj_row *row)
{
	char used[ZG_U256_DEC_LEN];
	json_t *body;

	zg_u256_to_dec(&u->used, used);
	if ((body = json_pack("{s:s}", "used", used)) == NULL)
		return ZG_ERR_NOMEM;
	if (u->rolling && json_object_set_new(body, "entries",
	    entries_to_json(u)) != 0) {
		json_decref(body);
		return ZG_ERR_NOMEM;
	}
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (text == NULL)
		return ZG_ERR_NOMEM;
	row->body_json = strdup(text);
	zg_json_free_text(text);
	if (row->body_json == NULL)
		return ZG_ERR_NOMEM;
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_TXLIMIT_USAGE_KIND);
	snprintf(row->id, sizeof(row->id), "%s", u->id);
	row->rev = u->rev;
	row->created_at = u->rev == ZG_REV_NEW ? now_us : u->created_at;
	row->updated_at = now_us;
	return ZG_OK;
}
