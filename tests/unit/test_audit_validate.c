/*
 * Tests of zg_audit_validate (audit/event.c): it must accept exactly the
 * bytes that zg_audit_decode accepts, because `zguard audit verify` uses it
 * in place of the decoder. Each case checks both functions on the same
 * bytes: hand-built encodings around every rule, and random corruptions
 * of valid events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/buf.h"
#include "zgtest.h"

/* The thirteen fields of a format-1 encoding, as raw bytes. */
struct fields {
	uint8_t format;
	const char *str[10];     /* eventId, userId, ..., personalKeyId */
	size_t len[10];          /* 0: strlen(str[i]) */
	uint8_t success;
	const char *blob;
	size_t blob_len;
};

enum {
	F_EVENT_ID, F_USER_ID, F_SESSION_ID, F_EVENT_TYPE, F_RESOURCE,
	F_ACTION, F_REQUEST_ID, F_TOKEN_ID, F_KEY_ID
};

static void
fields_default(struct fields *f)
{
	static const char *const values[] = {"evt_0123", "alice", "sess_1",
	    "data_access", "cred_7", "read", "req_1", "tok_1", ""};

	memset(f, 0, sizeof(*f));
	f->format = ZG_AUDIT_FORMAT_V1;
	for (int i = 0; i <= F_KEY_ID; i++)
		f->str[i] = values[i];
	f->success = 1;
	f->blob = "";
}

static void
append_field(zg_buf *b, const struct fields *f, int i)
{
	size_t n = f->len[i] ? f->len[i] : strlen(f->str[i]);
	assert_int_equal(zg_buf_append_lp(b, f->str[i], n), ZG_OK);
}

/* Encodes f in the field order of event.c. */
static void
encode_fields(const struct fields *f, zg_buf *b)
{
	assert_int_equal(zg_buf_append_u8(b, f->format), ZG_OK);
	append_field(b, f, F_EVENT_ID);
	assert_int_equal(zg_buf_append_u64be(b, 1700000000000000), ZG_OK);
	for (int i = F_USER_ID; i <= F_ACTION; i++)
		append_field(b, f, i);
	assert_int_equal(zg_buf_append_u8(b, f->success), ZG_OK);
	for (int i = F_REQUEST_ID; i <= F_KEY_ID; i++)
		append_field(b, f, i);
	assert_int_equal(zg_buf_append_lp(b, f->blob, f->blob_len), ZG_OK);
}

/* Returns whether zg_audit_decode accepts bytes. */
static bool
decodes(const uint8_t *bytes, size_t len)
{
	json_t *obj = NULL;
	zg_err err = zg_audit_decode(NULL, bytes, len, &obj);
	json_decref(obj);
	return err == ZG_OK;
}

/* Checks both functions on bytes and that they agree with want. */
static void
expect_bytes(const uint8_t *bytes, size_t len, bool want)
{
	zg_err err = zg_audit_validate(bytes, len);
	assert_int_equal(decodes(bytes, len), want);
	assert_int_equal(err, want ? ZG_OK : ZG_ERR_INTEGRITY);
}

static void
expect_fields(const struct fields *f, bool want)
{
	zg_buf b = ZG_BUF_INIT;

	encode_fields(f, &b);
	expect_bytes(b.data, b.len, want);
	zg_buf_free(&b);
}

/* Sets field i to value and checks the verdict of both functions. */
static void
expect_field(int i, const char *value, size_t len, bool want)
{
	struct fields f;
	zg_buf b = ZG_BUF_INIT;

	fields_default(&f);
	f.str[i] = value;
	f.len[i] = len;
	encode_fields(&f, &b);
	bool decoded = decodes(b.data, b.len);
	bool validated = zg_audit_validate(b.data, b.len) == ZG_OK;
	zg_buf_free(&b);
	if (decoded != want || validated != want)
		fail_msg("field %d, value of %zu bytes: decode %s, validate "
		    "%s, expected %s", i, len ? len : strlen(value),
		    decoded ? "accepts" : "rejects",
		    validated ? "accepts" : "rejects",
		    want ? "accept" : "reject");
}

static void
valid_event_passes(void **state)
{
	struct fields f;

	fields_default(&f);
	expect_fields(&f, true);
	f.success = 0;
	f.str[F_KEY_ID] = "audit_user:0123:1";
	f.blob = "\x01\x02\x03";
	f.blob_len = 3;
	expect_fields(&f, true);
}

static void
encoded_event_passes(void **state)
{
	zg_audit_event ev;
	zg_buf b = ZG_BUF_INIT;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.event_id, sizeof(ev.event_id), "evt_42");
	ev.timestamp = 1700000000000000;
	ev.user_id = "bob";
	ev.event_type = "credential_access";
	ev.resource = "cred_1";
	ev.action = "read";
	ev.success = true;
	assert_int_equal(zg_audit_encode(NULL, NULL, &ev, &b), ZG_OK);
	expect_bytes(b.data, b.len, true);
	zg_buf_free(&b);
}

static void
empty_and_short_fail(void **state)
{
	zg_buf b = ZG_BUF_INIT;
	struct fields f;

	expect_bytes(NULL, 0, false);
	fields_default(&f);
	encode_fields(&f, &b);
	for (size_t len = 1; len < b.len; len++)
		expect_bytes(b.data, len, false);
	zg_buf_free(&b);
}

