/*
 * SIEM forwarding of the audit log: a syslog collector started by this
 * test on 127.0.0.1 (TCP with octet counting, or UDP) and the JSON file
 * sink, against the real daemon. Covers critical events, the
 * authentication failure burst, non-critical events staying out of syslog,
 * a collector that is down and comes back, and UDP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zgtest.h"

#define MESSAGES_MAX 4096

/* A syslog collector that keeps every message it receives in memory. */
struct collector {
	bool udp;
	unsigned port;
	int lfd;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	pthread_mutex_t mu;
	char *msgs[MESSAGES_MAX];
	size_t n;
	unsigned bad_frames;
};

static struct collector tcp;
static zgt_daemon srv;
static char json_dir[64];
static char json_path[128];
static unsigned seed;
static unsigned name_seq;

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
collector_add(struct collector *c, const char *msg, size_t len)
{
	pthread_mutex_lock(&c->mu);
	if (c->n < MESSAGES_MAX)
		c->msgs[c->n++] = strndup(msg, len);
	pthread_mutex_unlock(&c->mu);
}

/* Takes complete "LEN SP MSG" frames from the front of buf. */
static size_t
parse_frames(struct collector *c, char *buf, size_t len)
{
	size_t used = 0;
	for (;;) {
		char *sp = memchr(buf + used, ' ', len - used);
		if (sp == NULL)
			break;
		char *end;
		unsigned long n = strtoul(buf + used, &end, 10);
		if (end != sp || n == 0) {
			c->bad_frames++;
			return len;
		}
		size_t start = (size_t)(sp - buf) + 1;
		if (len - start < n)
			break;
		collector_add(c, buf + start, n);
		used = start + n;
	}
	return used;
}

