/*
 * Tests of the audit-log operations of the SQLite store backend, and of
 * read-only handles. Each test gets a fresh data directory under /tmp and
 * an open read-write store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

#define T0 1700000000000000LL /* a fixed time, in microseconds */
#define CANONICAL_MAX 256

struct fixture {
	char dir[64];
	char db_path[96];
	zg_store *st;
};

static void
remove_db_files(const char *db_path)
{
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[160];

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
		unlink(path);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/zg_audit_XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db_path, sizeof(f->db_path), "%s/zguard.db", f->dir);
	if (zg_store_sqlite_open(f->dir, &f->st) != ZG_OK) {
		rmdir(f->dir);
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

	if (f->st != NULL)
		f->st->ops->close(f->st);
	remove_db_files(f->db_path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/*
 * A batch of events and the Merkle nodes they complete. Event i has user
 * i % 3 and resource i % 5, and its canonical bytes name all three.
 */
struct batch {
	zg_audit_append_row *events;
	uint8_t (*canonical)[CANONICAL_MAX];
	size_t n;
	zg_merkle_node_row *nodes;
	size_t m;
};

static void
fill_hmac(uint8_t out[32], char kind, unsigned v)
{
	memset(out, 0, 32);
	out[0] = (uint8_t)kind;
	out[1] = (uint8_t)v;
}

static void
fill_hash(uint8_t out[32], unsigned level, uint64_t index)
{
	for (size_t i = 0; i < 32; i++)
		out[i] = (uint8_t)(level * 31 + index * 7 + i);
}

/*
 * Builds events first .. first + n - 1, a level-0 node for each, and the
 * node of every perfect subtree that the last leaf of the batch completes.
 */
static void
batch_make(struct batch *b, uint64_t first, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->events = calloc(n, sizeof(*b->events));
	b->canonical = calloc(n, sizeof(*b->canonical));
	/* Each leaf completes at most 64 subtrees, one per level. */
	b->nodes = calloc(n * 64 + 1, sizeof(*b->nodes));
	assert_non_null(b->events);
	assert_non_null(b->canonical);
	assert_non_null(b->nodes);
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t leaf = first + i;
		zg_audit_append_row *e = &b->events[i];
		int len = snprintf((char *)b->canonical[i], CANONICAL_MAX,
		    "{\"action\":\"credential.read\",\"leaf\":%llu,"
		    "\"resource\":\"cred_%u\",\"user\":\"user_%u\"}",
		    (unsigned long long)leaf, (unsigned)(leaf % 5),
		    (unsigned)(leaf % 3));
		e->leaf_index = leaf;
		e->canonical = b->canonical[i];
		e->canonical_len = (size_t)len;
		e->timestamp = T0 + (int64_t)(leaf % 1000000);
		fill_hmac(e->user_hmac, 'u', (unsigned)(leaf % 3));
		fill_hmac(e->resource_hmac, 'r', (unsigned)(leaf % 5));

		/* Leaf `leaf` completes the subtree (k, (leaf+1)/2^k - 1). */
		for (unsigned k = 0; k < 64; k++) {
			if (k > 0 && ((leaf + 1) & ((1ULL << k) - 1)) != 0)
				break;
			zg_merkle_node_row *nd = &b->nodes[b->m++];
			nd->level = k;
			nd->index = ((leaf + 1) >> k) - 1;
			fill_hash(nd->hash, k, nd->index);
		}
	}
}

static void
batch_free(struct batch *b)
{
	free(b->events);
	free(b->canonical);
	free(b->nodes);
	memset(b, 0, sizeof(*b));
}

static zg_err
append_range(zg_store *st, uint64_t first, size_t n)
{
	struct batch b;

	batch_make(&b, first, n);
	zg_err err = st->ops->audit_append(st, b.events, b.n, b.nodes, b.m);
	batch_free(&b);
	return err;
}

static uint64_t
size_of(zg_store *st)
{
	uint64_t size = UINT64_MAX;

	assert_int_equal(st->ops->audit_size(st, &size), ZG_OK);
	return size;
}

static size_t
count_events(zg_store *st)
{
	zg_audit_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(st->ops->audit_events(st, 0, SIZE_MAX, &rows, &n),
	    ZG_OK);
	zg_audit_rows_free(rows, n);
	return n;
}

/* Checks that row is event leaf as batch_make built it. */
static void
assert_event(const zg_audit_row *row, uint64_t leaf)
{
	struct batch b;

	batch_make(&b, leaf, 1);
	assert_int_equal(row->leaf_index, leaf);
	assert_int_equal(row->timestamp, T0 + (int64_t)(leaf % 1000000));
	assert_int_equal(row->canonical_len, b.events[0].canonical_len);
	assert_memory_equal(row->canonical, b.events[0].canonical,
	    row->canonical_len);
	batch_free(&b);
}

static void
make_head(zg_tree_head_row *h, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	h->tree_size = size;
	fill_hash(h->root, 99, size);
	h->timestamp = T0 + (int64_t)(size % 1000000);
	memset(h->signature, (int)(size & 0xff), sizeof(h->signature));
	snprintf(h->key_id, sizeof(h->key_id), "ed25519_%llu",
	    (unsigned long long)size);
}

static void
assert_head(const zg_tree_head_row *got, uint64_t size)
{
	zg_tree_head_row want;

	make_head(&want, size);
	assert_int_equal(got->tree_size, want.tree_size);
	assert_memory_equal(got->root, want.root, sizeof(want.root));
	assert_int_equal(got->timestamp, want.timestamp);
	assert_memory_equal(got->signature, want.signature,
	    sizeof(want.signature));
	assert_string_equal(got->key_id, want.key_id);
}

/* Runs sql on the database file through a connection of its own. */
static void
exec_sql(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_append_read_back(void **state)
{
	struct fixture *f = *state;
	zg_audit_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(append_range(f->st, 0, 7), ZG_OK);
	assert_int_equal(append_range(f->st, 7, 5), ZG_OK);
	assert_int_equal(f->st->ops->audit_events(f->st, 0, 100, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 12);
	for (size_t i = 0; i < n; i++)
		assert_event(&rows[i], i);
	zg_audit_rows_free(rows, n);
}

static void
test_events_from_limit(void **state)
{
	struct fixture *f = *state;
	zg_audit_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(append_range(f->st, 0, 10), ZG_OK);
	assert_int_equal(f->st->ops->audit_events(f->st, 4, 3, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 3);
	assert_event(&rows[0], 4);
	assert_event(&rows[1], 5);
	assert_event(&rows[2], 6);
	zg_audit_rows_free(rows, n);

	assert_int_equal(f->st->ops->audit_events(f->st, 10, 3, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 0);
	assert_null(rows);

	assert_int_equal(f->st->ops->audit_events(f->st, 0, 0, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 0);
	assert_null(rows);
}

static void
test_events_many_rows(void **state)
{
	struct fixture *f = *state;
	zg_audit_row *rows = NULL;
	size_t n = 0;

	/* More rows than the first allocation, so the array grows. */
	assert_int_equal(append_range(f->st, 0, 300), ZG_OK);
	assert_int_equal(f->st->ops->audit_events(f->st, 0, 1000, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 300);
	assert_event(&rows[0], 0);
	assert_event(&rows[299], 299);
	zg_audit_rows_free(rows, n);
}

static void
test_size(void **state)
{
	struct fixture *f = *state;
	zg_merkle_node_row inner;

	assert_int_equal(size_of(f->st), 0);
	assert_int_equal(append_range(f->st, 0, 3), ZG_OK);
	assert_int_equal(size_of(f->st), 3);
	/* Only level-0 nodes count as leaves. */
	memset(&inner, 0, sizeof(inner));
	inner.level = 1;
	inner.index = 40;
	assert_int_equal(f->st->ops->audit_append(f->st, NULL, 0, &inner, 1),
	    ZG_OK);
	assert_int_equal(size_of(f->st), 3);
}

static void
test_node_get(void **state)
{
	struct fixture *f = *state;
	uint8_t got[32], want[32];

	assert_int_equal(append_range(f->st, 0, 4), ZG_OK);
	assert_int_equal(f->st->ops->audit_node_get(f->st, 0, 2, got), ZG_OK);
	fill_hash(want, 0, 2);
	assert_memory_equal(got, want, 32);
	/* Leaf 3 completes the subtrees (1, 1) and (2, 0). */
	assert_int_equal(f->st->ops->audit_node_get(f->st, 2, 0, got), ZG_OK);
	fill_hash(want, 2, 0);
	assert_memory_equal(got, want, 32);
	assert_int_equal(f->st->ops->audit_node_get(f->st, 1, 1, got), ZG_OK);
	assert_int_equal(f->st->ops->audit_node_get(f->st, 0, 4, got),
	    ZG_ERR_NOT_FOUND);
	assert_int_equal(f->st->ops->audit_node_get(f->st, 3, 0, got),
	    ZG_ERR_NOT_FOUND);
}

static void
test_node_wrong_length(void **state)
{
	struct fixture *f = *state;
	uint8_t got[32];

	exec_sql(f->db_path, "INSERT INTO audit_nodes (level, idx, hash) "
	    "VALUES (0, 0, x'0102')");
	assert_int_equal(f->st->ops->audit_node_get(f->st, 0, 0, got),
	    ZG_ERR_INTEGRITY);
}

/* Reads a node range and checks that it is exactly the indexes in want. */
static void
assert_nodes_range(zg_store *st, unsigned level, uint64_t from, size_t limit,
    const uint64_t *want, size_t nwant)
{
	zg_merkle_node_row rows[16];
	uint8_t hash[32];
	size_t n = SIZE_MAX;

	assert_true(limit <= 16);
	assert_int_equal(st->ops->audit_nodes_range(st, level, from, limit,
	    rows, &n), ZG_OK);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rows[i].level, level);
		assert_int_equal(rows[i].index, want[i]);
		fill_hash(hash, level, want[i]);
		assert_memory_equal(rows[i].hash, hash, 32);
	}
}

static void
test_nodes_range(void **state)
{
	struct fixture *f = *state;

	/* Ten leaves: level 1 has 0..4, level 2 has 0 and 1, level 3 has 0. */
	assert_int_equal(append_range(f->st, 0, 10), ZG_OK);
	assert_nodes_range(f->st, 0, 3, 4, (const uint64_t[]){3, 4, 5, 6}, 4);
	assert_nodes_range(f->st, 0, 8, 16, (const uint64_t[]){8, 9}, 2);
	assert_nodes_range(f->st, 1, 0, 16,
	    (const uint64_t[]){0, 1, 2, 3, 4}, 5);
	assert_nodes_range(f->st, 2, 1, 16, (const uint64_t[]){1}, 1);
	assert_nodes_range(f->st, 3, 0, 16, (const uint64_t[]){0}, 1);
	assert_nodes_range(f->st, 4, 0, 16, NULL, 0);
	assert_nodes_range(f->st, 0, 10, 16, NULL, 0);
	assert_nodes_range(f->st, 0, 0, 0, NULL, 0);
}

static void
test_nodes_range_gap(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 10), ZG_OK);
	exec_sql(f->db_path, "DELETE FROM audit_nodes WHERE level=0 AND idx=5");
	assert_nodes_range(f->st, 0, 4, 3, (const uint64_t[]){4, 6, 7}, 3);
	assert_nodes_range(f->st, 0, 5, 2, (const uint64_t[]){6, 7}, 2);
}

static void
test_nodes_range_malformed(void **state)
{
	struct fixture *f = *state;
	zg_merkle_node_row rows[8];
	size_t n = SIZE_MAX;

	assert_int_equal(append_range(f->st, 0, 8), ZG_OK);
	exec_sql(f->db_path, "UPDATE audit_nodes SET hash=x'0102' "
	    "WHERE level=0 AND idx=5");
	assert_int_equal(f->st->ops->audit_nodes_range(f->st, 0, 2, 8, rows,
	    &n), ZG_ERR_INTEGRITY);
	assert_int_equal(n, 0);
	/* Rows before the malformed one still read. */
	assert_nodes_range(f->st, 0, 2, 3, (const uint64_t[]){2, 3, 4}, 3);
	assert_nodes_range(f->st, 0, 6, 8, (const uint64_t[]){6, 7}, 2);
}

/* Collects visited events; stops with ZG_ERR_CONFLICT after stop_after. */
struct visit_log {
	zg_audit_row rows[16];
	uint8_t bytes[16][CANONICAL_MAX];
	size_t n;
	size_t stop_after;
};

static zg_err
visit_event(void *ctx, uint64_t leaf_index, const uint8_t *canonical,
    size_t canonical_len, int64_t timestamp)
{
	struct visit_log *l = ctx;

	if (l->n == l->stop_after)
		return ZG_ERR_CONFLICT;
	assert_true(l->n < 16);
	assert_true(canonical_len <= CANONICAL_MAX);
	memcpy(l->bytes[l->n], canonical, canonical_len);
	l->rows[l->n].leaf_index = leaf_index;
	l->rows[l->n].canonical = l->bytes[l->n];
	l->rows[l->n].canonical_len = canonical_len;
	l->rows[l->n].timestamp = timestamp;
	l->n++;
	return ZG_OK;
}

static void
test_events_visit(void **state)
{
	struct fixture *f = *state;
	struct visit_log l = {.stop_after = SIZE_MAX};

	assert_int_equal(append_range(f->st, 0, 12), ZG_OK);
	assert_int_equal(f->st->ops->audit_events_visit(f->st, 3, 5,
	    visit_event, &l), ZG_OK);
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < l.n; i++)
		assert_event(&l.rows[i], 3 + i);

	l.n = 0;
	assert_int_equal(f->st->ops->audit_events_visit(f->st, 10, 16,
	    visit_event, &l), ZG_OK);
	assert_int_equal(l.n, 2);
	assert_event(&l.rows[1], 11);

	l.n = 0;
	assert_int_equal(f->st->ops->audit_events_visit(f->st, 0, 0,
	    visit_event, &l), ZG_OK);
	assert_int_equal(l.n, 0);
}

static void
test_events_visit_stops(void **state)
{
	struct fixture *f = *state;
	struct visit_log l = {.stop_after = 2};

	assert_int_equal(append_range(f->st, 0, 6), ZG_OK);
	assert_int_equal(f->st->ops->audit_events_visit(f->st, 0, 6,
	    visit_event, &l), ZG_ERR_CONFLICT);
	assert_int_equal(l.n, 2);
	/* The statement was reset, so the store reads on normally. */
	assert_int_equal(count_events(f->st), 6);
}

/* Searches and checks that the result is exactly the leaves in want. */
static void
assert_search(zg_store *st, const uint8_t *user, const uint8_t *resource,
    uint64_t from, size_t limit, const uint64_t *want, size_t nwant)
{
	zg_audit_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(st->ops->audit_search(st, user, resource, from, limit,
	    &rows, &n), ZG_OK);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_event(&rows[i], want[i]);
	zg_audit_rows_free(rows, n);
}

/* Runs a query that returns one integer through a connection of its own. */
static int64_t
query_int(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static uint64_t
catch_up(zg_store *st, size_t max_events)
{
	uint64_t upto = UINT64_MAX;

	assert_int_equal(st->ops->audit_index_catch_up(st, max_events, &upto),
	    ZG_OK);
	return upto;
}

/*
 * Checks one search against the events 0 .. total - 1 that batch_make
 * builds: user < 0 or resource < 0 means no filter on that field.
 */
static void
assert_search_matches(zg_store *st, int user, int resource, uint64_t total,
    uint64_t from, size_t limit)
{
	uint8_t user_hmac[32], resource_hmac[32];
	zg_audit_row *rows = NULL;
	size_t n = 0, want = 0;

	fill_hmac(user_hmac, 'u', (unsigned)user);
	fill_hmac(resource_hmac, 'r', (unsigned)resource);
	assert_int_equal(st->ops->audit_search(st,
	    user >= 0 ? user_hmac : NULL, resource >= 0 ? resource_hmac : NULL,
	    from, limit, &rows, &n), ZG_OK);
	for (uint64_t leaf = from; leaf < total && want < limit; leaf++) {
		if (user >= 0 && leaf % 3 != (uint64_t)user)
			continue;
		if (resource >= 0 && leaf % 5 != (uint64_t)resource)
			continue;
		if (want >= n)
			fail_msg("search user=%d resource=%d from=%llu limit=%zu "
			    "missed leaf %llu", user, resource,
			    (unsigned long long)from, limit,
			    (unsigned long long)leaf);
		assert_event(&rows[want], leaf);
		want++;
	}
	assert_int_equal(n, want);
	zg_audit_rows_free(rows, n);
}

/*
 * Runs every filter combination with starts and limits on both sides of
 * indexed_upto, the first leaf index that the search index does not cover.
 */
static void
assert_searches(zg_store *st, uint64_t total, uint64_t indexed_upto)
{
	const int users[] = {-1, 0, 2};
	const int resources[] = {-1, 1, 4};
	const size_t limits[] = {1, 2, 5, SIZE_MAX};
	uint64_t froms[] = {0, 1, indexed_upto, indexed_upto + 1,
	    total >= 1 ? total - 1 : 0, total,
	    indexed_upto >= 2 ? indexed_upto - 2 : 0,
	    indexed_upto >= 1 ? indexed_upto - 1 : 0};

	for (size_t u = 0; u < 3; u++)
		for (size_t r = 0; r < 3; r++)
			for (size_t i = 0; i < 8; i++)
				for (size_t k = 0; k < 4; k++)
					assert_search_matches(st, users[u],
					    resources[r], total, froms[i],
					    limits[k]);
}

/*
 * Runs of events far apart, so that they fall in different buckets of the
 * search index (65,536 leaves each) with empty buckets between them.
 */
static const uint64_t spread_starts[] = {0, 200000, 5000000};
#define SPREAD_RUN 11
#define SPREAD_RUNS 3
#define SPREAD_TOTAL (SPREAD_RUN * SPREAD_RUNS)

static void
append_spread(zg_store *st)
{
	for (size_t i = 0; i < SPREAD_RUNS; i++)
		assert_int_equal(append_range(st, spread_starts[i], SPREAD_RUN),
		    ZG_OK);
}

/* The leaf index of the i-th event that append_spread stores. */
static uint64_t
spread_leaf(size_t i)
{
	return spread_starts[i / SPREAD_RUN] + i % SPREAD_RUN;
}

/*
 * Checks one search against the events of append_spread, as
 * assert_search_matches does against a dense log.
 */
static void
assert_spread_matches(zg_store *st, int user, int resource, uint64_t from,
    size_t limit)
{
	uint8_t user_hmac[32], resource_hmac[32];
	zg_audit_row *rows = NULL;
	size_t n = 0, want = 0;

	fill_hmac(user_hmac, 'u', (unsigned)user);
	fill_hmac(resource_hmac, 'r', (unsigned)resource);
	assert_int_equal(st->ops->audit_search(st,
	    user >= 0 ? user_hmac : NULL, resource >= 0 ? resource_hmac : NULL,
	    from, limit, &rows, &n), ZG_OK);
	for (size_t i = 0; i < SPREAD_TOTAL && want < limit; i++) {
		uint64_t leaf = spread_leaf(i);
		if (leaf < from)
			continue;
		if (user >= 0 && leaf % 3 != (uint64_t)user)
			continue;
		if (resource >= 0 && leaf % 5 != (uint64_t)resource)
			continue;
		if (want >= n)
			fail_msg("search user=%d resource=%d from=%llu limit=%zu "
			    "missed leaf %llu", user, resource,
			    (unsigned long long)from, limit,
			    (unsigned long long)leaf);
		assert_event(&rows[want], leaf);
		want++;
	}
	assert_int_equal(n, want);
	zg_audit_rows_free(rows, n);
}

/*
 * Runs every filter combination over the events of append_spread, with
 * starts on both sides of each bucket boundary and limits that end inside
 * each run.
 */
static void
assert_spread_searches(zg_store *st)
{
	const int users[] = {-1, 0, 2};
	const int resources[] = {-1, 1, 4};
	const size_t limits[] = {1, 2, 3, 5, 12, SIZE_MAX};
	const uint64_t froms[] = {0, 5, 11, 65536, 199999, 200000, 200006,
	    200011, 4999999, 5000000, 5000007, 5000011, 6000000};

	for (size_t u = 0; u < 3; u++)
		for (size_t r = 0; r < 3; r++)
			for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]);
			    i++)
				for (size_t k = 0; k < 6; k++)
					assert_spread_matches(st, users[u],
					    resources[r], froms[i], limits[k]);
}

