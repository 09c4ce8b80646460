/*
 * Ethereum JSON-RPC client: one POST per request, a JSON-RPC 2.0 envelope
 * with a numeric id that the response must repeat, and results checked
 * for the shape each method returns (hex quantities or hex data).
 */
#include "chain/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/codec.h"
#include "base/jsonutil.h"

struct zg_rpc {
	CURL *curl;
	struct curl_slist *headers;
	char *url;                     /* may contain credentials; wiped */
	char name[160];                /* the URL without credentials */
	zg_rpc_options opts;
	int64_t deadline_ms;           /* CLOCK_MONOTONIC */
	long long next_id;
};

/* A response body being received. */
typedef struct body_buf {
	char *data;
	size_t len;
	size_t max;
	bool too_large;
} body_buf;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
zg_rpc_escape_text(const uint8_t *s, size_t n, char *out, size_t outsz)
{
	/* Room for "..." and the NUL stays free until the input ends. */
	size_t limit = outsz - 4, pos = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (pos + 1 > limit)
				break;
			out[pos++] = (char)s[i];
		} else {
			if (pos + 4 > limit)
				break;
			snprintf(out + pos, 5, "\\x%02x", s[i]);
			pos += 4;
		}
	}
	if (i < n) {
		memcpy(out + pos, "...", 3);
		pos += 3;
	}
	out[pos] = '\0';
}

void
zg_rpc_error_clear(zg_rpc_error *e)
{
	if (e == NULL)
		return;
	free(e->data);
	memset(e, 0, sizeof(*e));
}

/*
 * Writes scheme://host[:port] of url into out, and "/..." when a path
 * other than "/" or a query follows. The user name, password, path and
 * query stay out because providers put API keys in them.
 */
static zg_err
endpoint_name(const char *url, char *out, size_t outsz, zg_errmsg *em)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL;
	zg_err err = ZG_ERR_CONFIG;

	if (u == NULL)
		return ZG_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		zg_fail(em, err, "the RPC endpoint is not a valid URL");
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		zg_fail(em, err, "the RPC endpoint must start with http:// or "
		    "https://, not %.16s://", scheme);
		goto out;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	(void)curl_url_get(u, CURLUPART_PATH, &path, 0);
	(void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
	bool more = (path != NULL && strcmp(path, "/") != 0 &&
	    path[0] != '\0') || query != NULL;
	int w = snprintf(out, outsz, "%s://%s%s%s%s", scheme, host,
	    port != NULL ? ":" : "", port != NULL ? port : "",
	    more ? "/..." : "");
	if (w < 0 || (size_t)w >= outsz) {
		zg_fail(em, err, "the RPC endpoint's host name is longer than "
		    "%zu bytes", outsz - 20);
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return err;
}

zg_err
zg_rpc_open(const char *endpoint, const zg_rpc_options *opts, zg_rpc **out,
    zg_errmsg *em)
{
	zg_rpc *rpc = NULL;
	zg_err err = ZG_ERR_NOMEM;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if ((rpc = calloc(1, sizeof(*rpc))) == NULL)
		goto out;
	if (opts != NULL)
		rpc->opts = *opts;
	if (rpc->opts.connect_timeout_ms <= 0)
		rpc->opts.connect_timeout_ms = ZG_RPC_DEFAULT_CONNECT_TIMEOUT_MS;
	if (rpc->opts.timeout_ms <= 0)
		rpc->opts.timeout_ms = ZG_RPC_DEFAULT_TIMEOUT_MS;
	if (rpc->opts.max_response_bytes == 0)
		rpc->opts.max_response_bytes = ZG_RPC_DEFAULT_MAX_RESPONSE_BYTES;
	rpc->deadline_ms = now_ms() + rpc->opts.timeout_ms;
	rpc->next_id = 1;

	if ((err = endpoint_name(endpoint, rpc->name, sizeof(rpc->name),
	    em)) != ZG_OK)
		goto out;
	err = ZG_ERR_NOMEM;
	if ((rpc->url = strdup(endpoint)) == NULL ||
	    (rpc->curl = curl_easy_init()) == NULL ||
	    (rpc->headers = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL)
		goto out;

	CURL *c = rpc->curl;
	curl_easy_setopt(c, CURLOPT_URL, rpc->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* An empty proxy disables http_proxy and similar variables: node
	 * traffic goes straight to the configured endpoint. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, rpc->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "zguard-rpc");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)rpc->opts.max_response_bytes);
	*out = rpc;
	rpc = NULL;
	err = ZG_OK;
out:
	zg_rpc_free(rpc);
	return err;
}

