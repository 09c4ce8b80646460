/*
 * Spending limits: usage records per window in the generic object store,
 * reserved and released with compare-and-set batches. The stored layout
 * is documented in txpolicy.h.
 *
 * Atomicity: a reservation reads every usage record it charges, checks
 * each limit, and writes all of them with the reservation record in one
 * obj_apply whose puts expect the revisions read. If another writer
 * changed any record in between, the whole batch fails with
 * ZG_ERR_CONFLICT and is retried from the read, so no two reservations
 * can both be granted on the same remaining amount.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/jsonutil.h"
#include "base/timeutil.h"
#include "txpolicy/txpolicy_internal.h"

#define RETRIES_MAX 1000
#define US 1000000LL

/* One usage record as read and as it will be written. */
typedef struct usage {
	zg_obj_row row;          /* kind, id, rev and created_at as stored */
	bool exists;
	bool rolling;
	zg_u256 used;
	json_t *entries;         /* rolling windows: live reservations */
	int64_t window_start_us;
	int64_t window_end_us;   /* calendar windows */
} usage;

static void
usage_clear(usage *u)
{
	zg_obj_row_free(&u->row);
	json_decref(u->entries);
	memset(u, 0, sizeof(*u));
}

/* ---- usage records ---- */

static zg_err
usage_id(const zg_txpolicy *p, const txp_limit *l, const char *scope,
    int64_t start_s, char out[ZG_OBJ_ID_MAX])
{
	int n;
	if (l->window == TXP_WINDOW_ROLLING)
		n = snprintf(out, ZG_OBJ_ID_MAX, "%s/%s/%s/rolling", p->name,
		    l->name, scope);
	else
		n = snprintf(out, ZG_OBJ_ID_MAX, "%s/%s/%s/%lld", p->name,
		    l->name, scope, (long long)start_s);
	return n > 0 && n < ZG_OBJ_ID_MAX ? ZG_OK : ZG_ERR_INVALID;
}

/* Removes rolling entries at or before cutoff_us and recomputes used. */
static zg_err
rolling_prune(usage *u, int64_t cutoff_us)
{
	size_t i = 0;
	zg_u256_from_u64(&u->used, 0);
	while (i < json_array_size(u->entries)) {
		json_t *e = json_array_get(u->entries, i);
		zg_u256 amount;
		if (json_integer_value(json_object_get(e, "at")) <= cutoff_us) {
			json_array_remove(u->entries, i);
			continue;
		}
		if (zg_u256_from_json(json_object_get(e, "amount"), "amount",
		    &amount, NULL) != ZG_OK ||
		    zg_u256_add(&u->used, &u->used, &amount))
			return ZG_ERR_INTEGRITY;
		i++;
	}
	return ZG_OK;
}

/* Reads the usage record id; a missing record reads as unused. */
static zg_err
usage_load(zg_store *st, const char *id, bool rolling, int64_t cutoff_us,
    usage *u, zg_errmsg *em)
{
	json_error_t jerr;
	json_t *body = NULL;
	zg_err err;

	memset(u, 0, sizeof(*u));
	u->rolling = rolling;
	if (rolling && (u->entries = json_array()) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	err = st->ops->obj_get(st, ZG_TXLIMIT_USAGE_KIND, id, &u->row);
	if (err == ZG_ERR_NOT_FOUND) {
		snprintf(u->row.kind, sizeof(u->row.kind), "%s",
		    ZG_TXLIMIT_USAGE_KIND);
		snprintf(u->row.id, sizeof(u->row.id), "%s", id);
		return ZG_OK;
	}
	if (err != ZG_OK)
		return zg_fail(em, err, "reading spending limit usage %s "
		    "failed", id);
	u->exists = true;
	if ((body = json_loads(u->row.body_json, 0, &jerr)) == NULL ||
	    zg_u256_from_json(json_object_get(body, "used"), "used", &u->used,
	    NULL) != ZG_OK)
		goto corrupt;
	if (rolling) {
		json_t *e = json_object_get(body, "entries");
		if (!json_is_array(e))
			goto corrupt;
		json_decref(u->entries);
		u->entries = json_incref(e);
		if (rolling_prune(u, cutoff_us) != ZG_OK)
			goto corrupt;
	}
	json_decref(body);
	return ZG_OK;
corrupt:
	json_decref(body);
	return zg_fail(em, ZG_ERR_INTEGRITY, "spending limit usage %s has a "
	    "malformed body", id);
}

/* Replaces u->row.body_json with the record's JSON. */
static zg_err
usage_encode(usage *u, int64_t now_us)
{
	char used[ZG_U256_DEC_LEN];
	zg_u256_to_dec(&u->used, used);
	json_t *body = json_pack("{s:s}", "used", used);
	if (body == NULL || (u->rolling && json_object_set(body, "entries",
	    u->entries) != 0)) {
		json_decref(body);
		return ZG_ERR_NOMEM;
	}
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (text == NULL)
		return ZG_ERR_NOMEM;
	free(u->row.body_json);
	u->row.body_json = strdup(text);
	zg_json_free_text(text);
	if (u->row.body_json == NULL)
		return ZG_ERR_NOMEM;
	if (!u->exists)
		u->row.created_at = now_us;
	u->row.updated_at = now_us;
	return ZG_OK;
}

static zg_err
put_body(zg_obj_row *row, json_t *body, int64_t now_us)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		return ZG_ERR_NOMEM;
	free(row->body_json);
	row->body_json = strdup(text);
	zg_json_free_text(text);
	row->updated_at = now_us;
	return row->body_json == NULL ? ZG_ERR_NOMEM : ZG_OK;
}