/* Checks that every index row is in the bucket of its leaf index. */
static void
assert_index_buckets(const char *db_path)
{
	assert_int_equal(query_int(db_path, "SELECT count(*) FROM audit_search "
	    "WHERE bucket != leaf_index >> 16"), 0);
}

static void
test_search_user(void **state)
{
	struct fixture *f = *state;
	uint8_t user[32];

	assert_int_equal(append_range(f->st, 0, 20), ZG_OK);
	fill_hmac(user, 'u', 1);
	assert_search(f->st, user, NULL, 0, 100,
	    (const uint64_t[]){1, 4, 7, 10, 13, 16, 19}, 7);
	assert_search(f->st, user, NULL, 5, 2, (const uint64_t[]){7, 10}, 2);
	fill_hmac(user, 'u', 9);
	assert_search(f->st, user, NULL, 0, 100, NULL, 0);
}

static void
test_search_resource(void **state)
{
	struct fixture *f = *state;
	uint8_t resource[32];

	assert_int_equal(append_range(f->st, 0, 20), ZG_OK);
	fill_hmac(resource, 'r', 2);
	assert_search(f->st, NULL, resource, 0, 100,
	    (const uint64_t[]){2, 7, 12, 17}, 4);
	assert_search(f->st, NULL, resource, 8, 100,
	    (const uint64_t[]){12, 17}, 2);
}

