/*
 * Durability of the real daemon: restarts, kill -9, key rotation under
 * load, the data directory lock, clean shutdown and the admin token file.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "zgtest.h"

#define RESTART_CREDS 50
#define KILL9_ROUNDS 20
#define ROTATE_CREDS 20
#define READER_THREADS 4

static unsigned seed;

/* POSTs a credential with value and stores its id. Returns the HTTP status. */
static long
create_cred(const zgt_daemon *d, const char *name, const char *value,
    char *id, size_t idsz)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "api_token", "name", name,
	    "value", value);
	char *body = json_dumps(o, JSON_COMPACT);
	zgt_resp r;
	long status = -1;
	if (zgt_http(d, "POST", "/v1/credentials", d->token, body, &r) == 0)
		status = r.status;
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
	free(body);
	json_decref(o);
	return status;
}

/*
 * GETs the latest value of credential id into value. Returns the HTTP
 * status, or -1 when no response came.
 */
static long
read_value(const zgt_daemon *d, const char *id, char *value, size_t valuesz)
{
	char path[128];
	zgt_resp r;
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	value[0] = '\0';
	if (zgt_http(d, "GET", path, d->token, NULL, &r) != 0)
		return -1;
	long status = r.status;
	snprintf(value, valuesz, "%s", zgt_str(&r, "value"));
	zgt_resp_free(&r);
	return status;
}

static void
make_value(char *out, size_t outsz, const char *tag, unsigned i)
{
	snprintf(out, outsz, "durable-%s-%u-%u-%08x", tag, seed, i,
	    (unsigned)rand());
}

static void
restart_keeps_credentials(void **state)
{
	zgt_daemon d;
	static char ids[RESTART_CREDS][64];
	static char values[RESTART_CREDS][96];
	char got[128];

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	for (unsigned i = 0; i < RESTART_CREDS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "restart-%u", i);
		make_value(values[i], sizeof(values[i]), "restart", i);
		assert_int_equal(create_cred(&d, name, values[i], ids[i],
		    sizeof(ids[i])), 201);
	}
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_int_equal(zgt_daemon_restart(&d), 0);

	for (unsigned i = 0; i < RESTART_CREDS; i++) {
		assert_int_equal(read_value(&d, ids[i], got, sizeof(got)), 200);
		assert_string_equal(got, values[i]);
	}
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

