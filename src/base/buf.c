#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
zg_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
zg_free_str_wiped(char *s)
{
	if (s == NULL)
		return;
	zg_wipe(s, strlen(s));
	free(s);
}

static zg_err
buf_reserve(zg_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len)
		return ZG_ERR_NOMEM;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return ZG_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	/* Allocate fresh storage rather than realloc so the old copy is wiped. */
	uint8_t *p = malloc(cap);
	if (p == NULL)
		return ZG_ERR_NOMEM;
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	zg_wipe(b->data, b->cap);
	free(b->data);
	b->data = p;
	b->cap = cap;
	return ZG_OK;
}

zg_err
zg_buf_append(zg_buf *b, const void *p, size_t n)
{
	zg_err err;
	if (n == 0)
		return ZG_OK;
	if ((err = buf_reserve(b, n)) != ZG_OK)
		return err;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return ZG_OK;
}

zg_err
zg_buf_append_str(zg_buf *b, const char *s)
{
	return zg_buf_append(b, s, strlen(s));
}

zg_err
zg_buf_append_u8(zg_buf *b, uint8_t v)
{
	return zg_buf_append(b, &v, 1);
}

zg_err
zg_buf_append_u32be(zg_buf *b, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v};
	return zg_buf_append(b, be, 4);
}

zg_err
zg_buf_append_u64be(zg_buf *b, uint64_t v)
{
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	return zg_buf_append(b, be, 8);
}

zg_err
zg_buf_append_lp(zg_buf *b, const void *p, size_t n)
{
	zg_err err;
	if (n > UINT32_MAX)
		return ZG_ERR_INVALID;
	if ((err = zg_buf_append_u32be(b, (uint32_t)n)) != ZG_OK)
		return err;
	return zg_buf_append(b, p, n);
}

void
zg_buf_free(zg_buf *b)
{
	zg_wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
