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
 *
 * Reads go through the usage cache (limits_cache.c) first. A write based
 * on a cached record that another process has changed fails the same
 * compare-and-set, and the retry then reads every record it charges from
 * the store. A charge that exceeds its limit on cached data is checked
 * again on fresh reads before it is refused, so a release made by
 * another process is never missed.
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
/* Ended calendar windows kept before their usage records are deleted,
 * and how many records of one scope value one prune looks at. */
#define PRUNE_AFTER_US (86400LL * US)
#define PRUNE_BATCH 64

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

/* Reads u->id from the cache unless fresh is set, else from the store,
 * and caches what the store returned. */
static zg_err
usage_load(zg_store *st, bool fresh, txl_usage *u, zg_errmsg *em)
{
	zg_err err;

	if (!fresh) {
		err = txl_cache_get(st, u);
		if (err == ZG_OK)
			return ZG_OK;
		if (err != ZG_ERR_NOT_FOUND)
			return zg_fail(em, err, "out of memory");
	}
	if ((err = txl_usage_fetch(st, u, em)) != ZG_OK)
		return err;
	txl_cache_put(st, u);
	return ZG_OK;
}

static void
usages_clear(txl_usage *u, size_t n)
{
	for (size_t i = 0; u != NULL && i < n; i++)
		txl_usage_clear(&u[i]);
}

static bool
any_cached(const txl_usage *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (u[i].cached)
			return true;
	}
	return false;
}

static void
drop_cached(const zg_store *st, const txl_usage *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (u[i].id[0] != '\0')
			txl_cache_drop(st, u[i].id);
	}
}

/*
 * Caches records that one obj_apply has just stored from u. The store
 * sets revision 1 on insert and adds one per update, and ZG_REV_NEW is 0,
 * so the stored revision is one more than the expected one either way.
 */
static void
cache_written(const zg_store *st, txl_usage *u, const zg_obj_row *rows,
    size_t n)
{
	_Static_assert(ZG_REV_NEW == 0, "a new record is stored as revision 1");
	for (size_t i = 0; i < n; i++) {
		u[i].rev++;
		u[i].created_at = rows[i].created_at;
		txl_cache_put(st, &u[i]);
	}
}

/* ---- reserve and check ---- */

static bool
is_refusal(zg_err err)
{
	return err == ZG_ERR_FORBIDDEN || err == ZG_ERR_RATE_LIMITED;
}

static zg_err
exceeded(const zg_txpolicy *p, const zg_txlimit_charge *c,
    const txl_usage *u, zg_errmsg *em)
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

/*
 * Loads the usage record of every charge into u (cleared by the caller),
 * from the cache unless fresh is set, and adds the charges, or fails with
 * the first limit that would be exceeded. Each rolling window gets an
 * entry for res_id, unless res_id is NULL.
 */
static zg_err
charge_all(zg_store *st, const zg_txpolicy *p, const zg_txlimit_charge *ch,
    size_t n, const char *res_id, int64_t now_us, bool fresh, txl_usage *u,
    zg_errmsg *em)
{
	char id[ZG_OBJ_ID_MAX];
	int64_t now_s = txp_floor_div(now_us, US), start = 0, end = 0;
	const txp_limit *prev = NULL;
	zg_err err;

	for (size_t i = 0; i < n; i++) {
		const txp_limit *l = &p->limits[ch[i].limit];
		bool rolling = l->window == TXP_WINDOW_ROLLING;
		/* Limits of one policy tend to share a zone and window type,
		 * and the bounds cost a time zone lookup. */
		if (!rolling && (prev == NULL || prev->zone != l->zone ||
		    prev->window != l->window)) {
			txp_calendar_bounds(l, now_s, &start, &end);
			prev = l;
		}
		if (usage_id(p, l, ch[i].scope_value, rolling ? 0 : start,
		    id) != ZG_OK)
			return zg_fail(em, ZG_ERR_INVALID, "scope value of "
			    "limit %s is too long", l->name);
		txl_usage_init(&u[i], id, rolling);
		if ((err = usage_load(st, fresh, &u[i], em)) != ZG_OK)
			return err;
		if (rolling && txl_usage_prune(&u[i],
		    now_us - l->seconds * US) != ZG_OK)
			return zg_fail(em, ZG_ERR_INTEGRITY, "spending limit "
			    "usage %s has a malformed body", id);
		u[i].window_start_us = rolling ? 0 : start * US;
		u[i].window_end_us = rolling ? 0 : end * US;

		zg_u256 sum;
		if (zg_u256_add(&sum, &u[i].used, &ch[i].amount) ||
		    zg_u256_cmp(&sum, &l->max) > 0)
			return exceeded(p, &ch[i], &u[i], em);
		if (rolling && u[i].nentries >= ZG_TXLIMIT_ROLLING_ENTRIES_MAX)
			return zg_fail(em, ZG_ERR_RATE_LIMITED, "spending limit "
			    "%s for %s already has %d live reservations in its "
			    "rolling window; retry after older ones expire",
			    l->name, ch[i].scope_value,
			    ZG_TXLIMIT_ROLLING_ENTRIES_MAX);
		u[i].used = sum;
		if (rolling && res_id != NULL && txl_usage_add_entry(&u[i],
		    res_id, now_us, &ch[i].amount) != ZG_OK)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	}
	return ZG_OK;
}

