/*
 * Tests of spending limits on a real SQLite store: exact enforcement under
 * 100 concurrent reservations, all-or-none reservation of several limits,
 * release, rolling windows, and calendar windows across DST changes. A
 * second store handle on the same data directory writes behind the usage
 * cache of the first, as another process would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "txpolicy/txpolicy.h"

#define THREADS 100

enum { L_TEN, L_BIG, L_HOUR, L_BERLIN, L_SANTIAGO, L_MONTH };

static const char *policy_text =
    "{\"name\":\"p\",\"limits\":["
    " {\"name\":\"ten\",\"scope\":\"key\",\"asset\":\"native\","
    "  \"window\":{\"type\":\"day\",\"timezone\":\"UTC\"},\"max\":\"10\"},"
    " {\"name\":\"big\",\"scope\":\"key\",\"asset\":\"native\","
    "  \"window\":{\"type\":\"day\",\"timezone\":\"UTC\"},\"max\":\"100\"},"
    " {\"name\":\"hour\",\"scope\":\"initiator\",\"asset\":\"native\","
    "  \"window\":{\"type\":\"rolling\",\"seconds\":60},\"max\":\"10\"},"
    " {\"name\":\"berlin\",\"scope\":\"key\",\"asset\":\"native\","
    "  \"window\":{\"type\":\"day\",\"timezone\":\"Europe/Berlin\"},"
    "  \"max\":\"10\"},"
    " {\"name\":\"santiago\",\"scope\":\"key\",\"asset\":\"native\","
    "  \"window\":{\"type\":\"day\",\"timezone\":\"America/Santiago\"},"
    "  \"max\":\"10\"},"
    " {\"name\":\"month\",\"scope\":\"key\",\"asset\":\"native\","
    "  \"window\":{\"type\":\"month\",\"timezone\":\"UTC\"},\"max\":\"10\"}]}";

struct fixture {
	char dir[64];
	zg_store *st;
	zg_txpolicy *p;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_t *obj = json_loads(policy_text, 0, NULL);
	if (f == NULL || obj == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/zg_txlimits_XXXXXX");
	if (mkdtemp(f->dir) == NULL ||
	    zg_store_sqlite_open(f->dir, &f->st) != ZG_OK ||
	    zg_txpolicy_from_json(obj, NULL, &f->p, NULL, NULL) != ZG_OK) {
		json_decref(obj);
		free(f);
		return -1;
	}
	json_decref(obj);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	zg_txlimits_forget_store(f->st);
	f->st->ops->close(f->st);
	zg_txpolicy_free(f->p);
	const char *names[] = {"zguard.db", "zguard.db-wal", "zguard.db-shm",
	    "zguard.db-journal", "lock"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t
at(const char *rfc3339)
{
	int64_t t;
	assert_int_equal(zg_time_parse_rfc3339(rfc3339, &t), ZG_OK);
	return t;
}

static zg_txlimit_charge
charge(size_t limit, const char *scope, uint64_t amount)
{
	zg_txlimit_charge c;
	memset(&c, 0, sizeof(c));
	c.limit = limit;
	snprintf(c.scope_value, sizeof(c.scope_value), "%s", scope);
	zg_u256_from_u64(&c.amount, amount);
	return c;
}

static zg_err
reserve1(struct fixture *f, size_t limit, const char *scope, uint64_t amount,
    const char *id, int64_t now)
{
	zg_txlimit_charge c = charge(limit, scope, amount);
	return zg_txlimits_reserve(f->st, f->p, &c, 1, id, now, NULL);
}

/* Finds the status of limit for scope ("" for the unused entry). */
static zg_txlimit_status
status_of(struct fixture *f, size_t limit, const char *scope, int64_t now)
{
	zg_txlimit_status *s = NULL, found;
	size_t n = 0;
	bool seen = false;
	assert_int_equal(zg_txlimits_status(f->st, f->p, now, &s, &n, NULL),
	    ZG_OK);
	for (size_t i = 0; i < n; i++) {
		if (s[i].limit == limit && strcmp(s[i].scope_value, scope) == 0) {
			found = s[i];
			seen = true;
		}
	}
	free(s);
	assert_true(seen);
	return found;
}

