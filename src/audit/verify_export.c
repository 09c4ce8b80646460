/*
 * The export format of `zguard audit export` and its offline verification.
 *
 * An export is JSON lines, one event per line in index order:
 *
 *   {"leafIndex":N,"leafHash":"<hex>","canonical":"<Base64>","event":{...}}
 *
 * where canonical contains the bytes that are hashed (event.c) and event is
 * the readable form of zg_audit_decode. A tree head file holds one object
 * {"treeSize","rootHash","timestamp","signature","keyId","publicKey"}, the
 * hashes and the key in hex and the timestamp in RFC 3339 with
 * microseconds, which is exactly the integer that the signature covers.
 *
 * Offline verification trusts only the canonical bytes and the signature:
 * leafHash and the readable fields are checked against the bytes, never
 * used in their place. Personal fields are not compared, because they are
 * stored encrypted and an export made without the key lacks them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "audit/verify.h"
#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/timeutil.h"

/* The readable fields that the canonical bytes carry in the clear. */
static const char *const plain_fields[] = {
	"eventId", "timestamp", "userId", "sessionId", "eventType", "resource",
	"action", "success", "requestId", "tokenId", NULL,
};

/* Decodes exactly n bytes of hex in s (len bytes, not NUL-terminated). */
static bool
hex_exact(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t got = 0;
	return len == 2 * n && zg_hex_decode(s, len, out, n, &got) == ZG_OK &&
	    got == n;
}

zg_err
zg_verify_parse_public_key(const char *text, size_t len,
    uint8_t pub[ZG_ED25519_PUB_LEN])
{
	while (len > 0 && strchr(" \t\r\n", text[0]) != NULL) {
		text++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
		len--;
	if (hex_exact(text, len, pub, ZG_ED25519_PUB_LEN))
		return ZG_OK;

	json_t *obj = json_loadb(text, len, 0, NULL);
	const json_t *v = json_is_object(obj) ?
	    json_object_get(obj, "publicKey") : NULL;
	bool ok = json_is_string(v) && hex_exact(json_string_value(v),
	    json_string_length(v), pub, ZG_ED25519_PUB_LEN);
	json_decref(obj);
	return ok ? ZG_OK : ZG_ERR_INVALID;
}

/* Reads member key of obj as exactly n bytes of hex. */
static zg_err
get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n,
    zg_errmsg *em)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || !hex_exact(json_string_value(v),
	    json_string_length(v), out, n))
		return zg_fail(em, ZG_ERR_INVALID, "member \"%s\" must be %zu "
		    "hex digits", key, 2 * n);
	return ZG_OK;
}

zg_err
zg_verify_parse_head(const json_t *obj, zg_tree_head_row *out,
    uint8_t pub[ZG_ED25519_PUB_LEN], bool *have_pub, zg_errmsg *em)
{
	zg_err err;
	int64_t size = 0;
	const char *key_id = NULL, *ts = NULL;

	memset(out, 0, sizeof(*out));
	*have_pub = false;
	if (!json_is_object(obj))
		return zg_fail(em, ZG_ERR_INVALID, "a tree head must be a JSON "
		    "object");
	if ((err = zg_json_get_int(obj, "treeSize", ZG_JSON_REQUIRED, 1,
	    INT64_MAX, &size, NULL, em)) != ZG_OK ||
	    (err = get_hex(obj, "rootHash", out->root, 32, em)) != ZG_OK ||
	    (err = get_hex(obj, "signature", out->signature, 64, em)) != ZG_OK ||
	    (err = zg_json_get_string(obj, "timestamp", ZG_JSON_REQUIRED, 1, 64,
	    &ts, NULL, em)) != ZG_OK ||
	    (err = zg_json_get_string(obj, "keyId", ZG_JSON_OPTIONAL, 0,
	    ZG_ID_MAX - 1, &key_id, NULL, em)) != ZG_OK)
		return err;
	if (zg_time_parse_rfc3339(ts, &out->timestamp) != ZG_OK)
		return zg_fail(em, ZG_ERR_INVALID, "member \"timestamp\" must be "
		    "an RFC 3339 date-time");
	out->tree_size = (uint64_t)size;
	if (key_id != NULL)
		snprintf(out->key_id, sizeof(out->key_id), "%s", key_id);
	if (json_object_get(obj, "publicKey") != NULL) {
		if ((err = get_hex(obj, "publicKey", pub, ZG_ED25519_PUB_LEN,
		    em)) != ZG_OK)
			return err;
		*have_pub = true;
	}
	return ZG_OK;
}

static json_t *
hex_json(const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];
	zg_hex_encode(p, n, hex);
	return json_string(hex);
}

