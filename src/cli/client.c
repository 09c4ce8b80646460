#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "cli/cli.h"

struct zg_client {
	char *addr;    /* base URL without a trailing '/' */
	char *token;   /* NULL for routes without authentication */
	const char *cacert;
	CURL *curl;
	bool curl_ready; /* curl_global_init_mem succeeded */
};

/*
 * libcurl copies the Authorization header and keeps received bytes in its
 * own buffers. Giving it allocation functions that wipe each block on free
 * keeps the token and credential values from lingering on the heap. Each
 * block carries its size in a header in front of the returned pointer.
 */
#define ALLOC_HEADER 16

static void *
wiping_malloc(size_t n)
{
	if (n > SIZE_MAX - ALLOC_HEADER)
		return NULL;
	unsigned char *p = malloc(n + ALLOC_HEADER);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + ALLOC_HEADER;
}

static size_t
wiping_size(void *ptr)
{
	size_t n;
	memcpy(&n, (unsigned char *)ptr - ALLOC_HEADER, sizeof(n));
	return n;
}

static void
wiping_free(void *ptr)
{
	if (ptr == NULL)
		return;
	unsigned char *p = (unsigned char *)ptr - ALLOC_HEADER;
	zg_wipe(p, wiping_size(ptr) + ALLOC_HEADER);
	free(p);
}

static void *
wiping_realloc(void *ptr, size_t n)
{
	if (ptr == NULL)
		return wiping_malloc(n);
	if (n == 0) {
		wiping_free(ptr);
		return NULL;
	}
	void *q = wiping_malloc(n);
	if (q == NULL)
		return NULL;
	size_t old = wiping_size(ptr);
	memcpy(q, ptr, old < n ? old : n);
	wiping_free(ptr);
	return q;
}

static char *
wiping_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *q = wiping_malloc(n);
	if (q != NULL)
		memcpy(q, s, n);
	return q;
}

static void *
wiping_calloc(size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		return NULL;
	void *q = wiping_malloc(count * size);
	if (q != NULL)
		memset(q, 0, count * size);
	return q;
}

const char *
zg_client_pick_addr(const char *flag)
{
	if (flag != NULL)
		return flag;
	const char *env = getenv("ZGUARD_ADDR");
	if (env != NULL && env[0] != '\0')
		return env;
	return ZG_CLIENT_DEFAULT_ADDR;
}

/* Rejects bytes that could end or split the Authorization header. */
static bool
token_is_printable(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < 0x21 || *s > 0x7e)
			return false;
	}
	return true;
}

int
zg_client_read_token_file(const char *path, char **out)
{
	int rc = ZG_EXIT_IO;
	char buf[ZG_CLIENT_MAX_TOKEN + 2];
	size_t len = 0;
	*out = NULL;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "zguard: cannot open token file %s: %s\n",
		    path, strerror(errno));
		goto out;
	}
	/* Read one byte more than allowed so an oversized file is caught. */
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "zguard: cannot read token file %s: "
			    "%s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > ZG_CLIENT_MAX_TOKEN) {
		fprintf(stderr, "zguard: token file %s is larger than %d "
		    "bytes\n", path, ZG_CLIENT_MAX_TOKEN);
		goto out;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (strlen(buf) != len || !token_is_printable(buf)) {
		fprintf(stderr, "zguard: token file %s is empty or contains "
		    "a character that is not printable ASCII\n", path);
		goto out;
	}
	if ((*out = strdup(buf)) == NULL) {
		fprintf(stderr, "zguard: out of memory\n");
		goto out;
	}
	/* success */
	rc = ZG_EXIT_OK;
out:
	zg_wipe(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return rc;
}

static int
client_load_token(zg_client *c, const struct zg_cli_globals *g,
    bool need_token)
{
	if (!need_token)
		return ZG_EXIT_OK;
	if (g->token_file != NULL)
		return zg_client_read_token_file(g->token_file, &c->token);

	const char *env = getenv("ZGUARD_TOKEN");
	if (env != NULL && env[0] != '\0') {
		if (!token_is_printable(env)) {
			fprintf(stderr, "zguard: ZGUARD_TOKEN contains a "
			    "character that is not printable ASCII\n");
			return ZG_EXIT_USAGE;
		}
		if ((c->token = strdup(env)) == NULL) {
			fprintf(stderr, "zguard: out of memory\n");
			return ZG_EXIT_IO;
		}
		return ZG_EXIT_OK;
	}
	fprintf(stderr, "zguard: no token: pass --token-file FILE or set "
	    "ZGUARD_TOKEN\n");
	return ZG_EXIT_USAGE;
}

int
zg_client_new(const struct zg_cli_globals *g, bool need_token,
    zg_client **out)
{
	int rc = ZG_EXIT_IO;
	zg_client *c = NULL;
	*out = NULL;

	const char *addr = zg_client_pick_addr(g->addr);
	if (strncmp(addr, "http://", 7) != 0 &&
	    strncmp(addr, "https://", 8) != 0) {
		fprintf(stderr, "zguard: invalid address '%s': expected "
		    "http://HOST:PORT or https://HOST:PORT\n", addr);
		rc = ZG_EXIT_USAGE;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->addr = strdup(addr)) == NULL) {
		fprintf(stderr, "zguard: out of memory\n");
		goto out;
	}
	size_t n = strlen(c->addr);
	while (n > 0 && c->addr[n - 1] == '/')
		c->addr[--n] = '\0';
	c->cacert = g->cacert;

	if ((rc = client_load_token(c, g, need_token)) != ZG_EXIT_OK)
		goto out;
	rc = ZG_EXIT_IO;

	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, wiping_malloc,
	    wiping_free, wiping_realloc, wiping_strdup,
	    wiping_calloc) != CURLE_OK) {
		fprintf(stderr, "zguard: cannot initialize libcurl\n");
		goto out;
	}
	c->curl_ready = true;
	if ((c->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "zguard: cannot initialize libcurl\n");
		goto out;
	}
	/* success */
	*out = c;
	c = NULL;
	rc = ZG_EXIT_OK;
