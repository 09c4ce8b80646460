/* libmicrohttpd glue: request intake, the worker pool and responses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "server/server.h"

enum req_state {
	ST_RECEIVING = 0,  /* reading the body */
	ST_DISCARDING,     /* an early error: skip the body, then reply */
	ST_QUEUED,         /* suspended: queued for a worker or awaiting audit */
	ST_DONE,           /* the response is ready to queue */
	ST_SENT,
};

/*
 * Memory per connection, in which libmicrohttpd keeps the request line
 * and headers and which it clears between requests: room for a 16 KiB
 * bearer credential and ordinary headers.
 */
#define ZG_HTTP_CONN_MEMORY (24 * 1024)

struct http_req {
	zg_request req;
	struct MHD_Connection *conn;
	enum req_state state;
	char allow[64];
	size_t discarded;          /* body bytes read and dropped */
	struct zg_server *srv;
	bool suspended;            /* a read waits for its audit event */
	bool async_done;           /* that event has been settled */
	struct http_req *next;     /* worker queue link */
};

struct zg_server {
	zg_app *app;
	struct MHD_Daemon *daemon;
	char *tls_cert;
	char *tls_key;
	pthread_t *workers;
	unsigned nworkers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t idle;
	struct http_req *head;
	struct http_req *tail;
	unsigned busy;             /* queued or running in a worker */
	bool stopping;
	bool draining;             /* no new work is accepted */
	atomic_ullong request_seq;
};

struct response_buf {
	size_t len;
	char data[];
};

static void
response_free(void *cls)
{
	struct response_buf *rb = cls;
	zg_wipe(rb->data, rb->len);
	free(rb);
}

