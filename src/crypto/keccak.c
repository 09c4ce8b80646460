/*
 * The Keccak-256 sponge: rate 136 bytes (1088 bits), capacity 512 bits.
 * Input bytes are XORed into the state's 64-bit lanes in little-endian
 * order; a full block runs the permutation. The last block gets the
 * multi-rate padding 0x01 ... 0x80.
 */
#include "crypto/keccak.h"

#include <string.h>

#include <openssl/crypto.h>

#define RATE 136

static void
absorb_byte(zg_keccak *k, uint8_t b)
{
	k->state.a[k->pos / 8] ^= (uint64_t)b << (8 * (k->pos % 8));
	if (++k->pos == RATE) {
		sha3_permute(&k->state);
		k->pos = 0;
	}
}

void
zg_keccak_init(zg_keccak *k)
{
	memset(k, 0, sizeof(*k));
}

void
zg_keccak_update(zg_keccak *k, const uint8_t *data, size_t len)
{
	/* Byte-wise absorption until the block is lane-aligned, then whole
	 * lanes: the digests are the same, the second is just faster. */
	while (len > 0 && k->pos % 8 != 0) {
		absorb_byte(k, *data++);
		len--;
	}
	while (len >= 8) {
		uint64_t lane = 0;
		for (int i = 7; i >= 0; i--)
			lane = (lane << 8) | data[i];
		k->state.a[k->pos / 8] ^= lane;
		k->pos += 8;
		if (k->pos == RATE) {
			sha3_permute(&k->state);
			k->pos = 0;
		}
		data += 8;
		len -= 8;
	}
	while (len-- > 0)
		absorb_byte(k, *data++);
}

void
zg_keccak_final(zg_keccak *k, uint8_t out[ZG_KECCAK256_LEN])
{
	k->state.a[k->pos / 8] ^= (uint64_t)0x01 << (8 * (k->pos % 8));
	k->state.a[(RATE - 1) / 8] ^= (uint64_t)0x80 << (8 * ((RATE - 1) % 8));
	sha3_permute(&k->state);
	for (unsigned i = 0; i < ZG_KECCAK256_LEN; i++)
		out[i] = (uint8_t)(k->state.a[i / 8] >> (8 * (i % 8)));
	OPENSSL_cleanse(k, sizeof(*k));
}

void
zg_keccak256(const uint8_t *data, size_t len, uint8_t out[ZG_KECCAK256_LEN])
{
	zg_keccak k;
	zg_keccak_init(&k);
	zg_keccak_update(&k, data, len);
	zg_keccak_final(&k, out);
}
