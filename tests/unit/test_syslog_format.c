/*
 * RFC 5424 formatting, SD-PARAM escaping, collector URL parsing and the
 * octet-counted TCP framing of src/audit/syslog.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/syslog.h"

static const zg_syslog_origin origin = {"host1", "42"};

/* Formats into a NUL-terminated string that the caller frees. */
static char *
format(unsigned severity, const char *ts, const char *msgid,
    const zg_sd_param *params, size_t n, const char *msg, size_t max_len)
{
	zg_buf b = ZG_BUF_INIT;
	assert_int_equal(zg_syslog_format(&b, ZG_SYSLOG_FACILITY_AUTHPRIV,
	    severity, ts, &origin, msgid, params, n, msg, max_len), ZG_OK);
	/* b is not NUL-terminated, so copy exactly b.len bytes. */
	char *s = malloc(b.len + 1);
	assert_non_null(s);
	if (b.len > 0)
		memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	zg_buf_free(&b);
	return s;
}

static void
format_full_message(void **state)
{
	const zg_sd_param params[] = {
		{"eventId", "evt_1"},
		{"success", "true"},
	};
	char *s = format(ZG_SYSLOG_SEVERITY_NOTICE, "2026-01-02T03:04:05.123456Z",
	    "credential_revoke", params, 2, "{\"a\":1}", 0);
	assert_string_equal(s, "<85>1 2026-01-02T03:04:05.123456Z host1 zguard "
	    "42 credential_revoke [zguard@32473 eventId=\"evt_1\" "
	    "success=\"true\"] {\"a\":1}");
	free(s);
}

static void
format_pri_warning(void **state)
{
	/* authpriv (10) * 8 + warning (4) = 84. */
	char *s = format(ZG_SYSLOG_SEVERITY_WARNING, NULL, "k", NULL, 0, NULL, 0);
	assert_string_equal(s, "<84>1 - host1 zguard 42 k -");
	free(s);
}

static void
escape_special_characters(void **state)
{
	zg_buf b = ZG_BUF_INIT;
	assert_int_equal(zg_syslog_append_param_value(&b,
	    "a\"b\\c]d[e=f"), ZG_OK);
	assert_int_equal(b.len, strlen("a\\\"b\\\\c\\]d[e=f"));
	assert_memory_equal(b.data, "a\\\"b\\\\c\\]d[e=f", b.len);
	zg_buf_free(&b);
}

static void
format_escapes_params(void **state)
{
	const zg_sd_param params[] = {{"resource", "x\"]y"}};
	char *s = format(ZG_SYSLOG_SEVERITY_NOTICE, "t", "k", params, 1, "m", 0);
	assert_string_equal(s, "<85>1 t host1 zguard 42 k "
	    "[zguard@32473 resource=\"x\\\"\\]y\"] m");
	free(s);
}

static void
format_msgid_cleaned(void **state)
{
	char *s = format(ZG_SYSLOG_SEVERITY_NOTICE, "t",
	    "a b\x01" "cdefghijklmnopqrstuvwxyz0123456789", NULL, 0, NULL, 0);
	/* 32 characters, space and control byte replaced. */
	assert_string_equal(s, "<85>1 t host1 zguard 42 "
	    "a_b_cdefghijklmnopqrstuvwxyz0123 -");
	free(s);
}

static void
format_cuts_message(void **state)
{
	char msg[200];
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	char *s = format(ZG_SYSLOG_SEVERITY_NOTICE, "t", "k", NULL, 0, msg, 50);
	assert_int_equal(strlen(s), 50);
	assert_true(strncmp(s, "<85>1 t host1 zguard 42 k - xxx", 31) == 0);
	free(s);
}

static void
parse_tcp_ipv4(void **state)
{
	zg_syslog_target t;
	assert_int_equal(zg_syslog_parse_url("tcp://127.0.0.1:6514", &t, NULL),
	    ZG_OK);
	assert_int_equal(t.proto, ZG_SYSLOG_TCP);
	const struct sockaddr_in *sa = (const struct sockaddr_in *)&t.addr;
	assert_int_equal(sa->sin_family, AF_INET);
	assert_int_equal(ntohs(sa->sin_port), 6514);
	assert_int_equal(ntohl(sa->sin_addr.s_addr), INADDR_LOOPBACK);
}

