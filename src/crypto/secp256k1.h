/*
 * secp256k1 ECDSA for Ethereum, on libsecp256k1.
 *
 * Signatures are 64 bytes r||s (big-endian) with s always in the lower half
 * of the group order, as Ethereum requires since EIP-2, plus a recovery id
 * 0..3 that lets a verifier recover the public key from the digest.
 * Signing uses libsecp256k1's RFC 6979 deterministic nonces, so one key
 * and one digest always give the same signature.
 *
 * Public keys are 65 bytes, uncompressed: 0x04 || x || y.
 * The one library context is created on first use, randomized, and then
 * only read, which libsecp256k1 allows from any number of threads.
 */
#ifndef ZG_CRYPTO_SECP256K1_H
#define ZG_CRYPTO_SECP256K1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ZG_SECP_PRIV_LEN 32
#define ZG_SECP_PUB_LEN 65
#define ZG_SECP_SIG_LEN 64
#define ZG_ETH_ADDR_LEN 20

/* True if priv is a valid secret key: nonzero and below the order. */
bool zg_secp_priv_valid(const uint8_t priv[ZG_SECP_PRIV_LEN]);

/* Draws a random valid secret key from OpenSSL's generator. */
zg_err zg_secp_keygen(uint8_t priv[ZG_SECP_PRIV_LEN]);

zg_err zg_secp_public(const uint8_t priv[ZG_SECP_PRIV_LEN],
    uint8_t pub[ZG_SECP_PUB_LEN]);

/*
 * Parses a compressed (33 bytes) or uncompressed (65 bytes) public key and
 * writes it uncompressed. ZG_ERR_INVALID if it is not a point on the curve.
 */
zg_err zg_secp_parse_public(const uint8_t *in, size_t len,
    uint8_t pub[ZG_SECP_PUB_LEN]);

/* Signs a 32-byte digest: low-s r||s and the recovery id (0..3). */
zg_err zg_secp_sign(const uint8_t priv[ZG_SECP_PRIV_LEN],
    const uint8_t digest[32], uint8_t sig[ZG_SECP_SIG_LEN], int *recid);

/*
 * Recovers the public key that made sig over digest with recovery id
 * recid. ZG_ERR_INVALID if recid is out of range, r or s is zero or too
 * large, or no key can be recovered.
 */
zg_err zg_secp_recover(const uint8_t digest[32],
    const uint8_t sig[ZG_SECP_SIG_LEN], int recid,
    uint8_t pub[ZG_SECP_PUB_LEN]);

/*
 * For signatures made elsewhere (a PKCS#11 token gives r||s with no
 * recovery id, and a high s about half the time): rewrites sig to low s
 * and finds the recovery id under which it recovers to pub.
 * ZG_ERR_INVALID if sig is malformed or does not verify for pub.
 */
zg_err zg_secp_normalize(const uint8_t digest[32], uint8_t sig[ZG_SECP_SIG_LEN],
    const uint8_t pub[ZG_SECP_PUB_LEN], int *recid);

/* The Ethereum address of a public key: the last 20 bytes of
 * Keccak-256(x || y). */
void zg_eth_address(const uint8_t pub[ZG_SECP_PUB_LEN],
    uint8_t addr[ZG_ETH_ADDR_LEN]);

/*
 * Writes addr as "0x" and 40 hex digits with the EIP-55 mixed-case
 * checksum; out needs 43 bytes.
 */
void zg_eth_address_hex(const uint8_t addr[ZG_ETH_ADDR_LEN], char out[43]);

/*
 * Parses "0x" and 40 hex digits. All lower case or all upper case is
 * accepted as is; mixed case must match the EIP-55 checksum.
 * ZG_ERR_INVALID otherwise.
 */
zg_err zg_eth_address_parse(const char *s, uint8_t addr[ZG_ETH_ADDR_LEN]);

/*
 * The EIP-191 version 0x45 digest that personal_sign signs:
 * Keccak-256("\x19Ethereum Signed Message:\n" || decimal len || msg).
 */
void zg_eth_personal_digest(const uint8_t *msg, size_t len, uint8_t out[32]);

#endif
