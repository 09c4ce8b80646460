#include "zgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

unsigned
zgt_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

void
zgt_tempdir(char *out, size_t outsz)
{
	snprintf(out, outsz, "/tmp/zguard-test-XXXXXX");
	if (mkdtemp(out) == NULL)
		out[0] = '\0';
}

char *
zgt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *p = realloc(buf, cap * 2 + 1);
			if (p == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf == NULL)
		return NULL;
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

bool
zgt_file_contains(const char *path, const void *needle, size_t len)
{
	size_t n = 0;
	char *buf = zgt_read_file(path, &n);
	bool found = buf != NULL && len > 0 && memmem(buf, n, needle, len) != NULL;
	free(buf);
	return found;
}

bool
zgt_log_has_errors(const zgt_daemon *d)
{
	static const char *const marks[] = {"ERROR: AddressSanitizer",
	    "ERROR: LeakSanitizer", "runtime error:", "level=error", NULL};
	for (const char *const *m = marks; *m != NULL; m++)
		if (zgt_file_contains(d->log_path, *m, strlen(*m)))
			return true;
	return false;
}

bool
zgt_log_has_sanitizer_report(const zgt_daemon *d)
{
	static const char *const marks[] = {"ERROR: AddressSanitizer",
	    "ERROR: LeakSanitizer", "runtime error:", NULL};
	for (const char *const *m = marks; *m != NULL; m++)
		if (zgt_file_contains(d->log_path, *m, strlen(*m)))
			return true;
	return false;
}

static int
write_config(zgt_daemon *d)
{
	FILE *f = fopen(d->config, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "[server]\nlisten = 127.0.0.1:%u\ndata = %s\nworkers = 8\n",
	    d->port, d->data);
	fputs(d->extra_ini, f);
	fclose(f);
	return 0;
}

