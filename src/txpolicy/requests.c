/*
 * The transaction request state machine.
 *
 * A request is stored when the signing gate needs approvals (state
 * pending_approval), or when it signed at once with spending limits
 * reserved (state signed), so that the caller can release the
 * reservation of a transaction it never broadcast.
 *
 *   (new) ---------------------------------------> signed
 *     |        zg_txreq_create, after signing
 *     v  zg_txreq_create
 *   pending_approval --zg_txreq_approve--> pending_approval
 *     |   |   |          (one more approval, count not reached)
 *     |   |   +--zg_txreq_approve (count reached)--> approved
 *     |   +--zg_txreq_reject (enough rejections)--> rejected
 *     +--zg_txreq_expire_if_due (expiresAt passed)--> expired
 *
 *   approved --zg_txreq_mark_signed--> signed
 *   approved --zg_txreq_unapprove--> pending_approval
 *        (signing refused: an emergency stop, a limit, a block rule or
 *         a failed simulation; the last approval is taken back, so it
 *         can be given again once the cause is gone)
 *   signed --zg_txreq_release--> released
 *
 * rejected, expired and released are final. approved lasts only while
 * the approving request signs. The write that enters it is checked
 * against the revision read, so when two approvers race for the last
 * approval, one gets a conflict and only one signature is made.
 *
 * A daemon that stops between entering approved and signing leaves the
 * request approved. The server's handlers return such a request to
 * pending_approval with zg_txreq_unapprove when they read it more than 15
 * minutes later, so the last approver can approve it again.
 *
 * Invariants. An approver appears at most once in approvals and is never
 * the requester. "result" is set exactly in states signed and released.
 * Every transition is one compare-and-set write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/timeutil.h"
#include "crypto/crypto.h"
#include "txpolicy/gate.h"

static const char *const state_names[ZG_TXREQ__COUNT] = {
	"pending_approval", "approved", "signed", "rejected", "expired",
	"released",
};

const char *
zg_txreq_state_name(zg_txreq_state s)
{
	return (unsigned)s < ZG_TXREQ__COUNT ? state_names[s] : "unknown";
}

static bool
state_parse(const char *s, zg_txreq_state *out)
{
	for (int i = 0; s != NULL && i < ZG_TXREQ__COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (zg_txreq_state)i;
			return true;
		}
	}
	return false;
}

zg_err
zg_txreq_new_id(char out[ZG_ID_MAX], zg_errmsg *em)
{
	uint8_t rnd[12];
	if (zg_random(rnd, sizeof(rnd)) != ZG_OK)
		return zg_fail(em, ZG_ERR_CRYPTO, "no random bytes for a request "
		    "id");
	memcpy(out, "txr_", 4);
	zg_hex_encode(rnd, sizeof(rnd), out + 4);
	return ZG_OK;
}

void
zg_txreq_free(zg_txreq *r)
{
	json_decref(r->body);
	r->body = NULL;
}

static const char *
str_of(const json_t *body, const char *key)
{
	const char *s = json_string_value(json_object_get(body, key));
	return s ? s : "";
}

/* Writes r->body with r->state as its status, checked against r->rev. */
static zg_err
write_request(zg_store *st, zg_txreq *r, int64_t expect_rev, int64_t now_us,
    zg_errmsg *em)
{
	zg_obj_row row;
	zg_err err;

	memset(&row, 0, sizeof(row));
	json_object_set_new(r->body, "status",
	    json_string(zg_txreq_state_name(r->state)));
	json_object_set_new(r->body, "updatedAt", zg_json_time(now_us));
	snprintf(row.kind, sizeof(row.kind), "%s", ZG_TXREQ_KIND);
	snprintf(row.id, sizeof(row.id), "%s", r->id);
	snprintf(row.owner, sizeof(row.owner), "%s",
	    str_of(r->body, "requester"));
	row.created_at = row.updated_at = now_us;
	if ((row.body_json = json_dumps(r->body, JSON_COMPACT |
	    JSON_SORT_KEYS)) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	err = st->ops->obj_put(st, &row, expect_rev, &r->rev);
	zg_json_free_text(row.body_json);
	if (err == ZG_ERR_CONFLICT && expect_rev != ZG_REV_NEW)
		return zg_fail(em, err, "transaction request %s changed "
		    "meanwhile; read it again and retry", r->id);
	if (err != ZG_OK)
		return zg_fail(em, err, "storing transaction request %s failed",
		    r->id);
	return ZG_OK;
}

zg_err
zg_txreq_create(zg_store *st, const json_t *body, zg_txreq *r,
    zg_errmsg *em)
{
	static const char *const arrays[] = {"approvals", "rejections",
	    "reservations", NULL};
	memset(r, 0, sizeof(*r));
	if ((r->body = json_deep_copy(body)) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	snprintf(r->id, sizeof(r->id), "%s", str_of(body, "id"));
	if (!state_parse(str_of(body, "status"), &r->state)) {
		zg_txreq_free(r);
		return zg_fail(em, ZG_ERR_INTERNAL, "a new transaction request "
		    "has no valid status");
	}
	for (size_t i = 0; arrays[i] != NULL; i++)
		if (json_object_get(r->body, arrays[i]) == NULL)
			json_object_set_new(r->body, arrays[i], json_array());
	if (json_object_get(r->body, "result") == NULL)
		json_object_set_new(r->body, "result", json_null());
	zg_err err = write_request(st, r, ZG_REV_NEW, zg_time_now_us(), em);
	if (err != ZG_OK)
		zg_txreq_free(r);
	return err;
}

zg_err
zg_txreq_load(zg_store *st, const char *id, zg_txreq *r, zg_errmsg *em)
{
	zg_obj_row row;
	zg_err err;

	memset(r, 0, sizeof(*r));
	err = st->ops->obj_get(st, ZG_TXREQ_KIND, id, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, err, "transaction request %s not found", id);
	if (err != ZG_OK)
		return zg_fail(em, err, "reading transaction request %s failed",
		    id);
	r->body = json_loads(row.body_json, 0, NULL);
	r->rev = row.rev;
	snprintf(r->id, sizeof(r->id), "%.63s", row.id);
	zg_obj_row_free(&row);
	if (!json_is_object(r->body) ||
	    !state_parse(str_of(r->body, "status"), &r->state)) {
		zg_txreq_free(r);
		return zg_fail(em, ZG_ERR_INTEGRITY, "stored transaction request "
		    "%s does not parse", id);
	}
	return ZG_OK;
}

/* The error for a transition from a state that does not allow it. */
static zg_err
wrong_state(const zg_txreq *r, const char *what, zg_errmsg *em)
{
	zg_err code = r->state == ZG_TXREQ_EXPIRED ? ZG_ERR_EXPIRED :
	    ZG_ERR_CONFLICT;
	return zg_fail(em, code, "transaction request %s is %s, so it cannot "
	    "be %s", r->id, zg_txreq_state_name(r->state), what);
}

zg_err
zg_txreq_expire_if_due(zg_store *st, zg_txreq *r, int64_t now_us,
    bool *expired, zg_errmsg *em)
{
	int64_t at = 0;
	*expired = false;
	if (r->state != ZG_TXREQ_PENDING)
		return ZG_OK;
	if (zg_time_parse_rfc3339(str_of(r->body, "expiresAt"), &at) != ZG_OK)
		return zg_fail(em, ZG_ERR_INTEGRITY, "transaction request %s has "
		    "no valid expiresAt", r->id);
	if (now_us < at)
		return ZG_OK;
	r->state = ZG_TXREQ_EXPIRED;
	zg_err err = write_request(st, r, r->rev, now_us, em);
	if (err != ZG_OK) {
		r->state = ZG_TXREQ_PENDING;
		return err;
	}
	*expired = true;
	return ZG_OK;
}

/* True if the array of {"userId"} objects lists user. */
static bool
lists_user(const json_t *arr, const char *user)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (strcmp(str_of(v, "userId"), user) == 0)
			return true;
	}
	return false;
}

