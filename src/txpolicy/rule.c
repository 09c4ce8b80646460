/*
 * Parsing of a policy's rules: what each rule matches, its action and its
 * approval and simulation settings. The JSON shape is in txpolicy.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "txpolicy/txpolicy_internal.h"

#define APPROVAL_COUNT_MAX 100
#define APPROVAL_EXPIRY_DEFAULT 3600
#define APPROVAL_EXPIRY_MAX (30 * 86400)

static zg_err
check_role(const zg_txpolicy_checks *checks, const char *role,
    const char *path, zg_errmsg *em)
{
	if (checks == NULL || checks->role_exists == NULL ||
	    checks->role_exists(checks->ctx, role))
		return ZG_OK;
	return txp_bad(em, path, "names a role that does not exist; create the "
	    "role first", role);
}

/*
 * Rejects the JSON value v of field path, naming it: a string in quotes, a
 * number or literal as JSON writes it, a container by its kind only.
 */
static zg_err
bad_json_value(zg_errmsg *em, const char *path, const char *what,
    const json_t *v)
{
	char shown[ZG_QUOTE_MAX + 2];

	if (v == NULL)
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" is missing; it "
		    "%s", path, what);
	zg_json_value_text(v, shown, sizeof(shown));
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" %s; got %s", path,
	    what, shown);
}

static int
address_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 20);
}

/* ---- match ---- */

static zg_err
parse_initiators(const json_t *v, const char *path, txp_rule *r,
    const zg_txpolicy_checks *checks, zg_errmsg *em)
{
	static const char *const allowed[] = {"users", "roles",
	    "serviceAccounts", NULL};
	char p[TXP_PATH_MAX];
	json_t *f;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	r->has_initiators = true;
	txp_sub(p, path, "users");
	if ((f = json_object_get(v, "users")) != NULL &&
	    (err = txp_get_strings(f, p, ZG_USER_MAX, &r->users, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "serviceAccounts");
	if ((f = json_object_get(v, "serviceAccounts")) != NULL &&
	    (err = txp_get_strings(f, p, ZG_USER_MAX, &r->service_accounts,
	    em)) != ZG_OK)
		return err;
	txp_sub(p, path, "roles");
	if ((f = json_object_get(v, "roles")) != NULL &&
	    (err = txp_get_strings(f, p, ZG_TXPOLICY_ROLE_MAX, &r->roles,
	    em)) != ZG_OK)
		return err;
	for (size_t i = 0; i < r->roles.n; i++) {
		char item[TXP_PATH_MAX];
		txp_index(item, p, i);
		if ((err = check_role(checks, r->roles.v[i], item, em)) != ZG_OK)
			return err;
	}
	if (r->users.n + r->service_accounts.n + r->roles.n == 0)
		return txp_bad(em, path, "must list users, roles or "
		    "serviceAccounts", NULL);
	return ZG_OK;
}

static zg_err
parse_chain_ids(const json_t *v, const char *path, txp_rule *r, zg_errmsg *em)
{
	char item[TXP_PATH_MAX];
	zg_err err;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ZG_TXPOLICY_LIST_MAX)
		return txp_bad(em, path, "must be a non-empty array of decimal "
		    "strings", NULL);
	if ((r->chain_ids = calloc(json_array_size(v), sizeof(zg_u256))) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		txp_index(item, path, i);
		if ((err = txp_get_amount(json_array_get(v, i), item,
		    &r->chain_ids[i], em)) != ZG_OK)
			return err;
		if (zg_u256_is_zero(&r->chain_ids[i]))
			return txp_bad(em, item, "must be a chain id above 0", "0");
		r->nchain_ids++;
	}
	return ZG_OK;
}

static zg_err
parse_destinations(const json_t *v, const char *path, txp_rule *r,
    zg_errmsg *em)
{
	static const char *const allowed[] = {"allow", "deny", NULL};
	char p[TXP_PATH_MAX], item[TXP_PATH_MAX];
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	json_t *allow = json_object_get(v, "allow");
	json_t *deny = json_object_get(v, "deny");
	if ((allow == NULL) == (deny == NULL))
		return txp_bad(em, path, "must have exactly one of \"allow\" and "
		    "\"deny\"", NULL);
	json_t *list = allow != NULL ? allow : deny;
	r->dest_mode = allow != NULL ? TXP_DEST_ALLOW : TXP_DEST_DENY;
	txp_sub(p, path, allow != NULL ? "allow" : "deny");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > ZG_TXPOLICY_LIST_MAX)
		return txp_bad(em, p, "must be a non-empty array of addresses", NULL);
	if ((r->dests = calloc(json_array_size(list), 20)) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(list); i++) {
		txp_index(item, p, i);
		if ((err = txp_get_address(json_array_get(list, i), item,
		    r->dests[i], em)) != ZG_OK)
			return err;
		r->ndests++;
	}
	qsort(r->dests, r->ndests, 20, address_cmp);
	return ZG_OK;
}

