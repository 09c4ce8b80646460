/*
 * The syslog sink of the forwarder: which events are critical, the
 * authentication failure bursts derived from them, and alerts from memory.
 * forward.c explains cursors, batches and retries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/forward_internal.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"

#define BURST_KIND "authentication_failure_burst"
/* Addresses tracked at once; the least recently seen one is evicted. */
#define BURST_IPS_MAX 1024

void
fwd_event_kind(const char *resource, const char *action, char *out,
    size_t outsz)
{
	size_t n = strcspn(resource, ":/");
	snprintf(out, outsz, "%.*s_%s", (int)n, resource, action);
}

static const char *
str_member(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* Formats and sends one message; max_len cuts a UDP datagram. */
static zg_err
send_message(zg_forwarder *f, unsigned severity, const char *timestamp,
    const char *kind, const zg_sd_param *params, size_t n_params,
    const json_t *body, zg_errmsg *em)
{
	zg_buf msg = ZG_BUF_INIT;
	size_t max_len = f->conn.target.proto == ZG_SYSLOG_UDP ?
	    ZG_SYSLOG_UDP_MAX : 0;
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	zg_err err = ZG_ERR_NOMEM;
	if (text != NULL &&
	    (err = zg_syslog_format(&msg, ZG_SYSLOG_FACILITY_AUTHPRIV, severity,
	    timestamp, &f->origin, kind, params, n_params, text,
	    max_len)) == ZG_OK)
		err = zg_syslog_send(&f->conn, msg.data, msg.len, em);
	zg_json_free_text(text);
	zg_buf_free(&msg);
	return err;
}

static zg_err
send_event(zg_forwarder *f, const json_t *ev, const char *kind,
    zg_errmsg *em)
{
	char index[24];
	bool success = json_is_true(json_object_get(ev, "success"));
	snprintf(index, sizeof(index), "%lld",
	    (long long)json_integer_value(json_object_get(ev, "leafIndex")));
	const zg_sd_param params[] = {
		{"eventId", str_member(ev, "eventId")},
		{"leafIndex", index},
		{"eventType", str_member(ev, "eventType")},
		{"userId", str_member(ev, "userId")},
		{"resource", str_member(ev, "resource")},
		{"action", str_member(ev, "action")},
		{"success", success ? "true" : "false"},
	};
	return send_message(f, success ? ZG_SYSLOG_SEVERITY_NOTICE :
	    ZG_SYSLOG_SEVERITY_WARNING, str_member(ev, "timestamp"), kind,
	    params, sizeof(params) / sizeof(params[0]), ev, em);
}

static zg_err
send_burst(zg_forwarder *f, const struct fwd_pending *p, zg_errmsg *em)
{
	char index[24], ts[40], failures[8], window[8];
	snprintf(index, sizeof(index), "%llu", (unsigned long long)p->after_index);
	snprintf(failures, sizeof(failures), "%d", FWD_BURST_THRESHOLD);
	snprintf(window, sizeof(window), "%lld", FWD_BURST_WINDOW_US / 1000000);
	zg_time_format_rfc3339_us(p->timestamp, ts, sizeof(ts));
	const zg_sd_param params[] = {
		{"eventType", "authentication"},
		{"ipAddress", p->ip},
		{"failures", failures},
		{"windowSeconds", window},
		{"leafIndex", index},
		{"success", "false"},
	};
	json_t *body = json_pack("{s:s,s:s,s:i,s:i,s:I,s:s}", "kind", BURST_KIND,
	    "ipAddress", p->ip, "failures", FWD_BURST_THRESHOLD, "windowSeconds",
	    (int)(FWD_BURST_WINDOW_US / 1000000), "leafIndex",
	    (json_int_t)p->after_index, "timestamp", ts);
	if (body == NULL)
		return ZG_ERR_NOMEM;
	zg_err err = send_message(f, ZG_SYSLOG_SEVERITY_WARNING, ts, BURST_KIND,
	    params, sizeof(params) / sizeof(params[0]), body, em);
	json_decref(body);
	return err;
}

/* Returns the entry for ip, adding one (and evicting if full). */
static struct fwd_burst_ip *
burst_entry(zg_forwarder *f, const char *ip, int64_t now)
{
	size_t oldest = 0;
	for (size_t i = 0; i < f->n_ips; i++) {
		if (strcmp(f->ips[i].ip, ip) == 0)
			return &f->ips[i];
		if (f->ips[i].last_seen < f->ips[oldest].last_seen)
			oldest = i;
	}
	if (f->ips == NULL &&
	    (f->ips = calloc(BURST_IPS_MAX, sizeof(*f->ips))) == NULL)
		return NULL;
	/* Reuse the least recently seen slot when full; its state matters
	 * least, and an address quiet for a window has none left anyway. */
	struct fwd_burst_ip *e = f->n_ips < BURST_IPS_MAX ?
	    &f->ips[f->n_ips++] : &f->ips[oldest];
	memset(e, 0, sizeof(*e));
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->last_seen = now;
	return e;
}

/* Records a failed authentication; queues a burst when one completes. */
static zg_err
burst_observe(zg_forwarder *f, const json_t *ev, const zg_audit_row *row)
{
	const char *ip = str_member(ev, "ipAddress");
	if (strcmp(str_member(ev, "eventType"), "authentication") != 0 ||
	    json_is_true(json_object_get(ev, "success")) || ip[0] == '\0')
		return ZG_OK;
	int64_t ts = row->timestamp;
	struct fwd_burst_ip *e = burst_entry(f, ip, ts);
	if (e == NULL)
		return ZG_ERR_NOMEM;
	e->times[e->next] = ts;
	e->next = (e->next + 1) % FWD_BURST_THRESHOLD;
	if (e->n < FWD_BURST_THRESHOLD)
		e->n++;
	e->last_seen = ts;
	if (e->n < FWD_BURST_THRESHOLD)
		return ZG_OK;
	/* The ring is full, so the slot written next contains the oldest. */
	if (ts - e->times[e->next] > FWD_BURST_WINDOW_US)
		return ZG_OK;
	if (e->last_burst != 0 && ts - e->last_burst < FWD_BURST_WINDOW_US)
		return ZG_OK;
	struct fwd_pending *grown = realloc(f->pending,
	    (f->n_pending + 1) * sizeof(*grown));
	if (grown == NULL)
		return ZG_ERR_NOMEM;
	f->pending = grown;
	struct fwd_pending *p = &f->pending[f->n_pending++];
	memset(p, 0, sizeof(*p));
	p->after_index = row->leaf_index;
	p->timestamp = ts;
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	e->last_burst = ts;
	return ZG_OK;
}

void
fwd_burst_prune(zg_forwarder *f)
{
	size_t kept = 0;
	for (size_t i = 0; i < f->n_pending; i++)
		if (f->pending[i].after_index >= f->syslog.cursor)
			f->pending[kept++] = f->pending[i];
	f->n_pending = kept;
}

void
fwd_burst_free(zg_forwarder *f)
{
	free(f->ips);
	free(f->pending);
	f->ips = NULL;
	f->pending = NULL;
	f->n_ips = f->n_pending = 0;
}

zg_err
fwd_syslog_deliver(zg_forwarder *f, const zg_audit_row *rows, size_t n,
    zg_errmsg *em)
{
	zg_err err = ZG_OK;
	bool bursts = fwd_is_critical(f, BURST_KIND);
	size_t sent = 0;

	/* Notice a collector that closed the connection before sending into
	 * it, because TCP would accept the first writes and lose them. */
	zg_syslog_conn_alive(&f->conn);
	for (size_t i = 0; i < n && err == ZG_OK; i++) {
		json_t *ev = NULL;
		char kind[FWD_KIND_MAX];
		if ((err = fwd_decode_row(f, &rows[i], &ev)) != ZG_OK)
			break;
		if (json_object_get(ev, "decodeError") == NULL) {
			if (bursts && rows[i].leaf_index >= f->burst_next) {
				err = burst_observe(f, ev, &rows[i]);
				f->burst_next = rows[i].leaf_index + 1;
			}
			fwd_event_kind(str_member(ev, "resource"),
			    str_member(ev, "action"), kind, sizeof(kind));
			if (err == ZG_OK && fwd_is_critical(f, kind)) {
				err = send_event(f, ev, kind, em);
				sent++;
			}
		}
		json_decref(ev);
		for (size_t j = 0; j < f->n_pending && err == ZG_OK; j++) {
			if (f->pending[j].after_index != rows[i].leaf_index)
				continue;
			err = send_burst(f, &f->pending[j], em);
			sent++;
		}
	}
	if (err == ZG_OK && sent > 0 && !zg_syslog_conn_alive(&f->conn))
		err = zg_fail(em, ZG_ERR_IO, "%s closed the connection",
		    f->conn.target.url);
	return err;
}

void
fwd_alerts_take(zg_forwarder *f)
{
	for (size_t i = 0; i < f->n_alerts; i++) {
		if (f->n_outbox == FWD_ALERTS_MAX) {
			zg_log_warn("audit alert outbox is full; dropping the "
			    "oldest alert", ZGF_S("kind", f->outbox[0].kind));
			memmove(&f->outbox[0], &f->outbox[1],
			    (FWD_ALERTS_MAX - 1) * sizeof(f->outbox[0]));
			f->n_outbox--;
		}
		f->outbox[f->n_outbox++] = f->alerts[i];
		f->outbox_fresh = true;
	}
	f->n_alerts = 0;
}

void
fwd_alerts_send(zg_forwarder *f)
{
	struct fwd_sink *s = &f->syslog;
	size_t done = 0;
	zg_errmsg em = {0};
	zg_err err = ZG_OK;

	if (f->n_outbox == 0)
		return;
	if (!f->outbox_fresh && s->failing && zg_time_mono_us() < s->retry_at_us)
		return;
	f->outbox_fresh = false;
	zg_syslog_conn_alive(&f->conn);
	for (; done < f->n_outbox && err == ZG_OK; done++) {
		const struct fwd_alert *al = &f->outbox[done];
		char ts[40];
		zg_time_format_rfc3339_us(al->timestamp, ts, sizeof(ts));
		const zg_sd_param params[] = {
			{"alert", al->kind},
			{"success", "false"},
		};
		json_t *body = json_pack("{s:s,s:s,s:s}", "alert", al->kind,
		    "message", al->text, "timestamp", ts);
		if (body == NULL) {
			err = ZG_ERR_NOMEM;
			break;
		}
		err = send_message(f, ZG_SYSLOG_SEVERITY_WARNING, ts, al->kind,
		    params, 2, body, &em);
		json_decref(body);
	}
	if (err == ZG_OK && !zg_syslog_conn_alive(&f->conn))
		err = zg_fail(&em, ZG_ERR_IO, "%s closed the connection",
		    f->conn.target.url);
	if (err != ZG_OK) {
		/* Keep them all: a lost connection may have lost the sent ones. */
		zg_log_warn("cannot send audit alerts to the syslog collector; "
		    "retrying", ZGF_ERR(err), ZGF_S("detail", em.text),
		    ZGF_I("alerts", f->n_outbox));
		return;
	}
	zg_log_info("sent audit alerts to the syslog collector",
	    ZGF_I("alerts", f->n_outbox));
	f->n_outbox = 0;
}

void
zg_forwarder_alert(struct zg_forwarder *f, const char *kind, const char *text)
{
	if (f == NULL || !f->have_syslog || !fwd_is_critical(f, kind))
		return;
	pthread_mutex_lock(&f->mu);
	if (f->n_alerts < FWD_ALERTS_MAX) {
		struct fwd_alert *al = &f->alerts[f->n_alerts++];
		snprintf(al->kind, sizeof(al->kind), "%s", kind);
		snprintf(al->text, sizeof(al->text), "%s", text);
		al->timestamp = zg_time_now_us();
	}
	f->notified = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}
