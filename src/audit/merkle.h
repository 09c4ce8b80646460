/*
 * Merkle tree of the audit log (RFC 6962 section 2.1), as pure functions.
 *
 * Hashing. A leaf hash is SHA-256(0x00 || leaf bytes) and an interior node
 * is SHA-256(0x01 || left || right), so a leaf can never pass for a node.
 * The root of the empty tree is SHA-256 of the empty string. A tree of n > 1
 * leaves splits at k, the largest power of two smaller than n: the left
 * subtree contains leaves [0, k) and is always perfect, the right one
 * [k, n).
 *
 * Addressing. A perfect subtree is one of 2^level leaves that starts at a
 * multiple of 2^level. It is named (level, index) with index = start >>
 * level, so level 0 names the leaf hashes and (level, index) is the node
 * hash of (level - 1, 2 * index) and (level - 1, 2 * index + 1). Perfect
 * subtree hashes never change once complete, so the log stores each one
 * once, when zg_merkle_frontier_append reports it, and proofs read them
 * back through a zg_merkle_get_fn.
 *
 * Any other subtree of a tree of n leaves lies on the right edge. Its hash
 * is computed from the perfect subtrees of the binary decomposition of its
 * size: 13 leaves starting at 0 are (3, 0), (2, 2) and (0, 12), combined
 * right to left.
 *
 * Complexity. zg_merkle_root reads popcount(n) hashes. A proof reads at
 * most 2 * ceil(log2(n)) + 1 hashes and computes O(log n) SHA-256 digests.
 * Appending a leaf computes and reports at most ceil(log2(n)) + 1 hashes.
 * Nothing here does I/O. Every function that reads storage is only as
 * trustworthy as the hashes its callback returns.
 */
#ifndef ZG_AUDIT_MERKLE_H
#define ZG_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ZG_MERKLE_HASH_LEN 32

/* Maximum length of any proof for tree sizes below 2^64: 64 + 1 hashes. */
#define ZG_MERKLE_MAX_PROOF 65

/*
 * Writes the hash of the perfect subtree (level, index) to out. Returns
 * ZG_OK, or an error that the calling zg_merkle_* function passes on
 * unchanged, for example ZG_ERR_NOT_FOUND for a hash never stored.
 */
typedef zg_err (*zg_merkle_get_fn)(void *ctx, unsigned level, uint64_t index,
    uint8_t out[ZG_MERKLE_HASH_LEN]);

/*
 * Receives one newly complete perfect subtree hash from
 * zg_merkle_frontier_append. A non-OK return stops the append and is
 * passed on.
 */
typedef zg_err (*zg_merkle_emit_fn)(void *ctx, unsigned level, uint64_t index,
    const uint8_t hash[ZG_MERKLE_HASH_LEN]);

/*
 * Computes SHA-256(0x00 || data). data may be NULL when len is 0. Returns
 * ZG_OK, or ZG_ERR_CRYPTO when libcrypto fails.
 */
zg_err zg_merkle_leaf_hash(const void *data, size_t len,
    uint8_t out[ZG_MERKLE_HASH_LEN]);

/*
 * Computes SHA-256(0x01 || left || right). out may alias left or right.
 * Returns ZG_OK, or ZG_ERR_CRYPTO when libcrypto fails.
 */
zg_err zg_merkle_node_hash(const uint8_t left[ZG_MERKLE_HASH_LEN],
    const uint8_t right[ZG_MERKLE_HASH_LEN], uint8_t out[ZG_MERKLE_HASH_LEN]);

/*
 * Computes the root of the first tree_size leaves from popcount(tree_size)
 * perfect subtree hashes read through get. tree_size 0 gives the empty
 * tree's root without reading. Returns ZG_OK, ZG_ERR_CRYPTO or the
 * callback's error.
 */
zg_err zg_merkle_root(zg_merkle_get_fn get, void *ctx, uint64_t tree_size,
    uint8_t out[ZG_MERKLE_HASH_LEN]);

/* Returns the number of hashes in the inclusion proof. index < tree_size. */
size_t zg_merkle_inclusion_proof_len(uint64_t index, uint64_t tree_size);

/*
 * Returns the number of hashes in the consistency proof between the trees
 * of first and second leaves, where 0 < first <= second. Equal sizes need
 * none.
 */
size_t zg_merkle_consistency_proof_len(uint64_t first, uint64_t second);

/*
 * Writes the audit path of leaf index in the tree of the first tree_size
 * leaves (RFC 6962 section 2.1.1) to out, the sibling next to the leaf
 * first, and its length to *out_len. out has room for max hashes, and
 * ZG_MERKLE_MAX_PROOF is always enough.
 *
 * Returns ZG_ERR_INVALID when index >= tree_size or when the proof needs
 * more than max hashes, ZG_ERR_CRYPTO, or the callback's error. The caller
 * checks that tree_size does not exceed the number of stored leaves.
 */