static void
test_search_both(void **state)
{
	struct fixture *f = *state;
	uint8_t user[32], resource[32];

	assert_int_equal(append_range(f->st, 0, 40), ZG_OK);
	fill_hmac(user, 'u', 2);
	fill_hmac(resource, 'r', 3);
	/* leaf % 3 == 2 and leaf % 5 == 3: leaf % 15 == 8. */
	assert_search(f->st, user, resource, 0, 100,
	    (const uint64_t[]){8, 23, 38}, 3);
	assert_search(f->st, user, resource, 9, 1, (const uint64_t[]){23}, 1);
	assert_search(f->st, user, resource, 0, 0, NULL, 0);
}

static void
test_search_no_filter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 6), ZG_OK);
	assert_search(f->st, NULL, NULL, 2, 3, (const uint64_t[]){2, 3, 4}, 3);
}

static void
test_search_unindexed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 25), ZG_OK);
	assert_int_equal(append_range(f->st, 25, 15), ZG_OK);
	assert_int_equal(catch_up(f->st, 0), 0);
	assert_searches(f->st, 40, 0);
}

static void
test_search_partly_indexed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 40), ZG_OK);
	assert_int_equal(catch_up(f->st, 17), 17);
	assert_searches(f->st, 40, 17);
	assert_int_equal(catch_up(f->st, 10), 27);
	assert_searches(f->st, 40, 27);
}

