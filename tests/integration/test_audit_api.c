/*
 * The audit log over HTTP: every route records an event, the event fields,
 * POST /v1/audit/events, signed tree heads, inclusion and consistency
 * proofs checked with the library's verifiers, bad input, search, erasure
 * of a user's personal data, and a restart. One daemon, with a tree head
 * interval of 1 s, serves every test of this file, and the metadata limit
 * test starts a second one with a smaller limit.
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/sha.h>

#include "audit/audit.h"
#include "base/codec.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "server/server.h"
#include "zgtest.h"

#define AGENT "zguard-itest/1.0"

static zgt_daemon srv;
static unsigned seed;
static unsigned name_seq;

/* A signed tree head as GET /v1/audit/tree-head returns it. */
struct head {
	uint64_t size;
	uint8_t root[32];
	uint8_t sig[64];
	int64_t timestamp;
	char key_id[64];
};

static int
group_setup(void **state)
{
	seed = zgt_seed("test_audit_api");
	srand(seed);
	return zgt_daemon_start(&srv, "[audit]\ntree_head_interval_seconds = 1\n");
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
	if (zgt_log_has_sanitizer_report(&srv)) {
		fprintf(stderr, "the daemon log has a sanitizer report: %s\n",
		    srv.log_path);
		rc = -1;
	} else {
		zgt_daemon_cleanup(&srv);
	}
	zgt_http_thread_done();
	return rc;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Sends a request that must get a response. A status of 0 accepts any. */
static void
http(const char *method, const char *path, const char *token,
    const char *body, long status, zgt_resp *r)
{
	assert_int_equal(zgt_http(&srv, method, path, token, body, r), 0);
	if (status != 0 && r->status != status)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, r->status,
		    r->body ? r->body : "");
	if (status != 0)
		assert_int_equal(r->status, status);
}

/* Expects 400 invalid_argument whose message names the parameter. */
static void
check_400(const char *method, const char *path, const char *token,
    const char *body, const char *param)
{
	zgt_resp r;
	http(method, path, token, body, 400, &r);
	assert_string_equal(zgt_error_code(&r), "invalid_argument");
	const char *msg = json_string_value(json_object_get(json_object_get(
	    r.json, "error"), "message"));
	assert_non_null(msg);
	if (strstr(msg, param) == NULL)
		fprintf(stderr, "%s %s: message \"%s\" does not name \"%s\"\n",
		    method, path, msg, param);
	assert_non_null(strstr(msg, param));
	zgt_resp_free(&r);
}

static void
hex_to(const char *hex, uint8_t *out, size_t n)
{
	size_t got = 0;
	assert_non_null(hex);
	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(zg_hex_decode(hex, strlen(hex), out, n, &got), ZG_OK);
	assert_int_equal(got, n);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static uint64_t
juint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	assert_true(json_integer_value(v) >= 0);
	return (uint64_t)json_integer_value(v);
}

/* Fetches the latest head, which the server signs first if events arrived. */
static void
get_head(struct head *h)
{
	zgt_resp r;
	http("GET", "/v1/audit/tree-head", srv.token, NULL, 200, &r);
	h->size = juint(r.json, "treeSize");
	hex_to(zgt_str(&r, "rootHash"), h->root, 32);
	hex_to(zgt_str(&r, "signature"), h->sig, 64);
	assert_int_equal(zg_time_parse_rfc3339(zgt_str(&r, "timestamp"),
	    &h->timestamp), ZG_OK);
	snprintf(h->key_id, sizeof(h->key_id), "%s", zgt_str(&r, "keyId"));
	zgt_resp_free(&r);
}

/*
 * Returns the number of events in the log. The call itself then records one
 * more event, at that leaf index.
 */
static uint64_t
log_size(void)
{
	struct head h;
	get_head(&h);
	return h.size;
}

static zg_err
verify_head(const struct head *h)
{
	uint8_t pub[ZG_ED25519_PUB_LEN], msg[ZG_TREE_HEAD_MSG_LEN];
	zgt_resp r;
	http("GET", "/v1/audit/public-key", NULL, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "algorithm"), "Ed25519");
	assert_string_equal(zgt_str(&r, "keyId"), h->key_id);
	hex_to(zgt_str(&r, "publicKey"), pub, sizeof(pub));
	zgt_resp_free(&r);
	zg_tree_head_message(h->size, h->root, h->timestamp, msg);
	return zg_ed25519_verify(pub, msg, sizeof(msg), h->sig);
}

/*
 * Returns every item of GET /v1/audit/events from leaf index from on,
 * following "next"; query is extra parameters such as "&userId=alice".
 */
static json_t *
events_from(uint64_t from, const char *query, const char *token)
{
	json_t *all = json_array();
	for (;;) {
		char path[512];
		zgt_resp r;
		snprintf(path, sizeof(path), "/v1/audit/events?from=%llu&limit=1000%s",
		    (unsigned long long)from, query ? query : "");
		http("GET", path, token, NULL, 200, &r);
		json_array_extend(all, json_object_get(r.json, "events"));
		json_t *next = json_object_get(r.json, "next");
		bool more = json_is_integer(next);
		if (more)
			from = (uint64_t)json_integer_value(next);
		zgt_resp_free(&r);
		if (!more)
			break;
	}
	return all;
}

/* Returns the item (borrowed) whose event has requestId rid, or NULL. */
static json_t *
find_request(json_t *items, const char *rid)
{
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item) {
		if (strcmp(jstr(json_object_get(item, "event"), "requestId"),
		    rid) == 0)
			return item;
	}
	return NULL;
}

static void
unique_name(const char *prefix, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s-%u-%u", prefix, seed, ++name_seq);
}

