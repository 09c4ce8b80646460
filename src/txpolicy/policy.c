/*
 * Parsing and validation of transaction policies: the shared field
 * readers, fee caps, limits and the top-level object. Rules are parsed in
 * rule.c. The JSON shape is documented in txpolicy.h, and every error
 * names the field path and quotes the bad value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/tz.h"
#include "base/codec.h"
#include "base/jsonutil.h"
#include "txpolicy/txpolicy_internal.h"

#define ROLLING_SECONDS_MAX (366 * 86400)

static const char *const kind_names[ZG_TXKIND__COUNT] = {
	"native_transfer", "erc20_transfer", "erc20_approve",
	"erc20_unlimited_approve", "erc20_transfer_from", "contract_call",
	"contract_creation", "personal_message", "typed_data",
};

const char *const txp_scope_names[TXP_SCOPE__COUNT] = {
	"key", "initiator", "destination", "workflow",
};

const char *const txp_window_names[TXP_WINDOW__COUNT] = {"day", "month",
    "rolling"};

const char *
zg_txkind_name(zg_txkind kind)
{
	return kind < ZG_TXKIND__COUNT ? kind_names[kind] : "unknown";
}

const char *
zg_txaction_name(zg_txaction action)
{
	switch (action) {
	case ZG_TXACTION_ALLOW:
		return "allow";
	case ZG_TXACTION_REQUIRE_APPROVAL:
		return "require_approval";
	default:
		return "block";
	}
}

void
txp_address_format(const uint8_t addr[20], char out[43])
{
	out[0] = '0';
	out[1] = 'x';
	zg_hex_encode(addr, 20, out + 2);
}

bool
txp_label_match(const char *pattern, const char *label)
{
	/* Backtracking to the last "*" is enough for a single wildcard
	 * character class, and stays linear in practice. */
	const char *star = NULL, *resume = NULL;
	while (*label != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = label;
		} else if (*pattern == *label) {
			pattern++;
			label++;
		} else if (star != NULL) {
			pattern = star + 1;
			label = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

bool
txp_keys_match(const txp_keys *k, const char *key_id, const char *label)
{
	for (size_t i = 0; i < k->ids.n; i++) {
		if (strcmp(k->ids.v[i], key_id) == 0)
			return true;
	}
	for (size_t i = 0; label != NULL && i < k->labels.n; i++) {
		if (txp_label_match(k->labels.v[i], label))
			return true;
	}
	return false;
}

/* ---- parsing helpers ---- */

zg_err
txp_bad(zg_errmsg *em, const char *path, const char *what, const char *value)
{
	char q[ZG_QUOTE_MAX];
	if (value == NULL)
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" %s", path, what);
	zg_quote_value(value, q, sizeof(q));
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" %s; got \"%s\"", path,
	    what, q);
}

void
txp_sub(char out[TXP_PATH_MAX], const char *path, const char *key)
{
	if (snprintf(out, TXP_PATH_MAX, "%s%s%s", path,
	    path[0] != '\0' ? "." : "", key) >= TXP_PATH_MAX)
		out[TXP_PATH_MAX - 1] = '\0';
}

void
txp_index(char out[TXP_PATH_MAX], const char *path, size_t i)
{
	/* Paths are at most four levels of short names, so they fit; a
	 * longer one would only be cut in the message. */
	if (snprintf(out, TXP_PATH_MAX, "%s[%zu]", path, i) >= TXP_PATH_MAX)
		out[TXP_PATH_MAX - 1] = '\0';
}

zg_err
txp_only_keys(const json_t *obj, const char *path, const char *const *allowed,
    zg_errmsg *em)
{
	if (!json_is_object(obj))
		return txp_bad(em, path[0] != '\0' ? path : "policy",
		    "must be a JSON object", NULL);
	return zg_json_only_keys_in(obj, path[0] != '\0' ? path : "the policy",
	    allowed, em);
}

static bool
name_valid(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len == 0 || len >= max)
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("._-", *s) != NULL))
			return false;
	}
	return true;
}

zg_err
txp_get_string(const json_t *v, const char *path, size_t max, const char **out,
    zg_errmsg *em)
{
	if (!json_is_string(v))
		return txp_bad(em, path, "must be a string", NULL);
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len >= max || strlen(s) != len) {
		char what[64];
		snprintf(what, sizeof(what), "must have 1 to %zu bytes", max - 1);
		return txp_bad(em, path, what, s);
	}
	*out = s;
	return ZG_OK;
}

/* Reads an amount: a JSON string of decimal digits up to 2^256-1. */
zg_err
txp_get_amount(const json_t *v, const char *path, zg_u256 *out, zg_errmsg *em)
{
	if (!json_is_string(v))
		return txp_bad(em, path, "must be a string of decimal digits such "
		    "as \"1000000000000000000\", because JSON numbers lose "
		    "precision", NULL);
	const char *s = json_string_value(v);
	if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s))
		return txp_bad(em, path, "must be a non-negative integer in decimal "
		    "digits", s);
	return zg_u256_parse(s, path, out, em);
}

