/*
 * 256-bit unsigned integers and the hex strings of Ethereum JSON-RPC.
 * Values here are public transaction fields, so nothing needs constant time.
 */
#include "chain/chain.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/secp256k1.h"

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
zg_u256_from_u64(zg_u256 *r, uint64_t v)
{
	memset(r, 0, sizeof(*r));
	r->w[0] = v;
}

bool
zg_u256_is_zero(const zg_u256 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

int
zg_u256_cmp(const zg_u256 *a, const zg_u256 *b)
{
	for (int i = 3; i >= 0; i--) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

bool
zg_u256_to_u64(const zg_u256 *a, uint64_t *out)
{
	if ((a->w[1] | a->w[2] | a->w[3]) != 0)
		return false;
	*out = a->w[0];
	return true;
}

bool
zg_u256_add(zg_u256 *r, const zg_u256 *a, const zg_u256 *b)
{
	uint64_t carry = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t s = a->w[i] + carry;
		uint64_t c1 = s < carry;
		uint64_t t = s + b->w[i];
		uint64_t c2 = t < s;
		r->w[i] = t;
		carry = c1 | c2;
	}
	return carry != 0;
}

bool
zg_u256_sub(zg_u256 *r, const zg_u256 *a, const zg_u256 *b)
{
	uint64_t borrow = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t ai = a->w[i], bi = b->w[i];
		uint64_t d = ai - bi - borrow;
		borrow = (ai < bi) || (ai == bi && borrow);
		r->w[i] = d;
	}
	return borrow != 0;
}

bool
zg_u256_mul_u64(zg_u256 *r, const zg_u256 *a, uint64_t m)
{
	unsigned __int128 carry = 0;
	for (int i = 0; i < 4; i++) {
		unsigned __int128 p = (unsigned __int128)a->w[i] * m + carry;
		r->w[i] = (uint64_t)p;
		carry = p >> 64;
	}
	return carry != 0;
}

void
zg_u256_to_be(const zg_u256 *a, uint8_t out[32])
{
	for (int i = 0; i < 32; i++)
		out[31 - i] = (uint8_t)(a->w[i / 8] >> (8 * (i % 8)));
}

zg_err
zg_u256_from_be(zg_u256 *r, const uint8_t *in, size_t len)
{
	if (len > 32)
		return ZG_ERR_INVALID;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < len; i++) {
		size_t bit = 8 * (len - 1 - i);
		r->w[bit / 64] |= (uint64_t)in[i] << (bit % 64);
	}
	return ZG_OK;
}

size_t
zg_u256_to_be_min(const zg_u256 *a, uint8_t out[32])
{
	uint8_t be[32];
	size_t skip = 0;
	zg_u256_to_be(a, be);
	while (skip < 32 && be[skip] == 0)
		skip++;
	memcpy(out, be + skip, 32 - skip);
	return 32 - skip;
}

/* Divides a by 10 in place and returns the remainder. */
static unsigned
div10(zg_u256 *a)
{
	unsigned __int128 rem = 0;
	for (int i = 3; i >= 0; i--) {
		unsigned __int128 cur = (rem << 64) | a->w[i];
		a->w[i] = (uint64_t)(cur / 10);
		rem = cur % 10;
	}
	return (unsigned)rem;
}

void
zg_u256_to_dec(const zg_u256 *a, char out[ZG_U256_DEC_LEN])
{
	char rev[ZG_U256_DEC_LEN];
	size_t n = 0;
	zg_u256 t = *a;
	do {
		rev[n++] = (char)('0' + div10(&t));
	} while (!zg_u256_is_zero(&t));
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
}

static zg_err
bad_number(const char *field, const char *s, const char *why, zg_errmsg *em)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(s, q, sizeof(q));
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" %s; got \"%s\"", field,
	    why, q);
}

