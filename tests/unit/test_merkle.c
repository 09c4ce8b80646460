/*
 * Unit tests for src/audit/merkle: known-answer values, the RFC 6962 vector files
 * under $ZGUARD_TESTDATA/rfc6962 (happy paths and corruptions), a seeded
 * comparison with a recursive reference implementation for every tree of up
 * to RANDOM_TREE_MAX leaves, misuse, and sizes near 2^64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "audit/merkle.h"
#include "base/codec.h"

#define HASH_LEN ZG_MERKLE_HASH_LEN

#define RANDOM_TREE_MAX 300
#define RANDOM_LEAF_MAX_LEN 64

/* Tree sizes up to which every consistency proof is checked. */
#define ALL_PAIRS_MAX 100

/* Levels a tree of RANDOM_TREE_MAX leaves has: 2^8 <= 300 < 2^9. */
#define TABLE_LEVELS 9

/*
 * In-memory store of perfect subtree hashes, filled by the frontier's emit
 * callback. Reads of a subtree beyond `visible` leaves fail, so a proof for
 * a smaller tree cannot peek at later leaves.
 */
struct table {
	uint8_t hash[TABLE_LEVELS][RANDOM_TREE_MAX][HASH_LEN];
	bool stored[TABLE_LEVELS][RANDOM_TREE_MAX];
	uint64_t visible;
	size_t reads;
	zg_err fail_with;
};

static struct table table;

static zg_err
table_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HASH_LEN])
{
	struct table *t = ctx;

	t->reads++;
	if (t->fail_with != ZG_OK)
		return t->fail_with;
	if (level >= TABLE_LEVELS || index >= RANDOM_TREE_MAX ||
	    index >= t->visible >> level || !t->stored[level][index])
		return ZG_ERR_NOT_FOUND;
	memcpy(out, t->hash[level][index], HASH_LEN);
	return ZG_OK;
}

static zg_err
table_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[HASH_LEN])
{
	struct table *t = ctx;

	if (t->fail_with != ZG_OK)
		return t->fail_with;
	if (level >= TABLE_LEVELS || index >= RANDOM_TREE_MAX)
		fail_msg("emit out of range: level %u index %llu", level,
		    (unsigned long long)index);
	if (t->stored[level][index])
		fail_msg("emit repeated: level %u index %llu", level,
		    (unsigned long long)index);
	t->stored[level][index] = true;
	memcpy(t->hash[level][index], hash, HASH_LEN);
	return ZG_OK;
}

static void
table_reset(void)
{
	memset(&table, 0, sizeof(table));
}

/* Appends leaves to the table through a frontier. */
static void
table_append(struct zg_merkle_frontier *f, const uint8_t (*leaves)[HASH_LEN],
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(zg_merkle_frontier_append(f, leaves[i], table_put,
		    &table), ZG_OK);
	}
	table.visible = f->tree_size;
}

/*
 * Reference implementation: the recursive definitions of RFC 6962 section
 * 2.1 over an array of leaf hashes, with its own SHA-256 calls.
 */
static void
ref_node(const uint8_t *left, const uint8_t *right, uint8_t *out)
{
	uint8_t buf[1 + 2 * HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, HASH_LEN);
	memcpy(buf + 1 + HASH_LEN, right, HASH_LEN);
	SHA256(buf, sizeof(buf), out);
}

static void
ref_leaf(const uint8_t *data, size_t len, uint8_t *out)
{
	uint8_t buf[1 + RANDOM_LEAF_MAX_LEN];

	assert_true(len <= RANDOM_LEAF_MAX_LEN);
	buf[0] = 0x00;
	memcpy(buf + 1, data, len);
	SHA256(buf, 1 + len, out);
}