zg_err
txp_get_address(const json_t *v, const char *path, uint8_t out[20],
    zg_errmsg *em)
{
	const char *s = NULL;
	zg_err err;
	if ((err = txp_get_string(v, path, 64, &s, em)) != ZG_OK)
		return err;
	return zg_chain_address_parse(s, path, out, em);
}

zg_err
txp_get_asset(const json_t *v, const char *path, bool *native, uint8_t out[20],
    zg_errmsg *em)
{
	if (json_is_string(v) && strcmp(json_string_value(v), "native") == 0) {
		*native = true;
		return ZG_OK;
	}
	*native = false;
	if (!json_is_string(v) || strncmp(json_string_value(v), "0x", 2) != 0)
		return txp_bad(em, path, "must be \"native\" or an ERC-20 contract "
		    "address", json_is_string(v) ? json_string_value(v) : NULL);
	return txp_get_address(v, path, out, em);
}

/* Reads a non-empty array of strings of 1 to max-1 bytes. */
zg_err
txp_get_strings(const json_t *v, const char *path, size_t max, txp_strings *out,
    zg_errmsg *em)
{
	char item[TXP_PATH_MAX];
	zg_err err;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ZG_TXPOLICY_LIST_MAX)
		return txp_bad(em, path, "must be a non-empty array; leave it out "
		    "to match anything", NULL);
	out->v = calloc(json_array_size(v), sizeof(char *));
	if (out->v == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = NULL;
		txp_index(item, path, i);
		if ((err = txp_get_string(json_array_get(v, i), item, max, &s,
		    em)) != ZG_OK)
			return err;
		if ((out->v[i] = strdup(s)) == NULL)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		out->n++;
	}
	return ZG_OK;
}