static enum MHD_Result
send_response(struct http_req *hr)
{
	zg_request *req = &hr->req;
	char *text = NULL;
	struct response_buf *rb = NULL;
	enum MHD_Result ret;

	if (req->response == NULL) {
		req->status = 500;
		req->response = zg_error_body(ZG_ERR_INTERNAL, NULL);
	}
	text = json_dumps(req->response, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	rb = malloc(sizeof(*rb) + len + 1);
	if (text == NULL || rb == NULL) {
		free(rb);
		zg_json_free_text(text);
		return MHD_NO;
	}
	rb->len = len + 1;
	memcpy(rb->data, text, len);
	rb->data[len] = '\n';
	zg_json_free_text(text);

	struct MHD_Response *resp =
	    MHD_create_response_from_buffer_with_free_callback_cls(rb->len,
	    rb->data, response_free, rb);
	if (resp == NULL) {
		response_free(rb);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (req->status == 429 && req->retry_after_s > 0) {
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)req->retry_after_s);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (req->status == 405 && hr->allow[0] != '\0')
		MHD_add_response_header(resp, "Allow", hr->allow);
	ret = MHD_queue_response(hr->conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	hr->state = ST_SENT;

	double ms = (double)(zg_time_mono_us() - req->start_us) / 1000.0;
	zg_err code = req->result != ZG_OK ? req->result : req->em.code;
	zg_log_info("request", ZGF_S("request_id", req->request_id),
	    ZGF_S("method", req->method),
	    ZGF_S("route", req->route ? req->route->pattern : req->path),
	    ZGF_I("status", req->status), ZGF_D("latency_ms", ms),
	    ZGF_S("error", req->status >= 400 ? zg_err_name(code) : ""),
	    ZGF_S("resource", req->audit_resource),
	    ZGF_S("principal", req->authenticated ? req->principal.user_id : ""),
	    ZGF_S("token_id", req->authenticated ? req->principal.token_id : ""));
	return ret;
}

static void
fail_early(struct http_req *hr, zg_err err, enum req_state next)
{
	zg_req_reply(&hr->req, zg_err_http_status(err),
	    zg_error_body(err, &hr->req.em));
	hr->state = next;
}

/*
 * Suspends the connection and queues the request for a worker, unless the
 * server is draining. Both happen under the lock so that zg_server_stop
 * never misses a request that is about to be queued.
 */
static bool
pool_push(struct zg_server *srv, struct http_req *hr)
{
	pthread_mutex_lock(&srv->lock);
	if (srv->draining) {
		pthread_mutex_unlock(&srv->lock);
		return false;
	}
	hr->state = ST_QUEUED;
	MHD_suspend_connection(hr->conn);
	hr->next = NULL;
	if (srv->tail)
		srv->tail->next = hr;
	else
		srv->head = hr;
	srv->tail = hr;
	srv->busy++;
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return true;
}

/* Settles a read whose audit event was pending; runs on the writer thread. */
static void
read_done(zg_request *req)
{
	struct http_req *hr = (struct http_req *)req;
	struct zg_server *srv = hr->srv;

	pthread_mutex_lock(&srv->lock);
	hr->async_done = true;
	hr->state = ST_DONE;
	if (hr->suspended)
		MHD_resume_connection(hr->conn);
	if (--srv->busy == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

/*
 * Runs a read-only route on the HTTP thread. Its handler does not block on
 * fsync, and its audit event is awaited without holding a thread: the
 * connection is suspended and the audit writer resumes it. This saves two
 * thread hand-offs per read compared with the worker pool.
 */
static enum MHD_Result
start_read(struct zg_server *srv, struct http_req *hr)
{
	pthread_mutex_lock(&srv->lock);
	if (srv->draining) {
		pthread_mutex_unlock(&srv->lock);
		zg_fail(&hr->req.em, ZG_ERR_UNAVAILABLE,
		    "the server is shutting down; retry shortly");
		fail_early(hr, ZG_ERR_UNAVAILABLE, ST_DONE);
		return send_response(hr);
	}
	srv->busy++;
	hr->state = ST_QUEUED;
	pthread_mutex_unlock(&srv->lock);

	bool pending = zg_dispatch_start(&hr->req, read_done);

	pthread_mutex_lock(&srv->lock);
	if (pending && !hr->async_done) {
		/* Suspended under the lock, so read_done cannot resume the
		 * connection before it is suspended. */
		MHD_suspend_connection(hr->conn);
		hr->suspended = true;
		pthread_mutex_unlock(&srv->lock);
		return MHD_YES;
	}
	if (!pending && --srv->busy == 0)
		pthread_cond_broadcast(&srv->idle);
	hr->state = ST_DONE;
	pthread_mutex_unlock(&srv->lock);
	return send_response(hr);
}

static void *
worker_main(void *arg)
{
	struct zg_server *srv = arg;
	for (;;) {
		pthread_mutex_lock(&srv->lock);
		while (srv->head == NULL && !srv->stopping)
			pthread_cond_wait(&srv->cond, &srv->lock);
		if (srv->head == NULL) {
			pthread_mutex_unlock(&srv->lock);
			return NULL;
		}
		struct http_req *hr = srv->head;
		srv->head = hr->next;
		if (srv->head == NULL)
			srv->tail = NULL;
		pthread_mutex_unlock(&srv->lock);

		zg_dispatch(&hr->req);
		hr->state = ST_DONE;
		MHD_resume_connection(hr->conn);

		pthread_mutex_lock(&srv->lock);
		if (--srv->busy == 0)
			pthread_cond_broadcast(&srv->idle);
		pthread_mutex_unlock(&srv->lock);
	}
}

static enum MHD_Result
collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	zg_request *req = cls;
	if (req->nquery == ZG_MAX_QUERY) {
		req->query_overflow = true;
		return MHD_NO;
	}
	req->query[req->nquery].key = strdup(key);
	req->query[req->nquery].value = strdup(value ? value : "");
	req->nquery++;
	return MHD_YES;
}

static void
client_address(struct MHD_Connection *conn, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)outsz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    out, (socklen_t)outsz);
}

/* Sets up a new request: ids, headers, route. May mark an early error. */
static struct http_req *
request_begin(struct zg_server *srv, struct MHD_Connection *conn,
    const char *url, const char *method)
{
	struct http_req *hr = calloc(1, sizeof(*hr));
	if (hr == NULL)
		return NULL;
	zg_request *req = &hr->req;
	hr->conn = conn;
	hr->srv = srv;
	req->app = srv->app;
	req->start_us = zg_time_mono_us();
	snprintf(req->method, sizeof(req->method), "%s", method);
	snprintf(req->path, sizeof(req->path), "%s", url);
	unsigned long long seq = atomic_fetch_add(&srv->request_seq, 1);
	uint8_t rnd[4] = {0};
	if (zg_random(rnd, sizeof(rnd)) != ZG_OK)
		memset(rnd, 0, sizeof(rnd));
	char rhex[9];
	zg_hex_encode(rnd, sizeof(rnd), rhex);
	snprintf(req->request_id, sizeof(req->request_id), "%s%08llx", rhex,
	    seq & 0xffffffffULL);
	client_address(conn, req->client_ip, sizeof(req->client_ip));

	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (v != NULL)
		req->authorization = strdup(v);
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_USER_AGENT);
	if (v != NULL)
		snprintf(req->user_agent, sizeof(req->user_agent), "%s", v);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, req);

	if (strlen(url) >= sizeof(req->path)) {
		zg_fail(&req->em, ZG_ERR_NOT_FOUND, "the request path is too long");
		fail_early(hr, ZG_ERR_NOT_FOUND, ST_DISCARDING);
		return hr;
	}
	zg_err err = zg_route_match(method, url, req, hr->allow,
	    sizeof(hr->allow));
	if (err == ZG_ERR_NOT_FOUND) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(url, q, sizeof(q));
		zg_fail(&req->em, err, "no route for path \"%s\"", q);
		fail_early(hr, err, ST_DISCARDING);
	} else if (err == ZG_ERR_METHOD) {
		zg_fail(&req->em, err, "method %s is not allowed on %s; allowed: %s",
		    method, req->path, hr->allow);
		fail_early(hr, err, ST_DISCARDING);
	} else if (req->query_overflow) {
		zg_fail(&req->em, ZG_ERR_INVALID,
		    "too many query parameters; at most %d are accepted",
		    ZG_MAX_QUERY);
		fail_early(hr, ZG_ERR_INVALID, ST_DISCARDING);
	}
	return hr;
}

