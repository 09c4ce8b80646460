/*
 * Unit tests of the verified-token cache: hits, misses on another hash,
 * the time limit, and forgetting a revoked token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authn/authn.h"

#define T0 1700000000000000LL
#define SECOND 1000000LL

static zg_token_row
row_for(uint8_t b, const char *id)
{
	zg_token_row r;
	memset(&r, 0, sizeof(r));
	memset(r.hash, b, sizeof(r.hash));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.user_id, sizeof(r.user_id), "alice");
	return r;
}

static void
test_hit_and_miss(void **state)
{
	zg_token_cache *c = zg_token_cache_new();
	zg_token_row r = row_for(0x11, "tok_a"), got, other = row_for(0x22,
	    "tok_b");
	assert_non_null(c);
	zg_token_cache_put(c, &r, T0);
	assert_true(zg_token_cache_get(c, r.hash, T0 + SECOND, &got));
	assert_string_equal(got.id, "tok_a");
	assert_false(zg_token_cache_get(c, other.hash, T0 + SECOND, &got));
	zg_token_cache_free(c);
}

static void
test_entry_ages_out(void **state)
{
	zg_token_cache *c = zg_token_cache_new();
	zg_token_row r = row_for(0x11, "tok_a"), got;
	zg_token_cache_put(c, &r, T0);
	assert_false(zg_token_cache_get(c, r.hash, T0 + 6 * SECOND, &got));
	zg_token_cache_free(c);
}

/* Two hashes that share a slot: the newer entry replaces the older, and
 * the older one is a miss, never the wrong row. */
static void
test_slot_collision(void **state)
{
	zg_token_cache *c = zg_token_cache_new();
	zg_token_row a = row_for(0x33, "tok_a"), b = row_for(0x33, "tok_b"),
	    got;
	b.hash[31] = 0x44;
	zg_token_cache_put(c, &a, T0);
	zg_token_cache_put(c, &b, T0);
	assert_false(zg_token_cache_get(c, a.hash, T0, &got));
	assert_true(zg_token_cache_get(c, b.hash, T0, &got));
	assert_string_equal(got.id, "tok_b");
	zg_token_cache_free(c);
}

static void
test_forget_on_revoke(void **state)
{
	zg_token_cache *c = zg_token_cache_new();
	zg_token_row r = row_for(0x11, "tok_a"), got;
	zg_token_cache_put(c, &r, T0);
	zg_token_cache_forget(c, "tok_a");
	assert_false(zg_token_cache_get(c, r.hash, T0, &got));
	zg_token_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_entry_ages_out),
		cmocka_unit_test(test_slot_collision),
		cmocka_unit_test(test_forget_on_revoke),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
