/*
 * Conditions of a permission: time windows, source address ranges,
 * authentication method and MFA, and comparisons of attributes.
 *
 * Comparisons: when both sides are decimal digit strings they compare as
 * non-negative integers of any size (leading zeros ignored), never as
 * floating point. Otherwise "==" and "!=" compare bytes, and the ordering
 * operators are false. A missing attribute makes every operator false, so
 * a condition never holds by accident on absent data.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authz/cond.h"
#include "base/jsonutil.h"

static const struct {
	const char *name;
	zg_authz_attr attr;
} attrs[] = {
	{"subject.id", ZG_ATTR_SUBJECT_ID},
	{"subject.type", ZG_ATTR_SUBJECT_TYPE},
	{"subject.authMethod", ZG_ATTR_SUBJECT_AUTH_METHOD},
	{"subject.mfa", ZG_ATTR_SUBJECT_MFA},
	{"resource.path", ZG_ATTR_RESOURCE_PATH},
	{"resource.ownerId", ZG_ATTR_RESOURCE_OWNER_ID},
	{"resource.type", ZG_ATTR_RESOURCE_TYPE},
	{"request.ip", ZG_ATTR_REQUEST_IP},
	{"request.amount", ZG_ATTR_REQUEST_AMOUNT},
	{"request.chainId", ZG_ATTR_REQUEST_CHAIN_ID},
	{"request.to", ZG_ATTR_REQUEST_TO},
};

#define CONTEXT_PREFIX "request.context."

static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">="};
static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};
static const char *const method_names[] = {"token", "oidc", "magic"};

static zg_err
nomem(zg_errmsg *em)
{
	return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
}

static zg_err
bad(zg_errmsg *em, const char *field, const char *what, const char *value)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(value, q, sizeof(q));
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\": %s; got \"%s\"",
	    field, what, q);
}


static bool
is_attribute_syntax(const char *s)
{
	return strncmp(s, "subject.", 8) == 0 ||
	    strncmp(s, "resource.", 9) == 0 || strncmp(s, "request.", 8) == 0;
}

/* Parses an attribute name. A context name is [A-Za-z0-9_-]{1,64}. */
static zg_err
parse_attr(const char *s, const char *field, zg_authz_operand *out,
    zg_errmsg *em)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strcmp(s, attrs[i].name) == 0) {
			out->attr = attrs[i].attr;
			return ZG_OK;
		}
	}
	size_t plen = strlen(CONTEXT_PREFIX);
	if (strncmp(s, CONTEXT_PREFIX, plen) == 0) {
		const char *name = s + plen;
		size_t n = strlen(name);
		bool ok = n >= 1 && n <= 64;
		for (size_t i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)name[i]) || name[i] == '_' ||
			    name[i] == '-';
		if (ok) {
			out->attr = ZG_ATTR_REQUEST_CONTEXT;
			if ((out->text = strdup(name)) == NULL)
				return nomem(em);
			return ZG_OK;
		}
	}
	return bad(em, field, "unknown attribute; expected subject.{id,type,"
	    "authMethod,mfa}, resource.{path,ownerId,type}, request.{ip,"
	    "amount,chainId,to} or request.context.<name>", s);
}

/* A right-hand side: an attribute if it looks like one, else a literal. */
static zg_err
parse_operand(const json_t *v, const char *field, zg_authz_operand *out,
    zg_errmsg *em)
{
	char buf[32];
	memset(out, 0, sizeof(*out));
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\": integers "
			    "must not be negative; got %lld", field,
			    (long long)json_integer_value(v));
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(v));
		out->integer = true;
		return (out->text = strdup(buf)) == NULL ? nomem(em) : ZG_OK;
	}
	if (!json_is_string(v))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "attribute name, a string or a non-negative integer", field);
	const char *s = json_string_value(v);
	if (is_attribute_syntax(s))
		return parse_attr(s, field, out, em);
	if (strlen(s) > 256)
		return bad(em, field, "a literal has at most 256 bytes", s);
	return (out->text = strdup(s)) == NULL ? nomem(em) : ZG_OK;
}

static bool
parse_op(const char *s, zg_authz_op *op)
{
	for (int i = 0; i < 6; i++) {
		if (strcmp(s, op_names[i]) == 0) {
			*op = (zg_authz_op)i;
			return true;
		}
	}
	return false;
}