static void
create_cred(const char *token, const char *value, char *id, size_t idsz)
{
	char name[64], body[512];
	zgt_resp r;
	unique_name("audit", name, sizeof(name));
	snprintf(body, sizeof(body), "{\"type\":\"api_token\",\"name\":\"%s\","
	    "\"value\":\"%s\"}", name, value);
	http("POST", "/v1/credentials", token, body, 201, &r);
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
create_token(const char *user, char *token, size_t tokensz, char *id,
    size_t idsz)
{
	char body[128];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"userId\":\"%s\"}", user);
	http("POST", "/v1/tokens", srv.token, body, 201, &r);
	snprintf(token, tokensz, "%s", zgt_str(&r, "token"));
	if (id != NULL)
		snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

/* Copies the X-Request-Id of one response header line into userdata. */
static size_t
on_agent_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t n = size * nmemb;
	char *rid = userdata;
	if (n > 14 && strncasecmp(ptr, "X-Request-Id: ", 14) == 0) {
		size_t m = strcspn(ptr + 14, "\r\n");
		if (m > 63)
			m = 63;
		memcpy(rid, ptr + 14, m);
		rid[m] = '\0';
	}
	return n;
}

static size_t
on_agent_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	zgt_resp *r = userdata;
	size_t n = size * nmemb;
	char *p = realloc(r->body, r->body_len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + r->body_len, ptr, n);
	r->body_len += n;
	p[r->body_len] = '\0';
	r->body = p;
	return n;
}

/*
 * Like zgt_http with a User-Agent header, which the support library does
 * not send. Fills status, body, json and request_id of r.
 */
static void
http_with_agent(const char *method, const char *path, const char *body,
    zgt_resp *r)
{
	char url[512], auth[256];
	struct curl_slist *hdrs = NULL;
	CURL *h = curl_easy_init();

	memset(r, 0, sizeof(*r));
	assert_non_null(h);
	snprintf(url, sizeof(url), "%s%s", srv.base_url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", srv.token);
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_agent_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, (void *)r->request_id);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_agent_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	assert_int_equal(rc, CURLE_OK);
	if (r->body != NULL)
		r->json = json_loads(r->body, 0, NULL);
}

/* Fills in the path and body that exercise route rt, using the given ids. */
static void
route_request(const zg_route *rt, const char *cred, const char *revoke_cred,
    const char *tok_id, const char *lease, char *path, size_t pathsz,
    char *body, size_t bodysz)
{
	const char *p = rt->pattern;
	size_t n = 0;
	bool is_token = strncmp(rt->pattern, "/v1/tokens/", 11) == 0;
	bool is_revoke = strstr(rt->pattern, "/revoke") != NULL;

	while (*p != '\0' && n + 1 < pathsz) {
		if (*p != '{') {
			path[n++] = *p++;
			continue;
		}
		const char *end = strchr(p, '}');
		const char *value = "x";
		if (strncmp(p, "{userId}", 8) == 0)
			value = "walker";
		else if (is_token)
			value = tok_id;
		else if (strncmp(p, "{id}", 4) == 0)
			value = is_revoke ? revoke_cred : cred;
		n += (size_t)snprintf(path + n, pathsz - n, "%s", value);
		p = end ? end + 1 : p + strlen(p);
	}
	path[n < pathsz ? n : pathsz - 1] = '\0';
	if (strcmp(rt->pattern, "/v1/audit/proofs/inclusion") == 0)
		snprintf(path + n, pathsz - n, "?index=0&treeSize=1");
	else if (strcmp(rt->pattern, "/v1/audit/proofs/consistency") == 0)
		snprintf(path + n, pathsz - n, "?first=1&second=1");

	body[0] = '\0';
	if (strcmp(rt->method, "POST") != 0)
		return;
	if (strcmp(rt->pattern, "/v1/sys/unseal") == 0)
		snprintf(body, bodysz, "{\"passphrase\":\"not-the-passphrase\"}");
	else if (strcmp(rt->pattern, "/v1/credentials") == 0)
		snprintf(body, bodysz, "{\"type\":\"api_token\",\"name\":"
		    "\"walk-%u\",\"value\":\"walk-value\"}", seed);
	else if (strstr(rt->pattern, "/rotate") && strstr(rt->pattern, "{id}"))
		snprintf(body, bodysz, "{\"value\":\"walk-rotated\"}");
	else if (strcmp(rt->pattern, "/v1/leases/redeem") == 0)
		snprintf(body, bodysz, "{\"leaseToken\":\"%s\"}", lease);
	else if (strstr(rt->pattern, "/lease"))
		snprintf(body, bodysz, "{\"ttlSeconds\":60}");
	else if (strcmp(rt->pattern, "/v1/tokens") == 0)
		snprintf(body, bodysz, "{\"userId\":\"walker\"}");
	else if (strcmp(rt->pattern, "/v1/audit/events") == 0)
		snprintf(body, bodysz, "{\"eventType\":\"workflow_execution\","
		    "\"resource\":\"workflow:walk\",\"action\":\"run\","
		    "\"success\":true}");
	else
		snprintf(body, bodysz, "{}");
}

