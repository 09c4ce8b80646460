/*
 * Tests of the generic object store and counters of the SQLite backend:
 * revisions, conflicts, listing, atomic batches, and compare-and-set under
 * concurrent writers.
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

#include "base/log.h"
#include "store/store.h"

#define T0 1700000000000000LL
#define CAS_THREADS 8
#define CAS_ROUNDS 40

struct fixture {
	char dir[64];
	zg_store *st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/zg_obj_XXXXXX");
	if (mkdtemp(f->dir) == NULL || zg_store_sqlite_open(f->dir, &f->st) !=
	    ZG_OK) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	f->st->ops->close(f->st);
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

static zg_obj_row
row(const char *kind, const char *id, const char *owner, const char *body)
{
	zg_obj_row r;
	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.owner, sizeof(r.owner), "%s", owner);
	r.body_json = (char *)body;
	r.created_at = T0;
	r.updated_at = T0;
	return r;
}

static void
test_put_get(void **state)
{
	struct fixture *f = *state;
	zg_obj_row r = row("role", "ops", "", "{\"a\":1}"), got;
	uint8_t blob[3] = {1, 2, 3};
	int64_t rev;
	r.blob = blob;
	r.blob_len = sizeof(blob);
	assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW, &rev),
	    ZG_OK);
	assert_int_equal(rev, 1);
	assert_int_equal(f->st->ops->obj_get(f->st, "role", "ops", &got), ZG_OK);
	assert_string_equal(got.body_json, "{\"a\":1}");
	assert_int_equal(got.blob_len, 3);
	assert_memory_equal(got.blob, blob, 3);
	assert_int_equal(got.rev, 1);
	zg_obj_row_free(&got);
}

static void
test_get_missing(void **state)
{
	struct fixture *f = *state;
	zg_obj_row got;
	assert_int_equal(f->st->ops->obj_get(f->st, "role", "none", &got),
	    ZG_ERR_NOT_FOUND);
}

static void
test_create_twice_conflicts(void **state)
{
	struct fixture *f = *state;
	zg_obj_row r = row("role", "ops", "", "{}");
	assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW, NULL),
	    ZG_OK);
	assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW, NULL),
	    ZG_ERR_CONFLICT);
}

static void
test_update_checks_revision(void **state)
{
	struct fixture *f = *state;
	zg_obj_row r = row("role", "ops", "", "{}");
	int64_t rev;
	assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW, &rev),
	    ZG_OK);
	r.body_json = "{\"v\":2}";
	assert_int_equal(f->st->ops->obj_put(f->st, &r, 1, &rev), ZG_OK);
	assert_int_equal(rev, 2);
	/* A writer that read revision 1 has lost the race. */
	assert_int_equal(f->st->ops->obj_put(f->st, &r, 1, &rev),
	    ZG_ERR_CONFLICT);
	zg_obj_row other = row("role", "absent", "", "{}");
	assert_int_equal(f->st->ops->obj_put(f->st, &other, 1, &rev),
	    ZG_ERR_NOT_FOUND);
}

static void
test_list_owner_prefix_pages(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"k/1", "k/2", "k/3", "m/1"};
	for (size_t i = 0; i < 4; i++) {
		zg_obj_row r = row("key", ids[i], i == 1 ? "bob" : "alice",
		    "{}");
		assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW,
		    NULL), ZG_OK);
	}
	zg_obj_row *rows;
	size_t n;
	assert_int_equal(f->st->ops->obj_list(f->st, "key", "alice", "k/",
	    NULL, 10, &rows, &n), ZG_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].id, "k/1");
	assert_string_equal(rows[1].id, "k/3");
	zg_obj_rows_free(rows, n);
	assert_int_equal(f->st->ops->obj_list(f->st, "key", NULL, NULL, "k/2",
	    1, &rows, &n), ZG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].id, "k/3");
	zg_obj_rows_free(rows, n);
	assert_int_equal(f->st->ops->obj_list(f->st, "other", NULL, NULL,
	    NULL, 10, &rows, &n), ZG_OK);
	assert_int_equal(n, 0);
	zg_obj_rows_free(rows, n);
}

static void
test_delete(void **state)
{
	struct fixture *f = *state;
	zg_obj_row r = row("role", "ops", "", "{}"), got;
	assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW, NULL),
	    ZG_OK);
	assert_int_equal(f->st->ops->obj_delete(f->st, "role", "ops", 2),
	    ZG_ERR_CONFLICT);
	assert_int_equal(f->st->ops->obj_delete(f->st, "role", "ops", 1),
	    ZG_OK);
	assert_int_equal(f->st->ops->obj_get(f->st, "role", "ops", &got),
	    ZG_ERR_NOT_FOUND);
	assert_int_equal(f->st->ops->obj_delete(f->st, "role", "ops",
	    ZG_REV_ANY), ZG_ERR_NOT_FOUND);
}

