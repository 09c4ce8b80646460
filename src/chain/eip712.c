/*
 * EIP-712 typed structured data hashing.
 *
 *   digest         = keccak256(0x19 0x01 || domainSeparator || hashStruct(message))
 *   domainSeparator = hashStruct(EIP712Domain, domain)
 *   hashStruct(s)  = keccak256(typeHash || encodeData(s))
 *   typeHash       = keccak256(encodeType), where encodeType is
 *                    "Name(type1 name1,type2 name2)" for the struct followed
 *                    by every struct it references, directly or not, sorted
 *                    by name
 *
 * encodeData is one 32-byte word per field: atomic values padded to 32
 * bytes (integers sign-extended, bytesN padded on the right), string and
 * bytes as their Keccak-256, structs as their hashStruct, and arrays as
 * the Keccak-256 of their elements' words concatenated.
 *
 * Types are checked in full before any value is read. Every referenced
 * struct must be declared, and no struct may reach itself, because a
 * value of such a type is finite only when an array on the cycle is empty.
 */
#include "chain/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "chain/eip712_internal.h"
#include "crypto/keccak.h"

#define PATH_MAX_LEN 200

static zg_err hash_struct(ctx *c, stype *st, const json_t *v,
    const char *path, uint8_t out[32]);

static zg_err
value_error(ctx *c, const char *path, const char *type, const char *what)
{
	return zg_fail(c->em, ZG_ERR_INVALID, "typed data: \"%s\" (%s) %s",
	    path, type, what);
}


/* Like value_error, and names the value v that was sent. */
static zg_err
value_error_got(ctx *c, const char *path, const char *type, const char *what,
    const json_t *v)
{
	char shown[ZG_QUOTE_MAX + 2];
	zg_json_value_text(v, shown, sizeof(shown));
	return zg_fail(c->em, ZG_ERR_INVALID, "typed data: \"%s\" (%s) %s; "
	    "got %s", path, type, what, shown);
}

/*
 * Encodes an intN or uintN value: a JSON integer below 2^53 in magnitude,
 * or a decimal or "0x" hex string, with a leading "-" for intN only.
 * Negative values are written in two's complement over 256 bits.
 */
static zg_err
encode_int(ctx *c, const json_t *v, size_t bits, bool is_signed,
    const char *path, const char *type, uint8_t out[32])
{
	zg_err err;
	zg_u256 mag, limit;
	bool negative = false;
	char shown[ZG_QUOTE_MAX + 2];

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i > ZG_JSON_SAFE_INT_MAX || i < -ZG_JSON_SAFE_INT_MAX) {
			char what[100];
			snprintf(what, sizeof(what), "is %lld, a JSON number "
			    "beyond 2^53-1; send it as a decimal string",
			    (long long)i);
			return value_error(c, path, type, what);
		}
		negative = i < 0;
		zg_u256_from_u64(&mag, negative ? (uint64_t)-i : (uint64_t)i);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return value_error(c, path, type, "contains a NUL "
			    "character");
		if (is_signed && s[0] == '-') {
			negative = true;
			s++;
		}
		if ((err = zg_u256_parse(s, path, &mag, c->em)) != ZG_OK)
			return err;
	} else {
		return value_error_got(c, path, type, "must be an integer as a "
		    "JSON number or a decimal or \"0x\" hex string", v);
	}
	if (negative && zg_u256_is_zero(&mag))
		negative = false;
	if (negative && !is_signed)
		return value_error_got(c, path, type, "must not be negative", v);

	/* limit = 2^bits for uintN, 2^(bits-1) for intN; 2^256 is held as
	 * zero and means no limit. */
	size_t top = is_signed ? bits - 1 : bits;
	zg_u256_from_u64(&limit, 0);
	if (top < 256)
		limit.w[top / 64] = (uint64_t)1 << (top % 64);
	bool fits = top == 256 || (negative ? zg_u256_cmp(&mag, &limit) <= 0 :
	    zg_u256_cmp(&mag, &limit) < 0);
	if (!fits) {
		char what[ZG_QUOTE_MAX + 80];
		zg_json_value_text(v, shown, sizeof(shown));
		if (is_signed)
			snprintf(what, sizeof(what), "is out of range for its "
			    "type: got %s, expected -2^%zu to 2^%zu-1", shown,
			    top, top);
		else
			snprintf(what, sizeof(what), "is out of range for its "
			    "type: got %s, expected 0 to 2^%zu-1", shown, top);
		return value_error(c, path, type, what);
	}
	if (negative) {
		zg_u256 zero;
		zg_u256_from_u64(&zero, 0);
		zg_u256_sub(&mag, &zero, &mag);
	}
	zg_u256_to_be(&mag, out);
	return ZG_OK;
}