/* The checks shared by approve and reject. */
static zg_err
check_voter(const zg_txreq *r, const char *user, const char *what,
    zg_errmsg *em)
{
	if (r->state != ZG_TXREQ_PENDING)
		return wrong_state(r, what, em);
	if (strcmp(str_of(r->body, "requester"), user) == 0)
		return zg_fail(em, ZG_ERR_FORBIDDEN, "%s requested transaction "
		    "request %s and so cannot approve or reject it", user, r->id);
	if (lists_user(json_object_get(r->body, "approvals"), user) ||
	    lists_user(json_object_get(r->body, "rejections"), user))
		return zg_fail(em, ZG_ERR_CONFLICT, "%s has already approved or "
		    "rejected transaction request %s; each user counts once",
		    user, r->id);
	return ZG_OK;
}

zg_err
zg_txreq_approve(zg_store *st, zg_txreq *r, const char *user, int64_t now_us,
    bool *reached, zg_errmsg *em)
{
	json_t *approvals = json_object_get(r->body, "approvals");
	zg_err err;

	*reached = false;
	if ((err = check_voter(r, user, "approved", em)) != ZG_OK)
		return err;
	if (json_array_append_new(approvals, json_pack("{s:s,s:o}", "userId",
	    user, "at", zg_json_time(now_us))) != 0)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	json_int_t required = json_integer_value(json_object_get(r->body,
	    "required"));
	if ((json_int_t)json_array_size(approvals) >= required) {
		r->state = ZG_TXREQ_APPROVED;
		*reached = true;
	}
	if ((err = write_request(st, r, r->rev, now_us, em)) != ZG_OK) {
		json_array_remove(approvals, json_array_size(approvals) - 1);
		r->state = ZG_TXREQ_PENDING;
		*reached = false;
	}
	return err;
}