static zg_err
parse_compare_fields(const json_t *left, const json_t *op, const json_t *right,
    const char *field, zg_authz_cond *out, zg_errmsg *em)
{
	char f[96];
	zg_err err;
	out->type = ZG_COND_COMPARE;
	snprintf(f, sizeof(f), "%s.left", field);
	if (!json_is_string(left) || !is_attribute_syntax(json_string_value(left)))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "attribute name such as \"resource.ownerId\"", f);
	if ((err = parse_attr(json_string_value(left), f,
	    &out->u.cmp.left, em)) != ZG_OK)
		return err;
	snprintf(f, sizeof(f), "%s.op", field);
	if (!json_is_string(op) || !parse_op(json_string_value(op),
	    &out->u.cmp.op))
		return bad(em, f, "must be one of ==, !=, <, <=, >, >=",
		    json_is_string(op) ? json_string_value(op) : "");
	snprintf(f, sizeof(f), "%s.right", field);
	return parse_operand(right, f, &out->u.cmp.right, em);
}

/* The short form "left op right", for example "request.amount <= 1000".
 * A right side in single or double quotes is a string literal. */
static zg_err
parse_short(const char *s, const char *field, zg_authz_cond *out,
    zg_errmsg *em)
{
	const char *p = strpbrk(s, "=!<>");
	if (p == NULL || strlen(s) > 600)
		return bad(em, field, "a condition string must read "
		    "\"<attribute> <op> <attribute or literal>\"", s);
	char left[300], op[3] = {0}, right[300];
	size_t llen = p - s;
	while (llen > 0 && s[llen - 1] == ' ')
		llen--;
	size_t oplen = (p[1] == '=') ? 2 : 1;
	/* "<==", "=<" and the like are not operators; reject them instead
	 * of reading the rest as a literal. */
	if (p[oplen] != '\0' && strchr("=!<>", p[oplen]) != NULL)
		return bad(em, field, "unknown operator; use ==, !=, <, <=, > "
		    "or >=", s);
	const char *r = p + oplen;
	while (*r == ' ')
		r++;
	size_t rlen = strlen(r);
	while (rlen > 0 && r[rlen - 1] == ' ')
		rlen--;
	if (llen == 0 || llen >= sizeof(left) || rlen == 0 ||
	    rlen >= sizeof(right))
		return bad(em, field, "a condition string must read "
		    "\"<attribute> <op> <attribute or literal>\"", s);
	memcpy(left, s, llen);
	left[llen] = '\0';
	memcpy(op, p, oplen);
	memcpy(right, r, rlen);
	right[rlen] = '\0';

	json_t *jl = json_string(left), *jo = json_string(op), *jr;
	if (rlen >= 2 && (right[0] == '\'' || right[0] == '"') &&
	    right[rlen - 1] == right[0]) {
		right[rlen - 1] = '\0';
		jr = json_string(right + 1);
	} else {
		jr = json_string(right);
	}
	zg_err err = jl && jo && jr ?
	    parse_compare_fields(jl, jo, jr, field, out, em) : nomem(em);
	json_decref(jl);
	json_decref(jo);
	json_decref(jr);
	return err;
}

static zg_err
parse_hhmm(const json_t *v, const char *field, bool allow_24, int *out,
    zg_errmsg *em)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (strlen(s) == 5 && isdigit((unsigned char)s[0]) &&
	    isdigit((unsigned char)s[1]) && s[2] == ':' &&
	    isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4])) {
		int h = (s[0] - '0') * 10 + s[1] - '0';
		int m = (s[3] - '0') * 10 + s[4] - '0';
		if ((h < 24 && m < 60) || (allow_24 && h == 24 && m == 0)) {
			*out = h * 60 + m;
			return ZG_OK;
		}
	}
	return bad(em, field, "expected a time \"HH:MM\" from 00:00 to 23:59 "
	    "(\"to\" may be 24:00)", s);
}

