/* A growable byte buffer that wipes its contents when it grows or is freed. */
#ifndef ZG_BASE_BUF_H
#define ZG_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct zg_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} zg_buf;

#define ZG_BUF_INIT {NULL, 0, 0}

/* Appends n bytes. Old storage is wiped before it is freed. */
zg_err zg_buf_append(zg_buf *b, const void *p, size_t n);

/* Appends a string without its NUL. */
zg_err zg_buf_append_str(zg_buf *b, const char *s);

/* Appends a byte. */
zg_err zg_buf_append_u8(zg_buf *b, uint8_t v);

/* Appends v as 4 big-endian bytes. */
zg_err zg_buf_append_u32be(zg_buf *b, uint32_t v);

/* Appends v as 8 big-endian bytes. */
zg_err zg_buf_append_u64be(zg_buf *b, uint64_t v);

/* Appends a 4-byte big-endian length, then the bytes. */
zg_err zg_buf_append_lp(zg_buf *b, const void *p, size_t n);

/* Wipes and frees the contents, leaving an empty buffer. */
void zg_buf_free(zg_buf *b);

/* Overwrites n bytes with zeros in a way the compiler cannot remove. */
void zg_wipe(void *p, size_t n);

/* Wipes a NUL-terminated string and frees it. NULL is accepted. */
void zg_free_str_wiped(char *s);

#endif