zg_err zg_merkle_inclusion_proof(zg_merkle_get_fn get, void *ctx,
    uint64_t index, uint64_t tree_size, uint8_t (*out)[ZG_MERKLE_HASH_LEN],
    size_t max, size_t *out_len);

/*
 * Writes the consistency proof between the trees of the first `first` and
 * `second` leaves (RFC 6962 section 2.1.2) to out and its length to
 * *out_len. Equal sizes give an empty proof.
 *
 * Returns ZG_ERR_INVALID when first is 0 (a proof from the empty tree is
 * undefined), when first > second or when the proof needs more than max
 * hashes, ZG_ERR_CRYPTO, or the callback's error.
 */
zg_err zg_merkle_consistency_proof(zg_merkle_get_fn get, void *ctx,
    uint64_t first, uint64_t second, uint8_t (*out)[ZG_MERKLE_HASH_LEN],
    size_t max, size_t *out_len);

/*
 * Checks that leaf_hash is leaf index of the tree of tree_size leaves whose
 * root is root, with the algorithm of RFC 9162 section 2.1.3.2. Returns
 * ZG_OK only for a valid proof. Returns ZG_ERR_INTEGRITY when index >=
 * tree_size, when proof_len is not zg_merkle_inclusion_proof_len or when
 * the computed root differs, and ZG_ERR_CRYPTO when libcrypto fails.
 */
__attribute__((warn_unused_result))
zg_err zg_merkle_verify_inclusion(const uint8_t leaf_hash[ZG_MERKLE_HASH_LEN],
    uint64_t index, uint64_t tree_size,
    const uint8_t (*proof)[ZG_MERKLE_HASH_LEN], size_t proof_len,
    const uint8_t root[ZG_MERKLE_HASH_LEN]);

/*
 * Checks that the tree of `second` leaves with root second_root extends the
 * tree of `first` leaves with root first_root, with the algorithm of RFC
 * 9162 section 2.1.4.2. Equal sizes need an empty proof and equal roots.
 * Returns ZG_OK only for a valid proof. Returns ZG_ERR_INTEGRITY when first
 * is 0 or larger than second, when proof_len is not
 * zg_merkle_consistency_proof_len or when a computed root differs, and
 * ZG_ERR_CRYPTO when libcrypto fails.
 */
__attribute__((warn_unused_result))
zg_err zg_merkle_verify_consistency(uint64_t first, uint64_t second,
    const uint8_t (*proof)[ZG_MERKLE_HASH_LEN], size_t proof_len,
    const uint8_t first_root[ZG_MERKLE_HASH_LEN],
    const uint8_t second_root[ZG_MERKLE_HASH_LEN]);

/*
 * Right frontier of a growing tree: the perfect subtrees of the binary
 * decomposition of tree_size. pending[level] is the hash of (level,
 * (tree_size >> level) - 1) and is meaningful only while bit `level` of
 * tree_size is set.
 */
struct zg_merkle_frontier {
	uint64_t tree_size;
	uint8_t pending[64][ZG_MERKLE_HASH_LEN];
};

/* Sets f to the empty tree. */
void zg_merkle_frontier_init(struct zg_merkle_frontier *f);

/*
 * Sets f to the tree of tree_size stored leaves by reading the
 * popcount(tree_size) hashes of its decomposition through get. Returns
 * ZG_OK or the callback's error, which leaves f set to the empty tree.
 */
zg_err zg_merkle_frontier_load(struct zg_merkle_frontier *f,
    zg_merkle_get_fn get, void *ctx, uint64_t tree_size);

/*
 * Appends a leaf and calls emit for every perfect subtree this completes:
 * (0, tree_size, leaf_hash) first, then one per level up while the new
 * leaf closes a pair. The caller stores each one. f changes only when every
 * emit call succeeded, so a failed append can be retried and then emits the
 * same hashes again. Returns ZG_OK, ZG_ERR_INVALID when the tree already
 * contains 2^64 - 1 leaves, ZG_ERR_CRYPTO, or the callback's error.
 */
zg_err zg_merkle_frontier_append(struct zg_merkle_frontier *f,
    const uint8_t leaf_hash[ZG_MERKLE_HASH_LEN], zg_merkle_emit_fn emit,
    void *ctx);

/* Computes the root of the tree f describes, without reading storage. */
zg_err zg_merkle_frontier_root(const struct zg_merkle_frontier *f,
    uint8_t out[ZG_MERKLE_HASH_LEN]);

#endif
