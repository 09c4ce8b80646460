/*
 * Audit log read benchmark: a large log, inclusion proof latency and a
 * scan that recomputes the tree. bench/audit_bench.sh runs it with
 * audit_bench and `zguard audit verify`.
 *
 *   audit_log_bench build DIR EVENTS
 *       Fills the empty log in DIR with EVENTS events through the store's
 *       audit_append in batches of BUILD_BATCH, then signs a tree head.
 *   audit_log_bench proof DIR COUNT
 *       Times COUNT inclusion proofs of random leaves through
 *       zg_audit_inclusion_proof and checks each one.
 *   audit_log_bench scan DIR [EXPORT_FILE]
 *       Reads every event, recomputes the leaf hashes and the root, and
 *       compares the root with the latest tree head. With EXPORT_FILE,
 *       then writes the concatenated canonical bytes there for sha256sum.
 *
 * Every result is one line "mode key=value ..." on stdout. Logs go to
 * stderr at level warn.
 */
#include <unistd.h>

#include "audit_bench.h"

#define BUILD_BATCH 10000
#define BUILD_TEMPLATES 1024
#define SCAN_BATCH 10000
#define EVENT_ID_LEN 36    /* "evt_" and 32 hex digits */

/* ---- build: a large log written straight through the store ---- */

struct template {
	zg_buf bytes;
	uint8_t user_hmac[32];
	uint8_t resource_hmac[32];
};

struct node_list {
	zg_merkle_node_row *rows;
	size_t n;
	size_t cap;
};

static zg_err
collect_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	struct node_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		zg_merkle_node_row *p = realloc(l->rows, cap * sizeof(*p));
		if (p == NULL)
			return ZG_ERR_NOMEM;
		l->rows = p;
		l->cap = cap;
	}
	l->rows[l->n].level = level;
	l->rows[l->n].index = index;
	memcpy(l->rows[l->n].hash, hash, 32);
	l->n++;
	return ZG_OK;
}

/*
 * Encodes template k with zg_audit_encode (personal fields sealed under
 * the user's key) and checks that eventId and timestamp sit where
 * build_event rewrites them: u8 format, u32 length, the id, i64 time.
 */
static int
template_make(struct bench_log *l, uint64_t k, struct template *t)
{
	struct event_text text;
	zg_audit_event ev;
	json_t *meta;

	make_event(k, &text, &ev, &meta);
	snprintf(ev.event_id, sizeof(ev.event_id), "evt_%032" PRIx64, k);
	ev.timestamp = 1700000000000000;
	zg_err err = zg_audit_encode(l->kr, l->st, &ev, &t->bytes);
	if (err == ZG_OK)
		err = zg_audit_index_hash(l->kr, ev.user_id, t->user_hmac);
	if (err == ZG_OK)
		err = zg_audit_index_hash(l->kr, ev.resource, t->resource_hmac);
	json_decref(meta);
	if (err != ZG_OK) {
		fprintf(stderr, "audit_log_bench: encoding an event failed: %s\n",
		    zg_strerror(err));
		return -1;
	}
	const uint8_t *b = t->bytes.data;
	if (t->bytes.len < 5 + EVENT_ID_LEN + 8 || b[0] != ZG_AUDIT_FORMAT_V1 ||
	    b[1] != 0 || b[2] != 0 || b[3] != 0 || b[4] != EVENT_ID_LEN ||
	    memcmp(b + 5, ev.event_id, EVENT_ID_LEN) != 0) {
		fprintf(stderr, "audit_log_bench: the canonical layout changed; "
		    "update build_event\n");
		return -1;
	}
	return 0;
}

/*
 * Writes event i into out: template i % BUILD_TEMPLATES with the eventId
 * and timestamp of event i. The personal ciphertext stays the template's,
 * so it decrypts only for the template's own id, which no measured step
 * needs: proofs and verification read the bytes without decrypting.
 */
