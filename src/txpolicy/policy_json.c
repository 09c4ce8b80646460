/*
 * Serialization of a parsed policy back to the JSON form of txpolicy.h,
 * so that zg_txpolicy_from_json(zg_txpolicy_to_json(p)) gives p again.
 */
#include <stdio.h>
#include <string.h>

#include "txpolicy/txpolicy_internal.h"

/* Each helper returns false when out of memory. */

static bool
set(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static json_t *
amount_json(const zg_u256 *v)
{
	char dec[ZG_U256_DEC_LEN];
	zg_u256_to_dec(v, dec);
	return json_string(dec);
}

static json_t *
address_json(const uint8_t addr[20])
{
	char hex[43];
	txp_address_format(addr, hex);
	return json_string(hex);
}

static json_t *
asset_json(bool native, const uint8_t addr[20])
{
	return native ? json_string("native") : address_json(addr);
}

static json_t *
strings_json(const txp_strings *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < s->n; i++) {
		if (json_array_append_new(a, json_string(s->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static bool
keys_set(json_t *obj, const txp_keys *k)
{
	json_t *o = json_object();
	if (o == NULL || (k->ids.n > 0 && !set(o, "ids", strings_json(&k->ids))) ||
	    (k->labels.n > 0 && !set(o, "labels", strings_json(&k->labels)))) {
		json_decref(o);
		return false;
	}
	return set(obj, "keys", o);
}

static bool
initiators_set(json_t *m, const txp_rule *r)
{
	json_t *o = json_object();
	if (o == NULL || (r->users.n > 0 &&
	    !set(o, "users", strings_json(&r->users))) ||
	    (r->roles.n > 0 && !set(o, "roles", strings_json(&r->roles))) ||
	    (r->service_accounts.n > 0 && !set(o, "serviceAccounts",
	    strings_json(&r->service_accounts)))) {
		json_decref(o);
		return false;
	}
	return set(m, "initiators", o);
}

static bool
lists_set(json_t *m, const txp_rule *r)
{
	json_t *a;
	if (r->nchain_ids > 0) {
		if (!set(m, "chainIds", a = json_array()))
			return false;
		for (size_t i = 0; i < r->nchain_ids; i++) {
			if (json_array_append_new(a,
			    amount_json(&r->chain_ids[i])) != 0)
				return false;
		}
	}
	if (r->dest_mode != TXP_DEST_ANY) {
		json_t *d = json_object();
		if (!set(m, "destinations", d) || !set(d, r->dest_mode ==
		    TXP_DEST_ALLOW ? "allow" : "deny", a = json_array()))
			return false;
		for (size_t i = 0; i < r->ndests; i++) {
			if (json_array_append_new(a, address_json(r->dests[i])) != 0)
				return false;
		}
	}
	if (r->kinds != 0) {
		if (!set(m, "kinds", a = json_array()))
			return false;
		for (unsigned k = 0; k < ZG_TXKIND__COUNT; k++) {
			if ((r->kinds & 1u << k) != 0 && json_array_append_new(a,
			    json_string(zg_txkind_name(k))) != 0)
				return false;
		}
	}
	if (r->nselectors > 0) {
		if (!set(m, "selectors", a = json_array()))
			return false;
		for (size_t i = 0; i < r->nselectors; i++) {
			char s[11];
			snprintf(s, sizeof(s), "0x%08x", (unsigned)r->selectors[i]);
			if (json_array_append_new(a, json_string(s)) != 0)
				return false;
		}
	}
	return true;
}

static json_t *
match_json(const txp_rule *r)
{
	json_t *m = json_object();
	if (m == NULL)
		return NULL;
	if ((r->has_initiators && !initiators_set(m, r)) ||
	    (r->keys.present && !keys_set(m, &r->keys)) || !lists_set(m, r))
		goto fail;
	if (r->has_min || r->has_max) {
		json_t *v = json_object();
		if (!set(m, "value", v) ||
		    (r->has_min && !set(v, "min", amount_json(&r->min))) ||
		    (r->has_max && !set(v, "max", amount_json(&r->max))))
			goto fail;
	}
	if (r->has_asset && !set(m, "asset", asset_json(r->asset_native,
	    r->asset)))
		goto fail;
	return m;
fail:
	json_decref(m);
	return NULL;
}

static json_t *
rule_json(const txp_rule *r)
{
	json_t *o = json_object();
	if (o == NULL || !set(o, "name", json_string(r->name)) ||
	    !set(o, "match", match_json(r)) ||
	    !set(o, "action", json_string(zg_txaction_name(r->action))) ||
	    !set(o, "simulate", json_boolean(r->simulate)) ||
	    !set(o, "allowWithoutSimulation",
	    json_boolean(r->allow_without_simulation)))
		goto fail;
	if (r->action == ZG_TXACTION_REQUIRE_APPROVAL &&
	    !set(o, "approval", json_pack("{s:i,s:s,s:I}", "count",
	    (int)r->approval.count, "fromRole", r->approval.from_role,
	    "expiresInSeconds", (json_int_t)r->approval.expires_in_s)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
fee_caps_json(const zg_txpolicy *p)
{
	json_t *o = json_object();
	for (size_t i = 0; o != NULL && i < p->nfee_caps; i++) {
		const txp_fee_cap *c = &p->fee_caps[i];
		char chain[ZG_U256_DEC_LEN];
		json_t *cap = json_object();
		zg_u256_to_dec(&c->chain_id, chain);
		if (!set(o, chain, cap) || (c->has_max_fee && !set(cap,
		    "maxFeePerGas", amount_json(&c->max_fee_per_gas))) ||
		    (c->has_max_gas && !set(cap, "maxGas",
		    amount_json(&c->max_gas)))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *
limit_json(const txp_limit *l)
{
	json_t *w = l->window == TXP_WINDOW_ROLLING ?
	    json_pack("{s:s,s:I}", "type", "rolling", "seconds",
	    (json_int_t)l->seconds) :
	    json_pack("{s:s,s:s}", "type", txp_window_names[l->window],
	    "timezone", l->zone_name);
	if (w == NULL)
		return NULL;
	json_t *o = json_pack("{s:s,s:s,s:o}", "name", l->name, "scope",
	    txp_scope_names[l->scope], "window", w);
	if (o == NULL || !set(o, "asset", asset_json(l->asset_native,
	    l->asset)) || !set(o, "max", amount_json(&l->max))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
zg_txpolicy_to_json(const zg_txpolicy *p)
{
	json_t *o = json_object(), *a;
	if (o == NULL || !set(o, "name", json_string(p->name)) ||
	    (p->keys.present && !keys_set(o, &p->keys)) ||
	    !set(o, "rules", a = json_array()))
		goto fail;
	for (size_t i = 0; i < p->nrules; i++) {
		if (json_array_append_new(a, rule_json(&p->rules[i])) != 0)
			goto fail;
	}
	if ((p->nfee_caps > 0 && !set(o, "feeCaps", fee_caps_json(p))) ||
	    (p->has_ceiling && !set(o, "unlimitedApprovalCeiling",
	    amount_json(&p->ceiling))) || !set(o, "limits", a = json_array()))
		goto fail;
	for (size_t i = 0; i < p->nlimits; i++) {
		if (json_array_append_new(a, limit_json(&p->limits[i])) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}
