/*
 * The audit log when it cannot be written, and under concurrent appends.
 *
 * full_disk_refuses_and_recovers puts the data directory on a 4 MiB tmpfs,
 * fills it, and expects the daemon to refuse audited operations with 503
 * audit_unavailable, stay up, and serve again once space returns. It needs
 * root, because it mounts the tmpfs, and fails when it cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

#define CONCURRENT_THREADS 32
#define EVENTS_PER_THREAD 50
#define TMPFS_OPTIONS "size=4m"

static unsigned seed;

/* The daemon on the tmpfs and what teardown must undo. */
static struct {
	zgt_daemon d;
	bool prepared;
	bool mounted;
	char filler[400];
} disk;

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Stops the daemon, removes the filler and unmounts, whatever happened. */
static int
disk_teardown(void **state)
{
	if (disk.prepared && disk.d.pid > 0)
		zgt_daemon_stop(&disk.d);
	if (disk.filler[0] != '\0')
		unlink(disk.filler);
	if (disk.mounted && umount2(disk.d.data, MNT_DETACH) != 0)
		fprintf(stderr, "cannot unmount %s: %s\n", disk.d.data,
		    strerror(errno));
	disk.mounted = false;
	if (disk.prepared) {
		if (zgt_log_has_sanitizer_report(&disk.d))
			fprintf(stderr, "the daemon log has a sanitizer report: "
			    "%s\n", disk.d.log_path);
		else
			zgt_daemon_cleanup(&disk.d);
	}
	disk.prepared = false;
	return 0;
}

/* GETs the latest value of credential id into r. Returns the HTTP status. */
static long
read_value(const zgt_daemon *d, const char *id, zgt_resp *r)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	assert_int_equal(zgt_http(d, "GET", path, d->token, NULL, r), 0);
	return r->status;
}

/*
 * Writes to path until the file system reports ENOSPC. Returns the bytes
 * written.
 */
static size_t
fill_file_system(const char *path)
{
	static char block[64 * 1024];
	size_t total = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(block, 0x5a, sizeof(block));
	size_t chunk = sizeof(block);
	for (;;) {
		ssize_t n = write(fd, block, chunk);
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		assert_int_equal(errno, ENOSPC);
		/* Fill the last partial block too, down to one byte. */
		if (chunk == 1)
			break;
		chunk /= 2;
	}
	close(fd);
	return total;
}

