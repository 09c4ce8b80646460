/*
 * The SIEM forwarder's state, shared by forward.c (thread, cursors, JSON
 * file) and forward_syslog.c (critical events, bursts, alerts).
 */
#ifndef ZG_AUDIT_FORWARD_INTERNAL_H
#define ZG_AUDIT_FORWARD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit/audit_internal.h"
#include "audit/syslog.h"

#define FWD_ALERTS_MAX 16
#define FWD_ALERT_TEXT_MAX 256
#define FWD_KIND_MAX 64

/* One destination and how far it got. */
struct fwd_sink {
	const char *name;            /* for log lines */
	const char *meta_key;        /* meta table key of the cursor */
	uint64_t cursor;             /* next leaf index to deliver */
	bool failing;
	unsigned backoff_s;          /* 0 while healthy */
	int64_t retry_at_us;         /* monotonic */
};

/* A message that is not in the log, kept until the collector takes it. */
struct fwd_alert {
	char kind[FWD_KIND_MAX];
	char text[FWD_ALERT_TEXT_MAX];
	int64_t timestamp;           /* microseconds */
};

#define FWD_BURST_THRESHOLD 5
#define FWD_BURST_WINDOW_US (60 * 1000000LL)

/* Recent failed authentications from one address. */
struct fwd_burst_ip {
	char ip[64];
	int64_t times[FWD_BURST_THRESHOLD]; /* ring of the latest failures */
	unsigned n;                  /* failures recorded, at most the ring */
	unsigned next;               /* ring slot written next */
	int64_t last_seen;
	int64_t last_burst;          /* 0: never */
};

/* A burst message to send right after the event at after_index. */
struct fwd_pending {
	uint64_t after_index;
	int64_t timestamp;
	char ip[64];
};

typedef struct zg_forwarder {
	zg_audit *a;
	pthread_t thread;
	pthread_mutex_t mu;          /* guards notified, stopping, alerts */
	pthread_cond_t cv;           /* CLOCK_MONOTONIC */
	bool notified;
	bool stopping;
	struct fwd_alert alerts[FWD_ALERTS_MAX];
	size_t n_alerts;

	/* Used by the forwarder thread only, or fixed after start. */
	size_t batch_max;
	char **critical;
	size_t n_critical;
	bool have_syslog;
	zg_syslog_conn conn;
	zg_syslog_origin origin;
	struct fwd_sink syslog;
	bool have_file;
	int fd;
	struct fwd_sink file;
	struct fwd_alert outbox[FWD_ALERTS_MAX]; /* alerts not yet delivered */
	size_t n_outbox;
	bool outbox_fresh;             /* new alerts: send despite backoff */
	struct fwd_burst_ip *ips;
	size_t n_ips;
	uint64_t burst_next;         /* first leaf index not yet examined */
	struct fwd_pending *pending;
	size_t n_pending;
} zg_forwarder;

/* forward.c */
zg_err fwd_cursor_store(zg_forwarder *f, struct fwd_sink *s);
bool fwd_is_critical(const zg_forwarder *f, const char *kind);
zg_err fwd_decode_row(zg_forwarder *f, const zg_audit_row *row, json_t **out);

/* forward_syslog.c */

/* Sends the critical events of rows and the bursts they complete. */
zg_err fwd_syslog_deliver(zg_forwarder *f, const zg_audit_row *rows,
    size_t n, zg_errmsg *em);
/* Drops pending bursts that the syslog cursor has passed. */
void fwd_burst_prune(zg_forwarder *f);
void fwd_burst_free(zg_forwarder *f);
/* Moves queued alerts to the outbox; called with f->mu held. */
void fwd_alerts_take(zg_forwarder *f);
/* Sends the outbox; what fails stays for the next attempt. */
void fwd_alerts_send(zg_forwarder *f);

/* Writes "<resource kind>_<action>" into out. */
void fwd_event_kind(const char *resource, const char *action, char *out,
    size_t outsz);

#endif