static size_t
ref_split(size_t n)
{
	size_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void
ref_mth(const uint8_t (*d)[HASH_LEN], size_t n, uint8_t *out)
{
	uint8_t left[HASH_LEN];
	uint8_t right[HASH_LEN];

	if (n == 0) {
		SHA256((const uint8_t *)"", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HASH_LEN);
		return;
	}
	size_t k = ref_split(n);
	ref_mth(d, k, left);
	ref_mth(d + k, n - k, right);
	ref_node(left, right, out);
}

static void
ref_path(size_t m, const uint8_t (*d)[HASH_LEN], size_t n,
    uint8_t (*out)[HASH_LEN], size_t *len)
{
	if (n == 1)
		return;
	size_t k = ref_split(n);
	if (m < k) {
		ref_path(m, d, k, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static void
ref_subproof(size_t m, const uint8_t (*d)[HASH_LEN], size_t n, bool complete,
    uint8_t (*out)[HASH_LEN], size_t *len)
{
	if (m == n) {
		if (!complete)
			ref_mth(d, m, out[(*len)++]);
		return;
	}
	size_t k = ref_split(n);
	if (m <= k) {
		ref_subproof(m, d, k, complete, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, false, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static size_t
ceil_log2(uint64_t n)
{
	return n <= 1 ? 0 : (size_t)(64 - __builtin_clzll(n - 1));
}

static void
decode_hex(const char *hex, uint8_t out[HASH_LEN])
{
	size_t len = 0;

	assert_int_equal(zg_hex_decode(hex, strlen(hex), out, HASH_LEN, &len),
	    ZG_OK);
	assert_int_equal(len, HASH_LEN);
}

/* The value is SHA-256 of the single byte 0x00, checked with openssl dgst. */
static void
test_leaf_hash_empty(void **state)
{
	uint8_t want[HASH_LEN];
	uint8_t got[HASH_LEN];

	decode_hex("6e340b9cffb37a989ca544e6bb780a2c"
	    "78901d3fb33738768511a30617afa01d", want);
	assert_int_equal(zg_merkle_leaf_hash(NULL, 0, got), ZG_OK);
	assert_memory_equal(got, want, HASH_LEN);
}

/* The empty tree's root is SHA-256 of the empty string. */
static void
test_root_empty_tree(void **state)
{
	uint8_t want[HASH_LEN];
	uint8_t got[HASH_LEN];
	struct zg_merkle_frontier f;

	decode_hex("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855", want);
	table_reset();
	assert_int_equal(zg_merkle_root(table_get, &table, 0, got), ZG_OK);
	assert_memory_equal(got, want, HASH_LEN);
	assert_int_equal(table.reads, 0);

	zg_merkle_frontier_init(&f);
	assert_int_equal(zg_merkle_frontier_root(&f, got), ZG_OK);
	assert_memory_equal(got, want, HASH_LEN);
}

static void
test_node_hash_aliasing(void **state)
{
	uint8_t left[HASH_LEN];
	uint8_t right[HASH_LEN];
	uint8_t want[HASH_LEN];

	memset(left, 0xaa, HASH_LEN);
	memset(right, 0x55, HASH_LEN);
	ref_node(left, right, want);
	assert_int_equal(zg_merkle_node_hash(left, right, left), ZG_OK);
	assert_memory_equal(left, want, HASH_LEN);

	memset(left, 0xaa, HASH_LEN);
	assert_int_equal(zg_merkle_node_hash(left, right, right), ZG_OK);
	assert_memory_equal(right, want, HASH_LEN);
}

/*
 * The eight leaves from which every hash in the happy-path vector files was
 * computed. The vector checks confirm this by regenerating each proof.
 */
static const uint8_t vector_leaf_data[] = {
	0x00,
	0x10,
	0x20, 0x21,
	0x30, 0x31,
	0x40, 0x41, 0x42, 0x43,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
	0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
};
static const size_t vector_leaf_len[] = { 0, 1, 1, 2, 2, 4, 8, 16 };
#define VECTOR_LEAVES 8

/* Fills the table with the vector tree, all eight leaves visible. */
static void
table_load_vector_tree(void)
{
	struct zg_merkle_frontier f;
	uint8_t leaves[VECTOR_LEAVES][HASH_LEN];
	size_t offset = 0;

	table_reset();
	zg_merkle_frontier_init(&f);
	for (size_t i = 0; i < VECTOR_LEAVES; i++) {
		assert_int_equal(zg_merkle_leaf_hash(vector_leaf_data + offset,
		    vector_leaf_len[i], leaves[i]), ZG_OK);
		offset += vector_leaf_len[i];
	}
	table_append(&f, (const uint8_t (*)[HASH_LEN])leaves, VECTOR_LEAVES);
}

static const char *
testdata_dir(void)
{
	const char *env = getenv("ZGUARD_TESTDATA");

	return env != NULL && *env != '\0' ? env : "tests/data";
}

/*
 * Decodes a Base64 hash into out and sets *short_hash when it is shorter
 * than 32 bytes. The verifiers take fixed 32-byte hashes, so a caller
 * parsing a real proof rejects such a value. Some corrupted files hold
 * them (empty, or text such as "don't care"), and one happy path compares
 * two equal 12-byte placeholder roots, so shorter values are zero-padded
 * and still reach the verifier. Returns false for a missing, malformed or
 * longer value.
 */
static bool
json_hash_value(const json_t *value, uint8_t out[HASH_LEN], bool *short_hash)
{
	const char *text = json_string_value(value);
	size_t len = 0;

	memset(out, 0, HASH_LEN);
	if (text == NULL ||
	    zg_base64_decode(text, strlen(text), out, HASH_LEN, &len) != ZG_OK)
		return false;
	if (len != HASH_LEN)
		*short_hash = true;
	return true;
}

static bool
json_hash(const json_t *obj, const char *key, uint8_t out[HASH_LEN],
    bool *short_hash)
{
	return json_hash_value(json_object_get(obj, key), out, short_hash);
}

/* Decodes "proof", an array of Base64 hashes or null for none. */
static bool
json_proof(const json_t *obj, uint8_t (*out)[HASH_LEN], size_t *len,
    bool *short_hash)
{
	const json_t *array = json_object_get(obj, "proof");

	*len = 0;
	if (json_is_null(array))
		return true;
	if (!json_is_array(array) || json_array_size(array) > ZG_MERKLE_MAX_PROOF)
		return false;
	for (size_t i = 0; i < json_array_size(array); i++) {
		if (!json_hash_value(json_array_get(array, i), out[i], short_hash))
			return false;
	}
	*len = json_array_size(array);
	return true;
}

/*
 * Reads a size or index. The files are loaded with every number as a
 * double because jansson's integers are int64 and the leafIdx-sub-@1 files
 * hold 2^64 - 1 (leaf index 0 minus 1). That value arrives as the double
 * 2^64 and is read back as UINT64_MAX. All other values are below 2^53 and
 * therefore exact.
 */
static bool
json_u64(const json_t *obj, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	double d = json_real_value(v);

	if (!json_is_real(v))
		return false;
	if (d >= 18446744073709551616.0) {
		*out = UINT64_MAX;
		return true;
	}
	if (d < 0 || d >= 9007199254740992.0 || d != (double)(uint64_t)d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* What the checks of one vector file found. */
struct vector_result {
	bool parsed;            /* every field was present and decodable */
	bool short_hash;        /* some hash was shorter than 32 bytes */
	zg_err verdict;         /* the verifier's result, when parsed */
	const char *mismatch;   /* why regenerating the proof differed */
};

typedef void (*vector_check_fn)(const json_t *doc, bool want_err,
    struct vector_result *res);

static void
check_inclusion_file(const json_t *doc, bool want_err,
    struct vector_result *res)
{
	uint8_t root[HASH_LEN];
	uint8_t leaf[HASH_LEN];
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint8_t got[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint64_t index = 0;
	uint64_t size = 0;
	size_t len = 0;
	size_t got_len = 0;

	res->parsed = json_u64(doc, "leafIdx", &index) &
	    json_u64(doc, "treeSize", &size) &
	    json_hash(doc, "root", root, &res->short_hash) &
	    json_hash(doc, "leafHash", leaf, &res->short_hash) &
	    json_proof(doc, proof, &len, &res->short_hash);
	if (!res->parsed)
		return;
	res->verdict = zg_merkle_verify_inclusion(leaf, index, size,
	    (const uint8_t (*)[HASH_LEN])proof, len, root);
	if (want_err || size > VECTOR_LEAVES)
		return;

	/* Happy paths come from the vector tree, so regenerate them. */
	table.visible = size;
	if (zg_merkle_inclusion_proof(table_get, &table, index, size, got,
	    ZG_MERKLE_MAX_PROOF, &got_len) != ZG_OK || got_len != len ||
	    memcmp(got, proof, len * HASH_LEN) != 0)
		res->mismatch = "generated proof differs from the file";
}

static void
check_consistency_file(const json_t *doc, bool want_err,
    struct vector_result *res)
{
	uint8_t root1[HASH_LEN];
	uint8_t root2[HASH_LEN];
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint8_t got[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint8_t got_root[HASH_LEN];
	uint64_t size1 = 0;
	uint64_t size2 = 0;
	size_t len = 0;
	size_t got_len = 0;

	res->parsed = json_u64(doc, "size1", &size1) &
	    json_u64(doc, "size2", &size2) &
	    json_hash(doc, "root1", root1, &res->short_hash) &
	    json_hash(doc, "root2", root2, &res->short_hash) &
	    json_proof(doc, proof, &len, &res->short_hash);
	if (!res->parsed)
		return;
	res->verdict = zg_merkle_verify_consistency(size1, size2,
	    (const uint8_t (*)[HASH_LEN])proof, len, root1, root2);
	/* The happy path of equal sizes uses placeholder roots. */
	if (want_err || size2 > VECTOR_LEAVES || size1 == size2)
		return;

	table.visible = size2;
	if (zg_merkle_consistency_proof(table_get, &table, size1, size2, got,
	    ZG_MERKLE_MAX_PROOF, &got_len) != ZG_OK || got_len != len ||
	    memcmp(got, proof, len * HASH_LEN) != 0) {
		res->mismatch = "generated proof differs from the file";
		return;
	}
	if (zg_merkle_root(table_get, &table, size1, got_root) != ZG_OK ||
	    memcmp(got_root, root1, HASH_LEN) != 0 ||
	    zg_merkle_root(table_get, &table, size2, got_root) != ZG_OK ||
	    memcmp(got_root, root2, HASH_LEN) != 0)
		res->mismatch = "generated root differs from the file";
}

struct vector_run {
	size_t files;
	size_t failures;
	size_t short_hash_rejects;
	char first_failure[1536];
};

/*
 * Returns NULL when the file got the right verdict, else why not. A file
 * with wantErr must be rejected, by the verifier or, for a hash shorter
 * than 32 bytes, by the hash length check a caller makes. Any other file
 * must verify and, when it describes the vector tree, be regenerated.
 */
static const char *
judge(struct vector_run *run, bool want_err, const struct vector_result *res)
{
	if (!res->parsed)
		return "a field is missing or malformed";
	if (res->verdict != ZG_OK && res->verdict != ZG_ERR_INTEGRITY)
		return "verifier returned an error other than integrity";
	if (!want_err) {
		if (res->verdict != ZG_OK)
			return "valid proof was rejected";
		return res->mismatch;
	}
	if (res->verdict == ZG_OK && !res->short_hash)
		return "corrupted proof was accepted";
	if (res->verdict == ZG_OK)
		run->short_hash_rejects++;
	return NULL;
}

static void
check_vector_file(struct vector_run *run, const char *path,
    vector_check_fn check)
{
	struct vector_result res = { .verdict = ZG_ERR_INTERNAL };
	json_error_t jerr;
	json_t *doc = json_load_file(path, JSON_DECODE_INT_AS_REAL, &jerr);
	const json_t *want = json_object_get(doc, "wantErr");
	const char *base = strrchr(path, '/');
	const char *reason = NULL;

	run->files++;
	if (doc == NULL) {
		reason = jerr.text;
	} else if (!json_is_boolean(want)) {
		reason = "wantErr is missing or not a boolean";
	} else if (json_is_true(want) &&
	    strcmp(base + 1, "happy-path.json") == 0) {
		reason = "a happy path has wantErr true";
	} else {
		check(doc, json_is_true(want), &res);
		reason = judge(run, json_is_true(want), &res);
	}
	if (reason != NULL) {
		print_error("%s: %s\n", path, reason);
		if (run->failures++ == 0) {
			snprintf(run->first_failure, sizeof(run->first_failure),
			    "%s: %s", path, reason);
		}
	}
	json_decref(doc);
}

/* Checks every .json file below dir, in directory order. */
static void
walk_vectors(struct vector_run *run, const char *dir, vector_check_fn check)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		size_t namelen = strlen(e->d_name);
		DIR *sub;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((sub = opendir(path)) != NULL) {
			closedir(sub);
			walk_vectors(run, path, check);
		} else if (namelen > 5 &&
		    strcmp(e->d_name + namelen - 5, ".json") == 0) {
			check_vector_file(run, path, check);
		}
	}
	closedir(d);
}

static void
run_vectors(const char *kind, vector_check_fn check)
{
	struct vector_run run = { .files = 0 };
	char dir[1024];

	table_load_vector_tree();
	snprintf(dir, sizeof(dir), "%s/rfc6962/%s", testdata_dir(), kind);
	walk_vectors(&run, dir, check);
	printf("%s vectors: %zu files in %s, %zu rejected only for a short "
	    "hash\n", kind, run.files, dir, run.short_hash_rejects);
	if (run.files == 0)
		fail_msg("no vector files in %s; set ZGUARD_TESTDATA", dir);
	if (run.failures > 0) {
		fail_msg("%zu of %zu %s vector files failed, first %s",
		    run.failures, run.files, kind, run.first_failure);
	}
}

static void
test_vectors_inclusion(void **state)
{
	run_vectors("inclusion", check_inclusion_file);
}

static void
test_vectors_consistency(void **state)
{
	run_vectors("consistency", check_consistency_file);
}

/* splitmix64: reproducible test data only, replayed from the printed seed. */
static uint64_t
next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t
test_seed(void)
{
	const char *env = getenv("ZG_TEST_SEED");

	if (env != NULL && *env != '\0')
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL);
}

/*
 * Checks the tree of n leaves, which the table holds, against the
 * reference: its root, the inclusion proof of every leaf, and consistency
 * proofs from every smaller size up to ALL_PAIRS_MAX leaves, from a random
 * eighth of them and the edge sizes above.
 */
static void
check_tree(const uint8_t (*leaves)[HASH_LEN], size_t n,
    const struct zg_merkle_frontier *f, uint8_t (*roots)[HASH_LEN],
    uint64_t *rng)
{
	uint8_t got[HASH_LEN];
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint8_t want[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	size_t len;
	size_t read_limit = 2 * ceil_log2(n) + 1;
	struct zg_merkle_frontier loaded;

	ref_mth(leaves, n, roots[n]);
	table.reads = 0;
	assert_int_equal(zg_merkle_root(table_get, &table, n, got), ZG_OK);
	assert_memory_equal(got, roots[n], HASH_LEN);
	assert_int_equal(table.reads, __builtin_popcountll(n));
	assert_int_equal(zg_merkle_frontier_root(f, got), ZG_OK);
	assert_memory_equal(got, roots[n], HASH_LEN);

	assert_int_equal(zg_merkle_frontier_load(&loaded, table_get, &table, n),
	    ZG_OK);
	assert_int_equal(zg_merkle_frontier_root(&loaded, got), ZG_OK);
	assert_memory_equal(got, roots[n], HASH_LEN);

	for (size_t i = 0; i < n; i++) {
		size_t want_len = 0;

		ref_path(i, leaves, n, want, &want_len);
		table.reads = 0;
		assert_int_equal(zg_merkle_inclusion_proof(table_get, &table, i, n,
		    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_OK);
		assert_true(table.reads <= read_limit);
		assert_int_equal(len, want_len);
		assert_int_equal(zg_merkle_inclusion_proof_len(i, n), want_len);
		assert_memory_equal(proof, want, len * HASH_LEN);
		assert_int_equal(zg_merkle_verify_inclusion(leaves[i], i, n,
		    (const uint8_t (*)[HASH_LEN])proof, len, roots[n]), ZG_OK);

		/* Flip one bit of each element in turn. */
		for (size_t j = 0; j < len; j++) {
			proof[j][j % HASH_LEN] ^= 0x01;
			assert_int_equal(zg_merkle_verify_inclusion(leaves[i], i,
			    n, (const uint8_t (*)[HASH_LEN])proof, len, roots[n]),
			    ZG_ERR_INTEGRITY);
			proof[j][j % HASH_LEN] ^= 0x01;
		}
		if (len > 0) {
			assert_int_equal(zg_merkle_verify_inclusion(leaves[i], i,
			    n, (const uint8_t (*)[HASH_LEN])proof, len - 1,
			    roots[n]), ZG_ERR_INTEGRITY);
		}
		assert_int_equal(zg_merkle_verify_inclusion(leaves[i], i, n,
		    (const uint8_t (*)[HASH_LEN])proof, len + 1, roots[n]),
		    ZG_ERR_INTEGRITY);
		/* Random leaves can repeat, and equal leaves are interchangeable. */
		if ((i ^ 1) < n && memcmp(leaves[i ^ 1], leaves[i], HASH_LEN) != 0) {
			assert_int_equal(zg_merkle_verify_inclusion(leaves[i],
			    i ^ 1, n, (const uint8_t (*)[HASH_LEN])proof, len,
			    roots[n]), ZG_ERR_INTEGRITY);
		}
		if (memcmp(leaves[(i + 1) % n], leaves[i], HASH_LEN) != 0) {
			assert_int_equal(zg_merkle_verify_inclusion(
			    leaves[(i + 1) % n], i, n,
			    (const uint8_t (*)[HASH_LEN])proof, len, roots[n]),
			    ZG_ERR_INTEGRITY);
		}
	}

	for (size_t m = 1; m <= n; m++) {
		size_t want_len = 0;
		bool edge = m <= 3 || m + 2 >= n || (m & (m - 1)) == 0;

		if (n > ALL_PAIRS_MAX && !edge && next_random(rng) % 8 != 0)
			continue;
		ref_subproof(m, leaves, n, true, want, &want_len);
		table.reads = 0;
		assert_int_equal(zg_merkle_consistency_proof(table_get, &table, m,
		    n, proof, ZG_MERKLE_MAX_PROOF, &len), ZG_OK);
		assert_true(table.reads <= read_limit);
		assert_int_equal(len, want_len);
		assert_int_equal(zg_merkle_consistency_proof_len(m, n), want_len);
		assert_memory_equal(proof, want, len * HASH_LEN);
		assert_int_equal(zg_merkle_verify_consistency(m, n,
		    (const uint8_t (*)[HASH_LEN])proof, len, roots[m], roots[n]),
		    ZG_OK);
		if (len == 0)
			continue;

		proof[0][0] ^= 0x80;
		assert_int_equal(zg_merkle_verify_consistency(m, n,
		    (const uint8_t (*)[HASH_LEN])proof, len, roots[m], roots[n]),
		    ZG_ERR_INTEGRITY);
		proof[0][0] ^= 0x80;
		proof[len - 1][HASH_LEN - 1] ^= 0x01;
		assert_int_equal(zg_merkle_verify_consistency(m, n,
		    (const uint8_t (*)[HASH_LEN])proof, len, roots[m], roots[n]),
		    ZG_ERR_INTEGRITY);
		proof[len - 1][HASH_LEN - 1] ^= 0x01;
		assert_int_equal(zg_merkle_verify_consistency(m, n,
		    (const uint8_t (*)[HASH_LEN])proof, len - 1, roots[m],
		    roots[n]), ZG_ERR_INTEGRITY);
		assert_int_equal(zg_merkle_verify_consistency(m, n,
		    (const uint8_t (*)[HASH_LEN])proof, len, roots[n], roots[m]),
		    ZG_ERR_INTEGRITY);
		assert_int_equal(zg_merkle_verify_consistency(m, n,
		    (const uint8_t (*)[HASH_LEN])proof, len, roots[m - 1],
		    roots[n]), ZG_ERR_INTEGRITY);
	}
}

static void
test_random_trees_match_reference(void **state)
{
	static uint8_t leaves[RANDOM_TREE_MAX][HASH_LEN];
	static uint8_t roots[RANDOM_TREE_MAX + 1][HASH_LEN];
	uint8_t data[RANDOM_LEAF_MAX_LEN];
	uint8_t got[HASH_LEN];
	struct zg_merkle_frontier f;
	uint64_t seed = test_seed();
	uint64_t s = seed;

	printf("merkle random trees seed=%llu (set ZG_TEST_SEED to replay)\n",
	    (unsigned long long)seed);
	table_reset();
	zg_merkle_frontier_init(&f);
	ref_mth(leaves, 0, roots[0]);

	/* Each tree of n leaves is the one of n - 1 plus a random leaf. */
	for (size_t n = 1; n <= RANDOM_TREE_MAX; n++) {
		size_t len = next_random(&s) % (RANDOM_LEAF_MAX_LEN + 1);

		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)next_random(&s);
		assert_int_equal(zg_merkle_leaf_hash(data, len, got), ZG_OK);
		ref_leaf(data, len, leaves[n - 1]);
		assert_memory_equal(got, leaves[n - 1], HASH_LEN);

		table_append(&f, (const uint8_t (*)[HASH_LEN])&leaves[n - 1], 1);
		check_tree((const uint8_t (*)[HASH_LEN])leaves, n, &f, roots,
		    &s);
	}
}

static void
test_generators_reject_bad_sizes(void **state)
{
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	size_t len = 99;

	table_load_vector_tree();
	table.reads = 0;
	assert_int_equal(zg_merkle_inclusion_proof(table_get, &table, 5, 5,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_INVALID);
	assert_int_equal(len, 0);
	assert_int_equal(zg_merkle_inclusion_proof(table_get, &table, 0, 0,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_INVALID);
	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 0, 5,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_INVALID);
	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 0, 0,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_INVALID);
	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 6, 5,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_INVALID);
	assert_int_equal(table.reads, 0);

	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 5, 5,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_OK);
	assert_int_equal(len, 0);
}

static void
test_generators_reject_small_buffer(void **state)
{
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	size_t len = 0;
	size_t need = zg_merkle_consistency_proof_len(3, 7);

	table_load_vector_tree();
	assert_int_equal(zg_merkle_inclusion_proof_len(0, 8), 3);
	assert_int_equal(zg_merkle_inclusion_proof(table_get, &table, 0, 8,
	    proof, 2, &len), ZG_ERR_INVALID);
	assert_int_equal(zg_merkle_inclusion_proof(table_get, &table, 0, 8,
	    proof, 3, &len), ZG_OK);
	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 3, 7,
	    proof, need - 1, &len), ZG_ERR_INVALID);
	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 3, 7,
	    proof, need, &len), ZG_OK);
	assert_int_equal(len, need);
}

static void
test_get_error_propagates(void **state)
{
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint8_t root[HASH_LEN];
	struct zg_merkle_frontier f;
	size_t len = 0;

	table_load_vector_tree();
	table.fail_with = ZG_ERR_STORE;
	assert_int_equal(zg_merkle_root(table_get, &table, 5, root),
	    ZG_ERR_STORE);
	assert_int_equal(zg_merkle_inclusion_proof(table_get, &table, 0, 5,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_STORE);
	assert_int_equal(len, 0);
	assert_int_equal(zg_merkle_consistency_proof(table_get, &table, 3, 5,
	    proof, ZG_MERKLE_MAX_PROOF, &len), ZG_ERR_STORE);
	assert_int_equal(len, 0);
	assert_int_equal(zg_merkle_frontier_load(&f, table_get, &table, 5),
	    ZG_ERR_STORE);
	assert_int_equal(f.tree_size, 0);

	/* A subtree that was never stored reads as not found. */
	table.fail_with = ZG_OK;
	table.visible = RANDOM_TREE_MAX;
	assert_int_equal(zg_merkle_root(table_get, &table, 9, root),
	    ZG_ERR_NOT_FOUND);
}

struct failing_emit {
	size_t calls;
	size_t fail_at;
};

static zg_err
emit_failing(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[HASH_LEN])
{
	struct failing_emit *fe = ctx;

	return ++fe->calls == fe->fail_at ? ZG_ERR_STORE : ZG_OK;
}

static void
test_emit_error_keeps_frontier(void **state)
{
	uint8_t leaves[4][HASH_LEN];
	uint8_t before[HASH_LEN];
	uint8_t after[HASH_LEN];
	uint8_t want[HASH_LEN];
	struct zg_merkle_frontier f;
	struct failing_emit fe = { .fail_at = 2 };

	for (size_t i = 0; i < 4; i++)
		memset(leaves[i], (int)i + 1, HASH_LEN);
	table_reset();
	zg_merkle_frontier_init(&f);
	table_append(&f, (const uint8_t (*)[HASH_LEN])leaves, 3);
	assert_int_equal(zg_merkle_frontier_root(&f, before), ZG_OK);

	/* The fourth leaf completes (0, 3), (1, 1) and (2, 0). */
	assert_int_equal(zg_merkle_frontier_append(&f, leaves[3], emit_failing,
	    &fe), ZG_ERR_STORE);
	assert_int_equal(f.tree_size, 3);
	assert_int_equal(zg_merkle_frontier_root(&f, after), ZG_OK);
	assert_memory_equal(after, before, HASH_LEN);

	fe = (struct failing_emit){ .fail_at = 0 };
	assert_int_equal(zg_merkle_frontier_append(&f, leaves[3], emit_failing,
	    &fe), ZG_OK);
	assert_int_equal(fe.calls, 3);
	assert_int_equal(f.tree_size, 4);
	ref_mth((const uint8_t (*)[HASH_LEN])leaves, 4, want);
	assert_int_equal(zg_merkle_frontier_root(&f, after), ZG_OK);
	assert_memory_equal(after, want, HASH_LEN);
}

static void
test_verifiers_reject_bad_sizes(void **state)
{
	uint8_t a[HASH_LEN];
	uint8_t b[HASH_LEN];
	uint8_t proof[1][HASH_LEN];

	memset(a, 0xa5, HASH_LEN);
	memset(b, 0x5a, HASH_LEN);
	memset(proof, 0, sizeof(proof));

	/* A one-leaf tree's root is its leaf hash, with an empty proof. */
	assert_int_equal(zg_merkle_verify_inclusion(a, 0, 1, NULL, 0, a),
	    ZG_OK);
	assert_int_equal(zg_merkle_verify_inclusion(a, 1, 1, NULL, 0, a),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_inclusion(a, 0, 0, NULL, 0, a),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_inclusion(a, 0, 1,
	    (const uint8_t (*)[HASH_LEN])proof, 1, a), ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_inclusion(a, 0, 2, NULL, 0, a),
	    ZG_ERR_INTEGRITY);

	assert_int_equal(zg_merkle_verify_consistency(1, 1, NULL, 0, a, a),
	    ZG_OK);
	assert_int_equal(zg_merkle_verify_consistency(1, 1, NULL, 0, a, b),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_consistency(1, 1,
	    (const uint8_t (*)[HASH_LEN])proof, 1, a, a), ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_consistency(0, 0, NULL, 0, a, a),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_consistency(0, 1, NULL, 0, a, b),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_consistency(2, 1, NULL, 0, a, b),
	    ZG_ERR_INTEGRITY);
	assert_int_equal(zg_merkle_verify_consistency(1, 2, NULL, 0, a, b),
	    ZG_ERR_INTEGRITY);
}

/*
 * A tree whose leaves are all equal: the perfect subtree at a level has the
 * same hash at every index, so trees of nearly 2^64 leaves are cheap.
 */
struct uniform_tree {
	uint8_t level_hash[64][HASH_LEN];
	uint64_t visible;
	size_t reads;
};

static zg_err
uniform_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HASH_LEN])
{
	struct uniform_tree *u = ctx;

	u->reads++;
	if (level >= 64 || index >= u->visible >> level)
		return ZG_ERR_NOT_FOUND;
	memcpy(out, u->level_hash[level], HASH_LEN);
	return ZG_OK;
}

static zg_err
emit_ignore(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[HASH_LEN])
{
	return ZG_OK;
}

static void
test_sizes_near_2_64(void **state)
{
	static const uint64_t sizes[] = {
		1, 2, 3, 5, (1ull << 32) + 5, (1ull << 63) - 1, 1ull << 63,
		(1ull << 63) + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	static struct uniform_tree u;
	uint8_t proof[ZG_MERKLE_MAX_PROOF][HASH_LEN];
	uint8_t roots[sizeof(sizes) / sizeof(sizes[0])][HASH_LEN];
	uint8_t got[HASH_LEN];
	struct zg_merkle_frontier f;
	size_t len = 0;

	assert_int_equal(zg_merkle_leaf_hash("x", 1, u.level_hash[0]), ZG_OK);
	for (unsigned level = 1; level < 64; level++) {
		assert_int_equal(zg_merkle_node_hash(u.level_hash[level - 1],
		    u.level_hash[level - 1], u.level_hash[level]), ZG_OK);
	}
	u.visible = UINT64_MAX;
	for (size_t i = 0; i < nsizes; i++) {
		assert_int_equal(zg_merkle_root(uniform_get, &u, sizes[i],
		    roots[i]), ZG_OK);
	}
	assert_int_equal(zg_merkle_inclusion_proof_len(0, UINT64_MAX), 64);
	assert_int_equal(zg_merkle_inclusion_proof_len(UINT64_MAX - 1,
	    UINT64_MAX), 63);

	for (size_t i = 0; i < nsizes; i++) {
		const uint64_t n = sizes[i];
		const uint64_t indices[] = { 0, 1, n / 2, n - 2, n - 1 };

		for (size_t j = 0; j < sizeof(indices) / sizeof(indices[0]); j++) {
			if (indices[j] >= n)
				continue;
			u.reads = 0;
			assert_int_equal(zg_merkle_inclusion_proof(uniform_get, &u,
			    indices[j], n, proof, ZG_MERKLE_MAX_PROOF, &len),
			    ZG_OK);
			assert_true(u.reads <= 2 * ceil_log2(n) + 1);
			assert_int_equal(zg_merkle_verify_inclusion(u.level_hash[0],
			    indices[j], n, (const uint8_t (*)[HASH_LEN])proof,
			    len, roots[i]), ZG_OK);
		}
		for (size_t j = 0; j <= i; j++) {
			u.reads = 0;
			assert_int_equal(zg_merkle_consistency_proof(uniform_get,
			    &u, sizes[j], n, proof, ZG_MERKLE_MAX_PROOF, &len),
			    ZG_OK);
			assert_true(u.reads <= 2 * ceil_log2(n) + 1);
			assert_int_equal(zg_merkle_verify_consistency(sizes[j], n,
			    (const uint8_t (*)[HASH_LEN])proof, len, roots[j],
			    roots[i]), ZG_OK);
		}
	}

	/* The frontier reaches 2^64 - 1 leaves and then rejects more. */
	assert_int_equal(zg_merkle_frontier_load(&f, uniform_get, &u,
	    UINT64_MAX - 1), ZG_OK);
	assert_int_equal(zg_merkle_frontier_append(&f, u.level_hash[0],
	    emit_ignore, NULL), ZG_OK);
	assert_int_equal(zg_merkle_frontier_root(&f, got), ZG_OK);
	assert_memory_equal(got, roots[nsizes - 1], HASH_LEN);
	assert_int_equal(zg_merkle_frontier_append(&f, u.level_hash[0],
	    emit_ignore, NULL), ZG_ERR_INVALID);
	assert_int_equal(f.tree_size, UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_hash_empty),
		cmocka_unit_test(test_root_empty_tree),
		cmocka_unit_test(test_node_hash_aliasing),
		cmocka_unit_test(test_vectors_inclusion),
		cmocka_unit_test(test_vectors_consistency),
		cmocka_unit_test(test_random_trees_match_reference),
		cmocka_unit_test(test_generators_reject_bad_sizes),
		cmocka_unit_test(test_generators_reject_small_buffer),
		cmocka_unit_test(test_get_error_propagates),
		cmocka_unit_test(test_emit_error_keeps_frontier),
		cmocka_unit_test(test_verifiers_reject_bad_sizes),
		cmocka_unit_test(test_sizes_near_2_64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