static void
test_search_fully_indexed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 40), ZG_OK);
	assert_int_equal(catch_up(f->st, SIZE_MAX), 40);
	assert_searches(f->st, 40, 40);
	/* Nothing is left to index, so the cursor stays. */
	assert_int_equal(catch_up(f->st, 20000), 40);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 80);
}

static void
test_search_reads_index(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 20), ZG_OK);
	assert_int_equal(catch_up(f->st, 20000), 20);
	/* A row taken out of the index hides its event from the search. */
	exec_sql(f->db_path, "DELETE FROM audit_search WHERE kind=0 "
	    "AND leaf_index=4");
	uint8_t user[32];
	fill_hmac(user, 'u', 1);
	assert_search(f->st, user, NULL, 0, 100,
	    (const uint64_t[]){1, 7, 10, 13, 16, 19}, 6);
	assert_search_matches(f->st, -1, 4, 20, 0, 100);
}

static void
test_catch_up_empty(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(catch_up(f->st, 20000), 0);
	assert_searches(f->st, 0, 0);
}

static void
test_catch_up_restores_sync(void **state)
{
	struct fixture *f = *state;
	zg_sqlite_store *s = zg_sqlite_from(f->st);
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(append_range(f->st, 0, 5), ZG_OK);
	assert_int_equal(catch_up(f->st, 20000), 5);
	sqlite3 *db = zg_sqlite_writer_acquire(s);
	int rc = sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	int level = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	zg_sqlite_writer_release(s);
	assert_int_equal(rc, SQLITE_ROW);
	assert_int_equal(level, 2); /* FULL */
}

static void
test_catch_up_gap(void **state)
{
	struct fixture *f = *state;
	zg_audit_row *rows = NULL;
	size_t n = 0;
	uint8_t user[32];

	/* Leaves 10 .. 19 are missing; the index skips over them. */
	assert_int_equal(append_range(f->st, 0, 10), ZG_OK);
	assert_int_equal(append_range(f->st, 20, 5), ZG_OK);
	assert_int_equal(catch_up(f->st, 12), 22);
	assert_int_equal(catch_up(f->st, 12), 25);
	fill_hmac(user, 'u', 2);
	assert_int_equal(f->st->ops->audit_search(f->st, user, NULL, 0, 100,
	    &rows, &n), ZG_OK);
	assert_int_equal(n, 5);
	assert_event(&rows[3], 20);
	assert_event(&rows[4], 23);
	zg_audit_rows_free(rows, n);
}

static void
test_append_below_cursor(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 10, 10), ZG_OK);
	assert_int_equal(catch_up(f->st, 20000), 20);
	/* These land below the cursor, so the append indexes them itself. */
	assert_int_equal(append_range(f->st, 0, 10), ZG_OK);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 40);
	assert_searches(f->st, 20, 20);
}

static void
test_search_buckets_unindexed(void **state)
{
	struct fixture *f = *state;

	append_spread(f->st);
	assert_int_equal(catch_up(f->st, 0), 0);
	assert_spread_searches(f->st);
}

