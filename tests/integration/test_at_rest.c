/*
 * Data at rest: no secret reaches the data directory in plaintext, a
 * changed or moved ciphertext is rejected, and a bad seal key file stops
 * the daemon from starting.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "zgtest.h"

#define CANARIES 6

static unsigned seed;

static long
create_cred(const zgt_daemon *d, const char *name, const char *value,
    char *id, size_t idsz)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "database_password",
	    "name", name, "value", value);
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

/* GETs the latest value of id into r, which the caller frees. */
static void
get_value(const zgt_daemon *d, const char *id, zgt_resp *r)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/value", id);
	assert_int_equal(zgt_http(d, "GET", path, d->token, NULL, r), 0);
}

static void
assert_value(const zgt_daemon *d, const char *id, const char *want)
{
	zgt_resp r;
	get_value(d, id, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "value"), want);
	zgt_resp_free(&r);
}

static void
assert_integrity_error(const zgt_daemon *d, const char *id)
{
	zgt_resp r;
	get_value(d, id, &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(zgt_error_code(&r), "integrity_error");
	assert_null(strstr(r.body ? r.body : "", "\"value\""));
	zgt_resp_free(&r);
}

static void
assert_healthy(const zgt_daemon *d)
{
	zgt_resp r;
	assert_int_equal(zgt_http(d, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
}

/*
 * Stops the daemon and checks its log for sanitizer reports. Error lines
 * are expected here because the integrity errors are logged.
 */
static void
stop_without_sanitizer_report(zgt_daemon *d)
{
	assert_int_equal(zgt_daemon_stop(d), 0);
	assert_false(zgt_log_has_sanitizer_report(d));
}

/* The secrets one run produced, searched for in the data directory. */
struct secrets {
	char values[2 * CANARIES][96];
	size_t nvalues;
	char lease_token[160];
	char user_token[160];
};

/*
 * Creates canary credentials, rotates half of them to new canary values,
 * leases one and creates a user token, recording every secret.
 */
static void
make_secrets(const zgt_daemon *d, struct secrets *s)
{
	char ids[CANARIES][64];
	zgt_resp r;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < CANARIES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "canary-%u", i);
		snprintf(s->values[s->nvalues], sizeof(s->values[0]),
		    "zg-plaintext-canary-%u-%u-%08x", seed, i, (unsigned)rand());
		assert_int_equal(create_cred(d, name, s->values[s->nvalues], ids[i],
		    sizeof(ids[i])), 201);
		s->nvalues++;
	}
	for (unsigned i = 0; i < CANARIES; i += 2) {
		char path[128];
		snprintf(s->values[s->nvalues], sizeof(s->values[0]),
		    "zg-plaintext-canary-rotated-%u-%u-%08x", seed, i,
		    (unsigned)rand());
		json_t *o = json_pack("{s:s}", "value", s->values[s->nvalues]);
		char *body = json_dumps(o, JSON_COMPACT);
		snprintf(path, sizeof(path), "/v1/credentials/%.63s/rotate", ids[i]);
		assert_int_equal(zgt_http(d, "POST", path, d->token, body, &r), 0);
		assert_int_equal(r.status, 200);
		zgt_resp_free(&r);
		free(body);
		json_decref(o);
		s->nvalues++;
	}

	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/lease", ids[1]);
	assert_int_equal(zgt_http(d, "POST", path, d->token, "{\"ttlSeconds\":600}",
	    &r), 0);
	assert_int_equal(r.status, 201);
	snprintf(s->lease_token, sizeof(s->lease_token), "%s",
	    zgt_str(&r, "leaseToken"));
	zgt_resp_free(&r);
	assert_true(strlen(s->lease_token) > 8);

	assert_int_equal(zgt_http(d, "POST", "/v1/tokens", d->token,
	    "{\"userId\":\"canary-user\"}", &r), 0);
	assert_int_equal(r.status, 201);
	snprintf(s->user_token, sizeof(s->user_token), "%s", zgt_str(&r, "token"));
	zgt_resp_free(&r);
	assert_true(strlen(s->user_token) > 8);
}

/*
 * Returns the part of a "prefix_secret" token after its prefix: the prefix
 * is public and may well appear in the database.
 */
static const char *
token_secret(const char *token)
{
	const char *p = strchr(token, '_');
	return p != NULL ? p + 1 : token;
}

/*
 * Searches every file of the data directory except admin.token and
 * seal.key for each secret. Returns the number of files searched.
 */
static unsigned
assert_no_plaintext(const zgt_daemon *d, const struct secrets *s)
{
	const char *needles[2 * CANARIES + 3];
	size_t n = 0;
	for (size_t i = 0; i < s->nvalues; i++)
		needles[n++] = s->values[i];
	needles[n++] = token_secret(s->lease_token);
	needles[n++] = token_secret(s->user_token);
	needles[n++] = token_secret(d->token);

	DIR *dir = opendir(d->data);
	assert_non_null(dir);
	unsigned files = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		char path[640];
		struct stat sb;
		if (strcmp(e->d_name, "admin.token") == 0 ||
		    strcmp(e->d_name, "seal.key") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->data, e->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		files++;
		for (size_t i = 0; i < n; i++) {
			bool found = zgt_file_contains(path, needles[i],
			    strlen(needles[i]));
			if (found)
				printf("plaintext secret %zu found in %s\n", i, path);
			assert_false(found);
		}
	}
	closedir(dir);
	return files;
}

static void
no_plaintext_while_running(void **state)
{
	zgt_daemon d;
	struct secrets s;
	char wal[400];

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	make_secrets(&d, &s);
	snprintf(wal, sizeof(wal), "%s/zguard.db-wal", d.data);
	size_t wal_len = 0;
	char *wal_data = zgt_read_file(wal, &wal_len);
	printf("WAL while running: %zu bytes\n", wal_len);
	assert_non_null(wal_data);
	assert_true(wal_len > 0);
	free(wal_data);

	assert_true(assert_no_plaintext(&d, &s) >= 2);
	zgt_daemon_cleanup(&d);
}

static void
no_plaintext_after_stop(void **state)
{
	zgt_daemon d;
	struct secrets s;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	make_secrets(&d, &s);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	assert_true(assert_no_plaintext(&d, &s) >= 1);
	zgt_daemon_cleanup(&d);
}

/* Opens the stopped daemon's database for direct edits. */
static sqlite3 *
open_db(const zgt_daemon *d)
{
	char path[400];
	sqlite3 *db = NULL;
	snprintf(path, sizeof(path), "%s/zguard.db", d->data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Reads the version 1 blob of credential id into a malloc'd buffer. */
static unsigned char *
read_blob(sqlite3 *db, const char *id, int *len)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT blob FROM "
	    "credential_versions WHERE cred_id = ? AND version = 1", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*len = sqlite3_column_bytes(st, 0);
	assert_true(*len > 0);
	unsigned char *blob = malloc((size_t)*len);
	assert_non_null(blob);
	memcpy(blob, sqlite3_column_blob(st, 0), (size_t)*len);
	sqlite3_finalize(st);
	return blob;
}

static void
write_blob(sqlite3 *db, const char *id, const unsigned char *blob, int len)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE credential_versions SET "
	    "blob = ? WHERE cred_id = ? AND version = 1", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
}

static void
create_three(const zgt_daemon *d, char ids[3][64], char values[3][96])
{
	for (unsigned i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "tamper-%u", i);
		snprintf(values[i], 96, "tamper-value-%u-%u-%08x", seed, i,
		    (unsigned)rand());
		assert_int_equal(create_cred(d, name, values[i], ids[i], 64), 201);
	}
}