/* Waits a little before a retry, longer after more conflicts. */
static void
backoff(int attempt)
{
	int64_t us = 20 * (attempt < 50 ? attempt + 1 : 50);
	/* The low bits of the clock spread retrying threads apart. */
	us += (zg_time_mono_us() >> 3) % 64;
	struct timespec ts = {0, (long)us * 1000};
	nanosleep(&ts, NULL);
}

static bool
reservation_id_valid(const char *id)
{
	size_t len = strlen(id);
	if (len == 0 || len >= ZG_TXLIMIT_RESERVATION_MAX)
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._:-") == len;
}

/* ---- reserve ---- */

static zg_err
exceeded(const zg_txpolicy *p, const zg_txlimit_charge *c, const usage *u,
    zg_errmsg *em)
{
	const txp_limit *l = &p->limits[c->limit];
	char used[ZG_U256_DEC_LEN], max[ZG_U256_DEC_LEN];
	char amount[ZG_U256_DEC_LEN], reset[32] = "";
	zg_u256_to_dec(&u->used, used);
	zg_u256_to_dec(&l->max, max);
	zg_u256_to_dec(&c->amount, amount);
	if (l->window != TXP_WINDOW_ROLLING)
		zg_time_format_rfc3339(u->window_end_us, reset, sizeof(reset));
	return zg_fail(em, ZG_ERR_FORBIDDEN, "spending limit %s of policy %s "
	    "for %s would be exceeded: %s used of %s, %s requested%s%s",
	    l->name, p->name, c->scope_value, used, max, amount,
	    reset[0] != '\0' ? "; the window resets at " : "", reset);
}

/* Reads the usage records of every charge and adds the charges, or fails
 * with the first limit that would be exceeded. */