static void
kill9_after_create_keeps_it(void **state)
{
	zgt_daemon d;
	static char ids[KILL9_ROUNDS][64];
	static char values[KILL9_ROUNDS][96];
	char got[128];

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	for (unsigned i = 0; i < KILL9_ROUNDS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kill9-%u", i);
		make_value(values[i], sizeof(values[i]), "kill9", i);
		assert_int_equal(create_cred(&d, name, values[i], ids[i],
		    sizeof(ids[i])), 201);
		/* The 201 promises the row is committed, so SIGKILL must not lose it. */
		zgt_daemon_kill9(&d);
		assert_int_equal(zgt_daemon_restart(&d), 0);
		assert_int_equal(read_value(&d, ids[i], got, sizeof(got)), 200);
		assert_string_equal(got, values[i]);
	}

	/* Every earlier round survived the later kills too. */
	for (unsigned i = 0; i < KILL9_ROUNDS; i++) {
		assert_int_equal(read_value(&d, ids[i], got, sizeof(got)), 200);
		assert_string_equal(got, values[i]);
	}
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

struct reader {
	const zgt_daemon *d;
	char (*ids)[64];
	char (*values)[96];
	volatile int *stop;
	unsigned rng;
	unsigned long reads;
	unsigned long failures;
	long last_bad_status;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	char got[128];

	while (!__atomic_load_n(rd->stop, __ATOMIC_ACQUIRE)) {
		unsigned i = (unsigned)rand_r(&rd->rng) % ROTATE_CREDS;
		long status = read_value(rd->d, rd->ids[i], got, sizeof(got));
		rd->reads++;
		if (status != 200 || strcmp(got, rd->values[i]) != 0) {
			rd->failures++;
			rd->last_bad_status = status;
		}
	}
	zgt_http_thread_done();
	return NULL;
}

static void
rotate_under_reads_loses_nothing(void **state)
{
	zgt_daemon d;
	static char ids[ROTATE_CREDS][64];
	static char values[ROTATE_CREDS][96];
	struct reader readers[READER_THREADS];
	pthread_t threads[READER_THREADS];
	volatile int stop = 0;
	char got[128];
	zgt_resp r;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	for (unsigned i = 0; i < ROTATE_CREDS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "rotate-%u", i);
		make_value(values[i], sizeof(values[i]), "rotate", i);
		assert_int_equal(create_cred(&d, name, values[i], ids[i],
		    sizeof(ids[i])), 201);
	}

	for (unsigned t = 0; t < READER_THREADS; t++) {
		readers[t] = (struct reader){&d, ids, values, &stop,
		    seed + t, 0, 0, 0};
		assert_int_equal(pthread_create(&threads[t], NULL, reader_main,
		    &readers[t]), 0);
	}
	/* Pauses let the readers run between and across the rotations. */
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	for (int i = 0; i < 10; i++) {
		nanosleep(&pause, NULL);
		assert_int_equal(zgt_http(&d, "POST", "/v1/sys/rotate-root",
		    d.token, "{}", &r), 0);
		assert_int_equal(r.status, 200);
		zgt_resp_free(&r);
		if (i % 3 == 1) {
			assert_int_equal(zgt_http(&d, "POST", "/v1/sys/rotate-kek",
			    d.token, "{}", &r), 0);
			assert_int_equal(r.status, 200);
			zgt_resp_free(&r);
		}
	}
	nanosleep(&pause, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);

	unsigned long reads = 0, failures = 0;
	for (unsigned t = 0; t < READER_THREADS; t++) {
		assert_int_equal(pthread_join(threads[t], NULL), 0);
		reads += readers[t].reads;
		failures += readers[t].failures;
		if (readers[t].failures > 0)
			printf("reader %u: %lu failed reads, last status %ld\n", t,
			    readers[t].failures, readers[t].last_bad_status);
	}
	printf("rotation: %lu reads during 10 root and 3 KEK rotations\n", reads);
	assert_true(reads > 0);
	assert_int_equal(failures, 0);

	for (unsigned i = 0; i < ROTATE_CREDS; i++) {
		assert_int_equal(read_value(&d, ids[i], got, sizeof(got)), 200);
		assert_string_equal(got, values[i]);
	}
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_int_equal(zgt_daemon_restart(&d), 0);
	for (unsigned i = 0; i < ROTATE_CREDS; i++) {
		assert_int_equal(read_value(&d, ids[i], got, sizeof(got)), 200);
		assert_string_equal(got, values[i]);
	}
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

static void
second_daemon_rejected(void **state)
{
	zgt_daemon d;
	char listen[64], pid_text[32];
	char *out = NULL, *err = NULL;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", zgt_free_port());
	const char *args[] = {"serve", "--data", d.data, "--listen", listen, NULL};
	time_t begin = time(NULL);
	int rc = zgt_run_bin(d.root, args, NULL, 20, &out, &err);
	time_t took = time(NULL) - begin;

	assert_non_null(err);
	printf("second daemon: exit %d after %lds; stderr: %s", rc, (long)took,
	    err);
	assert_true(rc > 0);
	assert_true(took < 10);
	assert_non_null(strstr(err, "in use by another zguard process"));
	snprintf(pid_text, sizeof(pid_text), "pid %d", (int)d.pid);
	assert_non_null(strstr(err, pid_text));

	/* The first daemon keeps serving. */
	zgt_resp r;
	assert_int_equal(zgt_http(&d, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	free(out);
	free(err);
	zgt_daemon_cleanup(&d);
}

static void
port_in_use_rejected_early(void **state)
{
	zgt_daemon d;
	char listen[64], data[400], path[480];
	char *out = NULL, *err = NULL;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", d.port);
	snprintf(data, sizeof(data), "%s/other-data", d.root);
	const char *args[] = {"serve", "--data", data, "--listen", listen, NULL};
	int rc = zgt_run_bin(d.root, args, NULL, 20, &out, &err);

	assert_non_null(err);
	assert_true(rc > 0);
	snprintf(path, sizeof(path), "cannot listen on 127.0.0.1 port %u",
	    d.port);
	assert_non_null(strstr(err, path));
	assert_null(strstr(err, "TLS"));
	/* Nothing was created for the daemon that could not listen. */
	snprintf(path, sizeof(path), "%s/seal.key", data);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/admin.token", data);
	assert_int_equal(access(path, F_OK), -1);
	free(out);
	free(err);
	zgt_daemon_cleanup(&d);
}

static void
sigterm_stops_cleanly(void **state)
{
	zgt_daemon d;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	char *log = zgt_read_file(d.log_path, NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "msg=stopping"));
	assert_non_null(strstr(log, "msg=stopped"));
	assert_true(strstr(log, "msg=stopping") < strstr(log, "msg=stopped"));
	free(log);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

static void
admin_token_file_kept(void **state)
{
	zgt_daemon d;
	char path[400];
	struct stat before, after;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	snprintf(path, sizeof(path), "%s/admin.token", d.data);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(before.st_mode & 07777, 0600);
	char *first = zgt_read_file(path, NULL);
	assert_non_null(first);

	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_int_equal(zgt_daemon_restart(&d), 0);

	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0600);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	char *second = zgt_read_file(path, NULL);
	assert_non_null(second);
	assert_string_equal(first, second);

	/* The token in the file still authenticates after the restart. */
	zgt_resp r;
	assert_int_equal(zgt_http(&d, "GET", "/v1/credentials", d.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	free(first);
	free(second);
	zgt_daemon_cleanup(&d);
}

static void
token_absent_from_log(void **state)
{
	zgt_daemon d;
	char id[64], value[96], got[128];
	zgt_resp r;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	make_value(value, sizeof(value), "log", 0);
	assert_int_equal(create_cred(&d, "log-check", value, id, sizeof(id)), 201);
	assert_int_equal(read_value(&d, id, got, sizeof(got)), 200);
	/* A failed login with a near miss of the token is logged too. */
	char wrong[160];
	snprintf(wrong, sizeof(wrong), "%sx", d.token);
	assert_int_equal(zgt_http(&d, "GET", "/v1/credentials", wrong, NULL, &r),
	    0);
	assert_int_equal(r.status, 401);
	zgt_resp_free(&r);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	/* Only the part after the public "zgt_" prefix is secret. */
	const char *secret = strchr(d.token, '_');
	secret = secret != NULL ? secret + 1 : d.token;
	assert_true(strlen(secret) >= 16);
	assert_false(zgt_file_contains(d.log_path, secret, strlen(secret)));
	assert_false(zgt_file_contains(d.log_path, value, strlen(value)));
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	seed = zgt_seed("test_durability");
	srand(seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restart_keeps_credentials),
		cmocka_unit_test(kill9_after_create_keeps_it),
		cmocka_unit_test(rotate_under_reads_loses_nothing),
		cmocka_unit_test(second_daemon_rejected),
		cmocka_unit_test(port_in_use_rejected_early),
		cmocka_unit_test(sigterm_stops_cleanly),
		cmocka_unit_test(admin_token_file_kept),
		cmocka_unit_test(token_absent_from_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