static void
route_walk_records_every_route(void **state)
{
	char cred[64], revoke_cred[64], tok[128], tok_id[64], lease[128];
	char missing[4096] = "";
	zgt_resp r;

	create_cred(srv.token, "walk-secret", cred, sizeof(cred));
	create_cred(srv.token, "walk-revoked", revoke_cred, sizeof(revoke_cred));
	create_token("walker", tok, sizeof(tok), tok_id, sizeof(tok_id));
	char path[256];
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", cred);
	http("POST", path, srv.token, "{\"ttlSeconds\":60}", 201, &r);
	snprintf(lease, sizeof(lease), "%s", zgt_str(&r, "leaseToken"));
	zgt_resp_free(&r);

	/* Secrets sent or returned during the walk, which no event may contain. */
	char secrets[8][160];
	size_t nsecrets = 0;
	snprintf(secrets[nsecrets++], sizeof(secrets[0]), "%s", srv.token);
	snprintf(secrets[nsecrets++], sizeof(secrets[0]), "%s", tok);
	snprintf(secrets[nsecrets++], sizeof(secrets[0]), "%s", lease);
	snprintf(secrets[nsecrets++], sizeof(secrets[0]), "walk-secret");
	snprintf(secrets[nsecrets++], sizeof(secrets[0]), "walk-rotated");
	uint64_t start = log_size();

	for (const zg_route *rt = zg_routes; rt->method != NULL; rt++) {
		char body[512];
		uint64_t before = log_size();
		route_request(rt, cred, revoke_cred, tok_id, lease, path,
		    sizeof(path), body, sizeof(body));
		bool self = (rt->flags & ZG_ROUTE_AUDIT_SELF) != 0;
		const char *token = (rt->flags & ZG_ROUTE_NO_AUTH) ? NULL :
		    srv.token;
		http(rt->method, path, token, body[0] ? body : NULL, 0, &r);
		printf("route %s %s -> %ld %s\n", rt->method, rt->pattern,
		    r.status, r.status >= 400 && r.body ? r.body : "");
		assert_true(r.request_id[0] != '\0');
		static const char *const secret_fields[] = {"token",
		    "leaseToken", NULL};
		for (const char *const *f = secret_fields; *f != NULL; f++)
			if (zgt_str(&r, *f)[0] != '\0' && nsecrets < 8)
				snprintf(secrets[nsecrets++], sizeof(secrets[0]),
				    "%s", zgt_str(&r, *f));

		json_t *items = events_from(before, NULL, srv.token);
		json_t *item = find_request(items, r.request_id);
		if (rt->event_type == NULL) {
			/* /v1/health is the one documented exemption. */
			assert_string_equal(rt->pattern, "/v1/health");
			assert_null(item);
		} else if (item == NULL) {
			strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, rt->method, sizeof(missing) -
			    strlen(missing) - 1);
			strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, rt->pattern, sizeof(missing) -
			    strlen(missing) - 1);
		} else if (self) {
			/* The caller's own event is the record of this route. */
			json_t *ev = json_object_get(item, "event");
			assert_string_equal(jstr(ev, "eventId"),
			    zgt_str(&r, "eventId"));
			assert_string_equal(jstr(ev, "resource"), "workflow:walk");
		} else {
			json_t *meta = json_object_get(json_object_get(item,
			    "event"), "metadata");
			assert_string_equal(jstr(meta, "route"), rt->pattern);
			assert_string_equal(jstr(meta, "method"), rt->method);
			assert_int_equal(json_integer_value(json_object_get(meta,
			    "status")), r.status);
		}
		json_decref(items);
		zgt_resp_free(&r);
	}
	if (missing[0] != '\0')
		fail_msg("routes that recorded no audit event:%s", missing);

	json_t *items = events_from(start, NULL, srv.token);
	char *text = json_dumps(items, JSON_COMPACT);
	assert_non_null(text);
	for (size_t i = 0; i < nsecrets; i++) {
		if (strstr(text, secrets[i]) != NULL)
			fail_msg("an audit event contains the secret \"%s\"",
			    secrets[i]);
	}
	free(text);
	json_decref(items);
}

static void
event_fields_of_create(void **state)
{
	char value[64], body[256], id[64], resource[96];
	regex_t re;
	zgt_resp r;

	snprintf(value, sizeof(value), "sk-field-check-%u", seed);
	char name[64];
	unique_name("fields", name, sizeof(name));
	snprintf(body, sizeof(body), "{\"type\":\"api_token\",\"name\":\"%s\","
	    "\"value\":\"%s\"}", name, value);
	uint64_t before = log_size();
	http_with_agent("POST", "/v1/credentials", body, &r);
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof(id), "%s", zgt_str(&r, "id"));
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	assert_true(rid[0] != '\0');
	zgt_resp_free(&r);

	/* The value is read too, so its event is in the body searched below. */
	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	http("GET", path, srv.token, NULL, 200, &r);
	zgt_resp_free(&r);

	json_t *items = events_from(before, NULL, srv.token);
	json_t *item = find_request(items, rid);
	assert_non_null(item);
	json_t *ev = json_object_get(item, "event");
	snprintf(resource, sizeof(resource), "credentials/%s", id);
	assert_string_equal(jstr(ev, "eventType"), "credential_access");
	assert_string_equal(jstr(ev, "resource"), resource);
	assert_string_equal(jstr(ev, "action"), "create");
	assert_true(json_is_true(json_object_get(ev, "success")));
	assert_string_equal(jstr(ev, "userId"), "admin");
	assert_true(strncmp(jstr(ev, "tokenId"), "tok_", 4) == 0);
	assert_string_equal(jstr(ev, "requestId"), rid);
	assert_string_equal(jstr(ev, "ipAddress"), "127.0.0.1");
	assert_string_equal(jstr(ev, "userAgent"), AGENT);
	assert_string_equal(jstr(ev, "personalData"), "available");
	assert_true(strncmp(jstr(ev, "eventId"), "evt_", 4) == 0);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, jstr(ev, "timestamp"), 0, NULL, 0), 0);
	regfree(&re);
	json_decref(items);

	/* Neither the value nor the token appears anywhere in the log. */
	snprintf(path, sizeof(path), "/v1/audit/events?from=%llu&limit=1000",
	    (unsigned long long)before);
	http("GET", path, srv.token, NULL, 200, &r);
	assert_null(strstr(r.body, value));
	assert_null(strstr(r.body, srv.token));
	zgt_resp_free(&r);
}