static zg_err
parse_time(const json_t *obj, const char *field, zg_authz_cond *out,
    zg_errmsg *em)
{
	static const char *const keys[] = {"type", "days", "hours",
	    "timezone", NULL};
	char f[96];
	zg_err err;
	if ((err = zg_json_only_keys_in(obj, field, keys, em)) != ZG_OK)
		return err;
	out->type = ZG_COND_TIME;
	const json_t *days = json_object_get(obj, "days");
	if (days != NULL) {
		size_t i;
		const json_t *d;
		snprintf(f, sizeof(f), "%s.days", field);
		if (!json_is_array(days) || json_array_size(days) == 0)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be "
			    "a non-empty array of \"mon\", ..., \"sun\"", f);
		json_array_foreach(days, i, d) {
			int k = 0;
			while (k < 7 && !(json_is_string(d) &&
			    strcmp(json_string_value(d), day_names[k]) == 0))
				k++;
			if (k == 7)
				return bad(em, f, "days are \"mon\", \"tue\", "
				    "\"wed\", \"thu\", \"fri\", \"sat\", \"sun\"",
				    json_is_string(d) ? json_string_value(d) : "");
			out->u.time.days |= 1u << k;
		}
	}
	const json_t *hours = json_object_get(obj, "hours");
	if (hours != NULL) {
		static const char *const hkeys[] = {"from", "to", NULL};
		snprintf(f, sizeof(f), "%s.hours", field);
		if (!json_is_object(hours))
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be "
			    "an object {\"from\": \"HH:MM\", \"to\": \"HH:MM\"}", f);
		if ((err = zg_json_only_keys_in(hours, f, hkeys, em)) != ZG_OK)
			return err;
		snprintf(f, sizeof(f), "%s.hours.from", field);
		if ((err = parse_hhmm(json_object_get(hours, "from"), f, false,
		    &out->u.time.from_min, em)) != ZG_OK)
			return err;
		snprintf(f, sizeof(f), "%s.hours.to", field);
		if ((err = parse_hhmm(json_object_get(hours, "to"), f, true,
		    &out->u.time.to_min, em)) != ZG_OK)
			return err;
		out->u.time.has_hours = true;
	}
	const json_t *tz = json_object_get(obj, "timezone");
	if (tz != NULL && !json_is_string(tz))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s.timezone\" must be "
		    "an IANA zone name such as \"Europe/Berlin\"", field);
	const char *zone = tz == NULL ? "UTC" : json_string_value(tz);
	zg_errmsg tz_em = {0};
	if ((err = zg_tz_load(zone, &out->u.time.zone, &tz_em)) != ZG_OK)
		return zg_fail(em, err, "field \"%s.timezone\": %s", field,
		    tz_em.text[0] != '\0' ? tz_em.text : zg_strerror(err));
	if ((out->u.time.zone_name = strdup(zone)) == NULL)
		return nomem(em);
	return ZG_OK;
}

static zg_err
parse_cidr(const char *s, const char *field, zg_authz_cidr *out,
    zg_errmsg *em)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	char *end;
	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
		return bad(em, field, "invalid CIDR; expected an address and a "
		    "prefix length such as \"10.0.0.0/8\" or \"2001:db8::/32\"", s);
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	memset(out, 0, sizeof(*out));
	out->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	unsigned max = out->family == AF_INET6 ? 128 : 32;
	long prefix = isdigit((unsigned char)slash[1]) ?
	    strtol(slash + 1, &end, 10) : -1;
	if (inet_pton(out->family, addr, out->addr) != 1 || prefix < 0 ||
	    *end != '\0' || prefix > (long)max || strlen(slash + 1) > 3)
		return bad(em, field, "invalid CIDR; expected an address and a "
		    "prefix length such as \"10.0.0.0/8\" or \"2001:db8::/32\"", s);
	out->prefix = (unsigned)prefix;
	for (unsigned bit = out->prefix; bit < max; bit++) {
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return bad(em, field, "invalid CIDR: the address has "
			    "bits set beyond the prefix length", s);
	}
	return ZG_OK;
}