static uint64_t
u64(const zg_u256 *v)
{
	uint64_t out = 0;
	assert_true(zg_u256_to_u64(v, &out));
	return out;
}

/* ---- concurrency ---- */

struct racer {
	struct fixture *f;
	int index;
	int64_t now;
	zg_err result;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	char id[32];
	snprintf(id, sizeof(id), "race-%d", r->index);
	r->result = reserve1(r->f, L_TEN, "key_a", 1, id, r->now);
	return NULL;
}

static void
test_concurrent_ten_of_hundred(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[THREADS];
	struct racer racers[THREADS];
	int64_t now = at("2024-05-01T12:00:00Z");
	int granted = 0, refused = 0;

	for (int i = 0; i < THREADS; i++) {
		racers[i] = (struct racer){f, i, now, ZG_ERR_INTERNAL};
		assert_int_equal(pthread_create(&threads[i], NULL, race,
		    &racers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		if (racers[i].result == ZG_OK)
			granted++;
		else if (racers[i].result == ZG_ERR_FORBIDDEN)
			refused++;
	}
	assert_int_equal(granted, 10);
	assert_int_equal(refused, 90);
	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 10);
	assert_int_equal(u64(&s.remaining), 0);
}

/* ---- reserve and release ---- */

static void
test_all_or_none(void **state)
{
	struct fixture *f = *state;
	int64_t now = at("2024-05-01T12:00:00Z");
	zg_txlimit_charge c[2] = {charge(L_BIG, "key_a", 50),
	    charge(L_TEN, "key_a", 11)};
	zg_errmsg em = {0};
	assert_int_equal(zg_txlimits_reserve(f->st, f->p, c, 2, "r1", now, &em),
	    ZG_ERR_FORBIDDEN);
	assert_non_null(strstr(em.text, "spending limit ten"));
	assert_non_null(strstr(em.text, "2024-05-02T00:00:00Z"));
	zg_txlimit_status s = status_of(f, L_BIG, "", now);
	assert_int_equal(u64(&s.used), 0);
	assert_int_equal(zg_txlimits_release(f->st, "r1", now, NULL),
	    ZG_ERR_NOT_FOUND);

	c[1] = charge(L_TEN, "key_a", 10);
	assert_int_equal(zg_txlimits_reserve(f->st, f->p, c, 2, "r1", now, NULL),
	    ZG_OK);
	s = status_of(f, L_BIG, "key_a", now);
	assert_int_equal(u64(&s.used), 50);
	s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 10);
}

static void
test_release_once(void **state)
{
	struct fixture *f = *state;
	int64_t now = at("2024-05-01T12:00:00Z");
	assert_int_equal(reserve1(f, L_TEN, "key_a", 4, "r1", now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 3, "r2", now), ZG_OK);
	assert_int_equal(zg_txlimits_release(f->st, "r1", now + 1, NULL), ZG_OK);
	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 3);
	assert_int_equal(zg_txlimits_release(f->st, "r1", now + 2, NULL),
	    ZG_ERR_GONE);
	s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 3);
	assert_int_equal(zg_txlimits_release(f->st, "nope", now, NULL),
	    ZG_ERR_NOT_FOUND);
}

static void
test_duplicate_reservation(void **state)
{
	struct fixture *f = *state;
	int64_t now = at("2024-05-01T12:00:00Z");
	assert_int_equal(reserve1(f, L_TEN, "key_a", 2, "r1", now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 2, "r1", now),
	    ZG_ERR_CONFLICT);
	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 2);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 2, "bad/id", now),
	    ZG_ERR_INVALID);
}