static void
failed_auth_recorded(void **state)
{
	zgt_resp r;
	uint64_t before = log_size();
	http("GET", "/v1/credentials", "zgt_not_a_real_token_0000000000", NULL,
	    401, &r);
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);

	json_t *items = events_from(before, NULL, srv.token);
	json_t *item = find_request(items, rid);
	assert_non_null(item);
	json_t *ev = json_object_get(item, "event");
	assert_string_equal(jstr(ev, "eventType"), "authentication");
	assert_true(json_is_false(json_object_get(ev, "success")));
	assert_string_equal(jstr(ev, "userId"), "");
	assert_string_equal(jstr(ev, "tokenId"), "");
	char *text = json_dumps(ev, JSON_COMPACT);
	assert_non_null(text);
	assert_null(strstr(text, "zgt_not_a_real"));
	free(text);
	json_decref(items);
}

static void
forbidden_recorded(void **state)
{
	char tok[128];
	zgt_resp r;
	create_token("bob", tok, sizeof(tok), NULL, 0);
	uint64_t before = log_size();
	http("POST", "/v1/sys/rotate-root", tok, "{}", 403, &r);
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);

	json_t *items = events_from(before, NULL, srv.token);
	json_t *item = find_request(items, rid);
	assert_non_null(item);
	json_t *ev = json_object_get(item, "event");
	assert_string_equal(jstr(ev, "eventType"), "authorization");
	assert_true(json_is_false(json_object_get(ev, "success")));
	assert_string_equal(jstr(ev, "userId"), "bob");
	json_decref(items);
}

static void
record_reads_back(void **state)
{
	char body[1024], event_id[64], ts[40];
	zgt_resp r;

	snprintf(event_id, sizeof(event_id), "wf-%u-readback", seed);
	zg_time_format_rfc3339_us(zg_time_now_us() - 60 * 1000000LL, ts,
	    sizeof(ts));
	snprintf(body, sizeof(body), "{\"eventId\":\"%s\",\"timestamp\":\"%s\","
	    "\"sessionId\":\"sess-1\",\"eventType\":\"workflow_execution\","
	    "\"resource\":\"workflow:42\",\"action\":\"approve\",\"success\":"
	    "false,\"ipAddress\":\"10.1.2.3\",\"userAgent\":\"platform/2\","
	    "\"metadata\":{\"step\":\"approve\",\"n\":3}}", event_id, ts);
	http("POST", "/v1/audit/events", srv.token, body, 201, &r);
	assert_string_equal(zgt_str(&r, "eventId"), event_id);
	uint64_t index = juint(r.json, "leafIndex");
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);

	char path[128];
	snprintf(path, sizeof(path), "/v1/audit/events?from=%llu&limit=1",
	    (unsigned long long)index);
	http("GET", path, srv.token, NULL, 200, &r);
	json_t *item = json_array_get(json_object_get(r.json, "events"), 0);
	assert_non_null(item);
	assert_int_equal(juint(item, "leafIndex"), index);
	json_t *ev = json_object_get(item, "event");
	assert_string_equal(jstr(ev, "eventId"), event_id);
	assert_string_equal(jstr(ev, "timestamp"), ts);
	assert_string_equal(jstr(ev, "userId"), "admin");
	assert_string_equal(jstr(ev, "sessionId"), "sess-1");
	assert_string_equal(jstr(ev, "eventType"), "workflow_execution");
	assert_string_equal(jstr(ev, "resource"), "workflow:42");
	assert_string_equal(jstr(ev, "action"), "approve");
	assert_true(json_is_false(json_object_get(ev, "success")));
	assert_string_equal(jstr(ev, "ipAddress"), "10.1.2.3");
	assert_string_equal(jstr(ev, "userAgent"), "platform/2");
	assert_string_equal(jstr(ev, "requestId"), rid);
	assert_true(strncmp(jstr(ev, "tokenId"), "tok_", 4) == 0);
	json_t *want = json_pack("{s:s,s:i}", "step", "approve", "n", 3);
	assert_true(json_equal(json_object_get(ev, "metadata"), want));
	json_decref(want);
	zgt_resp_free(&r);

	/* Without eventId and timestamp the server fills both in. */
	http("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"resource\":\"order:1\",\"action\":\"pay\","
	    "\"success\":true}", 201, &r);
	assert_true(strncmp(zgt_str(&r, "eventId"), "evt_", 4) == 0);
	assert_true(juint(r.json, "leafIndex") > index);
	zgt_resp_free(&r);
}

static void
record_takes_identity_from_token(void **state)
{
	char tok[128];
	zgt_resp r;
	create_token("carol", tok, sizeof(tok), NULL, 0);

	check_400("POST", "/v1/audit/events", tok, "{\"userId\":\"admin\","
	    "\"eventType\":\"transaction\",\"resource\":\"r\",\"action\":\"a\","
	    "\"success\":true}", "userId");
	http("POST", "/v1/audit/events", tok, "{\"userId\":\"carol\","
	    "\"eventType\":\"transaction\",\"resource\":\"r\",\"action\":\"a\","
	    "\"success\":true}", 201, &r);
	uint64_t index = juint(r.json, "leafIndex");
	zgt_resp_free(&r);

	/* A non-admin may record events but not read them. */
	http("GET", "/v1/audit/events", tok, NULL, 403, &r);
	assert_string_equal(zgt_error_code(&r), "forbidden");
	zgt_resp_free(&r);

	json_t *items = events_from(index, NULL, srv.token);
	json_t *ev = json_object_get(json_array_get(items, 0), "event");
	assert_string_equal(jstr(ev, "userId"), "carol");
	json_decref(items);
}