static zg_err
parse_ip(const json_t *obj, const char *field, zg_authz_cond *out,
    zg_errmsg *em)
{
	static const char *const keys[] = {"type", "cidrs", NULL};
	char f[96];
	zg_err err;
	size_t i;
	const json_t *c;
	if ((err = zg_json_only_keys_in(obj, field, keys, em)) != ZG_OK)
		return err;
	out->type = ZG_COND_IP;
	const json_t *cidrs = json_object_get(obj, "cidrs");
	snprintf(f, sizeof(f), "%s.cidrs", field);
	if (!json_is_array(cidrs) || json_array_size(cidrs) == 0 ||
	    json_array_size(cidrs) > ZG_AUTHZ_LIST_MAX)
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "array of 1 to %d CIDR strings", f, ZG_AUTHZ_LIST_MAX);
	out->u.ip.cidrs = calloc(json_array_size(cidrs), sizeof(zg_authz_cidr));
	if (out->u.ip.cidrs == NULL)
		return nomem(em);
	json_array_foreach(cidrs, i, c) {
		snprintf(f, sizeof(f), "%s.cidrs[%zu]", field, i);
		if ((err = parse_cidr(json_is_string(c) ? json_string_value(c) :
		    "", f, &out->u.ip.cidrs[i], em)) != ZG_OK)
			return err;
		out->u.ip.n++;
	}
	return ZG_OK;
}

static zg_err
parse_auth(const json_t *obj, const char *field, zg_authz_cond *out,
    zg_errmsg *em)
{
	static const char *const keys[] = {"type", "methods", "mfa", NULL};
	char f[96];
	zg_err err;
	if ((err = zg_json_only_keys_in(obj, field, keys, em)) != ZG_OK)
		return err;
	out->type = ZG_COND_AUTH;
	const json_t *methods = json_object_get(obj, "methods");
	if (methods != NULL) {
		size_t i;
		const json_t *m;
		snprintf(f, sizeof(f), "%s.methods", field);
		if (!json_is_array(methods) || json_array_size(methods) == 0)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be "
			    "a non-empty array of \"token\", \"oidc\", \"magic\"", f);
		json_array_foreach(methods, i, m) {
			int k = 0;
			while (k < 3 && !(json_is_string(m) &&
			    strcmp(json_string_value(m), method_names[k]) == 0))
				k++;
			if (k == 3)
				return bad(em, f, "methods are \"token\", \"oidc\" "
				    "and \"magic\"",
				    json_is_string(m) ? json_string_value(m) : "");
			out->u.auth.methods |= 1u << k;
		}
	}
	snprintf(f, sizeof(f), "%s.mfa", field);
	return zg_json_get_bool(obj, "mfa", ZG_JSON_OPTIONAL, &out->u.auth.mfa,
	    em);
}

zg_err
zg_authz_cond_from_json(const json_t *v, const char *field,
    zg_authz_cond *out, zg_errmsg *em)
{
	memset(out, 0, sizeof(*out));
	if (json_is_string(v))
		return parse_short(json_string_value(v), field, out, em);
	if (!json_is_object(v))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be a "
		    "condition object or a string such as "
		    "\"resource.ownerId == subject.id\"", field);
	const json_t *type = json_object_get(v, "type");
	const char *t = json_is_string(type) ? json_string_value(type) : "";
	if (strcmp(t, "time") == 0)
		return parse_time(v, field, out, em);
	if (strcmp(t, "ip") == 0)
		return parse_ip(v, field, out, em);
	if (strcmp(t, "auth") == 0)
		return parse_auth(v, field, out, em);
	if (strcmp(t, "compare") == 0) {
		static const char *const keys[] = {"type", "left", "op",
		    "right", NULL};
		zg_err err = zg_json_only_keys_in(v, field, keys, em);
		if (err != ZG_OK)
			return err;
		return parse_compare_fields(json_object_get(v, "left"),
		    json_object_get(v, "op"), json_object_get(v, "right"),
		    field, out, em);
	}
	char f[96];
	snprintf(f, sizeof(f), "%s.type", field);
	return bad(em, f, "must be one of time, ip, auth, compare", t);
}

void
zg_authz_cond_free(zg_authz_cond *c)
{
	if (c == NULL)
		return;
	if (c->type == ZG_COND_TIME)
		free(c->u.time.zone_name);
	else if (c->type == ZG_COND_IP)
		free(c->u.ip.cidrs);
	else if (c->type == ZG_COND_COMPARE) {
		free(c->u.cmp.left.text);
		free(c->u.cmp.right.text);
	}
	memset(c, 0, sizeof(*c));
}

