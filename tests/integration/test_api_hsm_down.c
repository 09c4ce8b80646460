/*
 * A daemon whose PKCS#11 token cannot be used keeps serving: credentials
 * and software keys work, and every use of the pkcs11 backend gets 503
 * backend_unavailable with the reason. Two ways a token fails: a module
 * path that does not load, and a wrong user PIN on a real SoftHSM2 token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN_LABEL "zguard-hsm-down"

/* Checks that a pkcs11 key cannot be created and a software key can. */
static void
check_degraded(zgt_daemon *d, const char *needle)
{
	zgt_resp r;
	assert_int_equal(zgt_http(d, "POST", "/v1/keys", d->token,
	    "{\"algorithm\":\"secp256k1\",\"backend\":\"pkcs11\"}", &r), 0);
	if (r.status != 503 || strstr(r.body ? r.body : "", needle) == NULL)
		fprintf(stderr, "pkcs11 create: %ld %s\n", r.status,
		    r.body ? r.body : "");
	assert_int_equal(r.status, 503);
	assert_string_equal(zgt_error_code(&r), "backend_unavailable");
	assert_non_null(strstr(r.body, needle));
	zgt_resp_free(&r);

	assert_int_equal(zgt_http(d, "POST", "/v1/keys", d->token,
	    "{\"algorithm\":\"secp256k1\"}", &r), 0);
	assert_int_equal(r.status, 201);
	zgt_resp_free(&r);
	assert_int_equal(zgt_http(d, "GET", "/v1/health", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
}

static void
module_does_not_load(void **state)
{
	zgt_daemon d;
	const char *ini = "[pkcs11]\nmodule = /nonexistent/libpkcs11.so\n"
	    "token_label = nothing\npin_env = ZG_TEST_UNUSED_PIN\n";
	assert_int_equal(zgt_daemon_start(&d, ini), 0);
	check_degraded(&d, "/nonexistent/libpkcs11.so");
	zgt_daemon_cleanup(&d);
}

static void
wrong_pin(void **state)
{
	const char *src = getenv("ZGUARD_SOURCE_DIR");
	char cmd[1024], conf[400], pin_file[400], ini[1024];
	zgt_daemon d;

	if (src == NULL || access(SOFTHSM_MODULE, R_OK) != 0)
		skip();
	assert_int_equal(zgt_daemon_prepare(&d, NULL), 0);
	snprintf(cmd, sizeof(cmd), "'%s/tests/support/softhsm.sh' '%s/hsm' %s "
	    "so-pin-1234 right-pin-1234", src, d.root, TOKEN_LABEL);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(conf, sizeof(conf), p));
	assert_int_equal(pclose(p), 0);
	conf[strcspn(conf, "\n")] = '\0';
	assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);
	snprintf(pin_file, sizeof(pin_file), "%s/hsm/user.pin", d.root);
	FILE *f = fopen(pin_file, "w");
	assert_non_null(f);
	fputs("wrong-pin-9999\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(ini, sizeof(ini), "[pkcs11]\nmodule = %s\ntoken_label = %s\n"
	    "pin_file = %s\n", SOFTHSM_MODULE, TOKEN_LABEL, pin_file);
	snprintf(d.extra_ini, sizeof(d.extra_ini), "%s", ini);
	assert_int_equal(zgt_daemon_launch(&d), 0);
	check_degraded(&d, TOKEN_LABEL);

	/* The PIN itself never reaches the log. */
	FILE *log = fopen(d.log_path, "r");
	char line[2048];
	bool pin_seen = false;
	assert_non_null(log);
	while (fgets(line, sizeof(line), log) != NULL)
		if (strstr(line, "wrong-pin-9999") != NULL)
			pin_seen = true;
	fclose(log);
	assert_false(pin_seen);
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(module_does_not_load),
		cmocka_unit_test(wrong_pin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