static void
flipped_byte_is_integrity_error(void **state)
{
	zgt_daemon d;
	char ids[3][64], values[3][96];
	int len = 0;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	create_three(&d, ids, values);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	sqlite3 *db = open_db(&d);
	unsigned char *blob = read_blob(db, ids[0], &len);
	/* The last byte belongs to the GCM tag. */
	blob[len - 1] ^= 0x01;
	write_blob(db, ids[0], blob, len);
	free(blob);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_integrity_error(&d, ids[0]);
	assert_healthy(&d);
	assert_value(&d, ids[1], values[1]);
	assert_value(&d, ids[2], values[2]);
	/* A second read fails the same way. */
	assert_integrity_error(&d, ids[0]);
	stop_without_sanitizer_report(&d);
	zgt_daemon_cleanup(&d);
}

static void
flipped_middle_byte_is_integrity_error(void **state)
{
	zgt_daemon d;
	char ids[3][64], values[3][96];
	int len = 0;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	create_three(&d, ids, values);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	sqlite3 *db = open_db(&d);
	unsigned char *blob = read_blob(db, ids[1], &len);
	blob[len / 2] ^= 0x80;
	write_blob(db, ids[1], blob, len);
	free(blob);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_integrity_error(&d, ids[1]);
	assert_healthy(&d);
	assert_value(&d, ids[0], values[0]);
	assert_value(&d, ids[2], values[2]);
	stop_without_sanitizer_report(&d);
	zgt_daemon_cleanup(&d);
}

