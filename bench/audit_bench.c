/*
 * Audit log write benchmark: durable appends through zg_audit_record
 * against plain SQLite inserts with the same settings. bench/audit_bench.sh
 * runs it with audit_log_bench and prints the table that
 * docs/benchmarks.md records.
 *
 *   audit_bench append DIR SECONDS WRITERS...
 *       Durable appends from each number of threads in turn, SECONDS
 *       each, on the log in DIR (created if missing).
 *   audit_bench sqlite FILE SECONDS ROW_BYTES BATCH...
 *       The reference: plain SQLite inserts into the audit tables' schema
 *       in FILE, with the store's pragmas (WAL, synchronous=FULL), one
 *       transaction per BATCH events, from one thread.
 *
 * Every result is one line "mode key=value ..." on stdout. Logs go to
 * stderr at level warn.
 */
#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>

#include "audit_bench.h"

#define MAX_WRITERS 1024

/* ---- append: durable appends through zg_audit_record ---- */

struct writer {
	pthread_t thread;
	zg_audit *audit;
	unsigned id;
	atomic_bool *stop;
	uint64_t events;
	uint64_t failures;
	double *lat;             /* latency of each record, seconds */
	size_t nlat;
	size_t caplat;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t n = (uint64_t)w->id << 40;

	while (!atomic_load(w->stop)) {
		struct event_text t;
		zg_audit_event ev;
		json_t *meta;
		make_event(n++, &t, &ev, &meta);
		double t0 = now_s();
		zg_err err = zg_audit_record(w->audit, &ev, NULL);
		double t1 = now_s();
		json_decref(meta);
		if (err != ZG_OK) {
			w->failures++;
			continue;
		}
		w->events++;
		if (w->nlat == w->caplat) {
			size_t cap = w->caplat ? w->caplat * 2 : 4096;
			double *p = realloc(w->lat, cap * sizeof(*p));
			if (p == NULL)
				continue;
			w->lat = p;
			w->caplat = cap;
		}
		w->lat[w->nlat++] = t1 - t0;
	}
	return NULL;
}

/* Runs nw writers for seconds; returns 0 or -1. */
static int
append_round(zg_audit *audit, unsigned nw, double seconds)
{
	struct writer *ws = calloc(nw, sizeof(*ws));
	atomic_bool stop = false;
	int rc = -1;

	if (ws == NULL)
		return -1;
	double t0 = now_s();
	unsigned started = 0;
	for (; started < nw; started++) {
		ws[started].audit = audit;
		ws[started].id = started + 1;
		ws[started].stop = &stop;
		if (pthread_create(&ws[started].thread, NULL, writer_main,
		    &ws[started]) != 0)
			break;
	}
	if (started == nw) {
		struct timespec ts = {(time_t)seconds,
		    (long)((seconds - (double)(time_t)seconds) * 1e9)};
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, true);
	uint64_t events = 0, failures = 0;
	size_t nlat = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(ws[i].thread, NULL);
		events += ws[i].events;
		failures += ws[i].failures;
		nlat += ws[i].nlat;
	}
	double elapsed = now_s() - t0;
	double *all = malloc((nlat ? nlat : 1) * sizeof(*all));
	if (all != NULL && started == nw) {
		size_t k = 0;
		for (unsigned i = 0; i < nw; i++) {
			memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
			k += ws[i].nlat;
		}
		qsort(all, nlat, sizeof(*all), cmp_double);
		printf("append writers=%u seconds=%.2f events=%" PRIu64
		    " failures=%" PRIu64 " events_per_s=%.0f p50_ms=%.2f"
		    " p99_ms=%.2f log_size=%" PRIu64 "\n", nw, elapsed, events,
		    failures, (double)events / elapsed,
		    quantile(all, nlat, 0.50) * 1e3,
		    quantile(all, nlat, 0.99) * 1e3,
		    zg_audit_size(audit));
		fflush(stdout);
		rc = failures == 0 ? 0 : -1;
	}
	free(all);
	for (unsigned i = 0; i < nw; i++)
		free(ws[i].lat);
	free(ws);
	return rc;
}