static zg_err
charge_all(zg_store *st, const zg_txpolicy *p, const zg_txlimit_charge *ch,
    size_t n, const char *res_id, int64_t now_us, usage *u, json_t *entries,
    zg_errmsg *em)
{
	char id[ZG_OBJ_ID_MAX], amount[ZG_U256_DEC_LEN];
	int64_t now_s = txp_floor_div(now_us, US), start = 0, end = 0;
	zg_err err;

	for (size_t i = 0; i < n; i++) {
		const txp_limit *l = &p->limits[ch[i].limit];
		bool rolling = l->window == TXP_WINDOW_ROLLING;
		if (!rolling)
			txp_calendar_bounds(l, now_s, &start, &end);
		if (usage_id(p, l, ch[i].scope_value, start, id) != ZG_OK)
			return zg_fail(em, ZG_ERR_INVALID, "scope value of "
			    "limit %s is too long", l->name);
		if ((err = usage_load(st, id, rolling,
		    now_us - l->seconds * US, &u[i], em)) != ZG_OK)
			return err;
		u[i].window_start_us = start * US;
		u[i].window_end_us = end * US;

		zg_u256 sum;
		if (zg_u256_add(&sum, &u[i].used, &ch[i].amount) ||
		    zg_u256_cmp(&sum, &l->max) > 0)
			return exceeded(p, &ch[i], &u[i], em);
		if (rolling && json_array_size(u[i].entries) >=
		    ZG_TXLIMIT_ROLLING_ENTRIES_MAX)
			return zg_fail(em, ZG_ERR_RATE_LIMITED, "spending limit "
			    "%s for %s already has %d live reservations in its "
			    "rolling window; retry after older ones expire",
			    l->name, ch[i].scope_value,
			    ZG_TXLIMIT_ROLLING_ENTRIES_MAX);
		u[i].used = sum;

		zg_u256_to_dec(&ch[i].amount, amount);
		if (rolling && json_array_append_new(u[i].entries,
		    json_pack("{s:s,s:I,s:s}", "id", res_id, "at",
		    (json_int_t)now_us, "amount", amount)) != 0)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		if (usage_encode(&u[i], now_us) != ZG_OK ||
		    json_array_append_new(entries, json_pack(
		    "{s:s,s:s,s:b,s:I}", "usage", id, "amount", amount,
		    "rolling", rolling, "windowEnd",
		    (json_int_t)(end * US))) != 0)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	}
	return ZG_OK;
}

static zg_err
check_charges(const zg_txpolicy *p, const zg_txlimit_charge *ch, size_t n,
    zg_errmsg *em)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].limit >= p->nlimits)
			return zg_fail(em, ZG_ERR_INVALID, "charge %zu names "
			    "limit %zu, but policy %s has %zu limits", i,
			    ch[i].limit, p->name, p->nlimits);
		for (size_t j = 0; j < i; j++) {
			if (ch[j].limit == ch[i].limit &&
			    strcmp(ch[j].scope_value, ch[i].scope_value) == 0)
				return zg_fail(em, ZG_ERR_INVALID, "limit %s is "
				    "charged twice for %s",
				    p->limits[ch[i].limit].name,
				    ch[i].scope_value);
		}
	}
	return ZG_OK;
}