static void
swapped_blobs_are_integrity_errors(void **state)
{
	zgt_daemon d;
	char ids[3][64], values[3][96];
	int len0 = 0, len1 = 0;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	create_three(&d, ids, values);
	assert_int_equal(zgt_daemon_stop(&d), 0);

	sqlite3 *db = open_db(&d);
	unsigned char *blob0 = read_blob(db, ids[0], &len0);
	unsigned char *blob1 = read_blob(db, ids[1], &len1);
	write_blob(db, ids[0], blob1, len1);
	write_blob(db, ids[1], blob0, len0);
	free(blob0);
	free(blob1);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_integrity_error(&d, ids[0]);
	assert_integrity_error(&d, ids[1]);
	assert_healthy(&d);
	assert_value(&d, ids[2], values[2]);
	stop_without_sanitizer_report(&d);
	zgt_daemon_cleanup(&d);
}

/*
 * Starts `zguard serve` on d's config, expecting it to exit at once.
 * Returns its exit code and its stderr in *err.
 */
static int
serve_once(const zgt_daemon *d, char **err)
{
	const char *args[] = {"serve", "--config", d->config, NULL};
	char *out = NULL;
	int rc = zgt_run_bin(d->root, args, NULL, 20, &out, err);
	free(out);
	assert_non_null(*err);
	printf("serve: exit %d; stderr: %s", rc, *err);
	return rc;
}

static void
short_seal_key_rejected(void **state)
{
	zgt_daemon d;
	char path[400];
	char *err = NULL;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	snprintf(path, sizeof(path), "%s/seal.key", d.data);
	assert_int_equal(truncate(path, 16), 0);

	int rc = serve_once(&d, &err);
	assert_true(rc > 0);
	assert_non_null(strstr(err, "seal.key"));
	assert_non_null(strstr(err, "must hold exactly 32 bytes"));
	free(err);
	zgt_daemon_cleanup(&d);
}

static void
readable_seal_key_rejected(void **state)
{
	zgt_daemon d;
	char path[400];
	char *err = NULL;

	assert_int_equal(zgt_daemon_start(&d, NULL), 0);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	snprintf(path, sizeof(path), "%s/seal.key", d.data);
	assert_int_equal(chmod(path, 0644), 0);

	int rc = serve_once(&d, &err);
	assert_true(rc > 0);
	assert_non_null(strstr(err, "seal.key"));
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "chmod 600"));
	free(err);

	/* After the fix the daemon starts and the data is intact. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_healthy(&d);
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	seed = zgt_seed("test_at_rest");
	srand(seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_plaintext_while_running),
		cmocka_unit_test(no_plaintext_after_stop),
		cmocka_unit_test(flipped_byte_is_integrity_error),
		cmocka_unit_test(flipped_middle_byte_is_integrity_error),
		cmocka_unit_test(swapped_blobs_are_integrity_errors),
		cmocka_unit_test(short_seal_key_rejected),
		cmocka_unit_test(readable_seal_key_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