static void
build_event(const struct template *t, uint64_t i, uint8_t *out)
{
	char id[EVENT_ID_LEN + 1];
	uint64_t ts = 1700000000000000 + i * 10;

	memcpy(out, t->bytes.data, t->bytes.len);
	snprintf(id, sizeof(id), "evt_%032" PRIx64, i);
	memcpy(out + 5, id, EVENT_ID_LEN);
	for (int b = 0; b < 8; b++)
		out[5 + EVENT_ID_LEN + b] = (uint8_t)(ts >> (56 - 8 * b));
}

static int
build_events(struct bench_log *l, const struct template *tpl,
    uint64_t events, uint64_t *bytes_out)
{
	struct zg_merkle_frontier *f = malloc(sizeof(*f));
	zg_audit_append_row *rows = calloc(BUILD_BATCH, sizeof(*rows));
	size_t maxlen = 0;
	struct node_list nodes = {0};
	uint8_t *arena = NULL;
	uint64_t bytes = 0;
	int rc = -1;

	for (size_t k = 0; k < BUILD_TEMPLATES; k++)
		if (tpl[k].bytes.len > maxlen)
			maxlen = tpl[k].bytes.len;
	arena = malloc(BUILD_BATCH * maxlen);
	if (f == NULL || rows == NULL || arena == NULL)
		goto out;
	zg_merkle_frontier_init(f);
	for (uint64_t first = 0; first < events; first += BUILD_BATCH) {
		size_t n = events - first < BUILD_BATCH ? events - first :
		    BUILD_BATCH;
		uint8_t *p = arena;
		nodes.n = 0;
		for (size_t k = 0; k < n; k++) {
			uint64_t i = first + k;
			const struct template *t = &tpl[i % BUILD_TEMPLATES];
			uint8_t leaf[32];
			build_event(t, i, p);
			if (zg_merkle_leaf_hash(p, t->bytes.len, leaf) != ZG_OK ||
			    zg_merkle_frontier_append(f, leaf, collect_node,
			    &nodes) != ZG_OK)
				goto out;
			rows[k].leaf_index = i;
			rows[k].canonical = p;
			rows[k].canonical_len = t->bytes.len;
			rows[k].timestamp = 1700000000000000 + (int64_t)i * 10;
			memcpy(rows[k].user_hmac, t->user_hmac, 32);
			memcpy(rows[k].resource_hmac, t->resource_hmac, 32);
			p += t->bytes.len;
			bytes += t->bytes.len;
		}
		zg_err err = l->st->ops->audit_append(l->st, rows, n,
		    nodes.rows, nodes.n);
		if (err != ZG_OK) {
			fprintf(stderr, "audit_log_bench: audit_append at %" PRIu64
			    ": %s\n", first, zg_strerror(err));
			goto out;
		}
	}
	*bytes_out = bytes;
	rc = 0;
out:
	free(f);
	free(rows);
	free(arena);
	free(nodes.rows);
	return rc;
}