/* Records one event per user, so the per-user keys exist before timing. */
static int
append_warmup(zg_audit *audit)
{
	for (uint64_t n = 0; n < USERS; n++) {
		struct event_text t;
		zg_audit_event ev;
		json_t *meta;
		make_event(n, &t, &ev, &meta);
		zg_err err = zg_audit_record(audit, &ev, NULL);
		json_decref(meta);
		if (err != ZG_OK) {
			fprintf(stderr, "audit_bench: warm-up record failed: "
			    "%s\n", zg_strerror(err));
			return -1;
		}
	}
	return 0;
}

/* Prints the mean canonical size of generated events, for the sqlite mode. */
static void
print_event_size(struct bench_log *l)
{
	size_t total = 0;
	for (uint64_t n = 0; n < 64; n++) {
		struct event_text t;
		zg_audit_event ev;
		json_t *meta;
		zg_buf b = ZG_BUF_INIT;
		make_event(n, &t, &ev, &meta);
		snprintf(ev.event_id, sizeof(ev.event_id), "evt_%032" PRIx64, n);
		ev.timestamp = 1;
		if (zg_audit_encode(l->kr, l->st, &ev, &b) == ZG_OK)
			total += b.len;
		zg_buf_free(&b);
		json_decref(meta);
	}
	printf("event canonical_bytes=%zu\n", total / 64);
}

static int
mode_append(const char *dir, double seconds, int argc, char **argv)
{
	struct bench_log l;
	int rc = -1;

	if (log_open(dir, true, &l) != 0)
		return -1;
	print_event_size(&l);
	if (append_warmup(l.audit) != 0)
		goto out;
	for (int i = 0; i < argc; i++) {
		long nw = strtol(argv[i], NULL, 10);
		if (nw < 1 || nw > MAX_WRITERS) {
			fprintf(stderr, "audit_bench: writers must be 1 to %d; "
			    "got %s\n", MAX_WRITERS, argv[i]);
			goto out;
		}
		if (append_round(l.audit, (unsigned)nw, seconds) != 0)
			goto out;
	}
	rc = 0;
out:
	log_close(&l);
	return rc;
}

/*
 * ---- sqlite: the reference, plain inserts with the store's settings ----
 * The schema is what a durable audit commit writes: events and Merkle
 * nodes. The search index is filled later, outside the commit.
 */

static const char reference_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA secure_delete=ON;"
    "CREATE TABLE IF NOT EXISTS audit_events ("
    "  leaf_index INTEGER PRIMARY KEY,"
    "  canonical BLOB NOT NULL,"
    "  timestamp INTEGER NOT NULL,"
    "  user_hmac BLOB NOT NULL,"
    "  resource_hmac BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_nodes ("
    "  level INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  PRIMARY KEY (level, idx)) WITHOUT ROWID;";

/* Fills out with n pseudo-random bytes from seed (not for keys). */
static void
fill_bytes(uint64_t seed, uint8_t *out, size_t n)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[i] = (uint8_t)x;
	}
}

struct reference_db {
	sqlite3 *db;
	sqlite3_stmt *event;
	sqlite3_stmt *node;
	uint8_t *row;            /* canonical stand-in of row_bytes */
	size_t row_bytes;
	uint8_t users[USERS][32];
	uint8_t resources[RESOURCES][32];
	uint64_t next;           /* next leaf index */
};

/*
 * Inserts batch events in one transaction: per event one audit_events
 * row and the Merkle node rows the log would store with it (the leaf and
 * one per subtree the leaf completes, two on average).
 */