static void
full_disk_refuses_and_recovers(void **state)
{
	char value[64], id[64], body[256];
	zgt_resp r;

	assert_int_equal(zgt_daemon_prepare(&disk.d, NULL), 0);
	disk.prepared = true;
	assert_int_equal(mkdir(disk.d.data, 0700), 0);
	if (mount("tmpfs", disk.d.data, "tmpfs", 0, TMPFS_OPTIONS) != 0)
		fail_msg("cannot mount a tmpfs on %s: %s. This test needs root "
		    "and mount(2) (in a container: CAP_SYS_ADMIN).", disk.d.data,
		    strerror(errno));
	disk.mounted = true;
	assert_int_equal(zgt_daemon_launch(&disk.d), 0);

	snprintf(value, sizeof(value), "full-disk-secret-%u", seed);
	snprintf(body, sizeof(body), "{\"type\":\"api_token\",\"name\":"
	    "\"full-disk\",\"value\":\"%s\"}", value);
	assert_int_equal(zgt_http(&disk.d, "POST", "/v1/credentials",
	    disk.d.token, body, &r), 0);
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof(id), "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
	assert_int_equal(read_value(&disk.d, id, &r), 200);
	assert_string_equal(zgt_str(&r, "value"), value);
	zgt_resp_free(&r);

	snprintf(disk.filler, sizeof(disk.filler), "%s/filler", disk.d.data);
	size_t filled = fill_file_system(disk.filler);
	printf("filled the tmpfs with %zu bytes\n", filled);

	/*
	 * The store may still have room inside files it already grew, so the
	 * first reads can succeed. Each read appends an event, so the log
	 * runs out of space after a bounded number of them.
	 */
	long status = 200;
	unsigned reads = 0;
	while (status == 200 && reads < 2000) {
		status = read_value(&disk.d, id, &r);
		reads++;
		if (status != 200) {
			printf("read %u: %ld %s\n", reads, status, r.body);
			assert_int_equal(status, 503);
			assert_string_equal(zgt_error_code(&r), "audit_unavailable");
			assert_null(strstr(r.body, value));
		}
		zgt_resp_free(&r);
	}
	assert_int_equal(status, 503);

	/* Once failed, the log refuses every audited operation up front. */
	assert_int_equal(read_value(&disk.d, id, &r), 503);
	assert_string_equal(zgt_error_code(&r), "audit_unavailable");
	assert_null(strstr(r.body, value));
	zgt_resp_free(&r);
	snprintf(body, sizeof(body), "{\"type\":\"api_token\",\"name\":"
	    "\"full-disk-2\",\"value\":\"never-stored-%u\"}", seed);
	assert_int_equal(zgt_http(&disk.d, "POST", "/v1/credentials",
	    disk.d.token, body, &r), 0);
	printf("create on a full disk: %ld %s\n", r.status, r.body);
	assert_int_not_equal(r.status, 201);
	assert_int_equal(r.status, 503);
	assert_true(strcmp(zgt_error_code(&r), "audit_unavailable") == 0 ||
	    strcmp(zgt_error_code(&r), "storage_error") == 0);
	zgt_resp_free(&r);

	assert_int_equal(zgt_http(&disk.d, "GET", "/v1/health", NULL, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	assert_true(disk.d.pid > 0);
	assert_true(zgt_file_contains(disk.d.log_path, "audit log append failed",
	    strlen("audit log append failed")));

	/* The writer probes once a second, so space returns within seconds. */
	assert_int_equal(unlink(disk.filler), 0);
	disk.filler[0] = '\0';
	status = 0;
	for (int i = 0; i < 100 && status != 200; i++) {
		sleep_ms(100);
		status = read_value(&disk.d, id, &r);
		if (status == 200)
			assert_string_equal(zgt_str(&r, "value"), value);
		zgt_resp_free(&r);
	}
	if (status != 200)
		fail_msg("the audit log did not recover within 10 s after the "
		    "filler file was removed; last status %ld", status);

	assert_int_equal(zgt_http(&disk.d, "GET",
	    "/v1/audit/events?resource=audit&limit=1000", disk.d.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	json_t *recover = NULL;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(r.json, "events"), i, item) {
		json_t *ev = json_object_get(item, "event");
		if (strcmp(json_string_value(json_object_get(ev, "action")),
		    "recover") == 0)
			recover = ev;
	}
	assert_non_null(recover);
	assert_string_equal(json_string_value(json_object_get(recover,
	    "resource")), "audit");
	assert_true(json_is_true(json_object_get(recover, "success")));
	zgt_resp_free(&r);

	assert_int_equal(zgt_daemon_stop(&disk.d), 0);
	assert_false(zgt_log_has_sanitizer_report(&disk.d));
}

/* One appender thread's share of the concurrent test. */
struct appender {
	const zgt_daemon *d;
	unsigned thread;
	long indexes[EVENTS_PER_THREAD];
	long failures;
};

static void *
append_events(void *arg)
{
	struct appender *a = arg;
	for (unsigned i = 0; i < EVENTS_PER_THREAD; i++) {
		char body[256];
		zgt_resp r;
		a->indexes[i] = -1;
		snprintf(body, sizeof(body), "{\"eventType\":\"transaction\","
		    "\"resource\":\"batch:%u\",\"action\":\"append-%u\","
		    "\"success\":true}", a->thread, i);
		if (zgt_http(a->d, "POST", "/v1/audit/events", a->d->token,
		    body, &r) == 0 && r.status == 201) {
			a->indexes[i] = (long)json_integer_value(json_object_get(
			    r.json, "leafIndex"));
		} else {
			a->failures++;
			fprintf(stderr, "thread %u event %u: %ld %s\n", a->thread,
			    i, r.status, r.body ? r.body : "");
		}
		zgt_resp_free(&r);
	}
	zgt_http_thread_done();
	return NULL;
}

static int
compare_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static void
concurrent_appends_are_contiguous(void **state)
{
	static struct appender apps[CONCURRENT_THREADS];
	static long all[CONCURRENT_THREADS * EVENTS_PER_THREAD];
	pthread_t threads[CONCURRENT_THREADS];
	zgt_daemon d;
	size_t n = 0;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	for (unsigned t = 0; t < CONCURRENT_THREADS; t++) {
		apps[t].d = &d;
		apps[t].thread = t;
		apps[t].failures = 0;
		assert_int_equal(pthread_create(&threads[t], NULL, append_events,
		    &apps[t]), 0);
	}
	for (unsigned t = 0; t < CONCURRENT_THREADS; t++)
		pthread_join(threads[t], NULL);

	for (unsigned t = 0; t < CONCURRENT_THREADS; t++) {
		assert_int_equal(apps[t].failures, 0);
		for (unsigned i = 0; i < EVENTS_PER_THREAD; i++)
			all[n++] = apps[t].indexes[i];
	}
	qsort(all, n, sizeof(all[0]), compare_long);
	assert_true(all[0] >= 0);
	for (size_t i = 1; i < n; i++) {
		if (all[i] != all[i - 1] + 1)
			fail_msg("leaf indexes are not distinct and contiguous: "
			    "%ld follows %ld", all[i], all[i - 1]);
	}
	printf("%zu concurrent events took leaf indexes %ld to %ld\n", n, all[0],
	    all[n - 1]);

	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	seed = zgt_seed("test_audit_failure");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(full_disk_refuses_and_recovers,
		    disk_teardown),
		cmocka_unit_test(concurrent_appends_are_contiguous),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	zgt_http_thread_done();
	return rc;
}