static void
tree_head_signature_verifies(void **state)
{
	struct head h, h2;
	get_head(&h);
	/* That fetch recorded one event, and three more follow. */
	for (int i = 0; i < 3; i++) {
		zgt_resp r;
		http("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
		    "\"key_usage\",\"resource\":\"key:1\",\"action\":\"sign\","
		    "\"success\":true}", 201, &r);
		zgt_resp_free(&r);
	}
	get_head(&h2);
	assert_int_equal(h2.size, h.size + 4);

	assert_true(h.size > 0);
	assert_true(strncmp(h.key_id, "ed25519:", 8) == 0);
	assert_int_equal(verify_head(&h), ZG_OK);
	assert_int_equal(verify_head(&h2), ZG_OK);

	/* A head with any field changed must not verify. */
	struct head bad = h;
	bad.root[0] ^= 1;
	assert_int_equal(verify_head(&bad), ZG_ERR_INTEGRITY);
	bad = h;
	bad.size++;
	assert_int_equal(verify_head(&bad), ZG_ERR_INTEGRITY);
	bad = h;
	bad.timestamp++;
	assert_int_equal(verify_head(&bad), ZG_ERR_INTEGRITY);
}

static void
tree_head_signed_on_interval(void **state)
{
	struct head h, h2;
	get_head(&h);
	/* That fetch added an event, which only the 1 s signer can sign now. */
	sleep_ms(2500);
	int64_t requested_at = zg_time_now_us();
	get_head(&h2);
	assert_int_equal(h2.size, h.size + 1);
	if (h2.timestamp >= requested_at)
		fail_msg("the head of size %llu was signed at the request, not "
		    "within 2.5 s by the interval signer",
		    (unsigned long long)h2.size);
	assert_true(h2.timestamp > h.timestamp);
	assert_int_equal(verify_head(&h2), ZG_OK);
}

/* Fetches and checks the inclusion proof of index in the tree of size. */
static void
check_inclusion(uint64_t index, uint64_t size, const json_t *item,
    uint8_t root_out[32])
{
	char path[160];
	uint8_t leaf[32], root[32], want[32];
	uint8_t (*proof)[32] = calloc(ZG_MERKLE_MAX_PROOF, 32);
	zgt_resp r;

	snprintf(path, sizeof(path), "/v1/audit/proofs/inclusion?index=%llu&"
	    "treeSize=%llu", (unsigned long long)index, (unsigned long long)size);
	http("GET", path, srv.token, NULL, 200, &r);
	assert_int_equal(juint(r.json, "leafIndex"), index);
	assert_int_equal(juint(r.json, "treeSize"), size);
	hex_to(zgt_str(&r, "leafHash"), leaf, 32);
	hex_to(zgt_str(&r, "rootHash"), root, 32);
	json_t *path_arr = json_object_get(r.json, "auditPath");
	size_t n = json_array_size(path_arr);
	assert_true(n <= ZG_MERKLE_MAX_PROOF);
	for (size_t i = 0; i < n; i++)
		hex_to(json_string_value(json_array_get(path_arr, i)), proof[i],
		    32);
	assert_int_equal(zg_merkle_verify_inclusion(leaf, index, size,
	    (const uint8_t (*)[32])proof, n, root), ZG_OK);

	/* The leaf hash is SHA-256(0x00 || canonical bytes), recomputed here. */
	const char *b64 = jstr(item, "canonical");
	size_t cap = strlen(b64), len = 0;
	uint8_t *bytes = malloc(cap + 1);
	assert_int_equal(zg_base64_decode(b64, cap, bytes + 1, cap, &len), ZG_OK);
	bytes[0] = 0x00;
	SHA256(bytes, len + 1, want);
	free(bytes);
	assert_memory_equal(leaf, want, 32);
	uint8_t listed[32];
	hex_to(jstr(item, "leafHash"), listed, 32);
	assert_memory_equal(listed, want, 32);

	/* A different leaf must not verify with the same path. */
	leaf[5] ^= 0x40;
	assert_int_equal(zg_merkle_verify_inclusion(leaf, index, size,
	    (const uint8_t (*)[32])proof, n, root), ZG_ERR_INTEGRITY);
	if (root_out != NULL)
		memcpy(root_out, root, 32);
	free(proof);
	zgt_resp_free(&r);
}

/* Returns the root of the tree of size leaves, from an inclusion proof. */
static void
root_at(uint64_t size, uint8_t out[32])
{
	char path[160];
	zgt_resp r;
	snprintf(path, sizeof(path), "/v1/audit/proofs/inclusion?index=0&"
	    "treeSize=%llu", (unsigned long long)size);
	http("GET", path, srv.token, NULL, 200, &r);
	hex_to(zgt_str(&r, "rootHash"), out, 32);
	zgt_resp_free(&r);
}

