/*
 * The URL source of a JWKS: fetching the set with libcurl and caching it
 * for the max-age of the response's Cache-Control header.
 */
#include "authn/jwks.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "authn/jwks_internal.h"
#include "base/log.h"

#define JWKS_DEFAULT_CONNECT_TIMEOUT_S 5
#define JWKS_DEFAULT_TIMEOUT_S 10
#define JWKS_DEFAULT_MAX_AGE_CAP_S 86400

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

zg_err
zg_jwks_open_url(const char *url, const zg_jwks_options *opts, zg_jwks **out,
    zg_errmsg *em)
{
	*out = NULL;
	if (strncasecmp(url, "https://", 8) != 0 &&
	    strncasecmp(url, "http://", 7) != 0)
		return zg_fail(em, ZG_ERR_CONFIG,
		    "jwks_url must start with http:// or https://");
	zg_jwks *ks = calloc(1, sizeof(*ks));
	if (ks == NULL)
		return ZG_ERR_NOMEM;
	pthread_rwlock_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->reload_lock, NULL);
	if ((ks->url = strdup(url)) == NULL) {
		zg_jwks_free(ks);
		return ZG_ERR_NOMEM;
	}
	if (opts != NULL)
		ks->opts = *opts;
	if (ks->opts.connect_timeout_seconds <= 0)
		ks->opts.connect_timeout_seconds =
		    JWKS_DEFAULT_CONNECT_TIMEOUT_S;
	if (ks->opts.timeout_seconds <= 0)
		ks->opts.timeout_seconds = JWKS_DEFAULT_TIMEOUT_S;
	if (ks->opts.max_bytes == 0)
		ks->opts.max_bytes = JWKS_DEFAULT_MAX_BYTES;
	if (ks->opts.max_age_cap_seconds <= 0)
		ks->opts.max_age_cap_seconds = JWKS_DEFAULT_MAX_AGE_CAP_S;
	pthread_once(&curl_once, curl_init_once);
	*out = ks;
	return ZG_OK;
}

/* A response body being received, and the max-age from its headers. */
typedef struct fetch_buf {
	char *data;
	size_t len;
	size_t max;
	long max_age;                  /* -1 when absent */
	bool too_large;
} fetch_buf;

static size_t
fetch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	fetch_buf *b = arg;
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

/* Reads max-age from a Cache-Control header; no-store and no-cache
 * count as 0. */
static size_t
fetch_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	fetch_buf *b = arg;
	size_t n = size * nmemb;
	static const char name[] = "cache-control:";
	if (n <= sizeof(name) - 1 || strncasecmp(ptr, name, sizeof(name) - 1))
		return n;
	char line[256];
	size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
	memcpy(line, ptr, m);
	line[m] = '\0';
	for (char *p = line; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (strstr(line, "no-store") || strstr(line, "no-cache")) {
		b->max_age = 0;
		return n;
	}
	const char *p = strstr(line, "max-age=");
	if (p != NULL) {
		char *end;
		errno = 0;
		long long v = strtoll(p + 8, &end, 10);
		if (end != p + 8 && errno == 0 && v >= 0)
			b->max_age = v > LONG_MAX ? LONG_MAX : (long)v;
	}
	return n;
}

static int64_t
clamp_max_age(const zg_jwks *ks, long max_age)
{
	if (max_age < 0)
		max_age = ZG_JWKS_DEFAULT_MAX_AGE_S;
	if (max_age < ZG_JWKS_MIN_MAX_AGE_S)
		max_age = ZG_JWKS_MIN_MAX_AGE_S;
	if (max_age > ks->opts.max_age_cap_seconds)
		max_age = ks->opts.max_age_cap_seconds;
	return max_age;
}

/* Fetches the URL and installs the set. Called with reload_lock held. */
zg_err
zg_jwks_fetch_url(zg_jwks *ks, int64_t now, zg_errmsg *em)
{
	fetch_buf b = {.max = ks->opts.max_bytes, .max_age = -1};
	keyset *s = NULL;
	long status = 0;
	zg_err err = ZG_ERR_UPSTREAM;
	CURL *c = curl_easy_init();

	if (c == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, ks->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, ks->opts.connect_timeout_seconds);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, ks->opts.timeout_seconds);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)ks->opts.max_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fetch_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "zguard-jwks");

	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		zg_fail(em, err, "fetching JWKS from %s failed: %s", ks->url,
		    b.too_large ? "response larger than the maximum" :
		    curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		zg_fail(em, err, "fetching JWKS from %s failed: HTTP status "
		    "%ld", ks->url, status);
		goto out;
	}
	if (zg_jwks_keyset_parse(b.data ? b.data : "", b.len, ks->url, &s,
	    em) != ZG_OK) {
		if (em != NULL)
			em->code = err;
		goto out;
	}
	int64_t max_age = clamp_max_age(ks, b.max_age);
	zg_log_info("JWKS fetched", ZGF_S("url", ks->url),
	    ZGF_I("keys", s->n), ZGF_I("max_age_s", max_age));
	zg_jwks_install(ks, s, NULL, now + max_age);
	s = NULL;
	err = ZG_OK;
out:
	if (err != ZG_OK) {
		zg_log_warn("JWKS fetch failed", ZGF_S("url", ks->url),
		    ZGF_S("reason", em != NULL ? em->text : ""));
		pthread_rwlock_wrlock(&ks->lock);
		ks->next_attempt = now + ZG_JWKS_RETRY_AFTER_FAILURE_S;
		pthread_rwlock_unlock(&ks->lock);
	}
	zg_jwks_keyset_free(s);
	free(b.data);
	if (c != NULL)
		curl_easy_cleanup(c);
	return err;
}
