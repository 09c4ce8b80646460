/*
 * HTTP behaviour of the daemon: keep-alive across requests of one client
 * and many clients at once. One daemon serves every test of this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "zgtest.h"

#define NTHREADS 8
#define OPS_PER_THREAD 200

static zgt_daemon srv;
static unsigned seed;

static int
group_setup(void **state)
{
	seed = zgt_seed("test_http_protocol");
	return zgt_daemon_start(&srv, NULL);
}

static int
group_teardown(void **state)
{
	int rc = 0;
	zgt_daemon_stop(&srv);
	if (zgt_log_has_errors(&srv)) {
		fprintf(stderr, "the daemon log has errors: %s\n", srv.log_path);
		rc = -1;
	} else {
		zgt_daemon_cleanup(&srv);
	}
	zgt_http_thread_done();
	return rc;
}

/*
 * Sends a request on the calling thread's connection and checks that it
 * got the expected status without a new connection or "Connection: close".
 * Copies the id field of the response into id when id is not NULL.
 */
static void
check_reused(const char *method, const char *path, const char *token,
    const char *body, long status, char *id, size_t idsz)
{
	zgt_resp r;
	assert_int_equal(zgt_http(&srv, method, path, token, body, &r), 0);
	if (r.status != status || r.new_connections != 0)
		fprintf(stderr, "%s %s: %ld, %ld new connections, %s\n", method,
		    path, r.status, r.new_connections, r.body ? r.body : "");
	assert_int_equal(r.status, status);
	assert_int_equal(r.new_connections, 0);
	assert_true(strcasecmp(r.connection, "close") != 0);
	if (id != NULL)
		snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
keepalive_reuses_connection(void **state)
{
	char body[256], id[64], path[128];
	zgt_resp r;

	/* The first request may open the connection. */
	assert_int_equal(zgt_http(&srv, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);

	snprintf(body, sizeof(body), "{\"type\":\"api_token\","
	    "\"name\":\"keepalive-%u\",\"value\":\"v\"}", seed);
	check_reused("GET", "/v1/health", NULL, NULL, 200, NULL, 0);
	check_reused("POST", "/v1/credentials", srv.token, body, 201, id,
	    sizeof(id));
	snprintf(path, sizeof(path), "/v1/credentials/%s", id);
	check_reused("GET", path, srv.token, NULL, 200, NULL, 0);
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	check_reused("GET", path, srv.token, NULL, 200, NULL, 0);
	check_reused("GET", "/v1/credentials?limit=2", srv.token, NULL, 200,
	    NULL, 0);
	check_reused("POST", "/v1/credentials", srv.token, body, 409, NULL, 0);
	check_reused("POST", "/v1/credentials", srv.token, "{", 400, NULL, 0);
	check_reused("GET", "/v1/credentials", NULL, NULL, 401, NULL, 0);
	check_reused("GET", "/v1/credentials/cred_zz", srv.token, NULL, 400,
	    NULL, 0);
	check_reused("GET", "/v1/nothing-here", srv.token, NULL, 404, NULL, 0);
	check_reused("POST", "/v1/nothing-here", srv.token, body, 404, NULL, 0);
	check_reused("DELETE", "/v1/credentials", srv.token, NULL, 405, NULL, 0);
	check_reused("PUT", "/v1/health", NULL, body, 405, NULL, 0);
	check_reused("GET", "/v1/health", NULL, NULL, 200, NULL, 0);
}

static void
after_413_next_works(void **state)
{
	size_t len = 1024 * 1024 + 1;
	char *big = malloc(len);
	zgt_resp r;

	assert_non_null(big);
	memset(big, 'a', len);
	int rc = zgt_http_raw(&srv, "POST", "/v1/credentials", srv.token, big,
	    len, &r);
	free(big);
	assert_int_equal(rc, 0);
	assert_int_equal(r.status, 413);
	zgt_resp_free(&r);

	/* The 413 may close the connection, so this one may open a new one. */
	assert_int_equal(zgt_http(&srv, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	check_reused("GET", "/v1/health", NULL, NULL, 200, NULL, 0);
}

/* What one client thread did, checked by the main thread afterwards. */
struct worker {
	pthread_t thread;
	unsigned index;
	unsigned rng;
	size_t ncreated;
	char ids[OPS_PER_THREAD][40];
	char values[OPS_PER_THREAD][33];
	unsigned ok;
	unsigned failed;
	char first_failure[512];
};

static void
note_failure(struct worker *w, const char *what, const zgt_resp *r, int rc)
{
	if (w->failed++ == 0)
		snprintf(w->first_failure, sizeof(w->first_failure),
		    "thread %u: %s: rc %d status %ld body %s", w->index, what, rc,
		    r->status, r->body ? r->body : "(none)");
}

static void
worker_create(struct worker *w, unsigned op)
{
	static const char digits[] = "0123456789abcdef";
	char body[256];
	char *value = w->values[w->ncreated];
	zgt_resp r;

	for (int i = 0; i < 32; i++)
		value[i] = digits[rand_r(&w->rng) % 16];
	value[32] = '\0';
	snprintf(body, sizeof(body), "{\"type\":\"service_account\","
	    "\"name\":\"load-%u-%u-%u\",\"value\":\"%s\"}", seed, w->index, op,
	    value);
	int rc = zgt_http(&srv, "POST", "/v1/credentials", srv.token, body, &r);
	if (rc == 0 && r.status == 201 && strlen(zgt_str(&r, "id")) == 37) {
		snprintf(w->ids[w->ncreated], sizeof(w->ids[0]), "%s",
		    zgt_str(&r, "id"));
		w->ncreated++;
		w->ok++;
	} else {
		note_failure(w, "create", &r, rc);
	}
	zgt_resp_free(&r);
}

static void
worker_read(struct worker *w, bool value)
{
	size_t k = (size_t)rand_r(&w->rng) % w->ncreated;
	char path[128];
	zgt_resp r;

	snprintf(path, sizeof(path), "/v1/credentials/%s%s", w->ids[k],
	    value ? "/value" : "");
	int rc = zgt_http(&srv, "GET", path, srv.token, NULL, &r);
	bool good = rc == 0 && r.status == 200;
	if (good && value)
		good = strcmp(zgt_str(&r, "value"), w->values[k]) == 0;
	else if (good)
		good = strcmp(zgt_str(&r, "id"), w->ids[k]) == 0;
	if (good)
		w->ok++;
	else
		note_failure(w, path, &r, rc);
	zgt_resp_free(&r);
}

static void
worker_list(struct worker *w)
{
	zgt_resp r;
	int rc = zgt_http(&srv, "GET", "/v1/credentials?limit=5", srv.token,
	    NULL, &r);
	if (rc == 0 && r.status == 200 &&
	    json_is_array(json_object_get(r.json, "items")))
		w->ok++;
	else
		note_failure(w, "list", &r, rc);
	zgt_resp_free(&r);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	for (unsigned op = 0; op < OPS_PER_THREAD; op++) {
		unsigned pick = (unsigned)rand_r(&w->rng) % 8;
		if (w->ncreated == 0 || pick < 3)
			worker_create(w, op);
		else if (pick < 6)
			worker_read(w, true);
		else if (pick < 7)
			worker_read(w, false);
		else
			worker_list(w);
	}
	zgt_http_thread_done();
	return NULL;
}

static void
concurrent_clients(void **state)
{
	struct worker *workers = calloc(NTHREADS, sizeof(*workers));
	assert_non_null(workers);

	for (unsigned i = 0; i < NTHREADS; i++) {
		workers[i].index = i;
		workers[i].rng = seed + i * 7919u;
		assert_int_equal(pthread_create(&workers[i].thread, NULL,
		    worker_main, &workers[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(workers[i].thread, NULL), 0);

	unsigned ok = 0, failed = 0;
	for (unsigned i = 0; i < NTHREADS; i++) {
		ok += workers[i].ok;
		failed += workers[i].failed;
		if (workers[i].failed > 0)
			fprintf(stderr, "%s (%u failures in this thread)\n",
			    workers[i].first_failure, workers[i].failed);
	}

	/* Every value written under load reads back afterwards. */
	unsigned verified = 0, total = 0;
	for (unsigned i = 0; i < NTHREADS; i++) {
		for (size_t k = 0; k < workers[i].ncreated; k++) {
			char path[128];
			zgt_resp r;
			total++;
			snprintf(path, sizeof(path), "/v1/credentials/%s/value",
			    workers[i].ids[k]);
			if (zgt_http(&srv, "GET", path, srv.token, NULL, &r) == 0 &&
			    r.status == 200 && strcmp(zgt_str(&r, "value"),
			    workers[i].values[k]) == 0)
				verified++;
			zgt_resp_free(&r);
		}
	}
	free(workers);
	printf("concurrent_clients: %u ok, %u failed, %u of %u values "
	    "verified\n", ok, failed, verified, total);
	assert_int_equal(failed, 0);
	assert_int_equal(ok, NTHREADS * OPS_PER_THREAD);
	assert_true(total > 0);
	assert_int_equal(verified, total);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keepalive_reuses_connection),
		cmocka_unit_test(after_413_next_works),
		cmocka_unit_test(concurrent_clients),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
