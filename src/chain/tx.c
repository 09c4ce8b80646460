/*
 * Ethereum transactions: the JSON request, the digest the sender signs,
 * and the signed raw bytes.
 *
 *   type 0 (legacy, EIP-155)
 *     signed over rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])
 *     sent as     rlp([nonce, gasPrice, gas, to, value, data, v, r, s])
 *     with v = chainId * 2 + 35 + recovery id
 *   type 1 (EIP-2930)
 *     0x01 || rlp([chainId, nonce, gasPrice, gas, to, value, data,
 *                  accessList])                  plus yParity, r, s when sent
 *   type 2 (EIP-1559)
 *     0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas,
 *                  to, value, data, accessList]) plus yParity, r, s when sent
 *
 * An absent `to` is the empty string 0x80, which creates a contract; an
 * access list is a list of [address, [storageKey, ...]].
 *
 * The EIP-191 personal message request is parsed here too.
 */
#include "chain/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "crypto/keccak.h"

static const char *const tx_fields[] = {
	"chainId", "type", "nonce", "to", "value", "data", "gas", "gasPrice",
	"maxFeePerGas", "maxPriorityFeePerGas", "accessList", NULL,
};

static bool
field_present(const json_t *req, const char *key)
{
	const json_t *v = json_object_get(req, key);
	return v != NULL && !json_is_null(v);
}

/* Reads an integer field; an absent one is an error if required, else 0. */
static zg_err
get_u256(const json_t *req, const char *key, bool required, zg_u256 *out,
    zg_errmsg *em)
{
	zg_u256_from_u64(out, 0);
	if (!field_present(req, key)) {
		if (required)
			return zg_fail(em, ZG_ERR_INVALID, "missing required "
			    "field \"%s\"", key);
		return ZG_OK;
	}
	return zg_u256_from_json(json_object_get(req, key), key, out, em);
}

static zg_err
reject_field(const json_t *req, const char *key, int type, zg_errmsg *em)
{
	if (!field_present(req, key))
		return ZG_OK;
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" is not allowed in a "
	    "type %d transaction", key, type);
}

static zg_err
get_string(const json_t *v, const char *field, const char **out,
    zg_errmsg *em)
{
	if (!json_is_string(v))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be a "
		    "string", field);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must not "
		    "contain a NUL character", field);
	*out = json_string_value(v);
	return ZG_OK;
}

static zg_err
parse_access_entry(const json_t *item, size_t index, zg_access_entry *e,
    zg_errmsg *em)
{
	static const char *const entry_fields[] = {"address", "storageKeys",
	    NULL};
	char field[64];
	const char *s = NULL;
	const char *key;
	json_t *value;
	zg_err err;

	snprintf(field, sizeof(field), "accessList[%zu]", index);
	if (!json_is_object(item))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "object {\"address\", \"storageKeys\"}", field);
	json_object_foreach((json_t *)item, key, value) {
		bool known = false;
		for (const char *const *f = entry_fields; *f != NULL; f++)
			known = known || strcmp(*f, key) == 0;
		if (!known) {
			char q[ZG_QUOTE_MAX];
			zg_quote_value(key, q, sizeof(q));
			return zg_fail(em, ZG_ERR_INVALID, "unknown field \"%s\" "
			    "in \"%s\"", q, field);
		}
	}

	snprintf(field, sizeof(field), "accessList[%zu].address", index);
	json_t *addr = json_object_get(item, "address");
	if (addr == NULL)
		return zg_fail(em, ZG_ERR_INVALID, "missing required field "
		    "\"%s\"", field);
	if ((err = get_string(addr, field, &s, em)) != ZG_OK)
		return err;
	if ((err = zg_chain_address_parse(s, field, e->address, em)) != ZG_OK)
		return err;

	snprintf(field, sizeof(field), "accessList[%zu].storageKeys", index);
	json_t *keys = json_object_get(item, "storageKeys");
	if (keys == NULL)
		return zg_fail(em, ZG_ERR_INVALID, "missing required field "
		    "\"%s\"", field);
	if (!json_is_array(keys))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "array of 32-byte hex strings", field);
	size_t n = json_array_size(keys);
	if (n > 0) {
		e->storage_keys = calloc(n, 32);
		if (e->storage_keys == NULL)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "accessList[%zu].storageKeys[%zu]",
		    index, i);
		if ((err = get_string(json_array_get(keys, i), field, &s,
		    em)) != ZG_OK)
			return err;
		if ((err = zg_chain_hex_decode_fixed(s, field, e->storage_keys[i],
		    32, em)) != ZG_OK)
			return err;
		e->nkeys++;
	}
	return ZG_OK;
}