static void *
collector_main(void *arg)
{
	struct collector *c = arg;
	int cfd = -1;
	size_t have = 0;
	static char buf[1 << 20];

	while (!atomic_load(&c->stop)) {
		struct pollfd pfd[2] = {{c->lfd, POLLIN, 0}, {cfd, POLLIN, 0}};
		if (poll(pfd, cfd >= 0 ? 2 : 1, 50) <= 0)
			continue;
		if (c->udp && (pfd[0].revents & POLLIN)) {
			ssize_t n = recv(c->lfd, buf, sizeof(buf), 0);
			if (n > 0)
				collector_add(c, buf, (size_t)n);
			continue;
		}
		if ((pfd[0].revents & POLLIN) && cfd < 0) {
			cfd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
			have = 0;
		}
		if (cfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(cfd, buf + have, sizeof(buf) - have);
			if (n <= 0) {
				close(cfd);
				cfd = -1;
				continue;
			}
			have += (size_t)n;
			size_t used = parse_frames(c, buf, have);
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
	if (cfd >= 0)
		close(cfd);
	return NULL;
}

/* Starts listening on 127.0.0.1:port (0: any free port). */
static int
collector_start(struct collector *c, bool udp, unsigned port)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int one = 1;

	c->udp = udp;
	/* Close-on-exec, so the daemon started later does not inherit it. */
	int type = udp ? SOCK_DGRAM : SOCK_STREAM;
	c->lfd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (c->lfd < 0)
		return -1;
	setsockopt(c->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (!udp && listen(c->lfd, 4) != 0) ||
	    getsockname(c->lfd, (struct sockaddr *)&sa, &len) != 0) {
		fprintf(stderr, "collector on port %u: %s\n", port,
		    strerror(errno));
		close(c->lfd);
		return -1;
	}
	c->port = ntohs(sa.sin_port);
	atomic_store(&c->stop, false);
	if (pthread_create(&c->thread, NULL, collector_main, c) != 0)
		return -1;
	c->running = true;
	return 0;
}

/* Stops listening and closes the connection; the messages stay. */
static void
collector_stop(struct collector *c)
{
	if (!c->running)
		return;
	atomic_store(&c->stop, true);
	pthread_join(c->thread, NULL);
	close(c->lfd);
	c->running = false;
}

static void
collector_free(struct collector *c)
{
	collector_stop(c);
	for (size_t i = 0; i < c->n; i++)
		free(c->msgs[i]);
	c->n = 0;
}

/* Returns the MSGID field of a message in out. */
static void
msgid(const char *msg, char *out, size_t outsz)
{
	const char *p = msg;
	/* PRI+VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID come first. */
	for (int i = 0; i < 5 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	out[0] = '\0';
	if (p != NULL)
		snprintf(out, outsz, "%.*s", (int)strcspn(p, " "), p);
}

/* Writes the unescaped value of SD-PARAM name, or "" when absent. */
static void
sd_param(const char *msg, const char *name, char *out, size_t outsz)
{
	char key[64];
	size_t n = 0;
	snprintf(key, sizeof(key), " %s=\"", name);
	const char *p = strstr(msg, key);
	out[0] = '\0';
	if (p == NULL)
		return;
	for (p += strlen(key); *p != '\0' && *p != '"' && n + 1 < outsz; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
}

/* Counts messages with the given MSGID whose text contains needle. */
static size_t
count_messages(struct collector *c, const char *kind, const char *needle)
{
	size_t count = 0;
	char id[64];
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		msgid(c->msgs[i], id, sizeof(id));
		if ((kind == NULL || strcmp(id, kind) == 0) &&
		    (needle == NULL || strstr(c->msgs[i], needle) != NULL))
			count++;
	}
	pthread_mutex_unlock(&c->mu);
	return count;
}

/* Waits up to timeout_ms for a matching message and copies it to out. */
static bool
wait_message(struct collector *c, const char *kind, const char *needle,
    unsigned timeout_ms, char *out, size_t outsz)
{
	int64_t deadline = now_ms() + timeout_ms;
	char id[64];
	do {
		pthread_mutex_lock(&c->mu);
		for (size_t i = 0; i < c->n; i++) {
			msgid(c->msgs[i], id, sizeof(id));
			if (strcmp(id, kind) == 0 && (needle == NULL ||
			    strstr(c->msgs[i], needle) != NULL)) {
				if (out != NULL)
					snprintf(out, outsz, "%s", c->msgs[i]);
				pthread_mutex_unlock(&c->mu);
				return true;
			}
		}
		pthread_mutex_unlock(&c->mu);
		usleep(50 * 1000);
	} while (now_ms() < deadline);
	return false;
}

static int
group_setup(void **state)
{
	char ini[512];
	seed = zgt_seed("test_audit_forward");
	pthread_mutex_init(&tcp.mu, NULL);
	if (collector_start(&tcp, false, 0) != 0)
		return -1;
	snprintf(json_dir, sizeof(json_dir), "/tmp/zguard-fwd-XXXXXX");
	if (mkdtemp(json_dir) == NULL)
		return -1;
	snprintf(json_path, sizeof(json_path), "%s/audit.jsonl", json_dir);
	snprintf(ini, sizeof(ini), "[audit]\nsyslog = tcp://127.0.0.1:%u\n"
	    "json_file = %s\n", tcp.port, json_path);
	return zgt_daemon_start(&srv, ini);
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
		unlink(json_path);
		rmdir(json_dir);
	}
	if (tcp.bad_frames != 0) {
		fprintf(stderr, "the collector saw %u malformed frames\n",
		    tcp.bad_frames);
		rc = -1;
	}
	collector_free(&tcp);
	zgt_http_thread_done();
	return rc;
}

/* Creates a credential on d and copies its id into id. */
static void
create_cred(zgt_daemon *d, char *id, size_t idsz)
{
	char body[256];
	zgt_resp r;
	snprintf(body, sizeof(body), "{\"type\":\"api_token\",\"name\":"
	    "\"fwd-%u-%u\",\"value\":\"v\"}", seed, ++name_seq);
	assert_int_equal(zgt_http(d, "POST", "/v1/credentials", d->token, body,
	    &r), 0);
	assert_int_equal(r.status, 201);
	snprintf(id, idsz, "%s", zgt_str(&r, "id"));
	zgt_resp_free(&r);
}

static void
revoke_cred(zgt_daemon *d, const char *id)
{
	char path[320];
	zgt_resp r;
	snprintf(path, sizeof(path), "/v1/credentials/%s/revoke", id);
	assert_int_equal(zgt_http(d, "POST", path, d->token, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	zgt_resp_free(&r);
}

static void
revoke_sends_message(void **state)
{
	char id[64], needle[96], msg[16384], v[256];
	create_cred(&srv, id, sizeof(id));
	revoke_cred(&srv, id);
	snprintf(needle, sizeof(needle), "resource=\"credentials/%s\"", id);
	assert_true(wait_message(&tcp, "credentials_revoke", needle, 10000, msg,
	    sizeof(msg)));

	/* authpriv.notice for a success. */
	assert_true(strncmp(msg, "<85>1 ", 6) == 0);
	assert_non_null(strstr(msg, " zguard "));
	sd_param(msg, "action", v, sizeof(v));
	assert_string_equal(v, "revoke");
	sd_param(msg, "eventType", v, sizeof(v));
	assert_string_equal(v, "credential_access");
	sd_param(msg, "success", v, sizeof(v));
	assert_string_equal(v, "true");
	sd_param(msg, "userId", v, sizeof(v));
	assert_true(v[0] != '\0');
	sd_param(msg, "leafIndex", v, sizeof(v));
	assert_true(v[0] >= '0' && v[0] <= '9');
	sd_param(msg, "eventId", v, sizeof(v));
	assert_true(strncmp(v, "evt_", 4) == 0);

	/* The message part is the readable event as JSON. */
	const char *body = strstr(msg, "] {");
	assert_non_null(body);
	json_t *ev = json_loads(body + 2, 0, NULL);
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "eventId")),
	    v);
	assert_string_equal(json_string_value(json_object_get(ev, "action")),
	    "revoke");
	assert_string_equal(json_string_value(json_object_get(ev, "ipAddress")),
	    "127.0.0.1");
	json_decref(ev);
	assert_int_equal(count_messages(&tcp, "credentials_revoke", needle), 1);
}

