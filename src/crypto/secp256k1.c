#include "crypto/secp256k1.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "crypto/keccak.h"

static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void
ctx_create(void)
{
	uint8_t seed[32];
	secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (c == NULL)
		return;
	/* Blinding against timing side channels; a failed draw leaves the
	 * context unblinded but still correct. */
	if (zg_random(seed, sizeof(seed)) != ZG_OK ||
	    secp256k1_context_randomize(c, seed) != 1)
		zg_log_warn("secp256k1 context blinding failed; signatures "
		    "stay correct but lose that side-channel protection");
	OPENSSL_cleanse(seed, sizeof(seed));
	ctx = c;
}

static const secp256k1_context *
get_ctx(void)
{
	pthread_once(&ctx_once, ctx_create);
	return ctx;
}

bool
zg_secp_priv_valid(const uint8_t priv[ZG_SECP_PRIV_LEN])
{
	const secp256k1_context *c = get_ctx();
	return c != NULL && secp256k1_ec_seckey_verify(c, priv) == 1;
}

zg_err
zg_secp_keygen(uint8_t priv[ZG_SECP_PRIV_LEN])
{
	zg_err err;
	/* A random 32-byte string is invalid with probability about
	 * 2^-128; the loop is for correctness, not expected to repeat. */
	for (int i = 0; i < 8; i++) {
		if ((err = zg_random(priv, ZG_SECP_PRIV_LEN)) != ZG_OK)
			return err;
		if (zg_secp_priv_valid(priv))
			return ZG_OK;
	}
	OPENSSL_cleanse(priv, ZG_SECP_PRIV_LEN);
	return ZG_ERR_CRYPTO;
}

static void
serialize(const secp256k1_context *c, const secp256k1_pubkey *pk,
    uint8_t pub[ZG_SECP_PUB_LEN])
{
	size_t len = ZG_SECP_PUB_LEN;
	secp256k1_ec_pubkey_serialize(c, pub, &len, pk,
	    SECP256K1_EC_UNCOMPRESSED);
}

zg_err
zg_secp_public(const uint8_t priv[ZG_SECP_PRIV_LEN],
    uint8_t pub[ZG_SECP_PUB_LEN])
{
	const secp256k1_context *c = get_ctx();
	secp256k1_pubkey pk;
	if (c == NULL)
		return ZG_ERR_CRYPTO;
	if (!secp256k1_ec_pubkey_create(c, &pk, priv))
		return ZG_ERR_INVALID;
	serialize(c, &pk, pub);
	return ZG_OK;
}

zg_err
zg_secp_parse_public(const uint8_t *in, size_t len,
    uint8_t pub[ZG_SECP_PUB_LEN])
{
	const secp256k1_context *c = get_ctx();
	secp256k1_pubkey pk;
	if (c == NULL)
		return ZG_ERR_CRYPTO;
	if ((len != 33 && len != 65) ||
	    !secp256k1_ec_pubkey_parse(c, &pk, in, len))
		return ZG_ERR_INVALID;
	serialize(c, &pk, pub);
	return ZG_OK;
}

zg_err
zg_secp_sign(const uint8_t priv[ZG_SECP_PRIV_LEN], const uint8_t digest[32],
    uint8_t sig[ZG_SECP_SIG_LEN], int *recid)
{
	const secp256k1_context *c = get_ctx();
	secp256k1_ecdsa_recoverable_signature rs;
	zg_err err = ZG_OK;
	if (c == NULL)
		return ZG_ERR_CRYPTO;
	/* libsecp256k1 always produces low-s signatures. */
	if (!secp256k1_ecdsa_sign_recoverable(c, &rs, digest, priv, NULL,
	    NULL)) {
		err = ZG_ERR_INVALID;
		goto out;
	}
	secp256k1_ecdsa_recoverable_signature_serialize_compact(c, sig, recid,
	    &rs);
out:
	OPENSSL_cleanse(&rs, sizeof(rs));
	return err;
}

zg_err
zg_secp_recover(const uint8_t digest[32], const uint8_t sig[ZG_SECP_SIG_LEN],
    int recid, uint8_t pub[ZG_SECP_PUB_LEN])
{
	const secp256k1_context *c = get_ctx();
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pk;
	if (c == NULL)
		return ZG_ERR_CRYPTO;
	if (recid < 0 || recid > 3 ||
	    !secp256k1_ecdsa_recoverable_signature_parse_compact(c, &rs, sig,
	    recid) ||
	    !secp256k1_ecdsa_recover(c, &pk, &rs, digest))
		return ZG_ERR_INVALID;
	serialize(c, &pk, pub);
	return ZG_OK;
}