static void
test_scopes_separate(void **state)
{
	struct fixture *f = *state;
	int64_t now = at("2024-05-01T12:00:00Z");
	assert_int_equal(reserve1(f, L_TEN, "key_a", 10, "r1", now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_b", 10, "r2", now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 1, "r3", now),
	    ZG_ERR_FORBIDDEN);
}

/* ---- windows ---- */

static void
test_day_rollover(void **state)
{
	struct fixture *f = *state;
	int64_t day1 = at("2024-05-01T23:59:59Z");
	int64_t day2 = at("2024-05-02T00:00:00Z");
	assert_int_equal(reserve1(f, L_TEN, "key_a", 10, "r1", day1), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 1, "r2", day1),
	    ZG_ERR_FORBIDDEN);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 10, "r3", day2), ZG_OK);
	/* Releasing the first day's reservation leaves the second day's use
	 * alone. */
	assert_int_equal(zg_txlimits_release(f->st, "r1", day2, NULL), ZG_OK);
	zg_txlimit_status s = status_of(f, L_TEN, "key_a", day2);
	assert_int_equal(u64(&s.used), 10);
}

/* Counts the stored usage records of the policy. */
static size_t
usage_records(struct fixture *f)
{
	zg_obj_row *rows;
	size_t n;
	assert_int_equal(f->st->ops->obj_list(f->st, ZG_TXLIMIT_USAGE_KIND,
	    NULL, NULL, NULL, 1000, &rows, &n), ZG_OK);
	zg_obj_rows_free(rows, n);
	return n;
}

/*
 * A new day's first reservation deletes the records of days that ended
 * more than a day before, and keeps yesterday's; a release of a deleted
 * day's reservation still succeeds, with nothing to give back.
 */
static void
test_ended_windows_pruned(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(reserve1(f, L_TEN, "key_p", 1, "p1",
	    at("2024-05-01T12:00:00Z")), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_p", 1, "p2",
	    at("2024-05-02T12:00:00Z")), ZG_OK);
	assert_int_equal(usage_records(f), 2);
	/* May 1 ended at May 2 00:00, less than a day before this. */
	assert_int_equal(reserve1(f, L_TEN, "key_p", 1, "p3",
	    at("2024-05-02T23:30:00Z")), ZG_OK);
	assert_int_equal(usage_records(f), 2);
	assert_int_equal(reserve1(f, L_TEN, "key_p", 1, "p4",
	    at("2024-05-04T12:00:00Z")), ZG_OK);
	/* May 1 and May 2 ended over a day ago: only May 4 is left. */
	assert_int_equal(usage_records(f), 1);
	assert_int_equal(zg_txlimits_release(f->st, "p1",
	    at("2024-05-04T12:00:01Z"), NULL), ZG_OK);
	zg_txlimit_status s = status_of(f, L_TEN, "key_p",
	    at("2024-05-04T12:00:02Z"));
	assert_int_equal(u64(&s.used), 1);
}

static void
test_rolling_window(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = at("2024-05-01T12:00:00Z");
	int64_t sec = 1000000;
	assert_int_equal(reserve1(f, L_HOUR, "alice", 6, "r1", t0), ZG_OK);
	assert_int_equal(reserve1(f, L_HOUR, "alice", 4, "r2", t0 + 30 * sec),
	    ZG_OK);
	assert_int_equal(reserve1(f, L_HOUR, "alice", 1, "r3", t0 + 40 * sec),
	    ZG_ERR_FORBIDDEN);

	zg_txlimit_status s = status_of(f, L_HOUR, "alice", t0 + 40 * sec);
	assert_int_equal(u64(&s.used), 10);
	assert_int_equal(s.resets_at_us, t0 + 60 * sec);

	/* r1 leaves the window 60 s after it was made. */
	assert_int_equal(reserve1(f, L_HOUR, "alice", 6, "r4", t0 + 61 * sec),
	    ZG_OK);
	s = status_of(f, L_HOUR, "alice", t0 + 61 * sec);
	assert_int_equal(u64(&s.used), 10);
	assert_int_equal(s.resets_at_us, t0 + 90 * sec);

	assert_int_equal(zg_txlimits_release(f->st, "r2", t0 + 62 * sec, NULL),
	    ZG_OK);
	s = status_of(f, L_HOUR, "alice", t0 + 62 * sec);
	assert_int_equal(u64(&s.used), 6);
}