static void
failure_burst_sent_once(void **state)
{
	zgt_resp r;
	char msg[16384], v[64];
	size_t before = count_messages(&tcp, "authentication_failure_burst",
	    NULL);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(zgt_http(&srv, "GET", "/v1/credentials",
		    "zgt_not_a_valid_token", NULL, &r), 0);
		assert_int_equal(r.status, 401);
		zgt_resp_free(&r);
	}
	assert_true(wait_message(&tcp, "authentication_failure_burst", NULL,
	    10000, msg, sizeof(msg)));
	/* authpriv.warning */
	assert_true(strncmp(msg, "<84>1 ", 6) == 0);
	sd_param(msg, "ipAddress", v, sizeof(v));
	assert_string_equal(v, "127.0.0.1");
	sd_param(msg, "failures", v, sizeof(v));
	assert_string_equal(v, "5");

	/* A later critical event shows the sixth failure was handled too. */
	char id[64], needle[96];
	create_cred(&srv, id, sizeof(id));
	revoke_cred(&srv, id);
	snprintf(needle, sizeof(needle), "credentials/%s", id);
	assert_true(wait_message(&tcp, "credentials_revoke", needle, 10000, NULL,
	    0));
	assert_int_equal(count_messages(&tcp, "authentication_failure_burst",
	    NULL), before + 1);
}

/* Returns the lines of the JSON file that contain needle. */
static size_t
count_file_lines(const char *needle)
{
	char *text = zgt_read_file(json_path, NULL);
	size_t count = 0;
	if (text == NULL)
		return 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, needle) != NULL)
			count++;
	free(text);
	return count;
}

static void
create_only_in_file(void **state)
{
	char created[64], revoked[64], needle[96];
	create_cred(&srv, created, sizeof(created));
	create_cred(&srv, revoked, sizeof(revoked));
	revoke_cred(&srv, revoked);
	snprintf(needle, sizeof(needle), "credentials/%s", revoked);
	assert_true(wait_message(&tcp, "credentials_revoke", needle, 10000, NULL,
	    0));
	/* Syslog is delivered in log order, so the create came before. */
	assert_int_equal(count_messages(&tcp, NULL, created), 0);

	snprintf(needle, sizeof(needle), "\"resource\":\"credentials/%s\"",
	    created);
	int64_t deadline = now_ms() + 10000;
	while (count_file_lines(needle) == 0 && now_ms() < deadline)
		usleep(50 * 1000);
	assert_int_equal(count_file_lines(needle), 1);
}

static void
file_lines_are_json(void **state)
{
	char *text = zgt_read_file(json_path, NULL);
	assert_non_null(text);
	long long prev = -1;
	size_t lines = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *ev = json_loads(line, 0, NULL);
		assert_non_null(ev);
		json_t *idx = json_object_get(ev, "leafIndex");
		assert_true(json_is_integer(idx));
		/* Consecutive: no event skipped, none written twice. */
		if (prev >= 0)
			assert_int_equal(json_integer_value(idx), prev + 1);
		prev = json_integer_value(idx);
		assert_non_null(json_object_get(ev, "eventType"));
		json_decref(ev);
		lines++;
	}
	assert_true(lines > 10);
	free(text);
}