static void
check_consistency(uint64_t first, uint64_t second)
{
	char path[160];
	uint8_t r1[32], r2[32], want1[32], want2[32];
	uint8_t (*proof)[32] = calloc(ZG_MERKLE_MAX_PROOF, 32);
	zgt_resp r;

	snprintf(path, sizeof(path), "/v1/audit/proofs/consistency?first=%llu&"
	    "second=%llu", (unsigned long long)first, (unsigned long long)second);
	http("GET", path, srv.token, NULL, 200, &r);
	hex_to(zgt_str(&r, "firstRoot"), r1, 32);
	hex_to(zgt_str(&r, "secondRoot"), r2, 32);
	json_t *arr = json_object_get(r.json, "proof");
	size_t n = json_array_size(arr);
	assert_true(n <= ZG_MERKLE_MAX_PROOF);
	for (size_t i = 0; i < n; i++)
		hex_to(json_string_value(json_array_get(arr, i)), proof[i], 32);
	assert_int_equal(zg_merkle_verify_consistency(first, second,
	    (const uint8_t (*)[32])proof, n, r1, r2), ZG_OK);
	root_at(first, want1);
	root_at(second, want2);
	assert_memory_equal(r1, want1, 32);
	assert_memory_equal(r2, want2, 32);
	if (first != second) {
		r2[0] ^= 1;
		assert_int_equal(zg_merkle_verify_consistency(first, second,
		    (const uint8_t (*)[32])proof, n, r1, r2), ZG_ERR_INTEGRITY);
	}
	free(proof);
	zgt_resp_free(&r);
}

static void
proofs_verify(void **state)
{
	struct head h;
	uint8_t root[32];

	get_head(&h);
	assert_int_equal(verify_head(&h), ZG_OK);
	json_t *items = events_from(0, NULL, srv.token);
	assert_true(json_array_size(items) >= h.size);
	uint64_t size = h.size;

	/* The root at the signed head's size is the head's root. */
	check_inclusion(size - 1, size, json_array_get(items, size - 1), root);
	assert_memory_equal(root, h.root, 32);
	check_inclusion(0, size, json_array_get(items, 0), root);
	assert_memory_equal(root, h.root, 32);
	check_inclusion(0, 1, json_array_get(items, 0), NULL);
	for (int i = 0; i < 10; i++) {
		uint64_t tree = 1 + (uint64_t)rand() % size;
		uint64_t index = (uint64_t)rand() % tree;
		printf("inclusion index %llu treeSize %llu\n",
		    (unsigned long long)index, (unsigned long long)tree);
		assert_int_equal(juint(json_array_get(items, index),
		    "leafIndex"), index);
		check_inclusion(index, tree, json_array_get(items, index), NULL);
	}

	check_consistency(1, size);
	check_consistency(size, size);
	check_consistency(1, 1);
	if (size > 8)
		check_consistency(8, size);
	for (int i = 0; i < 10; i++) {
		uint64_t second = 1 + (uint64_t)rand() % size;
		uint64_t first = 1 + (uint64_t)rand() % second;
		printf("consistency %llu %llu\n", (unsigned long long)first,
		    (unsigned long long)second);
		check_consistency(first, second);
	}
	json_decref(items);
}

static void
proofs_reject_bad_input(void **state)
{
	char path[200];
	uint64_t size = log_size();
	unsigned long long big = (unsigned long long)size + 1000;

	snprintf(path, sizeof(path), "/v1/audit/proofs/inclusion?index=%llu&"
	    "treeSize=%llu", (unsigned long long)size, (unsigned long long)size);
	check_400("GET", path, srv.token, NULL, "index");
	snprintf(path, sizeof(path), "/v1/audit/proofs/inclusion?index=0&"
	    "treeSize=%llu", big);
	check_400("GET", path, srv.token, NULL, "treeSize");
	check_400("GET", "/v1/audit/proofs/inclusion?index=0&treeSize=0",
	    srv.token, NULL, "treeSize");
	check_400("GET", "/v1/audit/proofs/inclusion?index=abc&treeSize=1",
	    srv.token, NULL, "index");
	check_400("GET", "/v1/audit/proofs/inclusion?index=-1&treeSize=1",
	    srv.token, NULL, "index");
	check_400("GET", "/v1/audit/proofs/inclusion?index=0&treeSize=1x",
	    srv.token, NULL, "treeSize");
	check_400("GET", "/v1/audit/proofs/inclusion?index=0&treeSize="
	    "99999999999999999999999", srv.token, NULL, "treeSize");
	check_400("GET", "/v1/audit/proofs/inclusion?treeSize=1", srv.token,
	    NULL, "index");
	check_400("GET", "/v1/audit/proofs/inclusion?index=0", srv.token, NULL,
	    "treeSize");
	check_400("GET", "/v1/audit/proofs/inclusion?index=0&treeSize=1&"
	    "color=red", srv.token, NULL, "color");

	check_400("GET", "/v1/audit/proofs/consistency?first=3&second=2",
	    srv.token, NULL, "first");
	check_400("GET", "/v1/audit/proofs/consistency?first=0&second=2",
	    srv.token, NULL, "first");
	snprintf(path, sizeof(path), "/v1/audit/proofs/consistency?first=1&"
	    "second=%llu", big);
	check_400("GET", path, srv.token, NULL, "second");
	check_400("GET", "/v1/audit/proofs/consistency?first=x&second=2",
	    srv.token, NULL, "first");
	check_400("GET", "/v1/audit/proofs/consistency?first=1&second=-2",
	    srv.token, NULL, "second");
	check_400("GET", "/v1/audit/proofs/consistency?second=2", srv.token,
	    NULL, "first");
	check_400("GET", "/v1/audit/proofs/consistency?first=1", srv.token,
	    NULL, "second");
	check_400("GET", "/v1/audit/proofs/consistency?first=1&second=1&"
	    "depth=3", srv.token, NULL, "depth");

	check_400("GET", "/v1/audit/tree-head?fresh=1", srv.token, NULL,
	    "fresh");
	check_400("GET", "/v1/audit/events?limit=0", srv.token, NULL, "limit");
	check_400("GET", "/v1/audit/events?limit=1001", srv.token, NULL,
	    "limit");
	check_400("GET", "/v1/audit/events?from=-1", srv.token, NULL, "from");
	check_400("GET", "/v1/audit/events?from=ten", srv.token, NULL, "from");
	check_400("GET", "/v1/audit/events?user=alice", srv.token, NULL,
	    "user");
}