zg_err
zg_authz_cond_copy(zg_authz_cond *dst, const zg_authz_cond *src)
{
	*dst = *src;
	bool ok = true;
	if (src->type == ZG_COND_TIME) {
		ok = (dst->u.time.zone_name = strdup(src->u.time.zone_name)) != NULL;
	} else if (src->type == ZG_COND_IP) {
		dst->u.ip.cidrs = malloc(src->u.ip.n * sizeof(zg_authz_cidr));
		ok = dst->u.ip.cidrs != NULL;
		if (ok)
			memcpy(dst->u.ip.cidrs, src->u.ip.cidrs,
			    src->u.ip.n * sizeof(zg_authz_cidr));
	} else if (src->type == ZG_COND_COMPARE) {
		const char *l = src->u.cmp.left.text, *r = src->u.cmp.right.text;
		dst->u.cmp.left.text = l ? strdup(l) : NULL;
		dst->u.cmp.right.text = r ? strdup(r) : NULL;
		ok = (l == NULL || dst->u.cmp.left.text != NULL) &&
		    (r == NULL || dst->u.cmp.right.text != NULL);
	}
	if (!ok) {
		zg_authz_cond_free(dst);
		return ZG_ERR_NOMEM;
	}
	return ZG_OK;
}

static const char *
attr_name(const zg_authz_operand *o, char *buf, size_t bufsz)
{
	if (o->attr == ZG_ATTR_REQUEST_CONTEXT) {
		snprintf(buf, bufsz, "%s%s", CONTEXT_PREFIX, o->text);
		return buf;
	}
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (attrs[i].attr == o->attr)
			return attrs[i].name;
	return "";
}

json_t *
zg_authz_cond_to_json(const zg_authz_cond *c)
{
	char buf[128];
	json_t *o = json_object(), *a;
	if (o == NULL)
		return NULL;
	switch (c->type) {
	case ZG_COND_TIME:
		json_object_set_new(o, "type", json_string("time"));
		if (c->u.time.days != 0) {
			a = json_array();
			for (int k = 0; k < 7; k++)
				if (c->u.time.days & (1u << ((k + 1) % 7)))
					json_array_append_new(a,
					    json_string(day_names[(k + 1) % 7]));
			json_object_set_new(o, "days", a);
		}
		if (c->u.time.has_hours) {
			char from[16], to[16];
			snprintf(from, sizeof(from), "%02d:%02d",
			    c->u.time.from_min / 60, c->u.time.from_min % 60);
			snprintf(to, sizeof(to), "%02d:%02d",
			    c->u.time.to_min / 60, c->u.time.to_min % 60);
			json_object_set_new(o, "hours", json_pack("{s:s,s:s}",
			    "from", from, "to", to));
		}
		json_object_set_new(o, "timezone",
		    json_string(c->u.time.zone_name));
		break;
	case ZG_COND_IP:
		json_object_set_new(o, "type", json_string("ip"));
		a = json_array();
		for (size_t i = 0; i < c->u.ip.n; i++) {
			char addr[INET6_ADDRSTRLEN];
			const zg_authz_cidr *r = &c->u.ip.cidrs[i];
			inet_ntop(r->family, r->addr, addr, sizeof(addr));
			snprintf(buf, sizeof(buf), "%s/%u", addr, r->prefix);
			json_array_append_new(a, json_string(buf));
		}
		json_object_set_new(o, "cidrs", a);
		break;
	case ZG_COND_AUTH:
		json_object_set_new(o, "type", json_string("auth"));
		if (c->u.auth.methods != 0) {
			a = json_array();
			for (int k = 0; k < 3; k++)
				if (c->u.auth.methods & (1u << k))
					json_array_append_new(a,
					    json_string(method_names[k]));
			json_object_set_new(o, "methods", a);
		}
		json_object_set_new(o, "mfa", json_boolean(c->u.auth.mfa));
		break;
	case ZG_COND_COMPARE: {
		const zg_authz_operand *r = &c->u.cmp.right;
		json_object_set_new(o, "type", json_string("compare"));
		json_object_set_new(o, "left", json_string(attr_name(
		    &c->u.cmp.left, buf, sizeof(buf))));
		json_object_set_new(o, "op", json_string(op_names[c->u.cmp.op]));
		if (r->attr != ZG_ATTR_NONE)
			json_object_set_new(o, "right",
			    json_string(attr_name(r, buf, sizeof(buf))));
		else if (r->integer)
			json_object_set_new(o, "right",
			    json_integer(strtoll(r->text, NULL, 10)));
		else
			json_object_set_new(o, "right", json_string(r->text));
		break;
	}
	}
	return o;
}