/* A batch whose last check fails leaves nothing of its earlier writes. */
static void
test_apply_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	zg_obj_row a = row("role", "a", "", "{}"), b = row("role", "b", "", "{}");
	zg_obj_row ctr = row("", "authz_version", "", NULL), got;
	size_t failed = 99;
	int64_t v;
	assert_int_equal(f->st->ops->obj_put(f->st, &b, ZG_REV_NEW, NULL),
	    ZG_OK);
	zg_obj_op ops[] = {
		{ZG_OBJ_PUT, &a, ZG_REV_NEW, 0},
		{ZG_OBJ_COUNTER, &ctr, 0, 1},
		{ZG_OBJ_PUT, &b, ZG_REV_NEW, 0},
	};
	assert_int_equal(f->st->ops->obj_apply(f->st, ops, 3, &failed),
	    ZG_ERR_CONFLICT);
	assert_int_equal(failed, 2);
	assert_int_equal(f->st->ops->obj_get(f->st, "role", "a", &got),
	    ZG_ERR_NOT_FOUND);
	assert_int_equal(f->st->ops->counter_add(f->st, "authz_version", 0, &v),
	    ZG_OK);
	assert_int_equal(v, 0);
	ops[2].expect_rev = 1;
	assert_int_equal(f->st->ops->obj_apply(f->st, ops, 3, NULL), ZG_OK);
	assert_int_equal(f->st->ops->counter_add(f->st, "authz_version", 0, &v),
	    ZG_OK);
	assert_int_equal(v, 1);
}

static void
test_counter(void **state)
{
	struct fixture *f = *state;
	int64_t v;
	assert_int_equal(f->st->ops->counter_add(f->st, "c", 0, &v), ZG_OK);
	assert_int_equal(v, 0);
	assert_int_equal(f->st->ops->counter_add(f->st, "c", 5, &v), ZG_OK);
	assert_int_equal(v, 5);
	assert_int_equal(f->st->ops->counter_add(f->st, "c", -2, &v), ZG_OK);
	assert_int_equal(v, 3);
}

struct cas_arg {
	zg_store *st;
	int conflicts;
};

/* Increments the number in object ("n", "x") by read, modify and
 * compare-and-set, retrying on conflict. */
static void *
cas_worker(void *p)
{
	struct cas_arg *a = p;
	for (int i = 0; i < CAS_ROUNDS; i++) {
		for (;;) {
			zg_obj_row got;
			char body[32];
			if (a->st->ops->obj_get(a->st, "n", "x", &got) != ZG_OK)
				return NULL;
			long v = strtol(got.body_json, NULL, 10);
			int64_t rev = got.rev;
			zg_obj_row_free(&got);
			snprintf(body, sizeof(body), "%ld", v + 1);
			zg_obj_row r = row("n", "x", "", body);
			zg_err err = a->st->ops->obj_put(a->st, &r, rev, NULL);
			if (err == ZG_OK)
				break;
			if (err != ZG_ERR_CONFLICT)
				return NULL;
			a->conflicts++;
		}
	}
	return NULL;
}

static void
test_compare_and_set_concurrent(void **state)
{
	struct fixture *f = *state;
	zg_obj_row r = row("n", "x", "", "0"), got;
	pthread_t t[CAS_THREADS];
	struct cas_arg args[CAS_THREADS];
	assert_int_equal(f->st->ops->obj_put(f->st, &r, ZG_REV_NEW, NULL),
	    ZG_OK);
	for (int i = 0; i < CAS_THREADS; i++) {
		args[i] = (struct cas_arg){f->st, 0};
		assert_int_equal(pthread_create(&t[i], NULL, cas_worker,
		    &args[i]), 0);
	}
	for (int i = 0; i < CAS_THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(f->st->ops->obj_get(f->st, "n", "x", &got), ZG_OK);
	assert_int_equal(strtol(got.body_json, NULL, 10),
	    CAS_THREADS * CAS_ROUNDS);
	assert_int_equal(got.rev, 1 + CAS_THREADS * CAS_ROUNDS);
	zg_obj_row_free(&got);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_put_get),
		T(test_get_missing),
		T(test_create_twice_conflicts),
		T(test_update_checks_revision),
		T(test_list_owner_prefix_pages),
		T(test_delete),
		T(test_apply_all_or_nothing),
		T(test_counter),
		T(test_compare_and_set_concurrent),
	};
	zg_log_set_level(ZG_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
