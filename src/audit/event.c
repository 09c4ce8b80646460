/*
 * Canonical encoding of an audit event (format 1).
 *
 * The leaf hash of an event is SHA-256(0x00 || canonical bytes), so the
 * bytes must be reproducible by an independent verifier from an export.
 * They are, in this order:
 *
 *   u8       format, 1
 *   str      eventId
 *   i64      timestamp, microseconds since 1970-01-01T00:00:00Z
 *   str      userId ("" for an unauthenticated caller)
 *   str      sessionId
 *   str      eventType
 *   str      resource
 *   str      action
 *   u8       success, 0 or 1
 *   str      requestId
 *   str      tokenId
 *   str      personalKeyId ("" when no personal data is present)
 *   bytes    personal ciphertext (empty when no personal data is present)
 *
 * where str and bytes are a u32 length followed by that many bytes (UTF-8
 * for str), and every integer is big-endian. Nothing else enters the hash.
 *
 * Personal fields. ipAddress, userAgent and metadata are serialized as one
 * compact JSON object with sorted keys, then sealed with AES-256-GCM under
 * the user's audit key, in the blob format of vault/keyring.h, with AAD
 * "zguard/audit-personal" || str eventId || str userId. The ciphertext,
 * not the plaintext, enters the hash, so destroying the user's key makes
 * these fields unreadable while every leaf, proof and signature stays
 * valid. personalKeyId names that key: "audit_user:", the first 32 hex
 * digits of HMAC-SHA-256(index key, userId), ":" and the key generation,
 * which erasure increments so that a user's later events get a new key.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/buf.h"
#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "vault/vault.h"

static const char *const event_types[] = {
	"authentication", "authorization", "data_access", "workflow_execution",
	"credential_access", "configuration_change", "key_usage", "transaction",
	NULL,
};

bool
zg_audit_event_type_valid(const char *type)
{
	for (const char *const *t = event_types; *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

const char *
zg_audit_event_types_list(void)
{
	return "authentication, authorization, data_access, workflow_execution, "
	    "credential_access, configuration_change, key_usage, transaction";
}

zg_err
zg_audit_index_hash(zg_keyring *kr, const char *value, uint8_t out[32])
{
	return zg_keyring_hmac(kr, ZG_AUDIT_INDEX_KEY, (const uint8_t *)value,
	    strlen(value), out);
}

/*
 * Generations seen recently, so that encoding an event does not read the
 * store each time. A slot is chosen by the key's hex digits, which come
 * from an HMAC and so spread evenly; a collision only costs a store read.
 */
#define GEN_CACHE_SLOTS 4096

static struct gen_slot {
	char meta_key[ZG_ID_MAX];
	uint32_t generation;
} gen_cache[GEN_CACHE_SLOTS];
static pthread_mutex_t gen_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t
gen_slot_index(const char *hex)
{
	unsigned long v = strtoul((char[9]){hex[0], hex[1], hex[2], hex[3],
	    hex[4], hex[5], hex[6], hex[7], '\0'}, NULL, 16);
	return (size_t)(v % GEN_CACHE_SLOTS);
}

void
zg_audit_note_generation(const char *meta_key, uint32_t generation)
{
	const char *hex = strrchr(meta_key, ':');
	if (hex == NULL || strlen(hex + 1) < 8)
		return;
	struct gen_slot *slot = &gen_cache[gen_slot_index(hex + 1)];
	pthread_mutex_lock(&gen_cache_mu);
	snprintf(slot->meta_key, sizeof(slot->meta_key), "%s", meta_key);
	slot->generation = generation;
	pthread_mutex_unlock(&gen_cache_mu);
}

zg_err
zg_audit_user_key_id(zg_keyring *kr, zg_store *st, const char *user_id,
    char out[ZG_ID_MAX], char meta_key[ZG_ID_MAX], uint32_t *generation)
{
	uint8_t h[32];
	char hex[33];
	uint8_t *gen_blob = NULL;
	size_t gen_len = 0;
	uint32_t gen = 1;
	bool cached = false;
	zg_err err = zg_audit_index_hash(kr, user_id, h);
	if (err != ZG_OK)
		return err;
	zg_hex_encode(h, 16, hex);
	snprintf(meta_key, ZG_ID_MAX, "audit_user_generation:%s", hex);

	struct gen_slot *slot = &gen_cache[gen_slot_index(hex)];
	pthread_mutex_lock(&gen_cache_mu);
	if (strcmp(slot->meta_key, meta_key) == 0) {
		gen = slot->generation;
		cached = true;
	}
	pthread_mutex_unlock(&gen_cache_mu);

	if (!cached) {
		err = st->ops->meta_get(st, meta_key, &gen_blob, &gen_len);
		if (err == ZG_OK && gen_len == 4)
			gen = (uint32_t)gen_blob[0] << 24 |
			    (uint32_t)gen_blob[1] << 16 |
			    (uint32_t)gen_blob[2] << 8 | gen_blob[3];
		free(gen_blob);
		if (err != ZG_OK && err != ZG_ERR_NOT_FOUND)
			return err;
		zg_audit_note_generation(meta_key, gen);
	}
	snprintf(out, ZG_ID_MAX, "%s%s:%u", ZG_AUDIT_USER_KEY_PREFIX, hex, gen);
	if (generation != NULL)
		*generation = gen;
	return ZG_OK;
}