void
zg_rpc_free(zg_rpc *rpc)
{
	if (rpc == NULL)
		return;
	if (rpc->curl != NULL)
		curl_easy_cleanup(rpc->curl);
	curl_slist_free_all(rpc->headers);
	zg_free_str_wiped(rpc->url);
	free(rpc);
}

const char *
zg_rpc_endpoint_name(const zg_rpc *rpc)
{
	return rpc->name;
}

static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	body_buf *b = arg;
	size_t n = size * nmemb;

	if (n > b->max - b->len) {
		b->too_large = true;
		return 0;              /* makes curl abort the transfer */
	}
	char *grown = realloc(b->data, b->len + n + 1);
	if (grown == NULL)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Sends body and stores the response body in b. */
static zg_err
http_post(zg_rpc *rpc, const char *method, const char *body, body_buf *b,
    zg_errmsg *em)
{
	CURL *c = rpc->curl;
	long remaining = (long)(rpc->deadline_ms - now_ms());
	long status = 0;

	if (remaining <= 0)
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s timed out: the "
		    "limit of %ld ms was used up", method, rpc->name,
		    rpc->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    remaining < rpc->opts.connect_timeout_ms ? remaining :
	    rpc->opts.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, remaining);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);

	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s timed out: the "
		    "limit is %ld ms", method, rpc->name, rpc->opts.timeout_ms);
	if (b->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: the "
		    "response is larger than %zu bytes", method, rpc->name,
		    rpc->opts.max_response_bytes);
	if (rc == CURLE_COULDNT_CONNECT) {
		long os_errno = 0;
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: cannot "
		    "connect: %s", method, rpc->name, os_errno != 0 ?
		    strerror((int)os_errno) : curl_easy_strerror(rc));
	}
	if (rc != CURLE_OK)
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: %s",
		    method, rpc->name, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: HTTP "
		    "status %ld", method, rpc->name, status);
	return ZG_OK;
}

/*
 * True for error codes that mean the node could not serve the request at
 * all: the JSON-RPC 2.0 reserved codes -32700 .. -32600, and -32004 and
 * -32005, which Ethereum nodes use for an unsupported method and for rate
 * limiting. Other codes report how the transaction executed.
 */
static bool
is_protocol_error(long long code)
{
	return (code >= -32700 && code <= -32600) || code == -32004 ||
	    code == -32005;
}

/* Reads revert data from an error object's "data" member, if it has any. */
static void
error_data(const json_t *data, zg_rpc_error *fault)
{
	if (json_is_object(data)) {
		const json_t *inner = json_object_get(data, "data");
		if (!json_is_string(inner))
			inner = json_object_get(data, "result");
		data = inner;
	}
	if (!json_is_string(data))
		return;
	/* A "data" that is not hex, such as a text some nodes send, is no
	 * revert data. */
	if (zg_chain_hex_decode(json_string_value(data), "data", &fault->data,
	    &fault->data_len, NULL) == ZG_OK)
		fault->has_data = true;
}

/* Handles a response's "error" member. */
static zg_err
take_error(zg_rpc *rpc, const char *method, const json_t *error,
    zg_rpc_error *fault, zg_errmsg *em)
{
	const json_t *code = json_object_get(error, "code");
	const json_t *message = json_object_get(error, "message");
	char text[sizeof(fault->message)];

	if (!json_is_object(error) || !json_is_integer(code))
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: the "
		    "response's \"error\" is not a JSON-RPC error object",
		    method, rpc->name);
	if (json_is_string(message))
		zg_rpc_escape_text((const uint8_t *)json_string_value(message),
		    json_string_length(message), text, sizeof(text));
	else
		text[0] = '\0';
	if (fault == NULL || is_protocol_error(json_integer_value(code)))
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: the node "
		    "returned error %lld: %s", method, rpc->name,
		    (long long)json_integer_value(code), text);

	zg_rpc_error_clear(fault);
	fault->set = true;
	fault->code = json_integer_value(code);
	memcpy(fault->message, text, sizeof(text));
	error_data(json_object_get(error, "data"), fault);
	return ZG_OK;
}

/*
 * Sends one request; params is consumed. On ZG_OK *result is the
 * "result" member (a new reference), or is NULL when fault was set.
 * fault may be NULL, and then every error object is ZG_ERR_UPSTREAM.
 */