static zg_err
parse_access_list(const json_t *req, zg_tx *tx, zg_errmsg *em)
{
	zg_err err;
	if (!field_present(req, "accessList"))
		return ZG_OK;
	json_t *list = json_object_get(req, "accessList");
	if (!json_is_array(list))
		return zg_fail(em, ZG_ERR_INVALID, "field \"accessList\" must be "
		    "an array of {\"address\", \"storageKeys\"}");
	size_t n = json_array_size(list);
	if (n == 0)
		return ZG_OK;
	tx->access_list = calloc(n, sizeof(*tx->access_list));
	if (tx->access_list == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		/* Counted before parsing so that zg_tx_free frees a partly
		 * filled entry. */
		tx->access_len++;
		if ((err = parse_access_entry(json_array_get(list, i), i,
		    &tx->access_list[i], em)) != ZG_OK)
			return err;
	}
	return ZG_OK;
}

static zg_err
parse_type(const json_t *req, zg_tx *tx, zg_errmsg *em)
{
	zg_err err;
	zg_u256 t;
	uint64_t small;
	if ((err = get_u256(req, "type", true, &t, em)) != ZG_OK)
		return err;
	if (!zg_u256_to_u64(&t, &small) || small > 2) {
		char dec[ZG_U256_DEC_LEN];
		zg_u256_to_dec(&t, dec);
		return zg_fail(em, ZG_ERR_INVALID, "field \"type\" must be 0 "
		    "(legacy), 1 (EIP-2930) or 2 (EIP-1559); got %s", dec);
	}
	tx->type = (int)small;
	return ZG_OK;
}

/* Rejects chain id 0, which EIP-155 does not protect against replay, and
 * chain ids whose type 0 v = chainId * 2 + 36 would exceed 2^256-1. */
static zg_err
check_chain_id(const zg_tx *tx, zg_errmsg *em)
{
	zg_u256 v, c36;
	if (zg_u256_is_zero(&tx->chain_id))
		return zg_fail(em, ZG_ERR_INVALID, "field \"chainId\" must be at "
		    "least 1; chain id 0 has no replay protection");
	zg_u256_from_u64(&c36, 36);
	if (zg_u256_mul_u64(&v, &tx->chain_id, 2) || zg_u256_add(&v, &v, &c36))
		return zg_fail(em, ZG_ERR_INVALID, "field \"chainId\" is too "
		    "large: chainId * 2 + 36 must fit in 256 bits");
	return ZG_OK;
}

static zg_err
parse_fees(const json_t *req, zg_tx *tx, zg_errmsg *em)
{
	zg_err err;
	if (tx->type == 2) {
		if ((err = reject_field(req, "gasPrice", 2, em)) != ZG_OK)
			return err;
		if ((err = get_u256(req, "maxFeePerGas", true,
		    &tx->max_fee_per_gas, em)) != ZG_OK)
			return err;
		if ((err = get_u256(req, "maxPriorityFeePerGas", true,
		    &tx->max_priority_fee_per_gas, em)) != ZG_OK)
			return err;
		if (zg_u256_cmp(&tx->max_priority_fee_per_gas,
		    &tx->max_fee_per_gas) > 0)
			return zg_fail(em, ZG_ERR_INVALID, "field "
			    "\"maxPriorityFeePerGas\" must not exceed "
			    "\"maxFeePerGas\"");
		return ZG_OK;
	}
	if ((err = reject_field(req, "maxFeePerGas", tx->type, em)) != ZG_OK ||
	    (err = reject_field(req, "maxPriorityFeePerGas", tx->type,
	    em)) != ZG_OK)
		return err;
	return get_u256(req, "gasPrice", true, &tx->gas_price, em);
}

static zg_err
parse_to_and_data(const json_t *req, zg_tx *tx, zg_errmsg *em)
{
	zg_err err;
	const char *s = NULL;
	if (field_present(req, "to")) {
		if ((err = get_string(json_object_get(req, "to"), "to", &s,
		    em)) != ZG_OK)
			return err;
		if ((err = zg_chain_address_parse(s, "to", tx->to, em)) != ZG_OK)
			return err;
		tx->has_to = true;
	}
	if (field_present(req, "data")) {
		if ((err = get_string(json_object_get(req, "data"), "data", &s,
		    em)) != ZG_OK)
			return err;
		if ((err = zg_chain_hex_decode(s, "data", &tx->data,
		    &tx->data_len, em)) != ZG_OK)
			return err;
	}
	return ZG_OK;
}