/* Returns the size of DIR/NAME in bytes, 0 if it does not exist. */
static uint64_t
file_size(const char *dir, const char *name)
{
	char path[2048];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static int
mode_build(const char *dir, uint64_t events)
{
	struct bench_log l;
	struct template *tpl = calloc(BUILD_TEMPLATES, sizeof(*tpl));
	uint64_t size = 1, bytes = 0;
	int rc = -1;

	if (tpl == NULL || log_open(dir, false, &l) != 0) {
		free(tpl);
		return -1;
	}
	if (l.st->ops->audit_size(l.st, &size) != ZG_OK || size != 0) {
		fprintf(stderr, "audit_log_bench: build needs an empty log, but %s "
		    "has %" PRIu64 " events; pass a new directory\n", dir, size);
		goto out;
	}
	for (size_t k = 0; k < BUILD_TEMPLATES; k++)
		if (template_make(&l, k, &tpl[k]) != 0)
			goto out;
	double t0 = now_s();
	if (build_events(&l, tpl, events, &bytes) != 0)
		goto out;
	double t1 = now_s();

	/* Opening the log loads the new frontier, and a head is signed over it. */
	zg_errmsg em = {0};
	zg_tree_head_row head;
	if (zg_audit_open(l.st, l.kr, &l.cfg, &l.audit, &em) != ZG_OK ||
	    zg_audit_tree_head(l.audit, true, &head) != ZG_OK ||
	    head.tree_size != events) {
		fprintf(stderr, "audit_log_bench: signing the tree head failed: %s\n",
		    em.text);
		goto out;
	}
	double t2 = now_s();
	printf("build events=%" PRIu64 " seconds=%.2f events_per_s=%.0f"
	    " canonical_bytes=%" PRIu64 " head_seconds=%.2f db_bytes=%" PRIu64
	    "\n", events, t1 - t0, (double)events / (t1 - t0), bytes, t2 - t1,
	    file_size(dir, "zguard.db") + file_size(dir, "zguard.db-wal"));
	rc = 0;
out:
	log_close(&l);
	for (size_t k = 0; k < BUILD_TEMPLATES; k++)
		zg_buf_free(&tpl[k].bytes);
	free(tpl);
	return rc;
}

/* ---- proof: inclusion proof latency ---- */

static int
mode_proof(const char *dir, size_t count)
{
	struct bench_log l;
	double *lat = calloc(count ? count : 1, sizeof(*lat));
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	int rc = -1;

	if (lat == NULL || log_open(dir, true, &l) != 0) {
		free(lat);
		return -1;
	}
	uint64_t size = zg_audit_size(l.audit);
	zg_tree_head_row head;
	if (size == 0 || zg_audit_tree_head(l.audit, false, &head) != ZG_OK) {
		fprintf(stderr, "audit_log_bench: %s has no events or no tree "
		    "head; run the build mode first\n", dir);
		goto out;
	}
	fprintf(stderr, "audit_log_bench: proof seed %" PRIu64 "\n", seed);
	uint64_t x = seed | 1;
	size_t max_len = 0;
	for (size_t k = 0; k < count; k++) {
		uint8_t leaf[32], root[32], proof[ZG_MERKLE_MAX_PROOF][32];
		size_t len = 0;
		zg_errmsg em = {0};
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t index = x % size;
		double t0 = now_s();
		zg_err err = zg_audit_inclusion_proof(l.audit, index, size, leaf,
		    root, proof, &len, &em);
		lat[k] = now_s() - t0;
		if (err != ZG_OK ||
		    zg_merkle_verify_inclusion(leaf, index, size,
		    (const uint8_t (*)[32])proof, len, root) != ZG_OK ||
		    (head.tree_size == size && memcmp(root, head.root, 32) != 0)) {
			fprintf(stderr, "audit_log_bench: proof of %" PRIu64 " in %"
			    PRIu64 " failed: %s %s\n", index, size,
			    zg_strerror(err), em.text);
			goto out;
		}
		if (len > max_len)
			max_len = len;
	}
	double sum = 0;
	for (size_t k = 0; k < count; k++)
		sum += lat[k];
	qsort(lat, count, sizeof(*lat), cmp_double);
	printf("proof events=%" PRIu64 " proofs=%zu proof_hashes=%zu"
	    " mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f seed=%" PRIu64
	    "\n", size, count, max_len, sum / (double)count * 1e6,
	    quantile(lat, count, 0.50) * 1e6, quantile(lat, count, 0.99) * 1e6,
	    lat[count - 1] * 1e6, seed);
	rc = 0;
out:
	log_close(&l);
	free(lat);
	return rc;
}

/* ---- scan: leaf hashes and root from the stored bytes ---- */

static zg_err
ignore_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	return ZG_OK;
}