zg_err
zg_txlimits_reserve(zg_store *st, const zg_txpolicy *p,
    const zg_txlimit_charge *charges, size_t n, const char *reservation_id,
    int64_t now_us, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	usage *u = NULL;
	zg_obj_op *ops = NULL;
	zg_obj_row res;
	json_t *entries = NULL, *body = NULL;

	memset(&res, 0, sizeof(res));
	if (!reservation_id_valid(reservation_id))
		return zg_fail(em, ZG_ERR_INVALID, "reservation id must be 1 to "
		    "64 characters of [A-Za-z0-9._:-]");
	if ((err = check_charges(p, charges, n, em)) != ZG_OK)
		return err;
	if ((u = calloc(n + 1, sizeof(*u))) == NULL ||
	    (ops = calloc(n + 1, sizeof(*ops))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(res.kind, sizeof(res.kind), "%s", ZG_TXLIMIT_RESERVATION_KIND);
	snprintf(res.id, sizeof(res.id), "%s", reservation_id);
	res.created_at = now_us;

	for (int attempt = 0; attempt < RETRIES_MAX; attempt++) {
		for (size_t i = 0; i < n; i++)
			usage_clear(&u[i]);
		json_decref(entries);
		json_decref(body);
		body = NULL;
		if ((entries = json_array()) == NULL) {
			err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((err = charge_all(st, p, charges, n, reservation_id, now_us,
		    u, entries, em)) != ZG_OK)
			goto out;
		body = json_pack("{s:s,s:b,s:O}", "policy", p->name,
		    "released", 0, "entries", entries);
		if (body == NULL || put_body(&res, body, now_us) != ZG_OK) {
			err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			ops[i] = (zg_obj_op){ZG_OBJ_PUT, &u[i].row,
			    u[i].exists ? u[i].row.rev : ZG_REV_NEW, 0};
		ops[n] = (zg_obj_op){ZG_OBJ_PUT, &res, ZG_REV_NEW, 0};

		size_t failed = 0;
		err = st->ops->obj_apply(st, ops, n + 1, &failed);
		if (err == ZG_OK)
			goto out;
		if (err != ZG_ERR_CONFLICT) {
			err = zg_fail(em, err, "storing reservation %s failed",
			    reservation_id);
			goto out;
		}
		if (failed == n) {
			err = zg_fail(em, ZG_ERR_CONFLICT, "reservation %s "
			    "already exists", reservation_id);
			goto out;
		}
		backoff(attempt);
	}
	err = zg_fail(em, ZG_ERR_UNAVAILABLE, "reservation %s lost to other "
	    "writers %d times in a row; retry later", reservation_id,
	    RETRIES_MAX);
out:
	for (size_t i = 0; u != NULL && i < n; i++)
		usage_clear(&u[i]);
	free(u);
	free(ops);
	free(res.body_json);
	json_decref(entries);
	json_decref(body);
	return err;
}

zg_err
zg_txlimits_check(zg_store *st, const zg_txpolicy *p,
    const zg_txlimit_charge *charges, size_t n, int64_t now_us,
    zg_errmsg *em)
{
	zg_err err;
	usage *u = NULL;
	json_t *entries = NULL;

	if ((err = check_charges(p, charges, n, em)) != ZG_OK)
		return err;
	if ((u = calloc(n + 1, sizeof(*u))) == NULL ||
	    (entries = json_array()) == NULL) {
		free(u);
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	}
	err = charge_all(st, p, charges, n, "check", now_us, u, entries, em);
	for (size_t i = 0; i < n; i++)
		usage_clear(&u[i]);
	free(u);
	json_decref(entries);
	return err;
}

/* ---- release ---- */

/* Takes the amount of one reservation entry back out of its record. */
static zg_err
unreserve(zg_store *st, const char *res_id, const json_t *e, int64_t now_us,
    usage *u, bool *changed, zg_errmsg *em)
{
	const char *id = json_string_value(json_object_get(e, "usage"));
	bool rolling = json_is_true(json_object_get(e, "rolling"));
	int64_t end = json_integer_value(json_object_get(e, "windowEnd"));
	zg_u256 amount;
	zg_err err;

	*changed = false;
	if (id == NULL || zg_u256_from_json(json_object_get(e, "amount"),
	    "amount", &amount, NULL) != ZG_OK)
		return zg_fail(em, ZG_ERR_INTEGRITY, "reservation %s has a "
		    "malformed entry", res_id);
	/* The use of a calendar window that has ended no longer counts. */
	if (!rolling && end <= now_us)
		return ZG_OK;
	if ((err = usage_load(st, id, rolling, INT64_MIN, u, em)) != ZG_OK)
		return err;
	if (!u->exists)
		return ZG_OK;
	if (rolling) {
		for (size_t i = 0; i < json_array_size(u->entries); i++) {
			const char *eid = json_string_value(json_object_get(
			    json_array_get(u->entries, i), "id"));
			if (eid != NULL && strcmp(eid, res_id) == 0)
				json_array_remove(u->entries, i--);
		}
		if (rolling_prune(u, INT64_MIN) != ZG_OK)
			return zg_fail(em, ZG_ERR_INTEGRITY, "spending limit "
			    "usage %s has a malformed body", id);
	} else if (zg_u256_sub(&u->used, &u->used, &amount)) {
		zg_u256_from_u64(&u->used, 0);
	}
	if (usage_encode(u, now_us) != ZG_OK)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	*changed = true;
	return ZG_OK;
}

/* Makes one attempt at a release. ZG_ERR_CONFLICT means another writer
 * changed a record first, so the caller retries. */
static zg_err
release_once(zg_store *st, const char *res_id, int64_t now_us, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_obj_row res;
	json_t *body = NULL;
	usage *u = NULL;
	zg_obj_op *ops = NULL;
	size_t n = 0, nops = 0;

	memset(&res, 0, sizeof(res));
	err = st->ops->obj_get(st, ZG_TXLIMIT_RESERVATION_KIND, res_id, &res);
	if (err == ZG_ERR_NOT_FOUND) {
		err = zg_fail(em, err, "no reservation %s", res_id);
		goto out;
	}
	if (err != ZG_OK) {
		err = zg_fail(em, err, "reading reservation %s failed", res_id);
		goto out;
	}
	json_t *entries;
	if ((body = json_loads(res.body_json, 0, NULL)) == NULL ||
	    !json_is_array(entries = json_object_get(body, "entries"))) {
		err = zg_fail(em, ZG_ERR_INTEGRITY, "reservation %s has a "
		    "malformed body", res_id);
		goto out;
	}
	if (json_is_true(json_object_get(body, "released"))) {
		err = zg_fail(em, ZG_ERR_GONE, "reservation %s was already "
		    "released", res_id);
		goto out;
	}
	n = json_array_size(entries);
	if ((u = calloc(n + 1, sizeof(*u))) == NULL ||
	    (ops = calloc(n + 1, sizeof(*ops))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool changed;
		if ((err = unreserve(st, res_id, json_array_get(entries, i),
		    now_us, &u[i], &changed, em)) != ZG_OK)
			goto out;
		if (changed)
			ops[nops++] = (zg_obj_op){ZG_OBJ_PUT, &u[i].row,
			    u[i].row.rev, 0};
	}
	if (json_object_set_new(body, "released", json_true()) != 0 ||
	    json_object_set_new(body, "releasedAt",
	    json_integer(now_us)) != 0 || put_body(&res, body, now_us) != ZG_OK) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	ops[nops++] = (zg_obj_op){ZG_OBJ_PUT, &res, res.rev, 0};
	if ((err = st->ops->obj_apply(st, ops, nops, NULL)) != ZG_OK &&
	    err != ZG_ERR_CONFLICT)
		err = zg_fail(em, err, "storing the release of reservation %s "
		    "failed", res_id);
out:
	for (size_t i = 0; u != NULL && i < n; i++)
		usage_clear(&u[i]);
	free(u);
	free(ops);
	zg_obj_row_free(&res);
	json_decref(body);
	return err;
}

zg_err
zg_txlimits_release(zg_store *st, const char *reservation_id, int64_t now_us,
    zg_errmsg *em)
{
	if (!reservation_id_valid(reservation_id))
		return zg_fail(em, ZG_ERR_INVALID, "reservation id must be 1 to "
		    "64 characters of [A-Za-z0-9._:-]");
	for (int attempt = 0; attempt < RETRIES_MAX; attempt++) {
		zg_err err = release_once(st, reservation_id, now_us, em);
		if (err != ZG_ERR_CONFLICT)
			return err;
		backoff(attempt);
	}
	return zg_fail(em, ZG_ERR_UNAVAILABLE, "releasing reservation %s lost "
	    "to other writers %d times in a row; retry later", reservation_id,
	    RETRIES_MAX);
}

/* ---- status ---- */

#define LIST_PAGE 256

typedef struct status_list {
	zg_txlimit_status *v;
	size_t n, cap;
} status_list;

static zg_txlimit_status *
status_add(status_list *s, size_t limit, const zg_u256 *max)
{
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 16 : s->cap * 2;
		zg_txlimit_status *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	zg_txlimit_status *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->limit = limit;
	e->max = *max;
	return e;
}

/* Fills e's used, remaining and reset time from record u. */
static void
status_fill(zg_txlimit_status *e, const txp_limit *l, const usage *u,
    int64_t now_us)
{
	e->used = u->used;
	if (zg_u256_sub(&e->remaining, &l->max, &u->used))
		zg_u256_from_u64(&e->remaining, 0);
	if (l->window != TXP_WINDOW_ROLLING)
		return;
	e->window_start_us = now_us - l->seconds * US;
	e->resets_at_us = now_us;
	for (size_t i = 0; u->entries != NULL &&
	    i < json_array_size(u->entries); i++) {
		int64_t at = json_integer_value(json_object_get(
		    json_array_get(u->entries, i), "at"));
		if (i == 0 || at + l->seconds * US < e->resets_at_us)
			e->resets_at_us = at + l->seconds * US;
	}
}

/*
 * Adds the status of every scope value with use in l's current window.
 * TODO: usage records of ended calendar windows are never deleted, so this
 * scan lists every past window's records too and slows down over months.
 */
static zg_err
limit_status(zg_store *st, const zg_txpolicy *p, size_t li, int64_t now_us,
    status_list *out, zg_errmsg *em)
{
	const txp_limit *l = &p->limits[li];
	bool rolling = l->window == TXP_WINDOW_ROLLING;
	char prefix[ZG_OBJ_ID_MAX], window[24], after[ZG_OBJ_ID_MAX] = "";
	int64_t start = 0, end = 0;
	size_t before = out->n;
	zg_err err = ZG_OK;

	if (!rolling)
		txp_calendar_bounds(l, txp_floor_div(now_us, US), &start, &end);
	snprintf(prefix, sizeof(prefix), "%s/%s/", p->name, l->name);
	snprintf(window, sizeof(window), rolling ? "rolling" : "%lld",
	    (long long)start);
	for (;;) {
		zg_obj_row *rows = NULL;
		size_t nrows = 0;
		if ((err = st->ops->obj_list(st, ZG_TXLIMIT_USAGE_KIND, NULL,
		    prefix, after, LIST_PAGE, &rows, &nrows)) != ZG_OK)
			return zg_fail(em, err, "listing the use of limit %s "
			    "failed", l->name);
		for (size_t i = 0; i < nrows && err == ZG_OK; i++) {
			/* The id is prefix, scope value, "/", window. */
			const char *scope = rows[i].id + strlen(prefix);
			const char *slash = strrchr(scope, '/');
			usage u;
			if (slash == NULL || strcmp(slash + 1, window) != 0)
				continue;
			if ((err = usage_load(st, rows[i].id, rolling,
			    now_us - l->seconds * US, &u, em)) != ZG_OK)
				break;
			zg_txlimit_status *e = NULL;
			if (!zg_u256_is_zero(&u.used) &&
			    (e = status_add(out, li, &l->max)) == NULL)
				err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
			if (e != NULL) {
				snprintf(e->scope_value, sizeof(e->scope_value),
				    "%.*s", (int)(slash - scope), scope);
				e->window_start_us = start * US;
				e->resets_at_us = end * US;
				status_fill(e, l, &u, now_us);
			}
			usage_clear(&u);
		}
		if (nrows > 0)
			snprintf(after, sizeof(after), "%s", rows[nrows - 1].id);
		zg_obj_rows_free(rows, nrows);
		if (err != ZG_OK)
			return err;
		if (nrows < LIST_PAGE)
			break;
	}
	if (out->n == before) {
		zg_txlimit_status *e = status_add(out, li, &l->max);
		if (e == NULL)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		e->remaining = l->max;
		e->window_start_us = rolling ? now_us - l->seconds * US :
		    start * US;
		e->resets_at_us = rolling ? now_us : end * US;
	}
	return ZG_OK;
}

zg_err
zg_txlimits_status(zg_store *st, const zg_txpolicy *p, int64_t now_us,
    zg_txlimit_status **out, size_t *n, zg_errmsg *em)
{
	status_list s = {NULL, 0, 0};
	zg_err err;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < p->nlimits; i++) {
		if ((err = limit_status(st, p, i, now_us, &s, em)) != ZG_OK) {
			free(s.v);
			return err;
		}
	}
	*out = s.v;
	*n = s.n;
	return ZG_OK;
}

json_t *
zg_txlimit_status_to_json(const zg_txpolicy *p, const zg_txlimit_status *s)
{
	const txp_limit *l = &p->limits[s->limit];
	char used[ZG_U256_DEC_LEN], max[ZG_U256_DEC_LEN];
	char remaining[ZG_U256_DEC_LEN], asset[43];

	zg_u256_to_dec(&s->used, used);
	zg_u256_to_dec(&s->max, max);
	zg_u256_to_dec(&s->remaining, remaining);
	if (l->asset_native)
		snprintf(asset, sizeof(asset), "native");
	else
		txp_address_format(l->asset, asset);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}",
	    "policy", p->name, "limit", l->name,
	    "scope", txp_scope_names[l->scope], "scopeValue", s->scope_value,
	    "asset", asset, "used", used, "max", max, "remaining", remaining,
	    "windowStart", zg_json_time(s->window_start_us),
	    "resetsAt", zg_json_time(s->resets_at_us));
}