static zg_err
parse_kinds(const json_t *v, const char *path, txp_rule *r, zg_errmsg *em)
{
	char item[TXP_PATH_MAX], what[256];
	if (!json_is_array(v) || json_array_size(v) == 0)
		return txp_bad(em, path, "must be a non-empty array of kinds", NULL);
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *k = json_array_get(v, i);
		txp_index(item, path, i);
		const char *s = json_is_string(k) ? json_string_value(k) : "";
		size_t j = 0;
		while (j < ZG_TXKIND__COUNT && strcmp(zg_txkind_name(j), s) != 0)
			j++;
		if (j == ZG_TXKIND__COUNT) {
			size_t off = snprintf(what, sizeof(what), "must be one of");
			for (size_t m = 0; m < ZG_TXKIND__COUNT; m++)
				off += snprintf(what + off, sizeof(what) - off,
				    "%s %s", m == 0 ? "" : ",",
				    zg_txkind_name(m));
			return txp_bad(em, item, what, s);
		}
		r->kinds |= 1u << j;
	}
	return ZG_OK;
}

static zg_err
parse_selectors(const json_t *v, const char *path, txp_rule *r, zg_errmsg *em)
{
	char item[TXP_PATH_MAX];
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ZG_TXPOLICY_LIST_MAX)
		return txp_bad(em, path, "must be a non-empty array of selectors",
		    NULL);
	if ((r->selectors = calloc(json_array_size(v), 4)) == NULL)
		return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *s = json_array_get(v, i);
		const char *text = json_is_string(s) ? json_string_value(s) : NULL;
		uint8_t b[4];
		size_t len = 0;
		txp_index(item, path, i);
		if (text == NULL || strlen(text) != 10 ||
		    strncmp(text, "0x", 2) != 0 ||
		    zg_hex_decode(text + 2, 8, b, 4, &len) != ZG_OK || len != 4)
			return txp_bad(em, item, "must be a 4-byte selector: \"0x\" "
			    "and 8 hex digits such as \"0xa9059cbb\"", text);
		r->selectors[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		r->nselectors++;
	}
	return ZG_OK;
}

static zg_err
parse_value(const json_t *v, const char *path, txp_rule *r, zg_errmsg *em)
{
	static const char *const allowed[] = {"min", "max", NULL};
	char p[TXP_PATH_MAX];
	json_t *f;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "min");
	if ((f = json_object_get(v, "min")) != NULL) {
		if ((err = txp_get_amount(f, p, &r->min, em)) != ZG_OK)
			return err;
		r->has_min = true;
	}
	txp_sub(p, path, "max");
	if ((f = json_object_get(v, "max")) != NULL) {
		if ((err = txp_get_amount(f, p, &r->max, em)) != ZG_OK)
			return err;
		r->has_max = true;
	}
	if (r->has_min && r->has_max && zg_u256_cmp(&r->min, &r->max) > 0) {
		char min[ZG_U256_DEC_LEN], max[ZG_U256_DEC_LEN];
		zg_u256_to_dec(&r->min, min);
		zg_u256_to_dec(&r->max, max);
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" has min %s "
		    "above max %s; make min at most max", path, min, max);
	}
	return ZG_OK;
}

