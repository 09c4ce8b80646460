/* Hex and Base64 (RFC 4648) encoding. None of these allocate. */
#ifndef ZG_BASE_CODEC_H
#define ZG_BASE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Writes 2*len lower-case hex digits and a NUL; out needs 2*len+1 bytes. */
void zg_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decodes hex (either case) into out. Fails with ZG_ERR_INVALID on an odd
 * length, a non-hex character or when the result would exceed outsz.
 */
zg_err zg_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outsz,
    size_t *outlen);

/* Length of the padded standard Base64 text for len bytes, without NUL. */
size_t zg_base64_encoded_len(size_t len);

/* Writes padded standard Base64 and a NUL; see zg_base64_encoded_len. */
void zg_base64_encode(const uint8_t *in, size_t len, char *out);

/* Decodes padded standard Base64. Whitespace is not accepted. */
zg_err zg_base64_decode(const char *in, size_t inlen, uint8_t *out,
    size_t outsz, size_t *outlen);

#endif