static void
test_berlin_spring_day(void **state)
{
	struct fixture *f = *state;
	/* 2024-03-31 has 23 hours in Berlin: CET until 01:00 UTC. */
	zg_txlimit_status s = status_of(f, L_BERLIN, "",
	    at("2024-03-31T12:00:00Z"));
	assert_int_equal(s.window_start_us, at("2024-03-30T23:00:00Z"));
	assert_int_equal(s.resets_at_us, at("2024-03-31T22:00:00Z"));
	assert_int_equal(u64(&s.remaining), 10);
}

static void
test_berlin_autumn_day(void **state)
{
	struct fixture *f = *state;
	/* 2024-10-27 has 25 hours in Berlin. */
	zg_txlimit_status s = status_of(f, L_BERLIN, "",
	    at("2024-10-27T12:00:00Z"));
	assert_int_equal(s.window_start_us, at("2024-10-26T22:00:00Z"));
	assert_int_equal(s.resets_at_us, at("2024-10-27T23:00:00Z"));

	/* Just before local midnight the window is still the 26th's. */
	s = status_of(f, L_BERLIN, "", at("2024-10-26T21:59:59Z"));
	assert_int_equal(s.resets_at_us, at("2024-10-26T22:00:00Z"));
}

static void
test_santiago_skipped_midnight(void **state)
{
	struct fixture *f = *state;
	/* Chile moved its clocks from 00:00 to 01:00 on 2024-09-08, so that
	 * day began at 01:00 local time, 04:00 UTC. */
	zg_txlimit_status s = status_of(f, L_SANTIAGO, "",
	    at("2024-09-08T12:00:00Z"));
	assert_int_equal(s.window_start_us, at("2024-09-08T04:00:00Z"));
	assert_int_equal(s.resets_at_us, at("2024-09-09T03:00:00Z"));
}

static void
test_month_window(void **state)
{
	struct fixture *f = *state;
	int64_t feb = at("2024-02-15T08:00:00Z");
	assert_int_equal(reserve1(f, L_MONTH, "key_a", 10, "r1", feb), ZG_OK);
	zg_txlimit_status s = status_of(f, L_MONTH, "key_a", feb);
	assert_int_equal(s.window_start_us, at("2024-02-01T00:00:00Z"));
	assert_int_equal(s.resets_at_us, at("2024-03-01T00:00:00Z"));
	assert_int_equal(reserve1(f, L_MONTH, "key_a", 1, "r2",
	    at("2024-02-29T23:59:59Z")), ZG_ERR_FORBIDDEN);
	assert_int_equal(reserve1(f, L_MONTH, "key_a", 1, "r3",
	    at("2024-03-01T00:00:00Z")), ZG_OK);
}

static void
test_status_json(void **state)
{
	struct fixture *f = *state;
	int64_t now = at("2024-05-01T12:00:00Z");
	assert_int_equal(reserve1(f, L_TEN, "key_a", 3, "r1", now), ZG_OK);
	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	json_t *j = zg_txlimit_status_to_json(f->p, &s);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "limit")),
	    "ten");
	assert_string_equal(json_string_value(json_object_get(j, "used")), "3");
	assert_string_equal(json_string_value(json_object_get(j,
	    "remaining")), "7");
	assert_string_equal(json_string_value(json_object_get(j, "resetsAt")),
	    "2024-05-02T00:00:00Z");
	json_decref(j);
}

/* ---- a second handle writing behind the cache ---- */

static zg_store *
open_second(struct fixture *f)
{
	zg_store *st = NULL;
	assert_int_equal(zg_store_sqlite_open(f->dir, &st), ZG_OK);
	return st;
}

static void
close_second(zg_store *st)
{
	zg_txlimits_forget_store(st);
	st->ops->close(st);
}

static zg_err
reserve_on(zg_store *st, struct fixture *f, size_t limit, const char *scope,
    uint64_t amount, const char *id, int64_t now)
{
	zg_txlimit_charge c = charge(limit, scope, amount);
	return zg_txlimits_reserve(st, f->p, &c, 1, id, now, NULL);
}