zg_err
zg_secp_normalize(const uint8_t digest[32], uint8_t sig[ZG_SECP_SIG_LEN],
    const uint8_t pub[ZG_SECP_PUB_LEN], int *recid)
{
	const secp256k1_context *c = get_ctx();
	secp256k1_ecdsa_signature s;
	uint8_t got[ZG_SECP_PUB_LEN];
	if (c == NULL)
		return ZG_ERR_CRYPTO;
	if (!secp256k1_ecdsa_signature_parse_compact(c, &s, sig))
		return ZG_ERR_INVALID;
	secp256k1_ecdsa_signature_normalize(c, &s, &s);
	secp256k1_ecdsa_signature_serialize_compact(c, sig, &s);
	for (int id = 0; id < 4; id++) {
		if (zg_secp_recover(digest, sig, id, got) == ZG_OK &&
		    memcmp(got, pub, ZG_SECP_PUB_LEN) == 0) {
			*recid = id;
			return ZG_OK;
		}
	}
	return ZG_ERR_INVALID;
}

void
zg_eth_address(const uint8_t pub[ZG_SECP_PUB_LEN],
    uint8_t addr[ZG_ETH_ADDR_LEN])
{
	uint8_t h[ZG_KECCAK256_LEN];
	zg_keccak256(pub + 1, ZG_SECP_PUB_LEN - 1, h);
	memcpy(addr, h + 12, ZG_ETH_ADDR_LEN);
}

/* EIP-55: hex digit i is upper case when nibble i of Keccak-256 of the
 * lower-case hex address is 8 or more. */
static void
checksum_case(char hex[40])
{
	uint8_t h[ZG_KECCAK256_LEN];
	zg_keccak256((const uint8_t *)hex, 40, h);
	for (int i = 0; i < 40; i++) {
		unsigned nib = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 0xf;
		if (hex[i] >= 'a' && hex[i] <= 'f' && nib >= 8)
			hex[i] = (char)(hex[i] - 'a' + 'A');
	}
}

void
zg_eth_address_hex(const uint8_t addr[ZG_ETH_ADDR_LEN], char out[43])
{
	static const char digits[] = "0123456789abcdef";
	out[0] = '0';
	out[1] = 'x';
	for (int i = 0; i < ZG_ETH_ADDR_LEN; i++) {
		out[2 + 2 * i] = digits[addr[i] >> 4];
		out[3 + 2 * i] = digits[addr[i] & 0xf];
	}
	out[42] = '\0';
	checksum_case(out + 2);
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

zg_err
zg_eth_address_parse(const char *s, uint8_t addr[ZG_ETH_ADDR_LEN])
{
	bool lower = false, upper = false;
	char want[43];
	if (s == NULL || strlen(s) != 42 || s[0] != '0' ||
	    (s[1] != 'x' && s[1] != 'X'))
		return ZG_ERR_INVALID;
	for (int i = 0; i < 40; i++) {
		char ch = s[2 + i];
		int hi = hexval(ch);
		if (hi < 0)
			return ZG_ERR_INVALID;
		if (ch >= 'a' && ch <= 'f')
			lower = true;
		if (ch >= 'A' && ch <= 'F')
			upper = true;
		if (i % 2 == 0)
			addr[i / 2] = (uint8_t)(hi << 4);
		else
			addr[i / 2] |= (uint8_t)hi;
	}
	if (lower && upper) {
		zg_eth_address_hex(addr, want);
		if (strcmp(want + 2, s + 2) != 0)
			return ZG_ERR_INVALID;
	}
	return ZG_OK;
}

void
zg_eth_personal_digest(const uint8_t *msg, size_t len, uint8_t out[32])
{
	static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
	char num[24];
	int n = snprintf(num, sizeof(num), "%zu", len);
	zg_keccak k;
	zg_keccak_init(&k);
	zg_keccak_update(&k, (const uint8_t *)prefix, sizeof(prefix) - 1);
	zg_keccak_update(&k, (const uint8_t *)num, (size_t)n);
	zg_keccak_update(&k, msg, len);
	zg_keccak_final(&k, out);
}