static void
parse_udp_ipv6(void **state)
{
	zg_syslog_target t;
	assert_int_equal(zg_syslog_parse_url("udp://[::1]:514", &t, NULL), ZG_OK);
	assert_int_equal(t.proto, ZG_SYSLOG_UDP);
	const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)&t.addr;
	assert_int_equal(sa->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sa->sin6_port), 514);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr));
}

static void
parse_rejects_host_name(void **state)
{
	zg_syslog_target t;
	zg_errmsg em = {0};
	assert_int_equal(zg_syslog_parse_url("tcp://localhost:514", &t, &em),
	    ZG_ERR_CONFIG);
	assert_non_null(strstr(em.text, "tcp://localhost:514"));
	assert_non_null(strstr(em.text, "\"localhost\""));
}

static void
parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"", "127.0.0.1:514", "tls://127.0.0.1:514", "tcp://127.0.0.1",
		"tcp://127.0.0.1:", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
		"tcp://127.0.0.1:5x", "tcp://127.0.0.1:-1", "tcp://:514",
		"udp://[::1]", "udp://::1:514", "udp://[::1:514", "tcp://[]:514",
		NULL,
	};
	for (const char *const *u = bad; *u != NULL; u++) {
		zg_syslog_target t;
		zg_errmsg em = {0};
		zg_err err = zg_syslog_parse_url(*u, &t, &em);
		if (err != ZG_ERR_CONFIG)
			fprintf(stderr, "accepted \"%s\"\n", *u);
		assert_int_equal(err, ZG_ERR_CONFIG);
		assert_true(em.text[0] != '\0');
	}
}

/* Opens a listening TCP socket on 127.0.0.1 and writes its URL. */
static int
listen_local(char *url, size_t urlsz)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, urlsz, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

static void
tcp_octet_counting(void **state)
{
	char url[64], got[64] = {0};
	zg_syslog_target t;
	zg_syslog_conn c;
	int lfd = listen_local(url, sizeof(url));
	assert_int_equal(zg_syslog_parse_url(url, &t, NULL), ZG_OK);
	zg_syslog_conn_init(&c, &t);
	assert_int_equal(zg_syslog_send(&c, (const uint8_t *)"hello", 5, NULL),
	    ZG_OK);
	assert_int_equal(zg_syslog_send(&c, (const uint8_t *)"a b", 3, NULL),
	    ZG_OK);
	int cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	size_t n = 0;
	while (n < 12) {
		ssize_t r = read(cfd, got + n, sizeof(got) - 1 - n);
		assert_true(r > 0);
		n += (size_t)r;
	}
	assert_string_equal(got, "5 hello3 a b");
	assert_true(zg_syslog_conn_alive(&c));

	/* The collector goes away: the next check notices and closes. */
	close(cfd);
	close(lfd);
	struct pollfd pfd = {c.fd, POLLIN, 0};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_false(zg_syslog_conn_alive(&c));
	assert_int_equal(c.fd, -1);
	zg_errmsg em = {0};
	assert_int_equal(zg_syslog_send(&c, (const uint8_t *)"x", 1, &em),
	    ZG_ERR_IO);
	assert_non_null(strstr(em.text, url));
	zg_syslog_conn_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_full_message),
		cmocka_unit_test(format_pri_warning),
		cmocka_unit_test(escape_special_characters),
		cmocka_unit_test(format_escapes_params),
		cmocka_unit_test(format_msgid_cleaned),
		cmocka_unit_test(format_cuts_message),
		cmocka_unit_test(parse_tcp_ipv4),
		cmocka_unit_test(parse_udp_ipv6),
		cmocka_unit_test(parse_rejects_host_name),
		cmocka_unit_test(parse_rejects_malformed),
		cmocka_unit_test(tcp_octet_counting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