static zg_err
personal_aad(const char *event_id, const char *user_id, zg_buf *aad)
{
	zg_err err;
	if ((err = zg_buf_append_str(aad, "zguard/audit-personal")) != ZG_OK ||
	    (err = zg_buf_append_lp(aad, event_id, strlen(event_id))) != ZG_OK)
		return err;
	return zg_buf_append_lp(aad, user_id, strlen(user_id));
}

static bool
has_personal(const zg_audit_event *ev)
{
	return (ev->ip_address && ev->ip_address[0]) ||
	    (ev->user_agent && ev->user_agent[0]) ||
	    (ev->metadata && json_object_size(ev->metadata) > 0);
}

/* Seals the personal fields; appends key id and blob to out. */
static zg_err
encode_personal(zg_keyring *kr, zg_store *st, const zg_audit_event *ev,
    zg_buf *out)
{
	zg_err err = ZG_ERR_INTERNAL;
	char key_id[ZG_ID_MAX], meta_key[ZG_ID_MAX];
	char *text = NULL;
	json_t *obj = NULL;
	zg_buf aad = ZG_BUF_INIT;
	zg_buf blob = ZG_BUF_INIT;
	/* A copy for one event, on the stack and wiped below: the locked heap
	 * serializes allocations, and the key itself stays locked. */
	uint8_t key_buf[ZG_KEY_LEN];
	uint8_t *key = key_buf;
	zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM, 0, 1};
	const char *user = ev->user_id ? ev->user_id : "";

	json_t *meta = ev->metadata ? json_incref((json_t *)ev->metadata) :
	    json_object();
	/* "o" hands meta's reference to obj, on failure too. */
	obj = json_pack("{s:s,s:s,s:o}", "ipAddress",
	    ev->ip_address ? ev->ip_address : "", "userAgent",
	    ev->user_agent ? ev->user_agent : "", "metadata", meta);
	if (obj == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = zg_audit_user_key_id(kr, st, user, key_id, meta_key,
	    NULL)) != ZG_OK ||
	    (err = zg_keyring_system_key(kr, key_id, true, key)) != ZG_OK ||
	    (err = personal_aad(ev->event_id, user, &aad)) != ZG_OK ||
	    (err = zg_seal_blob(key, &h, aad.data, aad.len,
	    (const uint8_t *)text, strlen(text), &blob)) != ZG_OK)
		goto out;
	if ((err = zg_buf_append_lp(out, key_id, strlen(key_id))) != ZG_OK ||
	    (err = zg_buf_append_lp(out, blob.data, blob.len)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	zg_wipe(key_buf, sizeof(key_buf));
	zg_json_free_text(text);
	json_decref(obj);
	zg_buf_free(&aad);
	zg_buf_free(&blob);
	return err;
}

static zg_err
append_str(zg_buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	return zg_buf_append_lp(b, s, strlen(s));
}

zg_err
zg_audit_encode(zg_keyring *kr, zg_store *st, const zg_audit_event *ev,
    zg_buf *out)
{
	zg_err err;
	if ((err = zg_buf_append_u8(out, ZG_AUDIT_FORMAT_V1)) != ZG_OK ||
	    (err = append_str(out, ev->event_id)) != ZG_OK ||
	    (err = zg_buf_append_u64be(out, (uint64_t)ev->timestamp)) != ZG_OK ||
	    (err = append_str(out, ev->user_id)) != ZG_OK ||
	    (err = append_str(out, ev->session_id)) != ZG_OK ||
	    (err = append_str(out, ev->event_type)) != ZG_OK ||
	    (err = append_str(out, ev->resource)) != ZG_OK ||
	    (err = append_str(out, ev->action)) != ZG_OK ||
	    (err = zg_buf_append_u8(out, ev->success ? 1 : 0)) != ZG_OK ||
	    (err = append_str(out, ev->request_id)) != ZG_OK ||
	    (err = append_str(out, ev->token_id)) != ZG_OK)
		return err;
	if (kr != NULL && st != NULL && has_personal(ev) &&
	    !zg_keyring_sealed(kr))
		return encode_personal(kr, st, ev, out);
	/* No personal data, or no key to protect it with: leave it out. */
	if ((err = append_str(out, "")) != ZG_OK)
		return err;
	return zg_buf_append_lp(out, "", 0);
}

/* A cursor over canonical bytes. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static bool
read_u8(struct reader *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool
read_u64(struct reader *r, uint64_t *v)
{
	if (r->left < 8)
		return false;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | r->p[i];
	r->p += 8;
	r->left -= 8;
	return true;
}

static bool
read_lp(struct reader *r, const uint8_t **data, size_t *len)
{
	if (r->left < 4)
		return false;
	uint32_t n = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	if (r->left - 4 < n)
		return false;
	*data = r->p + 4;
	*len = n;
	r->p += 4 + n;
	r->left -= 4 + n;
	return true;
}

/*
 * Largest decoded eventId, userId and personalKeyId, including the NUL of
 * the copies zg_audit_decode makes, so zg_audit_validate enforces the same.
 */
#define EVENT_ID_COPY_MAX ZG_ID_MAX
#define USER_ID_COPY_MAX (ZG_USER_MAX + 64)
#define KEY_ID_COPY_MAX ZG_ID_MAX

/*
 * Checks that s[0, n) is well-formed UTF-8: no overlong form, no
 * surrogate, nothing above U+10FFFF, and NUL allowed. zg_audit_decode
 * relies on jansson's json_stringn for this check, and
 * test_audit_validate.c checks that both accept the same strings.
 */
static bool
utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t word;
		/* Most fields are ASCII: skip 8 bytes without a high bit. */
		if (n - i >= 8) {
			memcpy(&word, s + i, 8);
			if ((word & UINT64_C(0x8080808080808080)) == 0) {
				i += 8;
				continue;
			}
		}
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp, min;
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

/*
 * Checks a str field. copysz 0 accepts any length; otherwise the field
 * must fit a copy of copysz bytes with its NUL and contain no NUL.
 */
static bool
check_str(struct reader *r, size_t copysz)
{
	const uint8_t *d;
	size_t n;

	if (!read_lp(r, &d, &n) || !utf8_valid(d, n))
		return false;
	return copysz == 0 || (n < copysz && memchr(d, 0, n) == NULL);
}

zg_err
zg_audit_validate(const uint8_t *bytes, size_t len)
{
	struct reader r = {bytes, len};
	uint8_t format, success;
	uint64_t ts;
	const uint8_t *blob;
	size_t blob_len;

	if (!read_u8(&r, &format) || format != ZG_AUDIT_FORMAT_V1 ||
	    !check_str(&r, EVENT_ID_COPY_MAX) || !read_u64(&r, &ts) ||
	    !check_str(&r, USER_ID_COPY_MAX) ||
	    !check_str(&r, 0) || /* sessionId */
	    !check_str(&r, 0) || /* eventType */
	    !check_str(&r, 0) || /* resource */
	    !check_str(&r, 0) || /* action */
	    !read_u8(&r, &success) || success > 1 ||
	    !check_str(&r, 0) || /* requestId */
	    !check_str(&r, 0) || /* tokenId */
	    !check_str(&r, KEY_ID_COPY_MAX) ||
	    !read_lp(&r, &blob, &blob_len) || r.left != 0)
		return ZG_ERR_INTEGRITY;
	return ZG_OK;
}

/* Reads a str field into a JSON string; false if malformed or not UTF-8. */
static bool
read_str(struct reader *r, json_t *obj, const char *key, char *copy,
    size_t copysz)
{
	const uint8_t *d;
	size_t n;
	if (!read_lp(r, &d, &n))
		return false;
	json_t *s = json_stringn((const char *)d, n);
	if (s == NULL)
		return false;
	if (copy != NULL) {
		if (n >= copysz || memchr(d, 0, n) != NULL) {
			json_decref(s);
			return false;
		}
		memcpy(copy, d, n);
		copy[n] = '\0';
	}
	if (key != NULL)
		json_object_set_new(obj, key, s);
	else
		json_decref(s);
	return true;
}

/* Decrypts the personal blob into obj's members; sets personalData. */
static void
decode_personal(zg_keyring *kr, json_t *obj, const char *key_id,
    const uint8_t *blob, size_t len, const char *event_id, const char *user)
{
	const char *state = "erased";
	uint8_t *key = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	zg_buf aad = ZG_BUF_INIT;

	if (kr == NULL || zg_keyring_sealed(kr)) {
		state = "sealed";
		goto out;
	}
	if ((key = zg_secure_alloc(ZG_KEY_LEN)) == NULL ||
	    len < ZG_CT_OVERHEAD || (pt = malloc(len)) == NULL)
		goto out;
	if (zg_keyring_system_key(kr, key_id, false, key) != ZG_OK)
		goto out;
	if (personal_aad(event_id, user, &aad) != ZG_OK)
		goto out;
	if (zg_open_blob(key, blob, len, aad.data, aad.len, pt, &n) != ZG_OK) {
		state = "corrupt";
		goto out;
	}
	json_t *fields = json_loadb((const char *)pt, n, 0, NULL);
	if (fields == NULL) {
		state = "corrupt";
		goto out;
	}
	json_object_update(obj, fields);
	json_decref(fields);
	state = "available";
out:
	json_object_set_new(obj, "personalData", json_string(state));
	zg_secure_free(key, ZG_KEY_LEN);
	if (pt != NULL) {
		zg_wipe(pt, len);
		free(pt);
	}
	zg_buf_free(&aad);
}

zg_err
zg_audit_decode(zg_keyring *kr, const uint8_t *bytes, size_t len,
    json_t **out)
{
	struct reader r = {bytes, len};
	json_t *obj = json_object();
	uint8_t format, success;
	uint64_t ts;
	char event_id[EVENT_ID_COPY_MAX], user[USER_ID_COPY_MAX];
	char key_id[KEY_ID_COPY_MAX];
	char tsbuf[40];
	const uint8_t *blob;
	size_t blob_len;

	*out = NULL;
	if (obj == NULL)
		return ZG_ERR_NOMEM;
	if (!read_u8(&r, &format) || format != ZG_AUDIT_FORMAT_V1 ||
	    !read_str(&r, obj, "eventId", event_id, sizeof(event_id)) ||
	    !read_u64(&r, &ts))
		goto bad;
	zg_time_format_rfc3339_us((int64_t)ts, tsbuf, sizeof(tsbuf));
	json_object_set_new(obj, "timestamp", json_string(tsbuf));
	if (!read_str(&r, obj, "userId", user, sizeof(user)) ||
	    !read_str(&r, obj, "sessionId", NULL, 0) ||
	    !read_str(&r, obj, "eventType", NULL, 0) ||
	    !read_str(&r, obj, "resource", NULL, 0) ||
	    !read_str(&r, obj, "action", NULL, 0) || !read_u8(&r, &success) ||
	    success > 1)
		goto bad;
	json_object_set_new(obj, "success", json_boolean(success));
	if (!read_str(&r, obj, "requestId", NULL, 0) ||
	    !read_str(&r, obj, "tokenId", NULL, 0) ||
	    !read_str(&r, NULL, NULL, key_id, sizeof(key_id)) ||
	    !read_lp(&r, &blob, &blob_len) || r.left != 0)
		goto bad;
	if (key_id[0] == '\0' && blob_len == 0) {
		json_object_set_new(obj, "ipAddress", json_null());
		json_object_set_new(obj, "userAgent", json_null());
		json_object_set_new(obj, "metadata", json_object());
		json_object_set_new(obj, "personalData", json_string("none"));
	} else {
		json_object_set_new(obj, "ipAddress", json_null());
		json_object_set_new(obj, "userAgent", json_null());
		json_object_set_new(obj, "metadata", json_null());
		decode_personal(kr, obj, key_id, blob, blob_len, event_id, user);
	}
	*out = obj;
	return ZG_OK;
bad:
	json_decref(obj);
	return ZG_ERR_INTEGRITY;
}

void
zg_tree_head_message(uint64_t tree_size, const uint8_t root[32],
    int64_t timestamp, uint8_t out[ZG_TREE_HEAD_MSG_LEN])
{
	static const char prefix[] = "zguard/audit-tree-head/v1";
	_Static_assert(sizeof(prefix) - 1 + 8 + 32 + 8 == ZG_TREE_HEAD_MSG_LEN,
	    "tree head message layout");
	memcpy(out, prefix, 25);
	for (int i = 0; i < 8; i++)
		out[25 + i] = (uint8_t)(tree_size >> (56 - 8 * i));
	memcpy(out + 33, root, 32);
	for (int i = 0; i < 8; i++)
		out[65 + i] = (uint8_t)((uint64_t)timestamp >> (56 - 8 * i));
}

void
zg_audit_key_id(const uint8_t pub[ZG_ED25519_PUB_LEN],
    char out[ZG_AUDIT_KEY_ID_MAX])
{
	uint8_t h[32];
	char hex[17];
	if (zg_sha256(pub, ZG_ED25519_PUB_LEN, h) != ZG_OK)
		memset(h, 0, sizeof(h));
	zg_hex_encode(h, 8, hex);
	snprintf(out, ZG_AUDIT_KEY_ID_MAX, "ed25519:%s", hex);
}
