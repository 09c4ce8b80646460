/*
 * The signing gate: a cached snapshot of the stored policies and stops,
 * the combination of several policies' decisions into one verdict, and
 * the reservation of their spending limits. See gate.h for the order of
 * the checks.
 *
 * Snapshots are immutable and reference-counted. zg_txgate_acquire reads
 * ZG_TXGATE_COUNTER (one indexed read). When the counter moved, it builds
 * a new snapshot outside the lock and swaps it in, and readers of the old
 * one keep it until they release it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "txpolicy/gate.h"

struct snap {
	zg_txsnapshot pub;      /* first, so a zg_txsnapshot * is a snap * */
	atomic_int refs;
};

struct zg_txgate {
	zg_store *st;
	pthread_mutex_t lock;
	struct snap *current;   /* NULL before the first load */
};

static void
snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->pub.npolicies; i++)
		zg_txpolicy_free(s->pub.policies[i]);
	free(s->pub.policies);
	free(s->pub.stops);
	free(s);
}

static void
snap_unref(struct snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

zg_err
zg_txgate_open(zg_store *st, zg_txgate **out, zg_errmsg *em)
{
	zg_txgate *g = calloc(1, sizeof(*g));
	*out = NULL;
	if (g == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	g->st = st;
	pthread_mutex_init(&g->lock, NULL);
	*out = g;
	return ZG_OK;
}

void
zg_txgate_close(zg_txgate *g)
{
	if (g == NULL)
		return;
	snap_unref(g->current);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Loads every stored policy and stop as of counter value version. */
static zg_err
load_snapshot(zg_store *st, int64_t version, struct snap **out,
    zg_errmsg *em)
{
	zg_obj_row *rows = NULL;
	size_t nrows = 0;
	struct snap *s = calloc(1, sizeof(*s));
	zg_err err;

	*out = NULL;
	if (s == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	atomic_init(&s->refs, 1);
	s->pub.version = version;
	if ((err = st->ops->obj_list(st, ZG_TXPOLICY_KIND, NULL, NULL, NULL,
	    ZG_TXPOLICIES_MAX, &rows, &nrows)) != ZG_OK) {
		zg_fail(em, err, "listing transaction policies failed");
		goto out;
	}
	if (nrows > 0 && (s->pub.policies = calloc(nrows,
	    sizeof(*s->pub.policies))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nrows; i++) {
		json_t *j = json_loads(rows[i].body_json, 0, NULL);
		zg_errmsg inner;
		err = j == NULL ? ZG_ERR_INTEGRITY : zg_txpolicy_from_json(j,
		    NULL, &s->pub.policies[i], NULL, &inner);
		json_decref(j);
		if (err != ZG_OK) {
			zg_log_error("a stored transaction policy does not parse; "
			    "signing is refused until it is replaced",
			    ZGF_S("policy", rows[i].id),
			    ZGF_S("detail", j == NULL ? "not JSON" : inner.text));
			err = zg_fail(em, ZG_ERR_INTEGRITY, "stored transaction "
			    "policy %s does not parse; replace it with PUT "
			    "/v1/policies/transactions/%s", rows[i].id,
			    rows[i].id);
			goto out;
		}
		s->pub.npolicies++;
	}
	err = zg_txstops_list(st, &s->pub.stops, &s->pub.nstops, em);
out:
	zg_obj_rows_free(rows, nrows);
	if (err != ZG_OK)
		snap_free(s);
	else
		*out = s;
	return err;
}

zg_err
zg_txgate_acquire(zg_txgate *g, const zg_txsnapshot **out, zg_errmsg *em)
{
	int64_t version = 0;
	struct snap *s, *fresh = NULL;
	zg_err err;

	*out = NULL;
	if ((err = g->st->ops->counter_add(g->st, ZG_TXGATE_COUNTER, 0,
	    &version)) != ZG_OK)
		return zg_fail(em, err, "reading the policy version failed");
	pthread_mutex_lock(&g->lock);
	s = g->current;
	if (s != NULL && s->pub.version >= version) {
		atomic_fetch_add(&s->refs, 1);
		pthread_mutex_unlock(&g->lock);
		*out = &s->pub;
		return ZG_OK;
	}
	pthread_mutex_unlock(&g->lock);

	/* Built outside the lock; two threads may both load, and the one
	 * with the newer version stays. */
	if ((err = load_snapshot(g->st, version, &fresh, em)) != ZG_OK)
		return err;
	pthread_mutex_lock(&g->lock);
	if (g->current == NULL || g->current->pub.version < version) {
		snap_unref(g->current);
		g->current = fresh;
		atomic_fetch_add(&fresh->refs, 1);
	}
	pthread_mutex_unlock(&g->lock);
	/* The caller holds fresh's own reference either way. */
	*out = &fresh->pub;
	return ZG_OK;
}

void
zg_txgate_release(zg_txgate *g, const zg_txsnapshot *snap)
{
	snap_unref((struct snap *)(void *)snap);
}

/* Writes one policy or deletion together with the counter bump. */
static zg_err
write_with_counter(zg_store *st, enum zg_obj_op_type type,
    const zg_obj_row *row, int64_t expect_rev)
{
	zg_obj_row counter;
	memset(&counter, 0, sizeof(counter));
	snprintf(counter.id, sizeof(counter.id), "%s", ZG_TXGATE_COUNTER);
	zg_obj_op ops[2] = {
		{type, row, expect_rev, 0},
		{ZG_OBJ_COUNTER, &counter, 0, 1},
	};
	return st->ops->obj_apply(st, ops, 2, NULL);
}

zg_err
zg_txgate_put_policy(zg_store *st, const zg_txpolicy *p, bool *created,
    zg_errmsg *em)
{
	zg_obj_row row, old;
	const char *name = zg_txpolicy_name(p);
	json_t *j = zg_txpolicy_to_json(p);
	zg_err err;

	memset(&row, 0, sizeof(row));
	if (j == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	snprintf(row.kind, sizeof(row.kind), "%s", ZG_TXPOLICY_KIND);
	snprintf(row.id, sizeof(row.id), "%s", name);
	row.body_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (row.body_json == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	err = st->ops->obj_get(st, ZG_TXPOLICY_KIND, name, &old);
	*created = err == ZG_ERR_NOT_FOUND;
	if (err == ZG_OK) {
		row.created_at = old.created_at;
		zg_obj_row_free(&old);
	} else if (err != ZG_ERR_NOT_FOUND) {
		zg_fail(em, err, "reading policy %s failed", name);
		goto out;
	}
	/* PUT replaces whatever is stored, as HTTP PUT does. */
	err = write_with_counter(st, ZG_OBJ_PUT, &row, ZG_REV_ANY);
	if (err != ZG_OK)
		zg_fail(em, err, "storing policy %s failed", name);
out:
	zg_json_free_text(row.body_json);
	return err;
}

zg_err
zg_txgate_delete_policy(zg_store *st, const char *name, zg_errmsg *em)
{
	zg_obj_row row;
	memset(&row, 0, sizeof(row));
	snprintf(row.kind, sizeof(row.kind), "%s", ZG_TXPOLICY_KIND);
	snprintf(row.id, sizeof(row.id), "%s", name);
	zg_err err = write_with_counter(st, ZG_OBJ_DELETE, &row, ZG_REV_ANY);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, err, "policy %s not found", name);
	if (err != ZG_OK)
		return zg_fail(em, err, "deleting policy %s failed", name);
	return ZG_OK;
}

/* ---- deciding ---- */

void
zg_txverdict_free(zg_txverdict *v)
{
	for (size_t i = 0; i < v->ncharges; i++)
		free(v->charges[i].charges);
	free(v->charges);
	v->charges = NULL;
	v->ncharges = 0;
}

/* Copies the deciding policy's decision into v. */
static void
take_decision(zg_txverdict *v, const zg_txpolicy *p, const zg_txdecision *d)
{
	v->action = d->action;
	snprintf(v->policy, sizeof(v->policy), "%s", zg_txpolicy_name(p));
	snprintf(v->rule, sizeof(v->rule), "%s", d->rule ? d->rule : "");
	snprintf(v->reason, sizeof(v->reason), "%s", d->reason);
	v->approval = d->approval;
}

/* Stops first: returns true and fills v when one covers the key. */
static bool
stopped(const zg_txsnapshot *snap, const zg_txrequest *req,
    const char *const *covering, size_t ncovering, zg_txverdict *v)
{
	for (size_t i = 0; i < snap->nstops; i++) {
		const zg_txstop *s = &snap->stops[i];
		if (!zg_txstop_covers(s, req->key_id, covering, ncovering))
			continue;
		v->action = ZG_TXACTION_BLOCK;
		v->stopped = true;
		snprintf(v->stop_id, sizeof(v->stop_id), "%s", s->id);
		char what[120];
		if (s->scope == ZG_TXSTOP_POLICY)
			snprintf(what, sizeof(what), "every key of policy %.48s",
			    s->target);
		else if (s->scope == ZG_TXSTOP_ALL)
			snprintf(what, sizeof(what), "every key");
		else
			snprintf(what, sizeof(what), "key %.40s", req->key_id);
		/* The stop's reason may be cut to fit; the stop itself keeps
		 * it whole. */
		if ((size_t)snprintf(v->reason, sizeof(v->reason), "emergency "
		    "stop %.40s (by %.64s) freezes signing with %s: %.240s",
		    s->id, s->created_by, what, s->reason) >= sizeof(v->reason))
			v->reason[sizeof(v->reason) - 1] = '\0';
		return true;
	}
	return false;
}

zg_err
zg_txgate_decide(const zg_txsnapshot *snap, const zg_txrequest *req,
    const zg_tx *tx, bool raw_digest, bool require_policy, zg_txverdict *v,
    zg_errmsg *em)
{
	zg_txrequest one = *req;
	const char **covering = NULL;
	const zg_txpolicy **policies = NULL;
	size_t n = 0;
	bool blocked = false, approval = false, sim_seen = false;
	zg_err err = ZG_ERR_NOMEM;

	memset(v, 0, sizeof(*v));
	v->action = ZG_TXACTION_ALLOW;
	v->allow_without_simulation = true;
	if (snap->npolicies > 0 &&
	    ((covering = calloc(snap->npolicies, sizeof(*covering))) == NULL ||
	    (policies = calloc(snap->npolicies, sizeof(*policies))) == NULL)) {
		zg_fail(em, err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < snap->npolicies; i++) {
		const zg_txpolicy *p = snap->policies[i];
		if (!zg_txpolicy_applies_to_key(p, req->key_id, req->key_label))
			continue;
		covering[n] = zg_txpolicy_name(p);
		policies[n++] = p;
	}
	err = ZG_OK;
	if (stopped(snap, req, covering, n, v))
		goto out;
	if (n == 0) {
		v->no_policy = true;
		if (require_policy) {
			v->action = ZG_TXACTION_BLOCK;
			snprintf(v->reason, sizeof(v->reason), "no transaction "
			    "policy covers key %s, and [txpolicy] require_policy "
			    "is set, so it signs nothing", req->key_id);
		} else {
			snprintf(v->reason, sizeof(v->reason), "no transaction "
			    "policy covers key %s", req->key_id);
		}
		goto out;
	}
	if (raw_digest) {
		v->action = ZG_TXACTION_BLOCK;
		snprintf(v->policy, sizeof(v->policy), "%s", covering[0]);
		snprintf(v->reason, sizeof(v->reason), "key %s is covered by "
		    "policy %s, and a raw digest hides what it signs, so no "
		    "rule can allow it", req->key_id, covering[0]);
		goto out;
	}
	if ((v->charges = calloc(n, sizeof(*v->charges))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !blocked; i++) {
		zg_txdecision d;
		if (tx != NULL && (err = zg_txfacts_from_tx(tx, policies[i],
		    &one.facts, em)) != ZG_OK)
			goto out;
		if ((err = zg_txpolicy_evaluate(policies[i], &one, &d)) != ZG_OK) {
			zg_fail(em, err, "out of memory");
			goto out;
		}
		if (d.action == ZG_TXACTION_BLOCK) {
			take_decision(v, policies[i], &d);
			blocked = true;
		} else if (d.action == ZG_TXACTION_REQUIRE_APPROVAL &&
		    (!approval || d.approval.count > v->approval.count)) {
			take_decision(v, policies[i], &d);
			approval = true;
		} else if (!approval && v->policy[0] == '\0') {
			take_decision(v, policies[i], &d);
		}
		if (d.simulate) {
			sim_seen = true;
			v->simulate = true;
			v->allow_without_simulation &= d.allow_without_simulation;
		}
		/* The charges move into v; d keeps nothing to free. */
		v->charges[v->ncharges++] = (zg_txgate_charges){policies[i],
		    d.charges, d.ncharges};
	}
	if (!sim_seen)
		v->allow_without_simulation = false;
	if (blocked) {
		for (size_t i = 0; i < v->ncharges; i++)
			free(v->charges[i].charges);
		v->ncharges = 0;
	}
out:
	free(covering);
	free(policies);
	return err;
}

zg_err
zg_txgate_check_limits(zg_store *st, const zg_txverdict *v, int64_t now_us,
    zg_errmsg *em)
{
	for (size_t i = 0; i < v->ncharges; i++) {
		const zg_txgate_charges *c = &v->charges[i];
		if (c->n == 0)
			continue;
		zg_err err = zg_txlimits_check(st, c->policy, c->charges, c->n,
		    now_us, em);
		if (err != ZG_OK)
			return err;
	}
	return ZG_OK;
}

zg_err
zg_txgate_release_all(zg_store *st, const json_t *ids, int64_t now_us,
    zg_errmsg *em)
{
	size_t i;
	json_t *id;
	zg_err first = ZG_OK;

	json_array_foreach(ids, i, id) {
		zg_errmsg inner;
		zg_err err = zg_txlimits_release(st, json_string_value(id), now_us,
		    &inner);
		if (err == ZG_ERR_GONE)
			continue;
		if (err != ZG_OK && first == ZG_OK) {
			first = err;
			zg_fail(em, err, "%s", inner.text);
		}
	}
	return first;
}

zg_err
zg_txgate_reserve(zg_store *st, const zg_txverdict *v, const char *request_id,
    int64_t now_us, json_t *ids, zg_errmsg *em)
{
	char rid[ZG_TXLIMIT_RESERVATION_MAX];
	zg_err err = ZG_OK;

	for (size_t i = 0; i < v->ncharges && err == ZG_OK; i++) {
		const zg_txgate_charges *c = &v->charges[i];
		if (c->n == 0)
			continue;
		snprintf(rid, sizeof(rid), "%s.%zu", request_id, i);
		err = zg_txlimits_reserve(st, c->policy, c->charges, c->n, rid,
		    now_us, em);
		if (err == ZG_OK && json_array_append_new(ids,
		    json_string(rid)) != 0) {
			/* Not listed, so released here. */
			zg_errmsg inner;
			zg_txlimits_release(st, rid, now_us, &inner);
			err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		}
	}
	if (err != ZG_OK) {
		zg_errmsg inner;
		if (zg_txgate_release_all(st, ids, now_us, &inner) != ZG_OK)
			zg_log_error("undoing a partial reservation failed",
			    ZGF_S("request_id", request_id),
			    ZGF_S("detail", inner.text));
		json_array_clear(ids);
	}
	return err;
}