static zg_err
rpc_request(zg_rpc *rpc, const char *method, json_t *params, json_t **result,
    zg_rpc_error *fault, zg_errmsg *em)
{
	body_buf b = {.max = rpc->opts.max_response_bytes};
	long long id = rpc->next_id++;
	json_t *req = NULL, *resp = NULL;
	char *body = NULL;
	json_error_t jerr;
	zg_err err = ZG_ERR_NOMEM;

	*result = NULL;
	req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id",
	    (json_int_t)id, "method", method, "params", params);
	params = NULL;
	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL)
		goto out;
	if ((err = http_post(rpc, method, body, &b, em)) != ZG_OK)
		goto out;

	err = ZG_ERR_UPSTREAM;
	resp = json_loadb(b.data != NULL ? b.data : "", b.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (resp == NULL) {
		zg_fail(em, err, "%s to %s failed: the response is not valid "
		    "JSON: %s", method, rpc->name, jerr.text);
		goto out;
	}
	const json_t *rid = json_object_get(resp, "id");
	const json_t *res = json_object_get(resp, "result");
	const json_t *error = json_object_get(resp, "error");
	if (!json_is_object(resp) || !json_is_integer(rid) ||
	    json_integer_value(rid) != id || (res == NULL) == (error == NULL)) {
		zg_fail(em, err, "%s to %s failed: the response is not a "
		    "JSON-RPC 2.0 response to request %lld", method, rpc->name,
		    id);
		goto out;
	}
	if (error != NULL) {
		err = take_error(rpc, method, error, fault, em);
		goto out;
	}
	*result = json_incref((json_t *)res);
	/* success */
	err = ZG_OK;
out:
	json_decref(params);
	json_decref(req);
	json_decref(resp);
	zg_json_free_text(body);
	free(b.data);
	return err;
}

/* Reads a "0x" hex quantity result. */
static zg_err
result_quantity(zg_rpc *rpc, const char *method, const json_t *res,
    zg_u256 *out, zg_errmsg *em)
{
	const char *s = json_string_value(res);

	if (s == NULL || s[0] != '0' || s[1] != 'x' ||
	    zg_u256_parse(s, "result", out, NULL) != ZG_OK)
		return zg_fail(em, ZG_ERR_UPSTREAM, "%s to %s failed: the "
		    "result is not a hex quantity of at most 256 bits", method,
		    rpc->name);
	return ZG_OK;
}

/* Appends v to obj as a hex quantity without leading zeros. */
static zg_err
put_quantity(json_t *obj, const char *key, const zg_u256 *v)
{
	uint8_t be[32];
	char hex[2 + 64 + 1] = "0x0";
	size_t n = zg_u256_to_be_min(v, be);

	if (n > 0) {
		zg_hex_encode(be, n, hex + 2);
		if (hex[2] == '0')
			memmove(hex + 2, hex + 3, strlen(hex + 3) + 1);
	}
	return json_object_set_new(obj, key, json_string(hex)) == 0 ? ZG_OK :
	    ZG_ERR_NOMEM;
}

static zg_err
put_bytes(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 + 2 * n + 1);
	zg_err err = ZG_ERR_NOMEM;

	if (hex == NULL)
		return err;
	memcpy(hex, "0x", 2);
	zg_hex_encode(p, n, hex + 2);
	if (json_object_set_new(obj, key, json_string(hex)) == 0)
		err = ZG_OK;
	free(hex);
	return err;
}