/* Returns a metadata object whose compact JSON has exactly len bytes. */
static char *
metadata_of_len(size_t len)
{
	/* {"pad":"..."} has 10 bytes around the padding. */
	char *s = malloc(len + 1);
	assert_true(len > 10);
	memcpy(s, "{\"pad\":\"", 8);
	memset(s + 8, 'x', len - 10);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	return s;
}

static void
check_metadata_limit(zgt_daemon *d, size_t limit)
{
	char *ok_meta = metadata_of_len(limit);
	char *big_meta = metadata_of_len(limit + 1);
	size_t bodysz = limit + 256;
	char *body = malloc(bodysz);
	zgt_resp r;

	snprintf(body, bodysz, "{\"eventType\":\"transaction\",\"resource\":"
	    "\"r\",\"action\":\"a\",\"success\":true,\"metadata\":%s}", ok_meta);
	assert_int_equal(zgt_http(d, "POST", "/v1/audit/events", d->token, body,
	    &r), 0);
	assert_int_equal(r.status, 201);
	zgt_resp_free(&r);
	snprintf(body, bodysz, "{\"eventType\":\"transaction\",\"resource\":"
	    "\"r\",\"action\":\"a\",\"success\":true,\"metadata\":%s}", big_meta);
	assert_int_equal(zgt_http(d, "POST", "/v1/audit/events", d->token, body,
	    &r), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(zgt_error_code(&r), "invalid_argument");
	assert_non_null(strstr(r.body, "metadata"));
	zgt_resp_free(&r);
	free(ok_meta);
	free(big_meta);
	free(body);
}

static void
record_rejects_bad_input(void **state)
{
	char body[512], ts[40];
	const char *base = "\"resource\":\"r\",\"action\":\"a\",\"success\":true";

	snprintf(body, sizeof(body), "{\"eventType\":\"nonsense\",%s}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "eventType");
	zg_time_format_rfc3339_us(zg_time_now_us() + 86400LL * 1000000, ts,
	    sizeof(ts));
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"timestamp\":\"%s\"}", base, ts);
	check_400("POST", "/v1/audit/events", srv.token, body, "timestamp");
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"timestamp\":\"yesterday\"}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "timestamp");
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"timestamp\":\"2026-13-01T00:00:00Z\"}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "timestamp");
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"timestamp\":\"1969-12-31T23:59:59Z\"}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "timestamp");
	check_400("POST", "/v1/audit/events", srv.token, "{\"resource\":\"r\","
	    "\"action\":\"a\",\"success\":true}", "eventType");
	check_400("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"action\":\"a\",\"success\":true}", "resource");
	check_400("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"resource\":\"r\",\"success\":true}", "action");
	check_400("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"resource\":\"r\",\"action\":\"a\"}", "success");
	check_400("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"resource\":\"r\",\"action\":\"a\",\"success\":"
	    "\"yes\"}", "success");
	check_400("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"resource\":5,\"action\":\"a\",\"success\":true}",
	    "resource");
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"metadata\":[1,2]}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "metadata");
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"eventId\":\"bad id!\"}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "eventId");
	snprintf(body, sizeof(body), "{\"eventType\":\"transaction\",%s,"
	    "\"color\":\"red\"}", base);
	check_400("POST", "/v1/audit/events", srv.token, body, "color");

	/* The default limit is 16 KiB of compact JSON. */
	check_metadata_limit(&srv, 16 * 1024);

	zgt_daemon small;
	assert_int_equal(zgt_daemon_start(&small,
	    "[audit]\nmax_metadata_bytes = 1024\n"), 0);
	check_metadata_limit(&small, 1024);
	assert_int_equal(zgt_daemon_stop(&small), 0);
	assert_false(zgt_log_has_sanitizer_report(&small));
	zgt_daemon_cleanup(&small);
}

static void
search_by_user_and_resource(void **state)
{
	char tok[128], id[64], path[160], query[128];
	zgt_resp r;

	create_token("alice", tok, sizeof(tok), NULL, 0);
	create_cred(tok, "alice-search-secret", id, sizeof(id));
	snprintf(path, sizeof(path), "/v1/credentials/%s", id);
	http("GET", path, tok, NULL, 200, &r);
	zgt_resp_free(&r);
	http("GET", path, srv.token, NULL, 200, &r);
	zgt_resp_free(&r);
	http("POST", "/v1/audit/events", tok, "{\"eventType\":\"transaction\","
	    "\"resource\":\"order:7\",\"action\":\"pay\",\"success\":true}", 201,
	    &r);
	zgt_resp_free(&r);

	/* Alice created and read the credential and recorded one event. */
	json_t *items = events_from(0, "&userId=alice", srv.token);
	printf("events of alice: %zu\n", json_array_size(items));
	assert_int_equal(json_array_size(items), 3);
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
		assert_string_equal(jstr(json_object_get(item, "event"),
		    "userId"), "alice");
	json_decref(items);

	snprintf(query, sizeof(query), "&resource=credentials/%s", id);
	items = events_from(0, query, srv.token);
	/* Created and read by alice, then read by admin. */
	assert_int_equal(json_array_size(items), 3);
	json_array_foreach(items, i, item) {
		json_t *ev = json_object_get(item, "event");
		assert_string_equal(jstr(ev, "resource"), query + 10);
	}
	json_decref(items);

	items = events_from(0, "&userId=nobody-at-all", srv.token);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
}

/* Posts an event as token with personal fields; returns its leaf index. */
static uint64_t
post_personal(const char *token, const char *tag)
{
	char body[512];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"eventType\":\"workflow_execution\","
	    "\"resource\":\"workflow:erase\",\"action\":\"%s\",\"success\":true,"
	    "\"ipAddress\":\"192.0.2.7\",\"userAgent\":\"browser/9\","
	    "\"metadata\":{\"email\":\"erin@example.com\"}}", tag);
	http("POST", "/v1/audit/events", token, body, 201, &r);
	uint64_t index = juint(r.json, "leafIndex");
	zgt_resp_free(&r);
	return index;
}