static void
test_search_buckets_partly_indexed(void **state)
{
	struct fixture *f = *state;

	append_spread(f->st);
	/* The cursor stops inside the second run, then inside the third. */
	assert_int_equal(catch_up(f->st, 16), 200005);
	assert_spread_searches(f->st);
	assert_int_equal(catch_up(f->st, 11), 5000005);
	assert_spread_searches(f->st);
}

static void
test_search_buckets_indexed(void **state)
{
	struct fixture *f = *state;

	append_spread(f->st);
	assert_int_equal(catch_up(f->st, SIZE_MAX), 5000011);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 2 * SPREAD_TOTAL);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(DISTINCT bucket) FROM audit_search"), 3);
	assert_index_buckets(f->db_path);
	assert_spread_searches(f->st);
}

static void
test_search_buckets_limit(void **state)
{
	struct fixture *f = *state;
	uint8_t user[32], resource[32];

	append_spread(f->st);
	assert_int_equal(catch_up(f->st, SIZE_MAX), 5000011);
	fill_hmac(user, 'u', 0);
	fill_hmac(resource, 'r', 1);
	/* leaf % 15 == 6: one match in each run. */
	assert_search(f->st, user, resource, 0, 100,
	    (const uint64_t[]){6, 200001, 5000001}, 3);
	assert_search(f->st, user, resource, 0, 2,
	    (const uint64_t[]){6, 200001}, 2);
	assert_search(f->st, user, resource, 7, 1,
	    (const uint64_t[]){200001}, 1);
	assert_search(f->st, user, resource, 200002, 100,
	    (const uint64_t[]){5000001}, 1);
	/* Each run has four events of user 0, in three buckets. */
	assert_search(f->st, user, NULL, 8, 5,
	    (const uint64_t[]){9, 200001, 200004, 200007, 200010}, 5);
}

static void
test_append_below_cursor_buckets(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 5000000, SPREAD_RUN), ZG_OK);
	assert_int_equal(catch_up(f->st, 20000), 5000011);
	/* Both runs land below the cursor, in buckets of their own. */
	assert_int_equal(append_range(f->st, 0, SPREAD_RUN), ZG_OK);
	assert_int_equal(append_range(f->st, 200000, SPREAD_RUN), ZG_OK);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 2 * SPREAD_TOTAL);
	assert_index_buckets(f->db_path);
	assert_spread_searches(f->st);
}

static void
test_catch_up_max_index(void **state)
{
	struct fixture *f = *state;
	uint8_t user[32];

	assert_int_equal(append_range(f->st, INT64_MAX, 1), ZG_OK);
	assert_int_equal(catch_up(f->st, 20000), (uint64_t)INT64_MAX + 1);
	assert_int_equal(catch_up(f->st, 20000), (uint64_t)INT64_MAX + 1);
	/* The search reaches the last bucket past the empty ones. */
	fill_hmac(user, 'u', (unsigned)((uint64_t)INT64_MAX % 3));
	assert_search(f->st, user, NULL, 0, 10,
	    (const uint64_t[]){INT64_MAX}, 1);
	assert_search(f->st, user, NULL, INT64_MAX, 10,
	    (const uint64_t[]){INT64_MAX}, 1);
}

/* SQL that removes what migrations 5 and 6 added. */
#define UNDO_SCHEMA_5_AND_6                                                  \
	"DROP TABLE objects;"                                                \
	"DROP TABLE counters;"                                               \
	"ALTER TABLE tokens DROP COLUMN subject_type;"                       \
	"ALTER TABLE tokens DROP COLUMN scope;"                              \
	"ALTER TABLE tokens ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;"

/*
 * Turns the database back into schema version 2, with the two column
 * indexes and without the search table (nor the objects and token columns
 * of later versions), and reopens it, so migrations 3 and later run on
 * the stored events.
 */
static void
reopen_from_schema_2(struct fixture *f)
{
	f->st->ops->close(f->st);
	f->st = NULL;
	exec_sql(f->db_path, "DROP TABLE audit_search;"
	    "DROP TABLE audit_search_cursor;"
	    "CREATE INDEX audit_events_user"
	    "  ON audit_events (user_hmac, leaf_index);"
	    "CREATE INDEX audit_events_resource"
	    "  ON audit_events (resource_hmac, leaf_index);"
	    UNDO_SCHEMA_5_AND_6
	    "PRAGMA user_version=2");
	assert_int_equal(zg_store_sqlite_open(f->dir, &f->st), ZG_OK);
}

static void
test_migration_backfill(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(append_range(f->st, 0, 30), ZG_OK);
	assert_int_equal(catch_up(f->st, 7), 7);
	reopen_from_schema_2(f);

	assert_int_equal(query_int(f->db_path, "PRAGMA user_version"), 6);
	assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM "
	    "sqlite_master WHERE name LIKE 'audit_events_%'"), 0);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 60);
	/* The backfill set the cursor to the end of the log. */
	assert_int_equal(query_int(f->db_path,
	    "SELECT last_indexed FROM audit_search_cursor"), 29);
	assert_int_equal(catch_up(f->st, 0), 30);
	assert_searches(f->st, 30, 30);

	/* Later appends are found in the tail, then in the index. */
	assert_int_equal(append_range(f->st, 30, 12), ZG_OK);
	assert_searches(f->st, 42, 30);
	assert_int_equal(catch_up(f->st, 20000), 42);
	assert_searches(f->st, 42, 42);
}

static void
test_migration_empty_log(void **state)
{
	struct fixture *f = *state;

	reopen_from_schema_2(f);
	assert_int_equal(query_int(f->db_path,
	    "SELECT last_indexed FROM audit_search_cursor"), -1);
	assert_int_equal(catch_up(f->st, 20000), 0);
	assert_int_equal(append_range(f->st, 0, 9), ZG_OK);
	assert_searches(f->st, 9, 0);
}

/*
 * Turns the search index back into its schema 3 shape, keyed by
 * (kind, hmac, leaf_index) and holding the rows of the events up to the
 * cursor, and reopens the database, so migration 4 runs on it.
 */
static void
reopen_from_schema_3(struct fixture *f)
{
	f->st->ops->close(f->st);
	f->st = NULL;
	exec_sql(f->db_path, "DROP TABLE audit_search;"
	    "CREATE TABLE audit_search ("
	    "  kind INTEGER NOT NULL,"
	    "  hmac BLOB NOT NULL,"
	    "  leaf_index INTEGER NOT NULL,"
	    "  PRIMARY KEY (kind, hmac, leaf_index)) WITHOUT ROWID;"
	    "INSERT INTO audit_search (kind, hmac, leaf_index)"
	    "  SELECT 0, user_hmac, leaf_index FROM audit_events"
	    "  WHERE leaf_index <= (SELECT last_indexed FROM audit_search_cursor)"
	    "  UNION ALL SELECT 1, resource_hmac, leaf_index FROM audit_events"
	    "  WHERE leaf_index <= (SELECT last_indexed FROM audit_search_cursor);"
	    UNDO_SCHEMA_5_AND_6
	    "PRAGMA user_version=3");
	assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM "
	    "pragma_table_info('audit_search') WHERE name='bucket'"), 0);
	assert_int_equal(zg_store_sqlite_open(f->dir, &f->st), ZG_OK);
}

