/*
 * Keccak-256, the hash Ethereum uses everywhere (addresses, transaction
 * hashes, EIP-191 and EIP-712 digests).
 *
 * It is the Keccak submission as the SHA-3 competition left it: the same
 * permutation and rate as SHA3-256 but with the original padding byte 0x01
 * instead of FIPS 202's 0x06, so SHA3-256 from OpenSSL gives different
 * digests. OpenSSL 3.0 has no Keccak-256, so this file drives the sponge
 * around nettle's Keccak-f[1600] permutation (nettle_sha3_permute); the
 * permutation itself is nettle's.
 */
#ifndef ZG_CRYPTO_KECCAK_H
#define ZG_CRYPTO_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#define ZG_KECCAK256_LEN 32

typedef struct zg_keccak {
	struct sha3_state state;
	unsigned pos;              /* bytes absorbed into the current block */
} zg_keccak;

void zg_keccak_init(zg_keccak *k);
void zg_keccak_update(zg_keccak *k, const uint8_t *data, size_t len);
/* Writes the digest and wipes the context. */
void zg_keccak_final(zg_keccak *k, uint8_t out[ZG_KECCAK256_LEN]);

/* One-shot Keccak-256 of data. */
void zg_keccak256(const uint8_t *data, size_t len,
    uint8_t out[ZG_KECCAK256_LEN]);

#endif