void
txp_strings_free(txp_strings *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

zg_err
txp_get_keys(const json_t *v, const char *path, txp_keys *out, zg_errmsg *em)
{
	static const char *const allowed[] = {"ids", "labels", NULL};
	char p[TXP_PATH_MAX];
	json_t *f;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	out->present = true;
	txp_sub(p, path, "ids");
	if ((f = json_object_get(v, "ids")) != NULL &&
	    (err = txp_get_strings(f, p, ZG_ID_MAX, &out->ids, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "labels");
	if ((f = json_object_get(v, "labels")) != NULL &&
	    (err = txp_get_strings(f, p, 129, &out->labels, em)) != ZG_OK)
		return err;
	return ZG_OK;
}

/* ---- fee caps and limits ---- */

static zg_err
parse_fee_caps(const json_t *v, zg_txpolicy *p, zg_errmsg *em)
{
	static const char *const allowed[] = {"maxFeePerGas", "maxGas", NULL};
	char path[TXP_PATH_MAX], fp[TXP_PATH_MAX];
	const char *chain;
	json_t *cap, *f;
	zg_err err;
	if (!json_is_object(v))
		return txp_bad(em, "feeCaps", "must be an object keyed by chain id",
		    NULL);
	p->fee_caps = calloc(json_object_size(v) + 1, sizeof(txp_fee_cap));
	if (p->fee_caps == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)v, chain, cap) {
		txp_fee_cap *c = &p->fee_caps[p->nfee_caps];
		json_t *key = json_string(chain);
		snprintf(path, sizeof(path), "feeCaps.%s", chain);
		if (key == NULL)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		err = txp_get_amount(key, path, &c->chain_id, em);
		json_decref(key);
		if (err != ZG_OK)
			return err;
		if (zg_u256_is_zero(&c->chain_id))
			return txp_bad(em, path, "names chain id 0; chain ids "
			    "start at 1", NULL);
		if ((err = txp_only_keys(cap, path, allowed, em)) != ZG_OK)
			return err;
		txp_sub(fp, path, "maxFeePerGas");
		if ((f = json_object_get(cap, "maxFeePerGas")) != NULL) {
			if ((err = txp_get_amount(f, fp, &c->max_fee_per_gas,
			    em)) != ZG_OK)
				return err;
			c->has_max_fee = true;
		}
		txp_sub(fp, path, "maxGas");
		if ((f = json_object_get(cap, "maxGas")) != NULL) {
			if ((err = txp_get_amount(f, fp, &c->max_gas, em)) != ZG_OK)
				return err;
			c->has_max_gas = true;
		}
		p->nfee_caps++;
	}
	return ZG_OK;
}

static zg_err
parse_window(const json_t *v, const char *path, txp_limit *l, zg_errmsg *em)
{
	static const char *const allowed[] = {"type", "timezone", "seconds",
	    NULL};
	char p[TXP_PATH_MAX];
	const char *type = NULL, *zone;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	json_t *t = json_object_get(v, "type");
	if (json_is_string(t))
		type = json_string_value(t);
	txp_sub(p, path, "type");
	if (type != NULL && strcmp(type, "rolling") == 0) {
		l->window = TXP_WINDOW_ROLLING;
		json_t *s = json_object_get(v, "seconds");
		txp_sub(p, path, "seconds");
		if (!json_is_integer(s) || json_integer_value(s) < 1 ||
		    json_integer_value(s) > ROLLING_SECONDS_MAX)
			return txp_bad(em, p, "must be an integer from 1 to "
			    "31622400 (366 days)", NULL);
		if (json_object_get(v, "timezone") != NULL)
			return txp_bad(em, path, "has \"timezone\", which only "
			    "day and month windows take", NULL);
		l->seconds = json_integer_value(s);
		return ZG_OK;
	}
	if (type != NULL && strcmp(type, "day") == 0)
		l->window = TXP_WINDOW_DAY;
	else if (type != NULL && strcmp(type, "month") == 0)
		l->window = TXP_WINDOW_MONTH;
	else
		return txp_bad(em, p, "must be one of day, month, rolling", type);
	if (json_object_get(v, "seconds") != NULL)
		return txp_bad(em, path, "has \"seconds\", which only rolling "
		    "windows take", NULL);
	txp_sub(p, path, "timezone");
	zone = "UTC";
	if (json_object_get(v, "timezone") != NULL &&
	    (err = txp_get_string(json_object_get(v, "timezone"), p, 65, &zone,
	    em)) != ZG_OK)
		return err;
	if ((err = zg_tz_load(zone, &l->zone, em)) != ZG_OK) {
		char inner[sizeof(em->text)];
		snprintf(inner, sizeof(inner), "%s", em->text);
		return zg_fail(em, err, "field \"%s\": %s", p, inner);
	}
	if ((l->zone_name = strdup(zone)) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	return ZG_OK;
}

static zg_err
parse_limit(const json_t *v, const char *path, txp_limit *l, zg_errmsg *em)
{
	static const char *const allowed[] = {"name", "scope", "asset",
	    "window", "max", NULL};
	char p[TXP_PATH_MAX];
	json_t *f;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	f = json_object_get(v, "name");
	txp_sub(p, path, "name");
	if (!json_is_string(f) || !name_valid(json_string_value(f),
	    ZG_TXPOLICY_NAME_MAX))
		return txp_bad(em, p, "must be 1 to 48 characters of "
		    "[A-Za-z0-9._-]", json_is_string(f) ?
		    json_string_value(f) : NULL);
	snprintf(l->name, sizeof(l->name), "%s", json_string_value(f));

	f = json_object_get(v, "scope");
	txp_sub(p, path, "scope");
	size_t i = 0, nscopes = TXP_SCOPE__COUNT;
	while (json_is_string(f) && i < nscopes &&
	    strcmp(txp_scope_names[i], json_string_value(f)) != 0)
		i++;
	if (!json_is_string(f) || i == nscopes)
		return txp_bad(em, p, "must be one of key, initiator, destination, "
		    "workflow", json_is_string(f) ? json_string_value(f) : NULL);
	l->scope = (enum txp_scope)i;

	txp_sub(p, path, "asset");
	if ((f = json_object_get(v, "asset")) == NULL)
		return txp_bad(em, p, "is required", NULL);
	if ((err = txp_get_asset(f, p, &l->asset_native, l->asset, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "window");
	if ((f = json_object_get(v, "window")) == NULL)
		return txp_bad(em, p, "is required", NULL);
	if ((err = parse_window(f, p, l, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "max");
	if ((f = json_object_get(v, "max")) == NULL)
		return txp_bad(em, p, "is required", NULL);
	return txp_get_amount(f, p, &l->max, em);
}

/* ---- the policy ---- */

static zg_err
parse_rules(const json_t *v, zg_txpolicy *p, const zg_txpolicy_checks *checks,
    json_t *warnings, zg_errmsg *em)
{
	char path[TXP_PATH_MAX];
	zg_err err;
	if (!json_is_array(v) || json_array_size(v) > ZG_TXPOLICY_RULES_MAX)
		return txp_bad(em, "rules", "must be an array of at most 10000 "
		    "rules", NULL);
	if ((p->rules = calloc(json_array_size(v) + 1, sizeof(txp_rule))) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		snprintf(path, sizeof(path), "rules[%zu]", i);
		p->nrules++;
		if ((err = txp_parse_rule(json_array_get(v, i), path, &p->rules[i],
		    checks, warnings, em)) != ZG_OK)
			return err;
		/* NOTE: quadratic in the number of rules, which is at most
		 * 10000 and checked only when a policy is written. */
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->rules[j].name, p->rules[i].name) == 0) {
				snprintf(path, sizeof(path), "rules[%zu].name", i);
				return txp_bad(em, path, "repeats the name of an "
				    "earlier rule; rule names must be unique",
				    p->rules[i].name);
			}
		}
	}
	return ZG_OK;
}

static zg_err
parse_limits(const json_t *v, zg_txpolicy *p, zg_errmsg *em)
{
	char path[TXP_PATH_MAX];
	zg_err err;
	if (!json_is_array(v) || json_array_size(v) > ZG_TXPOLICY_LIMITS_MAX)
		return txp_bad(em, "limits", "must be an array of at most 256 "
		    "limits", NULL);
	if ((p->limits = calloc(json_array_size(v) + 1, sizeof(txp_limit))) ==
	    NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		snprintf(path, sizeof(path), "limits[%zu]", i);
		p->nlimits++;
		if ((err = parse_limit(json_array_get(v, i), path,
		    &p->limits[i], em)) != ZG_OK)
			return err;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->limits[j].name, p->limits[i].name) == 0) {
				snprintf(path, sizeof(path), "limits[%zu].name", i);
				return txp_bad(em, path, "repeats the name of an "
				    "earlier limit; limit names must be unique",
				    p->limits[i].name);
			}
		}
	}
	return ZG_OK;
}

zg_err
zg_txpolicy_from_json(const json_t *obj, const zg_txpolicy_checks *checks,
    zg_txpolicy **out, json_t **warnings, zg_errmsg *em)
{
	static const char *const allowed[] = {"name", "keys", "rules",
	    "feeCaps", "unlimitedApprovalCeiling", "limits", NULL};
	zg_err err = ZG_ERR_INTERNAL;
	zg_txpolicy *p = NULL;
	json_t *warn = NULL, *f;

	*out = NULL;
	if (warnings != NULL)
		*warnings = NULL;
	if ((err = txp_only_keys(obj, "", allowed, em)) != ZG_OK)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (warn = json_array()) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	f = json_object_get(obj, "name");
	if (!json_is_string(f) || !name_valid(json_string_value(f),
	    ZG_TXPOLICY_NAME_MAX)) {
		err = txp_bad(em, "name", "must be 1 to 48 characters of "
		    "[A-Za-z0-9._-]", json_is_string(f) ?
		    json_string_value(f) : NULL);
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", json_string_value(f));
	if ((f = json_object_get(obj, "keys")) != NULL &&
	    (err = txp_get_keys(f, "keys", &p->keys, em)) != ZG_OK)
		goto out;
	if ((f = json_object_get(obj, "rules")) != NULL &&
	    (err = parse_rules(f, p, checks, warn, em)) != ZG_OK)
		goto out;
	if ((f = json_object_get(obj, "feeCaps")) != NULL &&
	    (err = parse_fee_caps(f, p, em)) != ZG_OK)
		goto out;
	if ((f = json_object_get(obj, "unlimitedApprovalCeiling")) != NULL) {
		if ((err = txp_get_amount(f, "unlimitedApprovalCeiling",
		    &p->ceiling, em)) != ZG_OK)
			goto out;
		p->has_ceiling = true;
	}
	if ((f = json_object_get(obj, "limits")) != NULL &&
	    (err = parse_limits(f, p, em)) != ZG_OK)
		goto out;

	/* success */
	*out = p;
	p = NULL;
	if (warnings != NULL) {
		*warnings = warn;
		warn = NULL;
	}
	err = ZG_OK;
out:
	zg_txpolicy_free(p);
	json_decref(warn);
	return err;
}

void
zg_txpolicy_free(zg_txpolicy *p)
{
	if (p == NULL)
		return;
	txp_strings_free(&p->keys.ids);
	txp_strings_free(&p->keys.labels);
	for (size_t i = 0; i < p->nrules; i++)
		txp_rule_free(&p->rules[i]);
	free(p->rules);
	free(p->fee_caps);
	for (size_t i = 0; i < p->nlimits; i++)
		free(p->limits[i].zone_name);
	free(p->limits);
	free(p);
}

const char *
zg_txpolicy_name(const zg_txpolicy *p)
{
	return p->name;
}

bool
zg_txpolicy_applies_to_key(const zg_txpolicy *p, const char *key_id,
    const char *key_label)
{
	return p->keys.present && txp_keys_match(&p->keys, key_id, key_label);
}

size_t
zg_txpolicy_limit_count(const zg_txpolicy *p)
{
	return p->nlimits;
}

const char *
zg_txpolicy_limit_name(const zg_txpolicy *p, size_t i)
{
	return p->limits[i].name;
}
