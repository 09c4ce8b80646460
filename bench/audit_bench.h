/*
 * Helpers shared by the audit log benchmarks (audit_bench.c and
 * audit_log_bench.c): timing, quantiles, opening a data directory and the
 * generated events. Each benchmark is one executable, so everything here
 * is static.
 */
#ifndef ZG_BENCH_AUDIT_BENCH_H
#define ZG_BENCH_AUDIT_BENCH_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/audit.h"
#include "base/config.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "vault/keyring.h"

#define USERS 256          /* distinct userIds, so per-user keys repeat */
#define RESOURCES 4096     /* distinct resources */

/* Program name for messages, set by bench_init. */
static const char *bench_name = "audit_bench";

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Returns the q-quantile of the sorted array v of n values. */
static double
quantile(const double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* The opened log of a data directory. */
struct bench_log {
	zg_config cfg;
	zg_store *st;
	zg_keyring *kr;
	zg_audit *audit;
};

static void
log_close(struct bench_log *l)
{
	if (l->audit != NULL)
		zg_audit_close(l->audit);
	if (l->kr != NULL)
		zg_keyring_close(l->kr);
	if (l->st != NULL)
		l->st->ops->close(l->st);
	memset(l, 0, sizeof(*l));
}

/* Opens store, key-file keyring and, with with_audit, the audit log. */
static int
log_open(const char *dir, bool with_audit, struct bench_log *l)
{
	zg_errmsg em = {0};
	zg_err err;

	memset(l, 0, sizeof(*l));
	zg_config_defaults(&l->cfg);
	snprintf(l->cfg.data_dir, sizeof(l->cfg.data_dir), "%s", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: failed to create %s: %s\n", bench_name, dir,
		    strerror(errno));
		return -1;
	}
	if ((err = zg_store_sqlite_open(dir, &l->st)) != ZG_OK ||
	    (err = zg_keyring_open(l->st, dir, ZG_SEAL_KEYFILE, &l->kr,
	    &em)) != ZG_OK ||
	    (with_audit && (err = zg_audit_open(l->st, l->kr, &l->cfg,
	    &l->audit, &em)) != ZG_OK)) {
		fprintf(stderr, "%s: failed to open the log in %s: %s %s\n",
		    bench_name, dir, zg_strerror(err), em.text);
		log_close(l);
		return -1;
	}
	return 0;
}

/* Strings of one generated event; n picks the user, resource and ids. */
struct event_text {
	char user[32];
	char session[48];
	char resource[64];
	char ip[32];
	char request[48];
	char token[48];
};

static const char *const event_types[] = {
	"data_access", "credential_access", "authorization", "authentication",
};

/*
 * Fills ev with a credential read by a workflow runner, as the platform
 * sends it. The caller owns *meta and frees it with json_decref.
 */
static void
make_event(uint64_t n, struct event_text *t, zg_audit_event *ev,
    json_t **meta)
{
	unsigned user = (unsigned)(n % USERS);
	unsigned res = (unsigned)((n * 2654435761u) % RESOURCES);

	memset(ev, 0, sizeof(*ev));
	snprintf(t->user, sizeof(t->user), "user-%04u@example.com", user);
	snprintf(t->session, sizeof(t->session), "sess_%016" PRIx64,
	    n / 16 * 7919);
	snprintf(t->resource, sizeof(t->resource),
	    "credentials/cred_%08x/value", res);
	snprintf(t->ip, sizeof(t->ip), "10.%u.%u.%u", user % 200, res % 250,
	    (unsigned)(n % 250) + 1);
	snprintf(t->request, sizeof(t->request), "req_%016" PRIx64, n);
	snprintf(t->token, sizeof(t->token), "tok_%016x", user * 31u);
	*meta = json_pack("{s:s, s:i, s:s}", "workflowId", "wf_0042",
	    "step", (int)(n % 16), "runner", "runner-3");
	ev->user_id = t->user;
	ev->session_id = t->session;
	ev->event_type = event_types[n % 4];
	ev->resource = t->resource;
	ev->action = "read";
	ev->success = true;
	ev->ip_address = t->ip;
	ev->user_agent = "workflow-runner/2.3 python-requests/2.31.0";
	ev->metadata = *meta;
	ev->request_id = t->request;
	ev->token_id = t->token;
}

/* Sets up logging and the locked heap as the daemon does. */
static void
bench_init(const char *name)
{
	bench_name = name;
	zg_log_set_level(ZG_LOG_WARN);
	if (zg_crypto_init(1u << 20) != ZG_OK)
		fprintf(stderr, "%s: keys are not in locked memory "
		    "(RLIMIT_MEMLOCK); the numbers are unaffected\n", name);
}

#endif