/* Encodes an atomic value of kind k into one 32-byte word. */
static zg_err
encode_atomic(ctx *c, enum atomic k, size_t size, const json_t *v,
    const char *path, const char *type, uint8_t out[32])
{
	zg_err err;
	uint8_t *bytes = NULL;
	size_t len = 0;
	memset(out, 0, 32);

	if (k == T_UINT || k == T_INT)
		return encode_int(c, v, size, k == T_INT, path, type, out);
	if (k == T_BOOL) {
		if (!json_is_boolean(v))
			return value_error_got(c, path, type, "must be true or "
			    "false", v);
		out[31] = json_is_true(v) ? 1 : 0;
		return ZG_OK;
	}
	if (!json_is_string(v))
		return value_error_got(c, path, type, "must be a string", v);
	const char *s = json_string_value(v);
	if (k == T_STRING) {
		zg_keccak256((const uint8_t *)s, json_string_length(v), out);
		return ZG_OK;
	}
	if (strlen(s) != json_string_length(v))
		return value_error(c, path, type, "contains a NUL character");
	if (k == T_ADDRESS)
		return zg_chain_address_parse(s, path, out + 12, c->em);
	if (k == T_BYTES_N)
		return zg_chain_hex_decode_fixed(s, path, out, size, c->em);
	if ((err = zg_chain_hex_decode(s, path, &bytes, &len, c->em)) != ZG_OK)
		return err;
	zg_keccak256(bytes, len, out);
	free(bytes);
	return ZG_OK;
}

/* Encodes a value of type t (atomic, struct or array) into one word. */
static zg_err
encode_value(ctx *c, const char *t, size_t tlen, const json_t *v,
    const char *path, uint8_t out[32])
{
	zg_err err = ZG_OK;
	char type[PATH_MAX_LEN], elem_path[PATH_MAX_LEN + 24];
	size_t size = 0;

	snprintf(type, sizeof(type), "%.*s", (int)tlen, t);
	if (tlen > 0 && t[tlen - 1] == ']') {
		/* An array: the innermost suffix is the last one. */
		size_t open = tlen - 1;
		while (t[open] != '[')
			open--;
		bool fixed = open + 2 < tlen;
		if (fixed)
			zg_eip712_parse_size(t + open + 1, tlen - open - 2, 1,
			    SIZE_MAX, &size);
		if (!json_is_array(v))
			return value_error_got(c, path, type, "must be an array",
			    v);
		if (fixed && json_array_size(v) != size) {
			char what[80];
			snprintf(what, sizeof(what), "must have %zu elements; "
			    "got %zu", size, json_array_size(v));
			return value_error(c, path, type, what);
		}
		zg_keccak k;
		zg_keccak_init(&k);
		for (size_t i = 0; i < json_array_size(v); i++) {
			uint8_t word[32];
			snprintf(elem_path, sizeof(elem_path), "%s[%zu]", path, i);
			if ((err = encode_value(c, t, open, json_array_get(v, i),
			    elem_path, word)) != ZG_OK)
				break;
			zg_keccak_update(&k, word, 32);
		}
		zg_keccak_final(&k, out);
		return err;
	}

	enum atomic kind = zg_eip712_atomic_kind(t, tlen, &size);
	if (kind != NOT_ATOMIC)
		return encode_atomic(c, kind, size, v, path, type, out);
	stype *st = zg_eip712_find_type(c, t, tlen);
	if (st == NULL)
		return zg_fail(c->em, ZG_ERR_INTERNAL, "typed data: type \"%s\" "
		    "vanished after the type check", type);
	return hash_struct(c, st, v, path, out);
}

