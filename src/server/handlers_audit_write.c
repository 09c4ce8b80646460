/* Audit routes that write: platform events and user erasure. */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "server/server.h"

#define MAX_FUTURE_SKEW_US (300LL * 1000000)

static bool
event_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= ZG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

zg_err
zg_h_audit_record(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"eventId", "timestamp", "userId",
	    "sessionId", "eventType", "resource", "action", "success",
	    "ipAddress", "userAgent", "metadata", NULL};
	zg_audit_event ev;
	json_t *body = NULL;
	const char *s, *ts = NULL;
	char q[ZG_QUOTE_MAX];
	uint64_t index = 0;
	zg_err err;

	memset(&ev, 0, sizeof(ev));
	if (app->audit == NULL)
		return zg_fail(&req->em, ZG_ERR_UNAVAILABLE,
		    "the audit log is not open");
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "eventId", ZG_JSON_OPTIONAL, 1, 63,
	    &s, NULL, &req->em)) != ZG_OK)
		goto out;
	if (s != NULL) {
		if (!event_id_valid(s)) {
			zg_quote_value(s, q, sizeof(q));
			err = zg_fail(&req->em, ZG_ERR_INVALID, "invalid eventId "
			    "\"%s\": use letters, digits, _ and -", q);
			goto out;
		}
		snprintf(ev.event_id, sizeof(ev.event_id), "%s", s);
	}
	if ((err = zg_json_get_string(body, "userId", ZG_JSON_OPTIONAL, 1, 128,
	    &s, NULL, &req->em)) != ZG_OK)
		goto out;
	if (s != NULL && strcmp(s, req->principal.user_id) != 0) {
		zg_quote_value(s, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID, "userId \"%s\" does not "
		    "match the caller's token; omit it, the caller's identity "
		    "is recorded", q);
		goto out;
	}
	if ((err = zg_json_get_string(body, "eventType", ZG_JSON_REQUIRED, 1, 64,
	    &ev.event_type, NULL, &req->em)) != ZG_OK)
		goto out;
	if (!zg_audit_event_type_valid(ev.event_type)) {
		zg_quote_value(ev.event_type, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID, "unknown eventType \"%s\"; "
		    "expected one of %s", q, zg_audit_event_types_list());
		goto out;
	}
	if ((err = zg_json_get_string(body, "resource", ZG_JSON_REQUIRED, 1, 256,
	    &ev.resource, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "action", ZG_JSON_REQUIRED, 1, 128,
	    &ev.action, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_bool(body, "success", ZG_JSON_REQUIRED,
	    &ev.success, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "sessionId", ZG_JSON_OPTIONAL, 1, 128,
	    &ev.session_id, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "ipAddress", ZG_JSON_OPTIONAL, 1, 64,
	    &ev.ip_address, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "userAgent", ZG_JSON_OPTIONAL, 1, 512,
	    &ev.user_agent, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "timestamp", ZG_JSON_OPTIONAL, 1, 64,
	    &ts, NULL, &req->em)) != ZG_OK)
		goto out;
	json_t *meta = json_object_get(body, "metadata");
	if (meta != NULL && !json_is_null(meta)) {
		if (!json_is_object(meta)) {
			err = zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"metadata\" must be a JSON object");
			goto out;
		}
		char *text = json_dumps(meta, JSON_COMPACT);
		size_t len = text ? strlen(text) : 0;
		zg_json_free_text(text);
		if (len > app->cfg.audit_max_metadata_bytes) {
			err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"metadata\" "
			    "has %zu bytes; the limit is %zu", len,
			    app->cfg.audit_max_metadata_bytes);
			goto out;
		}
		ev.metadata = meta;
	}
	int64_t now = zg_time_now_us();
	if (ts != NULL) {
		zg_quote_value(ts, q, sizeof(q));
		if (zg_time_parse_rfc3339(ts, &ev.timestamp) != ZG_OK) {
			err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"timestamp\" "
			    "is not an RFC 3339 date-time: \"%s\"", q);
			goto out;
		}
		if (ev.timestamp > now + MAX_FUTURE_SKEW_US) {
			err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"timestamp\" "
			    "\"%s\" is more than 5 minutes in the future", q);
			goto out;
		}
		if (ev.timestamp <= 0) {
			err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"timestamp\" "
			    "\"%s\" is before 1970", q);
			goto out;
		}
	}
	ev.user_id = req->principal.user_id;
	ev.token_id = req->principal.token_id;
	ev.request_id = req->request_id;
	if ((err = zg_audit_record(app->audit, &ev, &index)) != ZG_OK) {
		zg_fail(&req->em, err, "the audit log cannot be written; the "
		    "event was not recorded");
		goto out;
	}
	char tsbuf[40];
	zg_time_format_rfc3339_us(ev.timestamp, tsbuf, sizeof(tsbuf));
	zg_req_reply(req, 201, json_pack("{s:s,s:I,s:s}", "eventId", ev.event_id,
	    "leafIndex", (json_int_t)index, "timestamp", tsbuf));
out:
	json_decref(body);
	return err;
}

zg_err
zg_h_user_erase(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {NULL};
	const char *user = req->params[0];
	json_t *body = NULL;
	zg_err err;

	if (!zg_user_id_valid(user)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(user, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid userId \"%s\": "
		    "use 1 to 128 letters, digits or ._@:+-", q);
	}
	if (app->audit == NULL)
		return zg_fail(&req->em, ZG_ERR_UNAVAILABLE,
		    "the audit log is not open");
	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		return err;
	json_decref(body);
	snprintf(req->audit_resource, sizeof(req->audit_resource), "users/%s",
	    user);
	if ((err = zg_audit_erase_user(app->audit, user)) != ZG_OK)
		return err;
	zg_log_info("erased a user's audit personal data", ZGF_S("user_id", user));
	zg_req_reply(req, 200, json_pack("{s:s,s:b}", "userId", user, "erased",
	    true));
	return ZG_OK;
}
