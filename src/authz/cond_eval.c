/* Evaluation of conditions against one request (see cond.c for the rules). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "authz/cond.h"

static const char *
attr_value(const zg_authz_operand *o, const zg_authz_request *req)
{
	const zg_authz_subject *s = req->subject;
	const zg_authz_context *c = req->ctx;
	switch (o->attr) {
	case ZG_ATTR_NONE:
		return o->text;
	case ZG_ATTR_SUBJECT_ID:
		return s->id;
	case ZG_ATTR_SUBJECT_TYPE:
		return s->type;
	case ZG_ATTR_SUBJECT_AUTH_METHOD:
		return s->auth_method;
	case ZG_ATTR_SUBJECT_MFA:
		return s->mfa ? "true" : "false";
	case ZG_ATTR_RESOURCE_PATH:
		return req->path;
	case ZG_ATTR_RESOURCE_OWNER_ID:
		return c->resource_owner_id;
	case ZG_ATTR_RESOURCE_TYPE:
		return c->resource_type;
	case ZG_ATTR_REQUEST_IP:
		return s->ip;
	case ZG_ATTR_REQUEST_AMOUNT:
		return c->amount;
	case ZG_ATTR_REQUEST_CHAIN_ID:
		return c->chain_id;
	case ZG_ATTR_REQUEST_TO:
		return c->to;
	case ZG_ATTR_REQUEST_CONTEXT:
		for (size_t i = 0; i < c->nvars; i++)
			if (c->vars[i].name != NULL &&
			    strcmp(c->vars[i].name, o->text) == 0)
				return c->vars[i].value;
		return NULL;
	}
	return NULL;
}

static bool
is_decimal(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Compares two decimal digit strings as integers of any size. */
static int
decimal_cmp(const char *a, const char *b)
{
	while (a[0] == '0' && a[1] != '\0')
		a++;
	while (b[0] == '0' && b[1] != '\0')
		b++;
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

static bool
compare_holds(const zg_authz_cond *c, const zg_authz_request *req)
{
	const char *l = attr_value(&c->u.cmp.left, req);
	const char *r = attr_value(&c->u.cmp.right, req);
	if (l == NULL || r == NULL)
		return false;
	int d;
	if (is_decimal(l) && is_decimal(r))
		d = decimal_cmp(l, r);
	else if (c->u.cmp.op == ZG_OP_EQ || c->u.cmp.op == ZG_OP_NE)
		d = strcmp(l, r);
	else
		return false;
	switch (c->u.cmp.op) {
	case ZG_OP_EQ:
		return d == 0;
	case ZG_OP_NE:
		return d != 0;
	case ZG_OP_LT:
		return d < 0;
	case ZG_OP_LE:
		return d <= 0;
	case ZG_OP_GT:
		return d > 0;
	case ZG_OP_GE:
		return d >= 0;
	}
	return false;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	if (memcmp(a, b, bits / 8) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (a[bits / 8] & mask) == (b[bits / 8] & mask);
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as IPv4. */
static bool
ip_holds(const zg_authz_cond *c, const char *ip)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff};
	uint8_t a6[16], a4[4];
	bool v4 = false, v6 = false;
	if (ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, a4) == 1) {
		v4 = true;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		v6 = true;
		if (memcmp(a6, mapped, 12) == 0) {
			memcpy(a4, a6 + 12, 4);
			v4 = true;
		}
	}
	for (size_t i = 0; i < c->u.ip.n; i++) {
		const zg_authz_cidr *r = &c->u.ip.cidrs[i];
		if (r->family == AF_INET && v4 &&
		    prefix_equal(a4, r->addr, r->prefix))
			return true;
		if (r->family == AF_INET6 && v6 &&
		    prefix_equal(a6, r->addr, r->prefix))
			return true;
	}
	return false;
}

static bool
time_holds(const zg_authz_cond *c, int64_t now_us)
{
	int64_t t = now_us / 1000000 - (now_us % 1000000 < 0);
	int64_t local = t + zg_tz_offset(c->u.time.zone, t);
	int64_t days = local / 86400 - (local % 86400 < 0);
	int wday = (int)(((days + 4) % 7 + 7) % 7);   /* 1970-01-01: Thursday */
	int minute = (int)((local - days * 86400) / 60);

	if (c->u.time.days != 0 && !(c->u.time.days & (1u << wday)))
		return false;
	if (!c->u.time.has_hours)
		return true;
	int from = c->u.time.from_min, to = c->u.time.to_min;
	if (from <= to)
		return minute >= from && minute < to;
	return minute >= from || minute < to;   /* spans midnight */
}

static bool
auth_holds(const zg_authz_cond *c, const zg_authz_subject *s)
{
	static const char *const names[] = {"token", "oidc", "magic"};
	if (c->u.auth.mfa && !s->mfa)
		return false;
	if (c->u.auth.methods == 0)
		return true;
	if (s->auth_method == NULL)
		return false;
	for (int k = 0; k < 3; k++)
		if ((c->u.auth.methods & (1u << k)) &&
		    strcmp(s->auth_method, names[k]) == 0)
			return true;
	return false;
}

bool
zg_authz_cond_holds(const zg_authz_cond *c, const zg_authz_request *req)
{
	switch (c->type) {
	case ZG_COND_TIME:
		return time_holds(c, req->now_us);
	case ZG_COND_IP:
		return ip_holds(c, req->subject->ip);
	case ZG_COND_AUTH:
		return auth_holds(c, req->subject);
	case ZG_COND_COMPARE:
		return compare_holds(c, req);
	}
	return false;
}
