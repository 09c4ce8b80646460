/*
 * The passphrase seal (`zguard init`, sealed start, unseal) and HTTPS with
 * a self-signed certificate, TLS 1.3 only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "zgtest.h"

static unsigned seed;

/* Writes text to path and fails the test on error. */
static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/*
 * Runs `zguard init --seal passphrase` on d's data directory with the
 * passphrase in a file under d's root. Returns the exit code.
 */
static int
run_init(const zgt_daemon *d, const char *passphrase)
{
	char pass_path[400];
	char *out = NULL, *err = NULL;
	snprintf(pass_path, sizeof(pass_path), "%s/passphrase", d->root);
	write_text(pass_path, passphrase);
	const char *args[] = {"init", "--seal", "passphrase", "--data", d->data,
	    "--passphrase-file", pass_path, NULL};
	int rc = zgt_run_bin(d->root, args, NULL, 120, &out, &err);
	printf("zguard init: exit %d\nstdout: %s\nstderr: %s\n", rc,
	    out ? out : "", err ? err : "");
	free(out);
	free(err);
	return rc;
}

/* Makes a 20-character passphrase from the seed. */
static void
make_passphrase(char out[21])
{
	snprintf(out, 21, "pass-%04u-%010u", seed % 10000, (unsigned)rand());
	assert_int_equal(strlen(out), 20);
}