zg_err
zg_txreq_unapprove(zg_store *st, zg_txreq *r, const char *user,
    int64_t now_us, zg_errmsg *em)
{
	json_t *approvals = json_object_get(r->body, "approvals");
	size_t i;
	json_t *v;

	if (r->state != ZG_TXREQ_APPROVED)
		return wrong_state(r, "returned to pending_approval", em);
	json_array_foreach(approvals, i, v) {
		if (strcmp(str_of(v, "userId"), user) == 0) {
			json_array_remove(approvals, i);
			break;
		}
	}
	r->state = ZG_TXREQ_PENDING;
	return write_request(st, r, r->rev, now_us, em);
}

zg_err
zg_txreq_reject(zg_store *st, zg_txreq *r, const char *user,
    const char *reason, unsigned needed, int64_t now_us, zg_errmsg *em)
{
	json_t *rejections = json_object_get(r->body, "rejections");
	zg_err err;

	if ((err = check_voter(r, user, "rejected", em)) != ZG_OK)
		return err;
	if (json_array_append_new(rejections, json_pack("{s:s,s:o,s:s}",
	    "userId", user, "at", zg_json_time(now_us), "reason",
	    reason ? reason : "")) != 0)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	if (json_array_size(rejections) >= needed)
		r->state = ZG_TXREQ_REJECTED;
	if ((err = write_request(st, r, r->rev, now_us, em)) != ZG_OK) {
		json_array_remove(rejections, json_array_size(rejections) - 1);
		r->state = ZG_TXREQ_PENDING;
	}
	return err;
}

zg_err
zg_txreq_mark_signed(zg_store *st, zg_txreq *r, const json_t *result,
    const json_t *reservations, int64_t now_us, zg_errmsg *em)
{
	if (r->state != ZG_TXREQ_APPROVED)
		return wrong_state(r, "marked signed", em);
	json_object_set_new(r->body, "result", json_deep_copy(result));
	json_object_set_new(r->body, "reservations",
	    json_deep_copy(reservations));
	r->state = ZG_TXREQ_SIGNED;
	return write_request(st, r, r->rev, now_us, em);
}

zg_err
zg_txreq_release(zg_store *st, zg_txreq *r, int64_t now_us, zg_errmsg *em)
{
	zg_err err;

	if (r->state == ZG_TXREQ_RELEASED)
		return zg_fail(em, ZG_ERR_GONE, "transaction request %s was "
		    "released already", r->id);
	if (r->state != ZG_TXREQ_SIGNED)
		return wrong_state(r, "released", em);
	/* Reservations first: a crash between the two writes leaves the
	 * request signed, and a second release finishes it, skipping the
	 * reservations already given back. */
	if ((err = zg_txgate_release_all(st, json_object_get(r->body,
	    "reservations"), now_us, em)) != ZG_OK)
		return err;
	r->state = ZG_TXREQ_RELEASED;
	return write_request(st, r, r->rev, now_us, em);
}

json_t *
zg_txreq_to_json(const zg_txreq *r)
{
	json_t *j = json_deep_copy(r->body);
	if (j == NULL)
		return NULL;
	json_t *approvals = json_object_get(j, "approvals");
	json_t *by = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(approvals, i, v)
		json_array_append(by, json_object_get(v, "userId"));
	json_object_set_new(j, "approvedBy", by);
	json_object_set_new(j, "approvals",
	    json_integer((json_int_t)json_array_size(approvals)));
	json_object_set_new(j, "requestId", json_string(r->id));
	json_object_del(j, "reservations");
	return j;
}