/* Reads every event and hashes it, or with export writes it there. */
static int
scan_pass(zg_store *st, FILE *export, uint64_t *events, uint64_t *bytes,
    double *read_s, double *hash_s, uint8_t root[32])
{
	struct zg_merkle_frontier *f = malloc(sizeof(*f));
	uint64_t from = 0;
	int rc = -1;

	*events = *bytes = 0;
	*read_s = *hash_s = 0;
	if (f == NULL)
		return -1;
	zg_merkle_frontier_init(f);
	for (;;) {
		zg_audit_row *rows = NULL;
		size_t n = 0;
		double t0 = now_s();
		zg_err err = st->ops->audit_events(st, from, SCAN_BATCH, &rows,
		    &n);
		double t1 = now_s();
		*read_s += t1 - t0;
		if (err != ZG_OK) {
			fprintf(stderr, "audit_log_bench: audit_events at %" PRIu64
			    ": %s\n", from, zg_strerror(err));
			goto out;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i < n && err == ZG_OK; i++) {
			uint8_t leaf[32];
			*bytes += rows[i].canonical_len;
			if (export != NULL) {
				if (fwrite(rows[i].canonical, 1,
				    rows[i].canonical_len, export) !=
				    rows[i].canonical_len)
					err = ZG_ERR_IO;
				continue;
			}
			err = zg_merkle_leaf_hash(rows[i].canonical,
			    rows[i].canonical_len, leaf);
			if (err == ZG_OK)
				err = zg_merkle_frontier_append(f, leaf,
				    ignore_node, NULL);
		}
		*hash_s += now_s() - t1;
		*events += n;
		from = rows[n - 1].leaf_index + 1;
		zg_audit_rows_free(rows, n);
		if (err != ZG_OK)
			goto out;
	}
	rc = zg_merkle_frontier_root(f, root) == ZG_OK ? 0 : -1;
out:
	free(f);
	return rc;
}

static int
mode_scan(const char *dir, const char *export_path)
{
	zg_store *st = NULL;
	zg_tree_head_row head;
	uint64_t events, bytes;
	double read_s, hash_s;
	uint8_t root[32];
	int rc = -1;

	if (zg_store_sqlite_open_readonly(dir, &st) != ZG_OK) {
		fprintf(stderr, "audit_log_bench: failed to open the store in %s\n", dir);
		return -1;
	}
	double t0 = now_s();
	if (scan_pass(st, NULL, &events, &bytes, &read_s, &hash_s, root) != 0)
		goto out;
	double elapsed = now_s() - t0;
	bool match = st->ops->audit_head_latest(st, &head) == ZG_OK &&
	    head.tree_size == events && memcmp(head.root, root, 32) == 0;
	printf("scan events=%" PRIu64 " seconds=%.2f events_per_s=%.0f"
	    " read_s=%.2f hash_s=%.2f canonical_bytes=%" PRIu64
	    " root_matches_head=%s\n", events, elapsed,
	    (double)events / elapsed, read_s, hash_s, bytes,
	    match ? "yes" : "no");
	fflush(stdout);
	if (!match)
		goto out;
	if (export_path != NULL) {
		FILE *fp = fopen(export_path, "wb");
		if (fp == NULL) {
			fprintf(stderr, "audit_log_bench: failed to create %s: %s\n",
			    export_path, strerror(errno));
			goto out;
		}
		int wrc = scan_pass(st, fp, &events, &bytes, &read_s, &hash_s,
		    root);
		if (fclose(fp) != 0 || wrc != 0) {
			fprintf(stderr, "audit_log_bench: writing %s failed\n",
			    export_path);
			goto out;
		}
		printf("export events=%" PRIu64 " bytes=%" PRIu64 " file=%s\n",
		    events, bytes, export_path);
	}
	rc = 0;
out:
	st->ops->close(st);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: audit_log_bench build DIR EVENTS\n"
	    "       audit_log_bench proof DIR COUNT\n"
	    "       audit_log_bench scan DIR [EXPORT_FILE]\n");
}

int
main(int argc, char **argv)
{
	int rc = -1;

	bench_init("audit_log_bench");
	if (argc == 4 && strcmp(argv[1], "build") == 0)
		rc = mode_build(argv[2], strtoull(argv[3], NULL, 10));
	else if (argc == 4 && strcmp(argv[1], "proof") == 0)
		rc = mode_proof(argv[2], strtoul(argv[3], NULL, 10));
	else if ((argc == 3 || argc == 4) && strcmp(argv[1], "scan") == 0)
		rc = mode_scan(argv[2], argc == 4 ? argv[3] : NULL);
	else {
		usage();
		return 2;
	}
	zg_crypto_shutdown();
	return rc == 0 ? 0 : 1;
}