static void
assert_sealed(const zgt_daemon *d, bool want)
{
	zgt_resp r;
	assert_int_equal(zgt_http(d, "GET", "/v1/sys/seal-status", NULL, NULL,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_true(json_is_boolean(json_object_get(r.json, "sealed")));
	assert_int_equal(json_is_true(json_object_get(r.json, "sealed")), want);
	assert_string_equal(zgt_str(&r, "seal"), "passphrase");
	zgt_resp_free(&r);
}

static long
unseal(const zgt_daemon *d, const char *passphrase, char *code, size_t codesz)
{
	json_t *o = json_pack("{s:s}", "passphrase", passphrase);
	char *body = json_dumps(o, JSON_COMPACT);
	zgt_resp r;
	assert_int_equal(zgt_http(d, "POST", "/v1/sys/unseal", NULL, body, &r), 0);
	long status = r.status;
	snprintf(code, codesz, "%s", zgt_error_code(&r));
	zgt_resp_free(&r);
	free(body);
	json_decref(o);
	return status;
}

/* Reads DIR/admin.token, which `zguard init` wrote, into d->token. */
static void
load_admin_token(zgt_daemon *d)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/admin.token", d->data);
	char *tok = zgt_read_file(path, NULL);
	assert_non_null(tok);
	tok[strcspn(tok, "\n")] = '\0';
	snprintf(d->token, sizeof(d->token), "%s", tok);
	free(tok);
	assert_true(strlen(d->token) > 8);
}

static void
passphrase_unseal_flow(void **state)
{
	zgt_daemon d;
	char pass[21], code[64];
	zgt_resp r;

	make_passphrase(pass);
	assert_int_equal(zgt_daemon_prepare(&d, "[vault]\nseal = passphrase\n"), 0);
	assert_int_equal(run_init(&d, pass), 0);
	assert_int_equal(zgt_daemon_launch(&d), 0);
	load_admin_token(&d);

	assert_sealed(&d, true);
	assert_int_equal(zgt_http(&d, "GET", "/v1/credentials", d.token, NULL,
	    &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(zgt_error_code(&r), "sealed");
	zgt_resp_free(&r);

	assert_int_equal(unseal(&d, "wrong-passphrase-0000", code, sizeof(code)),
	    400);
	assert_string_equal(code, "invalid_passphrase");
	assert_sealed(&d, true);
	assert_int_equal(unseal(&d, pass, code, sizeof(code)), 200);
	assert_sealed(&d, false);

	assert_int_equal(zgt_http(&d, "POST", "/v1/credentials", d.token,
	    "{\"type\":\"api_token\",\"name\":\"sealed-1\","
	    "\"value\":\"behind-the-seal\"}", &r), 0);
	assert_int_equal(r.status, 201);
	char path[128];
	snprintf(path, sizeof(path), "/v1/credentials/%s/value",
	    zgt_str(&r, "id"));
	zgt_resp_free(&r);

	/* The root key is kept only in memory, so a restart seals the vault. */
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_int_equal(zgt_daemon_restart(&d), 0);
	assert_sealed(&d, true);
	assert_int_equal(zgt_http(&d, "GET", path, d.token, NULL, &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(zgt_error_code(&r), "sealed");
	zgt_resp_free(&r);
	assert_int_equal(unseal(&d, pass, code, sizeof(code)), 200);
	assert_int_equal(zgt_http(&d, "GET", path, d.token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "value"), "behind-the-seal");
	zgt_resp_free(&r);

	/* The passphrase never reaches the log. */
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_file_contains(d.log_path, pass, strlen(pass)));
	/* Requests made while sealed are logged as errors, so only look for
	 * sanitizer reports. */
	assert_false(zgt_log_has_sanitizer_report(&d));
	zgt_daemon_cleanup(&d);
}

static void
init_twice_fails(void **state)
{
	zgt_daemon d;
	char pass[21];

	make_passphrase(pass);
	assert_int_equal(zgt_daemon_prepare(&d, NULL), 0);
	assert_int_equal(run_init(&d, pass), 0);
	assert_int_equal(run_init(&d, pass), 1);
	zgt_daemon_cleanup(&d);
}

static void
init_short_passphrase_fails(void **state)
{
	zgt_daemon d;

	assert_int_equal(zgt_daemon_prepare(&d, NULL), 0);
	assert_int_equal(run_init(&d, "short-11ch"), 2);
	zgt_daemon_cleanup(&d);
}

/*
 * Prepares d, writes a self-signed P-256 certificate for 127.0.0.1 and its
 * key to d's root as cert.pem and key.pem, and starts the daemon with them.
 */
static void
start_tls(zgt_daemon *d)
{
	char cmd[1600];

	assert_int_equal(zgt_daemon_prepare(d, NULL), 0);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 -addext "
	    "subjectAltName=IP:127.0.0.1 -days 2 -keyout '%s/key.pem' "
	    "-out '%s/cert.pem' >'%s/openssl.log' 2>&1", d->root, d->root,
	    d->root);
	assert_int_equal(system(cmd), 0);
	snprintf(d->extra_ini, sizeof(d->extra_ini),
	    "[server]\ntls_cert = %s/cert.pem\ntls_key = %s/key.pem\n", d->root,
	    d->root);
	assert_int_equal(zgt_daemon_launch(d), 0);
	assert_true(d->tls);
	assert_non_null(strstr(d->base_url, "https://127.0.0.1:"));
}

static void
tls_round_trip(void **state)
{
	zgt_daemon d;
	zgt_resp r;
	char value[96], path[128];

	start_tls(&d);
	assert_int_equal(zgt_http(&d, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "status"), "ok");
	zgt_resp_free(&r);

	snprintf(value, sizeof(value), "tls-value-%u-%08x", seed,
	    (unsigned)rand());
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "api_token", "name",
	    "over-tls", "value", value);
	char *body = json_dumps(o, JSON_COMPACT);
	assert_int_equal(zgt_http(&d, "POST", "/v1/credentials", d.token, body,
	    &r), 0);
	free(body);
	json_decref(o);
	assert_int_equal(r.status, 201);
	snprintf(path, sizeof(path), "/v1/credentials/%s/value",
	    zgt_str(&r, "id"));
	zgt_resp_free(&r);

	assert_int_equal(zgt_http(&d, "GET", path, d.token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(zgt_str(&r, "value"), value);
	zgt_resp_free(&r);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
}

static void
tls_cli_with_cacert(void **state)
{
	zgt_daemon d;
	char cacert[400];
	char *out = NULL, *err = NULL;

	start_tls(&d);
	snprintf(cacert, sizeof(cacert), "%s/cert.pem", d.root);
	const char *args[] = {"sys", "seal-status", "--cacert", cacert, NULL};
	int rc = zgt_run_cli(&d, args, NULL, &out, &err);
	printf("stdout: %s\nstderr: %s\n", out ? out : "", err ? err : "");
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	zgt_daemon_cleanup(&d);
}

/* Performs GET /v1/health with a raw curl handle limited to TLS 1.2. */
static CURLcode
get_health_tls12(const zgt_daemon *d, long *status)
{
	char url[128], ca[400];
	CURL *h = curl_easy_init();
	assert_non_null(h);
	snprintf(url, sizeof(url), "%s/v1/health", d->base_url);
	snprintf(ca, sizeof(ca), "%s/cert.pem", d->root);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION,
	    (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
	FILE *sink = fopen("/dev/null", "w");
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	CURLcode rc = curl_easy_perform(h);
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	fclose(sink);
	curl_easy_cleanup(h);
	return rc;
}

static void
tls12_client_rejected(void **state)
{
	zgt_daemon d;
	long status = 0;

	start_tls(&d);
	CURLcode rc = get_health_tls12(&d, &status);
	printf("TLS 1.2 client: %s, status %ld\n", curl_easy_strerror(rc), status);
	assert_int_not_equal(rc, CURLE_OK);
	assert_int_equal(status, 0);

	/* The daemon survives the failed handshake. */
	zgt_resp r;
	assert_int_equal(zgt_http(&d, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	zgt_daemon_cleanup(&d);
}

static void
plain_http_on_tls_port_fails(void **state)
{
	zgt_daemon d;
	zgt_resp r;

	start_tls(&d);
	zgt_daemon plain = d;
	snprintf(plain.base_url, sizeof(plain.base_url), "http://127.0.0.1:%u",
	    d.port);
	plain.tls = false;
	int rc = zgt_http(&plain, "GET", "/v1/health", NULL, NULL, &r);
	printf("plain HTTP to the TLS port: rc %d, status %ld\n", rc, r.status);
	assert_true(rc != 0 || r.status != 200);
	zgt_resp_free(&r);

	assert_int_equal(zgt_http(&d, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	seed = zgt_seed("test_seal_tls");
	srand(seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passphrase_unseal_flow),
		cmocka_unit_test(init_twice_fails),
		cmocka_unit_test(init_short_passphrase_fails),
		cmocka_unit_test(tls_round_trip),
		cmocka_unit_test(tls_cli_with_cacert),
		cmocka_unit_test(tls12_client_rejected),
		cmocka_unit_test(plain_http_on_tls_port_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