static void
test_migration_buckets(void **state)
{
	struct fixture *f = *state;

	append_spread(f->st);
	assert_int_equal(catch_up(f->st, 16), 200005);
	reopen_from_schema_3(f);

	assert_int_equal(query_int(f->db_path, "PRAGMA user_version"), 6);
	assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM "
	    "pragma_table_info('audit_search') WHERE name='bucket'"), 1);
	/* The rebuild kept the cursor and indexed the 16 events below it. */
	assert_int_equal(query_int(f->db_path,
	    "SELECT last_indexed FROM audit_search_cursor"), 200004);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 32);
	assert_int_equal(query_int(f->db_path, "SELECT count(*) FROM "
	    "audit_search WHERE leaf_index > 200004"), 0);
	assert_index_buckets(f->db_path);
	assert_spread_searches(f->st);

	assert_int_equal(catch_up(f->st, SIZE_MAX), 5000011);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 2 * SPREAD_TOTAL);
	assert_index_buckets(f->db_path);
	assert_spread_searches(f->st);
}

static void
test_migration_buckets_unindexed(void **state)
{
	struct fixture *f = *state;

	append_spread(f->st);
	reopen_from_schema_3(f);
	assert_int_equal(query_int(f->db_path, "PRAGMA user_version"), 6);
	assert_int_equal(query_int(f->db_path,
	    "SELECT last_indexed FROM audit_search_cursor"), -1);
	assert_int_equal(query_int(f->db_path,
	    "SELECT count(*) FROM audit_search"), 0);
	assert_spread_searches(f->st);
	assert_int_equal(catch_up(f->st, 20), 200009);
	assert_spread_searches(f->st);
}

static void
test_conflict_event(void **state)
{
	struct fixture *f = *state;
	struct batch b;

	assert_int_equal(append_range(f->st, 0, 5), ZG_OK);
	/* Events 5..9, with the last one reusing index 3. */
	batch_make(&b, 5, 5);
	b.events[4].leaf_index = 3;
	assert_int_equal(f->st->ops->audit_append(f->st, b.events, b.n,
	    b.nodes, b.m), ZG_ERR_CONFLICT);
	batch_free(&b);

	assert_int_equal(count_events(f->st), 5);
	assert_int_equal(size_of(f->st), 5);
	uint8_t got[32];
	assert_int_equal(f->st->ops->audit_node_get(f->st, 0, 5, got),
	    ZG_ERR_NOT_FOUND);
}

static void
test_conflict_in_batch(void **state)
{
	struct fixture *f = *state;
	struct batch b;

	batch_make(&b, 0, 4);
	b.events[2].leaf_index = 1;
	assert_int_equal(f->st->ops->audit_append(f->st, b.events, b.n,
	    b.nodes, b.m), ZG_ERR_CONFLICT);
	batch_free(&b);
	assert_int_equal(count_events(f->st), 0);
	assert_int_equal(size_of(f->st), 0);
}

static void
test_conflict_node(void **state)
{
	struct fixture *f = *state;
	struct batch b;

	assert_int_equal(append_range(f->st, 0, 2), ZG_OK);
	/* New events, but the last node repeats the stored (0, 1). */
	batch_make(&b, 2, 2);
	b.nodes[b.m - 1].level = 0;
	b.nodes[b.m - 1].index = 1;
	assert_int_equal(f->st->ops->audit_append(f->st, b.events, b.n,
	    b.nodes, b.m), ZG_ERR_CONFLICT);
	batch_free(&b);
	assert_int_equal(count_events(f->st), 2);
	assert_int_equal(size_of(f->st), 2);
}

static void
test_index_too_large(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	zg_tree_head_row h;
	zg_audit_row *rows = NULL;
	zg_tree_head_row *heads = NULL;
	uint8_t got[32];
	size_t n = 0;
	const uint64_t big = (uint64_t)INT64_MAX + 1;

	batch_make(&b, 0, 2);
	b.events[1].leaf_index = big;
	assert_int_equal(f->st->ops->audit_append(f->st, b.events, b.n,
	    b.nodes, b.m), ZG_ERR_INVALID);
	b.events[1].leaf_index = 1;
	b.nodes[0].index = big;
	assert_int_equal(f->st->ops->audit_append(f->st, b.events, b.n,
	    b.nodes, b.m), ZG_ERR_INVALID);
	batch_free(&b);
	assert_int_equal(count_events(f->st), 0);

	assert_int_equal(f->st->ops->audit_node_get(f->st, 0, big, got),
	    ZG_ERR_INVALID);
	assert_int_equal(f->st->ops->audit_events(f->st, big, 1, &rows, &n),
	    ZG_ERR_INVALID);
	struct visit_log l = {.stop_after = SIZE_MAX};
	assert_int_equal(f->st->ops->audit_events_visit(f->st, big, 1,
	    visit_event, &l), ZG_ERR_INVALID);
	zg_merkle_node_row node;
	assert_int_equal(f->st->ops->audit_nodes_range(f->st, 0, big, 1, &node,
	    &n), ZG_ERR_INVALID);
	assert_int_equal(f->st->ops->audit_heads(f->st, big, 1, &heads, &n),
	    ZG_ERR_INVALID);
	make_head(&h, big);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_ERR_INVALID);

	/* INT64_MAX itself is the largest index that can be stored. */
	assert_int_equal(append_range(f->st, INT64_MAX, 1), ZG_OK);
	assert_int_equal(size_of(f->st), (uint64_t)INT64_MAX + 1);
}

static void
test_head_latest(void **state)
{
	struct fixture *f = *state;
	zg_tree_head_row h, got;

	assert_int_equal(f->st->ops->audit_head_latest(f->st, &got),
	    ZG_ERR_NOT_FOUND);
	make_head(&h, 8);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	make_head(&h, 20);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	make_head(&h, 12);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	assert_int_equal(f->st->ops->audit_head_latest(f->st, &got), ZG_OK);
	assert_head(&got, 20);
}