zg_err
zg_u256_parse(const char *s, const char *field, zg_u256 *out, zg_errmsg *em)
{
	zg_u256 v;
	zg_u256_from_u64(&v, 0);

	if (s[0] == '-')
		return bad_number(field, s, "must not be negative", em);
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		const char *p = s + 2;
		if (*p == '\0')
			return bad_number(field, s, "must have hex digits after "
			    "\"0x\"", em);
		for (; *p != '\0'; p++) {
			int d = hex_digit(*p);
			if (d < 0)
				return bad_number(field, s, "must be a decimal or "
				    "\"0x\" hex integer", em);
			if (v.w[3] >> 60 != 0)
				return bad_number(field, s, "exceeds 2^256-1", em);
			for (int i = 3; i > 0; i--)
				v.w[i] = v.w[i] << 4 | v.w[i - 1] >> 60;
			v.w[0] = v.w[0] << 4 | (uint64_t)d;
		}
		*out = v;
		return ZG_OK;
	}
	if (*s == '\0')
		return bad_number(field, s, "must not be empty", em);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return bad_number(field, s, "must be a decimal or \"0x\" "
			    "hex integer", em);
		zg_u256 digit;
		zg_u256_from_u64(&digit, (uint64_t)(*p - '0'));
		if (zg_u256_mul_u64(&v, &v, 10) || zg_u256_add(&v, &v, &digit))
			return bad_number(field, s, "exceeds 2^256-1", em);
	}
	*out = v;
	return ZG_OK;
}

zg_err
zg_u256_from_json(const json_t *v, const char *field, zg_u256 *out,
    zg_errmsg *em)
{
	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) != json_string_length(v))
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must "
			    "not contain a NUL character", field);
		return zg_u256_parse(json_string_value(v), field, out, em);
	}
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must not "
			    "be negative; got %lld", field, (long long)i);
		if (i > ZG_JSON_SAFE_INT_MAX)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" is %lld, "
			    "above 2^53-1, where JSON numbers lose precision; "
			    "send it as a decimal or \"0x\" hex string", field,
			    (long long)i);
		zg_u256_from_u64(out, (uint64_t)i);
		return ZG_OK;
	}
	if (json_is_real(v))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "integer; got %g", field, json_real_value(v));
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an integer as "
	    "a decimal string, a \"0x\" hex string or a JSON number", field);
}

zg_err
zg_chain_hex_decode(const char *s, const char *field, uint8_t **out,
    size_t *len, zg_errmsg *em)
{
	*out = NULL;
	*len = 0;
	if (s[0] != '0' || s[1] != 'x')
		return bad_number(field, s, "must be hex starting with \"0x\"", em);
	size_t digits = strlen(s + 2);
	for (size_t i = 0; i < digits; i++) {
		if (hex_digit(s[2 + i]) < 0)
			return bad_number(field, s, "must contain only hex "
			    "digits after \"0x\"", em);
	}
	if (digits % 2 != 0)
		return bad_number(field, s, "must have an even number of hex "
		    "digits", em);
	if (digits == 0)
		return ZG_OK;
	uint8_t *b = malloc(digits / 2);
	if (b == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory decoding field "
		    "\"%s\"", field);
	for (size_t i = 0; i < digits / 2; i++)
		b[i] = (uint8_t)(hex_digit(s[2 + 2 * i]) << 4 |
		    hex_digit(s[3 + 2 * i]));
	*out = b;
	*len = digits / 2;
	return ZG_OK;
}

zg_err
zg_chain_hex_decode_fixed(const char *s, const char *field, uint8_t *out,
    size_t len, zg_errmsg *em)
{
	uint8_t *b = NULL;
	size_t n = 0;
	zg_err err = zg_chain_hex_decode(s, field, &b, &n, em);
	if (err != ZG_OK)
		return err;
	if (n != len) {
		free(b);
		char q[ZG_QUOTE_MAX];
		zg_quote_value(s, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be %zu "
		    "bytes (%zu hex digits after \"0x\"); got %zu hex digits: "
		    "\"%s\"", field, len, 2 * len, 2 * n, q);
	}
	if (n > 0)
		memcpy(out, b, n);
	free(b);
	return ZG_OK;
}

zg_err
zg_chain_address_parse(const char *s, const char *field, uint8_t out[20],
    zg_errmsg *em)
{
	bool well_formed = s[0] == '0' && s[1] == 'x' && strlen(s) == 42;
	for (size_t i = 2; well_formed && i < 42; i++)
		well_formed = hex_digit(s[i]) >= 0;
	if (!well_formed)
		return bad_number(field, s, "must be an address: \"0x\" and 40 "
		    "hex digits", em);
	if (zg_eth_address_parse(s, out) != ZG_OK)
		return bad_number(field, s, "has mixed case that fails its "
		    "EIP-55 checksum; check the address", em);
	return ZG_OK;
}
