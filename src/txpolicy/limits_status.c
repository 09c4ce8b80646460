/*
 * The status of spending limits (GET /v1/limits): use, remaining amount
 * and reset time per limit and scope value, read from the store without
 * the usage cache, so it shows what every process has reserved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "txpolicy/txpolicy_internal.h"

#define US 1000000LL
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
status_fill(zg_txlimit_status *e, const txp_limit *l, const txl_usage *u,
    int64_t now_us)
{
	e->used = u->used;
	if (zg_u256_sub(&e->remaining, &l->max, &u->used))
		zg_u256_from_u64(&e->remaining, 0);
	if (l->window != TXP_WINDOW_ROLLING)
		return;
	e->window_start_us = now_us - l->seconds * US;
	e->resets_at_us = now_us;
	for (size_t i = 0; i < u->nentries; i++) {
		int64_t at = u->entries[i].at_us;
		if (i == 0 || at + l->seconds * US < e->resets_at_us)
			e->resets_at_us = at + l->seconds * US;
	}
}

/*
 * Adds the status of every scope value with use in l's current window.
 * The scan also passes the records of windows that ended within the last
 * day. Older ones are deleted when a new window's first reservation is
 * stored (prune_ended in limits.c).
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
			txl_usage u;
			if (slash == NULL || strcmp(slash + 1, window) != 0)
				continue;
			/* The listed row is parsed as read, without a second
			 * read of the record. */
			txl_usage_init(&u, rows[i].id, rolling);
			if ((err = txl_usage_parse(&rows[i], &u, em)) != ZG_OK) {
				txl_usage_clear(&u);
				break;
			}
			if (rolling && txl_usage_prune(&u,
			    now_us - l->seconds * US) != ZG_OK) {
				err = zg_fail(em, ZG_ERR_INTEGRITY, "spending "
				    "limit usage %s has a malformed body",
				    rows[i].id);
				txl_usage_clear(&u);
				break;
			}
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
			txl_usage_clear(&u);
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
