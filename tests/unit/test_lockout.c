/* Unit tests for failure counting and lockout with growing backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authn/lockout.h"

#define T0 1700000000

static const zg_lockout_config small = {
	.threshold = 3,
	.window_seconds = 60,
	.base_backoff_seconds = 10,
	.max_backoff_seconds = 45,
	.max_entries = 4,
};

static zg_lockout *
new_table(void)
{
	zg_lockout *lo = NULL;
	assert_int_equal(zg_lockout_new(&small, &lo), ZG_OK);
	return lo;
}

static void
fail_n(zg_lockout *lo, const char *who, const char *ip, int n, int64_t now)
{
	for (int i = 0; i < n; i++)
		zg_lockout_failure(lo, who, ip, now);
}

static void
test_below_threshold_allowed(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = -1;
	fail_n(lo, "alice", NULL, 2, T0);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0, &retry),
	    ZG_OK);
	assert_int_equal(retry, 0);
	zg_lockout_free(lo);
}

static void
test_threshold_locks_principal(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	fail_n(lo, "alice", NULL, 3, T0);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0 + 1, &retry),
	    ZG_ERR_RATE_LIMITED);
	assert_int_equal(retry, 9);
	assert_int_equal(zg_lockout_check(lo, "bob", NULL, T0 + 1, &retry),
	    ZG_OK);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0 + 10, &retry),
	    ZG_OK);
	zg_lockout_free(lo);
}

static void
test_window_expiry_resets_count(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	fail_n(lo, "alice", NULL, 2, T0);
	fail_n(lo, "alice", NULL, 2, T0 + 61);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0 + 61, &retry),
	    ZG_OK);
	fail_n(lo, "alice", NULL, 1, T0 + 62);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0 + 62, &retry),
	    ZG_ERR_RATE_LIMITED);
	zg_lockout_free(lo);
}

static void
test_backoff_doubles_then_caps(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	int64_t now = T0;
	const int64_t want[] = {10, 20, 40, 45, 45};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fail_n(lo, "alice", NULL, 3, now);
		assert_int_equal(zg_lockout_check(lo, "alice", NULL, now,
		    &retry), ZG_ERR_RATE_LIMITED);
		assert_int_equal(retry, want[i]);
		now += retry;
	}
	zg_lockout_free(lo);
}

static void
test_failures_while_locked_ignored(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	fail_n(lo, "alice", NULL, 3, T0);
	fail_n(lo, "alice", NULL, 10, T0 + 1);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0 + 1, &retry),
	    ZG_ERR_RATE_LIMITED);
	assert_int_equal(retry, 9);
	zg_lockout_free(lo);
}

static void
test_success_resets_principal(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	fail_n(lo, "alice", NULL, 3, T0);
	fail_n(lo, "alice", NULL, 3, T0 + 10);
	zg_lockout_success(lo, "alice");
	fail_n(lo, "alice", NULL, 3, T0 + 40);
	assert_int_equal(zg_lockout_check(lo, "alice", NULL, T0 + 40, &retry),
	    ZG_ERR_RATE_LIMITED);
	/* Back to the base backoff, not 40 s. */
	assert_int_equal(retry, 10);
	zg_lockout_free(lo);
}

static void
test_ip_locked_across_principals(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	zg_lockout_failure(lo, "u1", "192.0.2.7", T0);
	zg_lockout_failure(lo, "u2", "192.0.2.7", T0);
	zg_lockout_failure(lo, NULL, "192.0.2.7", T0);
	assert_int_equal(zg_lockout_check(lo, "u3", "192.0.2.7", T0, &retry),
	    ZG_ERR_RATE_LIMITED);
	assert_int_equal(zg_lockout_check(lo, "u1", "192.0.2.8", T0, &retry),
	    ZG_OK);
	zg_lockout_free(lo);
}

static void
test_principal_and_ip_keys_distinct(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	fail_n(lo, "10.0.0.1", NULL, 3, T0);
	assert_int_equal(zg_lockout_check(lo, NULL, "10.0.0.1", T0, &retry),
	    ZG_OK);
	zg_lockout_free(lo);
}

static void
test_retry_after_is_later_lock(void **state)
{
	zg_lockout *lo = new_table();
	int64_t retry = 0;
	fail_n(lo, NULL, "192.0.2.1", 3, T0);
	fail_n(lo, NULL, "192.0.2.1", 3, T0 + 10);
	fail_n(lo, "alice", NULL, 3, T0 + 10);
	assert_int_equal(zg_lockout_check(lo, "alice", "192.0.2.1", T0 + 10,
	    &retry), ZG_ERR_RATE_LIMITED);
	assert_int_equal(retry, 20);
	zg_lockout_free(lo);
}

static void
test_table_bounded_lru(void **state)
{
	zg_lockout *lo = new_table();
	char name[32];
	int64_t retry = 0;
	fail_n(lo, "keep", NULL, 2, T0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		zg_lockout_failure(lo, name, NULL, T0);
		/* Touching "keep" makes it recent, so it survives. */
		assert_int_equal(zg_lockout_check(lo, "keep", NULL, T0, &retry),
		    ZG_OK);
	}
	assert_int_equal(zg_lockout_size(lo), 4);
	zg_lockout_failure(lo, "keep", NULL, T0);
	assert_int_equal(zg_lockout_check(lo, "keep", NULL, T0, &retry),
	    ZG_ERR_RATE_LIMITED);
	zg_lockout_free(lo);
}

static void
test_long_name_counted(void **state)
{
	zg_lockout *lo = new_table();
	char name[600];
	int64_t retry = 0;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	fail_n(lo, name, NULL, 3, T0);
	assert_int_equal(zg_lockout_check(lo, name, NULL, T0, &retry),
	    ZG_ERR_RATE_LIMITED);
	zg_lockout_free(lo);
}

static void
test_bad_config_rejected(void **state)
{
	zg_lockout_config cfg = {.base_backoff_seconds = 100,
	    .max_backoff_seconds = 50};
	zg_lockout *lo = NULL;
	assert_int_equal(zg_lockout_new(&cfg, &lo), ZG_ERR_CONFIG);
	assert_null(lo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_below_threshold_allowed),
		cmocka_unit_test(test_threshold_locks_principal),
		cmocka_unit_test(test_window_expiry_resets_count),
		cmocka_unit_test(test_backoff_doubles_then_caps),
		cmocka_unit_test(test_failures_while_locked_ignored),
		cmocka_unit_test(test_success_resets_principal),
		cmocka_unit_test(test_ip_locked_across_principals),
		cmocka_unit_test(test_principal_and_ip_keys_distinct),
		cmocka_unit_test(test_retry_after_is_later_lock),
		cmocka_unit_test(test_table_bounded_lru),
		cmocka_unit_test(test_long_name_counted),
		cmocka_unit_test(test_bad_config_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