zg_err
zg_tx_parse(const json_t *req, zg_tx *tx, zg_errmsg *em)
{
	zg_err err;
	memset(tx, 0, sizeof(*tx));

	if (!json_is_object(req)) {
		err = zg_fail(em, ZG_ERR_INVALID, "transaction must be a JSON "
		    "object");
		goto out;
	}
	if ((err = zg_json_only_keys(req, tx_fields, em)) != ZG_OK)
		goto out;
	if ((err = parse_type(req, tx, em)) != ZG_OK)
		goto out;
	if ((err = get_u256(req, "chainId", true, &tx->chain_id, em)) != ZG_OK)
		goto out;
	if ((err = check_chain_id(tx, em)) != ZG_OK)
		goto out;
	if ((err = get_u256(req, "nonce", true, &tx->nonce, em)) != ZG_OK)
		goto out;
	if ((err = get_u256(req, "gas", true, &tx->gas, em)) != ZG_OK)
		goto out;
	if ((err = get_u256(req, "value", false, &tx->value, em)) != ZG_OK)
		goto out;
	if ((err = parse_fees(req, tx, em)) != ZG_OK)
		goto out;
	if ((err = parse_to_and_data(req, tx, em)) != ZG_OK)
		goto out;
	if (tx->type == 0 &&
	    (err = reject_field(req, "accessList", 0, em)) != ZG_OK)
		goto out;
	if ((err = parse_access_list(req, tx, em)) != ZG_OK)
		goto out;

	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_tx_free(tx);
	return err;
}

static zg_err
put_access_list(zg_buf *b, const zg_tx *tx)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf list = ZG_BUF_INIT, entry = ZG_BUF_INIT, keys = ZG_BUF_INIT;

	for (size_t i = 0; i < tx->access_len; i++) {
		const zg_access_entry *e = &tx->access_list[i];
		entry.len = 0;
		keys.len = 0;
		for (size_t k = 0; k < e->nkeys; k++) {
			if ((err = zg_rlp_put_bytes(&keys, e->storage_keys[k],
			    32)) != ZG_OK)
				goto out;
		}
		if ((err = zg_rlp_put_bytes(&entry, e->address, 20)) != ZG_OK ||
		    (err = zg_rlp_put_list(&entry, &keys)) != ZG_OK ||
		    (err = zg_rlp_put_list(&list, &entry)) != ZG_OK)
			goto out;
	}
	err = zg_rlp_put_list(b, &list);
out:
	zg_buf_free(&list);
	zg_buf_free(&entry);
	zg_buf_free(&keys);
	return err;
}

/* Appends the fields shared by the signing and the signed form, in the
 * order of the transaction's type. */
static zg_err
put_fields(zg_buf *b, const zg_tx *tx)
{
	zg_err err;
	if (tx->type != 0 &&
	    (err = zg_rlp_put_u256(b, &tx->chain_id)) != ZG_OK)
		return err;
	if ((err = zg_rlp_put_u256(b, &tx->nonce)) != ZG_OK)
		return err;
	if (tx->type == 2) {
		if ((err = zg_rlp_put_u256(b, &tx->max_priority_fee_per_gas)) !=
		    ZG_OK ||
		    (err = zg_rlp_put_u256(b, &tx->max_fee_per_gas)) != ZG_OK)
			return err;
	} else if ((err = zg_rlp_put_u256(b, &tx->gas_price)) != ZG_OK) {
		return err;
	}
	if ((err = zg_rlp_put_u256(b, &tx->gas)) != ZG_OK)
		return err;
	if ((err = zg_rlp_put_bytes(b, tx->to, tx->has_to ? 20 : 0)) != ZG_OK)
		return err;
	if ((err = zg_rlp_put_u256(b, &tx->value)) != ZG_OK)
		return err;
	if ((err = zg_rlp_put_bytes(b, tx->data, tx->data_len)) != ZG_OK)
		return err;
	if (tx->type != 0)
		return put_access_list(b, tx);
	return ZG_OK;
}

/* Appends the type byte, if any, and the list payload wrapped as a list. */
static zg_err
put_envelope(zg_buf *out, const zg_tx *tx, const zg_buf *payload)
{
	zg_err err;
	if (tx->type != 0 &&
	    (err = zg_buf_append_u8(out, (uint8_t)tx->type)) != ZG_OK)
		return err;
	return zg_rlp_put_list(out, payload);
}

zg_err
zg_tx_signing_hash(const zg_tx *tx, uint8_t out[32])
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf payload = ZG_BUF_INIT, msg = ZG_BUF_INIT;

	if ((err = put_fields(&payload, tx)) != ZG_OK)
		goto out;
	if (tx->type == 0) {
		/* EIP-155: chainId, 0, 0 in place of v, r, s. */
		if ((err = zg_rlp_put_u256(&payload, &tx->chain_id)) != ZG_OK ||
		    (err = zg_rlp_put_u64(&payload, 0)) != ZG_OK ||
		    (err = zg_rlp_put_u64(&payload, 0)) != ZG_OK)
			goto out;
	}
	if ((err = put_envelope(&msg, tx, &payload)) != ZG_OK)
		goto out;
	zg_keccak256(msg.data, msg.len, out);

	/* success */
	err = ZG_OK;