static void
mark_too_large(struct http_req *hr, size_t limit)
{
	zg_fail(&hr->req.em, ZG_ERR_TOO_LARGE,
	    "request body exceeds the limit of %zu bytes", limit);
	fail_early(hr, ZG_ERR_TOO_LARGE, ST_DISCARDING);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct zg_server *srv = cls;
	struct http_req *hr = *con_cls;
	size_t limit = srv->app->cfg.max_body_bytes;

	if (hr == NULL) {
		if ((hr = request_begin(srv, conn, url, method)) == NULL)
			return MHD_NO;
		*con_cls = hr;
		const char *cl = MHD_lookup_connection_value(conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > limit) {
			/* Rejected before reading; libmicrohttpd then closes
			 * the connection instead of reading the body. */
			mark_too_large(hr, limit);
			hr->state = ST_DONE;
			return send_response(hr);
		}
		return MHD_YES;
	}
	if (hr->state == ST_SENT) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (hr->state == ST_DISCARDING) {
			/* libmicrohttpd 0.9.75 accepts no response in the middle
			 * of an upload, so a chunked body that is too large is
			 * read and dropped, up to 16 times the limit, and the
			 * 413 goes out at the end. Beyond that, hang up. */
			hr->discarded += n;
			return hr->discarded > 16 * limit ? MHD_NO : MHD_YES;
		}
		if (n > limit - hr->req.body.len) {
			zg_buf_free(&hr->req.body);
			hr->discarded = n;
			mark_too_large(hr, limit);
			return MHD_YES;
		}
		if (zg_buf_append(&hr->req.body, upload_data, n) != ZG_OK)
			return MHD_NO;
		return MHD_YES;
	}
	switch (hr->state) {
	case ST_RECEIVING:
		if (hr->req.route->flags & ZG_ROUTE_INLINE) {
			zg_dispatch(&hr->req);
			return send_response(hr);
		}
		if (hr->req.route->flags & ZG_ROUTE_READ)
			return start_read(srv, hr);
		if (pool_push(srv, hr))
			return MHD_YES;
		zg_fail(&hr->req.em, ZG_ERR_UNAVAILABLE,
		    "the server is shutting down; retry shortly");
		fail_early(hr, ZG_ERR_UNAVAILABLE, ST_DONE);
		return send_response(hr);
	case ST_DISCARDING:
	case ST_DONE:
		return send_response(hr);
	default:
		return MHD_YES;
	}
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_req *hr = *con_cls;
	if (hr == NULL)
		return;
	zg_request *req = &hr->req;
	zg_free_str_wiped(req->authorization);
	zg_principal_clear(&req->principal);
	if (req->object != NULL && req->object_free != NULL)
		req->object_free(req->object);
	for (size_t i = 0; i < req->nquery; i++) {
		free(req->query[i].key);
		zg_free_str_wiped(req->query[i].value);
	}
	zg_buf_free(&req->body);
	json_decref(req->response);
	json_decref(req->audit_metadata);
	/* The parts that contained secrets (the Authorization header, query
	 * values, the body, JSON through the wiping allocator) are wiped
	 * above. The rest of the request (path, ids, principal) is not
	 * secret, so it is freed without clearing about 4 KiB more. */
	free(hr);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	zg_log_warn("libmicrohttpd", ZGF_S("detail", msg));
}

static char *
read_file(const char *path, zg_errmsg *em)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	if (f == NULL) {
		zg_fail(em, ZG_ERR_CONFIG, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
		    (buf = malloc((size_t)n + 1)) != NULL) {
			if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
				buf[n] = '\0';
			} else {
				free(buf);
				buf = NULL;
			}
		}
	}
	fclose(f);
	if (buf == NULL)
		zg_fail(em, ZG_ERR_CONFIG, "cannot read %s", path);
	return buf;
}