json_t *
zg_verify_head_json(const zg_tree_head_row *head, const uint8_t *pub)
{
	char ts[40];
	zg_time_format_rfc3339_us(head->timestamp, ts, sizeof(ts));
	json_t *obj = json_pack("{s:I,s:o,s:s,s:o,s:s}", "treeSize",
	    (json_int_t)head->tree_size, "rootHash", hex_json(head->root, 32),
	    "timestamp", ts, "signature", hex_json(head->signature, 64),
	    "keyId", head->key_id);
	if (obj != NULL && pub != NULL &&
	    json_object_set_new(obj, "publicKey",
	    hex_json(pub, ZG_ED25519_PUB_LEN)) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
zg_verify_event_json(zg_keyring *kr, const zg_audit_row *row)
{
	uint8_t leaf[32];
	json_t *ev = NULL;
	json_t *obj = NULL;
	char *b64 = malloc(zg_base64_encoded_len(row->canonical_len) + 1);

	if (b64 == NULL || zg_merkle_leaf_hash(row->canonical,
	    row->canonical_len, leaf) != ZG_OK)
		goto out;
	zg_base64_encode(row->canonical, row->canonical_len, b64);
	if (zg_audit_decode(kr, row->canonical, row->canonical_len, &ev) !=
	    ZG_OK)
		ev = json_pack("{s:s}", "error", "undecodable event");
	obj = json_pack("{s:I,s:o,s:s,s:o}", "leafIndex",
	    (json_int_t)row->leaf_index, "leafHash", hex_json(leaf, 32),
	    "canonical", b64, "event", ev);
	ev = NULL; /* json_pack took it, or freed it on failure */
out:
	free(b64);
	return obj;
}

/* State of one offline verification. */
struct export_verifier {
	const zg_tree_head_row *head;
	const uint8_t *pub;
	zg_verify_report *report;
	struct zg_merkle_frontier frontier;
	uint64_t line;
	uint8_t *bytes;          /* decoded canonical bytes of the line */
	size_t bytes_cap;
};

/* Checks the readable event against the decoded canonical bytes. */
static bool
check_fields(struct export_verifier *v, uint64_t i, const json_t *event,
    const uint8_t *bytes, size_t len)
{
	json_t *decoded = NULL;

	if (zg_audit_decode(NULL, bytes, len, &decoded) != ZG_OK) {
		zg_verify_fail(v->report, ZG_VERIFY_EVENT_UNDECODABLE, i,
		    "event %" PRIu64 " (line %" PRIu64 "): its canonical bytes "
		    "do not decode as a format-%d event", i, v->line,
		    ZG_AUDIT_FORMAT_V1);
		return false;
	}
	for (const char *const *f = plain_fields; *f != NULL; f++) {
		const json_t *want = json_object_get(decoded, *f);
		const json_t *got = json_is_object(event) ?
		    json_object_get(event, *f) : NULL;
		if (got == NULL || !json_equal(want, got)) {
			zg_verify_fail(v->report, ZG_VERIFY_EVENT_FIELDS, i,
			    "event %" PRIu64 " (line %" PRIu64 "): readable field "
			    "\"%s\" %s the canonical bytes (modified export)", i,
			    v->line, *f, got == NULL ? "is missing; it is in" :
			    "does not match");
			json_decref(decoded);
			return false;
		}
	}
	json_decref(decoded);
	return true;
}

/* Decodes the Base64 member canonical of obj into v->bytes. */
static bool
decode_canonical(struct export_verifier *v, uint64_t i, const json_t *obj,
    size_t *len)
{
	const json_t *c = json_object_get(obj, "canonical");
	if (!json_is_string(c))
		goto bad;
	size_t text_len = json_string_length(c);
	size_t max = text_len / 4 * 3 + 3;
	if (max > v->bytes_cap) {
		uint8_t *p = realloc(v->bytes, max);
		if (p == NULL)
			goto bad;
		v->bytes = p;
		v->bytes_cap = max;
	}
	if (zg_base64_decode(json_string_value(c), text_len, v->bytes,
	    v->bytes_cap, len) == ZG_OK)
		return true;
bad:
	zg_verify_fail(v->report, ZG_VERIFY_EVENT_MALFORMED, i, "event %" PRIu64
	    " (line %" PRIu64 "): member \"canonical\" is not Base64 text", i,
	    v->line);
	return false;
}

/* An export has no stored nodes to compare the completed subtrees with. */
static zg_err
ignore_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	return ZG_OK;
}

/* Checks one parsed export line, which should hold event i. */
static zg_err
check_line(struct export_verifier *v, const json_t *obj)
{
	zg_verify_report *r = v->report;
	uint64_t i = v->frontier.tree_size;
	const json_t *idx = json_object_get(obj, "leafIndex");
	uint8_t leaf[32], claimed[32];
	size_t len = 0;
	zg_err err;

	if (!json_is_integer(idx) || json_integer_value(idx) < 0) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MALFORMED, i, "event %" PRIu64
		    " (line %" PRIu64 "): member \"leafIndex\" is missing or "
		    "not a non-negative integer", i, v->line);
		return ZG_OK;
	}
	uint64_t got = (uint64_t)json_integer_value(idx);
	if (got > i && i == 0) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MISSING, 0, "event 0 is "
		    "missing: the export starts at leafIndex %" PRIu64 "; "
		    "export the whole log (without --from) to verify it", got);
		return ZG_OK;
	}
	if (got > i) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MISSING, i, "event %" PRIu64
		    " is missing from the export (line %" PRIu64 " has leafIndex "
		    "%" PRIu64 "; deleted event)", i, v->line, got);
		return ZG_OK;
	}
	if (got < i) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_ORDER, i, "event %" PRIu64
		    " (line %" PRIu64 "): leafIndex %" PRIu64 " is out of order "
		    "(reordered or repeated event)", i, v->line, got);
		return ZG_OK;
	}
	if (!decode_canonical(v, i, obj, &len))
		return ZG_OK;
	if ((err = zg_merkle_leaf_hash(v->bytes, len, leaf)) != ZG_OK)
		return err;
	if (json_object_get(obj, "leafHash") != NULL &&
	    (get_hex(obj, "leafHash", claimed, 32, NULL) != ZG_OK ||
	    memcmp(claimed, leaf, 32) != 0)) {
		zg_verify_fail(r, ZG_VERIFY_EVENT_MODIFIED, i, "event %" PRIu64
		    " (line %" PRIu64 "): the canonical bytes do not match "
		    "member \"leafHash\" (modified export)", i, v->line);
		return ZG_OK;
	}
	if (!check_fields(v, i, json_object_get(obj, "event"), v->bytes, len))
		return ZG_OK;
	if ((err = zg_merkle_frontier_append(&v->frontier, leaf, ignore_node,
	    NULL)) != ZG_OK)
		return err;
	r->events++;
	if (v->frontier.tree_size == v->head->tree_size) {
		uint8_t root[32];
		if ((err = zg_merkle_frontier_root(&v->frontier, root)) != ZG_OK)
			return err;
		(void)zg_verify_head(v->head, root, v->pub, r);
	}
	return ZG_OK;
}

