/*
 * RLP, the serialization of Ethereum transactions (Yellow Paper,
 * appendix B).
 *
 * An item is a byte string or a list of items. The first byte tells which
 * and how the length is stored:
 *
 *   0x00..0x7f  a single byte that is its own encoding
 *   0x80..0xb7  a string of 0..55 bytes; length = byte - 0x80
 *   0xb8..0xbf  a longer string; the next (byte - 0xb7) bytes hold the
 *               length, big-endian
 *   0xc0..0xf7  a list whose items take 0..55 bytes; length = byte - 0xc0
 *   0xf8..0xff  a longer list; the next (byte - 0xf7) bytes hold the length
 *
 * Each value has exactly one canonical encoding, and the decoder accepts
 * only that one, so a signed transaction cannot be re-encoded into a
 * second byte string with the same meaning.
 */
#include "chain/chain.h"

#include <string.h>

/* Appends the header for a string (base 0x80) or list (base 0xc0). */
static zg_err
put_header(zg_buf *b, uint8_t base, size_t len)
{
	zg_err err;
	if (len <= 55)
		return zg_buf_append_u8(b, (uint8_t)(base + len));

	uint8_t be[sizeof(size_t)];
	size_t n = 0;
	for (size_t v = len; v != 0; v >>= 8)
		n++;
	for (size_t i = 0; i < n; i++)
		be[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	if ((err = zg_buf_append_u8(b, (uint8_t)(base + 55 + n))) != ZG_OK)
		return err;
	return zg_buf_append(b, be, n);
}

zg_err
zg_rlp_put_bytes(zg_buf *b, const uint8_t *p, size_t n)
{
	zg_err err;
	if (n == 1 && p[0] < 0x80)
		return zg_buf_append_u8(b, p[0]);
	if ((err = put_header(b, 0x80, n)) != ZG_OK)
		return err;
	return zg_buf_append(b, p, n);
}

zg_err
zg_rlp_put_u256(zg_buf *b, const zg_u256 *v)
{
	uint8_t be[32];
	size_t n = zg_u256_to_be_min(v, be);
	return zg_rlp_put_bytes(b, be, n);
}

zg_err
zg_rlp_put_u64(zg_buf *b, uint64_t v)
{
	zg_u256 u;
	zg_u256_from_u64(&u, v);
	return zg_rlp_put_u256(b, &u);
}

zg_err
zg_rlp_put_list_header(zg_buf *b, size_t payload_len)
{
	return put_header(b, 0xc0, payload_len);
}

zg_err
zg_rlp_put_list(zg_buf *b, const zg_buf *payload)
{
	zg_err err;
	if ((err = put_header(b, 0xc0, payload->len)) != ZG_OK)
		return err;
	return zg_buf_append(b, payload->data, payload->len);
}

/*
 * Reads a long-form length of n bytes at p. The long form is canonical
 * only without a leading zero byte and for lengths above 55.
 */
static zg_err
read_long_length(const uint8_t *p, size_t n, size_t *out)
{
	size_t len = 0;
	if (n > sizeof(size_t) || p[0] == 0)
		return ZG_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		len = len << 8 | p[i];
	if (len <= 55)
		return ZG_ERR_INVALID;
	*out = len;
	return ZG_OK;
}

zg_err
zg_rlp_decode(const uint8_t *in, size_t len, zg_rlp_item *item, size_t *used)
{
	zg_err err;
	size_t hdr, body;

	if (len == 0)
		return ZG_ERR_INVALID;
	uint8_t b0 = in[0];
	item->is_list = b0 >= 0xc0;

	if (b0 < 0x80) {
		item->data = in;
		item->len = 1;
		*used = 1;
		return ZG_OK;
	}
	if (b0 <= 0xb7 || (b0 >= 0xc0 && b0 <= 0xf7)) {
		hdr = 1;
		body = b0 - (item->is_list ? 0xc0 : 0x80);
	} else {
		size_t n = b0 - (item->is_list ? 0xf7 : 0xb7);
		if (len - 1 < n)
			return ZG_ERR_INVALID;
		if ((err = read_long_length(in + 1, n, &body)) != ZG_OK)
			return err;
		hdr = 1 + n;
	}
	if (body > len - hdr)
		return ZG_ERR_INVALID;
	/* A single byte below 0x80 must stand alone, not as 0x81 xx. */
	if (!item->is_list && body == 1 && in[hdr] < 0x80)
		return ZG_ERR_INVALID;
	item->data = in + hdr;
	item->len = body;
	*used = hdr + body;
	return ZG_OK;
}

zg_err
zg_rlp_decode_one(const uint8_t *in, size_t len, zg_rlp_item *item)
{
	zg_err err;
	size_t used;
	if ((err = zg_rlp_decode(in, len, item, &used)) != ZG_OK)
		return err;
	return used == len ? ZG_OK : ZG_ERR_INVALID;
}

zg_err
zg_rlp_next(const uint8_t **p, size_t *left, zg_rlp_item *item)
{
	zg_err err;
	size_t used;
	if (*left == 0)
		return ZG_ERR_NOT_FOUND;
	if ((err = zg_rlp_decode(*p, *left, item, &used)) != ZG_OK)
		return err;
	*p += used;
	*left -= used;
	return ZG_OK;
}

zg_err
zg_rlp_item_u256(const zg_rlp_item *item, zg_u256 *out)
{
	if (item->is_list || item->len > 32)
		return ZG_ERR_INVALID;
	if (item->len > 0 && item->data[0] == 0)
		return ZG_ERR_INVALID;
	return zg_u256_from_be(out, item->data, item->len);
}