/*
 * Fills rows and ops with the puts of one reservation attempt: the usage
 * records in u, then the reservation record res, which lists what each
 * charge added.
 */
static zg_err
build_ops(const zg_txpolicy *p, const zg_txlimit_charge *ch, size_t n,
    const txl_usage *u, int64_t now_us, zg_obj_row *rows, zg_obj_row *res,
    zg_obj_op *ops)
{
	char amount[ZG_U256_DEC_LEN];
	json_t *entries = json_array(), *body = NULL;
	zg_err err = ZG_ERR_NOMEM;

	if (entries == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (txl_usage_to_row(&u[i], now_us, &rows[i]) != ZG_OK)
			goto out;
		zg_u256_to_dec(&ch[i].amount, amount);
		if (json_array_append_new(entries, json_pack("{s:s,s:s,s:b,s:I}",
		    "usage", u[i].id, "amount", amount, "rolling", u[i].rolling,
		    "windowEnd", (json_int_t)u[i].window_end_us)) != 0)
			goto out;
		ops[i] = (zg_obj_op){ZG_OBJ_PUT, &rows[i], u[i].rev, 0};
	}
	body = json_pack("{s:s,s:b,s:O}", "policy", p->name, "released", 0,
	    "entries", entries);
	if (body == NULL || put_body(res, body, now_us) != ZG_OK)
		goto out;
	ops[n] = (zg_obj_op){ZG_OBJ_PUT, res, ZG_REV_NEW, 0};
	/* success */
	err = ZG_OK;
out:
	json_decref(entries);
	json_decref(body);
	return err;
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

/*
 * Deletes the usage records of calendar windows of the same limit and
 * scope value that ended more than PRUNE_AFTER_US ago, once a record for
 * a new window is stored, so records do not pile up month after month.
 * Best effort: a failure only leaves a record for a later prune. This is
 * safe because nothing reads an ended window's record again: a release
 * skips ended windows, reserve and check use the current window, and
 * status lists only the current one. The margin keeps a clock stepped
 * back by less than a day from meeting a deleted record again.
 */
static void
prune_ended(zg_store *st, const zg_txpolicy *p, const zg_txlimit_charge *ch,
    const txl_usage *u, int64_t now_us)
{
	const txp_limit *l = &p->limits[ch->limit];
	const char *slash = strrchr(u->id, '/');
	char prefix[ZG_OBJ_ID_MAX];
	zg_obj_row *rows = NULL;
	size_t nrows = 0;

	if (slash == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - u->id + 1),
	    u->id);
	if (st->ops->obj_list(st, ZG_TXLIMIT_USAGE_KIND, NULL, prefix, NULL,
	    PRUNE_BATCH, &rows, &nrows) != ZG_OK)
		return;
	for (size_t i = 0; i < nrows; i++) {
		const char *w = rows[i].id + strlen(prefix);
		char *endp;
		long long start = strtoll(w, &endp, 10);
		int64_t s = 0, e = 0;
		if (endp == w || *endp != '\0' || strcmp(rows[i].id, u->id) == 0)
			continue;
		txp_calendar_bounds(l, start, &s, &e);
		if (e * US >= now_us - PRUNE_AFTER_US)
			continue;
		if (st->ops->obj_delete(st, ZG_TXLIMIT_USAGE_KIND, rows[i].id,
		    ZG_REV_ANY) == ZG_OK)
			txl_cache_drop(st, rows[i].id);
	}
	zg_obj_rows_free(rows, nrows);
}

