/*
 * Test support: start the real zguard daemon on a free loopback port with a
 * temporary data directory, and talk to it over HTTP with libcurl.
 */
#ifndef ZGTEST_H
#define ZGTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

typedef struct zgt_daemon {
	pid_t pid;
	char root[256];        /* temporary directory of this test */
	char data[320];        /* data directory */
	char config[320];      /* config file the daemon was started with */
	char log_path[320];    /* the daemon's stderr */
	unsigned port;
	char base_url[64];
	char token[128];       /* the bootstrap admin token */
	char extra_ini[2048];  /* extra config lines, kept for restarts */
	bool tls;
} zgt_daemon;

typedef struct zgt_resp {
	long status;
	json_t *json;          /* parsed body, or NULL */
	char *body;
	size_t body_len;
	char request_id[64];
	char connection[32];   /* value of the Connection header, if any */
	long new_connections;  /* connections curl opened for this request */
	long retry_after;      /* the Retry-After header in seconds, or 0 */
} zgt_resp;

/* Returns a TCP port on 127.0.0.1 that nothing listens on right now. */
unsigned zgt_free_port(void);

/* Creates a fresh temporary directory under /tmp for one test. */
void zgt_tempdir(char *out, size_t outsz);

/*
 * Starts the daemon in a new temporary directory. extra_ini holds config
 * lines appended to the file, e.g. "[vault]\nseal = passphrase\n", or NULL.
 * Waits until /v1/health answers and the admin token exists (keyfile seal).
 * Returns 0 on success.
 */
int zgt_daemon_start(zgt_daemon *d, const char *extra_ini);

/*
 * Does the first half of zgt_daemon_start: creates the temporary directory
 * and fills in the paths, the port and extra_ini, but starts nothing, so a
 * test can put files there (certificates, a data directory made by
 * `zguard init`) or change d->extra_ini first. Returns 0 on success.
 */
int zgt_daemon_prepare(zgt_daemon *d, const char *extra_ini);

/*
 * Does the second half of zgt_daemon_start on a prepared d: writes the
 * config, derives https from a tls_cert line, starts the daemon and waits.
 */
int zgt_daemon_launch(zgt_daemon *d);

/* Starts again on the same data directory and port after a stop. */
int zgt_daemon_restart(zgt_daemon *d);

/* Sends SIGTERM and waits; returns the exit status, or -1. */
int zgt_daemon_stop(zgt_daemon *d);

/* Sends SIGKILL and reaps the process. */
void zgt_daemon_kill9(zgt_daemon *d);

/* Stops the daemon if running and removes its directory. */
void zgt_daemon_cleanup(zgt_daemon *d);

/*
 * Sends one request. token may be NULL for none; body may be NULL. The
 * response is parsed as JSON when possible. Returns 0 if a response came.
 */
int zgt_http(const zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, zgt_resp *out);

/* Like zgt_http with a body of len bytes that may contain anything. */
int zgt_http_raw(const zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, size_t len, zgt_resp *out);

/*
 * Like zgt_http_raw, but sends the body with chunked transfer encoding and
 * no Content-Length header, in chunks of at most 16 KiB.
 */
int zgt_http_chunked(const zgt_daemon *d, const char *method, const char *path,
    const char *token, const char *body, size_t len, zgt_resp *out);

/*
 * Like zgt_http, but sends authorization as the whole value of the
 * Authorization header (e.g. "Basic x"), or no such header if it is NULL.
 */
int zgt_http_authz(const zgt_daemon *d, const char *method, const char *path,
    const char *authorization, const char *body, zgt_resp *out);

/* Frees the calling thread's curl handle; call before a thread exits. */
void zgt_http_thread_done(void);

void zgt_resp_free(zgt_resp *r);

/* Returns the error code string of an error response, or "". */
const char *zgt_error_code(const zgt_resp *r);

/* Returns a string field of the response object, or "". */
const char *zgt_str(const zgt_resp *r, const char *key);

/* Reads a whole file into a NUL-terminated buffer; NULL on failure. */
char *zgt_read_file(const char *path, size_t *len);

/* True if the file contains needle (binary-safe). */
bool zgt_file_contains(const char *path, const void *needle, size_t len);

/* True if the daemon's log shows a sanitizer report or an error line. */
bool zgt_log_has_errors(const zgt_daemon *d);

/*
 * True if the daemon's log shows a sanitizer report. For tests whose
 * requests make the daemon log error lines on purpose.
 */
bool zgt_log_has_sanitizer_report(const zgt_daemon *d);

/* Runs the zguard binary with args (NULL-terminated) and stdin_text;
 * captures stdout into out (malloc'd). Returns the exit code. */
int zgt_run_cli(const zgt_daemon *d, const char *const *args,
    const char *stdin_text, char **out, char **err);

/*
 * Runs the zguard binary with args (NULL-terminated) without ZGUARD_ADDR
 * and ZGUARD_TOKEN, keeping its scratch files in dir. A timeout_s above 0
 * kills it with SIGALRM after that many seconds. Captures stdout and stderr
 * into out and err (malloc'd; either may be NULL). Returns the exit code,
 * or -1 when a signal ended it.
 */
int zgt_run_bin(const char *dir, const char *const *args,
    const char *stdin_text, unsigned timeout_s, char **out, char **err);

/* The result of one CLI run; out and err are never NULL. */
typedef struct zgt_run {
	int rc;
	char *out;
	char *err;
} zgt_run;

/*
 * Runs the CLI against d (zgt_run_cli) and returns its exit code and
 * output. A non-zero exit is printed with its stderr, to explain a failed
 * assertion that follows.
 */
zgt_run zgt_cli(const zgt_daemon *d, const char *const *args,
    const char *stdin_text);

/* Runs the binary without server or token in dir (zgt_run_bin), for the
 * offline commands, with a two-minute limit. */
zgt_run zgt_cli_offline(const char *dir, const char *const *args,
    const char *stdin_text);

void zgt_run_free(zgt_run *r);

/*
 * Copies the value of the "NAME  VALUE" line of CLI output text whose
 * name is name into out. Returns false if there is no such line or the
 * value does not fit in outsz.
 */
bool zgt_output_field(const char *text, const char *name, char *out,
    size_t outsz);

/* Prints and returns the seed from ZG_TEST_SEED or the clock. */
unsigned zgt_seed(const char *test_name);

#endif