zg_err
zg_verify_export(FILE *events, const char *name,
    const zg_tree_head_row *head, const uint8_t pub[ZG_ED25519_PUB_LEN],
    zg_verify_report *report)
{
	zg_err err = ZG_ERR_INTERNAL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	struct export_verifier *v = calloc(1, sizeof(*v));

	memset(report, 0, sizeof(*report));
	if (v == NULL)
		return ZG_ERR_NOMEM;
	v->head = head;
	v->pub = pub;
	v->report = report;
	zg_merkle_frontier_init(&v->frontier);

	while (report->failure == ZG_VERIFY_PASSED &&
	    (got = getline(&line, &cap, events)) != -1) {
		v->line++;
		if (got == 1 && line[0] == '\n')
			continue;
		json_t *obj = json_loadb(line, (size_t)got, 0, NULL);
		if (!json_is_object(obj)) {
			zg_verify_fail(report, ZG_VERIFY_EVENT_MALFORMED,
			    v->frontier.tree_size, "event %" PRIu64 " (line %"
			    PRIu64 " of %s): not a JSON object",
			    v->frontier.tree_size, v->line, name);
			json_decref(obj);
			break;
		}
		err = check_line(v, obj);
		json_decref(obj);
		if (err != ZG_OK)
			goto out;
	}
	if (ferror(events)) {
		err = ZG_ERR_IO;
		goto out;
	}
	report->log_size = v->frontier.tree_size;
	if (report->failure == ZG_VERIFY_PASSED &&
	    v->frontier.tree_size < head->tree_size)
		zg_verify_fail(report, ZG_VERIFY_HEAD_BEYOND, head->tree_size,
		    "tree head at size %" PRIu64 " is beyond the export's %"
		    PRIu64 " events (truncated export)", head->tree_size,
		    v->frontier.tree_size);
	/* success: a verdict was reached */
	err = ZG_OK;
out:
	free(line);
	free(v->bytes);
	free(v);
	return err;
}
