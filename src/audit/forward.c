/*
 * Forwarding the audit log to a SIEM: a syslog collector and a JSON file.
 *
 * The backlog is the audit log itself. Each sink keeps a cursor, the leaf
 * index of the next event it has to send, in the store's meta table under
 * "audit_forward_syslog" or "audit_forward_file" (8 bytes, big-endian),
 * written after each batch the sink delivered. One thread serves both
 * sinks: zg_forwarder_notify (called by the writer after each durable
 * batch) only signals a condition variable, and the thread also wakes once
 * a second. For each sink it reads up to min(500, audit_queue_size) events
 * after the cursor, decodes them and delivers them, until it has caught up.
 *
 * So a collector that is down never slows a request and never loses an
 * event: the sink stops advancing and retries after 1 s, doubling up to
 * 30 s, logging each failure (rate-limited) and the recovery. Delivery is
 * at least once: an event sent just before a failure is sent again.
 * NOTE: over UDP a collector that is down shows only as an ICMP error on
 * a later send, so datagrams sent before that error are lost.
 *
 * A sink without a stored cursor, on the first start with it configured,
 * starts at the current end of the log and does not replay history. A
 * sink removed from the configuration and added back later resumes from
 * its old cursor and sends what was recorded in between.
 *
 * The syslog sink sends only critical events: those whose kind (the
 * resource's first path segment, '_', then the action, as in
 * "credentials_revoke") is in audit_critical_events. It also derives
 * "authentication_failure_burst": 5 failed authentications from one
 * ipAddress within 60 s of event time give one message, at most one per
 * address per 60 s. zg_forwarder_alert sends a message that is not in the
 * log, such as "audit_failure" when the log cannot be written.
 *
 * NOTE: While the vault is sealed the personal fields (ipAddress,
 * userAgent, metadata) cannot be decrypted, so events forwarded then lack
 * them and bursts cannot be detected. Burst state is in memory only and
 * starts empty at each start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_internal.h"
#include "audit/forward_internal.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"

#define BATCH_MAX 500
#define BACKOFF_MAX_S 30

static zg_err
cursor_load(zg_forwarder *f, struct fwd_sink *s, uint64_t log_size)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	zg_store *st = f->a->st;
	zg_err err = st->ops->meta_get(st, s->meta_key, &blob, &len);
	if (err == ZG_ERR_NOT_FOUND) {
		s->cursor = log_size;
		zg_log_info("audit forwarding starts at the end of the log",
		    ZGF_S("sink", s->name), ZGF_I("cursor", s->cursor));
		return fwd_cursor_store(f, s);
	}
	if (err != ZG_OK)
		return err;
	if (len != 8) {
		free(blob);
		return ZG_ERR_INTEGRITY;
	}
	s->cursor = 0;
	for (int i = 0; i < 8; i++)
		s->cursor = s->cursor << 8 | blob[i];
	free(blob);
	if (s->cursor > log_size) {
		zg_log_warn("audit forwarding cursor is past the end of the log; "
		    "starting at the end", ZGF_S("sink", s->name),
		    ZGF_I("cursor", s->cursor), ZGF_I("tree_size", log_size));
		s->cursor = log_size;
	}
	return ZG_OK;
}

zg_err
fwd_cursor_store(zg_forwarder *f, struct fwd_sink *s)
{
	uint8_t blob[8];
	for (int i = 0; i < 8; i++)
		blob[i] = (uint8_t)(s->cursor >> (56 - 8 * i));
	return f->a->st->ops->meta_put(f->a->st, s->meta_key, blob, 8);
}

bool
fwd_is_critical(const zg_forwarder *f, const char *kind)
{
	for (size_t i = 0; i < f->n_critical; i++)
		if (strcmp(f->critical[i], kind) == 0)
			return true;
	return false;
}

/* Splits the comma-separated list, trimming spaces, dropping empty items. */
static zg_err
parse_critical(zg_forwarder *f, const char *list)
{
	const char *p = list;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *b = p, *e = p + n;
		p = *e == ',' ? e + 1 : e;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (b == e)
			continue;
		char **grown = realloc(f->critical,
		    (f->n_critical + 1) * sizeof(*grown));
		if (grown == NULL)
			return ZG_ERR_NOMEM;
		f->critical = grown;
		if ((f->critical[f->n_critical] = strndup(b, (size_t)(e - b))) ==
		    NULL)
			return ZG_ERR_NOMEM;
		f->n_critical++;
	}
	return ZG_OK;
}