/* Fills ss from the numeric listen host and port of cfg. */
static zg_err
listen_address(const zg_config *cfg, struct sockaddr_storage *ss,
    socklen_t *len, zg_errmsg *em)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, cfg->listen_host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cfg->listen_port);
		*len = sizeof(*s4);
		return ZG_OK;
	}
	if (inet_pton(AF_INET6, cfg->listen_host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)cfg->listen_port);
		*len = sizeof(*s6);
		return ZG_OK;
	}
	return zg_fail(em, ZG_ERR_CONFIG, "listen host \"%s\" is not a numeric "
	    "IPv4 or IPv6 address", cfg->listen_host);
}

zg_err
zg_server_probe_listen(const zg_config *cfg, zg_errmsg *em)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	zg_err err = listen_address(cfg, &ss, &len, em);
	if (err != ZG_OK)
		return err;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return zg_fail(em, ZG_ERR_IO, "cannot create a socket: %s",
		    strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		int e = errno;
		close(fd);
		return zg_fail(em, ZG_ERR_IO, "cannot listen on %s port %u: %s; "
		    "stop the other process or choose another --listen address",
		    cfg->listen_host, cfg->listen_port, strerror(e));
	}
	close(fd);
	return ZG_OK;
}

static unsigned
core_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

zg_err
zg_server_start(zg_app *app, struct zg_server **out, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	struct zg_server *srv = calloc(1, sizeof(*srv));
	const zg_config *cfg = &app->cfg;
	struct sockaddr_storage ss;
	socklen_t sslen;

	*out = NULL;
	if (srv == NULL)
		return ZG_ERR_NOMEM;
	srv->app = app;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	pthread_cond_init(&srv->idle, NULL);

	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG;
	if ((err = listen_address(cfg, &ss, &sslen, em)) != ZG_OK)
		goto out;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	unsigned threads = cfg->http_threads ? cfg->http_threads : core_count();
	/* Workers mostly sleep on fsync and on the audit log's group commit,
	 * and a commit can only batch as many events as there are workers
	 * waiting, so there are many more workers than cores. */
	srv->nworkers = cfg->workers ? cfg->workers : 8 * core_count();
	if (srv->nworkers < 64 && cfg->workers == 0)
		srv->nworkers = 64;

	struct MHD_OptionItem opts[16];
	size_t n = 0;
	/* The logger goes first so that it receives errors about later options. */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER,
	    (intptr_t)mhd_log, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
	    (intptr_t)threads, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)on_completed, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60,
	    NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 10000,
	    NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
	    NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    ZG_HTTP_CONN_MEMORY, NULL};
	if (cfg->tls_cert[0] != '\0') {
		if ((srv->tls_cert = read_file(cfg->tls_cert, em)) == NULL ||
		    (srv->tls_key = read_file(cfg->tls_key, em)) == NULL) {
			err = ZG_ERR_CONFIG;
			goto out;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
		    srv->tls_cert};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
		    srv->tls_key};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3"};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	if (srv->workers == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0) {
			srv->nworkers = i;
			err = zg_fail(em, ZG_ERR_INTERNAL,
			    "cannot start worker threads");
			goto out;
		}
	}
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		err = zg_fail(em, ZG_ERR_IO, cfg->tls_cert[0] != '\0' ?
		    "cannot listen on %s port %u: the address is in use or not "
		    "local, or the TLS certificate or key is invalid" :
		    "cannot listen on %s port %u: the address is in use or not "
		    "local", cfg->listen_host, cfg->listen_port);
		goto out;
	}
	zg_log_info("listening", ZGF_S("host", cfg->listen_host),
	    ZGF_I("port", cfg->listen_port), ZGF_I("http_threads", threads),
	    ZGF_I("workers", srv->nworkers),
	    ZGF_S("tls", cfg->tls_cert[0] ? "1.3" : "off"));
	*out = srv;
	srv = NULL; /* owned by the caller now */
	/* success */
	err = ZG_OK;
out:
	if (srv != NULL)
		zg_server_stop(srv);
	return err;
}

void
zg_server_stop(struct zg_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->daemon != NULL) {
		/* Stop accepting, then let every queued request finish. */
		MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		pthread_mutex_lock(&srv->lock);
		srv->draining = true;
		while (srv->busy > 0)
			pthread_cond_wait(&srv->idle, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
		MHD_stop_daemon(srv->daemon);
	}
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	for (unsigned i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	free(srv->workers);
	zg_free_str_wiped(srv->tls_key);
	free(srv->tls_cert);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	pthread_cond_destroy(&srv->idle);
	free(srv);
}