static void
test_head_put_again(void **state)
{
	struct fixture *f = *state;
	zg_tree_head_row h, got;

	make_head(&h, 5);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	/* A second head of the same size does not replace the first. */
	h.timestamp += 1000;
	h.root[0] ^= 0xff;
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	assert_int_equal(f->st->ops->audit_head_latest(f->st, &got), ZG_OK);
	assert_head(&got, 5);
}

static void
test_heads_list(void **state)
{
	struct fixture *f = *state;
	zg_tree_head_row h;
	zg_tree_head_row *rows = NULL;
	size_t n = 0;

	for (uint64_t size = 10; size >= 1; size--) {
		make_head(&h, size * 4);
		assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	}
	assert_int_equal(f->st->ops->audit_heads(f->st, 0, 100, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_head(&rows[i], (i + 1) * 4);
	free(rows);

	assert_int_equal(f->st->ops->audit_heads(f->st, 12, 2, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 2);
	assert_head(&rows[0], 16);
	assert_head(&rows[1], 20);
	free(rows);

	assert_int_equal(f->st->ops->audit_heads(f->st, 40, 5, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 0);
	assert_null(rows);
	assert_int_equal(f->st->ops->audit_heads(f->st, 0, 0, &rows, &n),
	    ZG_OK);
	assert_int_equal(n, 0);
	assert_null(rows);
}

/* Calls every write operation of st and checks that each fails. */
static void
assert_writes_rejected(zg_store *st)
{
	const zg_store_ops *ops = st->ops;
	uint8_t blob[32] = {1};
	zg_wrapped_key k = {.id = "kek", .version = 9, .blob = blob,
	    .blob_len = sizeof(blob), .created_at = T0};
	zg_cred_row c = {.id = "cred_a", .owner = "alice", .name = "db",
	    .type = "password", .metadata_json = (char *)"{}",
	    .permissions_json = (char *)"[]", .current_version = 1,
	    .created_at = T0, .updated_at = T0};
	zg_cred_version_row v = {.cred_id = "cred_a", .version = 1,
	    .blob = blob, .blob_len = sizeof(blob), .created_at = T0};
	zg_token_row t = {.id = "tok_a", .user_id = "alice", .created_at = T0};
	zg_tree_head_row h;
	char cred_id[ZG_ID_MAX];
	uint32_t version;
	struct batch b;

	assert_int_equal(ops->meta_put(st, "root_key", blob, 4), ZG_ERR_STORE);
	assert_int_equal(ops->wkey_insert(st, &k), ZG_ERR_STORE);
	assert_int_equal(ops->wkey_delete(st, "kek"), ZG_ERR_STORE);
	assert_int_equal(ops->root_rotate(st, "root_key", blob, 4, NULL, 0),
	    ZG_ERR_STORE);
	assert_int_equal(ops->cred_insert(st, &c, &v), ZG_ERR_STORE);
	v.version = 2;
	assert_int_equal(ops->cred_add_version(st, &v, T0), ZG_ERR_STORE);
	assert_int_equal(ops->cred_revoke(st, "cred_a", T0), ZG_ERR_STORE);
	assert_int_equal(ops->lease_insert(st, blob, "cred_a", 1, T0, T0 + 1),
	    ZG_ERR_STORE);
	assert_int_equal(ops->lease_redeem(st, blob, T0, cred_id, &version),
	    ZG_ERR_STORE);
	assert_int_equal(ops->token_insert(st, &t), ZG_ERR_STORE);
	assert_int_equal(ops->token_revoke(st, "tok_a", T0), ZG_ERR_STORE);
	batch_make(&b, 1000, 2);
	assert_int_equal(ops->audit_append(st, b.events, b.n, b.nodes, b.m),
	    ZG_ERR_STORE);
	batch_free(&b);
	make_head(&h, 1000);
	assert_int_equal(ops->audit_head_put(st, &h), ZG_ERR_STORE);
	uint64_t upto = UINT64_MAX;
	assert_int_equal(ops->audit_index_catch_up(st, 10, &upto),
	    ZG_ERR_STORE);
	assert_int_equal(upto, 0);
}

static void
test_readonly_sees_data(void **state)
{
	struct fixture *f = *state;
	zg_store *ro = NULL;
	zg_tree_head_row h, got;
	zg_audit_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(append_range(f->st, 0, 9), ZG_OK);
	make_head(&h, 9);
	assert_int_equal(f->st->ops->audit_head_put(f->st, &h), ZG_OK);
	f->st->ops->close(f->st);
	f->st = NULL;

	assert_int_equal(zg_store_sqlite_open_readonly(f->dir, &ro), ZG_OK);
	assert_int_equal(size_of(ro), 9);
	assert_int_equal(ro->ops->audit_events(ro, 0, 100, &rows, &n), ZG_OK);
	assert_int_equal(n, 9);
	assert_event(&rows[8], 8);
	zg_audit_rows_free(rows, n);
	assert_int_equal(ro->ops->audit_head_latest(ro, &got), ZG_OK);
	assert_head(&got, 9);
	assert_nodes_range(ro, 0, 7, 4, (const uint64_t[]){7, 8}, 2);
	assert_nodes_range(ro, 3, 0, 4, (const uint64_t[]){0}, 1);
	struct visit_log l = {.stop_after = SIZE_MAX};
	assert_int_equal(ro->ops->audit_events_visit(ro, 6, 16, visit_event,
	    &l), ZG_OK);
	assert_int_equal(l.n, 3);
	assert_event(&l.rows[2], 8);
	assert_searches(ro, 9, 0);

	assert_writes_rejected(ro);
	assert_int_equal(size_of(ro), 9);
	assert_int_equal(count_events(ro), 9);
	ro->ops->close(ro);
}

static void
test_readonly_beside_writer(void **state)
{
	struct fixture *f = *state;
	zg_store *ro = NULL;
	zg_tree_head_row got;

	assert_int_equal(append_range(f->st, 0, 4), ZG_OK);
	assert_int_equal(zg_store_sqlite_open_readonly(f->dir, &ro), ZG_OK);
	assert_int_equal(size_of(ro), 4);

	/* The read-only handle sees commits made after it opened. */
	assert_int_equal(append_range(f->st, 4, 6), ZG_OK);
	assert_int_equal(size_of(ro), 10);
	assert_int_equal(count_events(ro), 10);
	assert_int_equal(ro->ops->audit_head_latest(ro, &got),
	    ZG_ERR_NOT_FOUND);
	assert_writes_rejected(ro);
	ro->ops->close(ro);

	/* The writer still works after the read-only handle is gone. */
	assert_int_equal(append_range(f->st, 10, 2), ZG_OK);
	assert_int_equal(size_of(f->st), 12);
}

static void
test_readonly_missing(void **state)
{
	struct fixture *f = *state;
	char dir[96];
	zg_store *ro = (zg_store *)1;

	snprintf(dir, sizeof(dir), "%s/absent", f->dir);
	assert_int_equal(zg_store_sqlite_open_readonly(dir, &ro),
	    ZG_ERR_NOT_FOUND);
	assert_null(ro);
}

static void
test_readonly_old_schema(void **state)
{
	struct fixture *f = *state;
	zg_store *ro = (zg_store *)1;

	f->st->ops->close(f->st);
	f->st = NULL;
	exec_sql(f->db_path, "PRAGMA user_version=1");
	assert_int_equal(zg_store_sqlite_open_readonly(f->dir, &ro),
	    ZG_ERR_STORE);
	assert_null(ro);
}

struct appender {
	zg_store *st;
	atomic_bool done;
	zg_err err;
};

static void *
append_batches(void *arg)
{
	struct appender *a = arg;

	a->err = ZG_OK;
	for (uint64_t first = 0; first < 40 * 50 && a->err == ZG_OK;
	    first += 50)
		a->err = append_range(a->st, first, 50);
	atomic_store(&a->done, true);
	return NULL;
}

static void
test_append_atomic_for_readers(void **state)
{
	struct fixture *f = *state;
	struct appender a = {.st = f->st};
	pthread_t thread;
	uint64_t last = 0;
	int reads = 0;

	assert_int_equal(pthread_create(&thread, NULL, append_batches, &a), 0);
	/* A reader sees whole batches of 50, and never a smaller size. */
	while (!atomic_load(&a.done)) {
		uint64_t size = size_of(f->st);
		size_t events = count_events(f->st);
		assert_int_equal(size % 50, 0);
		assert_true(size >= last);
		assert_int_equal(events % 50, 0);
		assert_true(events >= size);
		last = size;
		reads++;
	}
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(a.err, ZG_OK);
	assert_int_equal(size_of(f->st), 2000);
	print_message("%d reads ran during the appends\n", reads);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_append_100k(void **state)
{
	struct fixture *f = *state;
	const size_t total = 100000, per_batch = 500;
	double elapsed = 0;

	for (uint64_t first = 0; first < total; first += per_batch) {
		struct batch b;

		batch_make(&b, first, per_batch);
		double start = now_seconds();
		assert_int_equal(f->st->ops->audit_append(f->st, b.events, b.n,
		    b.nodes, b.m), ZG_OK);
		elapsed += now_seconds() - start;
		batch_free(&b);
	}
	print_message("appended %zu events in batches of %zu in %.2f s: "
	    "%.0f events/s, %.1f ms per batch\n", total, per_batch, elapsed,
	    (double)total / elapsed,
	    elapsed * 1000 / (double)(total / per_batch));
	assert_int_equal(size_of(f->st), total);
	assert_int_equal(count_events(f->st), total);
}

/*
 * Appends batches of 200 events until one fails, and checks that it
 * failed with ZG_ERR_STORE and that every earlier batch is intact.
 */
static void
assert_fills_up(zg_store *st)
{
	const size_t per_batch = 200;
	zg_err err = ZG_OK;
	uint64_t stored = 0;

	for (int i = 0; i < 1000 && err == ZG_OK; i++) {
		err = append_range(st, stored, per_batch);
		if (err == ZG_OK)
			stored += per_batch;
	}
	assert_int_equal(err, ZG_ERR_STORE);
	assert_true(stored > 0);
	assert_int_equal(size_of(st), stored);
	assert_int_equal(count_events(st), stored);
}

static void
test_full_max_page_count(void **state)
{
	struct fixture *f = *state;
	zg_sqlite_store *s = zg_sqlite_from(f->st);

	/* Caps the file at 40 pages, 160 KiB at the default 4 KiB page size. */
	sqlite3 *db = zg_sqlite_writer_acquire(s);
	int rc = sqlite3_exec(db, "PRAGMA max_page_count=40", NULL, NULL, NULL);
	zg_sqlite_writer_release(s);
	assert_int_equal(rc, SQLITE_OK);
	assert_fills_up(f->st);
}

static void
test_full_tmpfs(void **state)
{
	char dir[64], db_path[96];
	zg_store *st = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zg_audit_full_XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/zguard.db", dir);
	if (mount("zg_audit_test", dir, "tmpfs", 0, "size=256k,mode=0700") ==
	    -1) {
		int e = errno;
		rmdir(dir);
		print_message("skipping: mounting a 256 KiB tmpfs failed (%s); "
		    "the test needs root and permission to mount\n",
		    strerror(e));
		skip();
	}

	assert_int_equal(zg_store_sqlite_open(dir, &st), ZG_OK);
	assert_fills_up(st);
	/* Reads still work after the failed write. */
	zg_tree_head_row got;
	assert_int_equal(st->ops->audit_head_latest(st, &got),
	    ZG_ERR_NOT_FOUND);
	st->ops->close(st);

	remove_db_files(db_path);
	assert_int_equal(umount(dir), 0);
	assert_int_equal(rmdir(dir), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_append_read_back),
		T(test_events_from_limit),
		T(test_events_many_rows),
		T(test_size),
		T(test_node_get),
		T(test_node_wrong_length),
		T(test_nodes_range),
		T(test_nodes_range_gap),
		T(test_nodes_range_malformed),
		T(test_events_visit),
		T(test_events_visit_stops),
		T(test_search_user),
		T(test_search_resource),
		T(test_search_both),
		T(test_search_no_filter),
		T(test_search_unindexed),
		T(test_search_partly_indexed),
		T(test_search_fully_indexed),
		T(test_search_reads_index),
		T(test_catch_up_empty),
		T(test_catch_up_restores_sync),
		T(test_catch_up_gap),
		T(test_append_below_cursor),
		T(test_search_buckets_unindexed),
		T(test_search_buckets_partly_indexed),
		T(test_search_buckets_indexed),
		T(test_search_buckets_limit),
		T(test_append_below_cursor_buckets),
		T(test_catch_up_max_index),
		T(test_migration_backfill),
		T(test_migration_empty_log),
		T(test_migration_buckets),
		T(test_migration_buckets_unindexed),
		T(test_conflict_event),
		T(test_conflict_in_batch),
		T(test_conflict_node),
		T(test_index_too_large),
		T(test_head_latest),
		T(test_head_put_again),
		T(test_heads_list),
		T(test_readonly_sees_data),
		T(test_readonly_beside_writer),
		T(test_readonly_missing),
		T(test_readonly_old_schema),
		T(test_append_atomic_for_readers),
		T(test_append_100k),
		T(test_full_max_page_count),
		cmocka_unit_test(test_full_tmpfs),
	};
	zg_log_set_level(ZG_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