zg_err
zg_txlimits_reserve(zg_store *st, const zg_txpolicy *p,
    const zg_txlimit_charge *charges, size_t n, const char *reservation_id,
    int64_t now_us, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	txl_usage *u = NULL;
	zg_obj_row *rows = NULL;
	zg_obj_op *ops = NULL;
	zg_obj_row res;
	bool fresh = false;

	memset(&res, 0, sizeof(res));
	if (!reservation_id_valid(reservation_id))
		return zg_fail(em, ZG_ERR_INVALID, "reservation id must be 1 to "
		    "64 characters of [A-Za-z0-9._:-]");
	if ((err = check_charges(p, charges, n, em)) != ZG_OK)
		return err;
	if ((u = calloc(n + 1, sizeof(*u))) == NULL ||
	    (rows = calloc(n + 1, sizeof(*rows))) == NULL ||
	    (ops = calloc(n + 1, sizeof(*ops))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(res.kind, sizeof(res.kind), "%s", ZG_TXLIMIT_RESERVATION_KIND);
	snprintf(res.id, sizeof(res.id), "%s", reservation_id);
	res.created_at = now_us;

	for (int attempt = 0; attempt < RETRIES_MAX; attempt++) {
		usages_clear(u, n);
		for (size_t i = 0; i < n; i++)
			zg_obj_row_free(&rows[i]);
		err = charge_all(st, p, charges, n, reservation_id, now_us,
		    fresh, u, em);
		if (is_refusal(err) && any_cached(u, n)) {
			/* Confirm the refusal on the stored records. */
			fresh = true;
			continue;
		}
		if (err != ZG_OK)
			goto out;
		if ((err = build_ops(p, charges, n, u, now_us, rows, &res,
		    ops)) != ZG_OK) {
			err = zg_fail(em, err, "out of memory");
			goto out;
		}

		/* Records this write creates start a new calendar window;
		 * note them before the write updates their revisions. */
		for (size_t i = 0; i < n; i++)
			u[i].starts_window = !u[i].rolling &&
			    u[i].rev == ZG_REV_NEW;
		size_t failed = 0;
		err = st->ops->obj_apply(st, ops, n + 1, &failed);
		if (err == ZG_OK) {
			cache_written(st, u, rows, n);
			for (size_t i = 0; i < n; i++)
				if (u[i].starts_window)
					prune_ended(st, p, &charges[i], &u[i],
					    now_us);
			goto out;
		}
		if (err == ZG_ERR_CONFLICT && failed == n) {
			err = zg_fail(em, ZG_ERR_CONFLICT, "reservation %s "
			    "already exists", reservation_id);
			goto out;
		}
		/* The stored state is unknown after a failed write, so drop
		 * the cached records. */
		drop_cached(st, u, n);
		if (err != ZG_ERR_CONFLICT) {
			err = zg_fail(em, err, "storing reservation %s failed",
			    reservation_id);
			goto out;
		}
		/* A stale cached record needs a fresh read, not a wait. */
		if (failed >= n || !u[failed].cached)
			backoff(attempt);
		fresh = true;
	}
	err = zg_fail(em, ZG_ERR_UNAVAILABLE, "reservation %s lost to other "
	    "writers %d times in a row; retry later", reservation_id,
	    RETRIES_MAX);
out:
	usages_clear(u, n);
	for (size_t i = 0; rows != NULL && i < n; i++)
		zg_obj_row_free(&rows[i]);
	free(u);
	free(rows);
	free(ops);
	free(res.body_json);
	return err;
}

zg_err
zg_txlimits_check(zg_store *st, const zg_txpolicy *p,
    const zg_txlimit_charge *charges, size_t n, int64_t now_us,
    zg_errmsg *em)
{
	zg_err err;
	txl_usage *u = NULL;

	if ((err = check_charges(p, charges, n, em)) != ZG_OK)
		return err;
	if ((u = calloc(n + 1, sizeof(*u))) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	err = charge_all(st, p, charges, n, NULL, now_us, false, u, em);
	if (is_refusal(err) && any_cached(u, n)) {
		/* Confirm the refusal on the stored records. */
		usages_clear(u, n);
		err = charge_all(st, p, charges, n, NULL, now_us, true, u, em);
	}
	usages_clear(u, n);
	free(u);
	return err;
}

/* ---- release ---- */

/* Takes the amount of one reservation entry back out of its record, read
 * from the store. */
static zg_err
unreserve(zg_store *st, const char *res_id, const json_t *e, int64_t now_us,
    txl_usage *u, bool *changed, zg_errmsg *em)
{
	const char *id = json_string_value(json_object_get(e, "usage"));
	bool rolling = json_is_true(json_object_get(e, "rolling"));
	int64_t end = json_integer_value(json_object_get(e, "windowEnd"));
	zg_u256 amount;
	zg_err err;

	*changed = false;
	if (id == NULL || strlen(id) >= ZG_OBJ_ID_MAX ||
	    zg_u256_from_json(json_object_get(e, "amount"), "amount", &amount,
	    NULL) != ZG_OK)
		return zg_fail(em, ZG_ERR_INTEGRITY, "reservation %s has a "
		    "malformed entry", res_id);
	/* The use of a calendar window that has ended no longer counts. */
	if (!rolling && end <= now_us)
		return ZG_OK;
	txl_usage_init(u, id, rolling);
	if ((err = txl_usage_fetch(st, u, em)) != ZG_OK)
		return err;
	if (u->rev == ZG_REV_NEW)
		return ZG_OK;
	if (rolling) {
		size_t kept = 0;
		for (size_t i = 0; i < u->nentries; i++) {
			if (strcmp(u->entries[i].id, res_id) != 0)
				u->entries[kept++] = u->entries[i];
		}
		u->nentries = kept;
		if (txl_usage_prune(u, INT64_MIN) != ZG_OK)
			return zg_fail(em, ZG_ERR_INTEGRITY, "spending limit "
			    "usage %s has a malformed body", id);
	} else if (zg_u256_sub(&u->used, &u->used, &amount)) {
		zg_u256_from_u64(&u->used, 0);
	}
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
	txl_usage *u = NULL;
	zg_obj_row *rows = NULL;
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
	    (rows = calloc(n + 1, sizeof(*rows))) == NULL ||
	    (ops = calloc(n + 1, sizeof(*ops))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* u[0..nops) are the records this release changes. */
	for (size_t i = 0; i < n; i++) {
		bool changed;
		if ((err = unreserve(st, res_id, json_array_get(entries, i),
		    now_us, &u[nops], &changed, em)) != ZG_OK)
			goto out;
		if (!changed) {
			txl_usage_clear(&u[nops]);
			continue;
		}
		if (txl_usage_to_row(&u[nops], now_us, &rows[nops]) != ZG_OK) {
			err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
			goto out;
		}
		ops[nops] = (zg_obj_op){ZG_OBJ_PUT, &rows[nops], u[nops].rev,
		    0};
		nops++;
	}
	if (json_object_set_new(body, "released", json_true()) != 0 ||
	    json_object_set_new(body, "releasedAt",
	    json_integer(now_us)) != 0 || put_body(&res, body, now_us) != ZG_OK) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	ops[nops] = (zg_obj_op){ZG_OBJ_PUT, &res, res.rev, 0};
	err = st->ops->obj_apply(st, ops, nops + 1, NULL);
	if (err == ZG_OK) {
		cache_written(st, u, rows, nops);
		goto out;
	}
	drop_cached(st, u, nops);
	if (err != ZG_ERR_CONFLICT)
		err = zg_fail(em, err, "storing the release of reservation %s "
		    "failed", res_id);
out:
	usages_clear(u, n);
	for (size_t i = 0; rows != NULL && i < n; i++)
		zg_obj_row_free(&rows[i]);
	free(u);
	free(rows);
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