static zg_err
hash_struct(ctx *c, stype *st, const json_t *v, const char *path,
    uint8_t out[32])
{
	zg_err err;
	const char *key;
	json_t *value;
	char field_path[PATH_MAX_LEN];

	if (!json_is_object(v))
		return value_error_got(c, path, st->name, "must be an object",
		    v);
	json_object_foreach((json_t *)v, key, value) {
		bool known = false;
		for (size_t i = 0; i < st->nfields && !known; i++)
			known = strcmp(st->fields[i].name, key) == 0;
		if (!known) {
			char q[ZG_QUOTE_MAX];
			zg_quote_value(key, q, sizeof(q));
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: "
			    "\"%s\" (%s) has field \"%s\", which its type does "
			    "not declare", path, st->name, q);
		}
	}
	if ((err = zg_eip712_type_hash(c, st)) != ZG_OK)
		return err;

	zg_keccak k;
	zg_keccak_init(&k);
	zg_keccak_update(&k, st->type_hash, 32);
	for (size_t i = 0; i < st->nfields; i++) {
		const field *f = &st->fields[i];
		uint8_t word[32];
		snprintf(field_path, sizeof(field_path), "%s.%s", path, f->name);
		json_t *fv = json_object_get(v, f->name);
		if (fv == NULL) {
			zg_keccak_final(&k, out);
			return zg_fail(c->em, ZG_ERR_INVALID, "typed data: "
			    "missing field \"%s\" (%s)", field_path, f->type);
		}
		if ((err = encode_value(c, f->type, strlen(f->type), fv,
		    field_path, word)) != ZG_OK) {
			zg_keccak_final(&k, out);
			return err;
		}
		zg_keccak_update(&k, word, 32);
	}
	zg_keccak_final(&k, out);
	return ZG_OK;
}

zg_err
zg_eip712_hashes(const json_t *typed_data, uint8_t domain_sep[32],
    uint8_t message_hash[32], zg_errmsg *em)
{
	static const char *const top_fields[] = {"types", "primaryType",
	    "domain", "message", NULL};
	zg_err err = ZG_ERR_INTERNAL;
	field derived[5];
	size_t ndeclared = 0;
	ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	c->em = em;
	if (!json_is_object(typed_data)) {
		err = zg_fail(em, ZG_ERR_INVALID, "typed data must be an object "
		    "{\"types\", \"primaryType\", \"domain\", \"message\"}");
		goto out;
	}
	if ((err = zg_json_only_keys(typed_data, top_fields, em)) != ZG_OK)
		goto out;
	for (const char *const *f = top_fields; *f != NULL; f++) {
		if (json_object_get(typed_data, *f) == NULL) {
			err = zg_fail(em, ZG_ERR_INVALID, "typed data: missing "
			    "field \"%s\"", *f);
			goto out;
		}
	}
	err = zg_eip712_load_types(c, json_object_get(typed_data, "types"));
	ndeclared = c->ntypes;
	if (err != ZG_OK)
		goto out;

	const json_t *domain = json_object_get(typed_data, "domain");
	if (!json_is_object(domain)) {
		err = zg_fail(em, ZG_ERR_INVALID, "typed data: \"domain\" must "
		    "be an object");
		goto out;
	}
	stype *dt = zg_eip712_find_type(c, "EIP712Domain", 12);
	if (dt == NULL) {
		if ((err = zg_eip712_derive_domain_type(c, domain,
		    derived)) != ZG_OK)
			goto out;
		dt = &c->types[c->ntypes - 1];
	}

	const json_t *primary = json_object_get(typed_data, "primaryType");
	if (!json_is_string(primary)) {
		err = zg_fail(em, ZG_ERR_INVALID, "typed data: \"primaryType\" "
		    "must be a string");
		goto out;
	}
	const char *pname = json_string_value(primary);
	stype *pt = zg_eip712_find_type(c, pname, strlen(pname));
	if (pt == NULL || pt == dt) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(pname, q, sizeof(q));
		err = zg_fail(em, ZG_ERR_INVALID, "typed data: \"primaryType\" "
		    "\"%s\" must name a struct declared in \"types\" other "
		    "than EIP712Domain", q);
		goto out;
	}

	if ((err = hash_struct(c, dt, domain, "domain", domain_sep)) != ZG_OK)
		goto out;
	if ((err = hash_struct(c, pt, json_object_get(typed_data, "message"),
	    "message", message_hash)) != ZG_OK)
		goto out;

	/* success */
	err = ZG_OK;
out:
	for (size_t i = 0; i < ndeclared; i++)
		free(c->types[i].fields);
	free(c);
	return err;
}

zg_err
zg_eip712_digest(const json_t *typed_data, uint8_t out[32], zg_errmsg *em)
{
	zg_err err;
	uint8_t msg[66] = {0x19, 0x01};
	if ((err = zg_eip712_hashes(typed_data, msg + 2, msg + 34, em)) != ZG_OK)
		return err;
	zg_keccak256(msg, sizeof(msg), out);
	return ZG_OK;
}