/* Opens the JSON file unless it is open; em describes a failure. */
static zg_err
file_open(zg_forwarder *f, zg_errmsg *em)
{
	if (f->fd >= 0)
		return ZG_OK;
	f->fd = open(f->a->cfg.audit_json_file,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (f->fd < 0)
		return zg_fail(em, ZG_ERR_IO, "cannot open the audit JSON file "
		    "%s: %s", f->a->cfg.audit_json_file, strerror(errno));
	return ZG_OK;
}

/*
 * Appends the batch's lines in one write and syncs them. On failure the
 * file is cut back to its old size, so no partial line stays behind, and
 * closed, so the next attempt reopens it.
 */
static zg_err
file_write(zg_forwarder *f, const zg_buf *lines, zg_errmsg *em)
{
	struct stat sb = {0};
	zg_err err;
	if ((err = file_open(f, em)) != ZG_OK)
		return err;
	if (fstat(f->fd, &sb) != 0) {
		sb.st_size = -1;
		goto fail;
	}
	size_t done = 0;
	while (done < lines->len) {
		ssize_t n = write(f->fd, lines->data + done, lines->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fdatasync(f->fd) != 0)
		goto fail;
	return ZG_OK;
fail:
	err = zg_fail(em, ZG_ERR_IO, "cannot write the audit JSON file %s: %s",
	    f->a->cfg.audit_json_file, strerror(errno));
	if (sb.st_size >= 0 && ftruncate(f->fd, sb.st_size) != 0)
		zg_log_warn("cannot remove a partial line from the audit JSON "
		    "file", ZGF_S("path", f->a->cfg.audit_json_file));
	close(f->fd);
	f->fd = -1;
	return err;
}

/* Builds {"leafIndex":N, ...readable fields...}, or a decodeError line. */
zg_err
fwd_decode_row(zg_forwarder *f, const zg_audit_row *row, json_t **out)
{
	json_t *ev = NULL;
	json_t *obj = json_pack("{s:I}", "leafIndex", (json_int_t)row->leaf_index);
	if (obj == NULL)
		return ZG_ERR_NOMEM;
	zg_err err = zg_audit_decode(f->a->kr, row->canonical,
	    row->canonical_len, &ev);
	if (err == ZG_ERR_INTEGRITY) {
		zg_log_warn("audit event cannot be decoded; forwarding a marker",
		    ZGF_I("leaf_index", row->leaf_index));
		json_object_set_new(obj, "decodeError", json_string("integrity"));
	} else if (err != ZG_OK) {
		json_decref(obj);
		return err;
	} else {
		json_object_update(obj, ev);
		json_decref(ev);
	}
	*out = obj;
	return ZG_OK;
}

static zg_err
file_deliver(zg_forwarder *f, const zg_audit_row *rows, size_t n,
    zg_errmsg *em)
{
	zg_err err = ZG_OK;
	zg_buf lines = ZG_BUF_INIT;
	for (size_t i = 0; i < n && err == ZG_OK; i++) {
		json_t *obj = NULL;
		if ((err = fwd_decode_row(f, &rows[i], &obj)) != ZG_OK)
			break;
		char *text = json_dumps(obj, JSON_COMPACT);
		json_decref(obj);
		if (text == NULL) {
			err = ZG_ERR_NOMEM;
			break;
		}
		if ((err = zg_buf_append_str(&lines, text)) == ZG_OK)
			err = zg_buf_append_u8(&lines, '\n');
		zg_json_free_text(text);
	}
	if (err == ZG_OK)
		err = file_write(f, &lines, em);
	zg_buf_free(&lines);
	return err;
}

static void
sink_fail(struct fwd_sink *s, zg_err err, const char *detail)
{
	s->backoff_s = s->backoff_s == 0 ? 1 : s->backoff_s * 2;
	if (s->backoff_s > BACKOFF_MAX_S)
		s->backoff_s = BACKOFF_MAX_S;
	s->retry_at_us = zg_time_mono_us() + (int64_t)s->backoff_s * 1000000;
	s->failing = true;
	zg_log_warn("audit forwarding failed; the events stay in the log and "
	    "are retried", ZGF_S("sink", s->name), ZGF_ERR(err),
	    ZGF_S("detail", detail[0] ? detail : zg_strerror(err)),
	    ZGF_I("cursor", s->cursor), ZGF_I("retry_in_s", s->backoff_s));
}

static void
sink_ok(struct fwd_sink *s)
{
	if (s->failing)
		zg_log_info("audit forwarding recovered", ZGF_S("sink", s->name),
		    ZGF_I("cursor", s->cursor));
	s->failing = false;
	s->backoff_s = 0;
}

/*
 * Delivers the events after s's cursor until the sink has caught up, fails,
 * or (when stopping) after one batch.
 */
static void
sink_run(zg_forwarder *f, struct fwd_sink *s, bool stopping)
{
	zg_store *st = f->a->st;
	if (s->failing && zg_time_mono_us() < s->retry_at_us)
		return;
	for (;;) {
		zg_audit_row *rows = NULL;
		size_t n = 0;
		zg_errmsg em = {0};
		zg_err err = st->ops->audit_events(st, s->cursor, f->batch_max,
		    &rows, &n);
		if (err != ZG_OK) {
			sink_fail(s, err, "cannot read the audit log");
			return;
		}
		if (n == 0) {
			sink_ok(s);
			return;
		}
		if (s == &f->file)
			err = file_deliver(f, rows, n, &em);
		else
			err = fwd_syslog_deliver(f, rows, n, &em);
		uint64_t next = rows[n - 1].leaf_index + 1;
		zg_audit_rows_free(rows, n);
		if (err != ZG_OK) {
			sink_fail(s, err, em.text);
			return;
		}
		s->cursor = next;
		if ((err = fwd_cursor_store(f, s)) != ZG_OK)
			zg_log_warn("cannot store the audit forwarding cursor; "
			    "events may be sent again after a restart",
			    ZGF_S("sink", s->name), ZGF_ERR(err));
		if (s == &f->syslog)
			fwd_burst_prune(f);
		if (n < f->batch_max || stopping)
			break;
	}
	sink_ok(s);
}

static void *
forwarder_main(void *arg)
{
	zg_forwarder *f = arg;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		if (!f->notified && !f->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&f->cv, &f->mu, &ts);
		}
		bool stopping = f->stopping;
		f->notified = false;
		fwd_alerts_take(f);
		pthread_mutex_unlock(&f->mu);

		/* A last pass at stop sends what the writer wrote last. */
		if (f->have_syslog) {
			fwd_alerts_send(f);
			sink_run(f, &f->syslog, stopping);
		}
		if (f->have_file)
			sink_run(f, &f->file, stopping);

		pthread_mutex_lock(&f->mu);
		if (stopping)
			break;
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void
forwarder_free(zg_forwarder *f)
{
	if (f == NULL)
		return;
	zg_syslog_conn_close(&f->conn);
	if (f->fd >= 0)
		close(f->fd);
	for (size_t i = 0; i < f->n_critical; i++)
		free(f->critical[i]);
	free(f->critical);
	fwd_burst_free(f);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

zg_err
zg_forwarder_start(zg_audit *a, struct zg_forwarder **out, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	const zg_config *cfg = &a->cfg;
	zg_syslog_target target;
	zg_forwarder *f = NULL;
	pthread_condattr_t ca;

	*out = NULL;
	if (cfg->audit_syslog[0] == '\0' && cfg->audit_json_file[0] == '\0')
		return ZG_OK;
	if (cfg->audit_syslog[0] != '\0' &&
	    (err = zg_syslog_parse_url(cfg->audit_syslog, &target, em)) != ZG_OK)
		return err;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return ZG_ERR_NOMEM;
	f->a = a;
	f->fd = -1;
	f->conn.fd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	f->syslog = (struct fwd_sink){.name = "syslog",
	    .meta_key = "audit_forward_syslog"};
	f->file = (struct fwd_sink){.name = "json_file",
	    .meta_key = "audit_forward_file"};
	f->batch_max = cfg->audit_queue_size > 0 &&
	    cfg->audit_queue_size < BATCH_MAX ? cfg->audit_queue_size : BATCH_MAX;
	if ((err = parse_critical(f, cfg->audit_critical_events)) != ZG_OK)
		goto out;

	uint64_t size = zg_audit_size(a);
	if (cfg->audit_syslog[0] != '\0') {
		f->have_syslog = true;
		zg_syslog_conn_init(&f->conn, &target);
		zg_syslog_origin_init(&f->origin);
		if ((err = cursor_load(f, &f->syslog, size)) != ZG_OK) {
			zg_fail(em, err, "cannot load the audit syslog cursor");
			goto out;
		}
	}
	if (cfg->audit_json_file[0] != '\0') {
		f->have_file = true;
		if ((err = file_open(f, em)) != ZG_OK) {
			err = ZG_ERR_CONFIG;
			goto out;
		}
		if ((err = cursor_load(f, &f->file, size)) != ZG_OK) {
			zg_fail(em, err, "cannot load the audit JSON file cursor");
			goto out;
		}
	}
	if (pthread_create(&f->thread, NULL, forwarder_main, f) != 0) {
		err = zg_fail(em, ZG_ERR_INTERNAL,
		    "cannot start the audit forwarder thread");
		goto out;
	}
	zg_log_info("audit forwarding started",
	    ZGF_S("syslog", cfg->audit_syslog[0] ? cfg->audit_syslog : "off"),
	    ZGF_S("json_file", cfg->audit_json_file[0] ? cfg->audit_json_file :
	    "off"), ZGF_I("batch", f->batch_max));
	*out = f;
	f = NULL; /* owned by the caller now */
	/* success */
	err = ZG_OK;
out:
	forwarder_free(f);
	return err;
}

void
zg_forwarder_notify(struct zg_forwarder *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->notified = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void
zg_forwarder_stop(struct zg_forwarder *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	forwarder_free(f);
}