out:
	zg_buf_free(&payload);
	zg_buf_free(&msg);
	return err;
}

zg_err
zg_tx_encode_signed(const zg_tx *tx, const uint8_t sig[64], int recid,
    zg_buf *raw, uint8_t hash[32])
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf payload = ZG_BUF_INIT, out = ZG_BUF_INIT;
	zg_u256 v, r, s;

	/* Recovery ids 2 and 3 need r >= the group order, which a signer
	 * meets with negligible probability; Ethereum cannot express them. */
	if (recid != 0 && recid != 1)
		return ZG_ERR_INVALID;
	if (tx->type == 0) {
		zg_u256 add;
		zg_u256_from_u64(&add, 35 + (uint64_t)recid);
		if (zg_u256_mul_u64(&v, &tx->chain_id, 2) ||
		    zg_u256_add(&v, &v, &add))
			return ZG_ERR_INVALID;
	} else {
		zg_u256_from_u64(&v, (uint64_t)recid);
	}
	zg_u256_from_be(&r, sig, 32);
	zg_u256_from_be(&s, sig + 32, 32);

	if ((err = put_fields(&payload, tx)) != ZG_OK)
		goto out;
	if ((err = zg_rlp_put_u256(&payload, &v)) != ZG_OK ||
	    (err = zg_rlp_put_u256(&payload, &r)) != ZG_OK ||
	    (err = zg_rlp_put_u256(&payload, &s)) != ZG_OK)
		goto out;
	if ((err = put_envelope(&out, tx, &payload)) != ZG_OK)
		goto out;
	/* Built apart and appended at the end, so that raw never contains
	 * half a transaction. */
	if ((err = zg_buf_append(raw, out.data, out.len)) != ZG_OK)
		goto out;
	zg_keccak256(out.data, out.len, hash);

	/* success */
	err = ZG_OK;
out:
	zg_buf_free(&payload);
	zg_buf_free(&out);
	return err;
}

const zg_u256 *
zg_tx_fee_cap(const zg_tx *tx)
{
	return tx->type == 2 ? &tx->max_fee_per_gas : &tx->gas_price;
}

void
zg_tx_free(zg_tx *tx)
{
	if (tx == NULL)
		return;
	for (size_t i = 0; i < tx->access_len; i++)
		free(tx->access_list[i].storage_keys);
	free(tx->access_list);
	free(tx->data);
	memset(tx, 0, sizeof(*tx));
}

/* True if s[0..len) is well-formed UTF-8 (RFC 3629): no overlong forms,
 * no surrogates, nothing above U+10FFFF. */
static bool
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

zg_err
zg_eth_message_parse(const json_t *req, uint8_t **msg, size_t *len,
    zg_errmsg *em)
{
	static const char *const fields[] = {"message", "encoding", NULL};
	zg_err err;
	const char *text, *encoding = NULL;
	size_t text_len;

	*msg = NULL;
	*len = 0;
	if ((err = zg_json_only_keys(req, fields, em)) != ZG_OK)
		return err;
	if ((err = zg_json_get_string(req, "message", ZG_JSON_REQUIRED, 0,
	    SIZE_MAX, &text, &text_len, em)) != ZG_OK)
		return err;
	if ((err = zg_json_get_string(req, "encoding", ZG_JSON_OPTIONAL, 1, 16,
	    &encoding, NULL, em)) != ZG_OK)
		return err;

	if (encoding != NULL && strcmp(encoding, "hex") == 0) {
		if (strlen(text) != text_len)
			return zg_fail(em, ZG_ERR_INVALID, "field \"message\" "
			    "must not contain a NUL character");
		return zg_chain_hex_decode(text, "message", msg, len, em);
	}
	if (encoding != NULL && strcmp(encoding, "utf8") != 0) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(encoding, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"encoding\" must be "
		    "\"utf8\" or \"hex\"; got \"%s\"", q);
	}
	if (!utf8_valid((const uint8_t *)text, text_len))
		return zg_fail(em, ZG_ERR_INVALID, "field \"message\" is not "
		    "valid UTF-8; send bytes as \"0x\" hex with \"encoding\": "
		    "\"hex\"");
	if (text_len == 0)
		return ZG_OK;
	*msg = malloc(text_len);
	if (*msg == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	memcpy(*msg, text, text_len);
	*len = text_len;
	return ZG_OK;
}