static json_t *
access_list_json(const zg_tx *tx)
{
	json_t *list = json_array();
	char addr[2 + 40 + 1] = "0x", key[2 + 64 + 1] = "0x";

	for (size_t i = 0; list != NULL && i < tx->access_len; i++) {
		const zg_access_entry *e = &tx->access_list[i];
		json_t *keys = json_array();
		for (size_t k = 0; keys != NULL && k < e->nkeys; k++) {
			zg_hex_encode(e->storage_keys[k], 32, key + 2);
			json_array_append_new(keys, json_string(key));
		}
		zg_hex_encode(e->address, 20, addr + 2);
		if (keys == NULL || json_array_append_new(list, json_pack(
		    "{s:s, s:o}", "address", addr, "storageKeys", keys)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

/* Builds the transaction call object of eth_call and eth_estimateGas. */
static json_t *
call_object(const zg_tx *tx, const uint8_t from[20])
{
	json_t *obj = json_object();
	zg_err err = ZG_ERR_NOMEM;

	if (obj == NULL)
		return NULL;
	if ((err = put_bytes(obj, "from", from, 20)) != ZG_OK)
		goto out;
	if (tx->has_to && (err = put_bytes(obj, "to", tx->to, 20)) != ZG_OK)
		goto out;
	if (tx->data_len > 0 &&
	    (err = put_bytes(obj, "data", tx->data, tx->data_len)) != ZG_OK)
		goto out;
	if (!zg_u256_is_zero(&tx->value) &&
	    (err = put_quantity(obj, "value", &tx->value)) != ZG_OK)
		goto out;
	if (!zg_u256_is_zero(&tx->gas) &&
	    (err = put_quantity(obj, "gas", &tx->gas)) != ZG_OK)
		goto out;
	if (tx->type == 2) {
		if (!zg_u256_is_zero(&tx->max_fee_per_gas) &&
		    (err = put_quantity(obj, "maxFeePerGas",
		    &tx->max_fee_per_gas)) != ZG_OK)
			goto out;
		if (!zg_u256_is_zero(&tx->max_priority_fee_per_gas) &&
		    (err = put_quantity(obj, "maxPriorityFeePerGas",
		    &tx->max_priority_fee_per_gas)) != ZG_OK)
			goto out;
	} else if (!zg_u256_is_zero(&tx->gas_price) &&
	    (err = put_quantity(obj, "gasPrice", &tx->gas_price)) != ZG_OK) {
		goto out;
	}
	if (tx->type != 0 && tx->access_len > 0 &&
	    json_object_set_new(obj, "accessList", access_list_json(tx)) != 0) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

zg_err
zg_rpc_chain_id(zg_rpc *rpc, zg_u256 *out, zg_errmsg *em)
{
	json_t *res = NULL;
	zg_err err;

	if ((err = rpc_request(rpc, "eth_chainId", json_array(), &res, NULL,
	    em)) != ZG_OK)
		return err;
	err = result_quantity(rpc, "eth_chainId", res, out, em);
	json_decref(res);
	return err;
}

zg_err
zg_rpc_get_balance(zg_rpc *rpc, const uint8_t address[20], zg_u256 *out,
    zg_errmsg *em)
{
	char addr[2 + 40 + 1] = "0x";
	json_t *res = NULL;
	zg_err err;

	zg_hex_encode(address, 20, addr + 2);
	if ((err = rpc_request(rpc, "eth_getBalance",
	    json_pack("[s, s]", addr, "latest"), &res, NULL, em)) != ZG_OK)
		return err;
	err = result_quantity(rpc, "eth_getBalance", res, out, em);
	json_decref(res);
	return err;
}

zg_err
zg_rpc_call(zg_rpc *rpc, const zg_tx *tx, const uint8_t from[20],
    uint8_t **ret, size_t *ret_len, zg_rpc_error *fault, zg_errmsg *em)
{
	json_t *call = call_object(tx, from), *res = NULL;
	zg_err err;

	*ret = NULL;
	*ret_len = 0;
	zg_rpc_error_clear(fault);
	if (call == NULL)
		return ZG_ERR_NOMEM;
	if ((err = rpc_request(rpc, "eth_call", json_pack("[o, s]", call,
	    "latest"), &res, fault, em)) != ZG_OK || res == NULL)
		return err;
	const char *s = json_string_value(res);
	if (s == NULL || zg_chain_hex_decode(s, "result", ret, ret_len,
	    NULL) != ZG_OK)
		err = zg_fail(em, ZG_ERR_UPSTREAM, "eth_call to %s failed: the "
		    "result is not \"0x\" hex data", rpc->name);
	json_decref(res);
	return err;
}

zg_err
zg_rpc_estimate_gas(zg_rpc *rpc, const zg_tx *tx, const uint8_t from[20],
    uint64_t *gas, zg_rpc_error *fault, zg_errmsg *em)
{
	json_t *call = call_object(tx, from), *res = NULL;
	zg_u256 v;
	zg_err err;

	*gas = 0;
	zg_rpc_error_clear(fault);
	if (call == NULL)
		return ZG_ERR_NOMEM;
	if ((err = rpc_request(rpc, "eth_estimateGas", json_pack("[o]", call),
	    &res, fault, em)) != ZG_OK || res == NULL)
		return err;
	err = result_quantity(rpc, "eth_estimateGas", res, &v, em);
	if (err == ZG_OK && !zg_u256_to_u64(&v, gas))
		err = zg_fail(em, ZG_ERR_UPSTREAM, "eth_estimateGas to %s "
		    "failed: the estimate does not fit in 64 bits", rpc->name);
	json_decref(res);
	return err;
}