static json_t *
item_at(uint64_t index)
{
	json_t *items = events_from(index, NULL, srv.token);
	json_t *item = json_incref(json_array_get(items, 0));
	json_decref(items);
	assert_non_null(item);
	assert_int_equal(juint(item, "leafIndex"), index);
	return item;
}

static void
erase_keeps_proofs(void **state)
{
	const char *user = "alice-erase";
	char tok[128];
	uint64_t idx[2];
	json_t *before[2];
	zgt_resp r;

	create_token(user, tok, sizeof(tok), NULL, 0);
	idx[0] = post_personal(tok, "first");
	idx[1] = post_personal(tok, "second");
	for (int i = 0; i < 2; i++) {
		before[i] = item_at(idx[i]);
		json_t *ev = json_object_get(before[i], "event");
		assert_string_equal(jstr(ev, "personalData"), "available");
		assert_string_equal(jstr(ev, "ipAddress"), "192.0.2.7");
		assert_string_equal(jstr(ev, "userAgent"), "browser/9");
	}

	http("POST", "/v1/users/alice-erase/erase", tok, NULL, 403, &r);
	zgt_resp_free(&r);
	http("POST", "/v1/users/alice-erase/erase", srv.token, NULL, 200, &r);
	assert_string_equal(zgt_str(&r, "userId"), user);
	assert_true(json_is_true(json_object_get(r.json, "erased")));
	char rid[64];
	snprintf(rid, sizeof(rid), "%s", r.request_id);
	zgt_resp_free(&r);

	struct head h;
	get_head(&h);
	assert_int_equal(verify_head(&h), ZG_OK);
	for (int i = 0; i < 2; i++) {
		json_t *after = item_at(idx[i]);
		json_t *ev = json_object_get(after, "event");
		assert_string_equal(jstr(ev, "personalData"), "erased");
		assert_true(json_is_null(json_object_get(ev, "ipAddress")));
		assert_true(json_is_null(json_object_get(ev, "userAgent")));
		assert_true(json_is_null(json_object_get(ev, "metadata")));
		assert_string_equal(jstr(ev, "userId"), user);
		assert_string_equal(jstr(after, "leafHash"),
		    jstr(before[i], "leafHash"));
		assert_string_equal(jstr(after, "canonical"),
		    jstr(before[i], "canonical"));
		uint8_t root[32];
		check_inclusion(idx[i], h.size, after, root);
		assert_memory_equal(root, h.root, 32);
		json_decref(after);
		json_decref(before[i]);
	}

	/* Later events get a new key generation and stay readable. */
	uint64_t later = post_personal(tok, "third");
	json_t *item = item_at(later);
	json_t *ev = json_object_get(item, "event");
	assert_string_equal(jstr(ev, "personalData"), "available");
	assert_string_equal(jstr(ev, "ipAddress"), "192.0.2.7");
	json_decref(item);

	/* The erasure itself is recorded, under the admin's identity. */
	json_t *items = events_from(idx[1], NULL, srv.token);
	item = find_request(items, rid);
	assert_non_null(item);
	ev = json_object_get(item, "event");
	assert_string_equal(jstr(ev, "eventType"), "configuration_change");
	assert_string_equal(jstr(ev, "resource"), "users/alice-erase");
	assert_string_equal(jstr(ev, "action"), "erase");
	assert_string_equal(jstr(ev, "userId"), "admin");
	assert_true(json_is_true(json_object_get(ev, "success")));
	json_decref(items);
}

static void
restart_keeps_log(void **state)
{
	struct head h, h2;
	uint8_t root[32];
	zgt_resp r;

	get_head(&h);
	assert_int_equal(zgt_daemon_stop(&srv), 0);
	assert_int_equal(zgt_daemon_restart(&srv), 0);

	/* The fetch before the stop recorded one event after the head. */
	get_head(&h2);
	assert_int_equal(h2.size, h.size + 1);
	/* The fetch after the restart took leaf h2.size; the next is ours. */
	http("POST", "/v1/audit/events", srv.token, "{\"eventType\":"
	    "\"transaction\",\"resource\":\"r\",\"action\":\"after-restart\","
	    "\"success\":true}", 201, &r);
	assert_int_equal(juint(r.json, "leafIndex"), h2.size + 1);
	zgt_resp_free(&r);

	assert_int_equal(verify_head(&h2), ZG_OK);
	root_at(h.size, root);
	assert_memory_equal(root, h.root, 32);
	check_consistency(h.size, h2.size);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_walk_records_every_route),
		cmocka_unit_test(event_fields_of_create),
		cmocka_unit_test(failed_auth_recorded),
		cmocka_unit_test(forbidden_recorded),
		cmocka_unit_test(record_reads_back),
		cmocka_unit_test(record_takes_identity_from_token),
		cmocka_unit_test(tree_head_signature_verifies),
		cmocka_unit_test(tree_head_signed_on_interval),
		cmocka_unit_test(proofs_verify),
		cmocka_unit_test(proofs_reject_bad_input),
		cmocka_unit_test(record_rejects_bad_input),
		cmocka_unit_test(search_by_user_and_resource),
		cmocka_unit_test(erase_keeps_proofs),
		cmocka_unit_test(restart_keeps_log),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