static void
trailing_byte_fails(void **state)
{
	zg_buf b = ZG_BUF_INIT;
	struct fields f;

	fields_default(&f);
	encode_fields(&f, &b);
	assert_int_equal(zg_buf_append_u8(&b, 0), ZG_OK);
	expect_bytes(b.data, b.len, false);
	zg_buf_free(&b);
}

static void
format_and_success_checked(void **state)
{
	struct fields f;

	fields_default(&f);
	f.format = 2;
	expect_fields(&f, false);
	f.format = 0;
	expect_fields(&f, false);
	fields_default(&f);
	f.success = 2;
	expect_fields(&f, false);
	f.success = 0xff;
	expect_fields(&f, false);
}

static void
utf8_rules_match(void **state)
{
	/* Every str field must be well-formed UTF-8. */
	static const struct {
		const char *bytes;
		bool valid;
	} cases[] = {
		{"caf\xc3\xa9", true},              /* U+00E9 */
		{"\xe2\x82\xac", true},             /* U+20AC */
		{"\xf0\x9d\x84\x9e", true},         /* U+1D11E */
		{"\xf4\x8f\xbf\xbf", true},         /* U+10FFFF */
		{"\xed\x9f\xbf", true},             /* U+D7FF */
		{"\xee\x80\x80", true},             /* U+E000 */
		{"ascii then \xc3\xa9 after", true},
		{"\xc0\x80", false},                /* overlong NUL */
		{"\xc1\xbf", false},                /* overlong */
		{"\xe0\x9f\xbf", false},            /* overlong U+07FF */
		{"\xf0\x8f\xbf\xbf", false},        /* overlong U+FFFF */
		{"\xed\xa0\x80", false},            /* surrogate U+D800 */
		{"\xed\xbf\xbf", false},            /* surrogate U+DFFF */
		{"\xf4\x90\x80\x80", false},        /* U+110000 */
		{"\xf5\x80\x80\x80", false},
		{"\xff", false},
		{"\x80", false},                    /* lone continuation */
		{"\xc3", false},                    /* truncated */
		{"\xe2\x82", false},
		{"12345678\xe2\x82", false},        /* after an ASCII word */
		{"\xc3\x28", false},                /* bad continuation */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int field = F_EVENT_ID; field <= F_KEY_ID; field++)
			expect_field(field, cases[i].bytes, 0, cases[i].valid);
	}
}

static void
nul_allowed_only_in_free_fields(void **state)
{
	/* eventId, userId and personalKeyId are copied as C strings. */
	expect_field(F_EVENT_ID, "evt\0x", 5, false);
	expect_field(F_USER_ID, "al\0ce", 5, false);
	expect_field(F_KEY_ID, "k\0", 2, false);
	expect_field(F_SESSION_ID, "se\0s", 4, true);
	expect_field(F_RESOURCE, "\0", 1, true);
	expect_field(F_TOKEN_ID, "tok\0", 4, true);
}

static void
length_limits_match(void **state)
{
	char text[512];

	memset(text, 'a', sizeof(text));
	/* The decoder copies eventId and personalKeyId into ZG_ID_MAX. */
	expect_field(F_EVENT_ID, text, ZG_ID_MAX - 1, true);
	expect_field(F_EVENT_ID, text, ZG_ID_MAX, false);
	expect_field(F_KEY_ID, text, ZG_ID_MAX - 1, true);
	expect_field(F_KEY_ID, text, ZG_ID_MAX, false);
	/* userId into ZG_USER_MAX + 64 bytes. */
	expect_field(F_USER_ID, text, ZG_USER_MAX + 63, true);
	expect_field(F_USER_ID, text, ZG_USER_MAX + 64, false);
	expect_field(F_RESOURCE, text, sizeof(text), true);
}

static void
random_corruption_agrees(void **state)
{
	unsigned seed = zgt_seed("random_corruption_agrees");
	zg_buf b = ZG_BUF_INIT;
	struct fields f;

	srand(seed);
	fields_default(&f);
	f.str[F_USER_ID] = "z\xc3\xa9o \xe2\x82\xac";
	f.str[F_KEY_ID] = "audit_user:0123:1";
	f.blob = "ciphertext";
	f.blob_len = 10;
	encode_fields(&f, &b);
	uint8_t *copy = malloc(b.len);
	assert_non_null(copy);
	for (int round = 0; round < 20000; round++) {
		memcpy(copy, b.data, b.len);
		int flips = 1 + rand() % 3;
		for (int k = 0; k < flips; k++) {
			size_t at = (size_t)rand() % b.len;
			if (rand() % 2)
				copy[at] ^= (uint8_t)(1u << (rand() % 8));
			else
				copy[at] = (uint8_t)rand();
		}
		size_t len = rand() % 8 == 0 ? (size_t)rand() % b.len : b.len;
		bool want = decodes(copy, len);
		if ((zg_audit_validate(copy, len) == ZG_OK) != want)
			fail_msg("round %d: validate disagrees with decode "
			    "(decode %s)", round, want ? "accepts" : "rejects");
	}
	free(copy);
	zg_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_event_passes),
		cmocka_unit_test(encoded_event_passes),
		cmocka_unit_test(empty_and_short_fail),
		cmocka_unit_test(trailing_byte_fails),
		cmocka_unit_test(format_and_success_checked),
		cmocka_unit_test(utf8_rules_match),
		cmocka_unit_test(nul_allowed_only_in_free_fields),
		cmocka_unit_test(length_limits_match),
		cmocka_unit_test(random_corruption_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