static int
reference_batch(struct reference_db *r, unsigned batch)
{
	if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return -1;
	for (unsigned k = 0; k < batch; k++) {
		uint64_t i = r->next++;
		memcpy(r->row, &i, sizeof(i));
		sqlite3_bind_int64(r->event, 1, (int64_t)i);
		sqlite3_bind_blob(r->event, 2, r->row, (int)r->row_bytes,
		    SQLITE_STATIC);
		sqlite3_bind_int64(r->event, 3, 1700000000000000 + (int64_t)i);
		sqlite3_bind_blob(r->event, 4, r->users[i % USERS], 32,
		    SQLITE_STATIC);
		sqlite3_bind_blob(r->event, 5,
		    r->resources[(i * 2654435761u) % RESOURCES], 32,
		    SQLITE_STATIC);
		if (sqlite3_step(r->event) != SQLITE_DONE)
			return -1;
		sqlite3_reset(r->event);
		uint64_t size = i + 1;
		for (unsigned level = 0;; level++) {
			uint8_t hash[32];
			fill_bytes(i * 64 + level, hash, sizeof(hash));
			sqlite3_bind_int(r->node, 1, (int)level);
			sqlite3_bind_int64(r->node, 2, (int64_t)(i >> level));
			sqlite3_bind_blob(r->node, 3, hash, 32, SQLITE_TRANSIENT);
			if (sqlite3_step(r->node) != SQLITE_DONE)
				return -1;
			sqlite3_reset(r->node);
			if (size & ((uint64_t)1 << level))
				break;
		}
	}
	return sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ?
	    0 : -1;
}

static int
mode_sqlite(const char *path, double seconds, size_t row_bytes, int argc,
    char **argv)
{
	struct reference_db *r = calloc(1, sizeof(*r));
	int rc = -1;

	if (r == NULL || (r->row = calloc(1, row_bytes + 8)) == NULL)
		goto out;
	r->row_bytes = row_bytes;
	fill_bytes(1, r->row, row_bytes);
	for (unsigned i = 0; i < USERS; i++)
		fill_bytes(1000 + i, r->users[i], 32);
	for (unsigned i = 0; i < RESOURCES; i++)
		fill_bytes(100000 + i, r->resources[i], 32);
	if (sqlite3_open(path, &r->db) != SQLITE_OK ||
	    sqlite3_exec(r->db, reference_schema, NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "INSERT INTO audit_events (leaf_index, "
	    "canonical, timestamp, user_hmac, resource_hmac) VALUES "
	    "(?, ?, ?, ?, ?)", -1, &r->event, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "INSERT INTO audit_nodes (level, idx, "
	    "hash) VALUES (?, ?, ?)", -1, &r->node, NULL) != SQLITE_OK) {
		fprintf(stderr, "audit_bench: %s: %s\n", path,
		    r->db ? sqlite3_errmsg(r->db) : "cannot open");
		goto out;
	}
	for (int a = 0; a < argc; a++) {
		long batch = strtol(argv[a], NULL, 10);
		if (batch < 1 || batch > 100000) {
			fprintf(stderr, "audit_bench: batch must be 1 to 100000;"
			    " got %s\n", argv[a]);
			goto out;
		}
		uint64_t first = r->next, commits = 0;
		double t0 = now_s(), elapsed;
		while ((elapsed = now_s() - t0) < seconds) {
			if (reference_batch(r, (unsigned)batch) != 0) {
				fprintf(stderr, "audit_bench: %s: %s\n", path,
				    sqlite3_errmsg(r->db));
				goto out;
			}
			commits++;
		}
		uint64_t rows = r->next - first;
		printf("sqlite batch=%ld seconds=%.2f events=%" PRIu64
		    " commits=%" PRIu64 " events_per_s=%.0f commits_per_s=%.0f"
		    " row_bytes=%zu\n", batch, elapsed, rows, commits,
		    (double)rows / elapsed, (double)commits / elapsed,
		    row_bytes);
		fflush(stdout);
	}
	rc = 0;
out:
	if (r != NULL) {
		sqlite3_finalize(r->event);
		sqlite3_finalize(r->node);
		sqlite3_close(r->db);
		free(r->row);
	}
	free(r);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: audit_bench append DIR SECONDS WRITERS...\n"
	    "       audit_bench sqlite FILE SECONDS ROW_BYTES BATCH...\n");
}

int
main(int argc, char **argv)
{
	int rc = -1;

	bench_init("audit_bench");
	if (argc >= 5 && strcmp(argv[1], "append") == 0)
		rc = mode_append(argv[2], strtod(argv[3], NULL), argc - 4,
		    argv + 4);
	else if (argc >= 6 && strcmp(argv[1], "sqlite") == 0)
		rc = mode_sqlite(argv[2], strtod(argv[3], NULL),
		    strtoul(argv[4], NULL, 10), argc - 5, argv + 5);
	else {
		usage();
		return 2;
	}
	zg_crypto_shutdown();
	return rc == 0 ? 0 : 1;
}