static int
spawn(zgt_daemon *d)
{
	const char *bin = getenv("ZGUARD_BIN");
	if (bin == NULL)
		bin = "./zguard";
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int devnull = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		if (devnull >= 0)
			dup2(devnull, 0);
		execl(bin, bin, "serve", "--config", d->config, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	return 0;
}

/* Waits until /v1/health answers 200, or the process exits. */
static int
wait_ready(zgt_daemon *d, bool want_token)
{
	char token_path[400];
	snprintf(token_path, sizeof(token_path), "%s/admin.token", d->data);
	for (int i = 0; i < 300; i++) {
		int status;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		zgt_resp r;
		if (zgt_http(d, "GET", "/v1/health", NULL, NULL, &r) == 0 &&
		    r.status == 200) {
			zgt_resp_free(&r);
			if (!want_token)
				return 0;
			char *tok = zgt_read_file(token_path, NULL);
			if (tok != NULL) {
				tok[strcspn(tok, "\n")] = '\0';
				snprintf(d->token, sizeof(d->token), "%s", tok);
				free(tok);
				return 0;
			}
		} else {
			zgt_resp_free(&r);
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

int
zgt_daemon_prepare(zgt_daemon *d, const char *extra_ini)
{
	memset(d, 0, sizeof(*d));
	zgt_tempdir(d->root, sizeof(d->root));
	if (d->root[0] == '\0')
		return -1;
	snprintf(d->data, sizeof(d->data), "%s/data", d->root);
	snprintf(d->config, sizeof(d->config), "%s/zguard.ini", d->root);
	snprintf(d->log_path, sizeof(d->log_path), "%s/zguard.log", d->root);
	snprintf(d->extra_ini, sizeof(d->extra_ini), "%s", extra_ini ? extra_ini : "");
	d->port = zgt_free_port();
	return 0;
}

int
zgt_daemon_launch(zgt_daemon *d)
{
	d->tls = strstr(d->extra_ini, "tls_cert") != NULL;
	snprintf(d->base_url, sizeof(d->base_url), "%s://127.0.0.1:%u",
	    d->tls ? "https" : "http", d->port);
	if (write_config(d) != 0 || spawn(d) != 0)
		return -1;
	bool passphrase = strstr(d->extra_ini, "passphrase") != NULL;
	if (wait_ready(d, !passphrase) != 0) {
		fprintf(stderr, "zguard did not start; its log:\n");
		char *log = zgt_read_file(d->log_path, NULL);
		if (log) {
			fputs(log, stderr);
			free(log);
		}
		return -1;
	}
	return 0;
}

int
zgt_daemon_start(zgt_daemon *d, const char *extra_ini)
{
	if (zgt_daemon_prepare(d, extra_ini) != 0)
		return -1;
	return zgt_daemon_launch(d);
}

int
zgt_daemon_restart(zgt_daemon *d)
{
	if (d->pid > 0)
		zgt_daemon_stop(d);
	if (spawn(d) != 0)
		return -1;
	bool passphrase = strstr(d->extra_ini, "passphrase") != NULL;
	return wait_ready(d, !passphrase);
}

int
zgt_daemon_stop(zgt_daemon *d)
{
	int status = 0;
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	if (waitpid(d->pid, &status, 0) != d->pid)
		return -1;
	d->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
zgt_daemon_kill9(zgt_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
}

void
zgt_daemon_cleanup(zgt_daemon *d)
{
	if (d->pid > 0)
		zgt_daemon_stop(d);
	if (d->root[0] != '\0' && strncmp(d->root, "/tmp/zguard-test-", 17) == 0) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", d->root);
	}
}

struct sink {
	char *data;
	size_t len;
	zgt_resp *resp;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	char *p = realloc(s->data, s->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + s->len, ptr, n);
	s->len += n;
	p[s->len] = '\0';
	s->data = p;
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	char line[256];
	size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
	memcpy(line, ptr, m);
	line[m] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "X-Request-Id: ", 14) == 0)
		snprintf(s->resp->request_id, sizeof(s->resp->request_id), "%.63s",
		    line + 14);
	if (strncasecmp(line, "Retry-After: ", 13) == 0)
		s->resp->retry_after = strtol(line + 13, NULL, 10);
	if (strncasecmp(line, "Connection: ", 12) == 0)
		snprintf(s->resp->connection, sizeof(s->resp->connection), "%.31s",
		    line + 12);
	return n;
}

/* One handle per thread keeps connections alive between calls. */
static __thread CURL *thread_handle;

static CURL *
shared_handle(void)
{
	if (thread_handle == NULL)
		thread_handle = curl_easy_init();
	return thread_handle;
}

void
zgt_http_thread_done(void)
{
	if (thread_handle != NULL)
		curl_easy_cleanup(thread_handle);
	thread_handle = NULL;
}

/* The body of a chunked upload and how much of it curl has read. */
struct upload {
	const char *data;
	size_t len;
	size_t pos;
};

static size_t
on_upload(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct upload *u = userdata;
	size_t room = size * nitems;
	size_t n = u->len - u->pos;
	if (n > room)
		n = room;
	if (n > 16 * 1024)
		n = 16 * 1024;
	memcpy(buf, u->data + u->pos, n);
	u->pos += n;
	return n;
}

/*
 * Sends one request. authorization is the whole Authorization header value
 * or NULL; a chunked body goes without Content-Length.
 */
static int
perform(const zgt_daemon *d, const char *method, const char *path,
    const char *authorization, const char *body, size_t len, bool chunked,
    zgt_resp *out)
{
	CURL *h = shared_handle();
	struct curl_slist *hdrs = NULL;
	struct sink s = {NULL, 0, out};
	struct upload up = {body, len, 0};
	char url[1024], *auth = NULL;

	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return -1;
	curl_easy_reset(h);
	snprintf(url, sizeof(url), "%s%s", d->base_url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	if (d->tls) {
		char ca[400];
		snprintf(ca, sizeof(ca), "%s/cert.pem", d->root);
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	}
	if (authorization != NULL) {
		/* JWTs run to kilobytes, and tests send some above 16 KiB. */
		size_t n = strlen(authorization) + sizeof("Authorization: ");
		if ((auth = malloc(n)) == NULL)
			return -1;
		snprintf(auth, n, "Authorization: %s", authorization);
		hdrs = curl_slist_append(hdrs, auth);
		free(auth);
	}
	if (body != NULL && chunked) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:");
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
	} else if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		free(s.data);
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->new_connections);
	out->body = s.data;
	out->body_len = s.len;
	if (s.data != NULL)
		out->json = json_loads(s.data, 0, NULL);
	return 0;
}

int
zgt_http_raw(const zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, size_t len, zgt_resp *out)
{
	char auth[256];
	if (token != NULL)
		snprintf(auth, sizeof(auth), "Bearer %s", token);
	return perform(d, method, path, token ? auth : NULL, body, len, false,
	    out);
}

int
zgt_http_chunked(const zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, size_t len, zgt_resp *out)
{
	char auth[256];
	if (token != NULL)
		snprintf(auth, sizeof(auth), "Bearer %s", token);
	return perform(d, method, path, token ? auth : NULL, body, len, true,
	    out);
}

int
zgt_http_authz(const zgt_daemon *d, const char *method, const char *path,
    const char *authorization, const char *body, zgt_resp *out)
{
	return perform(d, method, path, authorization, body,
	    body ? strlen(body) : 0, false, out);
}

int
zgt_http(const zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, zgt_resp *out)
{
	return zgt_http_raw(d, method, path, token, body,
	    body ? strlen(body) : 0, out);
}

void
zgt_resp_free(zgt_resp *r)
{
	json_decref(r->json);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *
zgt_error_code(const zgt_resp *r)
{
	json_t *e = r->json ? json_object_get(r->json, "error") : NULL;
	const char *c = e ? json_string_value(json_object_get(e, "code")) : NULL;
	return c ? c : "";
}

const char *
zgt_str(const zgt_resp *r, const char *key)
{
	const char *v = r->json ?
	    json_string_value(json_object_get(r->json, key)) : NULL;
	return v ? v : "";
}

static char *
slurp_fd(int fd)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while (buf && (got = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n == cap) {
			char *p = realloc(buf, cap * 2 + 1);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	return buf;
}

/*
 * Runs ZGUARD_BIN with args, stdin_text on its stdin and scratch files in
 * dir. addr and token, when not NULL, become ZGUARD_ADDR and
 * ZGUARD_TOKEN; a NULL removes that variable from the child's environment.
 * A timeout_s above 0 arms an alarm that survives exec and kills a child
 * that runs too long.
 */
static int
run_process(const char *dir, const char *const *args, const char *stdin_text,
    const char *addr, const char *token, unsigned timeout_s, char **out,
    char **err)
{
	char in_path[400], out_path[400], err_path[400];
	const char *bin = getenv("ZGUARD_BIN");
	if (bin == NULL)
		bin = "./zguard";
	if (out)
		*out = NULL;
	if (err)
		*err = NULL;
	snprintf(in_path, sizeof(in_path), "%s/cli.in", dir);
	snprintf(out_path, sizeof(out_path), "%s/cli.out", dir);
	snprintf(err_path, sizeof(err_path), "%s/cli.err", dir);
	FILE *f = fopen(in_path, "w");
	if (f == NULL)
		return -1;
	if (stdin_text)
		fputs(stdin_text, f);
	fclose(f);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(in_path, O_RDONLY);
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		if (addr != NULL)
			setenv("ZGUARD_ADDR", addr, 1);
		else
			unsetenv("ZGUARD_ADDR");
		if (token != NULL)
			setenv("ZGUARD_TOKEN", token, 1);
		else
			unsetenv("ZGUARD_TOKEN");
		if (timeout_s > 0)
			alarm(timeout_s);
		const char *argv[32];
		size_t n = 0;
		argv[n++] = bin;
		for (const char *const *a = args; *a && n < 31; a++)
			argv[n++] = *a;
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	int fd = open(out_path, O_RDONLY);
	if (out)
		*out = fd >= 0 ? slurp_fd(fd) : NULL;
	if (fd >= 0)
		close(fd);
	fd = open(err_path, O_RDONLY);
	if (err)
		*err = fd >= 0 ? slurp_fd(fd) : NULL;
	if (fd >= 0)
		close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
zgt_run_cli(const zgt_daemon *d, const char *const *args,
    const char *stdin_text, char **out, char **err)
{
	const char *token = d->token[0] ? d->token : getenv("ZGUARD_TOKEN");
	return run_process(d->root, args, stdin_text, d->base_url, token, 0,
	    out, err);
}

int
zgt_run_bin(const char *dir, const char *const *args, const char *stdin_text,
    unsigned timeout_s, char **out, char **err)
{
	return run_process(dir, args, stdin_text, NULL, NULL, timeout_s, out,
	    err);
}

/* Replaces missing output with empty strings. */
static zgt_run
run_result(int rc, char *out, char *err)
{
	zgt_run r = {rc, out ? out : strdup(""), err ? err : strdup("")};
	return r;
}

zgt_run
zgt_cli(const zgt_daemon *d, const char *const *args, const char *stdin_text)
{
	char *out = NULL, *err = NULL;
	int rc = zgt_run_cli(d, args, stdin_text, &out, &err);
	zgt_run r = run_result(rc, out, err);
	if (r.rc != 0)
		printf("zguard %s %s: exit %d, stderr: %s\n", args[0],
		    args[1] ? args[1] : "", r.rc, r.err);
	return r;
}

zgt_run
zgt_cli_offline(const char *dir, const char *const *args,
    const char *stdin_text)
{
	char *out = NULL, *err = NULL;
	int rc = zgt_run_bin(dir, args, stdin_text, 120, &out, &err);
	return run_result(rc, out, err);
}

void
zgt_run_free(zgt_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

bool
zgt_output_field(const char *text, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > n && strncmp(line, name, n) == 0 && line[n] == ' ') {
			const char *v = line + n + strspn(line + n, " ");
			size_t vlen = len - (size_t)(v - line);
			if (vlen >= outsz)
				return false;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

unsigned
zgt_seed(const char *test_name)
{
	const char *env = getenv("ZG_TEST_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) :
	    (unsigned)time(NULL) ^ (unsigned)getpid();
	printf("%s: seed %u (replay with ZG_TEST_SEED=%u)\n", test_name, seed,
	    seed);
	fflush(stdout);
	return seed;
}