/* Waits up to timeout_ms for the daemon's log to contain text. */
static bool
wait_log(const char *text, unsigned timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (!zgt_file_contains(srv.log_path, text, strlen(text))) {
		if (now_ms() >= deadline)
			return false;
		usleep(50 * 1000);
	}
	return true;
}

static void
collector_down_backlog(void **state)
{
	enum { OPS = 4 };
	char ids[OPS][64], needle[96];
	unsigned port = tcp.port;

	collector_stop(&tcp);
	for (int i = 0; i < OPS; i++) {
		create_cred(&srv, ids[i], sizeof(ids[i]));
		int64_t start = now_ms();
		revoke_cred(&srv, ids[i]);
		assert_true(now_ms() - start < 2000);
		usleep(300 * 1000);
	}
	/* Let the forwarder fail and back off at least once. */
	sleep(2);
	assert_int_equal(collector_start(&tcp, false, port), 0);
	for (int i = 0; i < OPS; i++) {
		snprintf(needle, sizeof(needle), "credentials/%.63s", ids[i]);
		assert_true(wait_message(&tcp, "credentials_revoke", needle, 45000,
		    NULL, 0));
	}
	/* The JSON file did not wait for the collector. */
	for (int i = 0; i < OPS; i++) {
		snprintf(needle, sizeof(needle), "\"resource\":\"credentials/%.63s\"",
		    ids[i]);
		assert_int_equal(count_file_lines(needle), 2);
	}
	assert_true(wait_log("audit forwarding failed", 1000));
	assert_true(wait_log("audit forwarding recovered", 5000));
}

static void
backlog_survives_restart(void **state)
{
	char id[64], needle[96];
	unsigned port = tcp.port;
	collector_stop(&tcp);
	create_cred(&srv, id, sizeof(id));
	revoke_cred(&srv, id);
	assert_int_equal(zgt_daemon_stop(&srv), 0);
	assert_int_equal(collector_start(&tcp, false, port), 0);
	assert_int_equal(zgt_daemon_restart(&srv), 0);
	snprintf(needle, sizeof(needle), "credentials/%s", id);
	assert_true(wait_message(&tcp, "credentials_revoke", needle, 20000, NULL,
	    0));
}

static void
udp_sends_message(void **state)
{
	struct collector udp = {0};
	zgt_daemon d;
	char ini[256], id[64], needle[96], msg[16384];

	pthread_mutex_init(&udp.mu, NULL);
	assert_int_equal(collector_start(&udp, true, 0), 0);
	snprintf(ini, sizeof(ini), "[audit]\nsyslog = udp://127.0.0.1:%u\n",
	    udp.port);
	assert_int_equal(zgt_daemon_start(&d, ini), 0);
	create_cred(&d, id, sizeof(id));
	revoke_cred(&d, id);
	snprintf(needle, sizeof(needle), "resource=\"credentials/%s\"", id);
	assert_true(wait_message(&udp, "credentials_revoke", needle, 10000, msg,
	    sizeof(msg)));
	/* One message per datagram: no octet-counting prefix. */
	assert_true(strncmp(msg, "<85>1 ", 6) == 0);
	assert_int_equal(zgt_daemon_stop(&d), 0);
	assert_false(zgt_log_has_errors(&d));
	zgt_daemon_cleanup(&d);
	collector_free(&udp);
}

static void
host_name_rejected(void **state)
{
	zgt_daemon d;
	assert_int_equal(zgt_daemon_prepare(&d,
	    "[audit]\nsyslog = tcp://localhost:514\n"), 0);
	assert_int_not_equal(zgt_daemon_launch(&d), 0);
	assert_true(zgt_file_contains(d.log_path, "tcp://localhost:514",
	    strlen("tcp://localhost:514")));
	zgt_daemon_cleanup(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(revoke_sends_message),
		cmocka_unit_test(failure_burst_sent_once),
		cmocka_unit_test(create_only_in_file),
		cmocka_unit_test(collector_down_backlog),
		cmocka_unit_test(backlog_survives_restart),
		cmocka_unit_test(file_lines_are_json),
		cmocka_unit_test(udp_sends_message),
		cmocka_unit_test(host_name_rejected),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