static zg_err
check_on(zg_store *st, struct fixture *f, size_t limit, const char *scope,
    uint64_t amount, int64_t now)
{
	zg_txlimit_charge c = charge(limit, scope, amount);
	return zg_txlimits_check(st, f->p, &c, 1, now, NULL);
}

static void
test_second_handle_reserve(void **state)
{
	struct fixture *f = *state;
	zg_store *other = open_second(f);
	int64_t now = at("2024-05-01T12:00:00Z");

	assert_int_equal(reserve1(f, L_TEN, "key_a", 4, "a1", now), ZG_OK);
	assert_int_equal(reserve_on(other, f, L_TEN, "key_a", 5, "b1", now),
	    ZG_OK);
	/* The first handle's cache still records 4 used, so its check can
	 * pass, but its reservation must see the 9 stored. */
	assert_int_equal(check_on(f->st, f, L_TEN, "key_a", 4, now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 4, "a2", now),
	    ZG_ERR_FORBIDDEN);
	assert_int_equal(check_on(f->st, f, L_TEN, "key_a", 2, now),
	    ZG_ERR_FORBIDDEN);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 1, "a3", now), ZG_OK);
	assert_int_equal(reserve_on(other, f, L_TEN, "key_a", 1, "b2", now),
	    ZG_ERR_FORBIDDEN);

	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 10);
	close_second(other);
}

static void
test_second_handle_creates(void **state)
{
	struct fixture *f = *state;
	zg_store *other = open_second(f);
	int64_t now = at("2024-05-01T12:00:00Z");

	/* The first handle caches the record as absent. */
	assert_int_equal(check_on(f->st, f, L_TEN, "key_a", 10, now), ZG_OK);
	assert_int_equal(reserve_on(other, f, L_TEN, "key_a", 7, "b1", now),
	    ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 4, "a1", now),
	    ZG_ERR_FORBIDDEN);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 3, "a2", now), ZG_OK);

	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 10);
	close_second(other);
}

static void
test_second_handle_release(void **state)
{
	struct fixture *f = *state;
	zg_store *other = open_second(f);
	int64_t now = at("2024-05-01T12:00:00Z");

	assert_int_equal(reserve_on(other, f, L_TEN, "key_a", 6, "b1", now),
	    ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 4, "a1", now), ZG_OK);
	/* The first handle's cache records 10 used and the store 4 after
	 * this release. A refusal is confirmed on the store first. */
	assert_int_equal(zg_txlimits_release(other, "b1", now, NULL), ZG_OK);
	assert_int_equal(check_on(f->st, f, L_TEN, "key_a", 6, now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 6, "a2", now), ZG_OK);
	assert_int_equal(reserve1(f, L_TEN, "key_a", 1, "a3", now),
	    ZG_ERR_FORBIDDEN);
	close_second(other);
}

static void
test_second_handle_rolling(void **state)
{
	struct fixture *f = *state;
	zg_store *other = open_second(f);
	int64_t t0 = at("2024-05-01T12:00:00Z");
	int64_t sec = 1000000;

	assert_int_equal(reserve1(f, L_HOUR, "alice", 3, "a1", t0), ZG_OK);
	assert_int_equal(reserve_on(other, f, L_HOUR, "alice", 5,
	    "b1", t0 + 10 * sec), ZG_OK);
	assert_int_equal(reserve1(f, L_HOUR, "alice", 3, "a2", t0 + 20 * sec),
	    ZG_ERR_FORBIDDEN);
	assert_int_equal(reserve1(f, L_HOUR, "alice", 2, "a3", t0 + 20 * sec),
	    ZG_OK);
	/* a1 leaves the window; the cached entries are pruned on use. */
	assert_int_equal(reserve1(f, L_HOUR, "alice", 3, "a4", t0 + 61 * sec),
	    ZG_OK);
	assert_int_equal(reserve_on(other, f, L_HOUR, "alice", 1,
	    "b2", t0 + 62 * sec), ZG_ERR_FORBIDDEN);

	zg_txlimit_status s = status_of(f, L_HOUR, "alice", t0 + 62 * sec);
	assert_int_equal(u64(&s.used), 10);
	close_second(other);
}