static zg_err
parse_match(const json_t *v, const char *path, txp_rule *r,
    const zg_txpolicy_checks *checks, zg_errmsg *em)
{
	static const char *const allowed[] = {"initiators", "keys", "chainIds",
	    "destinations", "kinds", "selectors", "value", "asset", NULL};
	char p[TXP_PATH_MAX];
	json_t *f;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "initiators");
	if ((f = json_object_get(v, "initiators")) != NULL &&
	    (err = parse_initiators(f, p, r, checks, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "keys");
	if ((f = json_object_get(v, "keys")) != NULL &&
	    (err = txp_get_keys(f, p, &r->keys, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "chainIds");
	if ((f = json_object_get(v, "chainIds")) != NULL &&
	    (err = parse_chain_ids(f, p, r, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "destinations");
	if ((f = json_object_get(v, "destinations")) != NULL &&
	    (err = parse_destinations(f, p, r, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "kinds");
	if ((f = json_object_get(v, "kinds")) != NULL &&
	    (err = parse_kinds(f, p, r, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "selectors");
	if ((f = json_object_get(v, "selectors")) != NULL &&
	    (err = parse_selectors(f, p, r, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "value");
	if ((f = json_object_get(v, "value")) != NULL &&
	    (err = parse_value(f, p, r, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "asset");
	if ((f = json_object_get(v, "asset")) != NULL) {
		if ((err = txp_get_asset(f, p, &r->asset_native, r->asset,
		    em)) != ZG_OK)
			return err;
		r->has_asset = true;
	}
	return ZG_OK;
}

/* ---- rules ---- */

static zg_err
parse_approval(const json_t *v, const char *path, txp_rule *r,
    const zg_txpolicy_checks *checks, json_t *warnings, zg_errmsg *em)
{
	static const char *const allowed[] = {"count", "fromRole",
	    "expiresInSeconds", NULL};
	char p[TXP_PATH_MAX];
	const char *role;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	json_t *count = json_object_get(v, "count");
	txp_sub(p, path, "count");
	if (!json_is_integer(count) || json_integer_value(count) < 1 ||
	    json_integer_value(count) > APPROVAL_COUNT_MAX)
		return bad_json_value(em, p, "must be an integer from 1 to 100",
		    count);
	r->approval.count = (unsigned)json_integer_value(count);

	txp_sub(p, path, "fromRole");
	if (json_object_get(v, "fromRole") == NULL)
		return txp_bad(em, p, "is required", NULL);
	if ((err = txp_get_string(json_object_get(v, "fromRole"), p,
	    ZG_TXPOLICY_ROLE_MAX, &role, em)) != ZG_OK ||
	    (err = check_role(checks, role, p, em)) != ZG_OK)
		return err;
	snprintf(r->approval.from_role, sizeof(r->approval.from_role), "%s",
	    role);

	r->approval.expires_in_s = APPROVAL_EXPIRY_DEFAULT;
	json_t *exp = json_object_get(v, "expiresInSeconds");
	txp_sub(p, path, "expiresInSeconds");
	if (exp != NULL) {
		if (!json_is_integer(exp) || json_integer_value(exp) < 60 ||
		    json_integer_value(exp) > APPROVAL_EXPIRY_MAX)
			return bad_json_value(em, p, "must be an integer from 60 "
			    "to 2592000 (30 days)", exp);
		r->approval.expires_in_s = json_integer_value(exp);
	}

	long holders = checks != NULL && checks->users_with_role != NULL ?
	    checks->users_with_role(checks->ctx, role) : -1;
	if (holders >= 0 && (unsigned long)holders < r->approval.count) {
		char w[256];
		snprintf(w, sizeof(w), "%s.count is %u but only %ld users hold "
		    "role \"%s\"; the rule cannot be approved until more users "
		    "get the role", path, r->approval.count, holders, role);
		if (json_array_append_new(warnings, json_string(w)) != 0)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
	}
	return ZG_OK;
}

static zg_err
parse_action(const json_t *v, const char *path, txp_rule *r, zg_errmsg *em)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	if (s != NULL && strcmp(s, "allow") == 0)
		r->action = ZG_TXACTION_ALLOW;
	else if (s != NULL && strcmp(s, "block") == 0)
		r->action = ZG_TXACTION_BLOCK;
	else if (s != NULL && strcmp(s, "require_approval") == 0)
		r->action = ZG_TXACTION_REQUIRE_APPROVAL;
	else
		return txp_bad(em, path, v == NULL ? "is required" :
		    "must be one of allow, block, require_approval", s);
	return ZG_OK;
}

static zg_err
parse_simulate(const json_t *v, const char *path, txp_rule *r,
    const zg_txpolicy_checks *checks, json_t *warnings, zg_errmsg *em)
{
	char p[TXP_PATH_MAX], w[256], chain[ZG_U256_DEC_LEN];
	json_t *f;
	txp_sub(p, path, "simulate");
	if ((f = json_object_get(v, "simulate")) != NULL) {
		if (!json_is_boolean(f))
			return bad_json_value(em, p, "must be true or false", f);
		r->simulate = json_is_true(f);
	}
	txp_sub(p, path, "allowWithoutSimulation");
	if ((f = json_object_get(v, "allowWithoutSimulation")) != NULL) {
		if (!json_is_boolean(f))
			return bad_json_value(em, p, "must be true or false", f);
		r->allow_without_simulation = json_is_true(f);
	}
	if (!r->simulate)
		return ZG_OK;
	if (r->nchain_ids == 0) {
		snprintf(w, sizeof(w), "%s.simulate is true for any chain; "
		    "requests on a chain without a JSON-RPC endpoint will be "
		    "blocked", path);
		if (json_array_append_new(warnings, json_string(w)) != 0)
			return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		return ZG_OK;
	}
	for (size_t i = 0; checks != NULL && checks->chain_has_rpc != NULL &&
	    i < r->nchain_ids; i++) {
		if (checks->chain_has_rpc(checks->ctx, &r->chain_ids[i]))
			continue;
		zg_u256_to_dec(&r->chain_ids[i], chain);
		txp_sub(p, path, "simulate");
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" requires a "
		    "JSON-RPC endpoint, but chain %s has none; configure one "
		    "or set simulate to false", p, chain);
	}
	return ZG_OK;
}

zg_err
txp_parse_rule(const json_t *v, const char *path, txp_rule *r,
    const zg_txpolicy_checks *checks, json_t *warnings, zg_errmsg *em)
{
	static const char *const allowed[] = {"name", "match", "action",
	    "approval", "simulate", "allowWithoutSimulation", NULL};
	char p[TXP_PATH_MAX];
	const char *name;
	json_t *f;
	zg_err err;
	if ((err = txp_only_keys(v, path, allowed, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "name");
	if (json_object_get(v, "name") == NULL)
		return txp_bad(em, p, "is required", NULL);
	if ((err = txp_get_string(json_object_get(v, "name"), p,
	    ZG_TXPOLICY_RULE_NAME_MAX, &name, em)) != ZG_OK)
		return err;
	snprintf(r->name, sizeof(r->name), "%s", name);
	txp_sub(p, path, "match");
	if ((f = json_object_get(v, "match")) != NULL &&
	    (err = parse_match(f, p, r, checks, em)) != ZG_OK)
		return err;
	txp_sub(p, path, "action");
	if ((err = parse_action(json_object_get(v, "action"), p, r,
	    em)) != ZG_OK)
		return err;
	txp_sub(p, path, "approval");
	f = json_object_get(v, "approval");
	if (r->action == ZG_TXACTION_REQUIRE_APPROVAL && f == NULL)
		return txp_bad(em, p, "is required when action is "
		    "require_approval", NULL);
	if (r->action != ZG_TXACTION_REQUIRE_APPROVAL && f != NULL)
		return txp_bad(em, p, "is allowed only when action is "
		    "require_approval", NULL);
	if (f != NULL && (err = parse_approval(f, p, r, checks, warnings,
	    em)) != ZG_OK)
		return err;
	return parse_simulate(v, path, r, checks, warnings, em);
}

void
txp_rule_free(txp_rule *r)
{
	txp_strings_free(&r->users);
	txp_strings_free(&r->roles);
	txp_strings_free(&r->service_accounts);
	txp_strings_free(&r->keys.ids);
	txp_strings_free(&r->keys.labels);
	free(r->chain_ids);
	free(r->dests);
	free(r->selectors);
}

