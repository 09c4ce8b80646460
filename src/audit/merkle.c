#include "audit/merkle.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Domain separation prefixes of RFC 6962 section 2.1. */
#define LEAF_PREFIX 0x00
#define NODE_PREFIX 0x01

/*
 * SHA-256 is fetched once and each thread keeps one digest context: with
 * OpenSSL 3, an implicit fetch and a new context per hash cost more than
 * hashing the 65 bytes of a node.
 */
static EVP_MD *sha256_md;
static pthread_key_t ctx_key;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
free_thread_ctx(void *p)
{
	EVP_MD_CTX_free(p);
}

static void
sha256_setup(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (pthread_key_create(&ctx_key, free_thread_ctx) != 0)
		sha256_md = NULL;
}

static EVP_MD_CTX *
thread_ctx(void)
{
	pthread_once(&sha256_once, sha256_setup);
	if (sha256_md == NULL)
		return NULL;
	EVP_MD_CTX *md = pthread_getspecific(ctx_key);
	if (md == NULL) {
		md = EVP_MD_CTX_new();
		if (md != NULL && pthread_setspecific(ctx_key, md) != 0) {
			EVP_MD_CTX_free(md);
			md = NULL;
		}
	}
	return md;
}

static zg_err
sha256_two(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[ZG_MERKLE_HASH_LEN])
{
	EVP_MD_CTX *md = thread_ctx();
	unsigned int outlen = 0;

	if (md == NULL)
		return ZG_ERR_CRYPTO;
	if (EVP_DigestInit_ex2(md, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(md, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(md, b, blen) != 1) ||
	    EVP_DigestFinal_ex(md, out, &outlen) != 1 ||
	    outlen != ZG_MERKLE_HASH_LEN)
		return ZG_ERR_CRYPTO;
	return ZG_OK;
}

zg_err
zg_merkle_leaf_hash(const void *data, size_t len,
    uint8_t out[ZG_MERKLE_HASH_LEN])
{
	static const uint8_t prefix = LEAF_PREFIX;

	return sha256_two(&prefix, 1, data, len, out);
}

zg_err
zg_merkle_node_hash(const uint8_t left[ZG_MERKLE_HASH_LEN],
    const uint8_t right[ZG_MERKLE_HASH_LEN], uint8_t out[ZG_MERKLE_HASH_LEN])
{
	uint8_t buf[1 + 2 * ZG_MERKLE_HASH_LEN];

	/* Copying first lets out alias left or right. */
	buf[0] = NODE_PREFIX;
	memcpy(buf + 1, left, ZG_MERKLE_HASH_LEN);
	memcpy(buf + 1 + ZG_MERKLE_HASH_LEN, right, ZG_MERKLE_HASH_LEN);
	return sha256_two(buf, sizeof(buf), NULL, 0, out);
}

static zg_err
empty_root(uint8_t out[ZG_MERKLE_HASH_LEN])
{
	return sha256_two("", 0, NULL, 0, out);
}

/* Returns the largest power of two smaller than n, for n > 1. */
static uint64_t
split_point(uint64_t n)
{
	assert(n > 1);
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* Returns log2(p) for a power of two p. */
static unsigned
level_of(uint64_t p)
{
	assert(p != 0);
	assert((p & (p - 1)) == 0);
	return (unsigned)__builtin_ctzll(p);
}

/*
 * Computes the hash of leaves [start, start + size) from the perfect
 * subtrees of the binary decomposition of size, one read per set bit. The
 * decomposition is read from its smallest, rightmost part leftwards, so the
 * running hash is always the right operand. start must be a multiple of the
 * largest power of two in size, which holds for every subtree of an RFC
 * 6962 tree.
 */
static zg_err
range_hash(zg_merkle_get_fn get, void *ctx, uint64_t start, uint64_t size,
    uint8_t out[ZG_MERKLE_HASH_LEN])
{
	uint8_t part[ZG_MERKLE_HASH_LEN];
	bool have_right = false;
	zg_err err;

	assert(size > 0);
	assert(start % ((uint64_t)1 << (63 - __builtin_clzll(size))) == 0);

	for (unsigned level = 0; level < 64; level++) {
		uint64_t bit = (uint64_t)1 << level;

		if ((size & bit) == 0)
			continue;
		/* The parts left of this one are the higher bits of size. */
		uint64_t offset = start + (size & ~(bit | (bit - 1)));
		if (!have_right) {
			if ((err = get(ctx, level, offset >> level, out)) != ZG_OK)
				return err;
			have_right = true;
			continue;
		}
		if ((err = get(ctx, level, offset >> level, part)) != ZG_OK)
			return err;
		if ((err = zg_merkle_node_hash(part, out, out)) != ZG_OK)
			return err;
	}
	return ZG_OK;
}

zg_err
zg_merkle_root(zg_merkle_get_fn get, void *ctx, uint64_t tree_size,
    uint8_t out[ZG_MERKLE_HASH_LEN])
{
	if (tree_size == 0)
		return empty_root(out);
	return range_hash(get, ctx, 0, tree_size, out);
}

size_t
zg_merkle_inclusion_proof_len(uint64_t index, uint64_t tree_size)
{
	size_t len = 0;

	assert(index < tree_size);
	/* One sibling per step of the descent from the root to the leaf. */
	while (tree_size > 1) {
		uint64_t k = split_point(tree_size);

		if (index < k) {
			tree_size = k;
		} else {
			index -= k;
			tree_size -= k;
		}
		len++;
	}
	return len;
}

size_t
zg_merkle_consistency_proof_len(uint64_t first, uint64_t second)
{
	size_t len = 0;
	bool complete = true;

	assert(first > 0);
	assert(first <= second);
	/*
	 * The descent of RFC 6962's SUBPROOF: one hash per step, and one more
	 * for the final subtree unless it is the whole first tree.
	 */
	while (first != second) {
		uint64_t k = split_point(second);

		if (first <= k) {
			second = k;
		} else {
			first -= k;
			second -= k;
			complete = false;
		}
		len++;
	}
	return complete ? len : len + 1;
}

zg_err
zg_merkle_inclusion_proof(zg_merkle_get_fn get, void *ctx,
    uint64_t index, uint64_t tree_size, uint8_t (*out)[ZG_MERKLE_HASH_LEN],
    size_t max, size_t *out_len)
{
	zg_err err;

	*out_len = 0;
	if (index >= tree_size)
		return ZG_ERR_INVALID;
	size_t len = zg_merkle_inclusion_proof_len(index, tree_size);
	if (len > max)
		return ZG_ERR_INVALID;

	/*
	 * Walk from the root down to the leaf. The sibling met first is the
	 * last proof element, so fill out from its end.
	 */
	size_t pos = len;
	uint64_t start = 0;
	uint64_t size = tree_size;
	while (size > 1) {
		uint64_t k = split_point(size);

		assert(pos > 0);
		pos--;
		if (index < k) {
			/* Only the first right sibling met can be non-perfect. */
			err = range_hash(get, ctx, start + k, size - k, out[pos]);
			size = k;
		} else {
			err = get(ctx, level_of(k), start >> level_of(k), out[pos]);
			start += k;
			index -= k;
			size -= k;
		}
		if (err != ZG_OK)
			return err;
	}
	assert(pos == 0);

	*out_len = len;
	return ZG_OK;
}

zg_err
zg_merkle_consistency_proof(zg_merkle_get_fn get, void *ctx,
    uint64_t first, uint64_t second, uint8_t (*out)[ZG_MERKLE_HASH_LEN],
    size_t max, size_t *out_len)
{
	zg_err err;

	*out_len = 0;
	if (first == 0 || first > second)
		return ZG_ERR_INVALID;
	size_t len = zg_merkle_consistency_proof_len(first, second);
	if (len > max)
		return ZG_ERR_INVALID;

	/*
	 * RFC 6962's SUBPROOF(m, D[start:start + size], complete), unrolled:
	 * each step appends one sibling after the rest of the proof, so out
	 * is filled from its end.
	 */
	size_t pos = len;
	uint64_t start = 0;
	uint64_t size = second;
	uint64_t m = first;
	bool complete = true;
	while (m != size) {
		uint64_t k = split_point(size);

		assert(pos > 0);
		pos--;
		if (m <= k) {
			err = range_hash(get, ctx, start + k, size - k, out[pos]);
			size = k;
		} else {
			err = get(ctx, level_of(k), start >> level_of(k), out[pos]);
			start += k;
			size -= k;
			m -= k;
			complete = false;
		}
		if (err != ZG_OK)
			return err;
	}
	if (!complete) {
		/* A left turn came first, so this subtree is perfect. */
		assert(pos == 1);
		if ((err = range_hash(get, ctx, start, size, out[0])) != ZG_OK)
			return err;
		pos--;
	}
	assert(pos == 0);

	*out_len = len;
	return ZG_OK;
}

static bool
hash_equal(const uint8_t a[ZG_MERKLE_HASH_LEN],
    const uint8_t b[ZG_MERKLE_HASH_LEN])
{
	return CRYPTO_memcmp(a, b, ZG_MERKLE_HASH_LEN) == 0;
}

/* Shifts fn and sn right together until fn is odd or zero. */
static void
shift_to_odd(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

zg_err
zg_merkle_verify_inclusion(const uint8_t leaf_hash[ZG_MERKLE_HASH_LEN],
    uint64_t index, uint64_t tree_size,
    const uint8_t (*proof)[ZG_MERKLE_HASH_LEN], size_t proof_len,
    const uint8_t root[ZG_MERKLE_HASH_LEN])
{
	uint8_t r[ZG_MERKLE_HASH_LEN];
	zg_err err;

	if (index >= tree_size)
		return ZG_ERR_INTEGRITY;
	if (proof_len != zg_merkle_inclusion_proof_len(index, tree_size))
		return ZG_ERR_INTEGRITY;

	/*
	 * fn is the position of r among the nodes of its level and sn that of
	 * the last node of the level. An odd fn, or the last node with no
	 * right sibling, takes the proof element on its left.
	 */
	uint64_t fn = index;
	uint64_t sn = tree_size - 1;
	memcpy(r, leaf_hash, sizeof(r));
	for (size_t i = 0; i < proof_len; i++) {
		if (sn == 0)
			return ZG_ERR_INTEGRITY;
		if ((fn & 1) != 0 || fn == sn) {
			if ((err = zg_merkle_node_hash(proof[i], r, r)) != ZG_OK)
				return err;
			shift_to_odd(&fn, &sn);
		} else {
			if ((err = zg_merkle_node_hash(r, proof[i], r)) != ZG_OK)
				return err;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_equal(r, root))
		return ZG_ERR_INTEGRITY;
	return ZG_OK;
}

zg_err
zg_merkle_verify_consistency(uint64_t first, uint64_t second,
    const uint8_t (*proof)[ZG_MERKLE_HASH_LEN], size_t proof_len,
    const uint8_t first_root[ZG_MERKLE_HASH_LEN],
    const uint8_t second_root[ZG_MERKLE_HASH_LEN])
{
	uint8_t fr[ZG_MERKLE_HASH_LEN];
	uint8_t sr[ZG_MERKLE_HASH_LEN];
	zg_err err;

	/* A proof from the empty tree proves nothing: every tree extends it. */
	if (first == 0 || first > second)
		return ZG_ERR_INTEGRITY;
	if (first == second) {
		if (proof_len != 0 || !hash_equal(first_root, second_root))
			return ZG_ERR_INTEGRITY;
		return ZG_OK;
	}
	if (proof_len != zg_merkle_consistency_proof_len(first, second))
		return ZG_ERR_INTEGRITY;

	/*
	 * When the first tree is perfect the proof leaves out its root, the
	 * starting point of both computations.
	 */
	size_t i = 0;
	const uint8_t *seed = first_root;
	if ((first & (first - 1)) != 0)
		seed = proof[i++];
	memcpy(fr, seed, sizeof(fr));
	memcpy(sr, seed, sizeof(sr));

	uint64_t fn = first - 1;
	uint64_t sn = second - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < proof_len; i++) {
		if (sn == 0)
			return ZG_ERR_INTEGRITY;
		if ((fn & 1) != 0 || fn == sn) {
			/* A left sibling belongs to both trees. */
			if ((err = zg_merkle_node_hash(proof[i], fr, fr)) != ZG_OK)
				return err;
			if ((err = zg_merkle_node_hash(proof[i], sr, sr)) != ZG_OK)
				return err;
			shift_to_odd(&fn, &sn);
		} else {
			if ((err = zg_merkle_node_hash(sr, proof[i], sr)) != ZG_OK)
				return err;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_equal(fr, first_root) ||
	    !hash_equal(sr, second_root))
		return ZG_ERR_INTEGRITY;
	return ZG_OK;
}

void
zg_merkle_frontier_init(struct zg_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

zg_err
zg_merkle_frontier_load(struct zg_merkle_frontier *f,
    zg_merkle_get_fn get, void *ctx, uint64_t tree_size)
{
	zg_err err;

	zg_merkle_frontier_init(f);
	for (unsigned level = 0; level < 64; level++) {
		if ((tree_size >> level & 1) == 0)
			continue;
		err = get(ctx, level, (tree_size >> level) - 1, f->pending[level]);
		if (err != ZG_OK) {
			zg_merkle_frontier_init(f);
			return err;
		}
	}
	f->tree_size = tree_size;
	return ZG_OK;
}

zg_err
zg_merkle_frontier_append(struct zg_merkle_frontier *f,
    const uint8_t leaf_hash[ZG_MERKLE_HASH_LEN], zg_merkle_emit_fn emit,
    void *ctx)
{
	uint8_t h[ZG_MERKLE_HASH_LEN];
	zg_err err;

	if (f->tree_size == UINT64_MAX)
		return ZG_ERR_INVALID;

	uint64_t index = f->tree_size;
	unsigned level = 0;
	memcpy(h, leaf_hash, sizeof(h));
	if ((err = emit(ctx, level, index, h)) != ZG_OK)
		return err;
	/*
	 * Like a binary increment: each set bit of tree_size is a pending
	 * left half that the new subtree completes. The loop ends below level
	 * 64 because tree_size < UINT64_MAX has a clear bit.
	 */
	while ((f->tree_size >> level & 1) != 0) {
		if ((err = zg_merkle_node_hash(f->pending[level], h, h)) != ZG_OK)
			return err;
		level++;
		index >>= 1;
		if ((err = emit(ctx, level, index, h)) != ZG_OK)
			return err;
	}

	/* success */
	memcpy(f->pending[level], h, sizeof(h));
	f->tree_size++;
	return ZG_OK;
}

zg_err
zg_merkle_frontier_root(const struct zg_merkle_frontier *f,
    uint8_t out[ZG_MERKLE_HASH_LEN])
{
	bool have_right = false;
	zg_err err;

	if (f->tree_size == 0)
		return empty_root(out);
	/* Combine right to left, as range_hash does. */
	for (unsigned level = 0; level < 64; level++) {
		if ((f->tree_size >> level & 1) == 0)
			continue;
		if (!have_right) {
			memcpy(out, f->pending[level], ZG_MERKLE_HASH_LEN);
			have_right = true;
			continue;
		}
		err = zg_merkle_node_hash(f->pending[level], out, out);
		if (err != ZG_OK)
			return err;
	}
	return ZG_OK;
}