struct handle_racer {
	zg_store *st;
	struct fixture *f;
	int index;
	int64_t now;
	zg_err result;
};

static void *
race_on(void *arg)
{
	struct handle_racer *r = arg;
	char id[32];
	snprintf(id, sizeof(id), "race-%d", r->index);
	r->result = reserve_on(r->st, r->f, L_TEN, "key_a", 1, id, r->now);
	return NULL;
}

static void
test_two_handles_ten_of_hundred(void **state)
{
	struct fixture *f = *state;
	zg_store *other = open_second(f);
	pthread_t threads[THREADS];
	struct handle_racer racers[THREADS];
	int64_t now = at("2024-05-01T12:00:00Z");
	int granted = 0, refused = 0;

	/* Warm both caches with the absent record first. */
	assert_int_equal(check_on(f->st, f, L_TEN, "key_a", 1, now), ZG_OK);
	assert_int_equal(check_on(other, f, L_TEN, "key_a", 1, now), ZG_OK);
	for (int i = 0; i < THREADS; i++) {
		racers[i] = (struct handle_racer){i % 2 ? other : f->st, f, i,
		    now, ZG_ERR_INTERNAL};
		assert_int_equal(pthread_create(&threads[i], NULL, race_on,
		    &racers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		if (racers[i].result == ZG_OK)
			granted++;
		else if (racers[i].result == ZG_ERR_FORBIDDEN)
			refused++;
	}
	assert_int_equal(granted, 10);
	assert_int_equal(refused, 90);
	zg_txlimit_status s = status_of(f, L_TEN, "key_a", now);
	assert_int_equal(u64(&s.used), 10);
	close_second(other);
}

/*
 * Two handles take turns at random: reserve a random amount on one of
 * them, or release a random live reservation. The stored use must equal
 * the sum of the live granted amounts and never pass the limit, and a
 * refusal must be right on the stored use.
 */
static void
test_two_handles_random(void **state)
{
	struct fixture *f = *state;
	zg_store *handles[2] = {f->st, open_second(f)};
	int64_t now = at("2024-05-01T12:00:00Z");
	unsigned seed = (unsigned)zg_time_now_us();
	uint64_t live[200];
	bool is_live[200] = {false};
	uint64_t live_sum = 0;
	char id[32];

	printf("test_two_handles_random: seed %u\n", seed);
	srand(seed);
	for (int i = 0; i < 200; i++) {
		zg_store *st = handles[rand() % 2];
		int victim = rand() % (i + 1);
		if (rand() % 3 == 0 && is_live[victim]) {
			snprintf(id, sizeof(id), "r%d", victim);
			assert_int_equal(zg_txlimits_release(st, id, now, NULL),
			    ZG_OK);
			is_live[victim] = false;
			live_sum -= live[victim];
		}
		uint64_t amount = 1 + (uint64_t)(rand() % 4);
		snprintf(id, sizeof(id), "r%d", i);
		zg_err err = reserve_on(st, f, L_TEN, "key_a", amount, id, now);
		if (live_sum + amount <= 10) {
			assert_int_equal(err, ZG_OK);
			live[i] = amount;
			is_live[i] = true;
			live_sum += amount;
		} else {
			assert_int_equal(err, ZG_ERR_FORBIDDEN);
		}
		zg_txlimit_status s = status_of(f, L_TEN,
		    live_sum > 0 ? "key_a" : "", now);
		assert_int_equal(u64(&s.used), live_sum);
	}
	close_second(handles[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_concurrent_ten_of_hundred,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_or_none, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_release_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_reservation,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_scopes_separate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_day_rollover, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ended_windows_pruned, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rolling_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_berlin_spring_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_berlin_autumn_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_santiago_skipped_midnight,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_month_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status_json, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_reserve,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_creates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_release,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_rolling,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles_ten_of_hundred,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles_random, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
