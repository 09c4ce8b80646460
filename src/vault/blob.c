/* The versioned ciphertext format shared by every wrapped key and record. */
#include <string.h>

#include "vault/keyring.h"

static void
header_encode(const zg_ct_header *h, uint8_t out[ZG_CT_HEADER_LEN])
{
	out[0] = h->format;
	out[1] = h->alg;
	for (int i = 0; i < 4; i++) {
		out[2 + i] = (uint8_t)(h->key_id >> (24 - 8 * i));
		out[6 + i] = (uint8_t)(h->key_version >> (24 - 8 * i));
	}
}

zg_err
zg_parse_ct_header(const uint8_t *blob, size_t len, zg_ct_header *h)
{
	if (blob == NULL || len < ZG_CT_OVERHEAD)
		return ZG_ERR_INTEGRITY;
	h->format = blob[0];
	h->alg = blob[1];
	h->key_id = 0;
	h->key_version = 0;
	for (int i = 0; i < 4; i++) {
		h->key_id = h->key_id << 8 | blob[2 + i];
		h->key_version = h->key_version << 8 | blob[6 + i];
	}
	if (h->format != ZG_CT_FORMAT_V1 || h->alg != ZG_CT_ALG_AES256GCM)
		return ZG_ERR_INTEGRITY;
	return ZG_OK;
}

/* The GCM AAD is the encoded header followed by the caller's AAD. */
static zg_err
build_aad(const uint8_t header[ZG_CT_HEADER_LEN], const uint8_t *aad,
    size_t aad_len, zg_buf *full)
{
	zg_err err;
	if ((err = zg_buf_append(full, header, ZG_CT_HEADER_LEN)) != ZG_OK)
		return err;
	return zg_buf_append(full, aad, aad_len);
}

zg_err
zg_seal_blob(const uint8_t key[ZG_KEY_LEN], const zg_ct_header *h,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    zg_buf *out)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf full_aad = ZG_BUF_INIT;
	uint8_t header[ZG_CT_HEADER_LEN];
	uint8_t nonce[ZG_GCM_NONCE_LEN];
	size_t start = out->len;

	header_encode(h, header);
	if ((err = build_aad(header, aad, aad_len, &full_aad)) != ZG_OK)
		goto out;
	if ((err = zg_random(nonce, sizeof(nonce))) != ZG_OK)
		goto out;
	if ((err = zg_buf_append(out, header, sizeof(header))) != ZG_OK ||
	    (err = zg_buf_append(out, nonce, sizeof(nonce))) != ZG_OK)
		goto out;
	/* Reserve room for the ciphertext and tag, then encrypt in place. */
	size_t ct_off = out->len;
	uint8_t zero_tag[ZG_GCM_TAG_LEN] = {0};
	if (pt_len > 0 && (err = zg_buf_append(out, pt, pt_len)) != ZG_OK)
		goto out;
	if ((err = zg_buf_append(out, zero_tag, sizeof(zero_tag))) != ZG_OK)
		goto out;
	err = zg_aes_gcm_encrypt(key, nonce, full_aad.data, full_aad.len,
	    out->data + ct_off, pt_len, out->data + ct_off,
	    out->data + ct_off + pt_len);
	if (err != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK && out->len > start) {
		zg_wipe(out->data + start, out->len - start);
		out->len = start;
	}
	zg_buf_free(&full_aad);
	return err;
}

zg_err
zg_open_blob(const uint8_t key[ZG_KEY_LEN], const uint8_t *blob, size_t len,
    const uint8_t *aad, size_t aad_len, uint8_t *pt, size_t *pt_len)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf full_aad = ZG_BUF_INIT;
	zg_ct_header h;

	if ((err = zg_parse_ct_header(blob, len, &h)) != ZG_OK)
		goto out;
	if ((err = build_aad(blob, aad, aad_len, &full_aad)) != ZG_OK)
		goto out;
	const uint8_t *nonce = blob + ZG_CT_HEADER_LEN;
	const uint8_t *ct = nonce + ZG_GCM_NONCE_LEN;
	size_t ct_len = len - ZG_CT_OVERHEAD;
	const uint8_t *tag = ct + ct_len;
	err = zg_aes_gcm_decrypt(key, nonce, full_aad.data, full_aad.len, ct,
	    ct_len, tag, pt);
	if (err != ZG_OK)
		goto out;
	*pt_len = ct_len;
	/* success */
	err = ZG_OK;
out:
	zg_buf_free(&full_aad);
	return err;
}