out:
	zg_client_free(c);
	return rc;
}

void
zg_client_free(zg_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->curl_ready)
		curl_global_cleanup();
	zg_free_str_wiped(c->token);
	free(c->addr);
	free(c);
}

struct response {
	zg_buf body;
	bool too_large;
};

static size_t
on_body(char *data, size_t size, size_t count, void *arg)
{
	struct response *r = arg;
	size_t n = size * count;
	if (n > ZG_CLIENT_MAX_RESPONSE - r->body.len) {
		r->too_large = true;
		return 0;
	}
	if (zg_buf_append(&r->body, data, n) != ZG_OK)
		return 0;
	return n;
}

static int
append_json(const char *data, size_t n, void *arg)
{
	return zg_buf_append(arg, data, n) == ZG_OK ? 0 : -1;
}

/* Prints a server-supplied string with control bytes replaced by '?'. */
static void
print_sanitized(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static int
report_error_response(long status, json_t *resp)
{
	json_t *e = json_object_get(resp, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (code == NULL || msg == NULL) {
		fprintf(stderr, "zguard: the server returned HTTP %ld without "
		    "an error message\n", status);
		return ZG_EXIT_FAILED;
	}
	fputs("zguard: ", stderr);
	print_sanitized(stderr, msg);
	fputs(" (", stderr);
	print_sanitized(stderr, code);
	fprintf(stderr, ", HTTP %ld)\n", status);
	return ZG_EXIT_FAILED;
}

int
zg_client_request_or_report(zg_client *c, const char *method,
    const char *path, json_t *body, long *status, json_t **out)
{
	int rc = ZG_EXIT_IO;
	zg_buf url = ZG_BUF_INIT, auth = ZG_BUF_INIT, req = ZG_BUF_INIT;
	struct response r = {ZG_BUF_INIT, false};
	struct curl_slist *headers = NULL, *h;
	char errbuf[CURL_ERROR_SIZE] = "";
	json_t *resp = NULL;
	*status = 0;
	*out = NULL;

	if (zg_buf_append_str(&url, c->addr) != ZG_OK ||
	    zg_buf_append_str(&url, path) != ZG_OK ||
	    zg_buf_append_u8(&url, 0) != ZG_OK)
		goto nomem;
	/* POST and PUT carry a JSON body; PUT replaces a resource. */
	bool is_post = strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0;
	if (body != NULL) {
		if (json_dump_callback(body, append_json, &req,
		    JSON_COMPACT) != 0)
			goto nomem;
	} else if (is_post && zg_buf_append_str(&req, "{}") != ZG_OK)
		goto nomem;

	/* Curl copies each header line; its allocator wipes the copies. */
	if ((h = curl_slist_append(headers, "Accept: application/json")) == NULL)
		goto nomem;
	headers = h;
	/* An empty "Expect:" stops curl from waiting for 100-continue. */
	if ((h = curl_slist_append(headers, "Expect:")) == NULL)
		goto nomem;
	headers = h;
	if (is_post) {
		h = curl_slist_append(headers,
		    "Content-Type: application/json");
		if (h == NULL)
			goto nomem;
		headers = h;
	}
	if (c->token != NULL) {
		if (zg_buf_append_str(&auth, "Authorization: Bearer ") != ZG_OK ||
		    zg_buf_append_str(&auth, c->token) != ZG_OK ||
		    zg_buf_append_u8(&auth, 0) != ZG_OK)
			goto nomem;
		if ((h = curl_slist_append(headers, (char *)auth.data)) == NULL)
			goto nomem;
		headers = h;
	}

	CURL *curl = c->curl;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, (char *)url.data);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    (long)ZG_CLIENT_CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT,
	    (long)ZG_CLIENT_REQUEST_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
	if (c->cacert != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
	if (is_post) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (char *)req.data);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)req.len);
		if (strcmp(method, "PUT") == 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

	CURLcode cc = curl_easy_perform(curl);
	if (r.too_large) {
		fprintf(stderr, "zguard: the response from %s is larger than "
		    "%u bytes\n", c->addr, ZG_CLIENT_MAX_RESPONSE);
		goto out;
	}
	if (cc != CURLE_OK) {
		fprintf(stderr, "zguard: cannot reach the server at %s: %s\n",
		    c->addr, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);

	json_error_t jerr;
	resp = json_loadb((const char *)r.body.data, r.body.len, 0, &jerr);
	if (resp == NULL || !json_is_object(resp)) {
		fprintf(stderr, "zguard: the server at %s returned HTTP %ld "
		    "with a body that is not a JSON object; is it a zguard "
		    "server?\n", c->addr, *status);
		goto out;
	}
	if (*status < 200 || *status > 299) {
		rc = report_error_response(*status, resp);
		goto out;
	}
	/* success */
	*out = resp;
	resp = NULL;
	rc = ZG_EXIT_OK;
	goto out;
nomem:
	fprintf(stderr, "zguard: out of memory\n");
out:
	if (c->curl != NULL) {
		/* Drop curl's pointers to buffers that are about to go away. */
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	}
	json_decref(resp);
	curl_slist_free_all(headers);
	zg_buf_free(&url);
	zg_buf_free(&auth);
	zg_buf_free(&req);
	zg_buf_free(&r.body);
	return rc;
}
